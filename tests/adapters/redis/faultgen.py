"""A generator with faults chosen by the request's topic, and the worker command that loads it.

``GHOSTART_GENERATOR=fault?calls=/path&latency=0.05&crash=poison``: the offline generator, but
every call is first appended to ``calls`` (one line per call, shared by every process), takes
``latency`` seconds (N seconds when the topic says "sleeps N s"), and kills its own process with
SIGKILL when the topic holds ``crash`` (a poison job).

``python -m tests.adapters.redis.faultgen worker ...`` runs the real ``ghostart worker`` command
with this module registered beside the built-in plugins (a test plugin is not installed, so it
has no entry point).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

from ghostart.builtin.generator_offline import OfflineGenerator
from ghostart.hookspecs import hookimpl
from ghostart.models import BrandVoice, ContentRequest, Draft
from ghostart.registry import AdapterRegistry, AdapterURL, BuildContext

__all__ = ["FaultGenerator", "calls", "ghostart_register_adapters"]

_SLEEPS = re.compile(r"sleeps (\d+(?:\.\d+)?) s")


class FaultGenerator:
    """The offline generator, slowed, crashing or counted on cue."""

    def __init__(
        self,
        *,
        calls: Path | None = None,
        latency: float = 0.0,
        crash: str | None = None,
    ) -> None:
        self.inner = OfflineGenerator()
        self.model = self.inner.model
        self.calls = calls
        self.latency = latency
        self.crash = crash

    async def generate(self, voice: BrandVoice, request: ContentRequest) -> Draft:
        """Record the call, then crash, wait, and draft as the topic asks."""
        if self.calls is not None:
            # One short O_APPEND write per call: lines of several processes never interleave.
            with self.calls.open("a") as fh:
                fh.write(f"{os.getpid()} {request.topic}\n")
        if self.crash and self.crash in request.topic:
            os.kill(os.getpid(), signal.SIGKILL)
        sleeps = _SLEEPS.search(request.topic)
        await asyncio.sleep(float(sleeps.group(1)) if sleeps else self.latency)
        return await self.inner.generate(voice, request)


def calls(path: Path) -> list[tuple[int, str]]:
    """The calls recorded in ``path``: (process id, topic)."""
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    return [(int(pid), topic) for pid, _, topic in (line.partition(" ") for line in lines)]


def _fault(url: AdapterURL, ctx: BuildContext) -> Any:
    path = url.option("calls")
    return FaultGenerator(
        calls=Path(path) if path else None,
        latency=url.float_option("latency", 0.0),
        crash=url.option("crash"),
    )


@hookimpl
def ghostart_register_adapters(registry: AdapterRegistry) -> None:
    """Register the ``fault`` generator."""
    registry.add_generator("fault", _fault, description="test faults", package="tests")


if __name__ == "__main__":
    import ghostart.plugins
    from ghostart.cli import main

    plugins: tuple[str, ...] = (*ghostart.plugins.BUILTIN_PLUGINS, __spec__.name)
    ghostart.plugins.BUILTIN_PLUGINS = plugins  # type: ignore[assignment]
    main(sys.argv[1:], prog_name="ghostart")
