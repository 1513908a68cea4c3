"""The migration runner: status, up, down, dry runs and adoption, for the CLI and the TUI.

Async and UI-free. Each operation opens its own connection (from the factory it was given),
does its work and closes it; changes happen under the migration lock (see ``lock.py``).

Every migration runs in its own transaction together with the console's tracking row and
history row (``lokstra_console``: lokstra's own ``schema_migrations`` is upstream's version
space and is only read, see ``tracking.py``), so it is either wholly applied and recorded
or not at all (no "dirty" state, golang-migrate #282). A failure is recorded afterwards, in a transaction of
its own, since the migration's transaction has rolled back by then. A dry run does the same
work inside one outer transaction that is always rolled back.
"""
from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import asyncpg

from migrations import adopt, catalog, pooler, tracking
from migrations.lock import LockTimeout, MigrationLock, acquire
from migrations.results import (
    AdoptionOutcome, AdoptionReport, Outcome, Progress, RelocationOutcome, RelocationReport, RunResult, StepResult,
)
from migrations.sqltext import line_of, split_statements
from migrations.source import IRREVERSIBLE_MARKER, Migration, MigrationSet, SqlFile
from migrations.source import load as load_source
from migrations.status import DRIFT_STATES, MigrationStatus, Overall, SchemaStatus, State
from migrations.status import build as build_status

ConnectFactory = Callable[[], Awaitable[asyncpg.Connection]]
ProgressCallback = Callable[[Progress], None]
SourceArg = str | Path | Traversable | MigrationSet | None

APPLICATION_NAME = "lokstra-console migrate"

log = logging.getLogger("lokstra.migrations")


def _now() -> datetime:
    return datetime.now(UTC)


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


class MigrationRunner:
    """Runs the migrations of ``source`` (default: the packaged ones) against one database.

    ``connect`` is an async callable returning a new asyncpg connection; ``from_dsn`` and
    ``from_kwargs`` build one. ``lock_timeout`` is how long to wait for another runner.
    Raises ``migrations.source.SourceError`` at construction when the migration files are inconsistent.
    """

    def __init__(self, connect: ConnectFactory, *, source: SourceArg = None,
                 lock_timeout: float = 30.0, lock_poll_interval: float = 0.2,
                 data_schema: str = adopt.APP_SCHEMA) -> None:
        self._connect = connect
        self.source = source if isinstance(source, MigrationSet) else load_source(source)
        self.data_schema = data_schema
        """Where lokstra's tables are (``DB_AUTH_SCHEMA``): the files name ``lokstra_auth``,
        and run with it renamed when the data schema is another one."""
        self.lock_timeout = lock_timeout
        self.lock_poll_interval = lock_poll_interval

    @property
    def connect(self) -> ConnectFactory:
        """The factory of this runner's connections (for callers that read more of the same database)."""
        return self._connect

    @classmethod
    def from_dsn(cls, dsn: str, **options: Any) -> MigrationRunner:
        return cls(lambda: pooler.connect(dsn), **options)

    @classmethod
    def from_kwargs(cls, connect_kwargs: dict[str, Any], **options: Any) -> MigrationRunner:
        return cls(lambda: pooler.connect(**connect_kwargs), **options)

    # ----- public operations -------------------------------------------------------------

    async def status(self) -> SchemaStatus:
        async with self._session() as conn:
            current, _ = await self._read(conn)
            return current

    async def up(self, *, accept: bool = False, dry_run: bool = False,
                 on_progress: ProgressCallback | None = None) -> RunResult:
        """Apply every pending migration in version order.

        Refuses when an applied file changed, a file is missing or a pending one is out of
        order, unless ``accept``: then each is recorded in the history as accepted first.
        """
        return await self._run_locked("up", dry_run, on_progress, lambda conn: self._up(conn, accept, dry_run, on_progress))

    async def down(self, n: int = 1, *, accept: bool = False, dry_run: bool = False,
                   on_progress: ProgressCallback | None = None) -> RunResult:
        """Revert the ``n`` highest applied versions with their ``.down.sql``, highest first."""
        if n < 1:
            raise ValueError("down needs n >= 1")
        return await self._run_locked("down", dry_run, on_progress,
                                      lambda conn: self._down(conn, n, accept, dry_run, on_progress))

    async def adopt(self, *, record: bool = False) -> AdoptionReport:
        """Compare an untracked lokstra_auth with the baseline migration; with ``record``, adopt it.

        Without ``record`` nothing is written. With it, and only if the catalogs match, the
        baseline is recorded as applied (creating the tracking tables if needed).
        """
        if not record:
            async with self._session() as conn:
                return await self._adopt(conn, record=False)
        try:
            async with self._locked(None) as (conn, _):
                return await self._adopt(conn, record=True)
        except LockTimeout as exc:
            return self._adoption(AdoptionOutcome.LOCKED, str(exc), lock_holder=exc.holder)

    # ----- connections and the lock ------------------------------------------------------

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[asyncpg.Connection]:
        conn = await self._connect()
        try:
            await conn.execute("SELECT set_config('application_name', $1, false)", APPLICATION_NAME)
            yield conn
        finally:
            try:
                await conn.close(timeout=5)
            except Exception:  # the connection is already broken: drop it
                conn.terminate()

    @asynccontextmanager
    async def _locked(self, on_progress: ProgressCallback | None) -> AsyncIterator[tuple[asyncpg.Connection, MigrationLock]]:
        def waiting(holder: Any) -> None:
            if on_progress:
                on_progress(Progress("waiting_for_lock", holder=holder))

        async with self._session() as conn:
            lock = await acquire(conn, self.lock_timeout, self.lock_poll_interval, on_wait=waiting)
            try:
                yield conn, lock
            except BaseException:
                await lock.release(commit=False)
                raise
            await lock.release()

    async def _run_locked(self, operation: str, dry_run: bool, on_progress: ProgressCallback | None,
                          work: Callable[[asyncpg.Connection], Awaitable[RunResult]]) -> RunResult:
        try:
            async with self._locked(on_progress) as (conn, lock):
                result = await work(conn)
                result.lock_waited = lock.waited
                return result
        except LockTimeout as exc:
            return RunResult(operation, dry_run, Outcome.LOCKED, reasons=[str(exc)], lock_holder=exc.holder,
                             lock_waited=exc.waited)

    def _descriptions(self) -> dict[int, str]:
        return {migration.version: migration.description for migration in self.source.migrations}

    async def _read(self, conn: asyncpg.Connection) -> tuple[SchemaStatus, tracking.TrackingInfo]:
        info = await tracking.locate(conn, self.data_schema, self._descriptions())
        current = build_status(
            self.source,
            info,
            await tracking.applied(conn, info),
            await tracking.history(conn, info),
            await adopt.app_schema_present(conn, self.data_schema),
            await conn.fetchval("SELECT current_database()"),
            self.data_schema,
        )
        return current, info

    def _sql(self, text: str) -> str:
        """A file's SQL for this database: ``lokstra_auth`` renamed to the data schema."""
        return text if self.data_schema == adopt.APP_SCHEMA else catalog.rename_schema(text, adopt.APP_SCHEMA,
                                                                                      self.data_schema)

    # ----- up and down -------------------------------------------------------------------

    async def _up(self, conn: asyncpg.Connection, accept: bool, dry_run: bool,
                  on_progress: ProgressCallback | None) -> RunResult:
        current, info = await self._read(conn)
        result = RunResult("up", dry_run, Outcome.DONE, status=current)
        if current.overall is Overall.RELOCATE:
            result.outcome = Outcome.REFUSED
            result.reasons = [info.legacy.describe() if info.legacy else current.headline]
            return result
        if current.overall is Overall.UNTRACKED:
            result.outcome = Outcome.REFUSED
            result.reasons = [f"{self.data_schema} already has lokstra's tables but the console has recorded no "
                              "migration: run `migrate adopt` to check it and record it as the baseline"]
            return result
        drift = [m for m in current.migrations if m.state in DRIFT_STATES or (m.state is State.FAILED and m.out_of_order)]
        if drift and not accept:
            result.outcome = Outcome.REFUSED
            result.reasons = [_drift_reason(m) for m in drift]
            return result
        plan = [self.source.get(m.version) for m in current.migrations if not m.is_applied]
        if not plan and not drift:
            result.outcome = Outcome.NOTHING_TO_DO
            return result
        steps = [(migration, "apply") for migration in plan if migration is not None]
        return await self._perform(conn, result, steps, drift, on_progress)

    async def _down(self, conn: asyncpg.Connection, n: int, accept: bool, dry_run: bool,
                    on_progress: ProgressCallback | None) -> RunResult:
        current, _ = await self._read(conn)
        result = RunResult("down", dry_run, Outcome.DONE, status=current)
        targets = current.last_applied(n)
        if not targets:
            result.outcome = Outcome.NOTHING_TO_DO
            return result
        result.reasons = [reason for m in targets if (reason := self._revert_refusal(m, accept))]
        if result.reasons:
            result.outcome = Outcome.REFUSED
            return result
        drift = [m for m in targets if m.state is State.CHANGED]
        files = [self.source.get(m.version) for m in targets]
        steps = [(file, "revert") for file in files if file is not None]  # a missing file was refused above
        return await self._perform(conn, result, steps, drift, on_progress)

    def _revert_refusal(self, migration: MigrationStatus, accept: bool) -> str | None:
        file = self.source.get(migration.version)
        if file is None:
            return f"{migration.label}: its file is not in {self.source.location}, so there is no .down.sql to run"
        if file.down is None:
            return f"{migration.label} is irreversible ({IRREVERSIBLE_MARKER}): it has no .down.sql"
        if migration.state is State.CHANGED and not accept:
            return _drift_reason(migration)
        return None

    async def _perform(self, conn: asyncpg.Connection, result: RunResult,
                       steps: list[tuple[Migration, str]], drift: list[MigrationStatus],
                       on_progress: ProgressCallback | None) -> RunResult:
        """Run the plan and fill ``result`` with the steps, the outcome and the status after."""
        actor = await tracking.current_actor(conn)
        result.accepted = [m.version for m in drift]
        result.steps = await self._execute(conn, actor, steps, drift, result.dry_run, on_progress)
        if result.failed_step:
            result.outcome = Outcome.FAILED
        result.status, _ = await self._read(conn)
        return result

    async def _execute(self, conn: asyncpg.Connection, actor: tracking.Actor,
                       steps: list[tuple[Migration, str]], accepted: list[MigrationStatus],
                       dry_run: bool, on_progress: ProgressCallback | None) -> list[StepResult]:
        """Record the accepted drift, then run ``steps`` one transaction each, stopping at a failure."""
        outer = conn.transaction() if dry_run else None
        if outer:
            await outer.start()
        try:
            async with conn.transaction():
                await tracking.ensure(conn)
                for drifted in accepted:
                    await self._record_accept(conn, actor, drifted)
            results: list[StepResult] = []
            for index, (migration, action) in enumerate(steps, start=1):
                if on_progress:
                    on_progress(Progress("started", migration.version, migration.description, action, index, len(steps)))
                step = await self._run_step(conn, actor, migration, action, dry_run)
                results.append(step)
                if on_progress:
                    on_progress(Progress("finished" if step.success else "failed", migration.version, migration.description,
                                         action, index, len(steps), step.duration_ms, step.error))
                if not step.success:
                    break
            return results
        finally:
            if outer:
                await outer.rollback()

    async def _record_accept(self, conn: asyncpg.Connection, actor: tracking.Actor,
                             drifted: MigrationStatus) -> None:
        file = self.source.get(drifted.version)
        if drifted.is_applied:
            await tracking.update_checksum(conn, drifted.version, file.checksum if file else None)
        await tracking.record(conn, actor, tracking.HistoryEvent(
            version=drifted.version,
            description=drifted.description,
            event="accept",
            direction="up",
            checksum=file.checksum if file else None,
            started_at=_now(),
            duration_ms=0,
            note=f"operator accepted: {_drift_reason(drifted)}",
        ))

    async def _run_step(self, conn: asyncpg.Connection, actor: tracking.Actor,
                        migration: Migration, action: str, dry_run: bool) -> StepResult:
        sql = migration.up if action == "apply" else migration.down
        assert sql is not None  # plans only hold reversible migrations for "revert"
        direction = "up" if action == "apply" else "down"
        started, started_at = time.monotonic(), _now()
        try:
            async with conn.transaction():  # a savepoint inside a dry run's outer transaction
                await conn.execute(self._sql(sql.text))
                duration = _elapsed_ms(started)
                if action == "apply":
                    await tracking.insert_applied(conn, migration.version, migration.description, sql.checksum)
                else:
                    await tracking.delete_applied(conn, migration.version)
                await tracking.record(conn, actor, tracking.HistoryEvent(
                    migration.version, migration.description, action, direction, sql.checksum, started_at, duration,
                ))
        except asyncpg.PostgresError as exc:
            step = _failed_step(migration, action, sql, exc, _elapsed_ms(started))
            log.warning("migration %s: %s failed%s: %s", migration.label, action, " (dry run)" if dry_run else "",
                        step.error)
            if not dry_run:
                await tracking.record(conn, actor, tracking.HistoryEvent(
                    migration.version, migration.description, "fail", direction, sql.checksum, started_at,
                    step.duration_ms, success=False, error=step.error,
                    note="; ".join(part for part in (step.detail, step.hint) if part) or None,
                ))
            return step
        log.info("migration %s: %s%s in %s ms", migration.label, action, " (dry run, rolled back)" if dry_run else "",
                 duration)
        if conn.is_in_transaction():
            # Inside an outer transaction (a dry run, or the lock's behind a pooler) SET LOCAL in
            # one migration must not leak into the next, as it cannot when each commits alone.
            await conn.execute("SET LOCAL search_path TO DEFAULT")
        return StepResult(migration.version, migration.description, action, True, duration,
                          statements=split_statements(sql.text) if dry_run else [])

    # ----- adoption ----------------------------------------------------------------------

    def _adoption(self, outcome: AdoptionOutcome, message: str, **extra: Any) -> AdoptionReport:
        baseline = self.source.migrations[0]
        return AdoptionReport(outcome, message, baseline.version, baseline.description, self.data_schema, **extra)

    async def _adopt(self, conn: asyncpg.Connection, record: bool) -> AdoptionReport:
        baseline = self.source.migrations[0]
        info = await tracking.locate(conn, self.data_schema, self._descriptions())
        if await tracking.applied(conn, info):
            return self._adoption(AdoptionOutcome.ALREADY_TRACKED,
                                  f"the console's migrations are already recorded in {info.table}: nothing to adopt")
        if info.legacy is not None:
            return self._adoption(AdoptionOutcome.ALREADY_TRACKED, info.legacy.describe())
        if not await adopt.app_schema_present(conn, self.data_schema):
            return self._adoption(AdoptionOutcome.NOTHING_TO_ADOPT,
                                  f"{self.data_schema} has none of lokstra's tables: there is nothing to adopt; "
                                  "`migrate up` creates them")
        try:
            differences = await adopt.differences(conn, baseline, self.data_schema)
        except adopt.CannotCompare as exc:
            return self._adoption(AdoptionOutcome.CANNOT_COMPARE, str(exc))
        upstream = "".join(f"; lokstra's runner has recorded {table.describe()}" for table in info.upstream if table.rows)
        if differences:
            return self._adoption(
                AdoptionOutcome.DIFFERS,
                f"{self.data_schema} differs from what {baseline.up.name} creates in {len(differences)} place(s): "
                f"not adopted{upstream}",
                differences=differences,
            )
        if not record:
            return self._adoption(AdoptionOutcome.MATCHES,
                                  f"{self.data_schema} matches {baseline.up.name}: it can be recorded as the console's "
                                  f"baseline version {baseline.version:03d} (nothing was written){upstream}")
        await adopt.record_baseline(conn, await tracking.current_actor(conn), baseline, self.data_schema)
        return self._adoption(AdoptionOutcome.RECORDED,
                              f"recorded {baseline.label} as the console's baseline in {info.table} "
                              f"(lokstra's own tracking tables are untouched){upstream}")

    # ----- relocation ----------------------------------------------------------------------

    async def relocate(self, *, record: bool = False) -> RelocationReport:
        """Move the console's own rows (written by an older console into lokstra's
        ``schema_migrations``) and that console's history into ``lokstra_console``.

        Without ``record`` nothing is written: the report says what would move and what
        lokstra's runner will do afterwards. With it, under the migration lock and in one
        transaction: the rows and the history are copied, the rows deleted from lokstra's
        table, the old history table dropped, and a ``relocate`` event recorded.
        """
        if not record:
            async with self._session() as conn:
                return await self._relocate(conn, record=False)
        try:
            async with self._locked(None) as (conn, _):
                return await self._relocate(conn, record=True)
        except LockTimeout as exc:
            return RelocationReport(RelocationOutcome.LOCKED, str(exc), lock_holder=exc.holder)

    async def _relocate(self, conn: asyncpg.Connection, record: bool) -> RelocationReport:
        info = await tracking.locate(conn, self.data_schema, self._descriptions())
        legacy = info.legacy
        if legacy is None:
            return RelocationReport(RelocationOutcome.NOTHING_TO_DO,
                                    "no lokstra tracking table holds the console's rows: nothing to relocate")
        if await tracking.applied(conn, info):
            return RelocationReport(
                RelocationOutcome.REFUSED,
                f"{legacy.describe()}, but {info.table} already records the console's migrations: compare the two "
                "by hand before deleting either", schema=legacy.schema, versions=legacy.versions)
        table = next(t for t in info.upstream if t.schema == legacy.schema)
        remaining = [row for row in table.rows if row.version not in legacy.versions]
        after = max((row.version for row in remaining), default=0)
        effect = (f"lokstra's runner will then see MAX(version) = {after} in {table.name} (was {table.highest}) and "
                  f"apply its own migrations above {after} on its next start")
        history = await tracking.legacy_history(conn, legacy.schema) if legacy.history_table else []
        checksums = _checksums_from(history)
        report = RelocationReport(RelocationOutcome.PLANNED, "", schema=legacy.schema, versions=legacy.versions,
                                  history_rows=len(history), upstream_highest_before=table.highest,
                                  upstream_highest_after=after, effect=effect)
        moved = ", ".join(f"{row.version:03d}_{row.description}" for row in legacy.rows)
        if not record:
            report.message = (f"would move {moved} and {len(history)} history rows from {legacy.schema} into "
                              f"{tracking.CONSOLE_SCHEMA} (nothing was written); {effect}")
            return report
        actor = await tracking.current_actor(conn)
        async with conn.transaction():
            await tracking.ensure(conn)
            await tracking.copy_history(conn, history)
            for row in legacy.rows:
                file = self.source.get(row.version)
                checksum = checksums.get(row.version) or (file.checksum if file else None)
                await tracking.insert_applied(conn, row.version, row.description or "", checksum, row.applied_at)
                await tracking.record(conn, actor, tracking.HistoryEvent(
                    row.version, row.description or "", "relocate", "up", checksum, _now(), 0,
                    note=f"moved from {table.name}, where an older console had written it; {effect}"))
            await tracking.delete_upstream_rows(conn, legacy.schema, legacy.versions)
            if legacy.history_table:
                await conn.execute(f"DROP TABLE {tracking.quote_ident(legacy.schema)}.{tracking.LEGACY_HISTORY_TABLE}")
        report.outcome = RelocationOutcome.RELOCATED
        report.message = f"moved {moved} and {len(history)} history rows into {tracking.CONSOLE_SCHEMA}; {effect}"
        log.info("relocated the console's migration rows out of %s: %s", table.name, moved)
        return report


def _checksums_from(history: list[Any]) -> dict[int, str]:
    """The checksum each version was last applied, baselined or accepted with (an older
    console's history, oldest first)."""
    found: dict[int, str] = {}
    for row in history:
        if row["event"] in ("apply", "baseline", "accept") and row["success"] and row["checksum"]:
            found[row["version"]] = row["checksum"]
        elif row["event"] == "revert" and row["success"]:
            found.pop(row["version"], None)
    return found


def _drift_reason(migration: MigrationStatus) -> str:
    if migration.state is State.CHANGED:
        applied = (migration.recorded_checksum or "?")[:8]
        return f"{migration.label} changed since it was applied (applied {applied}, file now {migration.short_checksum})"
    if migration.state is State.MISSING:
        return f"{migration.label} is applied but its file is missing"
    return f"{migration.label} is not applied but a higher version is (out of order)"


def _failed_step(migration: Migration, action: str, sql: SqlFile,
                 exc: asyncpg.PostgresError, duration_ms: int) -> StepResult:
    line = line_of(sql.text, getattr(exc, "position", None))
    message = str(exc) + (f" (line {line} of {sql.name})" if line else f" ({sql.name})")
    return StepResult(
        migration.version, migration.description, action, False, duration_ms,
        error=message, sqlstate=exc.sqlstate, error_line=line,
        detail=getattr(exc, "detail", None), hint=getattr(exc, "hint", None),
    )
