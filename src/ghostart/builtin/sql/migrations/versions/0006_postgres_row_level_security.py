"""postgres: Supabase's auth shim and roles, and row-level security on every table

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25

PostgreSQL only; nothing happens on SQLite. The schema follows Supabase: the roles ``anon``,
``authenticated`` and ``service_role``, the claims in ``request.jwt.claims``, ``auth.uid()``,
``auth.role()`` and ``auth.jwt()``. On Supabase all of these exist and are left exactly as they
are; on plain PostgreSQL this creates them (the functions with Supabase's own definitions), and
marks what it created so that the downgrade drops that and nothing else. Roles belong to the
whole server, not to one database: they are created only if missing and never dropped.

ghostart's store runs a principal's transactions as ``authenticated`` with the principal's claims
and the system's (worker, sign-in) as ``service_role`` (see ghostart-postgres). The policies
below are the second line behind the services' checks: they enforce tenancy (a member reaches
only their organizations' rows) and the few role rules that guard against escalation (only
admins change memberships, settings, API keys and secrets; only admins and brand creators write
brand voices; employees see and change only their own posts). ``anon`` gets nothing.

Membership checks run in ``security definer`` functions with an empty ``search_path`` (schema
``ghostart``, which Supabase's Data API does not expose): they read ``user_organizations`` as its
owner, so policies on that table do not recurse (error 42P17), and policies call them as
``organization_id in (select ...)``, which PostgreSQL evaluates once per statement, as Supabase's
performance guide advises for ``(select auth.uid())``.

The schema is not FORCEd: the owner (the role that migrates) is not subject to its own policies,
which is what lets the definer functions read memberships; no unit of work ever runs as the owner.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

#: Comment on the auth objects this migration created (the downgrade drops only those).
SHIM = "ghostart: Supabase-compatible auth shim, created because Supabase's was missing"

TABLES = (
    "organizations",
    "users",
    "user_organizations",
    "brand_voices",
    "generations",
    "posts",
    "jobs",
    "usage_records",
    "secrets",
    "api_keys",
)

# Supabase's definitions (supabase/auth, migrations 20240624145325_recreate_auth_functions),
# without a pinned search_path, like Supabase's: they call only pg_catalog, and a plain SQL
# function without SET is inlined into the policy instead of being called (each call of a
# function with SET cost tens of microseconds, more than the posts list's own work).
# ``nullif(..., '')``: after a transaction that set them, the settings read '' rather than NULL.
AUTH_FUNCTIONS = {
    "auth.uid()": """
create function auth.uid() returns uuid language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$""",
    "auth.role()": """
create function auth.role() returns text language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$""",
    "auth.jwt()": """
create function auth.jwt() returns jsonb language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$""",
}

# name -> attributes, as Supabase creates them. Only a superuser may grant BYPASSRLS; without it
# service_role still reaches every row through its own "service role" policies below.
ROLES = {
    "anon": "nologin noinherit",
    "authenticated": "nologin noinherit",
    "service_role": "nologin noinherit bypassrls",
}


def _helpers(schema: str) -> dict[str, str]:
    """The membership functions policies call, reading the tables in ``schema``."""
    return {
        "ghostart.claimed_organization()": """
create function ghostart.claimed_organization() returns uuid
language sql stable as $$
  -- The organization a ghostart principal acts in. It only ever narrows membership.
  select nullif(auth.jwt() ->> 'ghostart_org', '')::uuid
$$""",
        "ghostart.member_organizations(text[])": f"""
create function ghostart.member_organizations(roles text[] default null) returns setof uuid
language sql stable security definer rows 10 set search_path to '' as $$
  -- The caller's organizations (with one of ``roles``, if given), narrowed to the claimed one.
  select m.organization_id
  from {schema}.user_organizations m
  where m.user_id = (select auth.uid())
    and (roles is null or m.role = any (roles))
    and coalesce(m.organization_id = (select ghostart.claimed_organization()), true)
$$""",
        "ghostart.visible_users()": f"""
create function ghostart.visible_users() returns setof uuid
language sql stable security definer rows 100 set search_path to '' as $$
  -- The caller, and the members of the caller's organizations.
  select (select auth.uid())
  union
  select m.user_id
  from {schema}.user_organizations m
  where m.organization_id in (select ghostart.member_organizations())
$$""",
    }


ME = "(select auth.uid())"
CLAIMED = "(select ghostart.claimed_organization())"


def _in(roles: str = "", column: str = "organization_id") -> str:
    """``column`` is one of the caller's organizations (where the caller has one of ``roles``).

    A plain subquery on the caller's own membership rows, which the read policy of
    ``user_organizations`` (OWN_ROWS) admits without calling a function: calling the security
    definer function once per statement cost more than the list of posts it guarded. Policies
    on ``user_organizations`` itself use :func:`_fn_in` (a subquery there would recurse).
    """
    role = f" and m.role = any ('{{{roles}}}'::text[])" if roles else ""
    return (
        f"{column} in (select m.organization_id from user_organizations m"
        f" where m.user_id = {ME}{role} and coalesce(m.organization_id = {CLAIMED}, true))"
    )


def _fn_in(roles: str = "", column: str = "organization_id") -> str:
    """As :func:`_in`, through the security definer function (for ``user_organizations``)."""
    argument = f"'{{{roles}}}'" if roles else ""
    return f"{column} in (select ghostart.member_organizations({argument}))"


MEMBER = _in()
ADMIN = _in("admin")
EDITOR = _in("admin,brand_creator")
#: A member reads their own membership rows (in the claimed organization) directly, and the
#: co-members' through the function; OR stops at the first, so reading one's own rows (what
#: every other policy does) calls no function.
OWN_ROWS = f"(user_id = {ME} and coalesce(organization_id = {CLAIMED}, true)) or {_fn_in()}"
POST_READER = f"{EDITOR} or (author_id = {ME} and {MEMBER})"
KEY_CREATOR = f"created_by = {ME} and {MEMBER}"

# (table, policy, command, using, with check), all for ``authenticated``.
POLICIES = [
    ("organizations", "members read", "select", _in(column="id"), None),
    # USING lets any member lock the row (SELECT ... FOR UPDATE: the quota check); only an
    # admin's change passes WITH CHECK.
    ("organizations", "admins change", "update", _in(column="id"), _in("admin", column="id")),
    ("users", "members read co-members", "select", "id in (select ghostart.visible_users())", None),
    ("users", "users change themselves", "update", f"id = {ME}", f"id = {ME}"),
    ("user_organizations", "members read", "select", OWN_ROWS, None),
    ("user_organizations", "admins add", "insert", None, _fn_in("admin")),
    ("user_organizations", "admins change roles", "update", _fn_in(), _fn_in("admin")),
    (
        "user_organizations",
        "admins remove, members leave",
        "delete",
        f"{_fn_in('admin')} or (user_id = {ME} and {_fn_in()})",
        None,
    ),
    ("brand_voices", "members read", "select", MEMBER, None),
    ("brand_voices", "editors add", "insert", None, EDITOR),
    ("brand_voices", "editors change", "update", EDITOR, EDITOR),
    ("brand_voices", "editors delete", "delete", EDITOR, None),
    ("generations", "members read", "select", MEMBER, None),
    ("generations", "members request", "insert", None, MEMBER),
    ("posts", "editors and authors read", "select", POST_READER, None),
    ("posts", "members write their own", "insert", None, f"author_id = {ME} and {MEMBER}"),
    ("posts", "editors and authors change", "update", POST_READER, POST_READER),
    # The outbox is the worker's, but a request writes its job in the same transaction: members
    # may add queued jobs and cancel queued ones of their organizations, nothing else.
    ("jobs", "members see", "select", MEMBER, None),
    (
        "jobs",
        "members queue",
        "insert",
        None,
        f"{MEMBER} and status = 'queued' and attempts = 0 and lease_owner is null"
        " and lease_until is null",
    ),
    (
        "jobs",
        "members cancel queued",
        "update",
        f"{MEMBER} and status = 'queued'",
        f"{MEMBER} and status = 'cancelled'",
    ),
    ("usage_records", "members read", "select", MEMBER, None),
    ("secrets", "admins read", "select", ADMIN, None),
    ("secrets", "admins add", "insert", None, ADMIN),
    ("secrets", "admins change", "update", ADMIN, ADMIN),
    ("api_keys", "admins and creators read", "select", f"{ADMIN} or ({KEY_CREATOR})", None),
    ("api_keys", "admins create", "insert", None, f"{ADMIN} and created_by = {ME}"),
    # A key's creator (who may have lost the admin role since) records its use, but can neither
    # revoke it nor bring a revoked key back; admins can change anything.
    (
        "api_keys",
        "admins change, creators touch",
        "update",
        f"{ADMIN} or ({KEY_CREATOR} and revoked_at is null)",
        f"{ADMIN} or ({KEY_CREATOR} and revoked_at is null)",
    ),
]

# What ``authenticated`` may do at all (the policies then pick the rows). Column lists keep the
# identity of a row (id, organization, author, creation time) out of reach of any UPDATE.
GRANTS = {
    "organizations": ["select", "update (name, settings)"],
    "users": ["select", "update (name, timezone, email_preferences)"],
    "user_organizations": ["select", "insert", "update (role)", "delete"],
    "brand_voices": ["select", "insert", "update (name, spec, version, updated_at)", "delete"],
    "generations": ["select", "insert"],
    "posts": [
        "select",
        "insert",
        "update (brand_voice_id, generation_id, request, body, status, from_cache, ai_generated,"
        " notice, review_note, reviewed_by, scheduled_at, published_at, external_id, external_url,"
        " error, revision, updated_at)",
    ],
    "jobs": [
        "select (id, organization_id, subject_id, status)",
        "insert",
        "update (status, updated_at)",
    ],
    "usage_records": ["select"],
    "secrets": ["select", "insert", "update (name, ciphertext, updated_at)"],
    "api_keys": ["select", "insert", "update (last_used_at, revoked_at)"],
}


def _run(sql: str) -> None:
    op.execute(sa.text(sql))


def _scalar(sql: str) -> object:
    return op.get_bind().execute(sa.text(sql)).scalar()


def _ident(name: str) -> str:
    return str(op.get_bind().dialect.identifier_preparer.quote(name))


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _roles() -> None:
    for name, attributes in ROLES.items():
        fallback = attributes.replace(" bypassrls", "")
        on_denied = (
            f"when insufficient_privilege then create role {name} {fallback};"
            if fallback != attributes
            else ""
        )
        _run(
            f"""
do $$
begin
  if not exists (select from pg_catalog.pg_roles where rolname = '{name}') then
    begin
      create role {name} {attributes};
    exception
      when duplicate_object or unique_violation then null;  -- created by a concurrent migration
      {on_denied}
    end;
  end if;
end $$"""
        )
    # The store switches to these roles with SET ROLE, which needs membership (superusers need
    # none; on Supabase, postgres already has it).
    _run(
        """
do $$
declare
  r text;
begin
  if not (select rolsuper from pg_catalog.pg_roles where rolname = current_user) then
    foreach r in array array['anon', 'authenticated', 'service_role'] loop
      if not pg_catalog.pg_has_role(current_user, r, 'MEMBER') then
        execute format('grant %I to %I', r, current_user);
      end if;
    end loop;
  end if;
end $$"""
    )


def _auth_shim() -> None:
    if _scalar("select to_regnamespace('auth') is null"):
        _run("create schema auth")
        _run(f"comment on schema auth is {_literal(SHIM)}")
        _run("grant usage on schema auth to anon, authenticated, service_role")
    for signature, definition in AUTH_FUNCTIONS.items():
        if _scalar(f"select to_regprocedure({_literal(signature)}) is null"):
            _run(definition)
            _run(f"comment on function {signature} is {_literal(SHIM)}")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    schema = _ident(str(_scalar("select current_schema()")))
    _roles()
    _auth_shim()

    _run("create schema if not exists ghostart")
    _run("revoke all on schema ghostart from public, anon")
    _run("grant usage on schema ghostart to authenticated, service_role")
    for signature, definition in _helpers(schema).items():
        _run(definition)
        _run(f"revoke all on function {signature} from public, anon")
        _run(f"grant execute on function {signature} to authenticated, service_role")

    _run(f"grant usage on schema {schema} to authenticated, service_role")
    # Supabase's default privileges give anon and authenticated everything on new tables in
    # public: take all of it back, then grant what each role needs.
    for table in (*TABLES, "alembic_version"):
        _run(f"revoke all on table {table} from public, anon, authenticated, service_role")
        _run(f"alter table {table} enable row level security")
    sequence = _scalar("select pg_get_serial_sequence('usage_records', 'id')")
    if sequence:
        _run(f"revoke all on sequence {sequence} from public, anon, authenticated")
        _run(f"grant usage, select on sequence {sequence} to service_role")
    for table in TABLES:
        _run(f"grant select, insert, update, delete on table {table} to service_role")
        _run(
            f'create policy "service role" on {table} as permissive for all to service_role '
            "using (true) with check (true)"
        )
        for privilege in GRANTS[table]:
            _run(f"grant {privilege} on table {table} to authenticated")
    for table, name, command, using, check in POLICIES:
        sql = f'create policy "{name}" on {table} as permissive for {command} to authenticated'
        if using is not None:
            sql += f" using ({using})"
        if check is not None:
            sql += f" with check ({check})"
        _run(sql)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, name, *_ in POLICIES:
        _run(f'drop policy if exists "{name}" on {table}')
    for table in TABLES:
        _run(f'drop policy if exists "service role" on {table}')
        _run(f"revoke all on table {table} from anon, authenticated, service_role")
    for table in (*TABLES, "alembic_version"):
        _run(f"alter table {table} disable row level security")
    sequence = _scalar("select pg_get_serial_sequence('usage_records', 'id')")
    if sequence:
        _run(f"revoke all on sequence {sequence} from service_role")
    for signature in reversed(_helpers("public")):
        _run(f"drop function if exists {signature}")
    _drop_schema_if_empty("ghostart")
    # The auth shim: only what this migration created (Supabase's own objects carry no mark).
    for signature in AUTH_FUNCTIONS:
        created = _scalar(
            f"select obj_description(to_regprocedure({_literal(signature)}), 'pg_proc') = "
            f"{_literal(SHIM)}"
        )
        if created:
            _run(f"drop function {signature}")
    if _scalar(
        f"select obj_description(to_regnamespace('auth'), 'pg_namespace') = {_literal(SHIM)}"
    ):
        _drop_schema_if_empty("auth")


def _drop_schema_if_empty(name: str) -> None:
    _run(
        f"""
do $$
begin
  drop schema if exists {name};
exception
  when dependent_objects_still_exist then null;  -- something else lives there now: keep it
end $$"""
    )
