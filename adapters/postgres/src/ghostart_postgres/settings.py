"""Connection settings: ``GHOSTART_POSTGRES_*`` variables, overridden by the URL's query options.

``GHOSTART_DATABASE_URL=postgresql://user:pass@host:6543/postgres?prepare_threshold=none&pool_size=5``
takes the pool size and the prepared-statement setting from the URL and everything else from the
environment (or the defaults below). Query options that are not ghostart's (``sslmode``,
``connect_timeout``, ``application_name``, ...) go to libpq unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from ghostart.errors import ConfigurationError

__all__ = ["ConnectionOptions", "PostgresSettings", "connection_options", "load_postgres_settings"]

#: The driver ghostart-postgres runs on; ``postgres://`` and ``postgresql://`` mean it.
DRIVER = "postgresql+psycopg"


class PostgresSettings(BaseSettings):
    """Pool and session settings of the PostgreSQL store (env prefix ``GHOSTART_POSTGRES_``)."""

    model_config = SettingsConfigDict(
        env_prefix="GHOSTART_POSTGRES_", env_file=".env", extra="ignore", frozen=True
    )

    #: Connections kept open per process (SQLAlchemy's ``pool_size``).
    pool_size: int = Field(default=10, ge=1, le=1000)
    #: Connections opened beyond ``pool_size`` at busy times, closed when returned.
    max_overflow: int = Field(default=10, ge=0, le=1000)
    #: How long a unit of work waits for a free connection before a ``TransientError``.
    pool_timeout_seconds: float = Field(default=30.0, gt=0)
    #: Connections older than this are replaced (poolers and load balancers drop idle ones).
    pool_recycle_seconds: float = Field(default=1800.0, gt=0)
    #: Test each connection as it leaves the pool (a cheap ping), replacing dead ones.
    pool_pre_ping: bool = True
    #: Longest a statement may run, set per transaction; ``0`` leaves the server's setting.
    statement_timeout_seconds: float = Field(default=30.0, ge=0)
    #: Shown in ``pg_stat_activity`` (a libpq ``application_name`` in the URL wins).
    application_name: str = Field(default="ghostart", min_length=1, max_length=63)
    #: Executions before psycopg prepares a statement server-side; ``None`` never prepares,
    #: which transaction poolers need (Supavisor on port 6543, PgBouncer in transaction mode).
    prepare_threshold: int | None = Field(default=5, ge=0)

    @field_validator("prepare_threshold", mode="before")
    @classmethod
    def _none(cls, value: object) -> object:
        # From the environment or a URL, "none" (or nothing) turns prepared statements off.
        if isinstance(value, str) and value.strip().lower() in {"", "none", "null"}:
            return None
        return value


def load_postgres_settings() -> PostgresSettings:
    """Read ``GHOSTART_POSTGRES_*``; an invalid value is a :class:`ConfigurationError` naming it."""
    try:
        return PostgresSettings()
    except ValidationError as exc:
        problems = "; ".join(
            f"GHOSTART_POSTGRES_{str(e['loc'][0]).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigurationError(f"invalid settings: {problems}") from None


@dataclass(frozen=True)
class ConnectionOptions:
    """What :func:`connection_options` derives: the URL for SQLAlchemy and how to use it."""

    url: URL
    engine_options: dict[str, Any]
    #: ``statement_timeout`` for each transaction, in milliseconds; ``None`` leaves it alone.
    statement_timeout_ms: int | None


# URL query option -> the settings field it overrides.
_OPTIONS = {
    "pool_size": "pool_size",
    "max_overflow": "max_overflow",
    "pool_timeout": "pool_timeout_seconds",
    "pool_recycle": "pool_recycle_seconds",
    "pool_pre_ping": "pool_pre_ping",
    "statement_timeout": "statement_timeout_seconds",
    "prepare_threshold": "prepare_threshold",
}


def connection_options(
    url: str | URL, settings: PostgresSettings | None = None
) -> ConnectionOptions:
    """Parse a PostgreSQL URL and merge its ghostart options over ``settings``.

    Raises:
        ConfigurationError: The URL is not a PostgreSQL URL on psycopg, or an option is invalid.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(f"GHOSTART_DATABASE_URL: {exc}") from None
    shown = parsed.render_as_string(hide_password=True)
    backend, _, driver = parsed.drivername.partition("+")
    if backend not in {"postgresql", "postgres"}:
        raise ConfigurationError(f"GHOSTART_DATABASE_URL={shown}: not a PostgreSQL URL")
    if driver not in {"", "psycopg"}:
        raise ConfigurationError(
            f"GHOSTART_DATABASE_URL={shown}: ghostart-postgres runs on psycopg 3, not "
            f"{driver!r}; write the URL as {DRIVER}://... (or postgresql://...)"
        )
    overrides: dict[str, Any] = {}
    for option, field in _OPTIONS.items():
        if option in parsed.query:
            value = parsed.query[option]
            overrides[field] = value[-1] if isinstance(value, tuple) else value
    base = settings or load_postgres_settings()
    try:
        merged = PostgresSettings.model_validate(base.model_dump() | overrides)
    except ValidationError as exc:
        fields = {v: k for k, v in _OPTIONS.items()}
        problems = "; ".join(
            f"{fields.get(str(e['loc'][0]), e['loc'][0])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigurationError(
            f"GHOSTART_DATABASE_URL={shown}: invalid option ({problems})"
        ) from None
    clean = parsed.set(drivername=DRIVER).difference_update_query(list(_OPTIONS))
    connect_args: dict[str, Any] = {"prepare_threshold": merged.prepare_threshold}
    if "application_name" not in clean.query:
        connect_args["application_name"] = merged.application_name
    timeout = merged.statement_timeout_seconds
    return ConnectionOptions(
        url=clean,
        engine_options={
            "pool_size": merged.pool_size,
            "max_overflow": merged.max_overflow,
            "pool_timeout": merged.pool_timeout_seconds,
            "pool_recycle": merged.pool_recycle_seconds,
            "pool_pre_ping": merged.pool_pre_ping,
            "connect_args": connect_args,
        },
        statement_timeout_ms=max(1, round(timeout * 1000)) if timeout else None,
    )
