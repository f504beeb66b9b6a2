"""Composition: the library's API (``ghostart.web.create_app``) plus this example's web page.

Read this file to see how to build your own service: everything reusable comes from
``ghostart.web``; only the page is specific to the example.
"""

from __future__ import annotations

from fastapi import FastAPI

from ghostart.app import Ghostart
from ghostart.settings import Settings
from ghostart.web.app import create_app
from ghostart.web.settings import WebSettings
from ghostart_service.page import router as page_router

__all__ = ["create_service"]


def create_service(
    ghostart: Ghostart | None = None,
    *,
    settings: Settings | None = None,
    web_settings: WebSettings | None = None,
) -> FastAPI:
    """The service: API under ``/v1``, health, OpenAPI docs at ``/docs``, the page at ``/``."""
    api = create_app(
        ghostart, settings=settings, web_settings=web_settings, title="ghostart example service"
    )
    api.include_router(page_router)
    return api
