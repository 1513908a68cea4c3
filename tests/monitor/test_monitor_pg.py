"""``PostgresMonitor`` against the real throwaway cluster: the workload's slow and hot
statements, per-interval deltas, tables, activity with a blocker, cancel, capability gaps."""
from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import pytest

from console.screens.monitor.statements import StatementFilter, statement_rows
from stores.monitor import PostgresMonitor, Sample, Statement, mask_literals
from stores.settings import APPLICATION_NAME
from tests.monitor.conftest import db_name, grant_schema, open_engine, with_user
from tests.support.waits import eventually
from tests.support.server import PgServer

SLOW = "SELECT pg_sleep($1::float8) AS monitor_slow"
HOT = "SELECT $1::int + 1 AS monitor_hot"
LATER = "SELECT $1::int * 2 AS monitor_later"


def mine(sample: Sample, database: str) -> list[Statement]:
    assert sample.statements is not None, sample.problems
    return [s for s in sample.statements if s.database == database]


def find(statements: list[Statement], marker: str) -> Statement:
    found = [s for s in statements if s.query and marker in s.query]
    assert len(found) == 1, [s.query for s in statements]
    return found[0]


async def workload(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for _ in range(2):
            await conn.fetchval(SLOW, 0.3)
        for i in range(300):
            await conn.fetchval(HOT, i)
    finally:
        await conn.close()


async def test_slow_leads_mean_time_hot_leads_calls_and_the_interval_shows_only_what_ran(
        stats_db: str, monitor: PostgresMonitor) -> None:
    database = db_name(stats_db)
    first = await monitor.sample()
    assert first.interval_seconds is None and all(s.interval is None for s in first.statements or [])
    await workload(stats_db)
    second = await monitor.sample()
    statements = mine(second, database)
    slow, hot = find(statements, "monitor_slow"), find(statements, "monitor_hot")
    assert slow.totals.calls == 2 and hot.totals.calls == 300
    assert slow.totals.mean_ms is not None and slow.totals.mean_ms >= 290
    assert max(statements, key=lambda s: s.totals.mean_ms or 0) is slow
    assert max(statements, key=lambda s: s.totals.calls) is hot
    assert slow.interval is not None and slow.interval.calls == 2 and hot.interval.calls == 300  # type: ignore[union-attr]
    assert not any(s.own for s in second.statements or []), "the monitor's own statements are hidden"
    assert second.statements_total is not None and second.statements_total > len(second.statements or [])
    assert 0 < (slow.share or 0) < 1 and second.info is not None and second.info.dealloc >= 0

    # the rows the screen shows, sorted by mean time and by calls
    by_mean, _ = statement_rows(statements, interval=False, group=None, filter=StatementFilter(), sort="mean")
    by_calls, _ = statement_rows(statements, interval=False, group=None, filter=StatementFilter(), sort="calls")
    assert by_mean[0][0] == slow.id and by_calls[0][0] == hot.id

    conn = await asyncpg.connect(stats_db)
    try:
        for i in range(3):
            await conn.fetchval(LATER, i)
    finally:
        await conn.close()
    third = await monitor.sample()
    ran = [s for s in mine(third, database) if s.interval is not None and s.interval.calls]
    assert [s.query for s in ran if "monitor_" in (s.query or "")] == [find(ran, "monitor_later").query]
    later = find(ran, "monitor_later")
    assert later.interval.calls == 3 and later.totals.calls == 3  # type: ignore[union-attr]
    interval_rows, _ = statement_rows(mine(third, database), interval=True, group=None, filter=StatementFilter(),
                                      sort="total")
    assert later.id in {row_id for row_id, _ in interval_rows}
    assert slow.id not in {row_id for row_id, _ in interval_rows} and hot.id not in {row_id for row_id, _ in interval_rows}
    assert monitor.history_of(slow.key)[-2:] == [pytest.approx(slow.totals.total_ms), 0.0]
    assert len(third.history_all) == 2


async def test_filter_and_group_by_database_and_role(stats_db: str, monitor: PostgresMonitor) -> None:
    await workload(stats_db)
    sample = await monitor.sample()
    database = db_name(stats_db)
    rows, matching = statement_rows(sample.statements or [], interval=False, group=None,
                                    filter=StatementFilter.parse(f"db:{database} monitor_hot"), sort="total")
    assert matching == 1 and "monitor_hot" in rows[0][1][7].text
    grouped, _ = statement_rows(sample.statements or [], interval=False, group="database",
                                filter=StatementFilter(), sort="total")
    assert f"database:{database}" in {row_id for row_id, _ in grouped}
    shares = [cells[6].sort for _, cells in grouped]
    assert sum(shares) == pytest.approx(1.0)  # type: ignore[arg-type]


async def test_tables_indexes_and_cache_hit(stats_db: str, monitor: PostgresMonitor) -> None:
    sample = await monitor.sample()
    assert sample.tables is not None and {t.name for t in sample.tables} == {
        "tenants", "apps", "branches", "users", "user_apps", "app_keys"}
    users = next(t for t in sample.tables if t.name == "users")
    assert users.total_bytes >= users.heap_bytes + users.index_bytes and users.index_bytes > 0
    assert users.live_rows is not None and users.seq_scan is not None
    assert sample.indexes and any(i.primary for i in sample.indexes)
    assert not any(i.unused for i in sample.indexes if i.primary or i.unique)
    assert sample.cache_hit_ratio is not None and 0 < sample.cache_hit_ratio <= 1


async def test_reset_starts_the_statistics_again(stats_db: str, monitor: PostgresMonitor) -> None:
    caps = await monitor.probe()
    assert caps.can_reset and caps.readable and caps.all_stats
    assert not [g for g in caps.gaps() if g.serious], caps.gaps()
    await workload(stats_db)
    await monitor.sample()
    await monitor.reset_statements()
    sample = await monitor.sample()
    assert not any("monitor_hot" in (s.query or "") for s in sample.statements or [])
    assert sample.info is not None and sample.info.stats_reset is not None


# ----- activity -------------------------------------------------------------------------------

async def _wait_for(condition, what: str, timeout: float = 10.0) -> None:  # noqa: ANN001
    for _ in range(int(timeout / 0.05)):
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} never happened")


async def test_a_blocked_query_shows_its_blocker_and_can_be_cancelled_literals_masked(
        stats_db: str, monitor: PostgresMonitor) -> None:
    holder = await asyncpg.connect(stats_db)
    waiter = await asyncpg.connect(stats_db)
    sleeper = await asyncpg.connect(stats_db)
    try:
        holder_pid, waiter_pid = holder.get_server_pid(), waiter.get_server_pid()
        await holder.execute("BEGIN; LOCK TABLE lokstra_auth.tenants IN ACCESS EXCLUSIVE MODE")
        blocked = asyncio.create_task(waiter.fetchval("SELECT count(*) FROM lokstra_auth.tenants"))
        sleeping = asyncio.create_task(sleeper.execute("SELECT pg_sleep(30), 'tok-SECRET-4242' AS token"))
        samples: list[Sample] = []

        async def blocked_seen() -> bool:
            samples.append(await monitor.sample())
            sessions = {s.pid: s for s in samples[-1].activity or []}
            return waiter_pid in sessions and sessions[waiter_pid].blocked_by == (holder_pid,)

        await _wait_for(blocked_seen, "the blocked session")
        sessions = {s.pid: s for s in samples[-1].activity or []}
        assert sessions[holder_pid].state == "idle in transaction"
        assert sessions[waiter_pid].wait_event_type == "Lock"
        assert not any(s.application == APPLICATION_NAME for s in sessions.values())
        sleeping_session = next(s for s in sessions.values() if "tok-SECRET" in (s.query or ""))
        assert "tok-SECRET-4242" not in mask_literals(sleeping_session.query or "")

        assert await monitor.cancel(waiter_pid) is True
        with pytest.raises(asyncpg.QueryCanceledError):
            await blocked
        assert await monitor.cancel(sleeping_session.pid) is True
        with pytest.raises(asyncpg.QueryCanceledError):
            await sleeping
    finally:
        for conn in (holder, waiter, sleeper):
            with contextlib.suppress(Exception):
                await conn.close(timeout=5)


async def test_the_consoles_own_sessions_are_not_in_activity(stats_db: str, pg_server: PgServer,
                                                             monitor: PostgresMonitor) -> None:
    sample = await monitor.sample()
    conn = await asyncpg.connect(stats_db)
    try:
        console_pids = {r["pid"] for r in await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1", APPLICATION_NAME)}
    finally:
        await conn.close()
    assert console_pids, "the monitor's pool is connected"
    assert not console_pids & {s.pid for s in sample.activity or []}


# ----- capabilities ----------------------------------------------------------------------------

def fixes(monitor: PostgresMonitor) -> str:
    assert monitor.capabilities is not None
    return "\n".join(f"{g.what} | {g.fix}" for g in monitor.capabilities.gaps())


async def test_a_database_without_the_extension_says_create_extension(pg_server: PgServer,
                                                                       migrated_template: str) -> None:
    dsn = pg_server.create_database("nostat", template=migrated_template)
    engine = await open_engine(dsn)
    try:
        monitor = PostgresMonitor(engine)
        sample = await monitor.sample()
        caps = monitor.capabilities
        assert caps is not None and caps.available and not caps.created and not caps.readable
        assert "CREATE EXTENSION pg_stat_statements;" in fixes(monitor) and db_name(dsn) in fixes(monitor)
        assert "shared_preload_libraries" not in fixes(monitor)  # this cluster preloads it
        assert sample.statements is None and "statements" in sample.problems and sample.info is None
        assert sample.tables is not None and sample.activity is not None  # the rest still works
    finally:
        await engine.close()
        pg_server.drop_database(dsn)


async def test_a_cluster_without_the_library_preloaded_says_which_line_and_restart(unloaded_cluster_db: str) -> None:
    engine = await open_engine(unloaded_cluster_db)
    try:
        monitor = PostgresMonitor(engine)
        sample = await monitor.sample()
        caps = monitor.capabilities
        assert caps is not None and caps.created and not caps.readable and caps.read_error_code == "55000"
        text = fixes(monitor)
        assert "shared_preload_libraries = 'pg_stat_statements'" in text and "restart the server" in text
        assert "CREATE EXTENSION" not in text
        assert sample.statements is None and sample.tables is not None and sample.activity is not None
    finally:
        await engine.close()


async def test_a_plain_role_is_told_to_get_pg_monitor_and_sees_only_its_own(
        pg_server: PgServer, stats_db: str, plain_role: str) -> None:
    grant_schema(pg_server, stats_db, plain_role)
    await workload(stats_db)  # as postgres: another role's statements
    engine = await open_engine(with_user(stats_db, plain_role))
    try:
        monitor = PostgresMonitor(engine)
        sample = await monitor.sample()
        caps = monitor.capabilities
        assert caps is not None and not caps.all_stats and not caps.superuser and caps.readable
        text = fixes(monitor)
        assert f"GRANT pg_monitor TO {plain_role};" in text and f"GRANT pg_signal_backend TO {plain_role};" in text
        hidden = [s for s in sample.statements or [] if s.key[2] is None]
        assert hidden and all(s.query is None for s in hidden), "other roles' entries come without text"
    finally:
        await engine.close()


async def test_a_privilege_failure_is_probed_once_not_retried_every_sample(
        pg_server: PgServer, migrated_template: str, plain_role: str) -> None:
    dsn = pg_server.create_database("revoked", template=migrated_template)
    name = db_name(dsn)
    pg_server.execute("CREATE EXTENSION pg_stat_statements; "
                      "REVOKE ALL ON FUNCTION pg_stat_statements(boolean) FROM PUBLIC; "
                      "REVOKE ALL ON pg_stat_statements FROM PUBLIC", database=name)
    grant_schema(pg_server, dsn, plain_role)
    log = pg_server.cluster.datadir / "server.log" if pg_server.cluster is not None else None

    def denials() -> int:
        return log.read_text(errors="replace").count("permission denied for") if log is not None else 0

    engine = await open_engine(with_user(dsn, plain_role))
    try:
        monitor = PostgresMonitor(engine)
        before = denials()
        for _ in range(4):
            sample = await monitor.sample()
            assert sample.statements is None and "permission denied" in sample.problems["statements"]
            assert sample.tables is not None and sample.activity is not None
        caps = monitor.capabilities
        assert caps is not None and caps.read_error_code == "42501" and "statements" in monitor.denied
        assert f"TO {plain_role};" in fixes(monitor)
        if log is not None:
            await eventually(lambda: denials() > before, "the refused read in the server log")
            assert denials() - before == 1, "only the probe's LIMIT 1 read was refused, once"
    finally:
        await engine.close()
        pg_server.drop_database(dsn)


async def test_a_locked_table_costs_the_sample_a_lock_timeout_not_a_freeze(stats_db: str) -> None:
    engine = await open_engine(stats_db)
    holder = await asyncpg.connect(stats_db)
    try:
        monitor = PostgresMonitor(engine, lock_timeout_ms=300)
        await monitor.probe()
        await holder.execute("BEGIN; LOCK TABLE lokstra_auth.users IN ACCESS EXCLUSIVE MODE")
        started = asyncio.get_running_loop().time()
        sample = await asyncio.wait_for(monitor.sample(), 10)
        assert asyncio.get_running_loop().time() - started < 3
        assert sample.tables is None and "lock timeout" in sample.problems["tables"]
        assert "tables" not in monitor.denied, "a timeout is retried next sample"
        assert sample.activity is not None and sample.statements is not None  # the other parts were read
        await holder.execute("ROLLBACK")
        assert (await monitor.sample()).tables is not None
    finally:
        await holder.close()
        await engine.close()


async def test_terminate_ends_the_backend(stats_db: str, monitor: PostgresMonitor) -> None:
    victim = await asyncpg.connect(stats_db)
    try:
        pid = victim.get_server_pid()
        assert await monitor.terminate(pid) is True
        with pytest.raises(Exception):  # noqa: B017 - whichever way asyncpg notices the session is gone
            for _ in range(50):
                await victim.fetchval("SELECT 1")
                await asyncio.sleep(0.05)
        assert await monitor.cancel(pid) is False  # gone: nothing to signal
    finally:
        victim.terminate()
