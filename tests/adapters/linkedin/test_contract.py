"""The LinkedIn publisher passes the Publisher contract against the respx-served fake LinkedIn."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ghostart.secretbox import SecretBox
from ghostart.testing import ManualClock
from ghostart.testing.contracts.publisher import PublisherContract
from ghostart_linkedin.connections import Connection, ConnectionKey, MemoryConnectionStore
from ghostart_linkedin.fake import FakeLinkedIn
from ghostart_linkedin.publisher import LinkedInPublisher


class EveryoneConnected(MemoryConnectionStore):
    """The contract makes up its authors: each is connected (to the fake) on first sight."""

    def __init__(self, linkedin: FakeLinkedIn, box: SecretBox, clock: ManualClock) -> None:
        super().__init__()
        self.linkedin, self.box, self.clock = linkedin, box, clock

    async def get(self, key: ConnectionKey) -> Connection | None:
        if key not in self.rows:
            sub = f"m{key.user_id.hex[:10]}"
            access, _ = self.linkedin.issue_tokens(sub, refresh=False)
            now = self.clock.now()
            self.rows[key] = Connection(
                organization_id=key.organization_id,
                user_id=key.user_id,
                app=key.app,
                member_urn=f"urn:li:person:{sub}",
                access_token=self.box.encrypt(access, aad=key.aad("access_token")),
                access_expires_at=now + timedelta(days=60),
                connected_at=now,
                updated_at=now,
            )
        return await super().get(key)


@pytest.fixture
def store(linkedin: FakeLinkedIn, box: SecretBox, clock: ManualClock) -> MemoryConnectionStore:
    return EveryoneConnected(linkedin, box, clock)


class TestLinkedInPublisher(PublisherContract):
    @pytest.fixture
    def publisher(self, publisher: LinkedInPublisher) -> LinkedInPublisher:
        return publisher
