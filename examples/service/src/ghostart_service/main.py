"""``ghostart-service``: run the example service with uvicorn (API, worker and reconciler)."""

from __future__ import annotations

import argparse
import sys

import uvicorn

from ghostart.errors import ConfigurationError
from ghostart.settings import load_settings
from ghostart.web.settings import load_web_settings
from ghostart_service.app import create_service


def main(argv: list[str] | None = None) -> None:
    """Start the service on embedded defaults unless ``GHOSTART_*`` settings say otherwise."""
    parser = argparse.ArgumentParser(prog="ghostart-service", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
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
    uvicorn.run(service, host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
