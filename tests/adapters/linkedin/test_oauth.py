"""OAuth: the sign-in link, its state, the code exchange, and tokens never kept in plaintext.

The state is refused when missing, tampered, expired, reused or someone else's.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import pytest

from ghostart.errors import ConfigurationError, InvalidInput
from ghostart.secretbox import SecretBox
from ghostart.testing import ManualClock
from ghostart_linkedin.connections import ConnectionKey, MemoryConnectionStore
from ghostart_linkedin.fake import FakeLinkedIn
from ghostart_linkedin.oauth import InvalidGrant, InvalidState
from ghostart_linkedin.publisher import LinkedInPublisher
from tests.adapters.linkedin.conftest import CLIENT_SECRET, ORG_CLIENT_SECRET, make_settings

ORG, USER = uuid4(), uuid4()


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _state(publisher: LinkedInPublisher, app: str = "member") -> str:
    url = publisher.tokens.oauth.authorization_url(organization_id=ORG, user_id=USER, app=app)  # type: ignore[arg-type]
    return _query(url)["state"]


def test_the_authorization_url_asks_for_the_configured_scopes_of_each_app(
    publisher: LinkedInPublisher,
) -> None:
    oauth = publisher.tokens.oauth
    member = oauth.authorization_url(organization_id=ORG, user_id=USER)
    assert member.startswith("https://www.linkedin.com/oauth/v2/authorization?")
    query = _query(member)
    assert query["response_type"] == "code" and query["client_id"] == "78member"
    assert query["redirect_uri"] == "https://app.example.com/v1/linkedin/callback"
    assert query["scope"] == "openid profile email w_member_social"
    organization = _query(
        oauth.authorization_url(organization_id=ORG, user_id=USER, app="organization")
    )
    assert organization["client_id"] == "86organization"
    assert (
        organization["scope"] == "w_organization_social r_organization_social rw_organization_admin"
    )
    # The state is sealed: it names the user, but nobody can read that from the link.
    assert str(USER) not in member and str(ORG) not in member


async def test_a_valid_state_is_accepted_once_then_refused_as_reused(
    publisher: LinkedInPublisher,
) -> None:
    state = _state(publisher)
    verified = await publisher.tokens.oauth.verify_state(state, organization_id=ORG, user_id=USER)
    assert (verified.organization_id, verified.user_id, verified.app) == (ORG, USER, "member")
    with pytest.raises(InvalidState) as caught:
        await publisher.tokens.oauth.verify_state(state, organization_id=ORG, user_id=USER)
    assert caught.value.reason == "reused"


@pytest.mark.parametrize("state", [None, ""])
async def test_a_missing_state_is_refused(publisher: LinkedInPublisher, state: str | None) -> None:
    with pytest.raises(InvalidState) as caught:
        await publisher.tokens.oauth.verify_state(state, organization_id=ORG, user_id=USER)
    assert caught.value.reason == "missing"


async def test_a_tampered_state_is_refused(publisher: LinkedInPublisher) -> None:
    state = _state(publisher)
    prefix, kid, data = state.split(".")
    flipped = data[:10] + ("A" if data[10] != "A" else "B") + data[11:]
    forged_elsewhere = SecretBox.from_setting(f"k1:{SecretBox.generate_key()}").encrypt(
        json.dumps({"o": str(ORG), "u": str(USER), "a": "member", "n": "x", "x": 2**40}),
        aad="ghostart_linkedin.oauth.state",
    )
    for bad in (f"{prefix}.{kid}.{flipped}", forged_elsewhere, "not-a-state", state + "x"):
        with pytest.raises(InvalidState) as caught:
            await publisher.tokens.oauth.verify_state(bad, organization_id=ORG, user_id=USER)
        assert caught.value.reason == "tampered", bad
    # The genuine one still works: refusals spend nothing.
    await publisher.tokens.oauth.verify_state(state, organization_id=ORG, user_id=USER)


async def test_an_expired_state_is_refused(
    publisher: LinkedInPublisher, clock: ManualClock
) -> None:
    state = _state(publisher)
    clock.advance(600 + 1)  # GHOSTART_LINKEDIN_STATE_TTL_SECONDS
    with pytest.raises(InvalidState) as caught:
        await publisher.tokens.oauth.verify_state(state, organization_id=ORG, user_id=USER)
    assert caught.value.reason == "expired"


async def test_another_users_state_is_refused(publisher: LinkedInPublisher) -> None:
    state = _state(publisher)
    for org, user in ((ORG, uuid4()), (uuid4(), USER)):
        with pytest.raises(InvalidState) as caught:
            await publisher.tokens.oauth.verify_state(state, organization_id=org, user_id=user)
        assert caught.value.reason == "other_user"
    assert "invalid, expired or already used" in str(caught.value)  # never which check


async def test_the_callback_stores_the_member_with_encrypted_tokens(
    publisher: LinkedInPublisher, linkedin: FakeLinkedIn, store: MemoryConnectionStore
) -> None:
    connection = await publisher.tokens.connect(
        organization_id=ORG, user_id=USER, state=_state(publisher), code="code-for-782bbtaQ"
    )
    assert (
        connection.member_urn == "urn:li:person:782bbtaQ" and connection.member_name == "John Doe"
    )
    assert connection.scopes == ("email", "openid", "profile", "w_member_social")
    [token_call] = [r for r in linkedin.requests if r.url.path == "/oauth/v2/accessToken"]
    form = _query("?" + token_call.content.decode())
    assert form["grant_type"] == "authorization_code" and form["code"] == "code-for-782bbtaQ"
    assert form["redirect_uri"] == "https://app.example.com/v1/linkedin/callback"
    # The raw row holds no token LinkedIn issued, only SecretBox ciphertext.
    raw = json.dumps(store.rows[ConnectionKey(ORG, USER)].model_dump(mode="json"))
    issued = [*linkedin.access_tokens, *linkedin.refresh_tokens]
    assert issued and not [t for t in issued if t in raw]
    assert raw.count('"gsb1.') == 2
    assert "DO-NOT-LEAK" not in repr(connection)


async def test_a_ciphertext_moved_to_another_row_does_not_decrypt(
    publisher: LinkedInPublisher, linkedin: FakeLinkedIn, store: MemoryConnectionStore
) -> None:
    connection = await publisher.tokens.connect(
        organization_id=ORG, user_id=USER, state=_state(publisher), code="code-for-782bbtaQ"
    )
    other = ConnectionKey(ORG, uuid4())
    store.rows[other] = connection.model_copy(update={"user_id": other.user_id})
    with pytest.raises(ConfigurationError, match="GHOSTART_SECRET_KEYS"):
        await publisher.tokens.access_token(other)


async def test_a_declined_grant_is_reported_and_spends_the_state(
    publisher: LinkedInPublisher,
) -> None:
    state = _state(publisher)
    with pytest.raises(InvalidInput, match="user_cancelled_authorize"):
        await publisher.tokens.connect(
            organization_id=ORG,
            user_id=USER,
            state=state,
            code=None,
            error="user_cancelled_authorize",
        )
    with pytest.raises(InvalidState):
        await publisher.tokens.connect(
            organization_id=ORG, user_id=USER, state=state, code="code-for-782bbtaQ"
        )


async def test_a_refused_code_is_invalid_grant(
    publisher: LinkedInPublisher, linkedin: FakeLinkedIn
) -> None:
    with pytest.raises(InvalidGrant, match="invalid, expired or revoked"):
        await publisher.tokens.oauth.exchange("member", "a-code-linkedin-never-issued")


async def test_refused_client_credentials_name_the_setting_and_not_the_secret(
    publisher: LinkedInPublisher, linkedin: FakeLinkedIn
) -> None:
    linkedin.fail_next("token", "invalid_client")
    with pytest.raises(ConfigurationError) as caught:
        await publisher.tokens.oauth.exchange("member", "code-for-x")
    assert "GHOSTART_LINKEDIN_CLIENT_SECRET" in str(caught.value)
    assert CLIENT_SECRET not in str(caught.value.__dict__)


async def test_the_organization_app_uses_its_own_credentials(
    publisher: LinkedInPublisher, linkedin: FakeLinkedIn
) -> None:
    connection = await publisher.tokens.connect(
        organization_id=ORG,
        user_id=USER,
        state=_state(publisher, "organization"),
        code="code-for-pageadmin",
    )
    assert connection.app == "organization"
    [token_call] = [r for r in linkedin.requests if r.url.path == "/oauth/v2/accessToken"]
    form = _query("?" + token_call.content.decode())
    assert form["client_id"] == "86organization" and form["client_secret"] == ORG_CLIENT_SECRET


def test_an_unconfigured_organization_app_names_its_settings() -> None:
    settings = make_settings(org_client_id=None, org_client_secret=None, org_redirect_uri=None)
    assert list(settings.apps()) == ["member"]
    with pytest.raises(ConfigurationError, match="GHOSTART_LINKEDIN_ORG_CLIENT_ID"):
        settings.app("organization")


def test_no_secret_shows_in_a_repr() -> None:
    settings = make_settings()
    shown = repr(settings) + repr(settings.apps()) + str(settings.model_dump())
    assert CLIENT_SECRET not in shown and ORG_CLIENT_SECRET not in shown
