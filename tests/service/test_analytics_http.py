"""Usage analytics: the daily summary and the CSV export count exactly what the test did.

API calls and page views go through HTTP; a draft is generated and a post published through the
services (their events are written by the jobs, in the jobs' transactions). The recorder's
buffer is flushed explicitly, never waited for.
"""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime
from typing import Any

from ghostart.models import ContentRequest, PostStatus
from ghostart.observability.analytics import AnalyticsRecorder
from tests.service.conftest import Api, Org

TODAY = datetime.now(UTC).date().isoformat()


def _recorder(service: Api) -> AnalyticsRecorder:
    recorder: AnalyticsRecorder = service.api.state.analytics
    return recorder


async def _daily(service: Api, org: Org, **params: Any) -> dict[str, Any]:
    await _recorder(service).flush()
    answer = await service.client.get(org.url("/analytics/daily"), params=params, headers=org.admin)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _user(summary: dict[str, Any], user_id: Any) -> dict[str, Any]:
    found = [u for u in summary["users"] if u["user_id"] == str(user_id)]
    return (
        found[0] if found else {"api_calls": 0, "page_views": 0, "generations": 0, "publishes": 0}
    )


async def test_the_summary_matches_the_actions_performed(service: Api, org: Org) -> None:
    c = service.client
    before = await _daily(service, org, days=7)
    creator, employee = org.user_ids["brand_creator"], org.user_ids["employee"]

    for _ in range(3):
        assert (await c.get(org.url("/posts"), headers=org.creator)).status_code == 200
    for _ in range(2):
        assert (await c.get(org.url("/posts"), headers=org.employee)).status_code == 200
    assert (await c.get(org.url("/posts/not-an-id"), headers=org.employee)).status_code == 422
    for page in ("/", "/"):
        beacon = await c.post(
            org.url("/analytics/page-views"), json={"page": page}, headers=org.employee
        )
        assert beacon.status_code == 204
    # A draft generated for the creator, then published: counted by their jobs.
    app = service.app
    as_creator = await app.organizations.principal_for(creator, org.id)
    as_admin = await app.organizations.principal_for(org.user_ids["admin"], org.id)
    post = await app.generation.request(as_creator, ContentRequest(topic="Design docs"))
    post = await app.generation.wait(as_creator, post, timeout=30)
    assert post.status is PostStatus.DRAFT
    submitted = await app.posts.submit(as_creator, post.id)
    if submitted.status is PostStatus.IN_REVIEW:
        await app.posts.approve(as_admin, post.id)
    await app.posts.publish_now(as_creator, post.id)
    for _ in range(200):
        if (await app.generation.get(as_creator, post.id)).status is PostStatus.PUBLISHED:
            break
        await asyncio.sleep(0.02)
    assert (await app.generation.get(as_creator, post.id)).status is PostStatus.PUBLISHED

    after = await _daily(service, org, days=7)

    def moved(user: Any, column: str) -> int:
        return int(_user(after, user)[column]) - int(_user(before, user)[column])

    assert moved(creator, "api_calls") == 3
    assert moved(employee, "api_calls") == 3  # two lists and one bad request (422)
    assert moved(employee, "page_views") == 2 and moved(creator, "page_views") == 0
    assert moved(creator, "generations") == 1 and moved(creator, "publishes") == 1
    assert moved(employee, "generations") == 0
    # The admin's only call in between: the first summary itself.
    assert moved(org.user_ids["admin"], "api_calls") == 1
    [today] = [d for d in after["days"] if d["day"] == TODAY]
    [today_before] = [d for d in before["days"] if d["day"] == TODAY]
    assert today["api_calls"] - today_before["api_calls"] == 3 + 3 + 1
    assert today["page_views"] - today_before["page_views"] == 2
    assert (today["generations"], today["publishes"]) == (1, 1)
    assert today["active_users"] == 3
    assert len(after["days"]) == 7 and after["until"] == TODAY
    assert after["totals"]["generations"] == 1
    # Labels, never content: the topic and the draft are nowhere in the analytics.
    export = await c.get(org.url("/analytics/export.csv?days=7"), headers=org.admin)
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert "Design docs" not in export.text
    rows = list(csv.DictReader(io.StringIO(export.text)))
    by_user = {row["user_id"]: row for row in rows if row["day"] == TODAY}
    assert by_user[str(creator)]["generations"] == "1"
    assert by_user[str(creator)]["publishes"] == "1"
    assert by_user[str(employee)]["page_views"] == "2"
    assert int(by_user[str(creator)]["api_calls"]) == int(_user(after, creator)["api_calls"])


async def test_only_admins_read_analytics_and_bad_input_is_a_4xx(service: Api, org: Org) -> None:
    c = service.client
    for who in (org.creator, org.employee):
        assert (await c.get(org.url("/analytics/daily"), headers=who)).status_code == 403
        assert (await c.get(org.url("/analytics/export.csv"), headers=who)).status_code == 403
    for days in ("0", "367", "x"):
        bad = await c.get(org.url(f"/analytics/daily?days={days}"), headers=org.admin)
        assert bad.status_code == 422, bad.text
    for page in ("no-slash", "/with?query=1", "/" + "x" * 200):
        bad = await c.post(org.url("/analytics/page-views"), json={"page": page}, headers=org.admin)
        assert bad.status_code == 422, bad.text


async def test_organizations_see_only_their_own_analytics(
    service: Api, org: Org, make_org: Any
) -> None:
    other = await make_org("Globex")
    c = service.client
    for _ in range(4):
        await c.get(other.url("/posts"), headers=other.employee)
    mine = await _daily(service, org)
    theirs = await _daily(service, other)
    assert str(other.user_ids["employee"]) not in {u["user_id"] for u in mine["users"]}
    assert _user(theirs, other.user_ids["employee"])["api_calls"] == 4
    # An admin of one organization is nobody in the other's.
    foreign = await c.get(other.url("/analytics/daily"), headers=org.admin)
    assert foreign.status_code == 404
