"""Hot statements compiled once by SQLAlchemy and run straight on the SQLite driver.

On the embedded store a statement runs in about 10 µs, while SQLAlchemy's execution path
(execution context, parameter and result processing, events) adds 40 to 50 µs more. The generation
flow runs about a dozen statements per request, so for the statements the repositories mark
with :func:`hot` the loop connection does that work once per statement shape: SQLAlchemy still
compiles the SQL and supplies each column type's bind and result processors (so a value is
stored exactly as a SQLAlchemy-executed statement would store it), and each run only converts
values and calls the driver. Driver errors are wrapped as SQLAlchemy wraps them
(``IntegrityError`` and so on), so callers see no difference.

Anything unusual (executemany, an empty ``IN`` list, a non-SQLite dialect) takes SQLAlchemy's
normal path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement

__all__ = ["PreparedStatements", "RawResult", "hot"]

_S = TypeVar("_S", bound=ClauseElement)
_HOT: dict[int, ClauseElement] = {}  # id -> the statement itself, kept alive so ids stay unique

Processor = Callable[[Any], Any] | None


def hot(statement: _S) -> _S:
    """Mark a statement built once at import time as worth preparing; returns it unchanged."""
    _HOT[id(statement)] = statement
    return statement


_REQUIRED = object()  # a bind whose value comes from the caller's parameters


@dataclass(frozen=True, slots=True)
class _Bind:
    name: str
    processor: Processor
    expanding: bool
    literal: Any  # the value compiled into the statement, or _REQUIRED


@dataclass(slots=True)
class _Plan:
    """One statement with one set of parameter names, compiled."""

    sql: str  # with ``__[POSTCOMPILE_name]`` markers where an IN list goes
    binds: tuple[_Bind, ...]
    expanding: tuple[str, ...]  # caller-supplied IN lists, whose length shapes the SQL
    columns: tuple[str, ...]
    result_processors: tuple[Processor, ...]
    rendered: dict[tuple[int, ...], str]  # the final SQL per length of each IN list
    #: Without IN lists, each bind as (caller's parameter name or "", literal, processor).
    simple: tuple[tuple[str, Any, Processor], ...] = ()
    expanding_any: bool = False


class RawResult:
    """The part of SQLAlchemy's ``CursorResult`` that the repositories use."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[dict[str, Any]], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def mappings(self) -> RawResult:
        """Rows as mappings (they already are)."""
        return self

    def first(self) -> dict[str, Any] | None:
        """The first row, or ``None``."""
        return self._rows[0] if self._rows else None

    def all(self) -> list[dict[str, Any]]:
        """Every row."""
        return self._rows

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._rows)


class PreparedStatements:
    """Plans for hot statements on one dialect, keyed by statement and parameter shape."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._plans: dict[tuple[int, frozenset[str]], _Plan | None] = {}
        self._error = dialect.loaded_dbapi.Error
        #: Plans use question-mark placeholders, SQLite's own style.
        self.enabled = dialect.name == "sqlite" and dialect.paramstyle == "qmark"

    def run(self, dbapi_connection: Any, statement: Any, parameters: Any) -> RawResult | None:
        """Run a hot statement on the driver; ``None`` if it must take SQLAlchemy's path."""
        if not self.enabled or id(statement) not in _HOT:
            return None
        if type(parameters) is not dict and not isinstance(parameters, Mapping | None):
            return None  # executemany
        params: Mapping[str, Any] = parameters or {}
        key = (id(statement), frozenset(params))
        try:
            plan = self._plans[key]
        except KeyError:
            plan = self._plans[key] = self._plan(statement, params)
        if plan is None:
            return None
        sizes = tuple(len(params[name]) for name in plan.expanding)
        sql = plan.rendered.get(sizes)
        if sql is None:
            if 0 in sizes:  # SQLAlchemy renders an empty IN specially
                return None
            sql = plan.sql
            for name, size in zip(plan.expanding, sizes, strict=True):
                sql = sql.replace(f"__[POSTCOMPILE_{name}]", ", ".join("?" * size))
            plan.rendered[sizes] = sql
        args = self._arguments(plan, params)
        try:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute(sql, args)
                if cursor.description is None:
                    return RawResult([], cursor.rowcount)
                rows = [self._row(plan, row) for row in cursor.fetchall()]
                return RawResult(rows, len(rows))
            finally:
                cursor.close()
        except self._error as exc:
            raise DBAPIError.instance(sql, args, exc, self._error, dialect=self.dialect) from exc

    @staticmethod
    def _arguments(plan: _Plan, params: Mapping[str, Any]) -> list[Any]:
        if not plan.expanding_any:
            return [
                (
                    process(params[name] if name else literal)
                    if process
                    else (params[name] if name else literal)
                )
                for name, literal, process in plan.simple
            ]
        args: list[Any] = []
        for bind in plan.binds:
            value = params[bind.name] if bind.literal is _REQUIRED else bind.literal
            process = bind.processor
            if bind.expanding:
                args.extend(process(v) for v in value) if process else args.extend(value)
            else:
                args.append(process(value) if process else value)
        return args

    @staticmethod
    def _row(plan: _Plan, row: Sequence[Any]) -> dict[str, Any]:
        return dict(
            zip(
                plan.columns,
                [
                    process(value) if process else value
                    for process, value in zip(plan.result_processors, row, strict=True)
                ],
                strict=True,
            )
        )

    def _plan(self, statement: Any, params: Mapping[str, Any]) -> _Plan | None:
        dialect = self.dialect
        compiled = statement.compile(dialect=dialect, column_keys=sorted(params))
        if compiled.escaped_bind_names:
            return None  # a rare shape: SQLAlchemy renders it
        sql: str = compiled.string
        binds: list[_Bind] = []
        expanding: list[str] = []
        inline = {id(bind) for bind in compiled.literal_execute_params}
        for name in compiled.positiontup or ():
            bind = compiled.binds[name]
            supplied = bind.required or name in params
            impl = bind.type.dialect_impl(dialect)
            if id(bind) in inline:
                # Rendered into the SQL (SQLite wants a constant, e.g. in an ON CONFLICT target).
                if supplied:
                    return None
                render = impl.literal_processor(dialect)
                values = bind.effective_value if bind.expanding else [bind.effective_value]
                if render is None or not values:
                    return None
                sql = sql.replace(f"__[POSTCOMPILE_{name}]", ", ".join(map(render, values)))
                continue
            literal: Any = _REQUIRED if supplied else bind.effective_value
            if bind.expanding and supplied:
                expanding.append(name)
            elif bind.expanding:  # a literal IN list: its length is known now
                sql = sql.replace(f"__[POSTCOMPILE_{name}]", ", ".join("?" * len(literal)))
            binds.append(_Bind(name, impl.bind_processor(dialect), bind.expanding, literal))
        columns = list(statement.exported_columns)
        return _Plan(
            sql=sql,
            binds=tuple(binds),
            expanding=tuple(expanding),
            columns=tuple(c.key for c in columns),
            result_processors=tuple(
                c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns
            ),
            rendered={},
            simple=tuple(
                ("" if b.literal is not _REQUIRED else b.name, b.literal, b.processor)
                for b in binds
            ),
            expanding_any=any(b.expanding for b in binds),
        )
