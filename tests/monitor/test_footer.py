"""The Monitor screen's footer fits 80 columns on every tab: F1 (help for every other key) and
the keys of what the tab shows are never cut off."""
from __future__ import annotations

import asyncpg
from textual.widgets import DataTable

from console.app import LokstraConsole
from console.config import ConsoleConfig
from console.screens.monitor import MonitorScreen
from tests.support.databases import pg_settings
from tests.monitor.test_screen import SIZE, go_tab, open_monitor, row_ids
from tests.support.tui import screen_lines, until

EXPECTED: dict[str, list[str]] = {
    "slow": ["p Pause", "v ", "/ Filter", "d Detail", "R Reset"],
    "client": ["p Pause"],
    "tables": ["p Pause"],
    "activity": ["p Pause", "x Reveal", "c Cancel query", "t Terminate"],
    "caps": ["p Pause"],
}


def footer(app: LokstraConsole) -> str:
    return screen_lines(app)[-1]


async def test_every_tab_shows_help_and_its_keys_at_80_columns(stats_db: str) -> None:
    other = await asyncpg.connect(stats_db)  # a session for the activity tab to select
    try:
        app = LokstraConsole(pg_settings(stats_db), config=ConsoleConfig())
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_monitor(pilot, app)
            caps = screen.capabilities
            assert caps is not None and caps.can_reset, "R is offered on the slow tab"
            for tab, keys in EXPECTED.items():
                await go_tab(pilot, screen, tab)
                if tab == "activity":
                    table = screen.query_one("#activity-table", DataTable)
                    pid = str(other.get_server_pid())
                    await until(pilot, lambda: pid in row_ids(table), "the other session listed")
                    table.focus()
                    table.move_cursor(row=row_ids(table).index(pid))  # c and t need a selected session
                # The footer is blank for a frame while it is rebuilt (a sample, the cursor moved):
                # check the footer that showed the tab's keys, not a later frame.
                seen: list[str] = []
                await until(pilot, lambda: seen.append(footer(app)) or all(key in seen[-1] for key in keys),
                            f"the {tab} tab's keys")
                line = next(shown for shown in reversed(seen) if all(key in shown for key in keys))
                assert "f1 Help" in line and "^q Quit" in line and line.rstrip().endswith("^p palette"), (tab, line)
                assert len(line.rstrip()) <= SIZE[0]
            assert isinstance(app.screen, MonitorScreen)
    finally:
        await other.close()
