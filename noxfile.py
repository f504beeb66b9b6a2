"""Developer and CI tasks: ``nox`` runs tests, lint and typecheck; ``nox -s bench`` the benchmarks.

Sessions use the interpreter that runs nox (CI has only Python 3.11). Locally, virtualenvs are
reused between runs; with ``CI=true`` they are always created fresh.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import nox
from packaging.requirements import Requirement

nox.needs_version = ">=2024.4"

ROOT = Path(__file__).parent
IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_venv = "no" if IN_CI else "yes"
nox.options.error_on_external_run = True

LINT_PATHS = ("src", "tests", "examples", "adapters", "noxfile.py")
#: The example applications, installed editable beside the core for the tests.
EXAMPLES = ("-e", "./examples/service")


def _pyproject(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def _dev_requirement(name: str) -> str:
    """A dev tool's requirement as the ``dev`` extra states it (one source of truth)."""
    extras = _pyproject(ROOT / "pyproject.toml")["project"].get("optional-dependencies", {})
    for requirement in extras.get("dev", []):
        if Requirement(requirement).name.lower() == name:
            return str(requirement)
    return name


def _adapters() -> list[str]:
    """Editable install arguments for every adapter distribution under ``adapters/``."""
    args: list[str] = []
    for pyproject in sorted(ROOT.glob("adapters/*/pyproject.toml")):
        directory = pyproject.parent.relative_to(ROOT).as_posix()
        extras = _pyproject(pyproject).get("project", {}).get("optional-dependencies", {})
        args += ["-e", f"./{directory}[test]" if "test" in extras else f"./{directory}"]
    return args


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite (not the benchmarks) with coverage; adapters are installed too."""
    # One resolver run, so adapters see the editable ghostart rather than one from an index.
    session.install("-e", ".[test]", *_adapters(), *EXAMPLES)
    junit = os.environ.get("GHOSTART_JUNIT_XML") or str(ROOT / "junit.xml")
    session.run(
        "pytest",
        "--ignore=tests/benchmarks",
        "--cov=ghostart",
        "--cov-report=term-missing:skip-covered",
        "--cov-fail-under=90",
        f"--junitxml={junit}",
        *session.posargs,
    )


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff lint and format check."""
    session.install(_dev_requirement("ruff"))
    session.run("ruff", "check", *LINT_PATHS)
    session.run("ruff", "format", "--check", *LINT_PATHS)


@nox.session
def typecheck(session: nox.Session) -> None:
    """Mypy, strict (configured in pyproject.toml), on the core, the adapters and the example."""
    session.install("-e", ".[test]", *_adapters(), *EXAMPLES, _dev_requirement("mypy"))
    sources = sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("adapters/*/src"))
    session.run("mypy", "src", *sources, "examples/service/src")


#: The queue libraries the Redis queue benchmark compares with, each in a virtualenv of its own
#: (``.nox/bench-<name>``): arq pins redis-py < 6, SAQ < 8 and taskiq-redis >= 8, so no two of
#: them (nor ghostart-redis, on redis-py 8) can share one. Each gets hiredis, as does ghostart.
QUEUE_LIBRARIES = {
    "arq": ["arq"],  # requires redis[hiredis]
    # saq 0.26 imports typing_extensions without declaring it.
    "saq": ["saq[redis,hiredis]", "typing_extensions"],
    "taskiq": ["taskiq", "taskiq-redis", "hiredis"],
}


def _queue_library_pythons(session: nox.Session) -> dict[str, str]:
    """Build (or refresh) each compared queue library's virtualenv; its Python by variable."""
    env: dict[str, str] = {}
    for name, requirements in QUEUE_LIBRARIES.items():
        location = ROOT / ".nox" / f"bench-{name}"
        python = location / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        if IN_CI or not python.exists():
            session.run("python", "-m", "venv", "--clear", str(location))
        session.run(str(python), "-m", "pip", "install", "-q", "-U", *requirements, external=True)
        env[f"GHOSTART_TEST_BENCH_PYTHON_{name.upper()}"] = str(python)
    return env


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks: print throughput and memory ratios; they never fail on speed."""
    session.install("-e", ".[test]", *_adapters(), *EXAMPLES, "hiredis")
    session.run(
        "pytest",
        "tests/benchmarks",
        "-s",
        "-q",
        "-p",
        "no:cacheprovider",
        "--no-cov",
        *session.posargs,
        env={"GHOSTART_TEST_BENCH": "1", **_queue_library_pythons(session)},
    )
