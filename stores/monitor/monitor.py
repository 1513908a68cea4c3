"""``PostgresMonitor``: samples of pg_stat_statements, table statistics and activity for the
Monitor screen, and the three actions it offers (reset, cancel, terminate).

Every query runs in a short transaction of its own with ``SET LOCAL statement_timeout`` and
``lock_timeout`` (2 s / 500 ms by default) on a connection taken from the pool for the
sample, so a sick server costs the screen a timeout, never a freeze. The capabilities are
probed once (``probe``); a part that failed for lack of privilege, a missing extension or a
library that is not preloaded is remembered and not asked again each sample (no error spam
in the server log). Each part of a sample that cannot be read is None, with the reason in
``Sample.problems``; the other parts are still read.
"""
from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg

from stores.errors import StoreError
from stores.monitor import sql
from stores.monitor.capabilities import EXTENSION, Capabilities, Gap
from stores.monitor.deltas import HISTORY, DeltaTracker
from stores.monitor.models import (
    Figures, IndexStats, Sample, Session, Statement, StatementKey, StatementsInfo, TableStats,
)
from stores.monitor.sql import MARKER, StatementColumns
from stores.tables import DEFAULT_DATA_SCHEMA
from stores.secrets import scrub
from stores.settings import APPLICATION_NAME

T = TypeVar("T")

UPSTREAM_CHECK_TIMEOUT_MS = 5000
"""The longest the probe's count of rows lokstra-auth cannot read may take (a seq scan each)."""

STATEMENT_TIMEOUT_MS = 2000
LOCK_TIMEOUT_MS = 500
REMEMBERED_SQLSTATES = frozenset({
    "42501",  # insufficient_privilege
    "55000",  # object_not_in_prerequisite_state: the library is not preloaded
    "42P01",  # undefined_table: the extension's view is not there
    "42883",  # undefined_function
})
"""Failures that the next sample would repeat exactly: remembered, not retried."""


class MonitorError(StoreError):
    """An action of the monitor (reset, cancel, terminate) was refused; the text says why."""


def _ratio(hit: int | None, read: int | None) -> float | None:
    if hit is None or read is None or hit + read == 0:
        return None
    return hit / (hit + read)


class PostgresMonitor:
    """The monitor of one ``PostgresEngine`` (a new engine needs a new monitor)."""

    def __init__(self, engine: Any, *, statement_timeout_ms: int = STATEMENT_TIMEOUT_MS,
                 lock_timeout_ms: int = LOCK_TIMEOUT_MS, history: int = HISTORY, include_own: bool = False) -> None:
        self.engine = engine
        self.statement_timeout_ms = int(statement_timeout_ms)
        self.lock_timeout_ms = int(lock_timeout_ms)
        self.include_own = include_own
        """Show the monitor's own statements too (hidden by default: they are not the application's)."""
        self.capabilities: Capabilities | None = None
        self.denied: dict[str, str] = {}
        """Parts not asked again, with the reason (privilege, extension, preload)."""
        self.deltas = DeltaTracker(history)
        self._texts: dict[StatementKey, str | None] = {}
        self._last_sample: float | None = None
        self._secrets: list[str] = engine.target.secrets() if getattr(engine, "target", None) else []
        self._schema: str = getattr(engine, "schema", DEFAULT_DATA_SCHEMA)

    # -- plumbing ------------------------------------------------------------------------------
    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        async with self.engine.connection() as conn:
            yield conn

    async def _guarded(self, conn: asyncpg.Connection, run: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """``run`` in a transaction with the short statement and lock timeouts."""
        await conn.execute(f"{MARKER} BEGIN")
        try:
            await conn.execute(f"SELECT {MARKER} set_config('statement_timeout', '{self.statement_timeout_ms}', true), "
                               f"set_config('lock_timeout', '{self.lock_timeout_ms}', true)")
            result = await run(conn)
        except BaseException:
            if not conn.is_closed():
                try:
                    await conn.execute("ROLLBACK")
                except Exception:  # the connection broke: the pool's reset deals with it
                    pass
            raise
        await conn.execute(f"{MARKER} COMMIT")
        return result

    async def _part(self, conn: asyncpg.Connection, name: str, sample: Sample,
                    run: Callable[[asyncpg.Connection], Awaitable[T]]) -> T | None:
        """One part of a sample: None (and a problem) when it cannot be read."""
        if name in self.denied:
            sample.problems[name] = self.denied[name]
            return None
        try:
            return await self._guarded(conn, run)
        except asyncpg.PostgresError as exc:
            text = self._text(exc)
            if exc.sqlstate in REMEMBERED_SQLSTATES:
                self.denied[name] = text
            sample.problems[name] = text
            return None

    def _text(self, exc: asyncpg.PostgresError) -> str:
        return scrub(f"{exc.message} [{exc.sqlstate}]" if getattr(exc, "message", None) else str(exc), self._secrets)

    # -- the capability probe ------------------------------------------------------------------
    async def probe(self) -> Capabilities:
        """Read what this role can monitor (once; ``forget`` asks again)."""
        if self.capabilities is not None:
            return self.capabilities
        async with self._connection() as conn:
            caps = await self._guarded(conn, self._read_capabilities)
            if caps.created:
                try:  # outside the first transaction: a failure must not undo what was read
                    await self._guarded(conn, lambda c: c.fetchval(
                        f"SELECT {MARKER} 1 FROM {caps.schema}.{EXTENSION} LIMIT 1"))
                    caps.readable = True
                except asyncpg.PostgresError as exc:
                    caps.read_error, caps.read_error_code = self._text(exc), exc.sqlstate
        caps.upstream = await self._upstream_gaps()
        self.capabilities = caps
        if not caps.readable:
            reason = caps.read_error or f"{EXTENSION} is not available in database {caps.database}"
            self.denied["statements"] = reason
            self.denied["info"] = reason
        elif not caps.has_info:
            self.denied["info"] = f"pg_stat_statements_info needs PostgreSQL 14 (this is {caps.server_version})"
        return caps

    async def _upstream_gaps(self) -> list[Gap]:
        """Rows lokstra-auth cannot read and keys it cannot verify, read once with the probe."""
        from stores.compat import compat_report, problems
        from stores.open import Stores

        try:
            # One read-only transaction with the monitor's own bounds: a table locked by someone
            # else, or a huge one, must not hold up the monitor (it says "not checked" instead).
            async with self.engine.atomic():
                async with self.engine.connection() as conn:
                    await conn.execute(f"SET TRANSACTION READ ONLY; SET LOCAL lock_timeout = {self.lock_timeout_ms}; "
                                       f"SET LOCAL statement_timeout = {UPSTREAM_CHECK_TIMEOUT_MS}")
                report = await compat_report(Stores(self.engine))
        except StoreError as exc:
            return [Gap(f"What lokstra-auth can read was not checked: {exc}",
                        "Run `lokstra-console check` for the details", serious=False)]
        return [Gap(problem.what, problem.fix, problem.serious) for problem in problems(report, self._schema)]

    async def _read_capabilities(self, conn: asyncpg.Connection) -> Capabilities:
        row = await conn.fetchrow(sql.SESSION_SQL)
        caps = Capabilities(
            server_version=row["server_version"], server_version_num=row["server_version_num"], role=row["role"],
            database=row["database"], superuser=row["superuser"], read_all_stats=row["read_all_stats"],
            monitor=row["monitor"], signal_backend=row["signal_backend"], available=row["available"],
            schema=row["schema"], extension_version=row["extension_version"],
            member_not_inheriting=row["member_not_inheriting"] and not (row["read_all_stats"] and row["signal_backend"]))
        caps.settings = {name: None for name in ("shared_preload_libraries", "track_io_timing", "compute_query_id",
                                                 "pg_stat_statements.track_planning")}
        caps.settings.update({r["name"]: r["setting"] for r in await conn.fetch(sql.SETTINGS_SQL)})
        columns = StatementColumns.for_version(caps.server_version_num)
        if caps.schema is not None:
            present = set(await conn.fetchval(sql.VIEW_COLUMNS_SQL, f"{caps.schema}.{EXTENSION}") or [])
            if present and not columns.required() <= present:
                columns = _columns_from_view(present)  # an extension older than the server (not updated)
            caps.can_reset = bool(await conn.fetchval(sql.RESET_ALLOWED_SQL, caps.schema))
        caps.columns = columns
        return caps

    def forget(self) -> None:
        """Probe again on the next sample (e.g. after the operator fixed a gap)."""
        self.capabilities = None
        self.denied.clear()

    # -- samples ---------------------------------------------------------------------------------
    async def sample(self) -> Sample:
        """Read everything the screen shows, once."""
        started = time.perf_counter()
        caps = await self.probe()
        now = time.monotonic()
        sample = Sample(taken_at=datetime.now(UTC), seconds=0.0,
                        interval_seconds=now - self._last_sample if self._last_sample is not None else None)
        self._last_sample = now
        async with self._connection() as conn:
            info = await self._part(conn, "info", sample, lambda c: self._read_info(c, caps))
            sample.info = info
            rows = await self._part(conn, "statements", sample, lambda c: self._read_statements(c, caps))
            if rows is not None:
                self._fill_statements(sample, rows, info)
            database = await self._part(conn, "database", sample, lambda c: c.fetchrow(sql.DATABASE_SQL))
            if database is not None:
                sample.cache_hit_ratio = _ratio(database["blks_hit"], database["blks_read"])
                sample.database_stats_reset = database["stats_reset"]
            tables = await self._part(conn, "tables", sample, self._read_tables)
            if tables is not None:
                sample.tables, sample.indexes = tables
            sample.activity = await self._part(conn, "activity", sample, self._read_activity)
        sample.seconds = time.perf_counter() - started
        return sample

    async def _read_info(self, conn: asyncpg.Connection, caps: Capabilities) -> StatementsInfo:
        row = await conn.fetchrow(sql.info_sql(caps.schema or ""))
        return StatementsInfo(row["dealloc"], row["stats_reset"])

    async def _read_statements(self, conn: asyncpg.Connection, caps: Capabilities) -> list[asyncpg.Record]:
        assert caps.columns is not None and caps.schema is not None
        rows = await conn.fetch(sql.statements_sql(caps.columns, caps.schema))
        missing = [key for r in rows
                   if r["queryid"] is not None
                   and (key := (r["dbid"], r["userid"], r["queryid"], r["toplevel"])) not in self._texts]
        if missing:
            for key in missing:
                self._texts[key] = None  # evicted before its text was read: not asked again
            ids = list({key[2] for key in missing})
            for text_row in await conn.fetch(sql.texts_sql(caps.columns, caps.schema), ids):
                key = (text_row["dbid"], text_row["userid"], text_row["queryid"], text_row["toplevel"])
                if key in self._texts:
                    self._texts[key] = text_row["query"]
        return rows

    def _fill_statements(self, sample: Sample, rows: list[asyncpg.Record], info: StatementsInfo | None) -> None:
        """Statements with their deltas; entries the role may not see (no queryid) are summed
        per database, role and level into one row."""
        io_timing = self.capabilities is not None and self.capabilities.setting_on("track_io_timing") is not False
        planning = self.capabilities is not None and self.capabilities.setting_on(
            "pg_stat_statements.track_planning") is True
        statements: dict[StatementKey, Statement] = {}
        since: dict[StatementKey, datetime | None] = {}
        texts = self._texts
        for (dbid, userid, queryid, toplevel, database, role, calls, total_ms, _mean, stddev_ms, rows_, hit, read,
             io_ms, plan_ms, stats_since) in rows:  # unpacked by position: the columns of sql.statements_sql
            key: StatementKey = (dbid, userid, queryid, toplevel)
            figures = Figures(calls, total_ms, rows_, hit, read)
            found = statements.get(key)
            since[key] = None if found is not None else stats_since  # a sum has no one stats_since
            if found is not None:  # hidden entries of another role: add them up
                t = found.totals
                found.totals = Figures(t.calls + calls, t.total_ms + total_ms, t.rows + rows_,
                                       t.blks_hit + hit, t.blks_read + read)
                found.stddev_ms = found.io_ms = found.plan_ms = None
                continue
            text = texts.get(key)
            statements[key] = Statement(
                key, database, role, figures, stddev_ms, io_ms if io_timing else None, plan_ms if planning else None,
                text, own=text is not None and MARKER in text)
        self._texts = {key: text for key, text in self._texts.items() if key in statements}
        deltas = self.deltas.update({key: s.totals for key, s in statements.items()},
                                    info.stats_reset if info is not None else None, since)
        shown = [s for s in statements.values() if self.include_own or not s.own]
        total = sum(s.totals.total_ms for s in shown)
        interval_total = sum(deltas[s.key].total_ms for s in shown) if deltas is not None else 0.0
        for s in shown:
            s.share = s.totals.total_ms / total if total else None
            if deltas is not None:
                s.interval = deltas[s.key]
                s.interval_share = s.interval.total_ms / interval_total if interval_total else None
        sample.statements = shown
        sample.statements_total = len(statements)
        sample.history_all = self.deltas.history_all()

    async def _read_tables(self, conn: asyncpg.Connection) -> tuple[list[TableStats], list[IndexStats]]:
        tables = [TableStats(
            name=r["name"], total_bytes=r["total_bytes"], heap_bytes=r["heap_bytes"], index_bytes=r["index_bytes"],
            toast_bytes=r["toast_bytes"], live_rows=r["live_rows"], dead_rows=r["dead_rows"], seq_scan=r["seq_scan"],
            seq_tup_read=r["seq_tup_read"], idx_scan=r["idx_scan"], last_vacuum=r["last_vacuum"],
            last_analyze=r["last_analyze"], heap_hit_ratio=_ratio(r["heap_blks_hit"], r["heap_blks_read"]))
            for r in await conn.fetch(sql.TABLES_SQL, list(sql.LOKSTRA_TABLES), self._schema)]
        indexes = [IndexStats(table=r["table_name"], name=r["name"], bytes=r["bytes"], idx_scan=r["idx_scan"],
                              idx_tup_read=r["idx_tup_read"], unique=r["is_unique"], primary=r["is_primary"])
                   for r in await conn.fetch(sql.INDEXES_SQL, list(sql.LOKSTRA_TABLES), self._schema)]
        return tables, indexes

    async def _read_activity(self, conn: asyncpg.Connection) -> list[Session]:
        return [Session(pid=r["pid"], role=r["role"], database=r["database"], application=r["application_name"],
                        client=r["client"], state=r["state"], wait_event_type=r["wait_event_type"],
                        wait_event=r["wait_event"], xact_seconds=r["xact_seconds"], query_seconds=r["query_seconds"],
                        blocked_by=tuple(r["blocked_by"] or ()), query=r["query"])
                for r in await conn.fetch(sql.ACTIVITY_SQL, APPLICATION_NAME)]

    def history_of(self, key: StatementKey) -> list[float]:
        return self.deltas.history_of(key)

    # -- actions -------------------------------------------------------------------------------
    async def reset_statements(self) -> None:
        """pg_stat_statements_reset(): every entry starts again (the deltas notice by themselves)."""
        caps = await self.probe()
        if not caps.created or not caps.can_reset:
            raise MonitorError(f"Role {caps.role} may not reset {EXTENSION} here")
        await self._action(lambda c: c.fetchval(sql.reset_sql(caps.schema or "")))
        self._texts.clear()

    async def cancel(self, pid: int) -> bool:
        """Cancel the query of backend ``pid``; False when no such backend was signalled."""
        return bool(await self._action(lambda c: c.fetchval(sql.CANCEL_SQL, pid)))

    async def terminate(self, pid: int) -> bool:
        """Terminate backend ``pid`` (its session ends); False when it was not signalled."""
        return bool(await self._action(lambda c: c.fetchval(sql.TERMINATE_SQL, pid)))

    async def _action(self, run: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        async with self._connection() as conn:
            try:
                return await self._guarded(conn, run)
            except asyncpg.InsufficientPrivilegeError as exc:
                raise MonitorError(f"refused: {self._text(exc)}") from None
            except asyncpg.PostgresError as exc:
                raise MonitorError(self._text(exc)) from None


def _columns_from_view(present: set[str]) -> StatementColumns:
    """Column names read off the view when its version does not match the server's."""
    exec_names = "total_exec_time" in present
    shared = "shared_blk_read_time" in present
    return StatementColumns(
        total="total_exec_time" if exec_names else "total_time",
        mean="mean_exec_time" if exec_names else "mean_time",
        stddev="stddev_exec_time" if exec_names else "stddev_time",
        toplevel="toplevel" if "toplevel" in present else "true",
        plan_total="total_plan_time" if "total_plan_time" in present else None,
        blk_read="shared_blk_read_time" if shared else "blk_read_time",
        blk_write="shared_blk_write_time" if shared else "blk_write_time",
        has_info="toplevel" in present,
        stats_since="stats_since" if "stats_since" in present else None,
    )
