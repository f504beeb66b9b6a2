"""The dry-run publisher: records what it would post and posts nothing."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

from ghostart.ports import Publication, PublishRequest

__all__ = ["DryRunPublisher"]

log = logging.getLogger("ghostart.publisher.dry_run")


class DryRunPublisher:
    """Keeps each would-be publication, keyed by idempotency key, in memory and optionally a JSONL file.

    Publishing the same key twice returns the first publication, as a real network would refuse
    a duplicate; ``find`` answers from the same record.
    """

    def __init__(self, *, path: Path | None = None) -> None:
        self.path = path
        self.published: dict[str, tuple[PublishRequest, Publication]] = {}

    async def publish(self, request: PublishRequest) -> Publication:
        """Record the post as if published."""
        if request.idempotency_key in self.published:
            return self.published[request.idempotency_key][1]
        publication = Publication(
            external_id=f"dry-run:{request.post_id}",
            url=None,
            published_at=datetime.now(UTC),
        )
        self.published[request.idempotency_key] = (request, publication)
        log.info("dry run: would publish post %s (%d chars)", request.post_id, len(request.body))
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            record = {
                "request": request.model_dump(mode="json"),
                "publication": publication.model_dump(mode="json"),
            }
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")
        return publication

    async def find(self, request: PublishRequest) -> Publication | None:
        """The earlier publication of this request, if any."""
        found = self.published.get(request.idempotency_key)
        return found[1] if found else None
