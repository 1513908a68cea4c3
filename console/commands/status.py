"""``lokstra-console status``: the backend, its connection, the schema and the rows per table.

On PostgreSQL (``--dsn``, or ``USE_POSTGRES=true`` with the DB_* settings): the server and
database, SSL, the migration state, and the rows of each table (the planner's estimate on
big tables, marked ``~``; exact below 10,000 rows). On the memory backend: the demo data's
rows, which are gone when the process exits.

Exit codes: 0 the backend is usable and the schema current; 1 the schema is not current
(pending migrations, drift); 2 usage (bad options or settings); 3 the database cannot be
used (unreachable, authentication, no database). Passwords are never printed.
"""
from __future__ import annotations

import argparse
import asyncio
from typing import Any

from console.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    Output,
    Target,
    command_parser,
    postgres_target,
)
from migrations import pooler
from stores import Settings, Stores, open_stores
from stores.errors import BackendUnavailable, LayoutUnsupported
from stores.postgres import facts
from stores.tables import ALL_TABLES

EPILOG = """exit codes:
  0  the backend is usable and the schema current
  1  the schema is not current (pending migrations, drift)
  2  usage (bad options or settings)
  3  the database cannot be used (unreachable, authentication, no database)"""


def add_parser(subparsers: Any) -> None:
    command_parser(subparsers, "status", "backend, connection, migration state and rows per table", __doc__, EPILOG, run)


def run(args: argparse.Namespace) -> int:
    out = Output(args.json)
    try:
        target = postgres_target(args)
    except ValueError as exc:
        return out.bad_settings(exc)
    if target is None:
        return asyncio.run(_memory_status(out))
    out.use(target)
    try:
        return asyncio.run(_postgres_status(target, out))
    except Exception as exc:
        return out.fail(exc)


async def table_counts(stores: Stores) -> dict[str, dict[str, Any]]:
    """Rows per table: exact in memory; on PostgreSQL the planner's estimate for big tables
    (``exact`` False) and ``count(*)`` for small ones."""
    if stores.backend == "memory":
        async with stores.engine.snapshot() as reader:  # type: ignore[attr-defined]
            return {spec.name: {"rows": await reader.count(spec), "exact": True} for spec in ALL_TABLES}
    counts: dict[str, dict[str, Any]] = {}
    for spec in ALL_TABLES:
        try:
            found = await stores.engine.estimate(spec, (), ())
        except LayoutUnsupported as exc:  # a table this layout shapes differently: say so, count the rest
            counts[spec.name] = {"rows": None, "exact": True, "unavailable": exc.reason}
            continue
        counts[spec.name] = {"rows": found.value, "exact": found.exact}
    return counts


def show_counts(out: Output, counts: dict[str, dict[str, Any]] | None) -> None:
    if counts is None:
        out.line("rows:     unknown (the lokstra_auth tables do not exist yet)")
        return
    out.line("rows:")
    for table, count in counts.items():
        if count["rows"] is None:
            out.line(f"  {table:<10} {'n/a':>12}  ({count['unavailable']})")
            continue
        out.line(f"  {table:<10} {'' if count['exact'] else '~'}{count['rows']:>12,}")
    if not all(count["exact"] for count in counts.values()):
        out.line("  (~ the planner's estimate: exact counts of big tables are expensive)")


async def _memory_status(out: Output) -> int:
    stores = await open_stores(Settings(use_postgres=False))
    counts = await table_counts(stores)
    out.line("backend:  memory (demo data; everything is lost when the process exits)")
    out.line("hint:     USE_POSTGRES=true or --dsn to look at a PostgreSQL database")
    show_counts(out, counts)
    return out.document(EXIT_OK, {"backend": "memory", "rows": counts})


async def _postgres_status(target: Target, out: Output) -> int:
    from migrations import MigrationRunner

    conn = await target.connect()
    try:
        server = await facts.server_summary(conn)
        found = await pooler.detect(conn)
        layout = await facts.layout(conn, target.schema)
    finally:
        await conn.close()
    schema = await MigrationRunner(target.connect).status()
    counts = None
    try:
        stores = await open_stores(target.store_settings(pool_min_size=1, pool_max_size=1))
    except BackendUnavailable as exc:
        if exc.cause != "not_migrated":
            raise
    else:
        try:
            counts = await table_counts(stores)
        finally:
            await stores.close()
    out.line(f"backend:  postgres {target.display}")
    out.line(f"server:   PostgreSQL {server['version']}{' (a read-only standby)' if server['standby'] else ''}, "
             f"ssl {'on' if server['ssl'] else 'off'}, database size {server['size'] / 2**20:,.1f} MiB")
    if found is not None:
        out.line(f"pooler:   {found.describe()}")
    out.line(f"schema:   {schema.headline}")
    out.line(f"layout:   {layout.headline}")
    show_counts(out, counts)
    code = EXIT_OK if schema.is_current else EXIT_FAILED
    return out.document(code, {"backend": "postgres", "server": server, "pooler": found is not None,
                               "schema": schema.to_json(), "layout": layout.to_json(), "rows": counts})
