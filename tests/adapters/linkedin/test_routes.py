"""Connecting LinkedIn through the HTTP API: the sign-in link, the callback, status, disconnect.

The service runs as in production (the plugin wired to the app's store); LinkedIn is the respx
fake. The ``state`` is refused when missing, tampered, expired, reused or someone else's, each
with a 4xx; the tokens in the database are ciphertext, on SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import httpx
import pytest
import sqlalchemy as sa

from ghostart.app import Ghostart
from ghostart.models import EventName, Permission
from ghostart.secretbox import SecretBox
from ghostart.testing import ManualClock
from ghostart.web.app import create_app
from ghostart.web.jwt import mint_dev_token
from ghostart.web.settings import load_web_settings, local_jwt_secret
from ghostart_linkedin.connections import ConnectionKey
from ghostart_linkedin.fake import FakeLinkedIn
from tests.adapters.linkedin.conftest import CLIENT_SECRET
from tests.adapters.linkedin.wired import KEYS, Recorder, linkedin_env, wired_app
from tests.support import Team, make_settings, make_team


@dataclass
class Service:
    app: Ghostart
    client: httpx.AsyncClient
    team: Team
    home: Path
    clock: ManualClock
    recorder: Recorder

    def auth(self, who: str) -> dict[str, str]:
        principal = getattr(self.team, who)
        token = mint_dev_token(local_jwt_secret(self.home), principal.user_id)
        return {"Authorization": f"Bearer {token}"}

    def url(self, path: str) -> str:
        return f"/v1/organizations/{self.team.org.id}{path}"

    async def state(self, who: str = "employee", app: str = "member") -> str:
        response = await self.client.get(
            self.url(f"/linkedin/connect?app={app}"), headers=self.auth(who)
        )
        assert response.status_code == 200, response.text
        query = parse_qs(urlsplit(response.json()["authorization_url"]).query)
        [state] = query["state"]
        return state

    async def callback(self, who: str = "employee", **params: str) -> httpx.Response:
        return await self.client.get("/v1/linkedin/callback", params=params, headers=self.auth(who))


MakeService = Callable[..., Awaitable[Service]]


@pytest.fixture
async def make_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, linkedin: FakeLinkedIn
) -> AsyncIterator[MakeService]:
    linkedin_env(monkeypatch)
    opened: list[tuple[Any, Ghostart]] = []

    async def make(database_url: str | None = None) -> Service:
        clock = ManualClock()
        linkedin.now = clock.now
        recorder = Recorder()
        core = await wired_app(
            tmp_path, clock, database_url=database_url, recorder=recorder, embedded_worker=False
        )
        api = create_app(core, web_settings=load_web_settings(home=tmp_path))
        lifespan = api.router.lifespan_context(api)
        await lifespan.__aenter__()
        opened.append((lifespan, core))
        transport = httpx.ASGITransport(app=api)
        client = httpx.AsyncClient(transport=transport, base_url="http://test")
        return Service(core, client, await make_team(core), tmp_path, clock, recorder)

    yield make
    for lifespan, _ in opened:
        await lifespan.__aexit__(None, None, None)


@pytest.fixture
async def service(make_service: MakeService) -> Service:
    return await make_service()


async def test_the_connect_route_gives_linkedins_url_with_a_state_for_the_caller(
    service: Service,
) -> None:
    response = await service.client.get(
        service.url("/linkedin/connect"), headers=service.auth("employee")
    )
    assert response.status_code == 200
    url = urlsplit(response.json()["authorization_url"])
    query = parse_qs(url.query)
    assert f"{url.scheme}://{url.netloc}{url.path}" == (
        "https://www.linkedin.com/oauth/v2/authorization"
    )
    assert query["client_id"] == ["78member"] and query["response_type"] == ["code"]
    assert query["scope"] == ["openid profile email w_member_social"]
    assert query["redirect_uri"] == ["https://app.example.com/linkedin/callback"]
    redirected = await service.client.get(
        service.url("/linkedin/connect?app=organization&redirect=true"),
        headers=service.auth("employee"),
    )
    assert redirected.status_code == 302
    assert parse_qs(urlsplit(redirected.headers["location"]).query)["client_id"] == [
        "86organization"
    ]


async def test_the_callback_connects_the_member_once_and_status_shows_no_token(
    service: Service, linkedin: FakeLinkedIn
) -> None:
    state = await service.state()
    response = await service.callback(state=state, code="code-for-782bbtaQ")
    assert response.status_code == 200, response.text
    [connection] = response.json()["connections"]
    assert connection["member_urn"] == "urn:li:person:782bbtaQ"
    assert connection["app"] == "member" and connection["needs_reconnect"] is False
    status = await service.client.get(
        service.url("/linkedin/connection"), headers=service.auth("employee")
    )
    assert status.json()["connections"] == [connection]
    assert status.json()["configured"] is True and response.json()["configured"] is True
    issued = list(linkedin.access_tokens) + list(linkedin.refresh_tokens)
    for body in (response.text, status.text):
        assert not any(token in body for token in issued) and CLIENT_SECRET not in body
    assert "access_token" not in connection and "refresh_token" not in connection
    [event] = service.recorder.named(EventName.LINKEDIN_CONNECTED)  # through the app's emit
    assert event.payload["user_id"] == str(service.team.employee.user_id)
    # The creator has no connection of their own, and does not see the employee's.
    other = await service.client.get(
        service.url("/linkedin/connection"), headers=service.auth("creator")
    )
    assert other.json()["connections"] == []


@pytest.mark.parametrize("kind", ["missing", "tampered", "expired", "reused", "other_user"])
async def test_a_bad_state_is_refused_with_422_and_nothing_is_exchanged(
    service: Service, linkedin: FakeLinkedIn, kind: str
) -> None:
    state = await service.state()
    who = "employee"
    if kind == "missing":
        state = ""
    elif kind == "tampered":
        state = state[:-6] + ("AAAAAA" if not state.endswith("AAAAAA") else "BBBBBB")
    elif kind == "expired":
        service.clock.advance(601)  # GHOSTART_LINKEDIN_STATE_TTL_SECONDS is 600
    elif kind == "reused":
        first = await service.callback(state=state, code="code-for-782bbtaQ")
        assert first.status_code == 200
    else:  # the creator's own session presenting the employee's state
        who = "creator"
    exchanges = linkedin.calls("token")
    response = await service.callback(who, state=state, code="code-for-someone")
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "linkedin_invalid_state" and problem["field"] == "state"
    assert linkedin.calls("token") == exchanges  # no code was exchanged
    status = await service.client.get(
        service.url("/linkedin/connection"), headers=service.auth(who)
    )
    urns = [c["member_urn"] for c in status.json()["connections"]]
    assert "urn:li:person:someone" not in urns


async def test_a_refused_code_and_a_declined_grant_are_4xx(
    service: Service, linkedin: FakeLinkedIn
) -> None:
    refused = await service.callback(state=await service.state(), code="not-a-code-linkedin-knows")
    assert refused.status_code == 422 and refused.json()["field"] == "code"
    declined = await service.callback(state=await service.state(), error="user_cancelled_login")
    assert declined.status_code == 422 and declined.json()["field"] == "error"


async def test_the_callback_of_an_organization_the_caller_left_is_404(
    service: Service,
) -> None:
    state = await service.state()
    await service.app.organizations.remove_member(service.team.admin, service.team.employee.user_id)
    response = await service.callback(state=state, code="code-for-782bbtaQ")
    assert response.status_code == 404


async def test_an_api_key_can_not_connect_a_member(service: Service) -> None:
    _, secret = await service.app.api_keys.create(
        service.team.admin, name="ci", scopes=[Permission.POST_PUBLISH_OWN]
    )
    response = await service.client.get(
        service.url("/linkedin/connect"), headers={"X-API-Key": secret}
    )
    assert response.status_code == 403


async def test_bad_parameters_are_422(service: Service) -> None:
    for path in ("/linkedin/connect?app=personal", "/linkedin/connection?app=page"):
        method = "GET" if "connect?" in path else "DELETE"
        response = await service.client.request(
            method, service.url(path), headers=service.auth("employee")
        )
        assert response.status_code == 422, (path, response.text)
    too_long = await service.callback(state="x" * 5000, code="y")
    assert too_long.status_code == 422


async def test_disconnect_forgets_only_the_callers_connection(service: Service) -> None:
    for who, sub in (("employee", "782bbtaQ"), ("creator", "9Zc1creator")):
        response = await service.callback(
            who, state=await service.state(who), code=f"code-for-{sub}"
        )
        assert response.status_code == 200
    gone = await service.client.delete(
        service.url("/linkedin/connection"), headers=service.auth("employee")
    )
    assert gone.status_code == 204
    again = await service.client.delete(
        service.url("/linkedin/connection"), headers=service.auth("employee")
    )
    assert again.status_code == 204
    mine = await service.client.get(
        service.url("/linkedin/connection"), headers=service.auth("employee")
    )
    theirs = await service.client.get(
        service.url("/linkedin/connection"), headers=service.auth("creator")
    )
    assert mine.json()["connections"] == []
    assert [c["member_urn"] for c in theirs.json()["connections"]] == ["urn:li:person:9Zc1creator"]


async def test_without_the_linkedin_publisher_the_routes_say_it_is_not_set_up(
    tmp_path: Path,
) -> None:
    core = Ghostart.from_settings(make_settings(tmp_path))  # the dry-run publisher
    api = create_app(core, web_settings=load_web_settings(home=tmp_path))
    async with api.router.lifespan_context(api):
        team = await make_team(core)
        token = mint_dev_token(local_jwt_secret(tmp_path), team.employee.user_id)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=api), base_url="http://test"
        ) as client:
            response = await client.get(
                f"/v1/organizations/{team.org.id}/linkedin/connect",
                headers={"Authorization": f"Bearer {token}"},
            )
    assert response.status_code == 404 and "GHOSTART_PUBLISHER=linkedin" in response.text


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
async def test_tokens_in_the_database_are_not_readable_as_plaintext(
    make_service: MakeService,
    linkedin: FakeLinkedIn,
    database: str,
    request: pytest.FixtureRequest,
) -> None:
    url = request.getfixturevalue("postgres_url") if database == "postgres" else None
    service = await make_service(url)
    response = await service.callback(state=await service.state(), code="code-for-782bbtaQ")
    assert response.status_code == 200
    engine = sa.create_engine(
        url or f"sqlite:///{service.home / 'ghostart.db'}", poolclass=sa.pool.NullPool
    )
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "select organization_id, user_id, app, access_token, refresh_token"
                    " from linkedin_connections"
                )
            ).all()
    finally:
        engine.dispose()
    [(org, user, app, access, refresh)] = rows
    [plain_access] = linkedin.access_tokens  # the one token LinkedIn issued
    [plain_refresh] = linkedin.refresh_tokens
    raw = f"{access} {refresh}"
    assert plain_access not in raw and plain_refresh not in raw
    assert "AQV-" not in raw and "AQW-" not in raw and "DO-NOT-LEAK" not in raw
    assert access.startswith("gsb1.k1.") and refresh.startswith("gsb1.k1.")
    # It is the token, sealed for its row: the app's key opens it, with the row's binding.
    key = ConnectionKey(UUID(str(org)), UUID(str(user)), app)
    box = SecretBox.from_setting(KEYS)
    assert box.decrypt(access, aad=key.aad("access_token")) == plain_access
    assert box.decrypt(refresh, aad=key.aad("refresh_token")) == plain_refresh
