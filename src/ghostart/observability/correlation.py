"""Request and job ids that follow the work from the API into the worker (context variables).

The HTTP middleware binds a request id (the client's ``X-Request-ID`` when well formed, else a
new one); a job created while it is bound records it (``Job.request_id``), and the worker binds
both the job's id and that request id while it runs the job, so that the API's log lines and
the worker's carry the same ``request_id``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = [
    "bind",
    "bind_job",
    "current_job_id",
    "current_request_id",
    "new_request_id",
    "valid_request_id",
]

_request_id: ContextVar[str | None] = ContextVar("ghostart_request_id", default=None)
_job_id: ContextVar[str | None] = ContextVar("ghostart_job_id", default=None)

# A client's id is echoed into logs and headers: letters, digits and - _ . only, 8 to 64 long.
_VALID = re.compile(r"^[A-Za-z0-9_.\-]{8,64}$")


def new_request_id() -> str:
    """A fresh request id (32 hex digits)."""
    return uuid.uuid4().hex


def valid_request_id(value: str | None) -> str | None:
    """``value`` if it is safe to adopt as a request id, else ``None``."""
    return value if value is not None and _VALID.match(value) else None


def current_request_id() -> str | None:
    """The request id bound to the running task, if any."""
    return _request_id.get()


def current_job_id() -> str | None:
    """The id of the job the running task works on, if any."""
    return _job_id.get()


@contextmanager
def bind(*, request_id: str | None = None, job_id: str | None = None) -> Iterator[None]:
    """Bind ids for the duration of the block (only those given)."""
    tokens = []
    if request_id is not None:
        tokens.append((_request_id, _request_id.set(request_id)))
    if job_id is not None:
        tokens.append((_job_id, _job_id.set(job_id)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def bind_job(job: Any) -> None:
    """Bind ``job``'s id and its ``request_id`` to the running task's context, for good.

    For a task that runs one job (the worker's): the context dies with the task.
    """
    _job_id.set(str(job.id))
    request_id = getattr(job, "request_id", None)
    if request_id:
        _request_id.set(request_id)
