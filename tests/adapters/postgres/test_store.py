"""PostgresStore itself: who each transaction runs as, what stays in it, pool and URL options."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from ghostart.errors import ConfigurationError, TransientError
from ghostart.models import Job, JobKind, PrincipalKind, Role
from ghostart.plugins import PluginManager
from ghostart.registry import BuildContext, Port
from ghostart.settings import load_settings
from ghostart.testing import ManualClock
from tests.adapters.postgres.world import T0, World, seed
from tests.postgres import server_sql


@pytest.fixture
async def store(postgres_url: str) -> AsyncIterator[Any]:
    from ghostart_postgres import PostgresStore

    # One connection, so that consecutive units of work share it.
    store = PostgresStore(f"{postgres_url}?pool_size=1&max_overflow=0&statement_timeout=7.5")
    yield store
    await store.aclose()


@pytest.fixture
async def world(store: Any) -> World:
    return await seed(store)


async def _session(conn: Any) -> dict[str, Any]:
    row = await conn.execute(
        sa.text(
            "select pg_backend_pid() as pid, current_user as role, session_user as login, "
            "current_setting('request.jwt.claims', true) as claims, auth.uid() as uid, "
            "current_setting('statement_timeout') as timeout, "
            "current_setting('transaction_read_only') as read_only"
        )
    )
    return dict(row.mappings().one())


async def test_claims_and_role_last_for_the_transaction_only(store: Any, world: World) -> None:
    employee = world.a.principal(world.a.employee)
    async with store.unit_of_work(employee) as uow:
        inside = await _session(uow.connection)
        seen = (await uow.connection.execute(sa.text("select count(*) from posts"))).scalar()
    assert inside["role"] == "authenticated" and inside["uid"] == employee.user_id
    assert seen == 1  # the employee's own post

    # The next transaction on the same pooled connection, opened without our hook (as any
    # other code on the pool might): nothing of the previous one is left.
    async with store.engine.connect() as conn, conn.begin():
        after = await _session(conn)
        assert after["pid"] == inside["pid"], "not the same connection: the test proves nothing"
        assert after["role"] == after["login"] and after["uid"] is None
        assert after["claims"] in ("", None)
        assert inside["timeout"] == "7500ms" and after["timeout"] != inside["timeout"]
        # Anonymous (the role without anyone's claims) sees nothing in any table.
        await conn.execute(sa.text("set local role authenticated"))
        for table in ("organizations", "users", "posts", "api_keys", "secrets", "jobs"):
            count = await conn.execute(sa.text(f"select count(*) from {table}"))
            assert count.scalar() == 0, f"{table} rows visible after the user's transaction"


async def test_a_user_and_an_api_key_act_as_their_user_narrowed_to_one_organization(
    store: Any, world: World
) -> None:
    person = world.a.principal(world.a.admin)
    key = person.model_copy(update={"kind": PrincipalKind.API_KEY, "role": Role.EMPLOYEE})
    for principal, kind in ((person, "user"), (key, "api_key")):
        async with store.unit_of_work(principal, readonly=True) as uow:
            claims = (await uow.connection.execute(sa.text("select auth.jwt()"))).scalar()
            role = (await uow.connection.execute(sa.text("select auth.role()"))).scalar()
        assert claims == {
            "sub": str(world.a.admin.id),
            "role": "authenticated",
            "aud": "authenticated",
            "ghostart_org": str(world.a.org.id),
            "ghostart_principal": kind,
        }
        assert role == "authenticated"


async def test_the_system_runs_as_the_service_role_not_the_owner(store: Any, world: World) -> None:
    async with store.unit_of_work() as uow:
        session = await _session(uow.connection)
        orgs = (
            await uow.connection.execute(sa.text("select count(*) from organizations"))
        ).scalar()
    assert session["role"] == "service_role" and json.loads(session["claims"]) == {
        "role": "service_role"
    }
    assert orgs == 2
    assert session["timeout"] == "7500ms"


async def test_a_read_only_unit_of_work_can_not_write(store: Any, world: World) -> None:
    async with store.unit_of_work(readonly=True) as uow:
        assert (await _session(uow.connection))["read_only"] == "on"
    with pytest.raises(sa.exc.DBAPIError, match="read-only transaction"):
        async with store.unit_of_work(readonly=True) as uow:
            await uow.users.save_profile(world.a.admin.model_copy(update={"name": "changed"}))
    async with store.unit_of_work() as uow:
        assert (await _session(uow.connection))["read_only"] == "off"


async def test_a_statement_over_the_timeout_is_a_transient_error(postgres_url: str) -> None:
    from ghostart_postgres import PostgresStore

    store = PostgresStore(f"{postgres_url}?statement_timeout=0.2")
    try:
        with pytest.raises(TransientError, match="statement timeout"):
            async with store.unit_of_work() as uow:
                await uow.connection.execute(sa.text("select pg_sleep(2)"))
        async with store.unit_of_work() as uow:  # the pool recovered
            assert (await uow.connection.execute(sa.text("select 1"))).scalar() == 1
    finally:
        await store.aclose()


async def test_an_unknown_database_is_a_configuration_error(postgres_url: str) -> None:
    from ghostart_postgres import PostgresStore

    missing = make_url(postgres_url).set(database=f"ghostart_test_{uuid4().hex}_missing")
    store = PostgresStore(missing.render_as_string(hide_password=False))
    try:
        with pytest.raises(ConfigurationError, match=r"GHOSTART_DATABASE_URL.*does not exist"):
            async with store.unit_of_work():
                pass
    finally:
        await store.aclose()


async def test_an_unreachable_server_is_a_transient_error() -> None:
    from ghostart_postgres import PostgresStore

    store = PostgresStore("postgresql://nobody@127.0.0.1:9/none?connect_timeout=2")
    try:
        with pytest.raises(TransientError):
            async with store.unit_of_work():
                pass
    finally:
        await store.aclose()


async def test_pool_and_session_options_come_from_the_url(postgres_url: str) -> None:
    from ghostart_postgres import PostgresStore

    url = f"{postgres_url}?pool_size=3&max_overflow=0&pool_timeout=0.5&prepare_threshold=none"
    store = PostgresStore(url)
    try:
        assert store.engine.pool.size() == 3  # type: ignore[attr-defined]
        assert store.engine.pool._pre_ping is True  # type: ignore[attr-defined]
        async with store.unit_of_work() as uow:
            conn = uow.connection
            name = (
                await conn.execute(sa.text("select current_setting('application_name')"))
            ).scalar()
            raw = await conn.get_raw_connection()
            assert (
                raw.driver_connection.prepare_threshold is None
            )  # safe behind a transaction pooler
        assert name == "ghostart"
        # All three connections busy: a fourth unit of work waits pool_timeout, then gives up.
        held = [store.unit_of_work() for _ in range(3)]
        for cm in held:
            await cm.__aenter__()
        try:
            with pytest.raises(TransientError, match="no free connection"):
                async with store.unit_of_work():
                    pass
        finally:
            for cm in held:
                await cm.__aexit__(None, None, None)
    finally:
        await store.aclose()


def test_url_options_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from ghostart_postgres import connection_options

    assert connection_options("postgresql://h/db").statement_timeout_ms == 30_000  # default
    monkeypatch.setenv("GHOSTART_POSTGRES_POOL_SIZE", "3")
    monkeypatch.setenv("GHOSTART_POSTGRES_MAX_OVERFLOW", "4")
    monkeypatch.setenv("GHOSTART_POSTGRES_APPLICATION_NAME", "api")
    monkeypatch.setenv("GHOSTART_POSTGRES_PREPARE_THRESHOLD", "none")
    assert connection_options("postgresql://h/db").engine_options["connect_args"] == {
        "prepare_threshold": None,
        "application_name": "api",
    }
    options = connection_options(
        "postgres://u:p@h:6543/db?pool_size=5&prepare_threshold=2&statement_timeout=0&sslmode=require"
    )
    assert options.engine_options["pool_size"] == 5
    assert options.engine_options["max_overflow"] == 4
    assert options.engine_options["connect_args"] == {
        "prepare_threshold": 2,
        "application_name": "api",
    }
    assert options.statement_timeout_ms is None  # 0: the server's own setting
    assert options.url.drivername == "postgresql+psycopg"
    assert dict(options.url.query) == {"sslmode": "require"}  # libpq's own options stay
    monkeypatch.setenv("GHOSTART_POSTGRES_POOL_SIZE", "many")
    with pytest.raises(ConfigurationError, match="GHOSTART_POSTGRES_POOL_SIZE"):
        connection_options("postgresql://h/db")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql+asyncpg://h/db", "runs on psycopg 3"),
        ("postgresql://h/db?pool_size=zero", "pool_size"),
        ("postgresql://h/db?statement_timeout=-1", "statement_timeout"),
        ("mysql://h/db", "not a PostgreSQL URL"),
    ],
)
def test_bad_urls_are_configuration_errors(url: str, message: str) -> None:
    from ghostart_postgres import PostgresStore

    with pytest.raises(ConfigurationError, match=message):
        PostgresStore(url)


def test_every_postgres_scheme_builds_the_store_and_hides_the_password(tmp_path: Any) -> None:
    from ghostart_postgres import PostgresStore, plugin

    manager = PluginManager(entry_points_enabled=False)
    manager.register(plugin, name="postgres")
    registry = manager.adapter_registry()
    context = BuildContext(load_settings(home=tmp_path), ManualClock())
    for scheme in ("postgresql", "postgresql+psycopg", "postgres"):
        store = registry.build(Port.STORE, f"{scheme}://u:s3cret@db.example:6543/app", context)
        assert isinstance(store, PostgresStore)
        assert store.url.drivername == "postgresql+psycopg"
        assert "s3cret" not in repr(store)
    with pytest.raises(ConfigurationError) as err:
        registry.build(Port.STORE, "postgresql://u:s3cret@h/db?pool_size=0", context)
    assert "s3cret" not in str(err.value)


async def test_a_role_that_may_not_act_as_authenticated_is_told_what_to_fix(
    postgres_url: str,
) -> None:
    from ghostart_postgres import PostgresStore

    login = f"ghostart_test_{uuid4().hex[:12]}"  # roles are server-wide: a name of its own
    server_sql(f"create role {login} login")
    url = make_url(postgres_url).set(username=login, password=None)
    store = PostgresStore(url.render_as_string(hide_password=False))
    try:
        with pytest.raises(ConfigurationError, match="member of them"):
            async with store.unit_of_work():
                pass
    finally:
        await store.aclose()
        server_sql(f"drop role {login}")


async def test_a_claimed_job_is_skipped_not_waited_for(store: Any, postgres_url: str) -> None:
    from ghostart_postgres import PostgresStore

    job = Job(kind=JobKind.GENERATE, subject_id=uuid4(), idempotency_key=f"g:{uuid4()}", run_at=T0)
    async with store.unit_of_work() as uow:
        await uow.jobs.add(job)
    other = PostgresStore(postgres_url)
    now, lease = T0 + timedelta(seconds=1), T0 + timedelta(minutes=1)
    try:
        async with store.unit_of_work() as first:
            claimed = await first.jobs.claim(job.id, owner="w1", now=now, lease_until=lease)
            assert claimed is not None and claimed.attempts == 1
            # Another worker, while the first claim is not committed yet: no wait, no job.
            async with other.unit_of_work() as second:
                taken = await asyncio.wait_for(
                    second.jobs.claim(job.id, owner="w2", now=now, lease_until=lease), timeout=2
                )
            assert taken is None
        async with other.unit_of_work() as second:  # committed: the lease is the first's
            assert await second.jobs.claim(job.id, owner="w2", now=now, lease_until=lease) is None
            stored = await second.jobs.get(job.id)
        assert stored is not None and stored.lease_owner == "w1" and stored.attempts == 1
    finally:
        await other.aclose()


async def test_newest_posts_of_one_organization_are_read_through_an_index(
    store: Any, world: World, postgres_url: str
) -> None:
    # A's newest 50 among its 1,000 posts, next to 20 other organizations with as many each.
    async with store.unit_of_work() as uow:
        await uow.connection.execute(
            sa.text(
                "insert into organizations (name) select 'org ' || i from generate_series(1, 20) i"
            )
        )
        await uow.connection.execute(
            sa.text(
                "insert into posts (organization_id, author_id, status, revision, created_at,"
                " updated_at) select o.id, :author, 'draft', 1, now() - i * interval '1 minute',"
                " now() from organizations o, generate_series(1, 1000) i"
                " where o.name like 'org %' or o.id = :org"
            ),
            {"author": world.a.admin.id, "org": world.a.org.id},
        )
    server_sql("analyze posts", database=make_url(postgres_url).database)  # as the owner
    admin = world.a.principal(world.a.admin)
    async with store.unit_of_work(admin, readonly=True) as uow:
        query = sa.text(
            "explain (format json) select * from posts where organization_id = :org"
            " order by created_at desc, id desc limit 50"
        )
        plan = json.dumps((await uow.connection.execute(query, {"org": world.a.org.id})).scalar())
        newest = await uow.posts.list(world.a.org.id)
    assert len(newest) == 50 and all(p.organization_id == world.a.org.id for p in newest)
    assert "ix_posts_org_created" in plan and '"Seq Scan"' not in plan, plan


@pytest.mark.parametrize(
    "name",
    [
        "ghostart_postgres",
        "ghostart_postgres.store",
        "ghostart_postgres.settings",
        "ghostart_postgres.plugin",
    ],
)
def test_every_exported_name_exists_once(name: str) -> None:
    import importlib

    module = importlib.import_module(name)
    assert len(module.__all__) == len(set(module.__all__))
    assert [member for member in module.__all__ if not hasattr(module, member)] == []
