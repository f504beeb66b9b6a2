"""Token lifecycle: refresh ahead of expiry, 401 refreshed once, a dead connection reported once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import uuid4

import pytest

from ghostart.ports import PublishRequest
from ghostart.secretbox import SecretBox
from ghostart.testing import ManualClock
from ghostart_linkedin.connections import Connection, ConnectionKey, MemoryConnectionStore
from ghostart_linkedin.errors import NeedsReconnect
from ghostart_linkedin.fake import FakeLinkedIn
from ghostart_linkedin.oauth import MemberInfo, TokenSet
from ghostart_linkedin.publisher import LinkedInPublisher
from ghostart_linkedin.tokens import LinkedInEvent
from tests.adapters.linkedin.conftest import Connect, Events

DAY = 86400


def _request(connection: Connection, body: str | None = None) -> PublishRequest:
    post_id = uuid4()
    return PublishRequest(
        post_id=post_id,
        organization_id=connection.organization_id,
        author_id=connection.user_id,
        body=body or f"Post {post_id}",
        idempotency_key=f"post:{post_id}",
    )


def _refresh_token(box: SecretBox, connection: Connection) -> str | None:
    if connection.refresh_token is None:
        return None
    return box.decrypt(connection.refresh_token, aad=connection.key.aad("refresh_token"))


def _bearer(linkedin: FakeLinkedIn) -> str:
    creates = [r for r in linkedin.requests if r.url.path == "/rest/posts" and r.method == "POST"]
    return creates[-1].headers["authorization"].removeprefix("Bearer ")


async def test_a_token_expiring_soon_is_refreshed_before_the_call(
    publisher: LinkedInPublisher,
    linkedin: FakeLinkedIn,
    connect: Connect,
    store: MemoryConnectionStore,
    clock: ManualClock,
) -> None:
    connection = await connect(expires_in=1 * DAY)  # refresh ahead: 2 days
    old = {t for t in linkedin.access_tokens}
    await publisher.publish(_request(connection))
    assert linkedin.calls("token") == 1
    used = _bearer(linkedin)
    assert used not in old  # the post went out with the new token
    stored = store.rows[connection.key]
    assert stored.access_expires_at - clock.now() == timedelta(seconds=5_184_000)  # 60 days
    assert stored.version == connection.version + 1


async def test_a_token_far_from_expiry_is_not_refreshed(
    publisher: LinkedInPublisher, linkedin: FakeLinkedIn, connect: Connect
) -> None:
    connection = await connect(expires_in=30 * DAY)
    await publisher.publish(_request(connection))
    assert linkedin.calls("token") == 0


async def test_a_refresh_without_a_refresh_token_keeps_the_stored_one(
    publisher: LinkedInPublisher,
    linkedin: FakeLinkedIn,
    connect: Connect,
    store: MemoryConnectionStore,
    box: SecretBox,
) -> None:
    linkedin.refresh_returns_refresh_token = False
    connection = await connect(expires_in=DAY)
    before = _refresh_token(box, connection)
    await publisher.publish(_request(connection))
    after = store.rows[connection.key]
    assert linkedin.calls("token") == 1 and before is not None
    assert _refresh_token(box, after) == before
    assert after.refresh_expires_at == connection.refresh_expires_at


async def test_reconnecting_without_a_refresh_token_keeps_the_stored_one(
    publisher: LinkedInPublisher,
    connect: Connect,
    store: MemoryConnectionStore,
    box: SecretBox,
    clock: ManualClock,
) -> None:
    connection = await connect()
    before = _refresh_token(box, connection)
    tokens = TokenSet(access_token="AQV-new", access_expires_at=clock.now())
    again = await publisher.tokens.store_tokens(connection.key, tokens, MemberInfo(sub="782bbtaQ"))
    assert before is not None and _refresh_token(box, again) == before
    # A different member connecting does not inherit it.
    other = await publisher.tokens.store_tokens(connection.key, tokens, MemberInfo(sub="someone"))
    assert other.refresh_token is None


async def test_a_401_refreshes_once_and_the_call_is_repeated(
    publisher: LinkedInPublisher, linkedin: FakeLinkedIn, connect: Connect, events: Events
) -> None:
    connection = await connect()
    [access] = list(linkedin.access_tokens)
    linkedin.revoke(access)  # LinkedIn answers 401 (invalid token) for it
    publication = await publisher.publish(_request(connection))
    assert linkedin.calls("token") == 1 and linkedin.calls("create") == 2
    assert [p["id"] for p in linkedin.posts] == [publication.external_id]
    assert events.names() == [LinkedInEvent.CONNECTED]


async def test_a_second_401_after_refreshing_needs_reconnecting_with_one_event(
    publisher: LinkedInPublisher,
    linkedin: FakeLinkedIn,
    connect: Connect,
    events: Events,
    store: MemoryConnectionStore,
) -> None:
    connection = await connect()
    linkedin.fail_next("create", "revoked_token", "revoked_token")
    with pytest.raises(NeedsReconnect):
        await publisher.publish(_request(connection))
    assert linkedin.calls("token") == 1 and linkedin.posts == []
    stored = store.rows[connection.key]
    assert stored.needs_reconnect and stored.reconnect_reason == "revoked"
    assert events.names().count(LinkedInEvent.NEEDS_RECONNECT) == 1
    calls = len(linkedin.requests)
    with pytest.raises(NeedsReconnect):  # nothing more is sent for a dead connection
        await publisher.publish(_request(connection))
    assert len(linkedin.requests) == calls


async def test_a_401_without_a_refresh_token_needs_reconnecting(
    publisher: LinkedInPublisher, linkedin: FakeLinkedIn, connect: Connect, events: Events
) -> None:
    connection = await connect(refresh=False)
    linkedin.fail_next("create", "invalid_token")
    with pytest.raises(NeedsReconnect):
        await publisher.publish(_request(connection))
    assert linkedin.calls("token") == 0
    [event] = [e for e in events.events if e.name == LinkedInEvent.NEEDS_RECONNECT]
    assert event.payload == {
        "user_id": str(connection.user_id),
        "app": "member",
        "member_urn": "urn:li:person:782bbtaQ",
        "access_expires_at": connection.access_expires_at.isoformat(),
        "reason": "revoked",
    }
    assert event.organization_id == connection.organization_id


async def test_invalid_grant_marks_the_connection_and_emits_one_event_however_many_workers(
    make_publisher: object,
    publisher: LinkedInPublisher,
    linkedin: FakeLinkedIn,
    connect: Connect,
    events: Events,
    store: MemoryConnectionStore,
) -> None:
    connection = await connect(expires_in=DAY)  # every publish refreshes first
    linkedin.refresh_tokens.clear()  # LinkedIn revoked it: invalid_grant
    _interleave(store)  # every worker reads the working connection before any marks it
    workers = [make_publisher() for _ in range(5)]  # type: ignore[operator]
    results = await asyncio.gather(
        *(w.publish(_request(connection)) for w in workers), return_exceptions=True
    )
    assert all(isinstance(r, NeedsReconnect) for r in results), results
    assert store.rows[connection.key].reconnect_reason == "invalid_grant"
    assert events.names().count(LinkedInEvent.NEEDS_RECONNECT) == 1
    assert linkedin.posts == []


def _interleave(store: MemoryConnectionStore) -> None:
    """Make every read yield, as a database round trip would."""
    read = store.get

    async def get(key: ConnectionKey) -> Connection | None:
        row = await read(key)
        await asyncio.sleep(0)  # the row is read; others run before it arrives
        return row

    store.get = get  # type: ignore[method-assign]


async def test_concurrent_marks_flag_once(
    publisher: LinkedInPublisher, connect: Connect, events: Events, store: MemoryConnectionStore
) -> None:
    connection = await connect()
    _interleave(store)
    marked = await asyncio.gather(
        *(publisher.tokens.mark_needs_reconnect(connection.key, "invalid_grant") for _ in range(10))
    )
    assert marked.count(True) == 1
    assert events.names().count(LinkedInEvent.NEEDS_RECONNECT) == 1


async def test_an_expired_token_without_refresh_needs_reconnecting_without_a_call(
    publisher: LinkedInPublisher,
    linkedin: FakeLinkedIn,
    connect: Connect,
    clock: ManualClock,
    events: Events,
) -> None:
    connection = await connect(refresh=False, expires_in=DAY)
    clock.advance(DAY + 1)
    with pytest.raises(NeedsReconnect, match="expired"):
        await publisher.publish(_request(connection))
    assert linkedin.requests == []
    assert events.names() == [LinkedInEvent.CONNECTED, LinkedInEvent.NEEDS_RECONNECT]


async def test_one_reminder_per_token_that_expires_without_a_refresh_token(
    publisher: LinkedInPublisher, connect: Connect, clock: ManualClock, events: Events
) -> None:
    soon = await connect(refresh=False, expires_in=5 * DAY)
    await connect(refresh=False, expires_in=30 * DAY)  # not yet
    await connect(refresh=True, expires_in=5 * DAY)  # refreshed instead
    assert await publisher.tokens.remind_expiring() == 1
    assert await publisher.tokens.remind_expiring() == 0
    [reminder] = [e for e in events.events if e.name == LinkedInEvent.EXPIRING]
    assert reminder.payload["user_id"] == str(soon.user_id)
    # A new token (the member reconnected) gets its own reminder in time.
    await connect(
        organization_id=soon.organization_id,
        user_id=soon.user_id,
        refresh=False,
        expires_in=6 * DAY,
    )
    assert await publisher.tokens.remind_expiring() == 1
