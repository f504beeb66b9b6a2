"""Row-level security's cost on the hottest list: one organization's newest 50 posts.

1,000,000 posts over 1,000 organizations on a real PostgreSQL, migrated by ghostart's own
migrations. Each round lists the newest 50 posts of random organizations as their admin, exactly
as ghostart-postgres runs a read-only unit of work (one transaction: role, claims and read-only
set in one statement, then the list), first with row-level security on ``posts`` and then with
it disabled, the same role, claims, statement and organizations otherwise; rounds alternate so
that drift in the machine's speed hits both. Two ratios (on / off) are printed (goal: at most
1.2): per unit of work, and per statement (the list repeated inside one transaction, which
leaves out the transaction's own round trips). The plan under RLS must use the index.

``nox -s bench``, or ``GHOSTART_TEST_BENCH=1 pytest tests/benchmarks -s -q -p no:cacheprovider``.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from ghostart.builtin.sql.migrate import upgrade
from ghostart.models import Principal, Role
from ghostart.testing.services import postgres_url, unavailable

pytestmark = [
    pytest.mark.skipif(
        os.environ.get("GHOSTART_TEST_BENCH") != "1",
        reason="benchmark: run `nox -s bench` (or set GHOSTART_TEST_BENCH=1)",
    ),
    pytest.mark.timeout(1800),
]

ORGANIZATIONS = 1_000
POSTS_PER_ORGANIZATION = 1_000
ROUNDS = 10
QUERIES_PER_ROUND = 200

LIST_NEWEST = (
    "select * from posts where organization_id = %s order by created_at desc, id desc limit 50"
)
#: What PostgresStore.on_begin runs first in every transaction.
BEGIN_AS = (
    "select set_config('role', 'authenticated', true),"
    " set_config('request.jwt.claims', %s, true),"
    " set_config('transaction_read_only', 'on', true)"
)


def _claims(org: uuid.UUID, user: uuid.UUID) -> str:
    from ghostart_postgres import claims_for

    principal = Principal(user_id=user, organization_id=org, role=Role.ADMIN)
    return json.dumps(claims_for(principal), separators=(",", ":"))


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """A fresh database of this run's own, migrated; dropped afterwards."""
    admin_url = make_url(postgres_url())
    name = f"ghostart_bench_{uuid.uuid4().hex[:10]}"
    dsn = admin_url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'create database "{name}"')
    except psycopg.OperationalError as exc:
        unavailable("PostgreSQL", exc)
    url = admin_url.set(database=name)
    try:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            upgrade(conn)
        engine.dispose()
        yield url.set(drivername="postgresql").render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


def _load(conn: psycopg.Connection) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """1,000 organizations, an admin each, 1,000 posts each; returns (organization, admin)."""
    conn.execute(
        """
        insert into organizations (id, name)
        select gen_random_uuid(), 'Org ' || g from generate_series(1, %s) g
        """,
        (ORGANIZATIONS,),
    )
    conn.execute(
        """
        insert into users (id, email)
        select gen_random_uuid(), 'admin' || row_number() over () || '@example.com'
        from organizations
        """
    )
    conn.execute(
        """
        insert into user_organizations (user_id, organization_id, role)
        select u.id, o.id, 'admin'
        from (select id, row_number() over (order by id) n from organizations) o
        join (select id, row_number() over (order by id) n from users) u using (n)
        """
    )
    conn.execute(
        """
        insert into posts (id, organization_id, author_id, status, from_cache, revision,
                           body, created_at, updated_at)
        select gen_random_uuid(), m.organization_id, m.user_id,
               (array['draft', 'in_review', 'approved', 'published'])[1 + g %% 4], false, 1,
               'Post ' || g, now() - g * interval '1 minute', now()
        from user_organizations m, generate_series(1, %s) g
        """,
        (POSTS_PER_ORGANIZATION,),
    )
    conn.execute("analyze")
    rows = conn.execute("select organization_id, user_id from user_organizations").fetchall()
    return [(org, user) for org, user in rows]


def _time_units_of_work(
    conn: psycopg.Connection, members: list[tuple[uuid.UUID, uuid.UUID]], rng: random.Random
) -> float:
    """Seconds per list, each in a read-only unit of work as the organization's admin."""
    sample = [(org, _claims(org, user)) for org, user in rng.sample(members, QUERIES_PER_ROUND)]
    started = time.perf_counter()
    for org, claims in sample:
        with conn.transaction():
            conn.execute(BEGIN_AS, (claims,), prepare=True)
            rows = conn.execute(LIST_NEWEST, (org,), prepare=True).fetchall()
            assert len(rows) == 50
    return (time.perf_counter() - started) / QUERIES_PER_ROUND


def _time_statements(conn: psycopg.Connection, org: uuid.UUID, user: uuid.UUID) -> float:
    """Seconds per list, repeated inside one unit of work."""
    with conn.transaction():
        conn.execute(BEGIN_AS, (_claims(org, user),), prepare=True)
        started = time.perf_counter()
        for _ in range(QUERIES_PER_ROUND):
            assert len(conn.execute(LIST_NEWEST, (org,), prepare=True).fetchall()) == 50
        return (time.perf_counter() - started) / QUERIES_PER_ROUND


def _plan(conn: psycopg.Connection, org: uuid.UUID, user: uuid.UUID) -> str:
    with conn.transaction():
        conn.execute(BEGIN_AS, (_claims(org, user),))
        assert conn.execute("select current_user").fetchone() == ("authenticated",)
        rows = conn.execute(
            "explain (analyze, costs off) " + LIST_NEWEST.replace("%s", f"'{org}'")
        ).fetchall()
    return "\n".join(row[0] for row in rows)


def test_listing_newest_posts_with_rls_on_vs_off(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        loaded = time.perf_counter()
        members = _load(conn)
        load_seconds = time.perf_counter() - loaded
        total = conn.execute("select count(*) from posts").fetchone()
        assert total == (ORGANIZATIONS * POSTS_PER_ORGANIZATION,)

        org, user = members[0]
        plan = _plan(conn, org, user)
        assert "Index" in plan and "Seq Scan on posts" not in plan, plan

        rng = random.Random(7)
        _time_units_of_work(conn, members, rng)  # warm the cache and the prepared statements
        on: list[float] = []
        off: list[float] = []
        on_statement: list[float] = []
        off_statement: list[float] = []
        try:
            for _ in range(ROUNDS):
                org, user = rng.choice(members)
                on.append(_time_units_of_work(conn, members, rng))
                on_statement.append(_time_statements(conn, org, user))
                conn.execute("alter table posts disable row level security")
                off.append(_time_units_of_work(conn, members, rng))
                off_statement.append(_time_statements(conn, org, user))
                conn.execute("alter table posts enable row level security")
        finally:
            conn.execute("alter table posts enable row level security")

    on_ms, off_ms = statistics.median(on) * 1000, statistics.median(off) * 1000
    on_st, off_st = statistics.median(on_statement) * 1000, statistics.median(off_statement) * 1000
    lines = [
        "",
        f"posts list benchmark ({ORGANIZATIONS * POSTS_PER_ORGANIZATION:,} posts over "
        f"{ORGANIZATIONS:,} organizations, loaded in {load_seconds:.1f} s; "
        f"{ROUNDS} rounds of {QUERIES_PER_ROUND} lists each, median)",
        "  per unit of work (transaction, role and claims, list of 50):",
        f"    RLS on:  {on_ms:6.3f} ms   RLS off: {off_ms:6.3f} ms   "
        f"ratio on / off: {on_ms / off_ms:.3f}  (goal <= 1.2)",
        "  per statement (the list alone, repeated in one transaction):",
        f"    RLS on:  {on_st:6.3f} ms   RLS off: {off_st:6.3f} ms   "
        f"ratio on / off: {on_st / off_st:.3f}",
        "  plan under RLS:",
        *("    " + line for line in plan.splitlines()),
    ]
    with capsys.disabled():
        print("\n".join(lines))
