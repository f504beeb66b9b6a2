"""Request ids: echoed, carried by the jobs a request creates, and in the worker's log lines.

The API and the worker here share a process (the embedded queue), but nothing is shared but
the job row: the worker binds the id the job carries, exactly as a separate worker would.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from ghostart.app import Ghostart
from ghostart.models import PostStatus
from ghostart.observability.logs import CorrelationFilter, JSONFormatter, configure_logging
from ghostart.testing import CountingGenerator
from ghostart.web.app import create_app
from ghostart.web.settings import load_web_settings
from tests.service.conftest import Api, Org
from tests.support import make_settings, make_team


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """The ``ghostart`` loggers' records as JSON lines, as GHOSTART_LOG_FORMAT=json writes them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(CorrelationFilter())
    handler.setFormatter(JSONFormatter())
    logger = logging.getLogger("ghostart")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


async def test_the_request_id_is_echoed_or_made(service: Api, org: Org) -> None:
    mine = await service.client.get(
        org.url("/posts"), headers={**org.employee, "X-Request-ID": "client-req-0001"}
    )
    assert mine.headers["x-request-id"] == "client-req-0001"
    bad = await service.client.get(
        org.url("/posts"), headers={**org.employee, "X-Request-ID": "no spaces allowed here"}
    )
    made = bad.headers["x-request-id"]
    assert made != "no spaces allowed here" and len(made) == 32


async def test_a_jobs_worker_log_lines_carry_the_request_id(
    tmp_path: Path, json_logs: io.StringIO
) -> None:
    settings = make_settings(tmp_path, job_max_attempts=1, generation_rate_limit=1000)
    generator = CountingGenerator(failures=[RuntimeError("model down")])
    core = Ghostart.from_settings(settings, generator=generator)
    api = create_app(core, web_settings=load_web_settings(home=tmp_path))
    async with api.router.lifespan_context(api):
        from ghostart.web.jwt import mint_dev_token
        from ghostart.web.settings import local_jwt_secret

        team = await make_team(core)
        token = mint_dev_token(local_jwt_secret(tmp_path), team.creator.user_id)
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            answer = await client.post(
                f"/v1/organizations/{team.org.id}/content-requests",
                json={"topic": "Design docs"},
                headers={"Authorization": f"Bearer {token}", "X-Request-ID": "req-corr-42abc"},
            )
            assert answer.status_code == 202, answer.text
        post = await core.generation.wait(team.creator, UUID(answer.json()["id"]), timeout=30)
        assert post.status is PostStatus.FAILED
        assert post.generation_id is not None
        async with core.store.unit_of_work() as uow:
            [job] = await uow.jobs.for_subject(post.generation_id)

    assert job.request_id == "req-corr-42abc"  # the outbox row carries it to any worker
    # The worker's lines about this job (not its "started"/"stopped" lines, about no job).
    worker_lines = [
        line
        for line in _lines(json_logs)
        if line["logger"] == "ghostart.worker" and str(job.id) in line["message"]
    ]
    assert worker_lines, "the worker logged the failure"
    for line in worker_lines:
        assert line["request_id"] == "req-corr-42abc"
        assert line["job_id"] == str(job.id)
        assert line["level"] in {"info", "warning", "error"} and line["time"]


def test_configure_logging_writes_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    root.handlers = []
    try:
        configure_logging(logging.INFO, "json")
        try:
            raise ValueError("bad")
        except ValueError:
            logging.getLogger("ghostart.test").exception("it failed: %s", "details")
    finally:
        root.handlers, _ = saved
        root.setLevel(saved[1])
    [line] = capsys.readouterr().err.splitlines()[-1:]
    record = json.loads(line)
    assert record["message"] == "it failed: details"
    assert record["logger"] == "ghostart.test" and record["level"] == "error"
    assert "ValueError: bad" in record["exc"]
    with pytest.raises(ValueError, match="log format"):
        configure_logging(logging.INFO, "xml")
