"""``ghostart-service``: run the example service with uvicorn (API, worker and reconciler)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

import uvicorn

from ghostart.errors import ConfigurationError
from ghostart.observability.logs import configure_logging
from ghostart.settings import load_settings
from ghostart.web.settings import load_web_settings
from ghostart_service.app import create_service


def main(argv: list[str] | None = None) -> None:
    """Start the service on embedded defaults unless ``GHOSTART_*`` settings say otherwise."""
    parser = argparse.ArgumentParser(prog="ghostart-service", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    _init_sentry()
    try:
        settings = load_settings()
        web = load_web_settings(home=settings.home)
        service = create_service(settings=settings, web_settings=web)
    except ConfigurationError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
    if web.uses_local_secret:
        print(
            "ghostart: development mode, tokens are signed with a local secret. "
            "Get one with: ghostart token --email you@example.com",
            file=sys.stderr,
        )
    print(f"ghostart: http://{args.host}:{args.port}/ (API docs at /docs)", file=sys.stderr)
    log_config: Any = uvicorn.config.LOGGING_CONFIG
    if settings.log_format == "json":  # uvicorn's records too, through the root handler
        configure_logging(logging.INFO, "json", force=True)
        log_config = None
    uvicorn.run(service, host=args.host, port=args.port, log_level="info", log_config=log_config)


def _init_sentry() -> None:
    """Initialise Sentry when ``SENTRY_DSN`` is set: the application's job, not a library's."""
    dsn = os.environ.get("SENTRY_DSN", "").strip()
    if not dsn:
        return
    try:
        import sentry_sdk

        from ghostart_sentry import sentry_options
    except ImportError:
        print(
            "ghostart: SENTRY_DSN is set, but ghostart-sentry is not installed: "
            "pip install ghostart-sentry",
            file=sys.stderr,
        )
        return
    rate = float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE", "0") or 0)
    sentry_sdk.init(dsn=dsn, **sentry_options(traces_sample_rate=rate))


if __name__ == "__main__":
    main()
