"""API keys: the key format, hashed storage, scopes, revocation, tenancy and last-use throttling.

Runs on the embedded app (SQLite under a temporary home), so the rows are real and inspectable.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import sqlite3
import zlib
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import sqlalchemy as sa

from ghostart.app import Ghostart
from ghostart.errors import (
    InvalidInput,
    NotFound,
    PermissionDenied,
    TransientError,
    Unauthenticated,
)
from ghostart.models import (
    API_KEY_PREFIX,
    ApiKey,
    Permission,
    Principal,
    PrincipalKind,
    Role,
    api_key_lookup_prefix,
    generate_api_key,
)
from ghostart.ports.store import UnitOfWork
from ghostart.rbac import PERMISSIONS, authorize, can, granted, least_role
from ghostart.secretbox import SecretBox, SecretBoxError
from ghostart.services import api_keys as api_keys_module
from ghostart.services.api_keys import PEPPER_SECRET_NAME, ApiKeyService
from ghostart.services.secrets import SecretService
from ghostart.settings import Settings
from ghostart.testing import EventRecorder, ManualClock
from tests.support import Team, make_team

P = Permission
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
PREFIX_LEN = len("gha_live_")


# --- the format, written out from the spec rather than taken from the code ------------------


def crc_base62(body: str) -> str:
    number, digits = zlib.crc32(body.encode()), ""
    for _ in range(6):
        number, digit = divmod(number, 62)
        digits = BASE62[digit] + digits
    return digits


def forge(raw: str, secret: str) -> str:
    """``raw`` with its 32-character secret replaced, and a checksum that fits again."""
    body = raw[: PREFIX_LEN + 12] + secret
    return body + crc_base62(body)


def secret_part(raw: str) -> str:
    return raw[PREFIX_LEN + 12 : -6]


# --- helpers -------------------------------------------------------------------------------


class UntouchableStore:
    """A store that fails the test if anything opens a unit of work."""

    def unit_of_work(self, actor: Principal | None = None, *, readonly: bool = False) -> Any:
        raise AssertionError("the store was touched")

    async def migrate(self) -> None: ...

    async def aclose(self) -> None: ...


class CountingStore:
    """Counts units of work by kind; can make every write fail."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.reads = 0
        self.writes = 0
        self.fail_writes = False

    def unit_of_work(
        self, actor: Principal | None = None, *, readonly: bool = False
    ) -> AbstractAsyncContextManager[UnitOfWork]:
        if readonly:
            self.reads += 1
        else:
            self.writes += 1
            if self.fail_writes:
                raise TransientError("the database is locked")
        cm: AbstractAsyncContextManager[UnitOfWork] = self.inner.unit_of_work(
            actor, readonly=readonly
        )
        return cm

    async def migrate(self) -> None: ...

    async def aclose(self) -> None: ...


def service(app: Ghostart, **context: Any) -> ApiKeyService:
    """Another ApiKeyService on the same app (as another process would have), with overrides."""
    return ApiKeyService(replace(app.context, **context), app.secret_box)


def db_path(settings: Settings) -> Path:
    return settings.home / "ghostart.db"


def stored_row(settings: Settings, key: ApiKey) -> dict[str, Any]:
    with sqlite3.connect(db_path(settings)) as db:
        db.row_factory = sqlite3.Row
        row = db.execute(
            "SELECT * FROM api_keys WHERE key_prefix = ?", (key.key_prefix,)
        ).fetchone()
    assert row is not None
    return dict(row)


@pytest.fixture
async def other_team(app: Ghostart) -> Team:
    return await make_team(app, "Other")


@pytest.fixture
async def ci_key(app: Ghostart, team: Team) -> tuple[ApiKey, str]:
    return await app.api_keys.create(team.admin, "CI", [P.ORG_READ, P.POST_CREATE])


# --- format and checksum -------------------------------------------------------------------


def test_generated_keys_have_the_documented_shape() -> None:
    keys = [generate_api_key() for _ in range(300)]
    assert len(set(keys)) == len(keys)
    for raw in keys:
        assert raw.startswith("gha_live_") and API_KEY_PREFIX == "gha_live_"
        assert len(raw) == PREFIX_LEN + 12 + 32 + 6
        assert set(raw[PREFIX_LEN:]) <= set(BASE62)
        assert raw[-6:] == crc_base62(raw[:-6])
        assert api_key_lookup_prefix(raw) == raw[: PREFIX_LEN + 12]
    # The secret alone (the lookup id is public) carries at least 160 bits...
    assert 32 * math.log2(62) >= 160
    # ...drawn from the whole alphabet.
    assert set("".join(secret_part(raw) for raw in keys)) == set(BASE62)


async def test_every_one_character_typo_is_refused_without_a_database_query(app: Ghostart) -> None:
    offline = service(app, store=UntouchableStore())
    raw = generate_api_key()
    refused = 0
    for i in range(len(raw)):
        for char in BASE62 + "_-":
            if char == raw[i]:
                continue
            with pytest.raises(Unauthenticated):
                await offline.authenticate(raw[:i] + char + raw[i + 1 :])
            refused += 1
    for i in range(len(raw) - 1):  # two neighbours swapped
        if raw[i] != raw[i + 1]:
            with pytest.raises(Unauthenticated):
                await offline.authenticate(raw[:i] + raw[i + 1] + raw[i] + raw[i + 2 :])
    assert refused > 3000


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "gha_live_",
        "not a key",
        "GHA_LIVE_" + "A" * 50,
        "gha_test_" + "A" * 50,
        "gha_live_" + "A" * 5000,
        "eyJhbGciOiJIUzI1NiJ9.e30.sig",
        None,
        b"gha_live_",
        "gha_live_" + "é" * 50,
    ],
)
async def test_malformed_keys_are_refused_without_a_database_query(app: Ghostart, bad: Any) -> None:
    offline = service(app, store=UntouchableStore())
    for candidate in (bad, f" {generate_api_key()}", generate_api_key()[:-1]):
        with pytest.raises(Unauthenticated, match="invalid or revoked API key"):
            await offline.authenticate(candidate)


async def test_a_well_formed_key_does_reach_the_store(app: Ghostart) -> None:
    """The offline tests above mean something: a key that passes its checksum is looked up."""
    with pytest.raises(AssertionError, match="store was touched"):
        await service(app, store=UntouchableStore()).authenticate(generate_api_key())


# --- create, authenticate, roles and scopes ------------------------------------------------


async def test_a_new_key_authenticates_as_its_creator_within_its_scopes(
    app: Ghostart, team: Team, ci_key: tuple[ApiKey, str]
) -> None:
    key, raw = ci_key
    assert raw.startswith(key.key_prefix) and key.key_prefix == raw[: PREFIX_LEN + 12]
    assert key.organization_id == team.org.id and key.created_by == team.admin.user_id
    assert key.scopes == {P.ORG_READ, P.POST_CREATE} and key.role is Role.EMPLOYEE
    assert key.last_used_at is None and key.revoked_at is None and not key.revoked

    principal, used = await app.api_keys.authenticate(raw)
    assert principal == Principal(
        user_id=team.admin.user_id,
        organization_id=team.org.id,
        role=Role.EMPLOYEE,
        kind=PrincipalKind.API_KEY,
        scopes=frozenset({P.ORG_READ, P.POST_CREATE}),
    )
    assert used.id == key.id and used.last_used_at is not None
    assert await app.api_keys.list(team.admin) == [used]


async def test_an_unknown_key_is_refused(app: Ghostart, team: Team) -> None:
    with pytest.raises(Unauthenticated):
        await app.api_keys.authenticate(generate_api_key())


@pytest.mark.parametrize(
    ("scopes", "role"),
    [
        ({P.ORG_READ}, Role.EMPLOYEE),
        ({P.POST_READ_OWN, P.POST_CREATE}, Role.EMPLOYEE),
        ({P.ORG_READ, P.POST_REVIEW}, Role.BRAND_CREATOR),
        ({P.USAGE_READ}, Role.BRAND_CREATOR),
        ({P.API_KEYS_MANAGE}, Role.ADMIN),
        (set(Permission), Role.ADMIN),
    ],
)
async def test_a_key_acts_in_the_weakest_role_holding_its_scopes(
    app: Ghostart, team: Team, scopes: set[Permission], role: Role
) -> None:
    key, raw = await app.api_keys.create(team.admin, "k", [s.value for s in scopes])
    assert key.role is role and least_role(scopes) is role
    principal, _ = await app.api_keys.authenticate(raw)
    assert principal.role is role and principal.scopes == frozenset(scopes)


@pytest.mark.parametrize("role", [Role.BRAND_CREATOR, Role.EMPLOYEE])
async def test_only_admins_manage_keys(
    app: Ghostart, team: Team, ci_key: tuple[ApiKey, str], role: Role
) -> None:
    who = team.as_role(role)
    with pytest.raises(PermissionDenied):
        await app.api_keys.create(who, "mine", [P.ORG_READ])
    with pytest.raises(PermissionDenied):
        await app.api_keys.list(who)
    with pytest.raises(PermissionDenied):
        await app.api_keys.revoke(who, ci_key[0].id)


@pytest.mark.parametrize(
    ("name", "scopes", "field"),
    [
        ("k", [], "scopes"),
        ("k", ["post.delete_everything"], "scopes"),
        ("k", "org.read", "scopes"),
        ("k", None, "scopes"),
        ("k", [["org.read"]], "scopes"),
        ("", ["org.read"], "name"),
        ("   ", ["org.read"], "name"),
        ("x" * 121, ["org.read"], "name"),
        ("line\nbreak", ["org.read"], "name"),
    ],
)
async def test_bad_names_and_scopes_are_invalid_input(
    app: Ghostart, team: Team, name: str, scopes: Any, field: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        await app.api_keys.create(team.admin, name, scopes)
    assert info.value.field == field
    assert await app.api_keys.list(team.admin) == []


async def test_a_key_can_not_mint_a_key_with_more_than_it_has(app: Ghostart, team: Team) -> None:
    _, raw = await app.api_keys.create(team.admin, "minter", [P.API_KEYS_MANAGE, P.ORG_READ])
    minter, _ = await app.api_keys.authenticate(raw)
    with pytest.raises(InvalidInput, match=r"post\.create") as info:
        await app.api_keys.create(minter, "wider", [P.ORG_READ, P.POST_CREATE])
    assert info.value.field == "scopes"
    narrower, _ = await app.api_keys.create(minter, "narrower", [P.ORG_READ])
    assert narrower.created_by == team.admin.user_id
    assert len(await app.api_keys.list(team.admin)) == 2


async def test_a_key_principal_is_held_to_its_scopes_by_every_service(
    app: Ghostart, team: Team
) -> None:
    _, raw = await app.api_keys.create(team.admin, "read only", [P.ORG_READ])
    reader, _ = await app.api_keys.authenticate(raw)
    assert reader.role is Role.EMPLOYEE
    authorize(reader, P.ORG_READ)
    assert (await app.organizations.get(reader)).id == team.org.id
    with pytest.raises(PermissionDenied, match=r"scopes do not allow post\.create"):
        authorize(reader, P.POST_CREATE)  # the role has it, the scopes do not
    with pytest.raises(PermissionDenied, match=r"may not members\.manage"):
        await app.organizations.add_member(reader, uuid4(), Role.EMPLOYEE)
    with pytest.raises(PermissionDenied):
        await app.brand_voices.create(reader, {"name": "Nope"})


async def test_a_key_acts_no_further_than_its_creator_may_now(app: Ghostart, team: Team) -> None:
    second = await app.organizations.ensure_user("second-admin@acme.example.com")
    await app.organizations.add_member(team.admin, second.id, Role.ADMIN)
    admin2 = await app.organizations.principal_for(second.id, team.org.id)
    _, raw = await app.api_keys.create(
        admin2, "ops", [P.API_KEYS_MANAGE, P.POST_REVIEW, P.ORG_READ]
    )
    assert (await app.api_keys.authenticate(raw))[0].role is Role.ADMIN

    await app.organizations.change_role(team.admin, second.id, Role.EMPLOYEE)
    demoted, _ = await app.api_keys.authenticate(raw)
    assert demoted.role is Role.EMPLOYEE and demoted.scopes == frozenset({P.ORG_READ})
    with pytest.raises(PermissionDenied):
        await app.api_keys.list(demoted)

    await app.organizations.remove_member(team.admin, second.id)
    with pytest.raises(Unauthenticated):
        await app.api_keys.authenticate(raw)


# --- storage: only a keyed hash, compared in constant time ---------------------------------


async def test_only_a_keyed_hash_of_the_key_is_stored(
    app: Ghostart, team: Team, settings: Settings, ci_key: tuple[ApiKey, str]
) -> None:
    key, raw = ci_key
    row = stored_row(settings, key)
    assert set(row) == {
        "id",
        "organization_id",
        "name",
        "key_prefix",
        "key_hash",
        "scopes",
        "role",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    }
    for value in row.values():
        assert raw not in str(value) and secret_part(raw) not in str(value)
    assert row["key_hash"] != hashlib.sha256(raw.encode()).hexdigest()
    # HMAC-SHA256 under the organization's pepper, which is itself kept encrypted.
    pepper = await app.secrets.get(team.org.id, PEPPER_SECRET_NAME)
    assert len(pepper) >= 43
    assert row["key_hash"] == hmac.new(pepper.encode(), raw.encode(), hashlib.sha256).hexdigest()
    files = [p for p in settings.home.iterdir() if p.name.startswith("ghostart.db")]
    assert files
    for path in files:  # the database and its write-ahead log
        data = path.read_bytes()
        assert raw.encode() not in data and secret_part(raw).encode() not in data
        assert pepper.encode() not in data


async def test_the_hash_is_compared_in_constant_time(
    app: Ghostart,
    settings: Settings,
    ci_key: tuple[ApiKey, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key, raw = ci_key
    calls: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    await app.api_keys.authenticate(raw)
    assert len(calls) == 1 and calls[0][1] == stored_row(settings, key)["key_hash"]


async def test_a_forged_secret_with_a_valid_checksum_is_refused(
    app: Ghostart, settings: Settings, ci_key: tuple[ApiKey, str]
) -> None:
    key, raw = ci_key
    forged = forge(raw, "A" * 32)
    assert api_key_lookup_prefix(forged) == key.key_prefix  # reaches the row, fails the hash
    with pytest.raises(Unauthenticated, match="invalid or revoked API key"):
        await app.api_keys.authenticate(forged)
    # And a tampered stored hash refuses the genuine key.
    with sqlite3.connect(db_path(settings)) as db:
        db.execute("UPDATE api_keys SET key_hash = ? WHERE id = ?", ("0" * 64, key.id.hex))
    with pytest.raises(Unauthenticated):
        await app.api_keys.authenticate(raw)


async def test_a_create_that_rolls_back_leaves_no_pepper_behind(
    app: Ghostart, team: Team, other_team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first key of an organization makes its pepper; if that fails, so does the pepper."""
    _, taken = await app.api_keys.create(other_team.admin, "theirs", [P.ORG_READ])
    monkeypatch.setattr(api_keys_module, "generate_api_key", lambda: taken)
    with pytest.raises(Exception, match="already exists"):
        await app.api_keys.create(team.admin, "clash", [P.ORG_READ])
    monkeypatch.undo()
    _, raw = await app.api_keys.create(team.admin, "fine", [P.ORG_READ])
    assert (await app.api_keys.authenticate(raw))[0].organization_id == team.org.id
    assert (await service(app).authenticate(raw))[0].organization_id == team.org.id


async def test_rotating_the_secret_box_keys_keeps_every_key_working(
    app: Ghostart, settings: Settings, ci_key: tuple[ApiKey, str]
) -> None:
    _, raw = ci_key
    old = (settings.home / "secret.key").read_text().strip()
    new = f"k2:{SecretBox.generate_key()}"
    report = await SecretService(app.store, SecretBox.from_setting(f"{new},{old}")).rotate_all()
    assert report.rotated >= 1 and report.failed == 0
    only_new = ApiKeyService(app.context, SecretBox.from_setting(new))
    principal, _ = await only_new.authenticate(raw)
    assert principal.kind is PrincipalKind.API_KEY
    # A box without the pepper's key fails loudly, not as "invalid key" for every caller.
    stranger = ApiKeyService(app.context, SecretBox.from_setting(f"k3:{SecretBox.generate_key()}"))
    with pytest.raises(SecretBoxError):
        await stranger.authenticate(raw)


# --- revocation and tenancy ----------------------------------------------------------------


async def test_a_revoked_key_is_refused_and_revoking_again_changes_nothing(
    app: Ghostart, team: Team, events: EventRecorder, ci_key: tuple[ApiKey, str]
) -> None:
    key, raw = ci_key
    await app.api_keys.authenticate(raw)
    revoked = await app.api_keys.revoke(team.admin, str(key.id))
    assert revoked.revoked and revoked.id == key.id
    with pytest.raises(Unauthenticated, match="invalid or revoked API key"):
        await app.api_keys.authenticate(raw)
    with pytest.raises(Unauthenticated):  # in another process too: nothing is cached
        await service(app).authenticate(raw)
    again = await app.api_keys.revoke(team.admin, key.id)
    assert again.revoked_at == revoked.revoked_at
    assert [k.revoked_at for k in await app.api_keys.list(team.admin)] == [revoked.revoked_at]
    assert events.names().count("api_key.created") == 1
    assert events.names().count("api_key.revoked") == 1
    for event in events.events:
        assert raw not in event.model_dump_json()


async def test_another_organizations_keys_are_not_found(
    app: Ghostart, team: Team, other_team: Team, ci_key: tuple[ApiKey, str]
) -> None:
    key, raw = ci_key
    with pytest.raises(NotFound):
        await app.api_keys.revoke(other_team.admin, key.id)
    with pytest.raises(NotFound):
        await app.api_keys.revoke(team.admin, uuid4())
    with pytest.raises(InvalidInput):
        await app.api_keys.revoke(team.admin, "not-a-uuid")
    assert await app.api_keys.list(other_team.admin) == []
    principal, _ = await app.api_keys.authenticate(raw)  # still working
    assert principal.organization_id == team.org.id
    assert not can(
        principal.model_copy(update={"organization_id": other_team.org.id}), P.MEMBERS_MANAGE
    )


# --- last use, written at most once a minute -----------------------------------------------


async def test_last_use_is_written_at_most_once_a_minute_per_key(
    app: Ghostart, team: Team, ci_key: tuple[ApiKey, str]
) -> None:
    _, raw = ci_key
    clock = ManualClock()
    store = CountingStore(app.store)
    keys = service(app, store=store, clock=clock)
    t0 = clock.now()

    _, used = await keys.authenticate(raw)
    assert used.last_used_at == t0 and store.writes == 1
    for _ in range(5):
        clock.advance(10)
        _, used = await keys.authenticate(raw)
    assert store.writes == 1 and used.last_used_at == t0
    assert store.reads == 6  # every request still checks the row (revocation is immediate)

    clock.advance(11)  # 61 s after the first use
    _, used = await keys.authenticate(raw)
    assert store.writes == 2 and used.last_used_at == t0 + timedelta(seconds=61)

    # Another process reads the fresh time and writes nothing either.
    other = CountingStore(app.store)
    clock.advance(5)
    await service(app, store=other, clock=clock).authenticate(raw)
    assert other.writes == 0
    [listed] = await app.api_keys.list(team.admin)
    assert listed.last_used_at == t0 + timedelta(seconds=61)


async def test_a_failed_last_use_write_fails_no_request(
    app: Ghostart, ci_key: tuple[ApiKey, str]
) -> None:
    _, raw = ci_key
    store = CountingStore(app.store)
    store.fail_writes = True
    principal, used = await service(app, store=store).authenticate(raw)
    assert principal.kind is PrincipalKind.API_KEY and used.last_used_at is None
    assert store.writes == 1


async def test_authentication_runs_its_statements_prepared(
    app: Ghostart, ci_key: tuple[ApiKey, str]
) -> None:
    _, raw = ci_key
    store = app.store
    executed: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        executed.append(statement)

    engines = (store.engine, store._read_engine)  # type: ignore[attr-defined]
    for engine in engines:
        sa.event.listen(engine, "before_cursor_execute", record)
    try:
        await app.api_keys.authenticate(raw)
    finally:
        for engine in engines:
            sa.event.remove(engine, "before_cursor_execute", record)
    assert executed, "the listener saw nothing: the test would prove nothing"
    assert [s for s in executed if "api_keys" in s] == []


# --- nothing shows the key or its hash -----------------------------------------------------


async def test_no_repr_or_dump_shows_the_key_or_its_hash(
    app: Ghostart, team: Team, settings: Settings, ci_key: tuple[ApiKey, str]
) -> None:
    key, raw = ci_key
    principal, used = await app.api_keys.authenticate(raw)
    stored_hash = stored_row(settings, key)["key_hash"]
    assert "key_hash" not in ApiKey.model_fields
    shown = [
        repr(key),
        str(key),
        repr(used),
        repr(key.model_dump()),
        key.model_dump_json(),
        repr(principal),
        principal.model_dump_json(),
        repr(await app.api_keys.list(team.admin)),
        repr(app.api_keys),
    ]
    for text in shown:
        assert raw not in text and secret_part(raw) not in text and stored_hash not in text
    assert key.key_prefix in repr(key)  # what people use to tell keys apart stays visible


# --- the permission check with scopes ------------------------------------------------------


def _principal(role: Role, scopes: set[Permission] | None = None) -> Principal:
    return Principal(
        user_id=uuid4(),
        organization_id=uuid4(),
        role=role,
        kind=PrincipalKind.USER if scopes is None else PrincipalKind.API_KEY,
        scopes=None if scopes is None else frozenset(scopes),
    )


@pytest.mark.parametrize("role", list(Role))
def test_scopes_only_ever_narrow_a_role(role: Role) -> None:
    assert granted(_principal(role)) == PERMISSIONS[role]
    for scopes in ({P.ORG_READ}, {P.API_KEYS_MANAGE, P.POST_CREATE}, set(Permission), set()):
        who = _principal(role, scopes)
        assert granted(who) == PERMISSIONS[role] & scopes
        for permission in Permission:
            if not permission.value.endswith(("_own", "_any")):
                assert can(who, permission) is (permission in PERMISSIONS[role] & scopes)


def test_an_own_scope_stays_own_even_for_a_role_with_any() -> None:
    key = _principal(Role.ADMIN, {P.POST_EDIT_OWN})
    assert can(key, P.POST_EDIT_ANY, owner_id=key.user_id)
    assert not can(key, P.POST_EDIT_ANY, owner_id=uuid4())
    assert not can(key, P.POST_EDIT_OWN)
    everything = _principal(Role.ADMIN, {P.POST_EDIT_ANY})
    assert can(everything, P.POST_EDIT_OWN, owner_id=uuid4())


def test_authorize_says_whether_the_role_or_the_scopes_refused() -> None:
    key = _principal(Role.EMPLOYEE, {P.ORG_READ})
    with pytest.raises(PermissionDenied) as info:
        authorize(key, P.POST_CREATE)
    assert "this API key's scopes do not allow post.create" in str(info.value)
    assert info.value.details == {
        "permission": "post.create",
        "role": "employee",
        "scopes": ["org.read"],
    }
    with pytest.raises(PermissionDenied, match=r"role 'employee' may not members\.manage"):
        authorize(key, P.MEMBERS_MANAGE)
    with pytest.raises(PermissionDenied) as plain:
        authorize(_principal(Role.EMPLOYEE), P.MEMBERS_MANAGE)
    assert plain.value.details == {"permission": "members.manage", "role": "employee"}


def test_least_role_is_the_weakest_holding_every_permission() -> None:
    assert least_role([]) is Role.EMPLOYEE
    for permission in Permission:
        role = least_role([permission])
        assert permission in PERMISSIONS[role]
        weaker = [r for r in Role if PERMISSIONS[r] < PERMISSIONS[role]]
        assert all(permission not in PERMISSIONS[r] for r in weaker)


def test_the_permission_enum_is_one_object_everywhere() -> None:
    from ghostart import models, rbac

    assert rbac.Permission is models.Permission is Permission
