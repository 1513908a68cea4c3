"""Issue 16 item 8: the detail pane scrolls by keyboard where it is too short for the row."""
from __future__ import annotations

import pytest

from console.app import LokstraConsole
from console.config import ConsoleConfig
from console.widgets.detail import DetailPane
from stores import Settings
from tests.browse.conftest import browse, started
from tests.support.tui import screen_text, until

LAST_LINE = "wall clock in"
"""The detail pane's last line (the zone its times are in)."""


@pytest.mark.parametrize("size", [(80, 24), (60, 20)], ids=["80x24", "60x20"])
async def test_the_detail_pane_is_focused_by_I_and_scrolls_to_its_last_line(size: tuple[int, int]) -> None:
    app = LokstraConsole(Settings(), config=ConsoleConfig())
    async with app.run_test(size=size) as pilot:
        await started(pilot, app)
        await pilot.press("I")
        detail = browse(app).query_one("#detail", DetailPane)
        await until(pilot, lambda: detail.display and detail.has_focus and "db_dsn" in screen_text(app),
                    "the focused detail pane")
        assert detail.max_scroll_y > 0, "the row has more lines than the pane at this size"
        assert LAST_LINE not in screen_text(app)
        await pilot.press("down")
        await until(pilot, lambda: detail.scroll_y >= 1, "a line down")
        for _ in range(6):
            await pilot.press("pagedown")
        await until(pilot, lambda: LAST_LINE in screen_text(app), "the last line on screen")
        await pilot.press("home")
        await until(pilot, lambda: detail.scroll_y == 0, "back at the top")
        assert browse(app).table.cursor_row == 0, "the keys scrolled the pane, not the list"
        await pilot.press("escape")
        await until(pilot, lambda: browse(app).table.has_focus, "Escape back to the list")
        assert detail.display, "the pane stays open; i closes it"
