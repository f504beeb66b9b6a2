"""The SQLite store passes the Store contract, and its migrations match its tables."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ghostart.builtin.sql import SQLiteStore, SQLStore
from ghostart.builtin.sql.tables import metadata
from ghostart.errors import ConfigurationError
from ghostart.models import Organization
from ghostart.testing.contracts.store import StoreContract


class TestSQLiteStore(StoreContract):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[SQLiteStore]:
        store = SQLiteStore(f"sqlite:///{tmp_path / 'contract.db'}")
        await store.migrate()
        yield store
        await store.aclose()


async def test_migrations_create_exactly_the_tables_in_code(tmp_path: Path) -> None:
    store = SQLiteStore(f"sqlite:///{tmp_path / 'm.db'}")
    await store.migrate()
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    await store.aclose()
    assert diff == []


async def test_the_async_store_runs_the_same_migrations(tmp_path: Path) -> None:
    # SQLStore is the base of the PostgreSQL store; here it runs on aiosqlite, one writer at a time.
    store = SQLStore(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")
    await store.migrate()
    org = Organization(name="Async")
    async with store.unit_of_work() as uow:
        await uow.organizations.add(org)
    async with store.unit_of_work(readonly=True) as uow:
        assert await uow.organizations.get(org.id) == org
    async with store.engine.connect() as conn:
        diff = await conn.run_sync(
            lambda c: compare_metadata(MigrationContext.configure(c), metadata)
        )
    await store.aclose()
    assert diff == []


def test_a_url_without_a_usable_driver_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="GHOSTART_DATABASE_URL"):
        SQLStore("sqlite:///needs-an-async-driver.db")
    with pytest.raises(ConfigurationError, match="needs a sqlite URL"):
        SQLiteStore("postgresql://db/x")


async def test_a_failed_commit_does_not_poison_later_writes(tmp_path: Path) -> None:
    from uuid import uuid4

    import sqlalchemy as sa

    from ghostart.models import Post

    store = SQLiteStore(f"sqlite:///{tmp_path / 'c.db'}")
    await store.migrate()
    orphan = Post(organization_id=uuid4(), author_id=uuid4())

    async def commit_an_orphan() -> None:
        async with store.unit_of_work() as uow:
            # Foreign keys checked at COMMIT: the commit itself fails.
            await uow.connection.execute(sa.text("PRAGMA defer_foreign_keys = ON"))  # type: ignore[attr-defined]
            await uow.posts.add(orphan)

    with pytest.raises(sa.exc.IntegrityError):
        await commit_an_orphan()
    org = Organization(name="After")
    async with store.unit_of_work() as uow:
        await uow.organizations.add(org)
    async with store.unit_of_work(readonly=True) as uow:
        assert await uow.organizations.get(org.id) == org
    await store.aclose()


async def test_a_write_in_a_read_only_unit_of_work_fails_loudly(tmp_path: Path) -> None:
    import sqlalchemy as sa

    store = SQLiteStore(f"sqlite:///{tmp_path / 'r.db'}")
    await store.migrate()

    async def write_while_reading() -> None:
        async with store.unit_of_work(readonly=True) as uow:
            await uow.organizations.add(Organization(name="Sneaky"))

    with pytest.raises(sa.exc.OperationalError, match="readonly"):
        await write_while_reading()
    await store.aclose()


async def test_many_read_only_units_of_work_open_at_once_never_block(tmp_path: Path) -> None:
    # More than any connection pool's default size, each held open across an await.
    store = SQLiteStore(f"sqlite:///{tmp_path / 'r.db'}")
    await store.migrate()
    org = Organization(name="Readers")
    async with store.unit_of_work() as uow:
        await uow.organizations.add(org)
    inside = 0

    async def read() -> Organization | None:
        nonlocal inside
        async with store.unit_of_work(readonly=True) as uow:
            inside += 1
            await asyncio.sleep(0.05)  # every reader is open at this point
            found = await uow.organizations.get(org.id)
            assert inside == 40
            return found

    found = await asyncio.wait_for(asyncio.gather(*(read() for _ in range(40))), timeout=10)
    assert found == [org] * 40
    assert len(store._readers) == store.idle_readers  # the rest were closed
    await store.aclose()
    assert store._readers == []


async def test_the_profile_migration_keeps_every_user_and_what_hangs_off_them(
    tmp_path: Path,
) -> None:
    # Rebuilding `users` on SQLite (batch mode) would cascade-delete memberships: it must not.
    from uuid import uuid4

    import sqlalchemy as sa
    from alembic import command

    from ghostart.builtin.sql import tables as t
    from ghostart.builtin.sql.migrate import alembic_config, upgrade
    from ghostart.models import EmailPreferences, Role

    store = SQLiteStore(f"sqlite:///{tmp_path / 'p.db'}")
    user_id, org_id = uuid4(), uuid4()
    with store.engine.connect() as conn, conn.begin():
        upgrade(conn, "0002")
        conn.execute(t.users.insert().values(id=user_id, email="old@example.com", name="Old"))
        conn.execute(t.organizations.insert().values(id=org_id, name="Old Org"))
        conn.execute(
            t.user_organizations.insert().values(
                user_id=user_id, organization_id=org_id, role="admin"
            )
        )
    await store.migrate()
    async with store.unit_of_work(readonly=True) as uow:
        user = await uow.users.get(user_id)
        membership = await uow.memberships.get(org_id, user_id)
    assert user is not None and (user.email, user.name) == ("old@example.com", "Old")
    assert user.timezone == "UTC" and user.email_preferences == EmailPreferences()
    assert membership is not None and membership.role is Role.ADMIN

    with store.engine.connect() as conn, conn.begin():
        command.downgrade(alembic_config(conn), "0002")
    with store.engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("users")}
        members = conn.execute(sa.text("SELECT count(*) FROM user_organizations")).scalar()
    assert "timezone" not in columns and "email_preferences" not in columns
    assert members == 1
    await store.migrate()
    async with store.unit_of_work(readonly=True) as uow:
        assert await uow.memberships.get(org_id, user_id) is not None
    await store.aclose()
