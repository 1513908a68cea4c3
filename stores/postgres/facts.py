"""Facts about a PostgreSQL server and the console's own session, for `status` and `check`.

The command line presents them; the queries live here (the UI never writes SQL).
"""
from __future__ import annotations

from typing import Any

import asyncpg

from stores.layouts import LayoutReport, recognise

SERVER_SUMMARY_SQL = """
SELECT current_setting('server_version') AS version, current_database() AS database, current_user AS "user",
       pg_is_in_recovery() AS standby, pg_database_size(current_database()) AS size,
       COALESCE((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false) AS ssl"""


async def server_summary(conn: asyncpg.Connection) -> dict[str, Any]:
    """Version, database, role, standby or not, database size, SSL of this session."""
    return dict(await conn.fetchrow(SERVER_SUMMARY_SQL))


async def server_version(conn: asyncpg.Connection) -> tuple[int, str]:
    """``server_version_num`` and the version text."""
    row = await conn.fetchrow("SELECT current_setting('server_version_num')::int AS number, "
                              "current_setting('server_version') AS text")
    return int(row["number"]), row["text"]


async def table_privileges(conn: asyncpg.Connection, tables: list[str], wanted: str) -> list[asyncpg.Record]:
    """Per table: ``t``, ``present`` and whether the current role has ``wanted`` on it (``allowed``)."""
    return await conn.fetch(
        """SELECT t, to_regclass(t) IS NOT NULL AS present,
                  to_regclass(t) IS NOT NULL AND has_table_privilege(t, $2) AS allowed
           FROM unnest($1::text[]) AS t""",
        tables, wanted)


async def in_recovery(conn: asyncpg.Connection) -> bool:
    return bool(await conn.fetchval("SELECT pg_is_in_recovery()"))


async def pg_stat_statements_state(conn: asyncpg.Connection) -> asyncpg.Record:
    """``available`` (packaged), ``created`` (extension version or None), ``preload`` (shared_preload_libraries)."""
    return await conn.fetchrow(
        """SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements') AS available,
                  (SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements') AS created,
                  current_setting('shared_preload_libraries') AS preload""")


async def own_ssl(conn: asyncpg.Connection) -> asyncpg.Record | None:
    """``ssl``, ``version``, ``cipher`` of this session (None when pg_stat_ssl has no row)."""
    return await conn.fetchrow("SELECT ssl, version, cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()")


async def connection_limit(conn: asyncpg.Connection) -> int:
    """Connections ordinary roles may open: max_connections less the superuser reserve."""
    return int(await conn.fetchval(
        "SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int"))


READ_PRIVILEGES = "SELECT"
WRITE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
"""What the console needs on the six tables, read-only and read-write (``has_table_privilege`` form)."""


async def table_columns(conn: asyncpg.Connection, schema: str) -> dict[str, frozenset[str]]:
    """Every table of ``schema`` with its column names (what ``stores.layouts.recognise`` reads)."""
    rows = await conn.fetch(
        """SELECT c.relname AS table_name, array_agg(a.attname::text) AS columns
           FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
           WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
           GROUP BY c.relname""",
        schema)
    return {row["table_name"]: frozenset(row["columns"]) for row in rows}


async def layout(conn: asyncpg.Connection, schema: str) -> LayoutReport:
    """Which of lokstra-auth's layouts ``schema`` holds."""
    return recognise(await table_columns(conn, schema))
