"""The embedded generator, publisher and mailer pass their contracts, plus their own specifics."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

import pytest

from ghostart.builtin.generator_offline import OfflineGenerator
from ghostart.builtin.mailer_console import ConsoleMailer
from ghostart.builtin.publisher_dryrun import DryRunPublisher
from ghostart.models import BrandVoice, ContentRequest, PostLength
from ghostart.testing.contracts.generator import GeneratorContract
from ghostart.testing.contracts.mailer import MailerContract
from ghostart.testing.contracts.publisher import PublisherContract, publish_request


class TestOfflineGenerator(GeneratorContract):
    @pytest.fixture
    def generator(self) -> OfflineGenerator:
        return OfflineGenerator()


class TestDryRunPublisher(PublisherContract):
    @pytest.fixture
    def publisher(self, tmp_path: Path) -> DryRunPublisher:
        return DryRunPublisher(path=tmp_path / "published.jsonl")


class TestConsoleMailer(MailerContract):
    @pytest.fixture
    def mailer(self) -> ConsoleMailer:
        return ConsoleMailer(stream=io.StringIO())

    @pytest.fixture
    def sent_count(self, mailer: ConsoleMailer) -> Callable[[], int]:
        stream = mailer.stream
        assert isinstance(stream, io.StringIO)
        return lambda: stream.getvalue().count("--- email ")


def _voice(**kw: object) -> BrandVoice:
    return BrandVoice(organization_id=uuid4(), name="V", **kw)  # type: ignore[arg-type]


async def test_offline_drafts_are_deterministic_and_labelled_not_ai() -> None:
    voice, request = _voice(), ContentRequest(topic="Onboarding engineers")
    first = await OfflineGenerator().generate(voice, request)
    second = await OfflineGenerator().generate(voice, request)
    assert first == second
    assert first.ai_generated is False and first.notice and "not by AI" in first.notice


@pytest.mark.parametrize("length", list(PostLength))
async def test_offline_follows_length_voice_and_words_to_avoid(length: PostLength) -> None:
    voice = _voice(
        audience="product designers",
        topics=["accessibility"],
        words_to_avoid=["great", "habit"],
        hashtags=["DesignOps"],
        emoji=True,
    )
    topics = [f"Design reviews, take {i}" for i in range(10)]
    for topic in topics:
        draft = await OfflineGenerator().generate(
            voice, ContentRequest(topic=topic, length=length, call_to_action="Reply with yours")
        )
        low, high = length.chars
        assert low <= len(draft.body) <= high, (length, len(draft.body))
        assert "great" not in draft.body.lower().split() and "habit" not in draft.body.lower()
        assert "#DesignOps" in draft.body and "Reply with yours." in draft.body
        assert topic.lower() in draft.body.lower()


async def test_offline_says_when_it_ignored_the_language() -> None:
    draft = await OfflineGenerator().generate(
        _voice(), ContentRequest(topic="Equipe", language="fr")
    )
    assert draft.notice and "'fr'" in draft.notice


async def test_offline_latency_is_simulated() -> None:
    with pytest.raises(ValueError, match="latency"):
        OfflineGenerator(latency=-1)


async def test_dry_run_never_publishes_a_key_twice_and_writes_a_record(tmp_path: Path) -> None:
    publisher = DryRunPublisher(path=tmp_path / "out.jsonl")
    request = publish_request()
    first = await publisher.publish(request)
    second = await publisher.publish(request)
    assert first == second and len(publisher.published) == 1
    assert (tmp_path / "out.jsonl").read_text().count("\n") == 1


async def test_offline_hashtags_come_from_the_topics_distinctive_words() -> None:
    draft = await OfflineGenerator().generate(
        _voice(), ContentRequest(topic="Why our team writes design docs")
    )
    assert draft.body.rstrip().endswith("#Team #Design #Docs")
