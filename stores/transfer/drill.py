"""The rollback drill: the seed's rollback plan, for real, with a report.

PostgreSQL → memory (a live switch), an optional scripted write workload on memory,
memory → PostgreSQL (a live switch back that carries those writes; the database is not
empty, so it is a replace: truncate and load in one transaction), and a verification after
every step. By default the workload's rows are removed afterwards, and the database must
then be exactly what it was before the drill (same digests), which proves the round trip
changed nothing else.

Before switching back, the drill checks that nobody wrote to PostgreSQL while the console
ran on memory (a replace would silently drop such writes): it stops instead, leaving the
database as it is.

The report holds steps, timings, row counts, table digests (SHA-256 sums over the rows,
as ``copy_tables`` reports them) and the write pause of each switch; no connection secret
and no row content. The drill refuses a database marked production unless asked.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from stores.errors import NotFound, StoreError
from stores.keys import hash_secret, new_secret
from stores.memory.engine import MemoryEngine
from stores.models import App, AppKey, Branch, Tenant, User
from stores.open import Stores
from stores.settings import Settings
from stores.transfer.copy import table_digests
from stores.transfer.digest import TableDigest
from stores.transfer.switch import (
    DEFAULT_SWITCH_TIMEOUT,
    DEFAULT_WRITE_WAIT,
    SwitchableEngine,
    SwitchError,
    SwitchRefused,
    SwitchReport,
    check_postgres_target,
    open_postgres_target,
    switchable_stores,
)

PRODUCTION = frozenset({"production", "prod"})
DEFAULT_WORKLOAD = 10
SWITCH_BACK = "switch memory → postgres (replace)"
REMOVE_WORKLOAD = "remove workload"
"""Users the scripted workload creates (0: no workload)."""

DrillProgress = Callable[[str, str, int, int], None]
"""``progress(step, table, rows_done, rows_expected)`` during the copies of the two switches."""


def is_production(environment: str | None) -> bool:
    return (environment or "").strip().lower() in PRODUCTION


class DrillRefused(SwitchRefused):
    """The drill did not start (production, read-only, not on PostgreSQL): a refusal like a
    switch's, with ``cause``, ``reason`` and ``fix``."""


class DrillCheckFailed(StoreError):
    """A verification of the drill found a difference."""


def _digest_json(digests: dict[str, TableDigest]) -> dict[str, dict[str, Any]]:
    return {name: {"rows": d.rows, "digest": d.hex} for name, d in digests.items()}


def _differences(expected: dict[str, TableDigest], found: dict[str, TableDigest]) -> list[str]:
    return [f"{name} ({found[name].rows} rows, expected {d.rows})" for name, d in expected.items()
            if not d.same_as(found[name])]


@dataclass
class DrillStep:
    name: str
    ok: bool = False
    seconds: float = 0.0
    detail: str = ""
    rows: int | None = None
    digests: dict[str, dict[str, Any]] | None = None
    switch: dict[str, Any] | None = None

    @property
    def write_pause_seconds(self) -> float | None:
        return self.switch["write_pause_seconds"] if self.switch else None

    @property
    def state(self) -> str | None:
        """12 hex digits standing for every table's rows and digest: equal states, equal values."""
        if self.digests is None:
            return None
        return hashlib.sha256(json.dumps(self.digests, sort_keys=True).encode("ascii")).hexdigest()[:12]

    def measured(self, digests: dict[str, TableDigest]) -> None:
        self.digests = _digest_json(digests)
        self.rows = sum(d.rows for d in digests.values())

    def copied(self, switch: SwitchReport) -> None:
        """Rows and digests of what the switch copied (what the source held)."""
        tables = switch.copy.tables if switch.copy else []
        self.digests = {t.table: {"rows": t.rows, "digest": t.digest} for t in tables}
        self.rows = switch.rows

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "ok": self.ok, "seconds": round(self.seconds, 3),
                                "detail": self.detail, "rows": self.rows}
        if self.digests is not None:
            data["state"] = self.state
            data["digests"] = self.digests
        if self.switch is not None:
            data["write_pause_seconds"] = self.write_pause_seconds
            data["switch"] = self.switch
        return data


@dataclass
class DrillReport:
    run_id: str
    target: str
    environment: str | None
    workload_users: int
    keep_workload: bool = False
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    seconds: float = 0.0
    steps: list[DrillStep] = field(default_factory=list)
    failure: str | None = None
    active_backend: str = "postgres"
    workload_tenant: str | None = None
    workload_writes: int = 0

    @property
    def ok(self) -> bool:
        return self.failure is None and bool(self.steps) and all(step.ok for step in self.steps)

    @property
    def write_pauses(self) -> list[float]:
        return [s.write_pause_seconds for s in self.steps if s.write_pause_seconds is not None]

    def to_json(self) -> dict[str, Any]:
        return {
            "drill": "rollback", "run_id": self.run_id, "ok": self.ok, "failure": self.failure,
            "target": self.target, "environment": self.environment,
            "started_at": self.started_at.isoformat(timespec="milliseconds"), "seconds": round(self.seconds, 3),
            "active_backend": self.active_backend,
            "workload": {"users": self.workload_users, "writes": self.workload_writes,
                         "tenant": self.workload_tenant, "kept": self.keep_workload},
            "write_pauses_seconds": [round(p, 3) for p in self.write_pauses],
            "steps": [step.to_json() for step in self.steps],
        }

    def save(self, path: str | Path) -> Path:
        """Write the JSON report atomically (it holds counts, digests and timings: no secrets)."""
        target = Path(path).expanduser()
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=target.parent, prefix=".drill-", suffix=".json")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(self.to_json(), stream, indent=2)
                stream.write("\n")
            os.chmod(temp, 0o644)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return target


# ----- the scripted workload ------------------------------------------------------------------

@dataclass
class Workload:
    """What the scripted workload wrote, and so what PostgreSQL must hold after the switch back."""

    tenant_id: str
    users: int
    writes: int = 0

    @property
    def user_ids(self) -> list[str]:
        return [f"d{i:04d}" for i in range(self.users)]

    @property
    def deleted_user(self) -> str | None:
        return self.user_ids[-1] if self.users >= 2 else None

    @property
    def key_pk(self) -> str:
        return f"{self.tenant_id}-key"

    UPDATED_NAME = "Drill user zero (updated on memory)"


async def run_workload(stores: Stores, workload: Workload) -> Workload:
    """Create a tenant, two apps, a branch, ``users`` users, their grants and a key; then revoke
    a grant, update a user and delete one. Deterministic but for the timestamps and the key's
    secret (random, never shown nor kept: the key is unusable)."""
    tid = workload.tenant_id

    async def write(call: Awaitable[Any]) -> None:
        await call
        workload.writes += 1

    await write(stores.tenants.create(Tenant(id=tid, name=f"lokstra rollback drill {tid}", db_dsn="", db_schema="",
                                             metadata={"drill": True})))
    await write(stores.apps.create(App(id="web", tenant_id=tid, name="Drill web", type="web")))
    await write(stores.apps.create(App(id="api", tenant_id=tid, name="Drill api", type="api")))
    await write(stores.branches.create(Branch(id="hq", tenant_id=tid, app_id="web", code="HQ", name="Drill HQ",
                                              type="headquarters")))
    for uid in workload.user_ids:
        await write(stores.users.create(User(id=uid, tenant_id=tid, username=f"drill-{uid}",
                                             email=f"drill-{uid}@drill.invalid", metadata={"drill": True})))
        await write(stores.user_apps.grant_access(tid, "web", uid))
    if workload.users:
        first = workload.user_ids[0]
        await write(stores.user_apps.grant_access(tid, "api", first))
        await write(stores.app_keys.store(AppKey(
            id=workload.key_pk, tenant_id=tid, app_id="api", key_id=workload.key_pk, prefix="sk_test",
            secret_hash=hash_secret(new_secret()), key_type="secret", environment="test", user_id=first,
            name="drill key", scopes=["read"], expires_at=stores.engine.clock.now() + timedelta(hours=1))))
        await write(stores.user_apps.revoke_access(tid, "api", first))
        user = await stores.users.get(tid, first)
        await write(stores.users.update(user.model_copy(update={"full_name": Workload.UPDATED_NAME})))
    if workload.deleted_user:
        await write(stores.users.delete(tid, workload.deleted_user))
    return workload


async def check_workload(stores: Stores, workload: Workload) -> list[str]:
    """What differs between the workload's rows in ``stores`` and what it wrote (empty: all there)."""
    tid = workload.tenant_id
    problems: list[str] = []
    try:
        await stores.tenants.get(tid)
    except NotFound:
        return [f"tenant {tid} is missing"]
    survivors = [uid for uid in workload.user_ids if uid != workload.deleted_user]
    checks = {
        "apps": ([a.id for a in await stores.apps.list(tid)], ["api", "web"]),
        "branches": ([b.id for b in await stores.branches.list(tid, "web")], ["hq"]),
        "users": (sorted(u.id for u in await stores.users.list(tid)), survivors),
        "web grants": ([(g.user_id, g.status) for g in await stores.user_apps.list_app_users(tid, "web")],
                       [(uid, "active") for uid in survivors]),
        "api grants": ([(g.user_id, g.status) for g in await stores.user_apps.list_app_users(tid, "api")],
                       [(survivors[0], "revoked")] if survivors else []),
        "keys": ([k.id for k in await stores.app_keys.list_by_tenant(tid)], [workload.key_pk] if survivors else []),
    }
    for what, (found, expected) in checks.items():
        if found != expected:
            problems.append(f"{what}: found {found}, expected {expected}")
    if survivors and (await stores.users.get(tid, survivors[0])).full_name != Workload.UPDATED_NAME:
        problems.append(f"the update of user {survivors[0]} is missing")
    return problems


# ----- the drill ---------------------------------------------------------------------------------

class _Stop(Exception):
    """A step failed: the drill ends here (the step holds the reason)."""


class _Steps:
    def __init__(self, report: DrillReport, on_step: Callable[[DrillStep], None] | None) -> None:
        self.report = report
        self.on_step = on_step

    @asynccontextmanager
    async def step(self, name: str) -> AsyncIterator[DrillStep]:
        step = DrillStep(name)
        started = time.monotonic()
        try:
            yield step
            step.ok = True
        except StoreError as exc:
            step.detail = str(exc)
            self.report.failure = f"{name}: {exc}"
            raise _Stop from exc
        finally:
            step.seconds = time.monotonic() - started
            self.report.steps.append(step)
            if self.on_step:
                self.on_step(step)


async def run_drill(postgres: Stores | Any, *, workload: int = DEFAULT_WORKLOAD, environment: str | None = None,
                    allow_production: bool = False, keep_workload: bool = False,
                    script: Callable[[Stores], Awaitable[Any]] | None = None,
                    progress: DrillProgress | None = None, on_step: Callable[[DrillStep], None] | None = None,
                    write_wait: float = DEFAULT_WRITE_WAIT, switch_timeout: float | None = DEFAULT_SWITCH_TIMEOUT,
                    run_id: str | None = None) -> DrillReport:
    """Run the rollback drill on ``postgres``: ``Settings`` (opened here and closed at the end),
    a ``PostgresEngine``, or the console's switchable ``Stores`` while they are on PostgreSQL
    (they are switched, and stay on PostgreSQL when the drill succeeds).

    ``workload``: users the scripted workload creates on memory (0: none); ``script``: more
    writes of your own on memory, after it; ``keep_workload``: leave the workload's rows in
    PostgreSQL. Raises ``DrillRefused`` (production without ``allow_production``, read-only,
    stores not on PostgreSQL), ``SwitchRefused`` (schema not current) or ``BackendUnavailable``
    before anything changes; a failure after that ends the drill and is in the report.
    """
    if is_production(environment) and not allow_production:
        raise DrillRefused("production", f"the environment is marked {environment!r}: the drill switches the "
                           "database's data to memory and back, and truncates and reloads every table",
                           "Run it on a staging copy, or pass --allow-production (allow_production=True) if you mean it")
    if workload < 0:
        raise ValueError("workload must be 0 or more users")
    preflight_started = time.monotonic()
    opened = None
    if isinstance(postgres, Settings):
        if postgres.read_only:
            raise DrillRefused("read_only", "the console is in read-only mode and the drill writes",
                               "Drop --read-only / LOKSTRA_READ_ONLY to run the drill")
        opened = await open_postgres_target(postgres)
        stores = switchable_stores(opened, write_wait=write_wait, switch_timeout=switch_timeout)
    else:
        stores = switchable_stores(postgres, write_wait=write_wait, switch_timeout=switch_timeout)
    switchable: SwitchableEngine = stores.engine  # type: ignore[assignment]
    pg = switchable.current
    if pg.backend != "postgres":
        raise DrillRefused("not_postgres", f"the stores are on {pg.backend}, the drill starts from PostgreSQL",
                           "Switch to PostgreSQL first")
    try:
        if opened is None:
            await check_postgres_target(pg.target)
        report = DrillReport(run_id=run_id or uuid.uuid4().hex[:8], target=pg.target.display(),
                             environment=environment, workload_users=workload, keep_workload=keep_workload)
        report.steps.append(DrillStep("preflight", ok=True, seconds=time.monotonic() - preflight_started,
                                      detail="reachable, writable, schema current"))
        if on_step:
            on_step(report.steps[-1])
        started = time.monotonic()
        try:
            await _drill(stores, switchable, pg, report, _Steps(report, on_step), workload, keep_workload, script, progress)
        except _Stop:
            pass
        report.active_backend = switchable.backend
        if report.failure:
            report.failure += _where_the_data_is(report)
        report.seconds = time.monotonic() - started + report.steps[0].seconds
        return report
    finally:
        if opened is not None:
            await opened.close()


def workload_left_in_postgres(steps: Iterable[DrillStep]) -> bool:
    """Whether the drill reloaded PostgreSQL with its workload and has not removed it (yet)."""
    done = {step.name for step in steps if step.ok}
    return SWITCH_BACK in done and REMOVE_WORKLOAD not in done


def _where_the_data_is(report: DrillReport) -> str:
    """What a failed drill left where, for the operator."""
    if report.active_backend == "memory":
        return ("; the drill stopped on memory and has not written to PostgreSQL "
                "(the writes made on memory are only in memory)")
    if report.workload_tenant and workload_left_in_postgres(report.steps):
        return f"; tenant {report.workload_tenant} (the drill's workload) stays in PostgreSQL: delete it when done"
    return ""


async def _drill(stores: Stores, switchable: SwitchableEngine, pg: Any, report: DrillReport, steps: _Steps,
                 users: int, keep_workload: bool, script: Callable[[Stores], Awaitable[Any]] | None,
                 progress: DrillProgress | None) -> None:
    async def switch(name: str, target: Any, replace: bool, detail: str) -> None:
        async with steps.step(name) as step:
            try:
                done = await switchable.switch_to(target, replace=replace, progress=(
                    (lambda table, rows, expected: progress(name, table, rows, expected)) if progress else None))
            except SwitchError as exc:
                step.switch = exc.report.to_json() if exc.report else None
                raise
            step.switch = done.to_json()
            step.copied(done)
            step.detail = f"{detail}write pause {done.write_pause_seconds:.3f} s"

    async def verify(name: str, engine: Any, expected: dict[str, TableDigest] | None, mismatch: str,
                     detail: str = "every table's rows and digest equal") -> dict[str, TableDigest]:
        async with steps.step(name) as step:
            found = await table_digests(engine)
            step.measured(found)
            if expected is not None and (wrong := _differences(expected, found)):
                raise DrillCheckFailed(mismatch.format(", ".join(wrong)))
            step.detail = detail
        return found

    baseline = await verify("baseline: read postgres", pg, None, "", "digests of every table before the drill")
    memory = MemoryEngine(pg.clock)  # the data keeps its wall clock while it is in memory
    await switch("switch postgres → memory", memory, False, "")
    await verify("verify memory = postgres baseline", memory, baseline,
                 "memory differs from the PostgreSQL baseline in {}")

    plan = None
    if users:
        plan = Workload(tenant_id=f"drill-{report.run_id}", users=users)
        report.workload_tenant = plan.tenant_id
        async with steps.step("workload on memory") as step:
            try:
                await run_workload(stores, plan)
            finally:
                report.workload_writes = plan.writes
            step.detail = f"{plan.writes} writes in tenant {plan.tenant_id} (create, grant, revoke, update, delete)"
    if script is not None:
        async with steps.step("script on memory") as step:
            await script(stores)
            step.detail = "the caller's writes"

    await verify("check postgres untouched while on memory", pg, baseline,
                 "PostgreSQL was written by someone else while the console ran on memory ({}); "
                 "switching back would truncate those writes, so the drill stops here", "no other writer changed it")
    on_memory = await table_digests(memory)
    await switch(SWITCH_BACK, pg, True, "truncate and load in one transaction; ")
    await verify("verify postgres = memory", pg, on_memory,
                 "PostgreSQL differs from the memory state it was loaded from in {}")

    if plan is None:
        return
    async with steps.step("workload rows in postgres") as step:
        problems = await check_workload(stores, plan)
        if problems:
            raise DrillCheckFailed("; ".join(problems))
        step.detail = f"tenant {plan.tenant_id}: users, grants (one revoked), the update, the delete, the key"
    if keep_workload:
        return
    async with steps.step(REMOVE_WORKLOAD) as step:
        await stores.tenants.delete(plan.tenant_id)
        step.detail = f"tenant {plan.tenant_id} deleted (its apps, branches, users, grants and key with it)"
    if script is None:  # the script's own writes stay: then there is nothing to compare with
        await verify("compare postgres with baseline", pg, baseline,
                     "after removing the workload PostgreSQL differs from before the drill in {}",
                     "PostgreSQL equals the baseline: the round trip changed nothing else")
