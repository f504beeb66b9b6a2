"""Contract suite for :class:`~ghostart.ports.publisher.Publisher` adapters.

Provide a ``publisher`` fixture (with mocked HTTP for a network). ``find`` must answer for a
request that was published, and ``None`` for one that was not.
"""

from __future__ import annotations

from uuid import uuid4

import pytest

from ghostart.ports.publisher import Publication, Publisher, PublishRequest

__all__ = ["PublisherContract", "publish_request"]


def publish_request(body: str = "Hello from the contract suite (1/2) #test") -> PublishRequest:
    """A request with fresh ids."""
    post_id = uuid4()
    return PublishRequest(
        post_id=post_id,
        organization_id=uuid4(),
        author_id=uuid4(),
        body=body,
        idempotency_key=f"post:{post_id}",
    )


class PublisherContract:
    """Tests every Publisher adapter must pass."""

    pytestmark = [pytest.mark.asyncio]

    @pytest.fixture
    def publisher(self) -> Publisher:
        """The adapter under test; override it in the subclass."""
        raise NotImplementedError("subclass must provide a `publisher` fixture")

    async def test_publish_returns_where_it_lives(self, publisher: Publisher) -> None:
        publication = await publisher.publish(publish_request())
        assert isinstance(publication, Publication)
        assert publication.external_id and publication.published_at.tzinfo is not None

    async def test_find_answers_for_a_published_request(self, publisher: Publisher) -> None:
        request = publish_request()
        publication = await publisher.publish(request)
        found = await publisher.find(request)
        assert found is not None and found.external_id == publication.external_id

    async def test_find_answers_none_for_an_unpublished_request(self, publisher: Publisher) -> None:
        assert await publisher.find(publish_request()) is None
