"""``lokstra-console check``: the migration checklist, each item verified against the live database.

Items: server reachable, database exists, server version, schema current (the migration
runner's status), privileges on the lokstra_auth tables, primary or standby,
pg_stat_statements (available, created, preloaded), SSL in use on this connection, pool
settings (sizes against the server's connection limit, a connection pooler in front of the
server, timeouts), and the last backup, which the console cannot see (always "unknown").
Each item is ok, warn, FAIL, unknown or skipped; only FAIL fails the check.

Exit codes: 0 no item failed; 1 an item failed; 2 usage (bad options or settings); 3 the
database cannot be used (unreachable, authentication, no such database). Passwords are
never printed.
"""
from __future__ import annotations

import argparse
import asyncio
from dataclasses import asdict, dataclass, field
from typing import Any

import asyncpg

from console.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    Output,
    Target,
    command_parser,
    failure_of,
    postgres_target,
)
from migrations import pooler
from stores.postgres import facts
from stores.tables import ALL_TABLES

OK, WARN, FAIL, UNKNOWN, SKIPPED = "ok", "warn", "fail", "unknown", "skipped"

OLDEST_SUPPORTED_SERVER = 13
"""The oldest major the monitor's SQL is written for; the suite runs on 15, 16 and 18 (README)."""
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}

EPILOG = """exit codes:
  0  no item failed (warnings and unknowns do not fail)
  1  an item failed
  2  usage (bad options or settings)
  3  the database cannot be used (unreachable, authentication, no such database)"""

BACKUP = ("last backup", UNKNOWN, "unknown (the console cannot see backups)",
          "Check your backup tool: a base backup or pg_dump taken before migrating or copying lets you roll back")


def add_parser(subparsers: Any) -> None:
    command_parser(subparsers, "check", "verify the migration checklist live: server, database, schema, extensions, SSL, pool",
                   __doc__, EPILOG, run)


@dataclass
class Item:
    name: str
    state: str
    detail: str
    fix: str = ""
    listed: list[str] = field(default_factory=list)
    """Every case the detail summarises (in the JSON document only)."""


def run(args: argparse.Namespace) -> int:
    out = Output(args.json)
    try:
        target = postgres_target(args)
    except ValueError as exc:
        return out.bad_settings(exc)
    if target is None:
        items = [Item("backend", OK, "memory: nothing to connect to; the data is lost when the console exits",
                      "Export it (copy --from memory --to FILE) to keep it; USE_POSTGRES=true or --dsn checks a database"),
                 Item(*BACKUP)]
        return report(out, "memory", items, EXIT_OK)
    out.use(target)
    checklist = Checklist(target)
    try:
        code = asyncio.run(checklist.run())
    except Exception as exc:  # a check the checklist did not expect to fail: still show the others
        failure = failure_of(exc, target.display, target.secrets)
        if failure is None:
            raise
        checklist.add("unexpected error", FAIL, failure.reason, failure.fix)
        code = max(failure.code, EXIT_FAILED)
    return report(out, "postgres", checklist.items, code)


LISTED_IN_TEXT = 5
"""Lines of an item's list shown under it in text output (``--json`` has all of them)."""


def report(out: Output, backend: str, items: list[Item], code: int) -> int:
    failed = [item for item in items if item.state == FAIL]
    code = code or (EXIT_FAILED if failed else EXIT_OK)
    out.line(f"check {out.target or backend}")
    width = max(len(item.name) for item in items)
    for item in items:
        out.line(f"  {item.state.upper() if item.state == FAIL else item.state:<8} {item.name:<{width}}  {item.detail}")
        if item.state != OK:
            for line in item.listed[:LISTED_IN_TEXT]:
                out.line(f"  {'':<8} {'':<{width}}  · {line}")
            if len(item.listed) > LISTED_IN_TEXT:
                out.line(f"  {'':<8} {'':<{width}}  · and {len(item.listed) - LISTED_IN_TEXT:,} more (--json lists them)")
        if item.fix and item.state != OK:
            out.line(f"  {'':<8} {'':<{width}}  → {item.fix}")
    warned = sum(item.state == WARN for item in items)
    out.line(f"{len(failed)} failed, {warned} warning{'s' if warned != 1 else ''}, {len(items)} items")
    summary = {state: sum(item.state == state for item in items) for state in (OK, WARN, FAIL, UNKNOWN, SKIPPED)}
    return out.document(code, {"backend": backend, "checks": [asdict(item) for item in items], "summary": summary})


class Checklist:
    """The items for one PostgreSQL target, in order; ``run`` returns the exit code so far
    (3 when the database cannot be used at all, else 0: failed items are counted later)."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.items: list[Item] = []

    def add(self, name: str, state: str, detail: str, fix: str = "", listed: list[str] | None = None) -> None:
        self.items.append(Item(name, state, detail, fix, listed or []))

    async def run(self) -> int:
        conn = await self._connect()
        if conn is None:
            for name in ("server version", "layout", "schema current", "privileges", "readable by lokstra-auth",
                         "api key hashes", "primary or standby",
                         "pg_stat_statements", "ssl", "pool settings"):
                self.add(name, SKIPPED, "not checked: no connection")
            self.add(*BACKUP)
            return EXIT_UNAVAILABLE
        try:
            await self._server_version(conn)
            await self._layout(conn)
            await self._schema()
            await self._privileges(conn)
            await self._upstream_compat()
            await self._standby(conn)
            await self._pg_stat_statements(conn)
            await self._ssl(conn)
            await self._pool(conn)
        finally:
            await conn.close()
        self.add(*BACKUP)
        return EXIT_OK

    async def _connect(self) -> asyncpg.Connection | None:
        try:
            conn = await self.target.connect()
        except Exception as exc:
            failure = failure_of(exc, self.target.display, self.target.secrets)
            if failure is None or failure.code != EXIT_UNAVAILABLE:
                raise
            if failure.cause == "no_database":  # the server answered (and accepted the login)
                self.add("server reachable", OK, f"{self.target.host}:{self.target.port} answered")
                self.add("database exists", FAIL, failure.reason, failure.fix)
            else:
                self.add("server reachable", FAIL, failure.reason, failure.fix)
                self.add("database exists", SKIPPED, "not checked: no connection")
            return None
        self.add("server reachable", OK, f"{self.target.host}:{self.target.port} answered, logged in")
        self.add("database exists", OK, self.target.display)
        return conn

    async def _server_version(self, conn: asyncpg.Connection) -> None:
        number, text = await facts.server_version(conn)
        if number // 10000 >= OLDEST_SUPPORTED_SERVER:
            self.add("server version", OK, f"PostgreSQL {text}")
        else:
            self.add("server version", WARN, f"PostgreSQL {text} is older than {OLDEST_SUPPORTED_SERVER}, the oldest the console supports",
                     "Upgrade the server (older majors are out of community support)")

    async def _layout(self, conn: asyncpg.Connection) -> None:
        """Which of lokstra-auth's layouts the data schema holds (stores/layouts.py)."""
        found = await facts.layout(conn, self.target.schema)
        if found.name == "empty":
            self.add("layout", SKIPPED, f"{self.target.schema}: {found.headline}",
                     "`lokstra-console migrate up` creates the core layout")
        elif found.supported:
            self.add("layout", OK, found.headline, listed=[f"also has {line}" for line in found.extra])
        elif found.name == "current":
            self.add("layout", FAIL, found.headline,
                     "Use this console on a core-layout database; nothing was written here",
                     [f"cannot use {table}: {why}" for table, why in found.unusable])
        else:
            self.add("layout", FAIL, found.headline,
                     "Compare the schema with `lokstra-console migrate status`; `check --json` lists every difference",
                     found.lines()[1:])

    async def _schema(self) -> None:
        from migrations import MigrationRunner

        status = await MigrationRunner(self.target.connect, data_schema=self.target.schema).status()
        if status.is_current:
            self.add("schema current", OK, status.headline)
        else:
            self.add("schema current", FAIL, status.headline,
                     "Run `lokstra-console migrate status` for the details, then `lokstra-console migrate up`")

    async def _privileges(self, conn: asyncpg.Connection) -> None:
        wanted = facts.READ_PRIVILEGES if self.target.read_only else facts.WRITE_PRIVILEGES
        schema = self.target.schema
        shown = {spec.relation(schema): f"{schema}.{spec.name}" for spec in ALL_TABLES}
        rows = await facts.table_privileges(conn, list(shown), wanted)
        missing = [shown[row["t"]] for row in rows if not row["present"]]
        refused = [shown[row["t"]] for row in rows if row["present"] and not row["allowed"]]
        user = self.target.display.split("@")[0]
        if missing and len(missing) == len(rows):
            self.add("privileges", SKIPPED, f"not checked: the tables in {schema} do not exist yet")
        elif refused:
            self.add("privileges", FAIL, f"{user} lacks {wanted} on {', '.join(refused)}",
                     f"GRANT {wanted} ON ALL TABLES IN SCHEMA {schema} TO {user}")
        elif missing:
            self.add("privileges", WARN, f"{', '.join(missing)} missing; {wanted} granted on the others")
        else:
            self.add("privileges", OK, f"{user} may {wanted} on the six tables in {schema}")

    async def _upstream_compat(self) -> None:
        """Rows lokstra-auth cannot read and keys it cannot verify (stores/compat.py)."""
        from stores import open_stores
        from stores.compat import compat_report, problems
        from stores.errors import StoreError

        try:
            stores = await open_stores(self.target.store_settings(pool_min_size=1, pool_max_size=2))
        except StoreError as exc:
            for name in ("readable by lokstra-auth", "api key hashes"):
                self.add(name, SKIPPED, f"not checked: {exc}")
            return
        try:
            report = await compat_report(stores)
        finally:
            await stores.close()
        schema = self.target.schema
        found = {problem.kind: problem for problem in problems(report, schema)}
        nulls = found.get("nulls")
        if nulls is None:
            self.add("readable by lokstra-auth", OK, "no NULL where lokstra-auth's Go code needs a value")
        else:
            self.add("readable by lokstra-auth", FAIL, nulls.what, nulls.fix)
        keys = found.get("keys")
        if keys is None:
            self.add("api key hashes", OK, f"{report.keys_checked:,} keys, every hash in lokstra-auth's encoding")
        else:
            self.add("api key hashes", FAIL if keys.serious else WARN, keys.what,
                     f"{keys.fix}; `check --json` lists the first {len(keys.listed)}", keys.listed)

    async def _standby(self, conn: asyncpg.Connection) -> None:
        if await facts.in_recovery(conn):
            self.add("primary or standby", WARN, "a read-only standby: the console can only read here",
                     "Point DB_HOST at the primary to make changes")
        else:
            self.add("primary or standby", OK, "the primary (writable)")

    async def _pg_stat_statements(self, conn: asyncpg.Connection) -> None:
        row = await facts.pg_stat_statements_state(conn)
        preloaded = "pg_stat_statements" in [part.strip() for part in row["preload"].split(",")]
        name = "pg_stat_statements"
        if not row["available"]:
            self.add(name, WARN, "not available on the server: the slow query view stays empty",
                     "Install the server's contrib package, add pg_stat_statements to shared_preload_libraries, restart")
        elif not preloaded:
            self.add(name, WARN, "available but not in shared_preload_libraries: it collects nothing",
                     "Add pg_stat_statements to shared_preload_libraries and restart the server")
        elif row["created"] is None:
            self.add(name, WARN, "preloaded, but the extension is not created in this database",
                     "CREATE EXTENSION pg_stat_statements;")
        else:
            self.add(name, OK, f"version {row['created']}, preloaded")

    async def _ssl(self, conn: asyncpg.Connection) -> None:
        row = await facts.own_ssl(conn)
        host = self.target.host
        if row is not None and row["ssl"]:
            self.add("ssl", OK, f"in use ({row['version']}, {row['cipher']})")
        elif host in LOCAL_HOSTS or host.startswith("/"):
            self.add("ssl", OK, f"not in use: a local connection ({host})")
        else:
            self.add("ssl", WARN, f"not in use: passwords and data cross the network to {host} in clear text",
                     "Set DB_SSL_MODE=require (or verify-full with the server's CA), and enable ssl on the server")

    async def _pool(self, conn: asyncpg.Connection) -> None:
        settings = self.target.store_settings()
        limit = await facts.connection_limit(conn)
        found = await pooler.detect(conn)
        cache = "off (a pooler is in front)" if found and settings.statement_cache_size else settings.statement_cache_size
        detail = (f"min {settings.pool_min_size}, max {settings.pool_max_size} of the server's {limit}, "
                  f"statement cache {cache}, timeouts connect {settings.connect_timeout:g} s / "
                  f"command {settings.command_timeout:g} s")
        if settings.pool_min_size > settings.pool_max_size:
            self.add("pool settings", FAIL, detail, "DB_POOL_MIN_SIZE must not exceed DB_POOL_MAX_SIZE")
        elif settings.pool_max_size > limit and found is None:
            self.add("pool settings", FAIL, detail + ": the pool alone can exhaust the server",
                     "Lower DB_POOL_MAX_SIZE (lokstra-auth and other clients need connections too)")
        elif settings.pool_max_size > limit // 2 and found is None:
            self.add("pool settings", WARN, detail + ": over half the server's connections",
                     "Leave room for lokstra-auth itself: lower DB_POOL_MAX_SIZE or raise max_connections")
        elif found is not None:
            self.add("pool settings", OK, detail + "; " + found.describe())
        else:
            self.add("pool settings", OK, detail)
