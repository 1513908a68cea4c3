"""The Monitor screen (4) at 80x24: memory timings, slow queries on PostgreSQL (sorts,
interval view, cursor kept), the refresh loop (pause, interval, hidden screen), activity with
a blocker and cancel, capability fixes, read-only mode."""
from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import pytest
from textual.widgets import DataTable, Static, TabbedContent

from console.app import LokstraConsole
from console.config import ConsoleConfig
from console.screens.confirm import ConfirmModal
from console.screens.monitor import MONITOR_ACTIONS, MonitorScreen, QueryDetail
from stores import Settings
from tests.support.databases import pg_settings
from tests.monitor.conftest import db_name, grant_schema, with_user
from tests.monitor.test_monitor_pg import workload
from tests.support.server import PgServer
from tests.support.tui import notifications, screen_text, until

SIZE = (80, 24)
WRITE_IDS = {spec.id for spec in MONITOR_ACTIONS if spec.writes}


@pytest.fixture(autouse=True)
def fast_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(MonitorScreen, "INTERVAL", 1.0)


async def open_monitor(pilot, app: LokstraConsole) -> MonitorScreen:  # noqa: ANN001
    await until(pilot, lambda: app.stores is not None, "the stores to open")
    await pilot.press("4")
    await until(pilot, lambda: isinstance(app.screen, MonitorScreen) and app.screen.samples_taken >= 1,
                "the first sample")
    return app.screen  # type: ignore[return-value]


def row_ids(table: DataTable) -> list[str]:
    """Row keys in the order shown."""
    return [table.coordinate_to_cell_key((i, 0)).row_key.value for i in range(table.row_count)]  # type: ignore[misc]


def column(table: DataTable, key: str) -> list[str]:
    """One column's texts in the order shown."""
    return [table.get_cell(row, key).text for row in row_ids(table)]


def static_text(screen: MonitorScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def go_tab(pilot, screen: MonitorScreen, tab: str) -> None:  # noqa: ANN001
    screen.query_one("#tabs", TabbedContent).active = tab
    await pilot.pause()


def bound_ids(app: LokstraConsole) -> set[str]:
    return {binding.id for _, binding, enabled, _ in app.active_bindings.values() if binding.id}


# ----- memory backend -------------------------------------------------------------------------

async def test_on_memory_the_slow_queries_are_the_store_timings_after_browsing() -> None:
    app = LokstraConsole(Settings(), config=ConsoleConfig())
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.stores is not None and any(
            t.calls for t in app.stores.timings.snapshot()), "some browsing")
        screen = await open_monitor(pilot, app)
        table = screen.query_one("#slow-timings", DataTable)
        await until(pilot, lambda: table.row_count > 0, "store operations listed")
        operations = column(table, "operation")
        assert "tenants.page" in operations and all("." in op for op in operations)
        assert "tenants.page" in screen_text(app) and "store timings" in screen_text(app)
        assert not screen.query_one("#statements").display
        tabs = screen.query_one("#tabs", TabbedContent)
        assert "Client timings" not in screen_text(app)  # the same figures are on Slow queries
        await go_tab(pilot, screen, "tables")
        assert "PostgreSQL only" in screen_text(app)
        await pilot.press("3")  # more browsing, then back: the new calls show
        await pilot.press("r")
        await pilot.pause(0.2)
        calls_before = sum(t.calls for t in app.stores.timings.snapshot())
        await pilot.press("4")
        tabs.active = "slow"
        await until(pilot, lambda: sum(int(c.replace(",", "")) for c in column(table, "calls")) >= calls_before,
                    "the newer calls")


# ----- PostgreSQL: slow queries ------------------------------------------------------------------

async def test_slow_queries_sort_interval_and_cursor(stats_db: str) -> None:
    database = db_name(stats_db)
    await workload(stats_db)
    app = LokstraConsole(pg_settings(stats_db), config=ConsoleConfig())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_monitor(pilot, app)
        table = screen.query_one("#statements", DataTable)
        await pilot.press("slash")
        await pilot.press(*f"db:{database} monitor_", "enter")
        await until(pilot, lambda: table.row_count == 2, "the two workload statements")
        assert "filtered" in static_text(screen, "#slow-status")
        while screen.sort != "mean":
            await pilot.press("s")
        assert "monitor_slow" in column(table, "query")[0]
        while screen.sort != "calls":
            await pilot.press("s")
        assert "monitor_hot" in column(table, "query")[0] and column(table, "calls")[0] == "300"
        # the cursor stays on its query across samples and a change of order
        table.focus()
        await pilot.press("down")
        selected = row_ids(table)[1]
        assert "monitor_slow" in static_text(screen, "#slow-preview")
        taken = screen.samples_taken
        await until(pilot, lambda: screen.samples_taken >= taken + 2, "two more samples")
        assert row_ids(table)[table.cursor_row] == selected
        await pilot.press("s")  # rows -> the slow one (2 rows) goes below the hot one (300)
        assert row_ids(table)[table.cursor_row] == selected
        # the per-interval view: only what ran since the previous sample
        await pilot.press("v")
        await until(pilot, lambda: table.row_count == 0, "an interval without the workload")
        assert "last interval" in static_text(screen, "#slow-status")
        conn = await asyncpg.connect(stats_db)
        try:
            await conn.fetchval("SELECT $1::int + 1 AS monitor_hot", 7)
        finally:
            await conn.close()
        await until(pilot, lambda: column(table, "query") == [c for c in column(table, "query") if "monitor_hot" in c]
                    and table.row_count == 1, "only the statement that ran")
        assert column(table, "calls") == ["1"]
        # the detail shows the whole text and figures
        await pilot.press("v")
        await until(pilot, lambda: table.row_count == 2, "both again")
        table.focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, QueryDetail), "the detail")
        detail = str(app.screen.query_one("#figures", Static).render())
        assert "since reset: calls" in detail and "last interval" in detail
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MonitorScreen), "back")


async def test_the_loop_pauses_changes_interval_and_stops_while_hidden(stats_db: str) -> None:
    app = LokstraConsole(pg_settings(stats_db), config=ConsoleConfig())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_monitor(pilot, app)
        await until(pilot, lambda: screen.samples_taken >= 2, "the timer to sample again")
        await pilot.press("minus")
        assert screen.interval == 2.0 and " 2s · " in static_text(screen, "#slow-status")
        await pilot.press("plus", "plus")
        assert screen.interval == 1.0
        await pilot.press("p")
        assert screen.paused and "PAUSED" in static_text(screen, "#slow-status")
        await until(pilot, lambda: not screen.sampling, "the running sample to end")
        paused_at = screen.samples_taken
        await pilot.pause(2.5)
        assert screen.samples_taken == paused_at, "no sample while paused"
        await pilot.press("p")
        await until(pilot, lambda: screen.samples_taken >= paused_at + 2, "sampling again")
        await pilot.press("3")  # another screen: the monitor is hidden
        await until(pilot, lambda: not screen.sampling, "the running sample to end")
        hidden_at = screen.samples_taken
        await pilot.pause(2.5)
        assert screen.samples_taken == hidden_at and not screen.active
        await pilot.press("4")
        await until(pilot, lambda: screen.samples_taken > hidden_at, "sampling on return")


# ----- PostgreSQL: activity --------------------------------------------------------------------

async def test_a_blocked_query_shows_its_blocker_and_is_cancelled_with_confirmation(stats_db: str) -> None:
    holder = await asyncpg.connect(stats_db)
    waiter = await asyncpg.connect(stats_db)
    blocked = None
    try:
        holder_pid, waiter_pid = holder.get_server_pid(), waiter.get_server_pid()
        await holder.execute("BEGIN; LOCK TABLE lokstra_auth.users IN ACCESS EXCLUSIVE MODE")
        blocked = asyncio.create_task(waiter.fetchval(
            "SELECT count(*) FROM lokstra_auth.users WHERE username <> 'hunter2-secret'"))
        app = LokstraConsole(pg_settings(stats_db), config=ConsoleConfig())
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_monitor(pilot, app)
            await go_tab(pilot, screen, "activity")
            table = screen.query_one("#activity-table", DataTable)
            await until(pilot, lambda: str(waiter_pid) in row_ids(table)
                        and table.get_cell(str(waiter_pid), "blocked").text == str(holder_pid), "the blocked row")
            assert "1 blocked" in static_text(screen, "#activity-status")
            text = screen_text(app)
            assert "hunter2-secret" not in text, text
            table.focus()
            table.move_cursor(row=row_ids(table).index(str(waiter_pid)))
            await pilot.pause()
            detail = static_text(screen, "#activity-detail")
            assert f"blocked by {holder_pid} (idle in transaction" in detail
            assert "hunter2" not in detail and "username <> '…'" in detail
            await pilot.press("x")
            assert "hunter2-secret" in static_text(screen, "#activity-detail")  # revealed on request
            await pilot.press("x")
            assert "hunter2-secret" not in static_text(screen, "#activity-detail")
            await pilot.press("c")
            await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirmation")
            assert app.focused is not None and app.focused.id == "no"
            assert "hunter2" not in screen_text(app)
            await pilot.press("right", "enter")
            with pytest.raises(asyncpg.QueryCanceledError):
                await asyncio.wait_for(blocked, 10)
    finally:
        if blocked is not None and not blocked.done():
            blocked.cancel()
        for conn in (holder, waiter):
            with contextlib.suppress(Exception):
                await conn.close(timeout=5)


# ----- capabilities ----------------------------------------------------------------------------

async def caps_text(dsn: str) -> str:
    app = LokstraConsole(pg_settings(dsn), config=ConsoleConfig())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_monitor(pilot, app)
        await go_tab(pilot, screen, "caps")
        await until(pilot, lambda: "Server" in static_text(screen, "#caps-text"), "the capabilities")
        text = static_text(screen, "#caps-text")
        await go_tab(pilot, screen, "tables")
        await until(pilot, lambda: screen.query_one("#tables-table", DataTable).row_count == 6,
                    "the tables (the rest of the screen works)")
        return text


async def test_capability_fix_without_the_extension_created(pg_server: PgServer, migrated_template: str) -> None:
    dsn = pg_server.create_database("nostat", template=migrated_template)
    try:
        text = await caps_text(dsn)
        assert f"As a superuser, in database {db_name(dsn)}: CREATE EXTENSION pg_stat_statements;" in text
    finally:
        pg_server.drop_database(dsn)


async def test_capability_fix_without_the_library_preloaded(unloaded_cluster_db: str) -> None:
    text = await caps_text(unloaded_cluster_db)
    assert "shared_preload_libraries = 'pg_stat_statements'" in text and "restart the server" in text


async def test_capability_fix_for_a_plain_role(pg_server: PgServer, stats_db: str, plain_role: str) -> None:
    grant_schema(pg_server, stats_db, plain_role)
    text = await caps_text(with_user(stats_db, plain_role))
    assert f"GRANT pg_monitor TO {plain_role};" in text


async def test_capabilities_name_rows_lokstra_auth_cannot_read(pg_server: PgServer, migrated_template: str) -> None:
    """The capability list reports rows upstream's Go code cannot scan (NULL into ``Domain
    string``: docs/upstream.md B, tests/contract/test_upstream_compat.py cites the lines)."""
    dsn = pg_server.create_database("nulls", template=migrated_template)
    try:
        pg_server.execute("INSERT INTO lokstra_auth.tenants (id, name, domain, db_dsn, db_schema) "
                          "VALUES ('old', 'Old', NULL, '', 'old')", database=db_name(dsn))
        text = " ".join((await caps_text(dsn)).split())
        assert "tenants.domain: 1 row NULL" in text
        assert "UPDATE lokstra_auth.tenants SET domain = '' WHERE domain IS NULL" in text
    finally:
        pg_server.drop_database(dsn)


# ----- read-only ---------------------------------------------------------------------------------

async def test_read_only_leaves_reset_cancel_and_terminate_out(stats_db: str) -> None:
    assert WRITE_IDS == {"monitor.reset", "monitor.cancel", "monitor.terminate"}
    app = LokstraConsole(pg_settings(stats_db), config=ConsoleConfig(), read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_monitor(pilot, app)
        assert not bound_ids(app) & WRITE_IDS
        for tab in ("slow", "activity"):
            await go_tab(pilot, screen, tab)
            assert not bound_ids(app) & WRITE_IDS
        assert "Reset" not in screen_text(app)
    await workload(stats_db)
    app = LokstraConsole(pg_settings(stats_db), config=ConsoleConfig())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_monitor(pilot, app)
        # The key comes with the capabilities (may this role reset?), read with the first sample.
        await until(pilot, lambda: "monitor.reset" in bound_ids(app) and "R Reset" in screen_text(app), "the Reset key")
        table = screen.query_one("#statements", DataTable)
        await until(pilot, lambda: any("monitor_hot" in q for q in column(table, "query")), "the workload")
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirmation")
        assert app.focused is not None and app.focused.id == "no"
        await pilot.press("right", "enter")
        await until(pilot, lambda: "pg_stat_statements was reset" in notifications(app), "the reset")
        await until(pilot, lambda: not any("monitor_hot" in q for q in column(table, "query")), "the entries gone")
