"""Live switch between backends (stores/transfer/switch.py), against a real PostgreSQL."""
from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest

from migrations import MigrationRunner
from stores import Stores
from stores.demo import DemoSpec, load_into_memory
from stores.engine import Engine
from stores.memory.engine import MemoryEngine
from stores.postgres.engine import PostgresEngine
from stores.transfer.copy import copy_tables, table_digests
from stores.transfer.switch import (
    READ_METHODS,
    WRITE_METHODS,
    SwitchableEngine,
    SwitchCancelled,
    SwitchFailed,
    SwitchInProgress,
    SwitchRefused,
    open_postgres_target,
    switchable_stores,
)
from tests.support.databases import pg_settings, truncate_all
from tests.support.waits import eventually, until_blocked
from tests.support.factories import seed_basic, user

TENANT = "acme-corp"  # the demo data's first tenant


async def digests(engine: Any) -> dict[str, tuple[int, str]]:
    return {name: (d.rows, d.hex) for name, d in (await table_digests(engine)).items()}


async def user_ids(engine: Any, tenant_id: str, prefix: str) -> list[str]:
    return [u.id for u in await Stores(engine).users.list(tenant_id) if u.id.startswith(prefix)]


class HeldTarget:
    """A real engine whose loader waits (for ``hold`` seconds, or until ``release`` is set)
    before it starts: it holds a switch open at a known point, after the source snapshot."""

    def __init__(self, engine: Any, hold: float | None = None) -> None:
        self.engine = engine
        self.hold = hold
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)

    @asynccontextmanager
    async def loader(self, replace: bool = False) -> AsyncIterator[Any]:
        self.entered.set()
        if self.hold is None:
            await self.release.wait()
        else:
            await asyncio.sleep(self.hold)
        async with self.engine.loader(replace=replace) as loading:
            yield loading


@pytest.fixture
async def pg(migrated_db: str) -> AsyncIterator[PostgresEngine]:
    engine = await open_postgres_target(pg_settings(migrated_db))
    await truncate_all(Stores(engine))
    try:
        yield engine
    finally:
        await engine.close()


def demo_memory(users: int = 30) -> MemoryEngine:
    engine = MemoryEngine()
    load_into_memory(engine, DemoSpec(users=users))
    return engine


def test_every_engine_operation_is_either_a_read_or_a_gated_write() -> None:
    protocol = {name for name, _ in inspect.getmembers(Engine, inspect.isfunction) if not name.startswith("_")}
    copy_api = {"snapshot", "loader"}
    assert protocol - {"close"} <= set(READ_METHODS) | set(WRITE_METHODS), "classify the new operation in switch.py"
    assert not set(READ_METHODS) & set(WRITE_METHODS)
    for name in (*READ_METHODS, *WRITE_METHODS, "close"):
        if name in protocol or name in copy_api:
            assert name in SwitchableEngine.__dict__, name


async def test_switch_memory_to_postgres_and_back(pg: PostgresEngine) -> None:
    memory = demo_memory(users=200)
    original = await digests(memory)
    stores = switchable_stores(memory)
    assert stores.backend == "memory"

    report = await stores.engine.switch_to(pg)
    assert stores.backend == "postgres" and stores.engine.current is pg and report.previous is memory
    assert report.ok and report.verified and report.target_changed
    assert report.rows == sum(rows for rows, _ in original.values()) > 200
    assert report.write_pause_seconds >= report.copy_seconds > 0
    assert await digests(pg) == original
    assert await digests(stores.engine) == original  # reads go to PostgreSQL now
    assert await stores.users.get(TENANT, "u00000007") == await Stores(memory).users.get(TENANT, "u00000007")

    await stores.users.set_status(TENANT, "u00000007", "suspended")  # a write lands in PostgreSQL only
    assert (await Stores(pg).users.get(TENANT, "u00000007")).status == "suspended"
    assert (await Stores(memory).users.get(TENANT, "u00000007")).status == "active"

    back = MemoryEngine()
    report = await stores.engine.switch_to(back)
    assert stores.backend == "memory" and stores.engine.current is back and report.previous is pg
    assert report.ok and report.source == "postgres" and report.target == "memory"
    assert await digests(back) == await digests(pg) != original
    assert (await stores.users.get(TENANT, "u00000007")).status == "suspended"
    assert [r["outcome"] for r in stores.engine.history] == ["switched", "switched"]
    assert report.to_json()["tables"][3]["table"] == "users"


@pytest.mark.parametrize("direction", ["memory_to_postgres", "postgres_to_memory"])
async def test_writes_during_a_switch_land_exactly_once_or_are_refused(pg: PostgresEngine, direction: str) -> None:
    memory = demo_memory()
    if direction == "memory_to_postgres":
        source, target = memory, pg
    else:
        await copy_tables(memory, pg)
        source, target = pg, MemoryEngine()
    # the switch stays open 0.8 s; writes wait 0.3 s: early ones are refused, late ones held
    held = HeldTarget(target, hold=0.8)
    stores = switchable_stores(source, write_wait=0.3)
    acks: list[tuple[str, str, float]] = []
    stop = asyncio.Event()

    async def writer(n: int) -> None:
        for i in range(10_000):
            if stop.is_set():
                return
            uid = f"load-{n}-{i:04d}"
            try:
                await stores.users.create(user(TENANT, uid))
                acks.append((uid, "ok", time.monotonic()))
            except SwitchInProgress:
                acks.append((uid, "refused", time.monotonic()))
            await asyncio.sleep(0.01)

    writers = [asyncio.create_task(writer(n)) for n in range(4)]
    await eventually(lambda: len(acks) >= 8, "writes acknowledged before the switch")
    switch_started = time.monotonic()
    report = await stores.engine.switch_to(held)
    switched = time.monotonic()
    await eventually(lambda: sum(1 for _, outcome, at in acks if outcome == "ok" and at > switched) >= 8,
                     "writes acknowledged after the switch")
    stop.set()
    await asyncio.gather(*writers)

    ok = {uid for uid, outcome, _ in acks if outcome == "ok"}
    refused = {uid for uid, outcome, _ in acks if outcome == "refused"}
    before = {uid for uid, outcome, at in acks if outcome == "ok" and at < switch_started}
    after = {uid for uid, outcome, at in acks if outcome == "ok" and at > switched}
    new = await user_ids(target, TENANT, "load-")
    old = set(await user_ids(source, TENANT, "load-"))
    assert before and after and refused, "the load ran before, during and after the switch"
    assert report.ok and report.writes_refused == len(refused) and report.writes_held >= 1
    # Held writes waited at most write_wait, plus what a loaded machine adds before a timer fires.
    assert report.longest_write_wait_seconds < 0.3 + 1.0
    assert len(new) == len(set(new)) and set(new) == ok, "every acknowledged write, once; nothing else"
    assert before <= old <= set(new), "nothing acknowledged by the old backend exists only there"
    assert not after & old, "writes after the switch went to the new backend only"
    assert not refused & (old | set(new)), "refused writes are nowhere"
    assert await digests(stores.engine) == await digests(target)


async def test_a_switch_waits_for_the_writes_in_flight_before_its_snapshot(pg: PostgresEngine, migrated_db: str) -> None:
    await copy_tables(demo_memory(users=10), pg)
    stores = switchable_stores(pg)
    locker = await asyncpg.connect(migrated_db)
    try:
        async with locker.transaction():  # hold the user's row: the write below stays in flight
            await locker.execute("SELECT 1 FROM lokstra_auth.users WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
                                 TENANT, "u00000003")
            write = asyncio.create_task(stores.users.set_status(TENANT, "u00000003", "suspended"))
            await until_blocked(migrated_db)  # the write is in flight, waiting for the row
            target = MemoryEngine()
            switch = asyncio.create_task(stores.engine.switch_to(target))
            await eventually(lambda: stores.engine.switching, "the switch to start")
            await asyncio.sleep(0.2)  # the row stays locked this long: the switch must wait all of it
            assert not write.done() and not switch.done()
        await write
        report = await switch
    finally:
        await locker.close()
    assert report.writes_drained == 1 and report.drain_seconds >= 0.15
    assert (await Stores(target).users.get(TENANT, "u00000003")).status == "suspended"
    assert await digests(target) == await digests(pg)


async def test_a_schema_that_is_not_current_is_refused_with_the_reason(fresh_db: str) -> None:
    with pytest.raises(SwitchRefused) as err:
        await open_postgres_target(pg_settings(fresh_db))
    assert err.value.cause == "not_migrated" and "migrate up" in str(err.value)

    runner = MigrationRunner.from_dsn(fresh_db)
    await runner.up()
    with pytest.raises(SwitchRefused) as err:
        await open_postgres_target(pg_settings(fresh_db, read_only=True))
    assert err.value.cause == "read_only"
    await runner.down(1)
    engine = await PostgresEngine.open(pg_settings(fresh_db))  # the tables are there: it opens
    memory = MemoryEngine()
    stores = switchable_stores(memory)
    await seed_basic(stores)
    try:
        with pytest.raises(SwitchRefused) as err:
            await stores.engine.switch_to(engine)
        assert err.value.cause == "schema_pending"
        assert "1 migration pending (003_console_audit)" in str(err.value) and "migrate up" in str(err.value)
        assert err.value.report is not None and err.value.report.outcome == "refused"
        assert stores.backend == "memory" and stores.engine.current is memory
        await stores.users.create(user("acme", "after-refusal"))  # the gate is open
        assert all(rows == 0 for rows, _ in (await digests(engine)).values())
    finally:
        await engine.close()


async def test_a_failed_switch_keeps_the_old_backend_and_applies_the_waiting_writes_there(pg: PostgresEngine) -> None:
    await seed_basic(Stores(pg))
    pg_before = await digests(pg)
    memory = MemoryEngine()
    stores = switchable_stores(memory, write_wait=5)
    await seed_basic(stores, "beta")
    held = HeldTarget(pg)
    switch = asyncio.create_task(stores.engine.switch_to(held))  # not empty and no replace: it fails
    await held.entered.wait()
    writes = [asyncio.create_task(stores.users.create(user("beta", f"w{i}"))) for i in range(3)]
    await eventually(lambda: stores.engine.writes_waiting == 3, "the three writes at the gate")
    assert not any(w.done() for w in writes)
    reads = await stores.users.list("beta")  # reads go on meanwhile
    assert [u.id for u in reads] == ["u1", "u2"]
    held.release.set()
    with pytest.raises(SwitchFailed, match="not empty") as err:
        await switch
    await asyncio.gather(*writes)
    report = err.value.report
    assert report.outcome == "failed" and not report.target_changed and report.writes_held == 3
    assert "memory stays active" in report.reason
    assert stores.backend == "memory" and stores.engine.current is memory
    assert await user_ids(memory, "beta", "w") == ["w0", "w1", "w2"]
    assert await digests(pg) == pg_before


async def test_cancelling_a_switch_mid_copy_leaves_the_target_unchanged(pg: PostgresEngine) -> None:
    await seed_basic(Stores(pg), "old")
    pg_before = await digests(pg)
    memory = demo_memory(users=400)
    stores = switchable_stores(memory)
    tables_started: list[str] = []

    def progress(table: str, done: int, expected: int) -> None:
        if done == 0:
            tables_started.append(table)
        if table == "users" and done > 0:
            assert stores.engine.cancel_switch()

    with pytest.raises(SwitchCancelled) as err:
        await stores.engine.switch_to(pg, replace=True, progress=progress)
    assert tables_started[-1] in ("users", "user_apps") and "app_keys" not in tables_started
    assert err.value.report.outcome == "cancelled" and "while copying" in err.value.report.reason
    assert not err.value.report.target_changed
    assert stores.backend == "memory" and not stores.engine.switching
    assert await digests(pg) == pg_before
    await stores.users.create(user(TENANT, "after-cancel"))
    assert await user_ids(memory, TENANT, "after-cancel") == ["after-cancel"]

    # a plain task.cancel() propagates as CancelledError, with the same guarantees
    held = HeldTarget(pg)
    task = asyncio.create_task(stores.engine.switch_to(held, replace=True))
    await held.entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert stores.engine.history[-1]["outcome"] == "cancelled" and stores.backend == "memory"
    await stores.users.create(user(TENANT, "after-task-cancel"))
    assert await digests(pg) == pg_before


async def test_a_switch_that_times_out_changes_nothing_and_a_second_switch_is_refused() -> None:
    memory = demo_memory(users=10)
    target = MemoryEngine()
    stores = switchable_stores(memory, write_wait=2)
    held = HeldTarget(target)
    first = asyncio.create_task(stores.engine.switch_to(held, timeout=0.3))
    await held.entered.wait()
    with pytest.raises(SwitchRefused) as err:
        await stores.engine.switch_to(MemoryEngine())
    assert err.value.cause == "switch_running"
    waiting = asyncio.create_task(stores.users.create(user(TENANT, "waited")))
    with pytest.raises(SwitchFailed, match="longer than 0.3 s") as err:
        await first
    assert err.value.report.outcome == "timed_out" and not err.value.report.target_changed
    await waiting
    assert stores.engine.current is memory and await user_ids(memory, TENANT, "waited") == ["waited"]
    assert all(rows == 0 for rows, _ in (await digests(target)).values())
    with pytest.raises(SwitchRefused):
        await stores.engine.switch_to(memory)  # the active engine itself


async def test_a_write_refused_during_a_switch_is_never_applied_later() -> None:
    memory = demo_memory(users=10)
    target = MemoryEngine()
    stores = switchable_stores(memory, write_wait=0.05)
    held = HeldTarget(target)
    switch = asyncio.create_task(stores.engine.switch_to(held))
    await held.entered.wait()
    with pytest.raises(SwitchInProgress, match="not applied"):
        await stores.users.create(user(TENANT, "too-late"))
    held.release.set()
    report = await switch
    assert report.writes_refused == 1 and report.write_pause_seconds >= 0.05
    await asyncio.sleep(0.01)
    assert await user_ids(target, TENANT, "too-late") == [] == await user_ids(memory, TENANT, "too-late")
    with pytest.raises(TypeError):
        SwitchableEngine(stores.engine)


async def test_an_atomic_block_is_drained_by_a_switch_as_one_write() -> None:
    """A switch waits for an open atomic block (an audited change) and copies all of it;
    the block's own writes never wait at the gate the switch closed behind it."""
    memory = demo_memory(users=5)
    stores = switchable_stores(memory, write_wait=2)
    entered, release = asyncio.Event(), asyncio.Event()

    async def audited_change() -> None:
        async with stores.engine.atomic():
            await stores.users.create(user(TENANT, "in-block-1"))
            entered.set()
            await release.wait()
            await stores.users.create(user(TENANT, "in-block-2"))

    change = asyncio.create_task(audited_change())
    await entered.wait()
    target = MemoryEngine()
    switch = asyncio.create_task(stores.engine.switch_to(target))
    await eventually(lambda: stores.engine.switching, "the switch to start")
    await asyncio.sleep(0.1)  # the block stays open this long: the switch must still be waiting
    assert not switch.done(), "the switch must wait for the open block"
    release.set()
    await change
    report = await switch
    assert report.ok and stores.engine.current is target
    assert await stores.users.exists(TENANT, "in-block-1") and await stores.users.exists(TENANT, "in-block-2")


async def test_the_memory_audit_trail_moves_with_a_switch_to_postgres_once(pg: PostgresEngine) -> None:
    from stores.admin import Actor, Admin

    memory = demo_memory(users=5)
    stores = switchable_stores(memory)
    await Admin(stores, Actor("ops")).set_status(await stores.users.get(TENANT, "u00000001"), "suspended")
    report = await stores.engine.switch_to(pg, replace=True)
    assert report.ok and report.audit_carried == 1 and report.to_json()["audit_carried"] == 1
    [entry] = (await stores.audit.page(limit=10)).rows  # read from PostgreSQL now
    assert (entry.action, entry.entity_key, entry.backend) == ("status", f"{TENANT}/u00000001", "memory")

    back = MemoryEngine()
    await stores.engine.switch_to(back)  # PostgreSQL keeps its trail; memory starts its own
    await Admin(stores, Actor("ops")).set_status(await stores.users.get(TENANT, "u00000002"), "suspended")
    again = await stores.engine.switch_to(pg, replace=True)
    assert again.audit_carried == 1
    assert [e.entity_key for e in (await stores.audit.page(limit=10)).rows] == [
        f"{TENANT}/u00000001", f"{TENANT}/u00000002"]
