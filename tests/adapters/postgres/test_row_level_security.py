"""Row-level security, checked table by table from the schema itself.

Every table in ``ghostart.builtin.sql.tables.metadata`` is attacked with direct SQL, inside units
of work opened the way the services open them: by the admin of organization A, by ``both`` (admin
of B, but acting for A, so the claim must narrow), and by ``outsider`` (signed in, in no
organization). None of them may see, change, delete or add organization B's rows; ``anon`` may do
nothing at all. A new table is attacked without anyone writing a test for it, and fails until
its policies (and the seed, and the rule saying which rows are B's) exist. Each case runs on a
plain PostgreSQL and on a database shaped like Supabase (its auth schema, roles and default
privileges present before ghostart's migrations).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any
from uuid import uuid4

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from ghostart.builtin.sql.tables import metadata
from ghostart.models import Principal, Role
from tests.adapters.postgres.world import World

TABLES = {table.name: table for table in metadata.sorted_tables}
#: Tables that hold no organization's data and are the system's alone (``service_role``):
#: ``authenticated`` may do nothing at all with them, and ``anon`` neither.
SYSTEM_TABLES = frozenset({"email_suppressions", "scheduler_slots"})


class _RolledBack(Exception):
    pass


@contextlib.asynccontextmanager
async def acting(store: Any, actor: Principal | None) -> AsyncIterator[AsyncConnection]:
    """A unit of work as ``actor`` whose every change is rolled back at the end."""
    with contextlib.suppress(_RolledBack):
        async with store.unit_of_work(actor) as uow:
            yield uow.connection
            raise _RolledBack


@contextlib.asynccontextmanager
async def anonymous(store: Any) -> AsyncIterator[AsyncConnection]:
    """A transaction as Supabase's ``anon`` (what PostgREST does for a request without a JWT)."""
    async with store.engine.connect() as conn, conn.begin() as transaction:
        await conn.execute(
            sa.text(
                "select set_config('role', 'anon', true), set_config('request.jwt.claims', :c, true)"
            ),
            {"c": json.dumps({"role": "anon"})},
        )
        yield conn
        await transaction.rollback()


def rows_of_b(table: sa.Table) -> str:
    """SQL selecting the rows of ``table`` that belong to organization B (and not to A)."""
    if table.name in SYSTEM_TABLES:  # no organization's: every row is out of reach
        return "true"
    if table.name == "organizations":
        return "id = :b"
    if table.name == "users":  # B's members who are not also in A (A's members may see those)
        return (
            "id in (select user_id from user_organizations where organization_id = :b"
            " except select user_id from user_organizations where organization_id = :a)"
        )
    if "organization_id" in table.c:
        return "organization_id = :b"
    pytest.fail(
        f"table {table.name!r}: say in rows_of_b how its rows belong to an organization "
        "(and give it row-level security in a migration)"
    )


def rows_of_a(table: sa.Table) -> str:
    """SQL selecting the rows of ``table`` that belong to organization A."""
    return rows_of_b(table).replace(":b", ":x").replace(":a", ":b").replace(":x", ":a")


def _keys(table: sa.Table) -> list[sa.Column[Any]]:
    return list(table.primary_key.columns)


async def _key_rows(
    conn: AsyncConnection, table: sa.Table, where: str, world: World
) -> set[tuple[Any, ...]]:
    columns = ", ".join(c.name for c in _keys(table))
    result = await conn.execute(
        sa.text(f"select {columns} from {table.name} where {where}"),
        {"a": world.a.org.id, "b": world.b.org.id},
    )
    return {tuple(row) for row in result}


async def _sqlstate(run: Callable[[], Any], conn: AsyncConnection) -> str | None:
    """Run ``run()`` in a savepoint; the SQLSTATE it failed with, or ``None``."""
    try:
        async with conn.begin_nested():
            await run()
    except DBAPIError as exc:
        return str(getattr(exc.orig, "sqlstate", "") or "?")
    return None


async def _b_untouched(
    conn: AsyncConnection, table: sa.Table, world: World, run: Callable[[], Any]
) -> str | None:
    """Run ``run()`` and check, as the service role, that no row of B changed or went away.

    Every version of a row has its own ``ctid``, so an UPDATE shows even if it wrote the same
    values. All of it (the attack, the role switches) is rolled back to a savepoint afterwards.
    """
    as_service = sa.text("select set_config('role', 'service_role', true)")
    as_caller = sa.text("select set_config('role', 'authenticated', true)")
    columns = ", ".join(["ctid", *(c.name for c in _keys(table))])
    snapshot = sa.text(f"select {columns} from {table.name} where {rows_of_b(table)}")
    ids = {"a": world.a.org.id, "b": world.b.org.id}
    outer = await conn.begin_nested()
    try:
        await conn.execute(as_service)
        before = {tuple(r) for r in await conn.execute(snapshot, ids)}
        await conn.execute(as_caller)
        state = await _sqlstate(run, conn)
        await conn.execute(as_service)
        after = {tuple(r) for r in await conn.execute(snapshot, ids)}
    finally:
        await outer.rollback()
    assert before and after == before, f"rows of B in {table.name} changed or went away"
    return state


def _fresh_copy(table: sa.Table, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with new values wherever a key or a unique constraint would collide."""
    unique: set[str] = {c.name for c in table.primary_key.columns}
    for constraint in table.constraints:
        if isinstance(constraint, sa.UniqueConstraint):
            unique |= {c.name for c in constraint.columns}
    for index in table.indexes:
        if index.unique:
            unique |= {c.name for c in index.columns}
    unique |= {c.name for c in table.c if c.unique}
    unique.discard("organization_id")
    copy = dict(row)
    for name in unique:
        column = table.c[name]
        if column.autoincrement is True or (
            column.primary_key and isinstance(column.type, sa.Integer)
        ):
            copy.pop(name)
        elif isinstance(column.type, sa.Uuid):
            copy[name] = uuid4()
        elif name == "email":
            copy[name] = f"{uuid4().hex}@example.com"
        else:
            copy[name] = f"x{uuid4().hex}"
    return copy


def attackers(world: World) -> dict[str, Principal]:
    return {
        "admin of A": world.a.principal(world.a.admin),
        "admin of B acting for A": world.a.principal(world.both),
        # Signed in, in no organization, claiming B.
        "outsider": Principal(
            user_id=world.outsider.id, organization_id=world.b.org.id, role=Role.ADMIN
        ),
    }


ATTACKERS = ["admin of A", "admin of B acting for A", "outsider"]


async def test_the_seed_puts_rows_of_both_organizations_in_every_table(
    seeded_store: Any, seeded: tuple[str, World]
) -> None:
    world = seeded[1]
    async with acting(seeded_store, None) as conn:
        for table in TABLES.values():
            assert await _key_rows(conn, table, rows_of_b(table), world), (
                f"no row of B in {table.name}"
            )
            assert await _key_rows(conn, table, rows_of_a(table), world), (
                f"no row of A in {table.name}"
            )


def _one_row(table: sa.Table, where: str) -> sa.Select[Any]:
    return sa.select(table).where(sa.text(where)).limit(1)


async def _updatable_column(conn: AsyncConnection, table: sa.Table) -> sa.Column[Any]:
    """A column the caller may UPDATE that is neither a key nor unique (else any column)."""
    unique = set(_fresh_copy(table, {c.name: None for c in table.c})) - {"organization_id"}
    for column in table.c:
        granted = await conn.execute(
            sa.text("select has_column_privilege(:t, :c, 'UPDATE')"),
            {"t": table.name, "c": column.name},
        )
        if granted.scalar() and column.name not in unique:
            return column
    return list(table.c)[-1]


@pytest.mark.parametrize("table_name", sorted(TABLES))
@pytest.mark.parametrize("attacker", ATTACKERS)
async def test_a_member_of_another_organization_can_not_reach_its_rows(
    seeded_store: Any, seeded: tuple[str, World], table_name: str, attacker: str
) -> None:
    world = seeded[1]
    table = TABLES[table_name]
    keys = _keys(table)
    ids = {"a": world.a.org.id, "b": world.b.org.id}
    async with acting(seeded_store, None) as conn:
        b_keys = await _key_rows(conn, table, rows_of_b(table), world)
        a_keys = await _key_rows(conn, table, rows_of_a(table), world)
        b_row = dict((await conn.execute(_one_row(table, rows_of_b(table)), ids)).mappings().one())
        a_row = dict((await conn.execute(_one_row(table, rows_of_a(table)), ids)).mappings().one())
    b_only = sa.or_(*(sa.and_(*(c == v for c, v in zip(keys, key, strict=True))) for key in b_keys))

    principal = attackers(world)[attacker]
    if table_name in SYSTEM_TABLES:
        async with acting(seeded_store, principal) as conn:
            for statement in (
                sa.select(*keys),
                table.update().values({keys[0].name: keys[0]}),
                table.delete(),
                table.insert().values(_fresh_copy(table, b_row)),
            ):
                state = await _sqlstate(lambda s=statement: conn.execute(s), conn)
                assert state == "42501", f"{attacker}: {statement} on {table_name} gave {state}"
        return
    async with acting(seeded_store, principal) as conn:
        # Row-level security binds only this role; a superuser or the owner would skip it.
        assert (await conn.execute(sa.text("select current_user"))).scalar() == "authenticated"
        assert (await conn.execute(sa.text("select auth.uid()"))).scalar() == principal.user_id

        # SELECT: none of B's rows, however it is asked.
        everything = sa.select(*keys)
        state = await _sqlstate(lambda: conn.execute(everything), conn)
        if state is None:
            visible = {tuple(r) for r in await conn.execute(everything)}
            assert not visible & b_keys, f"{attacker} sees rows of B in {table_name}"
            if attacker == "admin of A":  # the claims are in force: A's rows are there
                assert visible & a_keys, f"the admin of A sees none of A's rows in {table_name}"
            count = await conn.execute(sa.select(sa.func.count()).select_from(table).where(b_only))
            assert count.scalar() == 0
        else:
            assert state == "42501" and attacker != "admin of A", state

        # UPDATE and DELETE, aimed at B's rows or at every row: B's rows stay as they were.
        column = await _updatable_column(conn, table)
        for statement in (
            table.update().where(b_only).values({column.name: a_row[column.name]}),
            table.delete().where(b_only),
            table.update().values({column.name: a_row[column.name]}),  # only USING filters
            table.delete(),
        ):
            outcome: list[int] = []

            async def run(statement: Any = statement, outcome: list[int] = outcome) -> None:
                outcome.append((await conn.execute(statement)).rowcount)

            state = await _b_untouched(conn, table, world, run)
            assert state in {None, "42501"}, f"{attacker}: {statement} gave {state}"
            if statement.whereclause is not None:
                assert state == "42501" or outcome == [0], f"{attacker}: {statement}: {outcome}"

        # INSERT of a row into B, and moving one of A's rows into B: refused.
        copy = _fresh_copy(table, b_row)
        state = await _sqlstate(lambda: conn.execute(table.insert(), copy), conn)
        assert state == "42501", f"{attacker}: INSERT into {table_name} for B gave {state}"
        if "organization_id" in table.c:
            move = table.update().where(sa.text(rows_of_a(table))).values(organization_id=ids["b"])
            state = await _sqlstate(lambda: conn.execute(move, ids), conn)
            assert state == "42501", f"{attacker}: moving rows of {table_name} into B gave {state}"


@pytest.mark.parametrize("table_name", sorted(TABLES))
async def test_anonymous_can_do_nothing(
    seeded_store: Any, seeded: tuple[str, World], table_name: str
) -> None:
    world = seeded[1]
    table = TABLES[table_name]
    async with acting(seeded_store, None) as conn:
        b_row = dict(
            (
                await conn.execute(
                    sa.select(table).where(sa.text(rows_of_b(table))),
                    {"a": world.a.org.id, "b": world.b.org.id},
                )
            )
            .mappings()
            .first()
            or {}
        )
    first = table.c.keys()[0]
    async with anonymous(seeded_store) as conn:
        assert (await conn.execute(sa.text("select current_user"))).scalar() == "anon"
        for privilege in (
            "SELECT",
            "INSERT",
            "UPDATE",
            "DELETE",
            "TRUNCATE",
            "REFERENCES",
            "TRIGGER",
        ):
            granted = await conn.execute(
                sa.text("select has_table_privilege('anon', :t, :p)"),
                {"t": table_name, "p": privilege},
            )
            assert granted.scalar() is False, f"anon holds {privilege} on {table_name}"
        for run in (
            lambda: conn.execute(sa.text(f"select * from {table_name}")),
            lambda: conn.execute(table.insert(), _fresh_copy(table, b_row)),
            lambda: conn.execute(sa.text(f"update {table_name} set {first} = {first}")),
            lambda: conn.execute(sa.text(f"delete from {table_name}")),
        ):
            assert await _sqlstate(run, conn) == "42501"


async def test_every_table_has_row_level_security_on(seeded_store: Any) -> None:
    async with acting(seeded_store, None) as conn:
        result = await conn.execute(
            sa.text(
                "select c.relname, c.relrowsecurity from pg_class c "
                "where c.relnamespace = current_schema()::regnamespace and c.relkind in ('r', 'p')"
            )
        )
        security = dict(result.all())
    assert set(TABLES) <= set(security), "a table of the metadata is missing from the database"
    assert set(security) == {*TABLES, "alembic_version"}, "a table nobody declared in tables.py"
    off = sorted(name for name, on in security.items() if not on)
    assert off == [], f"row-level security is off on {off}"


async def test_the_orgs_claim_narrows_and_never_widens(
    seeded_store: Any, seeded: tuple[str, World]
) -> None:
    world = seeded[1]
    b_id = world.b.org.id
    # ``both`` is B's admin: acting for B, B's posts are there; acting for A, they are not.
    for org_id, expected in ((b_id, True), (world.a.org.id, False)):
        actor = Principal(
            user_id=world.both.id, organization_id=org_id, role=world.b.members[world.both.id]
        )
        async with acting(seeded_store, actor) as conn:
            count = (
                await conn.execute(
                    sa.text("select count(*) from posts where organization_id = :b"), {"b": b_id}
                )
            ).scalar()
            assert (count > 0) is expected
    # The claim of an organization one is not a member of reveals nothing.
    intruder = Principal(user_id=world.a.admin.id, organization_id=b_id, role=Role.ADMIN)
    async with acting(seeded_store, intruder) as conn:
        for table in TABLES.values():
            if table.name in SYSTEM_TABLES:  # not readable at all (see above)
                continue
            keys = ", ".join(c.name for c in _keys(table))
            visible = (
                await conn.execute(
                    sa.text(f"select count(*) from (select {keys} from {table.name}) t")
                )
            ).scalar()
            mine = 1 if table.name == "users" else 0  # one's own user row, always
            assert visible == mine, f"{table.name}: {visible} rows visible with another org's claim"


async def test_members_see_co_members_and_change_only_themselves(
    seeded_store: Any, seeded: tuple[str, World]
) -> None:
    world = seeded[1]
    employee = world.a.principal(world.a.employee)
    async with acting(seeded_store, employee) as conn:
        names = {r[0] for r in await conn.execute(sa.text("select id from users"))}
        assert names == set(world.a.members)  # A's members (``both`` among them), no one else
        changed = await conn.execute(sa.text("update users set name = 'x' where id <> auth.uid()"))
        assert changed.rowcount == 0
        mine = await conn.execute(sa.text("update users set name = 'me' where id = auth.uid()"))
        assert mine.rowcount == 1
        # Nor may a member promote themselves: only admins change roles.
        state = await _sqlstate(
            lambda: conn.execute(
                sa.text("update user_organizations set role = 'admin' where user_id = auth.uid()")
            ),
            conn,
        )
        assert state == "42501"
        # Employees read their own posts only; admins and brand creators read them all.
        authors = {
            r[0] for r in await conn.execute(sa.text("select distinct author_id from posts"))
        }
        assert authors == {world.a.employee.id}
    async with acting(seeded_store, world.a.principal(world.a.creator)) as conn:
        authors = {
            r[0] for r in await conn.execute(sa.text("select distinct author_id from posts"))
        }
        assert authors == set(world.a.members)


async def test_the_worker_side_reaches_every_row_as_the_service_role(seeded_store: Any) -> None:
    async with acting(seeded_store, None) as conn:
        assert (await conn.execute(sa.text("select current_user, auth.role()"))).one() == (
            "service_role",
            "service_role",
        )
        for table in TABLES:
            assert (await conn.execute(sa.text(f"select count(*) from {table}"))).scalar() > 0
