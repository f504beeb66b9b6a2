"""The example service in its own process, on a free port, for tests that need a real server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

BIN = Path(sys.executable).parent


def free_port() -> int:
    """A TCP port nobody listens on now (for a URL that must be known before the server)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without ``GHOSTART_*``, with the venv's commands first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GHOSTART_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env | extra


@contextmanager
def running_service(cwd: Path, env: dict[str, str]) -> Iterator[str]:
    """Start ``ghostart-service`` in ``cwd``; yields its base URL once ``/health`` answers."""
    port = free_port()
    # Output to a file, not a pipe nobody reads: a full pipe would block the server (the console
    # mailer prints every email).
    log = (cwd / f"service-{port}.log").open("wb")
    service = subprocess.Popen(
        [str(BIN / "ghostart-service"), "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if service.poll() is not None or time.monotonic() > deadline:
                output = (cwd / f"service-{port}.log").read_text(errors="replace")
                raise AssertionError(f"the service did not start:\n{output}")
            time.sleep(0.2)
        yield url
    finally:
        service.terminate()
        service.wait(timeout=30)
        log.close()


@contextmanager
def serving(app: Any, *, port: int | None = None) -> Iterator[str]:
    """Serve an ASGI app from this process (a uvicorn thread), for a browser; yields its URL.

    Unlike :func:`running_service`, the app shares this process: respx fakes what it calls.
    """
    import threading

    import uvicorn

    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise AssertionError("the in-process server did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
