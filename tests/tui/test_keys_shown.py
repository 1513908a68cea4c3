"""Issue 16 items 6 and 7: one rule for the screen keys on every screen, and the keys shown.

1–5 switch screens where the focus is not in a text field; alt+1–5 switch from anywhere
(the Connection form starts in its Host field, where 1–5 are text). The header's strip
shows the screens by number, marks the current one, and says alt+ inside a text field.
Browse's footer shows the edit keys of the list on screen; F1 lists every key by the name
printed on the keyboard."""
from __future__ import annotations

import pytest
from textual.widgets import Input
from textual.widgets._footer import FooterKey

from console.app import LokstraConsole
from console.config import ConsoleConfig
from console.screens.browse import BrowseScreen
from console.screens.help import HelpScreen
from console.widgets.header import ConsoleHeader
from stores import Settings
from tests.support.tui import until


def header_line(app: LokstraConsole) -> str:
    return app.screen.query_one(ConsoleHeader).render_line(0).text


def footer_keys(app: LokstraConsole, width: int) -> set[str]:
    """The footer's keys that are on screen (not cut off at the right edge)."""
    return {key.key for key in app.screen.query(FooterKey) if key.region.area and key.region.right <= width}


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, tmp_path) -> LokstraConsole:  # noqa: ANN001
    monkeypatch.setenv("LOKSTRA_CONSOLE_CONFIG", str(tmp_path / "none.toml"))
    return LokstraConsole(Settings(), config=ConsoleConfig())


async def browse_at(pilot, app: LokstraConsole, crumb: str) -> None:  # noqa: ANN001
    await until(pilot, lambda: isinstance(app.screen, BrowseScreen) and app.screen.crumb_text() == crumb
                and app.screen.page_kind == app.screen.frame.tab, crumb)


@pytest.mark.parametrize("size", [(80, 24), (60, 20)], ids=["80x24", "60x20"])
async def test_screen_keys_work_from_a_text_field_with_alt_and_the_strip_says_so(
        app: LokstraConsole, size: tuple[int, int]) -> None:
    async with app.run_test(size=size) as pilot:
        await browse_at(pilot, app, "tenants")
        assert "▸3 browse" in header_line(app) and "alt+" not in header_line(app)
        await pilot.press("1")
        await until(pilot, lambda: app.current_mode == "connection" and isinstance(app.focused, Input),
                    "the Connection form, focus in Host")
        host = app.focused
        await until(pilot, lambda: "alt+" in header_line(app) and "▸1 connection" in header_line(app), "alt+ in the strip")
        await pilot.press("3")
        assert app.current_mode == "connection" and host.value.endswith("3"), "in a field 3 is text"
        await pilot.press("alt+3")
        await browse_at(pilot, app, "tenants")
        await pilot.press("alt+4")
        await until(pilot, lambda: app.current_mode == "monitor" and "▸4 monitor" in header_line(app), "Monitor")
        await pilot.press("5")
        await until(pilot, lambda: app.current_mode == "backend", "Backend by its digit outside a field")
        assert len(header_line(app).rstrip()) <= size[0]


@pytest.mark.parametrize(("path", "expected"), [
    ((), {"n", "e", "s", "a", "d", "slash", "colon", "i", "f1", "ctrl+q"}),
    (("enter", "enter", "tab"), {"k", "R", "X", "K"}),
    (("enter", "tab", "enter"), {"g", "v"}),
])
async def test_browse_footer_shows_the_edit_keys_of_the_list_at_80_columns(
        app: LokstraConsole, path: tuple[str, ...], expected: set[str]) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await browse_at(pilot, app, "tenants")
        for key in path:
            before = app.screen.crumb_text()
            await pilot.press(key)
            await until(pilot, lambda: app.screen.crumb_text() != before and app.screen.page_kind == app.screen.frame.tab,
                        f"the list after {key}")
        await until(pilot, lambda: expected <= footer_keys(app, 80),
                    f"{sorted(expected - footer_keys(app, 80))} shown in the footer")


async def test_help_names_keys_as_the_keyboard_does(app: LokstraConsole) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await browse_at(pilot, app, "tenants")
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "F1 help")
        rows = app.screen.keys
        keys = {keys: description for keys, description, _ in rows}
        assert keys.get("Tab / ]") == "Next tab" and keys.get("/") == "Filter" and keys.get("ctrl+e")
        assert keys.get("1 / alt+1") == "Connection screen"
        shown = " ".join(keys)
        for raw in ("right_square_bracket", "slash", "super+", "pagedown"):
            assert raw not in shown, f"{raw} in F1"
        assert any(k == "n" for k in keys) and "Edit (before/after diff)" in keys.values()
