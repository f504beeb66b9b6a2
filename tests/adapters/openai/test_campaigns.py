"""Campaigns on the OpenAI generator (respx-served): each employee's prompt, draft and usage."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import AsyncIterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from ghostart.app import Ghostart
from ghostart.models import GenerationStatus, PostStatus
from ghostart.settings import load_settings
from ghostart_openai.testing import OPENAI_BASE_URL, chat_completion, error_response, post_json
from tests.campaign_support import add_employees, as_employee, normalised, settle
from tests.support import Team, make_team

LINK = "https://acme.example.com/eu-region"
BRIEF = {
    "name": "EU region launch",
    "message": "Our EU region is live, with data residency for every customer",
    "link": LINK,
    "goal": "sign-ups for the launch webinar",
}
ROLES = ["Support lead", "Staff engineer", "Account executive", "Product designer", "Recruiter"]
TEAMS = ["payments", "onboarding", "EMEA sales", "mobile"]
#: Twenty employees, each with their own headline.
HEADLINES = [f"{role}, {team}" for role, team in itertools.product(ROLES, TEAMS)]


def _block(messages: list[dict[str, str]], tag: str) -> dict[str, Any] | None:
    found = re.search(rf"<{tag}>\n(.*?)\n</{tag}>", messages[-1]["content"], re.DOTALL)
    return json.loads(found.group(1)) if found else None


def _model(failing_for: str | None = None) -> Any:
    """A model that writes from the author block it is sent, and includes the request's link.

    Each answer's tokens depend on the author, so every generation costs something different.
    """

    def answer(request: httpx.Request) -> httpx.Response:
        messages = json.loads(request.content)["messages"]
        author, brief = _block(messages, "author"), _block(messages, "request")
        assert author is not None and brief is not None, "a variant's prompt lacks its blocks"
        if author["headline"] == failing_for:
            return error_response("context_length_exceeded")
        number = HEADLINES.index(author["headline"])
        content = post_json(
            hook=f"As {author['headline']}, this launch is close to my work.",
            body=f"{author['name']} here. {brief['topic']}.",
            call_to_action=f"Save your seat: {brief['link']}",
        )
        return httpx.Response(
            200,
            json=chat_completion(
                content, prompt_tokens=900 + number, completion_tokens=150 + 2 * number
            ),
        )

    return answer


@pytest.fixture
async def app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, api_key: str
) -> AsyncIterator[Ghostart]:
    monkeypatch.setenv("OPENAI_API_KEY", api_key)
    settings = load_settings(
        home=tmp_path,
        generator="openai?model=gpt-4.1-mini&moderation=off",
        reconcile_interval_seconds=0.2,
        generation_rate_limit=10_000,
    )
    async with Ghostart.from_settings(settings) as application:
        yield application


@pytest.fixture
async def team(app: Ghostart) -> Team:
    return await make_team(app)


async def _employees(app: Ghostart, team: Team) -> list[Any]:
    users = await add_employees(app, team, 20, headlines=HEADLINES)
    for i, user in enumerate(users):
        await app.profiles.update_profile(user.id, name=f"Employee {i}")
    return users


async def test_twenty_employees_get_twenty_different_ai_drafts(app: Ghostart, team: Team) -> None:
    employees = await _employees(app, team)
    with respx.mock(base_url=OPENAI_BASE_URL) as mock:
        chat = mock.post("/chat/completions").mock(side_effect=_model())
        launch = await app.campaigns.create(
            team.creator, BRIEF, participants=[u.id for u in employees]
        )
        report = await settle(app, team.creator, launch.campaign.id)
    assert report.counts == {PostStatus.DRAFT: 20}
    assert chat.call_count == 20
    prompts = [json.loads(call.request.content)["messages"] for call in chat.calls]
    assert len({json.dumps(p) for p in prompts}) == 20  # every prompt is its author's own
    sent = sorted(_block(p, "author")["headline"] for p in prompts)  # type: ignore[index]
    assert sent == sorted(HEADLINES)

    bodies = []
    for variant in report.variants:
        post = await app.generation.get(as_employee(team, variant.user_id), variant.post_id)
        headline = HEADLINES[employees.index(next(u for u in employees if u.id == post.author_id))]
        assert post.body and headline in post.body and LINK in post.body and post.ai_generated
        bodies.append(normalised(post.body))
    assert len(set(bodies)) == 20
    for one, other in itertools.combinations(bodies, 2):
        assert one != other


async def test_one_failure_does_not_sink_the_other_nineteen_nor_reach_the_ledger(
    app: Ghostart, team: Team
) -> None:
    employees = await _employees(app, team)
    with respx.mock(base_url=OPENAI_BASE_URL) as mock:
        chat = mock.post("/chat/completions").mock(side_effect=_model(failing_for=HEADLINES[7]))
        launch = await app.campaigns.create(
            team.creator, BRIEF, participants=[u.id for u in employees]
        )
        report = await settle(app, team.creator, launch.campaign.id)
    assert report.counts == {PostStatus.DRAFT: 19, PostStatus.FAILED: 1}
    [failed] = [v for v in report.variants if v.status is PostStatus.FAILED]
    assert failed.user_id == employees[7].id and failed.error
    assert chat.call_count == 20  # the bad request is permanent: not retried

    async with app.store.unit_of_work(readonly=True) as uow:
        generations = [
            await uow.generations.get(p.generation_id) for p in launch.posts if p.generation_id
        ]
    succeeded = [g for g in generations if g and g.status is GenerationStatus.SUCCEEDED]
    assert len(succeeded) == 19
    served = [n for n in range(20) if n != 7]  # what the model's answers said they cost
    expected_prompt = sum(900 + n for n in served)
    expected_completion = sum(150 + 2 * n for n in served)
    assert sum(g.usage.prompt_tokens for g in succeeded) == expected_prompt
    summary = await app.usage.summary(team.creator)
    assert (summary["prompt_tokens"], summary["completion_tokens"]) == (
        expected_prompt,
        expected_completion,
    )
    # gpt-4.1-mini's default prices, 0.40 and 1.60 USD per million tokens; the adapter rounds
    # each generation's cost to a millionth of a dollar.
    cost = sum(
        (
            (Decimal(900 + n) * Decimal("0.40") + Decimal(150 + 2 * n) * Decimal("1.60")) / 10**6
        ).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
        for n in served
    )
    assert Decimal(summary["cost_usd"]) == cost == sum(g.usage.cost_usd for g in succeeded)
    assert summary["months"][-1]["generations"] == 19
