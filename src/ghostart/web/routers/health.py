"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ghostart.observability.health import readiness
from ghostart.web.routers._common import ghostart_of

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    """The process is up (liveness)."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "an adapter is not ready"}})
async def ready(request: Request) -> JSONResponse:
    """Every configured adapter answers (readiness): the store, the cache, the queue.

    The same probes as ``ghostart doctor`` (:mod:`ghostart.observability.health`); the
    details stay out of this public answer.
    """
    app = ghostart_of(request)
    checks: dict[str, str] = {
        check.name: "ok" if check.ok else f"failing: {check.detail.partition(':')[0]}"
        for check in await readiness(app)
    }
    checks["worker"] = "running" if app.worker is not None else "external"
    ok = all(v in ("ok", "running", "external") for v in checks.values())
    return JSONResponse({"status": "ok" if ok else "failing", "checks": checks}, 200 if ok else 503)
