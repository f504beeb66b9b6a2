"""SentryMonitor through a capturing transport: tags, spans, and no secret in any envelope."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import sentry_sdk

from ghostart.app import Ghostart
from ghostart.models import ContentRequest, PostStatus
from ghostart.registry import Port
from ghostart.testing import CountingGenerator
from ghostart_sentry import CapturingTransport, SentryMonitor
from tests.adapters.sentry.conftest import DSN
from tests.support import make_settings, make_team

DB_PASSWORD = "Pa55w0rd-9d8c7b"
USER_EMAIL = "jane.doe@example.com"
OPENAI_KEY = "sk-proj-4fJ2kQ9zX7mN1pL8vR3t"
STRIPE_KEY = "sk_live_51HxYzAbCdEf123456"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlLXZhbHVl"
GHOSTART_KEY = "gha_live_AbCdEf0123456789XyZ"
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#: Opaque values no pattern recognises: only their names (or the environment) give them away.
LINKEDIN_TOKEN = "AQXq8yLinkedInOpaqueTokenZ1"
JWT_SECRET = "correct-horse-battery-staple-42"

SECRETS = [
    DB_PASSWORD,
    USER_EMAIL,
    OPENAI_KEY,
    STRIPE_KEY,
    JWT,
    GHOSTART_KEY,
    WEBHOOK_SECRET,
    LINKEDIN_TOKEN,
    JWT_SECRET,
]


def _assert_no_secret(payload: bytes) -> None:
    leaked = [secret for secret in SECRETS if secret.encode() in payload]
    assert not leaked, f"secrets in the Sentry payload: {leaked}"


def _fail_with_secrets_everywhere() -> None:
    # Frame variables are captured (include_local_variables=True): names and values matter.
    api_key = OPENAI_KEY
    authorization = f"Bearer {JWT}"
    client_config = {"password": DB_PASSWORD, "stripe": STRIPE_KEY, "timeout": 5}
    linkedin_access_token = LINKEDIN_TOKEN
    note = f"for {USER_EMAIL} with {GHOSTART_KEY}"
    _held = (api_key, authorization, client_config, linkedin_access_token, note)
    raise RuntimeError(
        f"connect failed: postgresql://app:{DB_PASSWORD}@db:5432/ghostart for {USER_EMAIL}; "
        f"jwt secret {JWT_SECRET}; token {LINKEDIN_TOKEN}; key {OPENAI_KEY}"
    )


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Secrets the application holds in its environment (the scrubber reads these names)."""
    monkeypatch.setenv("GHOSTART_JWT_SECRET", JWT_SECRET)
    monkeypatch.setenv("GHOSTART_LINKEDIN_ACCESS_TOKEN_FOR_TESTS", LINKEDIN_TOKEN)


@pytest.fixture
def scrubbed_transport(secret_env: None) -> Any:
    # Initialised after the environment holds the secrets: sentry_options reads it.
    from ghostart_sentry import sentry_options

    capturing = CapturingTransport()
    sentry_sdk.init(
        dsn=DSN,
        transport=capturing,
        default_integrations=False,
        traces_sample_rate=1.0,
        include_local_variables=True,
        **sentry_options(),
    )
    try:
        yield capturing
    finally:
        sentry_sdk.flush()
        sentry_sdk.get_client().close()
        sentry_sdk.get_global_scope().set_client(None)


def test_an_error_carries_organization_job_and_provider_tags(
    transport: CapturingTransport,
) -> None:
    monitor = SentryMonitor(providers={"generator": "openai"})
    org, job = uuid.uuid4(), uuid.uuid4()

    monitor.capture_exception(
        RuntimeError("boom"),
        organization_id=org,
        job_id=str(job),
        operation="generator.generate",
        attempt=3,
    )
    sentry_sdk.flush()

    [event] = transport.events()
    assert event["tags"]["organization"] == str(org)
    assert event["tags"]["job"] == str(job)
    assert event["tags"]["provider"] == "openai"
    assert event["tags"]["operation"] == "generator.generate"
    assert event["contexts"]["ghostart"] == {"attempt": 3}
    assert event["exception"]["values"][0]["type"] == "RuntimeError"


def test_tags_do_not_leak_into_the_next_event(transport: CapturingTransport) -> None:
    monitor = SentryMonitor()
    monitor.capture_exception(RuntimeError("first"), organization_id="org-1", job_id="job-1")
    monitor.capture_exception(RuntimeError("second"))
    sentry_sdk.flush()

    first, second = transport.events()
    assert first["tags"]["job"] == "job-1"
    assert "job" not in second.get("tags", {}) and "organization" not in second.get("tags", {})


def test_no_secret_leaves_in_any_envelope(scrubbed_transport: CapturingTransport) -> None:
    monitor = SentryMonitor(providers={"generator": "openai"})
    sentry_sdk.add_breadcrumb(category="http", message=f"POST with X-API-Key {GHOSTART_KEY}")
    sentry_sdk.get_isolation_scope().set_user({"id": "user-1", "email": USER_EMAIL})
    with sentry_sdk.start_transaction(op="job", name="job generate"):
        with sentry_sdk.start_span(
            op="db", name=f"connect postgresql://app:{DB_PASSWORD}@db/ghostart"
        ) as span:
            span.set_data("authorization", f"Bearer {JWT}")
        try:
            _fail_with_secrets_everywhere()
        except RuntimeError as exc:
            monitor.capture_exception(
                exc,
                organization_id="org-1",
                job_id="job-1",
                operation="generator.generate",
                access_token=LINKEDIN_TOKEN,
                recipient=USER_EMAIL,
                detail=f"webhook secret={WEBHOOK_SECRET} and stripe {STRIPE_KEY}",
            )
    sentry_sdk.flush()

    payload = scrubbed_transport.payload()
    [event] = scrubbed_transport.events()
    assert scrubbed_transport.transactions(), "the transaction was sent too (and scanned)"
    _assert_no_secret(payload)
    # Scrubbed, not emptied: the event still says what happened, where and to whom.
    assert event["tags"]["organization"] == "org-1" and event["tags"]["job"] == "job-1"
    assert event["user"] == {"id": "user-1"}
    message = event["exception"]["values"][0]["value"]
    assert message.startswith("connect failed: postgresql://app:[Filtered]@db:5432/ghostart")
    frame_vars = event["exception"]["values"][0]["stacktrace"]["frames"][-1]["vars"]
    assert frame_vars["client_config"]["timeout"] == "5"


async def test_a_failed_job_reports_its_organization_and_job(
    transport: CapturingTransport, tmp_path: Path
) -> None:
    generator = CountingGenerator(failures=[RuntimeError("the model fell over")])
    monitor = SentryMonitor(providers={"generator": "openai"})
    settings = make_settings(tmp_path / "home", job_max_attempts=1)
    async with Ghostart.from_settings(settings, generator=generator, monitor=monitor) as app:
        team = await make_team(app)
        post = await app.generation.request(team.creator, ContentRequest(topic="Design docs"))
        post = await app.generation.wait(team.creator, post, timeout=30)
        assert post.status is PostStatus.FAILED
        assert post.generation_id is not None
        async with app.store.unit_of_work() as uow:
            [job] = await uow.jobs.for_subject(post.generation_id)
    sentry_sdk.flush()

    events = transport.events()
    assert len(events) == 2, "the retry policy's give-up and the worker's failure"
    for event in events:
        assert event["tags"]["organization"] == str(team.org.id)
        assert event["tags"]["job"] == str(job.id)
        assert event["tags"]["kind"] == "generate"
    assert any(e["tags"].get("provider") == "openai" for e in events)


async def test_a_job_is_a_transaction_with_a_span_per_provider_call(
    transport: CapturingTransport, tmp_path: Path
) -> None:
    monitor = SentryMonitor(providers={"generator": "openai"})
    settings = make_settings(tmp_path / "home")
    async with Ghostart.from_settings(settings, monitor=monitor) as app:
        team = await make_team(app)
        post = await app.generation.request(team.creator, ContentRequest(topic="Design docs"))
        post = await app.generation.wait(team.creator, post, timeout=30)
        assert post.status is PostStatus.DRAFT
    sentry_sdk.flush()

    jobs = [t for t in transport.transactions() if t["contexts"]["trace"]["op"] == "job"]
    [transaction] = [t for t in jobs if t["transaction"] == "job generate"]
    assert transaction["tags"]["organization"] == str(team.org.id)
    [call] = [s for s in transaction["spans"] if s["op"] == "provider.call"]
    assert call["description"] == "generator.generate"
    assert call["tags"]["provider"] == "openai"


def test_without_sentry_initialised_it_only_logs_and_never_raises() -> None:
    assert not sentry_sdk.get_client().is_active()
    monitor = SentryMonitor()
    monitor.capture_exception(RuntimeError("nobody listens"), organization_id="o")
    monitor.incr("ghostart.retry", operation="x", error="TransientError")
    with monitor.span("job", "generate", job_id="j"), monitor.span("provider.call", "x.y"):
        pass
    assert monitor.counters["ghostart.errors,type=RuntimeError"] == 1
    assert monitor.counters["ghostart.retry,error=TransientError,operation=x"] == 1


def test_the_plugin_builds_it_from_settings(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "home", monitor="sentry", generator="offline")
    registry = Ghostart.registry(settings)
    from ghostart.builtin.clock_system import SystemClock
    from ghostart.registry import BuildContext

    monitor = registry.build(Port.MONITOR, "sentry", BuildContext(settings, SystemClock()))
    assert isinstance(monitor, SentryMonitor)
    assert monitor.providers["generator"] == "offline"
    app = Ghostart.from_settings(settings)
    assert isinstance(getattr(app.monitor, "primary", app.monitor), SentryMonitor)


def test_events_are_scrubbed_even_if_the_app_forgot_the_options(secret_env: None) -> None:
    capturing = CapturingTransport()
    sentry_sdk.init(dsn=DSN, transport=capturing, default_integrations=False)  # no options
    try:
        monitor = SentryMonitor()
        try:
            _fail_with_secrets_everywhere()
        except RuntimeError as exc:
            monitor.capture_exception(exc, access_token=LINKEDIN_TOKEN, recipient=USER_EMAIL)
        sentry_sdk.flush()
        assert capturing.events()
        _assert_no_secret(capturing.payload())
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.get_global_scope().set_client(None)


def test_the_package_exports_what_it_says_and_registers_by_entry_point() -> None:
    import importlib.metadata

    import ghostart_sentry

    assert [name for name in ghostart_sentry.__all__ if not hasattr(ghostart_sentry, name)] == []
    points = importlib.metadata.entry_points(group="ghostart")
    assert any(p.name == "sentry" and p.value == "ghostart_sentry.plugin" for p in points)
