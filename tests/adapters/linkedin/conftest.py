"""Fixtures: LinkedIn faked with respx (no network, no real token) and publishers built on it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
import respx

from ghostart.builtin.ratelimit_memory import MemoryRateLimiter
from ghostart.models import DomainEvent
from ghostart.secretbox import SecretBox
from ghostart.testing import ManualClock, ManualTimer
from ghostart_linkedin.build import build_publisher
from ghostart_linkedin.connections import (
    Connection,
    ConnectionKey,
    MemoryConnectionStore,
    MemoryUsedStates,
)
from ghostart_linkedin.fake import FakeLinkedIn
from ghostart_linkedin.oauth import MemberInfo, TokenSet
from ghostart_linkedin.publisher import LinkedInPublisher
from ghostart_linkedin.settings import LinkedInSettings

#: Fake client secrets, long and distinctive so that a leak anywhere is easy to find.
CLIENT_SECRET = "member-app-secret-DO-NOT-LEAK-0123456789"
ORG_CLIENT_SECRET = "org-app-secret-DO-NOT-LEAK-9876543210"

# Never let a developer's environment leak into the tests (nor their real secrets out of them).
for _name in list(os.environ):
    if _name.startswith("GHOSTART_") and not _name.startswith(
        ("GHOSTART_TEST_", "GHOSTART_REQUIRE")
    ):
        del os.environ[_name]


def make_settings(**values: Any) -> LinkedInSettings:
    """Settings with both apps configured; keyword arguments override."""
    base: dict[str, Any] = {
        "client_id": "78member",
        "client_secret": CLIENT_SECRET,
        "redirect_uri": "https://app.example.com/v1/linkedin/callback",
        "org_client_id": "86organization",
        "org_client_secret": ORG_CLIENT_SECRET,
        "org_redirect_uri": "https://app.example.com/v1/linkedin/callback/organization",
        "image_poll_interval": 0.01,
    }
    return LinkedInSettings.load(**(base | values))


class Events:
    """An event sink that keeps what it is sent."""

    def __init__(self) -> None:
        self.events: list[DomainEvent] = []

    async def __call__(self, event: DomainEvent) -> None:
        self.events.append(event)

    def names(self) -> list[str]:
        return [e.name for e in self.events]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def box() -> SecretBox:
    return SecretBox.from_setting(f"k1:{SecretBox.generate_key()}")


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    """Every request must match a route: nothing reaches a network."""
    with respx.mock(assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def linkedin(router: respx.MockRouter) -> FakeLinkedIn:
    return FakeLinkedIn(router)


@pytest.fixture
def store() -> MemoryConnectionStore:
    return MemoryConnectionStore()


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def limiter() -> MemoryRateLimiter:
    return MemoryRateLimiter(clock=ManualTimer())


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


MakePublisher = Callable[..., LinkedInPublisher]


@pytest.fixture
def make_publisher(
    box: SecretBox,
    store: MemoryConnectionStore,
    clock: ManualClock,
    http: httpx.AsyncClient,
    events: Events,
    limiter: MemoryRateLimiter,
) -> MakePublisher:
    """Build a publisher on the fake: keyword arguments are settings."""

    async def no_sleep(seconds: float) -> None:
        return None

    def make(**values: Any) -> LinkedInPublisher:
        return build_publisher(
            make_settings(**values),
            box=box,
            connections=store,
            used_states=MemoryUsedStates(clock),
            clock=clock,
            rate_limiter=limiter,
            http=http,
            emit=events,
            sleep=no_sleep,
        )

    return make


@pytest.fixture
def publisher(make_publisher: MakePublisher) -> LinkedInPublisher:
    return make_publisher()


Connect = Callable[..., Awaitable[Connection]]


@pytest.fixture
def connect(linkedin: FakeLinkedIn, publisher: LinkedInPublisher, clock: ManualClock) -> Connect:
    """Store a connection for a member whose tokens the fake LinkedIn knows."""

    async def run(
        *,
        organization_id: UUID | None = None,
        user_id: UUID | None = None,
        sub: str = "782bbtaQ",
        app: str = "member",
        refresh: bool = True,
        expires_in: float = 60 * 86400,
        into: LinkedInPublisher | None = None,
    ) -> Connection:
        access, refresh_token = linkedin.issue_tokens(sub, refresh=refresh)
        now = clock.now()
        tokens = TokenSet(
            access_token=access,
            access_expires_at=now + timedelta(seconds=expires_in),
            refresh_token=refresh_token,
            refresh_expires_at=now + timedelta(days=365) if refresh_token else None,
            scopes=("openid", "profile", "email", "w_member_social"),
        )
        key = ConnectionKey(organization_id or uuid4(), user_id or uuid4(), app)  # type: ignore[arg-type]
        return await (into or publisher).tokens.store_tokens(key, tokens, MemberInfo(sub=sub))

    return run
