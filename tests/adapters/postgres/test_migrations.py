"""The shared migrations on PostgreSQL: up from empty, down to empty, up again; beside Supabase."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from ghostart.builtin.sql import SQLiteStore
from ghostart.builtin.sql.migrate import alembic_config
from ghostart.builtin.sql.tables import metadata
from tests.adapters.postgres.world import seed
from tests.postgres import create_database, database_url, drop_database, server_sql

# Indexes migration 0005 adds on PostgreSQL only (tables.py, shared with SQLite, lacks them).
POSTGRES_ONLY_INDEXES = {"ix_jobs_organization_id", "ix_posts_author_id", "ix_api_keys_created_by"}


async def _store(url: str) -> Any:
    from ghostart_postgres import PostgresStore

    return PostgresStore(url)


async def _catalog(store: Any) -> dict[str, Any]:
    """What exists besides Supabase's own objects: tables, ghostart's schema and functions."""
    async with store.engine.connect() as conn:

        async def rows(sql: str) -> list[Any]:
            return [tuple(r) if len(r) > 1 else r[0] for r in await conn.execute(sa.text(sql))]

        return {
            "tables": sorted(
                await rows(
                    "select relname from pg_class where relkind = 'r'"
                    " and relnamespace = current_schema()::regnamespace"
                )
            ),
            "policies": sorted(
                await rows("select tablename || ': ' || policyname from pg_policies")
            ),
            "schemas": sorted(
                await rows("select nspname from pg_namespace where nspname in ('auth', 'ghostart')")
            ),
            "auth": sorted(
                await rows(
                    "select p.oid::regprocedure::text, md5(p.prosrc),"
                    " coalesce(obj_description(p.oid, 'pg_proc'), '')"
                    " from pg_proc p where p.pronamespace::regnamespace::text = 'auth'"
                )
            ),
            "revision": await rows(
                "select version_num from alembic_version"
                if await rows("select to_regclass('alembic_version') is not null") == [True]
                else "select null where false"
            ),
        }


async def _downgrade(store: Any, revision: str = "base") -> None:
    async with store.engine.begin() as conn:
        await conn.run_sync(lambda c: command.downgrade(alembic_config(c), revision))


async def test_up_from_empty_down_to_empty_and_up_again(empty_postgres_url: str) -> None:
    store = await _store(empty_postgres_url)
    try:
        await store.migrate()
        up = await _catalog(store)
        assert set(up["tables"]) == {t.name for t in metadata.sorted_tables} | {"alembic_version"}
        assert up["schemas"] == ["auth", "ghostart"] and up["policies"]
        assert [name for name, *_ in up["auth"]] == ["auth.jwt()", "auth.role()", "auth.uid()"]
        world = await seed(store)  # the schema works: rows in every table

        await _downgrade(store)
        down = await _catalog(store)
        assert down == {
            "tables": ["alembic_version"],
            "policies": [],
            "schemas": [],
            "auth": [],
            "revision": [],
        }

        await store.migrate()
        assert await _catalog(store) == up
        async with store.unit_of_work(world.a.principal(world.a.admin)) as uow:
            assert await uow.organizations.get(world.a.org.id) is None  # the data went with it
    finally:
        await store.aclose()


async def test_the_tables_are_exactly_the_code_plus_postgres_indexes(postgres_url: str) -> None:
    store = await _store(postgres_url)
    try:
        async with store.engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), metadata)
            )
    finally:
        await store.aclose()
    extra = {step[1].name for step in diff if step[0] == "remove_index"}
    assert extra == POSTGRES_ONLY_INDEXES
    assert [step for step in diff if step[0] != "remove_index"] == []


async def test_columns_use_postgres_types_and_uuid_defaults(postgres_url: str) -> None:
    store = await _store(postgres_url)
    try:
        async with store.engine.connect() as conn:
            columns = {
                (r.table_name, r.column_name): (r.data_type, r.column_default)
                for r in await conn.execute(
                    sa.text(
                        "select table_name, column_name, data_type, column_default"
                        " from information_schema.columns where table_schema = current_schema()"
                    )
                )
            }
    finally:
        await store.aclose()
    for table in metadata.sorted_tables:
        for column in table.c:
            data_type, default = columns[(table.name, column.name)]
            if isinstance(column.type, sa.JSON) or "JSON" in repr(column.type):
                assert data_type == "jsonb", (table.name, column.name)
            elif isinstance(column.type, sa.Uuid):
                assert data_type == "uuid", (table.name, column.name)
                if column.name == "id":
                    assert default == "gen_random_uuid()", table.name
            elif "DateTime" in repr(column.type):
                assert data_type == "timestamp with time zone", (table.name, column.name)


async def test_supabase_auth_objects_are_used_as_they_are_and_survive_a_downgrade(
    supabase_url: str,
) -> None:
    store = await _store(supabase_url)
    try:
        before = await _catalog(store)
        assert [name for name, *_ in before["auth"]] == [
            "auth.email()",
            "auth.jwt()",
            "auth.role()",
            "auth.uid()",
        ]
        await store.migrate()
        up = await _catalog(store)
        assert up["auth"] == before["auth"], "Supabase's auth functions were changed"
        async with store.engine.connect() as conn:
            users = await conn.execute(sa.text("select count(*) from auth.users"))
            assert users.scalar() == 0
            # Supabase's default privileges handed anon everything on new tables: taken back.
            granted = await conn.execute(
                sa.text(
                    "select count(*) from pg_class c where c.relkind = 'r'"
                    " and c.relnamespace = current_schema()::regnamespace"
                    " and (has_table_privilege('anon', c.oid, 'SELECT,INSERT,UPDATE,DELETE')"
                    "   or (c.relname = 'alembic_version'"
                    "       and has_table_privilege('authenticated', c.oid, 'SELECT,UPDATE')))"
                )
            )
            assert granted.scalar() == 0

        world = await seed(store)
        async with store.unit_of_work(world.a.principal(world.a.employee)) as uow:
            assert [o.id for o in await uow.organizations.list_for_user(world.a.employee.id)] == [
                world.a.org.id
            ]

        await _downgrade(store)
        down = await _catalog(store)
        assert down["auth"] == before["auth"] and down["schemas"] == ["auth"]
        assert down["tables"] == ["alembic_version"]
        async with store.engine.connect() as conn:
            assert (await conn.execute(sa.text("select to_regclass('auth.users')"))).scalar()
        await store.migrate()
    finally:
        await store.aclose()


async def test_the_roles_are_supabases(postgres_url: str) -> None:
    rows = server_sql(
        "select rolname, rolcanlogin, rolinherit, rolbypassrls from pg_roles"
        " where rolname in ('anon', 'authenticated', 'service_role') order by rolname"
    )
    assert rows == [
        ("anon", False, False, False),
        ("authenticated", False, False, False),
        ("service_role", False, False, True),
    ]


@pytest.fixture
async def owner_url(postgres_admin: str) -> AsyncIterator[str]:
    """An empty database owned by a login role that is no superuser (as in production)."""
    owner = f"ghostart_test_{uuid4().hex[:12]}"
    server_sql(f"create role {owner} login createrole")
    name = create_database("template0")
    server_sql(f'alter database "{name}" owner to {owner}')
    server_sql(f"alter schema public owner to {owner}", database=name)
    try:
        url = make_url(database_url(name)).set(username=owner, password=None)
        yield url.render_as_string(hide_password=False)
    finally:
        drop_database(name)
        server_sql(f"drop role {owner}")


async def test_an_owner_that_is_no_superuser_migrates_and_is_held_by_the_policies(
    owner_url: str,
) -> None:
    store = await _store(owner_url)
    try:
        await store.migrate()
        world = await seed(store)  # as service_role, which the migration let the owner become
        async with store.unit_of_work(world.b.principal(world.b.admin)) as uow:
            session = await uow.connection.execute(sa.text("select current_user, session_user"))
            assert session.one()[0] == "authenticated"
            assert await uow.organizations.get(world.a.org.id) is None
            assert await uow.organizations.get(world.b.org.id) is not None
        async with store.engine.connect() as conn:
            owns = await conn.execute(
                sa.text("select count(*) from pg_tables where tableowner = current_user")
            )
            assert owns.scalar() == len(metadata.sorted_tables) + 1
    finally:
        await store.aclose()


def test_the_postgres_revisions_do_nothing_on_sqlite(tmp_path: Any) -> None:
    import asyncio

    store = SQLiteStore(f"sqlite:///{tmp_path / 's.db'}")

    def schema() -> list[Any]:
        with store.engine.connect() as conn:
            return list(conn.execute(sa.text("select type, name, sql from sqlite_master")))

    # 0005 and 0006 are the PostgreSQL-only revisions (0007 changes both databases).
    with store.engine.connect() as conn, conn.begin():
        command.upgrade(alembic_config(conn), "0006")
    at_0006 = schema()
    with store.engine.connect() as conn, conn.begin():
        command.downgrade(alembic_config(conn), "0004")
    assert schema() == at_0006
    asyncio.run(store.aclose())


def test_ghostart_migrate_needs_only_the_database_url(empty_postgres_url: str) -> None:
    from click.testing import CliRunner

    from ghostart.cli import main

    # No GHOSTART_SECRET_KEYS: migrating reads and writes no secret.
    result = CliRunner().invoke(
        main, ["migrate"], env={"GHOSTART_DATABASE_URL": empty_postgres_url}
    )
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
    database = make_url(empty_postgres_url).database
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert server_sql("select version_num from alembic_version", database=database) == [(head,)]
