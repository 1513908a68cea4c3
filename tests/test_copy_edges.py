"""Verified copy on data with every edge, and proof that the SQL digest is the Python one.

The digest of a table is computed in Python (memory, rows streaming past) or in SQL
(PostgreSQL); a copy is only as good as the claim that both compute the same thing. These
tests check it row by row on values chosen to break a careless encoding: astral characters,
RTL marks, combining characters, control characters, maximal lengths, NULL in every nullable
column, nested and empty JSON, awkward numbers, unicode keys, timestamps at the microsecond
and at the ends of the calendar, revoked keys and grants, soft-deleted rows.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from stores import open_stores
from stores.demo import DemoSpec, load_into_memory
from stores.memory.bulk import MemorySnapshot
from stores.memory.engine import MemoryEngine
from stores.models import App, AppKey, Branch, Tenant, User, UserApp
from stores.tables import ALL_TABLES, USERS
from stores.transfer.copy import CopyFailed, copy_tables, table_digests
from stores.transfer.digest import (
    RowEncoder,
    TableDigest,
    column_kinds,
    jsonb_text,
    postgres_keyed_sql,
    postgres_row_text,
    row_text,
)
from tests.support.databases import pg_settings, truncate_all

ASTRAL = "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀 🏳️‍🌈 𠜎"
RTL = "\u200fשלום\u200f مرحبا \u202eevil\u202c"
COMBINING = "e\u0301 A\u030a Å"
CONTROL = 'quote " backslash \\ newline \n tab \t cr \r bell \x07 unit \x1f del \x7f nbsp \xa0 ls \u2028'

MICRO = datetime(2026, 1, 5, 9, 0, 0, 123456)
ONE_MICRO = datetime(2026, 1, 5, 9, 0, 0, 1)
HALF = datetime(2026, 1, 5, 9, 0, 0, 500000)
FAR_PAST = datetime(1, 1, 1, 0, 0, 0, 1)
FAR_FUTURE = datetime(9999, 12, 31, 23, 59, 59, 999998)
BEFORE_1900 = datetime(1066, 10, 14, 13, 30, 0, 90)

FLOATS = [1.5, 1e20, 1e22, -0.0, 0.1 + 0.2, 1e-7, 1.5e-07, 2.5e-300, 123456789.125, -2.5, 1.0]
INTS = [0, -1, 2**53 + 1, 2**63, -(2**70), 10**30]
JSON_EDGE = {
    "nested": {"a": {"b": [1, 2, {"c": None, "d": [], "e": {}}]}},
    "empty_object": {},
    "empty_list": [],
    "floats": FLOATS,
    "ints": INTS,
    "unicode keys": {"ключ": "значение", "😀": ASTRAL, "b": 1, "aa": 2, "é": 3, "": "empty key", "Z": RTL},
    "strings": [CONTROL, RTL, COMBINING, "", " "],
    "scalars": [True, False, None],
}


def long(prefix: str, length: int, filler: str = "x") -> str:
    text = prefix + filler * length
    return text[:length]


def edge_rows() -> dict[str, list]:
    """Validated models covering every edge, per table, in dependency order."""
    t1 = long("edge-" + "x", 255)
    t2 = "rtl-tenant"
    t3 = "inf-tenant"
    tenants = [
        Tenant(id=t1, name=long(ASTRAL, 255, "😀"), domain=long("d", 255), db_dsn="postgres://u:p%40ss'\"\\@h/db?x=" + ASTRAL,
               db_schema=long("s", 255), status="active", config=JSON_EDGE, settings={"max_users": 10**12, "ratio": 0.75},
               metadata={}, created_at=MICRO, updated_at=FAR_FUTURE, deleted_at=None),
        Tenant.model_construct(id=t2, name=RTL + COMBINING, domain=None, db_dsn="", db_schema="", status="deleted", config=None,
               settings=None, metadata=None, created_at=FAR_PAST, updated_at=ONE_MICRO, deleted_at=HALF),
        Tenant(id=t3, name="Infinity " + CONTROL, db_dsn="x", db_schema="y", status="suspended",
               config={"list": [[], [[]], [{}]]}, created_at=datetime.min, updated_at=datetime.max, deleted_at=BEFORE_1900),
    ]
    apps = [
        App(id="web", tenant_id=t1, name=long(COMBINING, 255, "é"), type="web", status="active",
            config={"callback": "https://ex.example/" + RTL}, metadata=None, created_at=MICRO, updated_at=MICRO),
        App(id=long("a", 255), tenant_id=t1, name="second", type="service", status="disabled", config=None,
            metadata={"floats": FLOATS}, created_at=ONE_MICRO, updated_at=HALF),
        App(id="mobile", tenant_id=t2, name=ASTRAL, type="mobile", created_at=FAR_PAST, updated_at=FAR_FUTURE),
    ]
    branches = [
        Branch(id="b1", tenant_id=t1, app_id="web", code=long("C", 100), name=long(RTL, 255, "ש"), type="store",
               status="active", address={"line1": CONTROL, "geo": {"lat": -6.2, "lng": 106.816666}},
               contact={}, settings=None, metadata={"ints": INTS}, created_at=MICRO, updated_at=MICRO),
        Branch(id="b2", tenant_id=t1, app_id="web", code="B-2", name="nulls", type="other", status="disabled",
               created_at=ONE_MICRO, updated_at=ONE_MICRO),
    ]
    users = [
        User(id="u-max", tenant_id=t1, username=long("u" + ASTRAL, 255, "ü"), email=long("m", 242) + "@mail.example",
             full_name=long(COMBINING + RTL, 255, "a"), status="active", metadata=JSON_EDGE, created_at=MICRO,
             updated_at=HALF, deleted_at=None),
        # NULL where lokstra-auth wants '' (a row another program wrote): copied as it is.
        User.model_construct(id="u-null", tenant_id=t1, username="nulls", email="n@x.example", full_name=None, status="suspended",
             metadata=None, created_at=ONE_MICRO, updated_at=ONE_MICRO, deleted_at=None),
        User(id="u-deleted", tenant_id=t1, username="soft " + CONTROL, email="d@x.example", full_name="Gone",
             status="deleted", metadata={"reason": RTL}, created_at=FAR_PAST, updated_at=FAR_FUTURE, deleted_at=MICRO),
        User(id="u-rtl", tenant_id=t2, username=RTL, email="ا@مثال.example", full_name=ASTRAL, status="active",
             metadata={"😀": {"": []}}, created_at=datetime.min, updated_at=datetime.max),
    ]
    grants = [
        UserApp(tenant_id=t1, app_id="web", user_id="u-max", status="active", granted_at=MICRO, revoked_at=None),
        UserApp(tenant_id=t1, app_id="web", user_id="u-deleted", status="revoked", granted_at=FAR_PAST, revoked_at=FAR_FUTURE),
        UserApp(tenant_id=t1, app_id=long("a", 255), user_id="u-null", status="revoked", granted_at=ONE_MICRO, revoked_at=HALF),
    ]
    keys = [
        AppKey(id="key-live", tenant_id=t1, app_id="web", key_id="kid-live", prefix=long("sk_live_", 50),
               secret_hash=hashlib.sha3_256(b"never kept").hexdigest(), key_type="secret", environment="live",
               user_id="u-max", name=long(ASTRAL, 255, "k"), scopes=["read", "ü", ASTRAL], metadata={"rotated_from": None},
               created_at=MICRO, expires_at=FAR_FUTURE, last_used=ONE_MICRO, revoked=False, revoked_at=None),
        AppKey(id="key-revoked", tenant_id=t1, app_id="web", key_id="kid-revoked", prefix="sk_test_",
               secret_hash=hashlib.sha3_256(b"old").hexdigest(), key_type="public", environment="test", user_id=None,
               name="revoked", scopes=[], metadata={}, created_at=FAR_PAST, expires_at=None, last_used=None,
               revoked=True, revoked_at=HALF),
        AppKey.model_construct(id="key-nulls", tenant_id=t2, user_id=None, app_id="mobile", key_id="kid-nulls", prefix="",
               secret_hash="", key_type="secret", environment="live", name="n", scopes=None, metadata=None,
               created_at=BEFORE_1900, expires_at=None, last_used=None, revoked=False, revoked_at=None),
    ]
    return {"tenants": tenants, "apps": apps, "branches": branches, "users": users, "user_apps": grants, "app_keys": keys}


def edge_engine() -> MemoryEngine:
    engine = MemoryEngine()
    for spec in ALL_TABLES:
        engine.load(spec, edge_rows()[spec.name])
    return engine


def contents(engine: MemoryEngine) -> dict[str, dict[tuple, dict]]:
    return {name: {key: dict(model.__dict__) for key, model in table.rows.items()} for name, table in engine.tables.items()}


async def postgres_contents(dsn: str) -> dict[str, dict[tuple, dict]]:
    """Every row through a direct connection (not the engine under test), decoded as the engine does."""
    from stores.postgres.engine import init_connection

    conn = await asyncpg.connect(dsn)
    try:
        await init_connection(conn)
        found: dict[str, dict[tuple, dict]] = {}
        for spec in ALL_TABLES:
            records = await conn.fetch(f"SELECT {', '.join(chr(34) + c + chr(34) for c in spec.columns)} FROM {spec.relation('lokstra_auth')}")
            found[spec.name] = {tuple(r[c] for c in spec.key_columns): dict(zip(spec.columns, r)) for r in records}
        return found
    finally:
        await conn.close()


@pytest.fixture
async def pg(migrated_db: str) -> AsyncIterator:
    stores = await open_stores(pg_settings(migrated_db))
    await truncate_all(stores)
    try:
        yield stores
    finally:
        await stores.close()


# ----- the encoding -----------------------------------------------------------------------------

def test_the_fast_encoder_writes_what_the_reference_writes() -> None:
    for spec in ALL_TABLES:
        encoder = RowEncoder(column_kinds(spec))
        for model in edge_rows()[spec.name]:
            row = tuple(getattr(model, c) for c in spec.columns)
            assert encoder.text(row) == row_text(encoder.kinds, row), spec.name
            json.loads(encoder.text(row))  # and it is JSON


def test_the_digest_does_not_depend_on_row_order_and_sees_every_change() -> None:
    rows = [tuple(getattr(m, c) for c in USERS.columns) for m in edge_rows()["users"]]
    forward, backward = TableDigest("users"), TableDigest("users")
    forward.add_rows(rows)
    backward.add_rows(rows[::-1])
    assert forward.same_as(backward) and forward.rows == 4
    for position in range(len(USERS.columns)):  # any single column changed: a different digest
        changed = list(rows[0])
        kind = column_kinds(USERS)[position]
        changed[position] = datetime(2000, 1, 1) if kind == "timestamp" else {"x": 1} if kind == "json" else "other"
        other = TableDigest("users")
        other.add_rows([tuple(changed), *rows[1:]])
        assert not other.same_as(forward), USERS.columns[position]


async def test_jsonb_text_is_what_postgresql_prints(migrated_db: str) -> None:
    values = [JSON_EDGE, *FLOATS, *INTS, {}, [], "", CONTROL, {"b": 1, "a": 2, "aa": 3, "é": 4, "ab": 5},
              [1e-5, 0.0001, 1e16, 1.5e16, 1e21, 5e-324, -1e-7], {"k": {"k": {"k": [True, None, False]}}}]
    conn = await asyncpg.connect(migrated_db)
    try:
        for value in values:
            printed = await conn.fetchval("SELECT $1::jsonb::text", json.dumps(value, ensure_ascii=False))
            assert jsonb_text(value) == printed, value
    finally:
        await conn.close()


async def test_sql_and_python_give_the_same_text_and_hash_for_every_edge_row(pg, migrated_db: str) -> None:
    source = edge_engine()
    await copy_tables(source, pg.engine)
    conn = await asyncpg.connect(migrated_db)
    try:
        for spec in ALL_TABLES:
            keys = ", ".join(f'"{c}"' for c in spec.key_columns)
            sql_text = {tuple(r[:-1]): r[-1] for r in
                        await conn.fetch(f"SELECT {keys}, {postgres_row_text(spec)} FROM {spec.relation('lokstra_auth')}")}
            sql_hash = {tuple(r[:-1]): r[-1] for r in await conn.fetch(postgres_keyed_sql(spec, "lokstra_auth"))}
            encoder = RowEncoder(column_kinds(spec))
            snapshot = MemorySnapshot(source)
            python_rows = [row async for batch in snapshot.batches(spec, 100) for row in batch]
            assert len(python_rows) == len(sql_text) == len(edge_rows()[spec.name])
            for row in python_rows:
                key = tuple(row[spec.columns.index(c)] for c in spec.key_columns)
                assert encoder.text(row) == sql_text[key], (spec.name, key)
                assert hashlib.sha256(encoder.encode(row)).digest() == sql_hash[key], (spec.name, key)
    finally:
        await conn.close()
    sql_digests, python_digests = await table_digests(pg.engine), await table_digests(source)
    for name, digest in python_digests.items():
        assert digest.same_as(sql_digests[name]), name


# ----- copies ------------------------------------------------------------------------------------

async def test_edge_rows_round_trip_memory_postgres_memory_field_by_field(pg, migrated_db: str) -> None:
    source = edge_engine()
    there = await copy_tables(source, pg.engine)
    assert [t.rows for t in there.tables] == [len(edge_rows()[s.name]) for s in ALL_TABLES]
    stored = await postgres_contents(migrated_db)
    back = MemoryEngine()
    again = await copy_tables(pg.engine, back)
    assert [t.digest for t in again.tables] == [t.digest for t in there.tables]
    original, returned = contents(source), contents(back)
    for spec in ALL_TABLES:
        assert original[spec.name].keys() == stored[spec.name].keys() == returned[spec.name].keys(), spec.name
        for key, row in original[spec.name].items():
            assert stored[spec.name][key] == row, (spec.name, key)
            assert returned[spec.name][key] == row, (spec.name, key)
            for column, value in row.items():  # same Python types too, except what jsonb turns into ints
                if not isinstance(value, (dict, list)):
                    assert type(returned[spec.name][key][column]) is type(value), (spec.name, key, column)
    # the infinities: datetime.min/max are stored as -infinity/infinity, and come back as they were
    conn = await asyncpg.connect(migrated_db)
    try:
        assert await conn.fetchval("SELECT created_at::text FROM lokstra_auth.tenants WHERE id = 'inf-tenant'") == "-infinity"
    finally:
        await conn.close()


async def test_edge_rows_copy_memory_to_memory_and_postgres_to_postgres(pg, migrated_db: str, pg_server,
                                                                        migrated_template: str) -> None:
    source = edge_engine()
    twin = MemoryEngine()
    await copy_tables(source, twin)
    assert contents(twin) == contents(source)
    await copy_tables(source, pg.engine)
    other_dsn = pg_server.create_database("copy_twin", template=migrated_template)
    other = await open_stores(pg_settings(other_dsn))
    try:
        await truncate_all(other)
        report = await copy_tables(pg.engine, other.engine)
        assert report.rows == sum(len(rows) for rows in edge_rows().values())
        assert await postgres_contents(other_dsn) == await postgres_contents(migrated_db)
    finally:
        await other.close()
        pg_server.drop_database(other_dsn)


async def test_demo_data_postgres_to_memory_equals_the_source_row_by_row(pg) -> None:
    source = MemoryEngine()
    load_into_memory(source, DemoSpec(users=1500))
    await copy_tables(source, pg.engine)
    back = MemoryEngine()
    seen: dict[str, list[tuple[int, int]]] = {}
    report = await copy_tables(pg.engine, back, batch_size=700,
                               progress=lambda table, done, expected: seen.setdefault(table, []).append((done, expected)))
    assert contents(back) == contents(source)
    for table, steps in seen.items():
        done = [d for d, _ in steps]
        assert done == sorted(done) and steps[-1][0] == steps[-1][1] == next(t.rows for t in report.tables if t.table == table)
    assert len(seen["users"]) > 3, "progress comes batch by batch"


async def test_a_json_null_counts_as_sql_null(pg, migrated_db: str) -> None:
    """lokstra-auth (Go) may store a nil map as the JSON value null; Python reads it as None."""
    source = edge_engine()
    await copy_tables(source, pg.engine)
    conn = await asyncpg.connect(migrated_db)
    try:
        await conn.execute("UPDATE lokstra_auth.users SET metadata = 'null'::jsonb WHERE id = 'u-null'")
    finally:
        await conn.close()
    back = MemoryEngine()
    await copy_tables(pg.engine, back)
    assert back.tables["users"].rows[(edge_rows()["tenants"][0].id, "u-null")].metadata is None


async def test_the_postgres_source_is_read_from_one_snapshot(pg, migrated_db: str) -> None:
    """Rows written while the copy runs are not in it, and the digests still match."""
    source = MemoryEngine()
    load_into_memory(source, DemoSpec(users=600))
    await copy_tables(source, pg.engine)
    writer = await asyncpg.connect(migrated_db)
    written = []

    def progress(table: str, done: int, expected: int) -> None:
        if table == "tenants" and done == expected and not written:
            written.append(asyncio.ensure_future(writer.execute(
                "INSERT INTO lokstra_auth.users (id, tenant_id, username, email, status, created_at, updated_at) "
                "VALUES ('late', 'acme-corp', 'late', 'late@x.example', 'active', now(), now())")))

    try:
        back = MemoryEngine()
        await copy_tables(pg.engine, back, batch_size=100, progress=progress)
        await written[0]
        assert ("acme-corp", "late") not in back.tables["users"].rows
        assert contents(back) == contents(source)
    finally:
        await writer.close()


async def test_memory_target_refuses_rows_unless_replace_and_keeps_them_on_failure() -> None:
    source = edge_engine()
    target = MemoryEngine()
    load_into_memory(target, DemoSpec(users=5))
    before = contents(target)
    with pytest.raises(CopyFailed, match="not empty"):
        await copy_tables(source, target)
    assert contents(target) == before
    await copy_tables(source, target, replace=True)
    assert contents(target) == contents(source)


async def test_a_duplicate_key_in_a_memory_load_raises_the_store_error(pg) -> None:
    """The bulk memory loader checks constraints in bulk and reports like a row-by-row load."""
    source = MemoryEngine()
    load_into_memory(source, DemoSpec(users=20))
    first = next(iter(source.tables["users"].rows.values()))
    clash = first.model_copy(update={"id": "u-clash"})  # same username and email, another id
    source.tables["users"].rows[clash.key()] = clash  # only possible by going around the stores
    with pytest.raises(CopyFailed) as failed:
        await copy_tables(source, MemoryEngine())
    assert "users" in str(failed.value) and "username per tenant" in str(failed.value)
    assert "unchanged" in str(failed.value)


async def test_a_role_that_cannot_alter_the_tables_copies_with_row_by_row_key_checks(migrated_db: str) -> None:
    """The load drops and re-adds the foreign keys when it may (the tables' owner); another
    role loads with the constraints in place, and the result is the same."""
    role = f"copy_writer_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(migrated_db)
    try:
        await admin.execute(f'CREATE ROLE "{role}" LOGIN; GRANT USAGE ON SCHEMA lokstra_auth TO "{role}"; '
                            f'GRANT SELECT, INSERT, TRUNCATE ON ALL TABLES IN SCHEMA lokstra_auth TO "{role}"')
        parts = urlsplit(migrated_db)
        dsn = urlunsplit((parts.scheme, f"{role}@{parts.hostname}:{parts.port}", parts.path, "", ""))
        stores = await open_stores(pg_settings(dsn))
        try:
            await copy_tables(edge_engine(), stores.engine, replace=True)
            assert await postgres_contents(migrated_db) == contents(edge_engine())
            orphan = edge_engine()
            grant = next(iter(orphan.tables["user_apps"].rows.values()))
            orphan.tables["user_apps"].add(grant.model_copy(update={"user_id": "ghost"}))
            with pytest.raises(CopyFailed, match="fk_user_apps_user"):
                await copy_tables(orphan, stores.engine, replace=True)
        finally:
            await stores.close()
        assert await admin.fetchval("SELECT count(*) FROM pg_constraint WHERE contype = 'f' "
                                    "AND connamespace = 'lokstra_auth'::regnamespace AND convalidated") == 6
    finally:
        await admin.execute(f'DROP OWNED BY "{role}"; DROP ROLE "{role}"')
        await admin.close()


INDEX_DEFINITIONS = """
SELECT i.relname, pg_get_indexdef(i.oid), x.indisvalid
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid
WHERE c.relnamespace = 'lokstra_auth'::regnamespace ORDER BY i.relname"""


async def test_a_load_builds_the_indexes_it_dropped_again_exactly(migrated_db: str) -> None:
    """The loader drops the plain indexes for the COPY and builds them after it: the same
    names and definitions, valid, and used by the pages; a failed load keeps the old ones."""
    admin = await asyncpg.connect(migrated_db)
    try:
        before = [tuple(r) for r in await admin.fetch(INDEX_DEFINITIONS)]
        assert len(before) > 20
        stores = await open_stores(pg_settings(migrated_db))
        try:
            source = MemoryEngine()
            load_into_memory(source, DemoSpec(users=50))
            await copy_tables(source, stores.engine, replace=True)
            assert [tuple(r) for r in await admin.fetch(INDEX_DEFINITIONS)] == before
            orphan = MemoryEngine()
            load_into_memory(orphan, DemoSpec(users=5))
            grant = next(iter(orphan.tables["user_apps"].rows.values()))
            orphan.tables["user_apps"].add(grant.model_copy(update={"user_id": "ghost"}))
            with pytest.raises(CopyFailed):
                await copy_tables(orphan, stores.engine, replace=True)
            assert [tuple(r) for r in await admin.fetch(INDEX_DEFINITIONS)] == before
            assert await admin.fetchval("SELECT count(*) FROM lokstra_auth.users") == 90
        finally:
            await stores.close()
    finally:
        await admin.close()
