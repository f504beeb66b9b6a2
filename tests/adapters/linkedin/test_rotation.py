"""Key rotation: stored tokens are re-sealed under a new primary key, then the old key can go."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from ghostart.secretbox import SecretBox
from ghostart.testing import ManualClock
from ghostart_linkedin.fake import FakeLinkedIn
from ghostart_linkedin.publisher import LinkedInPost, LinkedInPublisher
from tests.adapters.linkedin.conftest import Connect
from tests.adapters.linkedin.wired import KEYS, linkedin_env, wired_app
from tests.support import make_team

NEW = f"k2:{SecretBox.generate_key()}"


def _sealed(url: str) -> list[tuple[str, str]]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("select access_token, refresh_token from linkedin_connections")
            )
            return [(r[0], r[1]) for r in rows]
    finally:
        engine.dispose()


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
async def test_rotation_reseals_every_token_and_the_old_key_can_then_be_removed(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    clock: ManualClock,
    linkedin: FakeLinkedIn,
    connect: Connect,
    database: str,
    request: pytest.FixtureRequest,
) -> None:
    linkedin_env(monkeypatch)
    url = request.getfixturevalue("postgres_url") if database == "postgres" else None
    raw_url = url or f"sqlite:///{tmp_path / 'ghostart.db'}"
    old = await wired_app(tmp_path, clock, database_url=url, embedded_worker=False)
    team = await make_team(old)
    for principal in (team.admin, team.creator, team.employee):
        await connect(organization_id=team.org.id, user_id=principal.user_id, into=old.publisher)
    await old.aclose()
    assert all(a.startswith("gsb1.k1.") and r.startswith("gsb1.k1.") for a, r in _sealed(raw_url))

    both = await wired_app(
        tmp_path, clock, database_url=url, keys=f"{NEW},{KEYS}", embedded_worker=False
    )
    publisher = both.publisher
    assert isinstance(publisher, LinkedInPublisher)
    report = await publisher.rotate_tokens(batch_size=2)  # batches of two: two batches
    assert report == {"scanned": 3, "rotated": 3, "up_to_date": 0, "conflicts": 0, "failed": 0}
    again = await publisher.rotate_tokens(batch_size=2)
    assert again["up_to_date"] == 3 and again["rotated"] == 0
    await both.aclose()
    assert all(a.startswith("gsb1.k2.") and r.startswith("gsb1.k2.") for a, r in _sealed(raw_url))

    new = await wired_app(tmp_path, clock, database_url=url, keys=NEW, embedded_worker=False)
    publisher = new.publisher
    assert isinstance(publisher, LinkedInPublisher)
    posted = await publisher.publish_post(
        LinkedInPost(
            organization_id=team.org.id, user_id=team.employee.user_id, text="Rotated, still here"
        )
    )
    assert posted.external_id == linkedin.posts[-1]["id"]
    await new.aclose()
