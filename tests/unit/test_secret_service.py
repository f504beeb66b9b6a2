"""SecretService over an in-memory store: row binding, validation and resumable key rotation."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any, cast
from uuid import UUID, uuid4

import pytest

from ghostart.errors import InvalidInput, NotFound
from ghostart.ports.store import Store
from ghostart.secretbox import SecretBox, SecretBoxError
from ghostart.services.secrets import RotationReport, SecretService, secret_aad

ORG = UUID("00000000-0000-4000-8000-000000000001")
OTHER_ORG = UUID("00000000-0000-4000-8000-000000000002")
OLD_KEY = SecretBox.generate_key()
NEW_KEY = SecretBox.generate_key()


# --- a small in-memory store ------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    id: UUID
    organization_id: UUID
    name: str
    ciphertext: str


class FakeSecrets:
    """SecretRepository over a dict of rows keyed by id."""

    def __init__(self, rows: dict[UUID, Row]) -> None:
        self.rows = rows

    async def put(self, organization_id: UUID, name: str, secret_id: UUID, ciphertext: str) -> UUID:
        for row in self.rows.values():
            if row.organization_id == organization_id and row.name == name:
                # Like an upsert on (organization_id, name): the existing row keeps its id.
                self.rows[row.id] = replace(row, ciphertext=ciphertext)
                return row.id
        self.rows[secret_id] = Row(secret_id, organization_id, name, ciphertext)
        return secret_id

    async def get(self, organization_id: UUID, name: str) -> tuple[UUID, str] | None:
        for row in self.rows.values():
            if row.organization_id == organization_id and row.name == name:
                return row.id, row.ciphertext
        return None

    async def batch(self, *, after: UUID | None, limit: int) -> list[tuple[UUID, str]]:
        ids = sorted(i for i in self.rows if after is None or i > after)
        return [(i, self.rows[i].ciphertext) for i in ids[:limit]]

    async def replace(self, secret_id: UUID, old: str, new: str) -> bool:
        row = self.rows.get(secret_id)
        if row is None or row.ciphertext != old:
            return False
        self.rows[secret_id] = replace(row, ciphertext=new)
        return True


class FakeUnitOfWork:
    def __init__(self, secrets: FakeSecrets) -> None:
        self.secrets = secrets


class FakeStore:
    """Each unit of work edits a copy of the rows, swapped in only on a clean exit."""

    def __init__(self) -> None:
        self.rows: dict[UUID, Row] = {}
        self.commits = 0
        self.opened = 0
        #: Fail the unit of work with this (1-based) number just before it would commit.
        self.fail_on_unit: int | None = None

    def make_secrets(self, rows: dict[UUID, Row]) -> FakeSecrets:
        return FakeSecrets(rows)

    @asynccontextmanager
    async def unit_of_work(
        self, actor: Any = None, *, readonly: bool = False
    ) -> AsyncIterator[FakeUnitOfWork]:
        self.opened += 1
        working = dict(self.rows)
        yield FakeUnitOfWork(self.make_secrets(working))
        if self.opened == self.fail_on_unit:
            raise ConnectionError("simulated crash before commit")
        self.rows = working
        self.commits += 1

    async def migrate(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    def by_name(self, organization_id: UUID, name: str) -> Row:
        return next(
            r for r in self.rows.values() if r.organization_id == organization_id and r.name == name
        )


def make_service(store: FakeStore, box: SecretBox) -> SecretService:
    # The fake only implements the secrets repository, which is all the service touches.
    return SecretService(cast(Store, store), box)


def old_box() -> SecretBox:
    return SecretBox.from_setting(f"old:{OLD_KEY}")


def both_box() -> SecretBox:
    return SecretBox.from_setting(f"new:{NEW_KEY},old:{OLD_KEY}")


def new_only_box() -> SecretBox:
    return SecretBox.from_setting(f"new:{NEW_KEY}")


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


async def seed(store: FakeStore, count: int) -> dict[str, str]:
    values = {f"token.{i}": f"plaintext-value-{i}-{uuid4().hex}" for i in range(count)}
    service = make_service(store, old_box())
    for name, value in values.items():
        await service.put(ORG, name, value)
    return values


def key_ids(store: FakeStore, box: SecretBox) -> list[str]:
    return [box.key_id_of(row.ciphertext) for row in store.rows.values()]


def assert_adds_up(report: RotationReport) -> None:
    parts = report.rotated + report.up_to_date + report.conflicts + report.failed
    assert report.scanned == parts
    assert report.failed == len(report.failed_ids)


# --- put / get ---------------------------------------------------------------------------------


async def test_put_get_roundtrip_stores_only_ciphertext(store: FakeStore) -> None:
    service = make_service(store, old_box())

    await service.put(ORG, "linkedin.oauth", "ya29.super-secret-token")

    assert await service.get(ORG, "linkedin.oauth") == "ya29.super-secret-token"
    row = store.by_name(ORG, "linkedin.oauth")
    assert row.ciphertext.startswith("gsb1.old.")
    assert "super-secret" not in row.ciphertext
    # Bound to its own row id.
    assert old_box().decrypt(row.ciphertext, aad=f"secrets.ciphertext:{row.id}") == (
        "ya29.super-secret-token"
    )


async def test_put_again_replaces_value_and_keeps_row_id(store: FakeStore) -> None:
    service = make_service(store, old_box())
    await service.put(ORG, "webhook", "first")
    first_id = store.by_name(ORG, "webhook").id

    await service.put(ORG, "webhook", "second")

    assert len(store.rows) == 1
    assert store.by_name(ORG, "webhook").id == first_id
    assert await service.get(ORG, "webhook") == "second"


async def test_get_missing_or_other_organization_is_not_found(store: FakeStore) -> None:
    service = make_service(store, old_box())
    await service.put(ORG, "webhook", "value")

    with pytest.raises(NotFound):
        await service.get(ORG, "absent")
    with pytest.raises(NotFound):
        await service.get(OTHER_ORG, "webhook")


async def test_ciphertext_moved_to_another_row_fails(store: FakeStore) -> None:
    service = make_service(store, old_box())
    await service.put(ORG, "a", "value-of-a")
    await service.put(ORG, "b", "value-of-b")
    a, b = store.by_name(ORG, "a"), store.by_name(ORG, "b")

    store.rows[b.id] = replace(b, ciphertext=a.ciphertext)

    with pytest.raises(SecretBoxError) as excinfo:
        await service.get(ORG, "b")
    assert "value-of" not in str(excinfo.value)


async def test_put_rebinds_when_repository_keeps_another_row_id(store: FakeStore) -> None:
    # A concurrent writer inserted the same name after our lookup: the repository keeps its row.
    racing_id = uuid4()
    store.rows[racing_id] = Row(racing_id, ORG, "webhook", "gsb1.old.stale")

    class MissOnce(FakeSecrets):
        missed = False

        async def get(self, organization_id: UUID, name: str) -> tuple[UUID, str] | None:
            if not MissOnce.missed:
                MissOnce.missed = True
                return None
            return await super().get(organization_id, name)

    store.make_secrets = MissOnce  # type: ignore[method-assign]
    service = make_service(store, old_box())

    await service.put(ORG, "webhook", "fresh-value")

    assert list(store.rows) == [racing_id]
    assert await service.get(ORG, "webhook") == "fresh-value"


@pytest.mark.parametrize(
    "name",
    ["", "a" * 101, "Upper", "has space", "slash/name", "tab\t", "trailing\n", "ünï", "a;b"],
)
async def test_invalid_name_is_rejected(store: FakeStore, name: str) -> None:
    service = make_service(store, old_box())

    with pytest.raises(InvalidInput) as excinfo:
        await service.put(ORG, name, "value")
    assert excinfo.value.field == "name"
    with pytest.raises(InvalidInput):
        await service.get(ORG, name)
    assert store.rows == {}


@pytest.mark.parametrize("name", ["a", "a" * 100, "linkedin.oauth:access_token-2"])
async def test_valid_names_are_accepted(store: FakeStore, name: str) -> None:
    service = make_service(store, old_box())
    await service.put(ORG, name, "value")
    assert await service.get(ORG, name) == "value"


@pytest.mark.parametrize("value", ["", "x" * 10_001, "lone \ud800 surrogate"])
async def test_invalid_value_is_rejected(store: FakeStore, value: str) -> None:
    service = make_service(store, old_box())

    with pytest.raises(InvalidInput) as excinfo:
        await service.put(ORG, "name", value)
    assert excinfo.value.field == "value"
    assert store.rows == {}


async def test_longest_value_is_accepted(store: FakeStore) -> None:
    service = make_service(store, old_box())
    await service.put(ORG, "name", "x" * 10_000)
    assert await service.get(ORG, "name") == "x" * 10_000


# --- rotation ----------------------------------------------------------------------------------


async def test_rotated_values_decrypt_without_the_old_key(store: FakeStore) -> None:
    values = await seed(store, 7)

    report = await make_service(store, both_box()).rotate_all(batch_size=3)

    assert report.finished
    assert (report.scanned, report.rotated, report.failed) == (7, 7, 0)
    assert_adds_up(report)
    assert set(key_ids(store, new_only_box())) == {"new"}
    after = make_service(store, new_only_box())
    for name, value in values.items():
        assert await after.get(ORG, name) == value


async def test_rotation_stopped_part_way_resumes_and_adds_up(store: FakeStore) -> None:
    values = await seed(store, 5)
    service = make_service(store, both_box())

    first = await service.rotate_all(batch_size=2, max_batches=1)

    assert (first.scanned, first.rotated, first.batches, first.finished) == (2, 2, 1, False)
    assert sorted(key_ids(store, both_box())) == ["new", "new", "old", "old", "old"]
    # The two rotated rows are the first two in id order.
    assert [both_box().key_id_of(store.rows[i].ciphertext) for i in sorted(store.rows)[:2]] == [
        "new",
        "new",
    ]

    second = await service.rotate_all(batch_size=2)

    assert second.finished
    assert (second.scanned, second.rotated, second.up_to_date) == (5, 3, 2)
    assert second.batches == 3
    assert first.rotated + second.rotated == len(values)
    assert_adds_up(first)
    assert_adds_up(second)
    after = make_service(store, new_only_box())
    for name, value in values.items():
        assert await after.get(ORG, name) == value


async def test_rotation_commits_per_batch_so_a_crash_keeps_earlier_batches(
    store: FakeStore,
) -> None:
    values = await seed(store, 5)
    service = make_service(store, both_box())
    store.fail_on_unit = store.opened + 2  # the second batch dies before committing

    with pytest.raises(ConnectionError):
        await service.rotate_all(batch_size=2)

    assert sorted(key_ids(store, both_box())) == ["new", "new", "old", "old", "old"]
    store.fail_on_unit = None
    report = await service.rotate_all(batch_size=2)
    assert (report.rotated, report.up_to_date, report.finished) == (3, 2, True)
    after = make_service(store, new_only_box())
    for name, value in values.items():
        assert await after.get(ORG, name) == value


async def test_rotation_is_idempotent(store: FakeStore) -> None:
    await seed(store, 4)
    service = make_service(store, both_box())
    await service.rotate_all(batch_size=10)
    before = dict(store.rows)

    again = await service.rotate_all(batch_size=10)

    assert (again.scanned, again.rotated, again.up_to_date, again.finished) == (4, 0, 4, True)
    assert store.rows == before


async def test_rotation_exact_multiple_of_batch_size_finishes(store: FakeStore) -> None:
    await seed(store, 4)
    report = await make_service(store, both_box()).rotate_all(batch_size=2)
    assert (report.scanned, report.rotated, report.batches, report.finished) == (4, 4, 3, True)


async def test_rotation_of_empty_store_finishes(store: FakeStore) -> None:
    report = await make_service(store, both_box()).rotate_all()
    assert report == RotationReport(batches=1, finished=True)


async def test_rows_that_fail_to_decrypt_are_reported_by_id_and_skipped(
    store: FakeStore,
) -> None:
    values = await seed(store, 4)
    ids = sorted(store.rows)
    moved, garbage, unknown = ids[0], ids[1], ids[2]
    store.rows[moved] = replace(store.rows[moved], ciphertext=store.rows[ids[3]].ciphertext)
    store.rows[garbage] = replace(store.rows[garbage], ciphertext="not-a-token")
    lost_key = SecretBox.from_setting(f"lost:{SecretBox.generate_key()}")
    store.rows[unknown] = replace(
        store.rows[unknown], ciphertext=lost_key.encrypt("x", aad=secret_aad(unknown))
    )

    report = await make_service(store, both_box()).rotate_all(batch_size=2)

    assert report.finished
    assert (report.scanned, report.rotated, report.failed) == (4, 1, 3)
    assert set(report.failed_ids) == {moved, garbage, unknown}
    assert_adds_up(report)
    for value in values.values():
        assert value not in repr(report)


async def test_row_changed_during_rotation_is_a_conflict_not_an_overwrite(
    store: FakeStore,
) -> None:
    await seed(store, 3)
    target = sorted(store.rows)[1]
    box = both_box()
    concurrent = box.encrypt("written-meanwhile", aad=secret_aad(target))

    class ChangedUnderfoot(FakeSecrets):
        async def replace(self, secret_id: UUID, old: str, new: str) -> bool:
            if secret_id == target:
                # Another writer got there first.
                self.rows[target] = replace(self.rows[target], ciphertext=concurrent)
            return await super().replace(secret_id, old, new)

    store.make_secrets = ChangedUnderfoot  # type: ignore[method-assign]
    report = await make_service(store, box).rotate_all()

    assert (report.rotated, report.conflicts, report.failed) == (2, 1, 0)
    assert_adds_up(report)
    assert store.rows[target].ciphertext == concurrent


@pytest.mark.parametrize(("batch_size", "max_batches"), [(0, None), (-1, None), (10, 0)])
async def test_rotation_rejects_bad_bounds(
    store: FakeStore, batch_size: int, max_batches: int | None
) -> None:
    service = make_service(store, both_box())
    with pytest.raises(InvalidInput):
        await service.rotate_all(batch_size=batch_size, max_batches=max_batches)


# --- logging ---------------------------------------------------------------------------------


async def test_logs_never_contain_plaintext_or_keys(
    store: FakeStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    values = await seed(store, 3)
    service = make_service(store, both_box())
    for name in values:
        await service.get(ORG, name)
    first = sorted(store.rows)[0]
    store.rows[first] = replace(store.rows[first], ciphertext="gsb1.old.AAAA")
    await service.rotate_all(batch_size=2)
    for name, value in list(values.items())[1:]:
        await service.put(ORG, name, value + "-updated")
        await service.get(ORG, name)

    assert caplog.records, "the service is expected to log what it does"
    text = caplog.text + "".join(
        f"{r.getMessage()} {r.args!r} {r.__dict__!r}" for r in caplog.records
    )
    for value in values.values():
        assert value not in text
        assert "plaintext-value" not in text
    for key in (OLD_KEY, NEW_KEY):
        assert key not in text
