"""Guarantee 1, faults on the wire: a single write, a page read, a migration and a live switch,
cut part-way by a TCP proxy (tests/support/faultproxy.py) between the console and PostgreSQL.

For each: the database holds all of the operation or none of it (checked through a direct
connection), the error is plain words without a traceback or the password, a retry succeeds
once the proxy heals, and the pool recovers by itself (the first call after the fault heals
already succeeds: no broken connection is handed out, not even once).

The copy into PostgreSQL has its own wire-fault tests in tests/test_copy_faults.py; the
switch tests here cut the copy that a switch runs.

Cut points are measured, not guessed: the operation is run once through the proxy in pass
mode to count its bytes client → server, then cut after 1 byte, a quarter, half, three
quarters, 8 bytes before the end, 1 byte before the end, and exactly at the end (the whole
request reached the server, the answer never came back).
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from migrations import MigrationRunner, Outcome, Overall, Progress
from stores import Stores, open_stores
from stores.demo import DemoSpec, load_into_memory
from stores.errors import BackendUnavailable, StoreError
from stores.memory.engine import MemoryEngine
from stores.postgres.diagnose import diagnose
from stores.transfer.switch import SwitchableEngine, SwitchError, open_postgres_target
from tests.support.databases import pg_settings
from tests.support.digests import direct_digests
from tests.reliability.conftest import (
    PASSWORD, assert_plain, assert_pool_recovered, direct_fetch, sessions_in_transaction,
    upstream, with_password,
)
from tests.support.factories import app, branch, key, tenant, user
from tests.support.faultproxy import FaultProxy
from tests.support.waits import cut_noticed
from tests.support.migrations_helpers import catalog_of, copy_migrations

pytestmark = pytest.mark.postgres

SCENARIOS: list[str] = []
"""Every fault scenario run in this module (operation / mode / cut point), for the report."""


def cut_points(size: int) -> list[int]:
    return sorted({1, size // 4, size // 2, 3 * size // 4, size - 8, size - 1, size} - {0})


def proxied_settings(proxy: FaultProxy, dsn: str, **extra: Any):
    options: dict[str, Any] = {"pool_min_size": 1, "pool_max_size": 1, "connect_timeout": 3,
                               "command_timeout": 5, **extra}
    return pg_settings(with_password(proxy.dsn(dsn)), **options)


# ----- single writes ---------------------------------------------------------------------------------

@dataclass
class WriteCase:
    """One kind of write. ``prepare(i)`` sets up what write ``i`` needs, ``run(i)`` is the write,
    ``state(i)`` reads the database directly and says "none" or "all" (and fails if half)."""

    name: str
    prepare: Callable[[Stores, int], Awaitable[None]]
    run: Callable[[Stores, int], Awaitable[Any]]
    state: Callable[[str, int], Awaitable[str]]


def _user_id(i: int) -> str:
    return f"c{i:03d}"  # same length for every i: every write of a case has the same size


async def _nothing(stores: Stores, i: int) -> None:
    return None


async def _create_user(stores: Stores, i: int) -> None:
    await stores.users.create(user("acme", _user_id(i), full_name="Zoë ‮ RTL", metadata={"i": f"{i:03d}"}))


async def _created_state(dsn: str, i: int) -> str:
    rows = await direct_fetch(dsn, "SELECT username, email, full_name, metadata::text FROM lokstra_auth.users "
                                   "WHERE tenant_id = 'acme' AND id = $1", _user_id(i))
    if not rows:
        return "none"
    assert tuple(rows[0]) == (f"user-{_user_id(i)}", f"{_user_id(i)}@example.com", "Zoë ‮ RTL", f'{{"i": "{i:03d}"}}')
    return "all"


async def _prepare_update(stores: Stores, i: int) -> None:
    if not await stores.users.exists("acme", "target"):
        await stores.users.create(user("acme", "target", full_name="Name ---", metadata={"n": "---"}))


async def _update_user(stores: Stores, i: int) -> None:
    current = await stores.users.get("acme", "target")
    changed = current.model_copy(update={"full_name": f"Name {i:03d}", "metadata": {"n": f"{i:03d}"}})
    await stores.users.update(changed, expected_updated_at=current.updated_at)


def _update_state() -> Callable[[str, int], Awaitable[str]]:
    before: dict[int, tuple] = {}

    async def state(dsn: str, i: int) -> str:
        rows = await direct_fetch(dsn, "SELECT full_name, metadata->>'n' FROM lokstra_auth.users "
                                       "WHERE tenant_id = 'acme' AND id = 'target'")
        found = tuple(rows[0])
        if found == (f"Name {i:03d}", f"{i:03d}"):
            return "all"
        previous = before.setdefault(i, found)
        assert found == previous and found[0] != f"Name {i:03d}" and found[1] != f"{i:03d}", f"half an update: {found}"
        return "none"

    return state


async def _seed_tenant(stores: Stores, i: int) -> None:
    tenant_id = f"d{i:03d}"
    await stores.tenants.create(tenant(tenant_id))
    await stores.apps.create(app(tenant_id, "web"))
    await stores.branches.create(branch(tenant_id, "web", "hq"))
    for user_id in ("u1", "u2"):
        await stores.users.create(user(tenant_id, user_id))
        await stores.user_apps.grant_access(tenant_id, "web", user_id)
    await stores.app_keys.store(key(tenant_id, "web", f"{tenant_id}-k1", user_id="u1"))


async def _delete_tenant(stores: Stores, i: int) -> None:
    await stores.tenants.delete(f"d{i:03d}")


async def _deleted_state(dsn: str, i: int) -> str:
    """A cascade delete takes six tables: all of them, or none."""
    rows = await direct_fetch(dsn, """
        SELECT (SELECT count(*) FROM lokstra_auth.tenants WHERE id = $1),
               (SELECT count(*) FROM lokstra_auth.apps WHERE tenant_id = $1),
               (SELECT count(*) FROM lokstra_auth.branches WHERE tenant_id = $1),
               (SELECT count(*) FROM lokstra_auth.users WHERE tenant_id = $1),
               (SELECT count(*) FROM lokstra_auth.user_apps WHERE tenant_id = $1),
               (SELECT count(*) FROM lokstra_auth.app_keys WHERE tenant_id = $1)""", f"d{i:03d}")
    counts = tuple(rows[0])
    assert counts in ((1, 1, 1, 2, 2, 1), (0, 0, 0, 0, 0, 0)), f"half a cascade delete: {counts}"
    return "all" if counts == (0,) * 6 else "none"


def write_cases() -> list[WriteCase]:
    return [
        WriteCase("create user", _nothing, _create_user, _created_state),
        WriteCase("update user (optimistic)", _prepare_update, _update_user, _update_state()),
        WriteCase("delete tenant (cascade)", _seed_tenant, _delete_tenant, _deleted_state),
    ]


async def _sweep(proxy: FaultProxy, stores: Stores, dsn: str, case: WriteCase) -> list[tuple[int, bool, str]]:
    """Cut ``case`` at every measured point; returns (cut, failed, state) per point."""
    await case.prepare(stores, 999)
    before = proxy.stats.bytes_up
    await case.run(stores, 999)
    size = proxy.stats.bytes_up - before
    assert size > 50, size
    outcomes: list[tuple[int, bool, str]] = []
    for i, cut in enumerate(cut_points(size)):
        await case.prepare(stores, i)
        await stores.ping()  # the pooled connection is open: the cut hits the write itself
        proxy.drop_after(cut)
        failure: StoreError | None = None
        try:
            await case.run(stores, i)
        except StoreError as exc:
            failure = exc
        proxy.heal()
        SCENARIOS.append(f"{case.name} / drop after {cut} of {size} bytes")
        state = await case.state(dsn, i)
        if failure is None:
            assert cut == size and state == "all", (cut, size, state)
        else:
            assert isinstance(failure, BackendUnavailable), repr(failure)
            assert failure.cause in {"connection_lost", "outcome_unknown"}, repr(failure)
            assert_plain(str(failure))
            assert "lost" in str(failure)
        if cut < size:
            assert failure is not None and state == "none", (case.name, cut, size, state)
        await assert_pool_recovered(stores, calls=3)
        if state == "none":
            await case.run(stores, i)  # the retry, on the healed link
            assert await case.state(dsn, i) == "all"
        outcomes.append((cut, failure is not None, state))
    return outcomes


async def test_a_write_cut_at_any_byte_is_applied_whole_or_not_at_all(clean_db: str) -> None:
    async with FaultProxy(*upstream(clean_db)) as proxy:
        # A statement cache of 0 sends the same bytes for every write of a kind (no cached
        # prepared statement on one connection and not on the next).
        stores = await open_stores(proxied_settings(proxy, clean_db, statement_cache_size=0))
        try:
            await stores.tenants.create(tenant("acme"))
            for case in write_cases():
                outcomes = await _sweep(proxy, stores, clean_db, case)
                assert len(outcomes) == 7 and all(failed for _, failed, _ in outcomes)
        finally:
            await stores.close()
    assert await sessions_in_transaction(clean_db) == 0


async def test_a_write_lost_after_it_was_sent_says_it_may_have_been_applied(clean_db: str) -> None:
    async with FaultProxy(*upstream(clean_db)) as proxy:
        stores = await open_stores(proxied_settings(proxy, clean_db, statement_cache_size=0))
        try:
            await stores.tenants.create(tenant("acme"))
            before = proxy.stats.bytes_up
            await _create_user(stores, 998)
            size = proxy.stats.bytes_up - before
            await stores.ping()
            proxy.drop_after(size)  # everything reaches the server; the answer never comes back
            with pytest.raises(BackendUnavailable) as lost:
                await _create_user(stores, 1)
            proxy.heal()
            message = str(lost.value)
            assert "may have been applied" in message or "outcome is unknown" in message, message
        finally:
            await stores.close()


async def test_a_write_on_a_stalled_link_times_out_and_is_not_applied_later(clean_db: str) -> None:
    async with FaultProxy(*upstream(clean_db)) as proxy:
        stores = await open_stores(proxied_settings(proxy, clean_db, command_timeout=1.0))
        try:
            await stores.tenants.create(tenant("acme"))
            await stores.ping()
            proxy.stall()
            started = time.monotonic()
            with pytest.raises(BackendUnavailable) as stalled:
                await _create_user(stores, 1)
            assert time.monotonic() - started < 5
            assert stalled.value.cause == "timeout" and "did not answer in time" in str(stalled.value)
            assert_plain(str(stalled.value))
            proxy.heal()
            await assert_pool_recovered(stores)
            for _ in range(5):  # the held request is never delivered once the link heals
                assert await _created_state(clean_db, 1) == "none"
                await asyncio.sleep(0.1)
            await _create_user(stores, 1)
            assert await _created_state(clean_db, 1) == "all"
            SCENARIOS.append("create user / stall")
        finally:
            await stores.close()


async def test_a_write_to_a_refusing_server_says_so_and_the_first_write_after_works(clean_db: str) -> None:
    async with FaultProxy(*upstream(clean_db)) as proxy:
        stores = await open_stores(proxied_settings(proxy, clean_db, pool_max_size=3))
        try:
            await stores.tenants.create(tenant("acme"))
            proxy.refuse()  # also cuts the pooled connections
            await proxy.settled()
            await cut_noticed(stores.engine)
            with pytest.raises(BackendUnavailable) as refused:
                await _create_user(stores, 1)
            assert refused.value.cause == "refused" and "Connection refused" in str(refused.value)
            assert_plain(str(refused.value))
            assert await _created_state(clean_db, 1) == "none"
            await proxy.healed()
            await _create_user(stores, 1)  # the very first write after the heal
            await assert_pool_recovered(stores)
            assert await _created_state(clean_db, 1) == "all"
            SCENARIOS.append("create user / refuse")
        finally:
            await stores.close()


async def test_writes_over_a_slow_link_arrive_intact(clean_db: str) -> None:
    async with FaultProxy(*upstream(clean_db)) as proxy:
        stores = await open_stores(proxied_settings(proxy, clean_db))
        try:
            await stores.tenants.create(tenant("acme"))
            proxy.slow(0.002, chunk=16)  # every 16 bytes 2 ms late
            for i in range(3):
                await _create_user(stores, i)
                assert await _created_state(clean_db, i) == "all"
            SCENARIOS.append("create user / slow packets")
        finally:
            await stores.close()


# ----- page reads ------------------------------------------------------------------------------------

async def _all_pages(stores: Stores) -> list[list[str]]:
    pages, after = [], None
    while True:
        page = await stores.users.page("acme", after=after, limit=40)
        pages.append([u.id for u in page.rows])
        if page.next_cursor is None:
            return pages
        after = page.next_cursor


async def test_a_page_read_cut_part_way_fails_plainly_and_the_same_page_comes_back(clean_db: str) -> None:
    seeding = await open_stores(pg_settings(clean_db))
    try:
        await seeding.tenants.create(tenant("acme"))
        for i in range(100):
            await seeding.users.create(user("acme", f"p{i:03d}", full_name="ا" * (i % 7)))
    finally:
        await seeding.close()
    async with FaultProxy(*upstream(clean_db)) as proxy:
        stores = await open_stores(proxied_settings(proxy, clean_db, pool_max_size=3, statement_cache_size=0,
                                                    command_timeout=1.0))
        try:
            reference = await _all_pages(stores)
            assert [len(p) for p in reference] == [40, 40, 20]
            before = proxy.stats.bytes_up
            first = await stores.users.page("acme", limit=40)
            size = proxy.stats.bytes_up - before
            for cut in cut_points(size):
                await stores.ping()
                proxy.drop_after(cut)
                try:
                    page = await stores.users.page("acme", limit=40)
                    assert cut == size and [u.id for u in page.rows] == reference[0]
                except BackendUnavailable as exc:
                    assert_plain(str(exc))
                proxy.heal()
                assert await _all_pages(stores) == reference
                await assert_pool_recovered(stores, calls=3)
                SCENARIOS.append(f"page read / drop after {cut} of {size} bytes")
            for mode in ("stall", "refuse"):
                getattr(proxy, mode)()
                await proxy.settled()
                if mode == "refuse":
                    await cut_noticed(stores.engine)
                with pytest.raises(BackendUnavailable) as failed:
                    await stores.users.page("acme", after=first.next_cursor, limit=40)
                assert failed.value.cause == ("timeout" if mode == "stall" else "refused")
                assert_plain(str(failed.value))
                await proxy.healed()
                assert await _all_pages(stores) == reference
                await assert_pool_recovered(stores)
                SCENARIOS.append(f"page read / {mode}")
            proxy.slow(0.001, chunk=256)
            assert await _all_pages(stores) == reference
            SCENARIOS.append("page read / slow packets")
        finally:
            await stores.close()


# ----- migrations ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def reference_catalogs(pg_server, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[int, ...], Any]:
    """The lokstra_auth catalog after each prefix of the packaged migrations (none, the first, …, all)."""
    from migrations.source import load
    from tests.support.server import run_sync

    versions = tuple(m.version for m in load(None).migrations)
    catalogs: dict[tuple[int, ...], Any] = {}
    for count in range(len(versions) + 1):
        prefix = versions[:count]
        source = copy_migrations(tmp_path_factory.mktemp("prefix"), versions=prefix) if prefix else None
        dsn = pg_server.create_database("refcat")
        if prefix:
            run_sync(lambda: MigrationRunner.from_dsn(dsn, source=source).up())
        catalogs[prefix] = run_sync(lambda: catalog_of(dsn))
        pg_server.drop_database(dsn)
    return catalogs


async def _applied(dsn: str) -> tuple[int, ...]:
    status = await MigrationRunner.from_dsn(dsn).status()
    assert status.overall in (Overall.NOT_INITIALISED, Overall.PENDING, Overall.CURRENT), status.headline
    return tuple(m.version for m in status.migrations if m.is_applied)


async def _lock_holders(dsn: str) -> int:
    for _ in range(300):  # the server drops the session (and its lock) when it notices the client left
        rows = await direct_fetch(dsn, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                                       "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")
        if rows[0][0] == 0:
            return 0
        await asyncio.sleep(0.1)
    return rows[0][0]


async def test_a_migration_cut_part_way_leaves_each_migration_whole_or_absent(
        pg_server, reference_catalogs: dict[tuple[int, ...], Any]) -> None:
    measure = pg_server.create_database("migcut")
    async with FaultProxy(*upstream(measure)) as proxy:
        before = proxy.stats.bytes_up
        await MigrationRunner.from_dsn(proxy.dsn(measure)).up()
        size = proxy.stats.bytes_up - before
        pg_server.drop_database(measure)
        seen: set[tuple[int, ...]] = set()
        for fraction in (0.02, 0.2, 0.45, 0.7, 0.9, 0.99):
            dsn = pg_server.create_database("migcut")
            cut = int(size * fraction)
            proxy.drop_after(cut)
            with pytest.raises((asyncpg.InterfaceError, OSError, asyncpg.PostgresError)) as lost:
                await MigrationRunner.from_dsn(with_password(proxy.dsn(dsn)), lock_timeout=5).up()
            proxy.heal()
            found = diagnose(lost.value, "migration target", [PASSWORD])
            assert found is not None and found.cause == "connection_lost", repr(lost.value)
            assert_plain(str(found))
            applied = await _applied(dsn)
            assert await catalog_of(dsn) == reference_catalogs[applied], f"cut at {cut}: half a migration"
            assert await _lock_holders(dsn) == 0
            seen.add(applied)
            retry = await MigrationRunner.from_dsn(proxy.dsn(dsn), lock_timeout=5).up()
            assert retry.outcome is (Outcome.NOTHING_TO_DO if applied == max(reference_catalogs, key=len) else Outcome.DONE)
            assert retry.status.overall is Overall.CURRENT
            assert await catalog_of(dsn) == reference_catalogs[max(reference_catalogs, key=len)]
            SCENARIOS.append(f"migration up / drop after {cut} of {size} bytes")
            pg_server.drop_database(dsn)
    assert len(seen) >= 3 and () in seen, seen  # cuts landed before, between and after the migrations


async def test_a_migration_against_a_refusing_or_stalled_server_leaves_whole_migrations(
        pg_server, reference_catalogs: dict[tuple[int, ...], Any]) -> None:
    dsn = pg_server.create_database("migcut")
    async with FaultProxy(*upstream(dsn)) as proxy:
        proxy.refuse()
        await proxy.settled()
        with pytest.raises(OSError) as refused:
            await MigrationRunner.from_dsn(proxy.dsn(dsn)).up()
        found = diagnose(refused.value, "migration target")
        assert found is not None and found.cause == "refused"
        assert await _applied(dsn) == ()
        await proxy.healed()

        async def connect() -> asyncpg.Connection:
            return await asyncpg.connect(proxy.dsn(dsn), timeout=3, command_timeout=1.0)

        def stall_at_the_second(event: Progress) -> None:
            if event.kind == "started" and event.index == 2:
                proxy.stall()

        started = time.monotonic()
        with pytest.raises((TimeoutError, asyncio.TimeoutError)) as stalled:
            await MigrationRunner(connect).up(on_progress=stall_at_the_second)
        assert time.monotonic() - started < 15
        found = diagnose(stalled.value, "migration target")
        assert found is not None and found.cause == "timeout"
        assert_plain(str(found))
        proxy.heal()
        applied = await _applied(dsn)
        assert applied == (1,) and await catalog_of(dsn) == reference_catalogs[applied]
        assert await _lock_holders(dsn) == 0
        proxy.slow(0.001, chunk=512)  # the retry over a slow link
        assert (await MigrationRunner.from_dsn(proxy.dsn(dsn)).up()).outcome is Outcome.DONE
        assert await catalog_of(dsn) == reference_catalogs[max(reference_catalogs, key=len)]
        SCENARIOS.extend(["migration up / refuse", "migration up / stall in the second migration",
                          "migration up / slow packets"])
    pg_server.drop_database(dsn)


# ----- live switch -----------------------------------------------------------------------------------

def _demo(users: int) -> MemoryEngine:
    engine = MemoryEngine()
    load_into_memory(engine, DemoSpec(users=users))
    return engine


async def _memory_digests(engine: Any) -> dict[str, tuple[int, str]]:
    from stores.transfer.copy import table_digests

    return {name: (d.rows, d.hex) for name, d in (await table_digests(engine)).items()}


async def test_a_switch_to_postgres_cut_part_way_keeps_memory_active_and_the_target_empty(clean_db: str) -> None:
    memory = _demo(400)
    expected = await _memory_digests(memory)
    empty = await direct_digests(clean_db)
    assert all(rows == 0 for rows, _ in empty.values())
    async with FaultProxy(*upstream(clean_db)) as proxy:
        target = await open_postgres_target(proxied_settings(proxy, clean_db, pool_max_size=2))
        switchable = SwitchableEngine(memory, write_wait=5)
        stores = Stores(switchable)
        try:
            cuts = 0

            def cut_in_users(table: str, done: int, total: int) -> None:
                nonlocal cuts
                if table == "users" and done >= total // 2 and proxy.mode == "pass" and cuts == 0:
                    cuts += 1
                    proxy.cut_all()

            modes: list[tuple[str, Callable[[], None], Any]] = [
                ("cut in the users table", lambda: None, cut_in_users),
                ("drop after 20 kB", lambda: proxy.drop_after(20_000), None),
                ("drop after 60 kB", lambda: proxy.drop_after(60_000), None),
                ("refuse", proxy.refuse, None),
            ]
            for name, fault, progress in modes:
                fault()
                await proxy.settled()
                with pytest.raises(StoreError) as failed:
                    await switchable.switch_to(target, progress=progress, check_schema=False)
                message = str(failed.value)
                assert_plain(message)
                assert "memory stays active" in message or isinstance(failed.value, BackendUnavailable), message
                await proxy.healed()
                assert stores.backend == "memory" and switchable.current is memory
                await stores.users.create(user("acme-corp", f"during-{len(SCENARIOS)}"))  # writes still land
                await stores.users.delete("acme-corp", f"during-{len(SCENARIOS)}")
                assert await direct_digests(clean_db) == empty, name
                assert await sessions_in_transaction(clean_db) == 0
                await assert_pool_recovered(Stores(target), calls=3)
                SCENARIOS.append(f"switch memory → postgres / {name}")
            report = await switchable.switch_to(target)
            assert report.ok and report.verified and stores.backend == "postgres"
            assert await direct_digests(clean_db) == expected
        finally:
            await target.close()


async def test_a_switch_from_postgres_cut_part_way_keeps_postgres_active(clean_db: str) -> None:
    from stores.transfer.copy import copy_tables

    seeding = await open_stores(pg_settings(clean_db))
    try:
        await copy_tables(_demo(300), seeding.engine)
    finally:
        await seeding.close()
    expected = await direct_digests(clean_db)
    async with FaultProxy(*upstream(clean_db)) as proxy:
        source = await open_postgres_target(proxied_settings(proxy, clean_db, pool_max_size=2))
        switchable = SwitchableEngine(source, write_wait=5)
        stores = Stores(switchable)
        try:
            target = MemoryEngine()

            def cut_after_users(table: str, done: int, total: int) -> None:
                if table == "users" and done == total and proxy.stats.cut == 0:
                    proxy.cut_all()  # the next table's read finds the link gone

            with pytest.raises(SwitchError) as failed:
                await switchable.switch_to(target, progress=cut_after_users)
            assert_plain(str(failed.value))
            assert "postgres stays active" in str(failed.value)
            assert stores.backend == "postgres"
            assert all(not table.rows for table in target.tables.values())
            await assert_pool_recovered(stores)
            assert await direct_digests(clean_db) == expected
            report = await switchable.switch_to(target)
            assert report.ok and await _memory_digests(target) == expected
            SCENARIOS.append("switch postgres → memory / cut after the users table")
        finally:
            await source.close()



async def test_a_digest_read_cut_in_its_first_bytes_says_the_connection_was_lost(clean_db: str) -> None:
    from stores.transfer.copy import table_digests

    async with FaultProxy(*upstream(clean_db)) as proxy:
        stores = await open_stores(proxied_settings(proxy, clean_db, pool_min_size=2, pool_max_size=2,
                                                    statement_cache_size=0))
        try:
            messages: set[str] = set()
            for cut in range(1, 200, 7):
                await assert_pool_recovered(stores, calls=1)  # both connections open: the cut hits the read
                proxy.drop_after(cut)
                try:
                    await table_digests(stores.engine)
                except StoreError as exc:
                    messages.add(str(exc))
                proxy.heal()
            assert messages and all("connection to the server was lost" in m for m in messages), messages
        finally:
            await stores.close()


async def test_a_target_lost_during_verification_fails_the_switch_saying_what_holds_what(clean_db: str) -> None:
    memory = _demo(30)
    async with FaultProxy(*upstream(clean_db)) as proxy:
        engine = await open_postgres_target(proxied_settings(proxy, clean_db, pool_max_size=2))

        class LostBeforeVerifying:
            """The real target; its connection is refused once the copy has committed."""

            def __getattr__(self, name: str) -> Any:
                return getattr(engine, name)

            def snapshot(self):  # noqa: ANN201 - only the verification reads the target's snapshot
                proxy.refuse()
                return engine.snapshot()

        switchable = SwitchableEngine(memory)
        try:
            with pytest.raises(SwitchError) as failed:
                await switchable.switch_to(LostBeforeVerifying(), check_schema=False)
            report = failed.value.report
            assert report is not None and report.outcome == "failed" and report.target_changed
            assert "memory stays active" in str(failed.value) and "now holds it" in str(failed.value)
            assert switchable.current is memory
        finally:
            await proxy.healed()
            await engine.close()
