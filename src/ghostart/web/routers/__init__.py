"""Generic routers over ghostart's services; :func:`api_router` includes them all under ``/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from ghostart.web.routers import (
    analytics,
    api_keys,
    billing,
    campaigns,
    content,
    email,
    health,
    linkedin,
    me,
    organizations,
    posts,
)

__all__ = ["api_router", "health_router"]

health_router = health.router


def api_router() -> APIRouter:
    """Every ``/v1`` route."""
    router = APIRouter(prefix="/v1")
    # Routes are matched in order and FastAPI tries every route of an included router: the
    # routes called most (content requests, posts) come first.
    for module in (
        content,
        posts,
        organizations,
        campaigns,
        me,
        api_keys,
        billing,
        linkedin,
        email,
        analytics,
    ):
        router.include_router(module.router)
    return router
