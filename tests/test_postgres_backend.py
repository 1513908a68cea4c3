"""PostgreSQL-only behaviour: diagnosis of connection problems, plans, pool settings."""
from __future__ import annotations

import json
import socket

import asyncpg
import pytest

from stores import Settings, open_stores
from stores.errors import BackendUnavailable
from stores.postgres.sql import page_sql
from stores.query import Eq, PageRequest, Prefix
from stores.tables import USERS
from tests.support.databases import pg_settings
from tests.support.server import PgServer

SECRET = "Sup3r-Secret-Pa55word!"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _diagnosis(settings: Settings) -> BackendUnavailable:
    with pytest.raises(BackendUnavailable) as err:
        await open_stores(settings)
    assert SECRET not in str(err.value) and SECRET not in repr(err.value.args)
    return err.value


async def test_refused_port_is_diagnosed() -> None:
    error = await _diagnosis(Settings(use_postgres=True, db_host="127.0.0.1", db_port=_closed_port(),
                                      db_user="postgres", db_password=SECRET, connect_timeout=5))
    assert error.cause == "refused"
    assert "not running" in error.reason and "Start PostgreSQL" in error.fix


async def test_bad_password_is_diagnosed(pg_server: PgServer) -> None:
    if pg_server.cluster is None:
        pytest.skip("needs the throwaway cluster to require a password for one role")
    pg_server.execute("DO $$ BEGIN CREATE ROLE lokstra_pw LOGIN PASSWORD 'right-password'; "
                      "EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    pg_server.cluster.set_hba("local all all trust\n"
                              "host all lokstra_pw 127.0.0.1/32 scram-sha-256\n"
                              "host all all 127.0.0.1/32 trust\n")
    url = pg_server.dsn("postgres").replace("postgres@", f"lokstra_pw:{SECRET}@")
    error = await _diagnosis(Settings(use_postgres=True, database_url=url))
    assert error.cause == "auth_failed"
    assert "password" in error.reason.lower() and "DB_PASSWORD" in error.fix
    assert SECRET not in str(error)


async def test_missing_database_is_diagnosed(pg_server: PgServer) -> None:
    error = await _diagnosis(pg_settings(pg_server.dsn("no_such_database_here")))
    assert error.cause == "no_database"


async def test_unmigrated_database_is_diagnosed(fresh_db: str) -> None:
    error = await _diagnosis(pg_settings(fresh_db))
    assert error.cause == "not_migrated"
    assert "migrate up" in error.fix


async def test_statement_cache_size_zero_works_for_pgbouncer(migrated_db: str) -> None:
    stores = await open_stores(pg_settings(migrated_db, statement_cache_size=0))
    try:
        assert await stores.tenants.count() >= 0
        assert (await stores.users.page("nobody")).rows == []
    finally:
        await stores.close()


async def test_read_only_sessions_are_enforced_by_the_database(migrated_db: str) -> None:
    from stores.errors import ReadOnly
    from tests.support.factories import tenant

    stores = await open_stores(pg_settings(migrated_db, read_only=True))
    try:
        with pytest.raises(ReadOnly):
            await stores.tenants.create(tenant("ro-test"))
    finally:
        await stores.close()


async def test_console_sessions_carry_the_application_name(migrated_db: str) -> None:
    stores = await open_stores(pg_settings(migrated_db))
    try:
        async with stores.engine.connection() as conn:  # type: ignore[attr-defined]
            assert await conn.fetchval("SHOW application_name") == "lokstra-console"
    finally:
        await stores.close()


@pytest.mark.parametrize(
    "request_",
    [
        PageRequest("users", (Eq("tenant_id", "big"),), "username", (), None, 50),
        PageRequest("users", (Eq("tenant_id", "big"),), "username", (), "user-0050000", 50),
        PageRequest("users", (Eq("tenant_id", "big"),), "username", (Prefix("username", "user-00777"),), None, 50),
        PageRequest("users", (Eq("tenant_id", "big"),), "email", (Prefix("email", "e0042"),), "e0042000@x.io", 50),
        PageRequest("users", (Eq("tenant_id", "big"),), "username", (Prefix("username", "USER-00777", fold=True),), None, 50),
        PageRequest("users", (Eq("tenant_id", "big"),), "username", (Eq("status", "suspended"),), None, 50),
    ],
    ids=["first", "deep", "username-prefix", "email-prefix", "username-prefix-any-case", "status"],
)
async def test_user_pages_never_scan_the_table(migrated_db: str, request_: PageRequest) -> None:
    """With 100k users, every page shape is an index scan, also as a generic plan (PgBouncer)."""
    conn = await asyncpg.connect(migrated_db)
    try:
        if not await conn.fetchval("SELECT count(*) FROM lokstra_auth.users WHERE tenant_id = 'big'"):
            await conn.execute("INSERT INTO lokstra_auth.tenants (id, name, db_dsn, db_schema) VALUES ('big', 'Big', '', 'big')")
            await conn.execute("""
                INSERT INTO lokstra_auth.users (id, tenant_id, username, email, status)
                SELECT 'id' || g, 'big', 'user-' || lpad(g::text, 7, '0'), 'e' || lpad(g::text, 7, '0') || '@x.io',
                       CASE WHEN g % 10 = 0 THEN 'suspended' ELSE 'active' END
                FROM generate_series(1, 100000) g""")
            await conn.execute("ANALYZE lokstra_auth.users")
        sql, args = page_sql(USERS, "lokstra_auth", request_)
        for mode in ("force_custom_plan", "force_generic_plan"):
            await conn.execute(f"SET plan_cache_mode = {mode}")
            plan = await conn.fetchval("EXPLAIN (FORMAT JSON) " + sql, *args)
            text = json.dumps(json.loads(plan))
            assert "Seq Scan" not in text, f"{mode}: {text}"
            assert "Sort" not in text.replace('"Sort Key"', ""), f"{mode} sorts instead of walking the index: {text}"
    finally:
        await conn.close()


async def test_estimate_is_used_for_big_scopes(migrated_db: str) -> None:
    stores = await open_stores(pg_settings(migrated_db))
    try:
        async with stores.engine.connection() as conn:  # type: ignore[attr-defined]
            await conn.execute("INSERT INTO lokstra_auth.tenants (id, name, db_dsn, db_schema) VALUES ('est', 'Est', '', 'e') ON CONFLICT DO NOTHING")
            await conn.execute("""INSERT INTO lokstra_auth.users (id, tenant_id, username, email)
                                  SELECT 'id' || g, 'est', 'u' || g, 'u' || g || '@x.io' FROM generate_series(1, 30000) g""")
            await conn.execute("ANALYZE lokstra_auth.users")
        estimate = await stores.users.estimate_count("est")
        assert not estimate.exact
        assert 20_000 <= estimate.value <= 40_000
        assert await stores.users.count("est") == 30_000
    finally:
        await stores.close()


async def test_pool_is_sized_from_settings(migrated_db: str) -> None:
    stores = await open_stores(pg_settings(migrated_db, pool_min_size=2, pool_max_size=3, command_timeout=7))
    try:
        pool = stores.engine.pool  # type: ignore[attr-defined]
        assert (pool.get_min_size(), pool.get_max_size()) == (2, 3)
        async with stores.engine.connection() as conn:  # type: ignore[attr-defined]
            assert conn._config.command_timeout == 7
    finally:
        await stores.close()


async def test_ssl_required_by_client_but_off_on_server(pg_server: PgServer) -> None:
    url = pg_server.dsn("postgres") + "?sslmode=require"
    error = await _diagnosis(Settings(use_postgres=True, database_url=url))
    assert error.cause == "ssl_refused"
    assert "DB_SSL_MODE" in error.fix


async def test_a_server_that_never_answers_is_a_timeout() -> None:
    import asyncio

    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(10)
        writer.close()

    server = await asyncio.start_server(stall, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        error = await _diagnosis(Settings(use_postgres=True, db_host="127.0.0.1", db_port=port, db_user="x",
                                          db_password=SECRET, db_ssl_mode="disable", connect_timeout=0.5))
        assert error.cause == "timeout"
    finally:
        server.close()


async def test_a_connection_released_mid_transaction_comes_back_clean(migrated_db: str) -> None:
    """The pool's light reset still rolls back what a cancelled call left open."""
    stores = await open_stores(pg_settings(migrated_db, pool_min_size=1, pool_max_size=1))
    try:
        pool = stores.engine.pool  # type: ignore[attr-defined]
        conn = await pool.acquire()
        await conn.execute("BEGIN; INSERT INTO lokstra_auth.tenants (id, name, db_dsn, db_schema) VALUES ('half', 'Half', '', 'h')")
        assert conn.is_in_transaction()
        await pool.release(conn)
        assert not await stores.tenants.exists("half")
        async with stores.engine.connection() as again:  # type: ignore[attr-defined]
            assert not again.is_in_transaction()
    finally:
        await stores.close()


async def test_the_data_schema_can_be_lokstra_core(fresh_db: str) -> None:
    """Upstream's deployment example keeps the data in lokstra_core (pool setting
    ``schema: ${DB_AUTH_SCHEMA:…}``: cmd/lokstra-auth/config/auth_repository.yaml L43-L48;
    examples/01_deployment/migrations/01_lokstra_auth/001_auth_core.up.sql L8-L10): stores,
    a copy with its digests, and the not-migrated diagnosis all follow DB_AUTH_SCHEMA."""
    from migrations import MigrationRunner
    from stores.demo import DemoSpec, load_into_memory
    from stores.memory.engine import MemoryEngine
    from stores.transfer.copy import copy_tables, table_digests

    with pytest.raises(BackendUnavailable) as unmigrated:
        await open_stores(pg_settings(fresh_db, auth_schema="lokstra_core"))
    assert unmigrated.value.cause == "not_migrated" and "lokstra_core" in str(unmigrated.value)
    await MigrationRunner.from_dsn(fresh_db, data_schema="lokstra_core").up()
    stores = await open_stores(pg_settings(fresh_db, auth_schema="lokstra_core"))
    try:
        source = MemoryEngine()
        load_into_memory(source, DemoSpec(users=30))
        await copy_tables(source, stores.engine)
        assert await table_digests(stores.engine) == await table_digests(source)
        assert await stores.users.count("acme-corp") == 30
    finally:
        await stores.close()
    conn = await asyncpg.connect(fresh_db)
    try:
        assert await conn.fetchval("SELECT count(*) FROM lokstra_core.users") > 0
        assert await conn.fetchval("SELECT to_regnamespace('lokstra_auth') IS NULL")
    finally:
        await conn.close()
