"""Generic routers over ghostart's services; :func:`api_router` includes them all under ``/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from ghostart.web.routers import api_keys, content, health, organizations, posts

__all__ = ["api_router", "health_router"]

health_router = health.router


def api_router() -> APIRouter:
    """Every ``/v1`` route."""
    router = APIRouter(prefix="/v1")
    for module in (organizations, content, posts, api_keys):
        router.include_router(module.router)
    return router
