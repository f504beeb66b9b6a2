"""Liveness and readiness."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ghostart.web.routers._common import ghostart_of

router = APIRouter(tags=["health"])
_NO_ORGANIZATION = UUID(int=0)


@router.get("/health")
async def health() -> dict[str, str]:
    """The process is up (liveness)."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "an adapter is not ready"}})
async def ready(request: Request) -> JSONResponse:
    """Every configured adapter answers (readiness): the store, the cache, the queue."""
    app = ghostart_of(request)
    checks: dict[str, Any] = {}

    async def check(name: str, probe: Any) -> None:
        try:
            async with asyncio.timeout(2.0):
                await probe()
            checks[name] = "ok"
        except Exception as exc:  # readiness reports, it does not raise
            checks[name] = f"failing: {type(exc).__name__}"

    async def store() -> None:
        async with app.store.unit_of_work(readonly=True) as uow:
            await uow.organizations.get(_NO_ORGANIZATION)  # a query that touches the schema

    async def cache() -> None:
        await app.cache.get("ghostart:ready")

    async def queue() -> None:
        size = getattr(app.queue, "size", None)
        if size is not None:
            await size()

    await asyncio.gather(check("store", store), check("cache", cache), check("queue", queue))
    worker = app.worker
    checks["worker"] = "running" if worker is not None else "external"
    ok = all(v in ("ok", "running", "external") for v in checks.values())
    return JSONResponse({"status": "ok" if ok else "failing", "checks": checks}, 200 if ok else 503)
