"""The embedded store's prepared hot statements behave exactly like SQLAlchemy's own execution.

The same operations, with the same values, run once through the prepared path and once through
SQLAlchemy; the files must then hold identical rows and the repositories return identical models.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import sqlalchemy as sa

from ghostart.builtin.sql import SQLiteStore
from ghostart.builtin.sql import tables as t
from ghostart.builtin.sql.connection import LoopConnection
from ghostart.builtin.sql.prepared import PreparedStatements, hot
from ghostart.builtin.sql.repositories import _Q
from ghostart.errors import Conflict
from ghostart.models import (
    BrandVoice,
    ContentRequest,
    Generation,
    GenerationStatus,
    Job,
    JobKind,
    JobStatus,
    Organization,
    Post,
    PostStatus,
    Usage,
    User,
)
from ghostart.testing.contracts.store import StoreContract

T0 = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)


async def _store(path: Path, *, prepared: bool) -> SQLiteStore:
    store = SQLiteStore(f"sqlite:///{path}")
    store._prepared.enabled = prepared
    await store.migrate()
    return store


class TestSQLiteStoreWithoutPreparedStatements(StoreContract):
    """SQLAlchemy's path alone still keeps the contract (it is the fallback for rare shapes)."""

    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[SQLiteStore]:
        store = await _store(tmp_path / "plain.db", prepared=False)
        yield store
        await store.aclose()


def _objects() -> dict[str, Any]:
    org = Organization(name="Same", created_at=T0)
    voice = BrandVoice(
        organization_id=org.id,
        name="House",
        topics=["testing", "databases"],
        words_to_avoid=[],
        created_at=T0,
        updated_at=T0,
    )
    request = ContentRequest.parse({"topic": "Prepared statements, measured", "language": "en"})
    generation = Generation(
        organization_id=org.id,
        fingerprint="f" * 64,
        brand_voice_id=voice.id,
        brand_voice_version=1,
        request=request,
        model="m@1",
        created_at=T0,
    )
    author = User(email="same@example.com", name="Same", created_at=T0)
    posts = [
        Post(
            organization_id=org.id,
            author_id=author.id,
            brand_voice_id=voice.id,
            generation_id=generation.id,
            request=request,
            created_at=T0 + timedelta(seconds=i),
            updated_at=T0 + timedelta(seconds=i),
        )
        for i in range(2)
    ]
    job = Job(
        kind=JobKind.GENERATE,
        organization_id=org.id,
        subject_id=generation.id,
        idempotency_key=f"generate:{generation.id}",
        run_at=T0,
        created_at=T0,
        updated_at=T0,
    )
    return {
        "org": org,
        "author": author,
        "voice": voice,
        "generation": generation,
        "posts": posts,
        "job": job,
    }


async def _scenario(store: SQLiteStore, o: dict[str, Any]) -> list[Any]:
    """The generation flow's statements, in order; returns what the repositories returned."""
    seen: list[Any] = []
    later = T0 + timedelta(minutes=1)
    async with store.unit_of_work() as uow:
        await uow.organizations.add(o["org"])
        await uow.users.add(o["author"])
        await uow.brand_voices.add(o["voice"])
    async with store.unit_of_work(readonly=True) as uow:
        seen.append(await uow.brand_voices.list(o["org"].id))
        seen.append(await uow.brand_voices.get(o["org"].id, o["voice"].id))
    async with store.unit_of_work() as uow:
        seen.append(await uow.generations.find_recent(o["org"].id, "f" * 64, since=T0))
        seen.append(await uow.generations.add_or_join(o["generation"]))
        seen.append(await uow.generations.add_or_join(o["generation"].model_copy(update={})))
        await uow.jobs.add(o["job"])
        for post in o["posts"]:
            await uow.posts.add(post)
    async with store.unit_of_work() as uow:
        seen.append(await uow.jobs.claim(o["job"].id, owner="w1", now=later, lease_until=later))
        seen.append(await uow.generations.start(o["generation"].id))
        seen.append(
            await uow.posts.move_for_generation(
                o["generation"].id,
                from_statuses=(PostStatus.REQUESTED,),
                changes={"status": PostStatus.GENERATING},
                now=later,
            )
        )
    done = o["generation"].model_copy(
        update={
            "status": GenerationStatus.SUCCEEDED,
            "body": "Ünïcode body ✓",
            "usage": Usage(prompt_tokens=3, completion_tokens=4, cost_usd="0.000123"),
            "finished_at": later,
        }
    )
    async with store.unit_of_work() as uow:
        seen.append(
            await uow.jobs.finish(o["job"].id, owner="w1", status=JobStatus.DONE, now=later)
        )
        await uow.generations.save(done)
        await uow.usage.record(done.organization_id, done.id, done.usage, at=later)
        await uow.usage.record(done.organization_id, done.id, done.usage, at=later)  # once only
        seen.append(
            await uow.posts.move_for_generation(
                done.id,
                from_statuses=(PostStatus.REQUESTED, PostStatus.GENERATING),
                changes={"status": PostStatus.DRAFT, "body": done.body},
                now=later,
            )
        )
    async with store.unit_of_work(readonly=True) as uow:
        seen.append(await uow.generations.get(done.id))
        seen.append(await uow.generations.find_recent(o["org"].id, "f" * 64, since=T0))
        seen.append(await uow.jobs.get(o["job"].id))
        seen.append(await uow.posts.get(o["org"].id, o["posts"][0].id))
        seen.append(await uow.usage.totals(o["org"].id, since=T0))
    return seen


def _dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(path) as db:
        return {
            table.name: db.execute(f"SELECT * FROM {table.name} ORDER BY rowid").fetchall()
            for table in t.metadata.sorted_tables
        }


async def test_prepared_and_plain_paths_store_and_return_the_same(tmp_path: Path) -> None:
    objects = _objects()
    results = {}
    for prepared in (True, False):
        path = tmp_path / f"{prepared}.db"
        store = await _store(path, prepared=prepared)
        results[prepared] = await _scenario(store, objects)
        await store.aclose()
        results[prepared, "rows"] = _dump(path)

    assert results[True] == results[False]
    assert results[True, "rows"] == results[False, "rows"]
    # The scenario did what it says (so equality above compares something).
    gen_row = results[True, "rows"]["generations"][0]
    assert "Ünïcode body ✓" in gen_row and "succeeded" in gen_row
    drafted = results[True][9]
    assert [(p.status, p.body, p.revision) for p in drafted] == [
        (PostStatus.DRAFT, "Ünïcode body ✓", 3)
    ] * 2
    assert results[True][-1].completion_tokens == 4
    assert results[True][4] == (results[True][3][0], False)  # the second add joined the first


def _recorder(into: list[str]) -> Any:
    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        into.append(statement)

    return record


async def test_hot_statements_really_skip_sqlalchemy_execution(tmp_path: Path) -> None:
    hot_prefixes = ("UPDATE jobs", "UPDATE posts", "UPDATE generations", "INSERT INTO posts")
    for prepared in (False, True):
        store = await _store(tmp_path / f"{prepared}.db", prepared=prepared)
        executed: list[str] = []
        for engine in (store.engine, store._read_engine):
            sa.event.listen(engine, "before_cursor_execute", _recorder(executed))
        await _scenario(store, _objects())
        await store.aclose()
        through_sqlalchemy = [s for s in executed if s.startswith(hot_prefixes)]
        if prepared:
            assert through_sqlalchemy == []
        else:  # the listener sees them when they do go through SQLAlchemy
            assert len(through_sqlalchemy) >= 6


async def test_driver_errors_are_wrapped_as_sqlalchemy_wraps_them(tmp_path: Path) -> None:
    store = await _store(tmp_path / "e.db", prepared=True)
    org = Organization(name="Twice")
    async with store.unit_of_work() as uow:
        await uow.organizations.add(org)
    with pytest.raises(Conflict):  # the repository maps sqlalchemy's IntegrityError
        async with store.unit_of_work() as uow:
            await uow.organizations.add(org)
    with store.engine.connect() as conn, conn.begin():
        loop_conn = LoopConnection(conn, store._prepared)
        with pytest.raises(sa.exc.IntegrityError) as info:
            await loop_conn.execute(_Q.inserts["organizations"], {"id": org.id, "name": "x"})
        assert isinstance(info.value.orig, sqlite3.IntegrityError)
    await store.aclose()


async def test_unusual_shapes_fall_back_to_sqlalchemy(tmp_path: Path) -> None:
    store = await _store(tmp_path / "f.db", prepared=True)
    prepared = store._prepared
    with store.engine.connect() as conn, conn.begin():
        driver = conn.connection.driver_connection
        empty = {"b_gen": uuid4(), "b_from": [], "status": "draft", "updated_at": T0}
        assert prepared.run(driver, _Q.post_move, empty) is None  # empty IN list
        built_now = sa.select(t.organizations)
        assert prepared.run(driver, built_now, None) is None  # not marked hot
        many = [{"b_id": "a"}, {"b_id": "b"}]
        assert prepared.run(driver, _Q.org_get, many) is None  # executemany
        # Through LoopConnection both still run (on SQLAlchemy's path).
        loop_conn = LoopConnection(conn, prepared)
        assert (await loop_conn.execute(_Q.post_move, empty)).rowcount == 0
        assert (await loop_conn.execute(built_now)).all() == []
    await store.aclose()


def test_a_non_sqlite_dialect_is_never_prepared() -> None:
    from sqlalchemy.dialects import postgresql

    class _Dialect(postgresql.psycopg.dialect):  # type: ignore[name-defined,misc]
        loaded_dbapi = sqlite3

    prepared = PreparedStatements(_Dialect())
    assert not prepared.enabled
    assert prepared.run(object(), hot(sa.select(t.organizations)), None) is None
