"""Live switch of the backend under the console's stores.

``SwitchableEngine`` is an ``Engine`` that delegates to the active engine. Reads go straight
through. Writes pass a gate: a switch closes it, waits for the writes in flight to finish,
copies the (now quiet) active backend into the target with ``copy_tables``, verifies the
committed target against the copy's digests, swaps the active engine and reopens the gate.

Writes that arrive while the gate is closed wait up to ``write_wait`` seconds. When the gate
reopens they run on whichever engine is then active: the new one after a switch, the old
one after a failed, timed-out or cancelled switch. A write that waits longer is refused
with ``SwitchInProgress`` and is never applied later. No write is retried by this module,
so none is applied twice.

Reads keep being served by the old engine during the copy: it holds everything, since no
console write runs on it while the gate is closed. Writes made to a PostgreSQL source by
other programs (lokstra-auth itself) after the copy's snapshot are not carried over; a
switch moves the console's data, it does not freeze other writers.

The switch is a task like any other: cancelling it (``cancel_switch()`` or
``task.cancel()``) or its timeout leaves the target as it was (``copy_tables`` commits
only a complete, verified copy) and the old engine active.
"""
from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from stores.audit import carry_audit
from stores.clock import Clock
from stores.errors import BackendUnavailable, StoreError
from stores.models import Record, User, UserApp
from stores.open import Stores
from stores.query import Condition, Eq, PageRequest, RowCount
from stores.settings import ConnectionTarget, Settings
from stores.tables import TableSpec
from stores.transfer.copy import CopyFailed, CopyReport, ProgressCallback, copy_tables, table_digests

DEFAULT_WRITE_WAIT = 10.0
"""Seconds a write waits for a switch before it is refused (``SwitchInProgress``)."""

DEFAULT_SWITCH_TIMEOUT = 600.0
"""Seconds a whole switch (drain, copy, verification) may take before it is abandoned."""

HISTORY = 20
"""How many switch reports ``SwitchableEngine.history`` keeps."""

READ_METHODS = ("fetch", "fetch_unique", "page", "select", "count", "estimate", "users_with_grant", "ping", "snapshot")
WRITE_METHODS = ("insert", "replace", "patch", "remove", "upsert_grant", "loader", "atomic")
"""Every engine operation is one or the other (tests/test_switch.py keeps this complete)."""


_admitted: ContextVar[tuple[object, asyncio.Task | None] | None] = ContextVar("switch_atomic", default=None)
"""The switchable engine whose ``atomic()`` block the current task is in: its writes were
admitted once, for the whole block (a switch waits for the block, not the other way round)."""


class SwitchError(StoreError):
    """Base of the switch's own errors; ``report`` says how far the switch got."""

    def __init__(self, message: str, report: SwitchReport | None = None) -> None:
        self.report = report
        super().__init__(message)


class SwitchRefused(SwitchError):
    """The switch did not start: ``cause`` is a short code, ``reason`` and ``fix`` plain words."""

    def __init__(self, cause: str, reason: str, fix: str, report: SwitchReport | None = None) -> None:
        self.cause = cause
        self.reason = reason
        self.fix = fix
        super().__init__(f"{reason}. {fix}" if fix else reason, report)


class SwitchFailed(SwitchError):
    """The switch started and did not complete; the old backend is still active."""


class SwitchCancelled(SwitchFailed):
    """The switch was cancelled with ``cancel_switch()``; the old backend is still active."""


class SwitchInProgress(StoreError):
    """A write waited longer than ``write_wait`` for a switch and was not applied."""

    def __init__(self, waited: float) -> None:
        self.waited = waited
        super().__init__(f"not applied: the backend is being switched and the write waited {waited:.1f} s; "
                         "nothing was changed, try again when the switch is over")


@dataclass
class SwitchReport:
    """What one switch did, for the UI, the drill and the logs (no secrets: counts and digests)."""

    source: str
    target: str
    replace: bool
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    outcome: str = "running"  # switched | refused | failed | timed_out | cancelled
    reason: str | None = None
    seconds: float = 0.0
    preflight_seconds: float = 0.0
    drain_seconds: float = 0.0
    copy_seconds: float = 0.0
    verify_seconds: float = 0.0
    write_pause_seconds: float = 0.0
    audit_carried: int = 0
    """Audit records carried from a memory source into the target before the copy."""
    writes_drained: int = 0
    writes_held: int = 0
    writes_refused: int = 0
    longest_write_wait_seconds: float = 0.0
    copy: CopyReport | None = None
    verified: bool = False
    target_changed: bool = False
    previous: Any = field(default=None, repr=False)
    """The engine that was active before a successful switch; the caller decides when to close it."""

    @property
    def ok(self) -> bool:
        return self.outcome == "switched"

    @property
    def rows(self) -> int:
        return self.copy.rows if self.copy else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source, "target": self.target, "replace": self.replace, "outcome": self.outcome,
            "reason": self.reason, "started_at": self.started_at.isoformat(timespec="milliseconds"),
            "seconds": round(self.seconds, 3), "preflight_seconds": round(self.preflight_seconds, 3),
            "drain_seconds": round(self.drain_seconds, 3), "copy_seconds": round(self.copy_seconds, 3),
            "verify_seconds": round(self.verify_seconds, 3), "write_pause_seconds": round(self.write_pause_seconds, 3),
            "audit_carried": self.audit_carried, "writes_drained": self.writes_drained, "writes_held": self.writes_held,
            "writes_refused": self.writes_refused,
            "longest_write_wait_seconds": round(self.longest_write_wait_seconds, 3),
            "rows": self.rows, "verified": self.verified, "target_changed": self.target_changed,
            "tables": self.copy.to_json()["tables"] if self.copy else [],
        }


class SwitchableEngine:
    """An ``Engine`` whose backend can be switched live; see the module docstring.

    ``write_wait``: seconds a write waits for a running switch before ``SwitchInProgress``.
    ``switch_timeout``: default limit for a whole switch (``switch_to(timeout=)`` overrides).
    """

    def __init__(self, engine: Any, *, write_wait: float = DEFAULT_WRITE_WAIT,
                 switch_timeout: float | None = DEFAULT_SWITCH_TIMEOUT) -> None:
        if isinstance(engine, SwitchableEngine):
            raise TypeError("the engine is already switchable")
        if write_wait < 0:
            raise ValueError("write_wait must be 0 or more seconds")
        self._engine = engine
        self.write_wait = write_wait
        self.switch_timeout = switch_timeout
        self.history: list[dict[str, Any]] = []
        """``to_json()`` of the last ``HISTORY`` switches, the newest last (without the engines)."""
        self._gate = asyncio.Event()
        self._gate.set()
        self._in_flight = 0
        self._drained = asyncio.Event()
        self._drained.set()
        self._waiting: dict[int, float] = {}  # waiter token -> when it started waiting
        self._tokens = itertools.count()
        self._refused = 0
        self._switch_task: asyncio.Task[Any] | None = None
        self._cancel_requested = False

    # -- what is active ------------------------------------------------------------------------
    @property
    def backend(self) -> str:
        return self._engine.backend

    @property
    def clock(self) -> Clock:
        return self._engine.clock

    @property
    def current(self) -> Any:
        """The active engine (for what the protocol does not cover, e.g. its connection target)."""
        return self._engine

    @property
    def switching(self) -> bool:
        return self._switch_task is not None

    @property
    def writes_waiting(self) -> int:
        return len(self._waiting)

    # -- the write gate -------------------------------------------------------------------------
    async def _admit(self) -> None:
        """Wait (bounded) until no switch holds the gate, then count this write as in flight."""
        if not self._gate.is_set():
            arrived = time.monotonic()
            token = next(self._tokens)
            self._waiting[token] = arrived
            try:
                async with asyncio.timeout(self.write_wait):
                    while not self._gate.is_set():  # another switch may close it again before we run
                        await self._gate.wait()
            except TimeoutError:
                self._refused += 1
                raise SwitchInProgress(time.monotonic() - arrived) from None
            finally:
                del self._waiting[token]
        self._in_flight += 1
        self._drained.clear()

    def _release(self) -> None:
        self._in_flight -= 1
        if self._in_flight == 0:
            self._drained.set()

    def _inside_atomic(self) -> bool:
        """Is the current task (not a task it started) inside this engine's ``atomic()``?"""
        return _admitted.get() == (self, asyncio.current_task())

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[None]:
        if self._inside_atomic():
            yield
            return
        await self._admit()
        try:
            yield
        finally:
            self._release()

    # -- reads: straight to the active engine --------------------------------------------------
    async def fetch(self, spec: TableSpec, key: tuple[str, ...], lock: bool = False) -> Record | None:
        return await self._engine.fetch(spec, key, lock)

    async def fetch_unique(self, spec: TableSpec, columns: tuple[str, ...], values: tuple[Any, ...]) -> Record | None:
        return await self._engine.fetch_unique(spec, columns, values)

    async def page(self, spec: TableSpec, request: PageRequest) -> list[Record]:
        return await self._engine.page(spec, request)

    async def select(self, spec: TableSpec, scope: tuple[Eq, ...], conditions: tuple[Condition, ...],
                     order: str) -> list[Record]:
        return await self._engine.select(spec, scope, conditions, order)

    async def count(self, spec: TableSpec, scope: tuple[Eq, ...], conditions: tuple[Condition, ...]) -> int:
        return await self._engine.count(spec, scope, conditions)

    async def estimate(self, spec: TableSpec, scope: tuple[Eq, ...], conditions: tuple[Condition, ...]) -> RowCount:
        return await self._engine.estimate(spec, scope, conditions)

    async def users_with_grant(self, tenant_id: str, app_id: str) -> list[User]:
        return await self._engine.users_with_grant(tenant_id, app_id)

    async def ping(self) -> float:
        return await self._engine.ping()

    def snapshot(self):  # noqa: ANN201 - the active engine's snapshot context manager
        return self._engine.snapshot()

    # -- writes: through the gate, on the engine active when admitted ---------------------------
    async def insert(self, spec: TableSpec, row: Record) -> Record:
        async with self._write():
            return await self._engine.insert(spec, row)

    async def replace(self, spec: TableSpec, row: Record, expected_updated_at: datetime | None) -> Record | None:
        async with self._write():
            return await self._engine.replace(spec, row, expected_updated_at)

    async def patch(self, spec: TableSpec, key: tuple[str, ...], values: Mapping[str, Any],
                    keep_if_set: frozenset[str] = frozenset()) -> Record | None:
        async with self._write():
            return await self._engine.patch(spec, key, values, keep_if_set)

    async def remove(self, spec: TableSpec, key: tuple[str, ...]) -> bool:
        async with self._write():
            return await self._engine.remove(spec, key)

    async def upsert_grant(self, grant: UserApp) -> UserApp:
        async with self._write():
            return await self._engine.upsert_grant(grant)

    @asynccontextmanager
    async def atomic(self) -> AsyncIterator[None]:
        """The active engine's ``atomic()``, admitted through the gate as one write: a
        switch drains it like any write and never splits it across two engines."""
        if self._inside_atomic():
            async with self._engine.atomic():  # a savepoint of the outer block
                yield
            return
        async with self._write(), self._engine.atomic():
            token = _admitted.set((self, asyncio.current_task()))
            try:
                yield
            finally:
                _admitted.reset(token)

    @asynccontextmanager
    async def loader(self, replace: bool = False) -> AsyncIterator[Any]:
        """A bulk load into the active engine counts as one write for as long as it runs."""
        async with self._write(), self._engine.loader(replace=replace) as loading:
            yield loading

    async def close(self) -> None:
        """Close the active engine (engines a switch left behind are the caller's)."""
        if self._switch_task is not None:
            self.cancel_switch()
        await self._engine.close()

    # -- switching ------------------------------------------------------------------------------
    def cancel_switch(self) -> bool:
        """Cancel the running switch (its ``switch_to`` raises ``SwitchCancelled``); False if none runs."""
        task = self._switch_task
        if task is None or task.done():
            return False
        self._cancel_requested = True
        task.cancel()
        return True

    async def switch_to(self, target: Any, *, replace: bool = False, progress: ProgressCallback | None = None,
                        timeout: float | None = None, check_schema: bool = True, verify: bool = True) -> SwitchReport:
        """Copy the active backend into ``target``, verify it and make ``target`` the active engine.

        Raises ``SwitchRefused`` before anything changes (a switch already running, the
        active engine as target, a PostgreSQL target whose schema is not current or which is
        read-only), ``SwitchFailed`` (copy or verification failed, timeout) or
        ``SwitchCancelled`` (``cancel_switch()``; a plain ``task.cancel()`` raises
        ``CancelledError`` as usual); in every case the old engine stays active. ``timeout``
        defaults to ``switch_timeout``. The report names the previous engine in ``previous``:
        closing it is the caller's decision (``history`` keeps only the reports' JSON, so
        dropping the report frees a previous memory engine).
        """
        report = SwitchReport(source=self._engine.backend, target=target.backend, replace=replace)
        started = time.monotonic()
        try:
            return await self._attempt(report, started, target, replace, progress, timeout, check_schema, verify)
        finally:
            report.seconds = time.monotonic() - started
            self.history = [*self.history[-(HISTORY - 1):], report.to_json()]

    async def _attempt(self, report: SwitchReport, started: float, target: Any, replace: bool,
                       progress: ProgressCallback | None, timeout: float | None, check_schema: bool,
                       verify: bool) -> SwitchReport:
        if self._switch_task is not None:
            raise _refused(report, SwitchRefused("switch_running", "another switch is running",
                                                 "Wait for it to finish or cancel it"))
        if target is self._engine or target is self:
            raise _refused(report, SwitchRefused("same_backend", "that engine is already the active backend",
                                                 "Choose another target"))
        task = self._switch_task = asyncio.current_task()
        self._cancel_requested = False
        try:
            if check_schema and target.backend == "postgres":
                try:
                    await check_postgres_target(target.target)
                except SwitchRefused as refused:
                    raise _refused(report, refused) from None
                except StoreError as exc:  # unreachable and the like: BackendUnavailable
                    report.outcome, report.reason = "refused", str(exc)
                    raise
                finally:
                    report.preflight_seconds = time.monotonic() - started
            return await self._switch(report, target, replace, progress,
                                      self.switch_timeout if timeout is None else timeout, verify)
        except asyncio.CancelledError:
            report.outcome = "cancelled"
            report.reason = report.reason or f"cancelled before the copy started; {report.source} stays active"
            if self._cancel_requested and task is not None and task.uncancel() == 0:
                raise SwitchCancelled(report.reason, report) from None
            raise
        finally:
            self._switch_task = None
            self._cancel_requested = False

    async def _switch(self, report: SwitchReport, target: Any, replace: bool, progress: ProgressCallback | None,
                      timeout: float | None, verify: bool) -> SwitchReport:
        self._gate.clear()
        closed = time.monotonic()
        self._refused = 0
        phase = "waiting for the writes in flight"
        try:
            async with asyncio.timeout(timeout):
                report.writes_drained = self._in_flight
                await self._drained.wait()
                report.drain_seconds = time.monotonic() - closed
                if self._engine.backend == "memory":  # its audit lives only as long as the engine
                    phase = "carrying the audit trail"
                    report.audit_carried = await carry_audit(self._engine, target)
                phase = "copying"
                copy_started = time.monotonic()
                report.copy = await copy_tables(self._engine, target, replace=replace, progress=progress)
                report.copy_seconds = time.monotonic() - copy_started
                report.target_changed = True
                if verify:
                    phase = "verifying the committed copy"
                    verify_started = time.monotonic()
                    await _verify_target(target, report.copy)
                    report.verify_seconds = time.monotonic() - verify_started
                    report.verified = True
            report.previous, self._engine = self._engine, target  # the swap: nothing awaits in between
            report.outcome = "switched"
            return report
        except TimeoutError:
            report.outcome = "timed_out"
            report.reason = f"the switch took longer than {timeout:g} s (while {phase})" + _target_note(report)
            raise SwitchFailed(report.reason, report) from None
        except CopyFailed as exc:  # its message says the target is unchanged
            report.outcome = "failed"
            report.reason = f"{str(exc).rstrip('.')}; {report.source} stays active"
            raise SwitchFailed(report.reason, report) from None
        except _VerificationFailed as exc:
            report.outcome, report.reason = "failed", str(exc) + _target_note(report)
            raise SwitchFailed(report.reason, report) from None
        except StoreError as exc:  # the backend became unusable mid-way (a lost connection, a refusal)
            report.outcome = "failed"
            report.reason = f"{str(exc).rstrip('.')} (while {phase})" + _target_note(report)
            raise SwitchFailed(report.reason, report) from None
        except asyncio.CancelledError:
            report.reason = f"cancelled while {phase}" + _target_note(report)
            raise
        finally:
            self._finish_pause(report, closed)

    def _finish_pause(self, report: SwitchReport, closed: float) -> None:
        now = time.monotonic()
        report.write_pause_seconds = now - closed
        report.writes_held = len(self._waiting)
        report.writes_refused = self._refused
        report.longest_write_wait_seconds = max((now - t for t in self._waiting.values()), default=0.0)
        self._gate.set()  # waiting writes now run on the engine active from here on


class _VerificationFailed(StoreError):
    pass


def _refused(report: SwitchReport, refused: SwitchRefused) -> SwitchRefused:
    report.outcome, report.reason = "refused", str(refused)
    refused.report = report
    return refused


def _target_note(report: SwitchReport) -> str:
    if report.target_changed:
        return f"; the copy was committed to {report.target}, which now holds it; {report.source} stays active"
    return f"; {report.target} is unchanged; {report.source} stays active"


async def _verify_target(target: Any, copy: CopyReport) -> None:
    """Re-read the committed target and compare every table with what the copy read."""
    found = await table_digests(target)
    wrong = [f"{t.table} ({found[t.table].rows} rows, expected {t.rows})" for t in copy.tables
             if found[t.table].rows != t.rows or found[t.table].hex != t.digest]
    if wrong:
        raise _VerificationFailed(f"the committed {target.backend} copy differs from the source in "
                                  f"{', '.join(wrong)}: something else wrote to it")


# -- PostgreSQL targets ---------------------------------------------------------------------------

async def check_postgres_target(target: ConnectionTarget) -> None:
    """Refuse (``SwitchRefused``) a PostgreSQL target that is read-only or whose schema is not
    current; raise the diagnosis (``BackendUnavailable``) when it cannot be reached."""
    from migrations import MigrationRunner, Overall
    from stores.postgres.diagnose import diagnose
    from stores.secrets import scrub

    if target.read_only:
        raise SwitchRefused("read_only", f"{target.display()} is opened read-only and a switch writes the copy there",
                            "Drop --read-only / LOKSTRA_READ_ONLY for the switch")
    try:
        status = await MigrationRunner.from_kwargs(target.connect_kwargs(), data_schema=target.schema).status()
    except Exception as exc:
        found = diagnose(exc, target.display(), target.secrets())
        if found is not None:
            raise found from None
        raise BackendUnavailable("unusable", scrub(f"cannot read the migration status: {exc}", target.secrets()),
                                 "Check the connection settings and the role's privileges", target.display()) from None
    if status.overall is Overall.CURRENT:
        return
    where = f"the schema of {target.display()} is not current"
    if status.overall is Overall.PENDING:
        pending = [m.label for m in status.migrations if not m.is_applied]
        noun = "migration" if len(pending) == 1 else "migrations"
        raise SwitchRefused("schema_pending", f"{where}: {len(pending)} {noun} pending ({', '.join(pending)})",
                            "Run `lokstra-console migrate up` first")
    if status.overall is Overall.NOT_INITIALISED:
        raise SwitchRefused("not_migrated", f"{where}: {target.schema} has not been migrated ({status.headline})",
                            "Run `lokstra-console migrate up` first")
    if status.overall is Overall.UNTRACKED:
        raise SwitchRefused("schema_untracked", f"{where}: {status.headline}", "Run `lokstra-console migrate adopt` first")
    raise SwitchRefused(f"schema_{status.overall.value}", f"{where}: {status.headline}",
                        "See `lokstra-console migrate status` and resolve it first")


async def open_postgres_target(settings: Settings) -> Any:
    """A ``PostgresEngine`` ready to switch to: reachable (else ``BackendUnavailable`` with the
    diagnosis), writable and migrated to the current schema (else ``SwitchRefused``)."""
    from stores.postgres.engine import PostgresEngine

    await check_postgres_target(settings.connection())
    return await PostgresEngine.open(settings)


def switchable_stores(stores_or_engine: Stores | Any, *, write_wait: float = DEFAULT_WRITE_WAIT,
                      switch_timeout: float | None = DEFAULT_SWITCH_TIMEOUT) -> Stores:
    """The six stores over a ``SwitchableEngine`` (the console holds one and every screen uses it).
    ``stores.engine.switch_to(...)`` switches them all; ``stores.backend`` follows."""
    engine = stores_or_engine.engine if isinstance(stores_or_engine, Stores) else stores_or_engine
    if isinstance(engine, SwitchableEngine):
        return stores_or_engine if isinstance(stores_or_engine, Stores) else Stores(engine)
    return Stores(SwitchableEngine(engine, write_wait=write_wait, switch_timeout=switch_timeout))
