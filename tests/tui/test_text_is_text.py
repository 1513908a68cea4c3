"""Issue 13 item 1 (and item 4 on the screens): everything that is not the console's own
fixed text is shown literally, wherever it is rendered.

Two finders of violations:

* a static pass over console/ (tests/tui/textlint.py): a str built from values handed to a
  widget that parses markup, a rich Text built from a value without ``plain``, an input
  started with a value that does not show control characters;
* the screens themselves, on both backends: values holding markup (``[/APP]``, ``[bold]``,
  ``[link=…]``, ``[@click=app.quit]``) and terminal escapes (ESC, OSC 52, BEL, an 8-bit CSI)
  are stored in every entity field (tests/support/hostile.py), then every list, the detail
  pane, the crumbs, the tab line, the edit forms, the command palette, a filter, a jump and
  their notifications are shown; a spy on Textual's and Rich's markup parsers proves that
  none of those values was ever parsed as markup (so none could become a clickable action),
  and every screen shows them literally, control characters as pictures (ESC as ␛).
"""
from __future__ import annotations

import ast
import re
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest
import rich.markup
import textual.markup
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from textual.command import CommandPalette
from textual.strip import Strip
from textual.widgets import Input

from console.app import LokstraConsole
from console.config import ConsoleConfig
from console.edit import EntityForm
from console.text import install_terminal_guard
from stores import Settings
from tests.browse.conftest import browse, crumbs, settled, table, type_prompt
from tests.support.databases import pg_settings
from tests.support.hostile import ESCAPES, HOSTILE, MARK, seed_hostile, shown
from tests.support.tui import screen_text, until
from tests.tui import textlint

SIZE = (80, 24)
UNESCAPED_BRACKET = re.compile(r"(?<!\\)\[")
CONTROLS = {chr(code) for code in [*range(0x00, 0x0A), *range(0x0B, 0x20), *range(0x7F, 0xA0)]}


# ----- the static pass -------------------------------------------------------------------------

def test_no_call_site_in_the_console_shows_a_value_as_markup() -> None:
    found = textlint.violations()
    assert not found, "values reach widgets without console.text.plain:\n" + "\n".join(map(str, found))


@pytest.mark.parametrize("source", [
    "def f(name: str):\n    notify_me = Static(f'tenant {name}')",
    "def f(self):\n    self.query_one('#x').update('a ' + self.name)",
    "class S:\n    def __init__(self, title: str):\n        self.title = title\n"
    "    def compose(self):\n        yield Label(self.title)",
    "def f(value):\n    return Text(value)",
    "def f(row):\n    text = Text()\n    text.append(row.name, style='bold')",
    "def f(value):\n    return Input(value, id='x')",
    "def f(rows):\n    for row in rows:\n        table.add_row(str(row.id), row.name)",
])
def test_the_static_pass_finds_each_kind_of_violation(source: str, tmp_path: Any) -> None:
    """The finder can fail: each of these is what the console did before issue 13."""
    path = textlint.CONSOLE / "example.py"
    lint = textlint.ModuleLint(path, ast.parse(source), {})
    lint.visit(lint.tree)
    assert lint.violations, f"not reported:\n{source}"


def test_the_terminal_guard_drops_control_characters_from_what_is_written() -> None:
    """The last line of defence: a segment holding ESC is written without it (a widget of
    Textual's own that shows a value unconverted cannot reach the terminal with it)."""
    install_terminal_guard()
    written = Strip([Segment(f"Q1{ESCAPES}Q2", Style(bold=True)), Segment("\x07plain\x1b[2J")]).render(Console())
    text_only = written.replace("\x1b[1m", "").replace("\x1b[0m", "")
    assert text_only == "Q1[2J]52;c;UFdORUQ=]0;pwned6nQ2plain[2J", repr(written)


# ----- the screens ------------------------------------------------------------------------------

class MarkupSpy:
    """Every markup string Textual and Rich parse while the app runs that holds a value of
    tests/support/hostile.py (they all start with MARK) with a bracket left unescaped (the
    palette's help is markup by Textual's design: escaped, it is literal)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.parsed: list[str] = []
        monkeypatch.setattr(textual.markup, "to_content", self._wrap(textual.markup.to_content))
        monkeypatch.setattr(rich.markup, "render", self._wrap(rich.markup.render))

    def _wrap(self, parser: Callable[..., Any]) -> Callable[..., Any]:
        def spied(markup: str, *args: Any, **kwargs: Any) -> Any:
            if any(part in markup for part in (MARK, "\x1b", "[@click=app.quit]")) and UNESCAPED_BRACKET.search(markup):
                self.parsed.append(markup)
            return parser(markup, *args, **kwargs)

        return spied


class Screens:
    """What the screens showed along the way."""

    def __init__(self, app: LokstraConsole) -> None:
        self.app = app
        self.seen: dict[str, str] = {}

    def snap(self, name: str) -> str:
        assert self.app.is_running, f"the console stopped before {name}"
        notes = "\n".join(f"{n.title} {n.message}" for n in self.app._notifications)
        text = screen_text(self.app)
        raw = [ch for ch in text + notes if ch in CONTROLS]
        assert not raw, f"control characters on the screen at {name}: {raw!r}\n{text}"
        self.seen[name] = text + "\n" + notes
        return text

    def everything(self) -> str:
        return "\n".join(self.seen.values())


@pytest.fixture(autouse=True)
def _no_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("LOKSTRA_CONSOLE_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.chdir(tmp_path)


async def _tab(pilot: Any, app: LokstraConsole, crumb: str) -> None:
    await pilot.press("tab")
    await settled(pilot, app, crumb)


async def test_hostile_values_are_shown_literally_on_every_screen(empty_settings: Settings,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    h = HOSTILE
    spy = MarkupSpy(monkeypatch)
    app = LokstraConsole(empty_settings, config=ConsoleConfig())
    async with app.run_test(size=SIZE, notifications=True, tooltips=True) as pilot:
        screens = Screens(app)
        await until(pilot, lambda: app.stores is not None, "the stores opening")
        await seed_hostile(app.stores)
        await pilot.press("r")
        await until(pilot, lambda: table(app).row_count == 1 and browse(app).page_kind == "tenants", "the tenant")
        tenants = screens.snap("tenants")
        assert h.tenant_id in tenants and f"{MARK}T [bold]b[/bold]" in tenants

        await pilot.press("i")  # the detail pane: every field in full
        await until(pilot, lambda: "db_dsn" in screen_text(app), "the detail pane")
        detail = screens.snap("tenant detail")
        assert "[link=https://e.test]l[/link]" in detail.replace("\n", "") or "[link=https://e.test]" in detail
        await pilot.press("escape")

        at = f"tenants ▸ {h.tenant_id}"
        await pilot.press("enter")
        await settled(pilot, app, f"{at} ▸ apps")
        apps = screens.snap("apps")
        assert shown(h.app_name)[:12] in apps, "the app's name, ESC shown as ␛"
        await _tab(pilot, app, f"{at} ▸ users")
        users = screens.snap("users")
        assert shown(h.username)[:12] in users
        await _tab(pilot, app, f"{at} ▸ keys")
        screens.snap("tenant keys")
        await _tab(pilot, app, f"{at} ▸ audit")
        screens.snap("audit")

        await pilot.press("escape", "enter")  # back to the tenant list, into the tenant again: its apps
        await settled(pilot, app, f"{at} ▸ apps")
        await pilot.press("enter")
        app_at = f"{at} ▸ apps ▸ {h.app_id}"
        await settled(pilot, app, f"{app_at} ▸ branches")
        branches = screens.snap("branches")
        assert h.branch_code in branches and shown(h.branch_name)[:10] in branches
        await _tab(pilot, app, f"{app_at} ▸ keys")
        keys = screens.snap("app keys")
        assert shown(h.key_name)[:14] in keys
        await _tab(pilot, app, f"{app_at} ▸ users")
        screens.snap("app users")

        await pilot.press("escape")
        await settled(pilot, app, f"{at} ▸ apps")
        await _tab(pilot, app, f"{at} ▸ users")
        await pilot.press("enter")
        user_crumb = f"{at} ▸ users ▸ {shown(h.username)}"
        await until(pilot, lambda: crumbs(app).startswith(f"{at} ▸ users ▸ "), "the user")
        grants = screens.snap("grants")
        assert shown(h.username)[:10] in grants, "the crumb shows the username, ESC as ␛"
        assert user_crumb.startswith(crumbs(app)[:len(f"{at} ▸ users ▸ ")])
        await pilot.press("tab")
        await until(pilot, lambda: crumbs(app).endswith("keys"), "the user's keys")
        screens.snap("user keys")

        # the edit forms: the values in inputs, ESC as ␛ there too
        await pilot.press("escape")
        await settled(pilot, app, f"{at} ▸ users")
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, EntityForm), "the user form")
        form = screens.snap("user form")
        assert app.screen.query_one("#f-username", Input).value == h.username, "the value itself is kept"
        assert shown(h.username)[:10] in form
        await pilot.press("escape")
        await pilot.press("escape")
        await settled(pilot, app, "tenants")
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, EntityForm), "the tenant form")
        screens.snap("tenant form")
        await pilot.press("escape")

        # a filter, jumps and their notifications; the palette
        await pilot.press("slash")
        await type_prompt(pilot, BRACKETS_FILTER)
        await until(pilot, lambda: browse(app).prompt_mode is None or app._notifications, "the filter")
        screens.snap("filter")
        await pilot.press("escape")
        await pilot.press("colon")
        await type_prompt(pilot, f"tenant {MARK}[@click=app.quit]x")
        await until(pilot, lambda: "no tenant" in "".join(n.message for n in app._notifications), "the jump's error")
        jump = screens.snap("jump")
        assert f"{MARK}[@click=app.quit]x" in jump
        await pilot.press("colon")
        await type_prompt(pilot, "foo")  # the :foo of issue 13: a usage line with TENANT[/APP]
        await until(pilot, lambda: "TENANT[/APP]" in "".join(n.message for n in app._notifications), "the usage")
        screens.snap("usage")
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
        await pilot.press("t")
        app.screen.query_one(Input).value = f"{MARK}t"  # Pilot has no key for ⟦
        await until(pilot, lambda: h.tenant_id in screen_text(app), "the palette's hit")
        screens.snap("palette")
        await pilot.press("escape")
        await pilot.pause()
        assert app.is_running

    everything = screens.everything()
    assert not spy.parsed, "values parsed as markup:\n" + "\n".join(map(repr, spy.parsed))
    assert h.dsn_password not in everything
    for fragment in ("[/APP]", "[@click=app.quit]", "[bold]", "␛[2J", "␛]52;c;", "␇"):
        assert fragment in everything, f"{fragment!r} is not shown on any screen"


BRACKETS_FILTER = f"[bold]x[/bold]{MARK}"


async def test_a_session_name_from_the_server_is_shown_literally_on_the_monitor(migrated_db: str,
                                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """What the server reports is data too: any client may name its session (application_name
    is the client's to set), and the Monitor's activity detail shows it. PostgreSQL keeps only
    printable ASCII there (it writes ``?`` for anything else), so brackets are the hostile part."""
    from textual.widgets import DataTable, Static, TabbedContent

    from console.screens.monitor import MonitorScreen

    spy = MarkupSpy(monkeypatch)
    name = "hostile[/APP][@click=app.quit]x[link=https://e.test]l[/link]"
    other = await asyncpg.connect(migrated_db, server_settings={"application_name": name})
    try:
        await other.execute("SELECT 1")
        app = LokstraConsole(pg_settings(migrated_db), config=ConsoleConfig())
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await until(pilot, lambda: app.stores is not None, "the stores")
            await pilot.press("4")
            await until(pilot, lambda: isinstance(app.screen, MonitorScreen) and app.screen.samples_taken >= 1,
                        "the first sample")
            app.screen.query_one("#tabs", TabbedContent).active = "activity"
            sessions = app.screen.query_one("#activity-table", DataTable)
            await until(pilot, lambda: sessions.row_count >= 1, "the other session")
            sessions.focus()
            sessions.move_cursor(row=0)
            detail = app.screen.query_one("#activity-detail", Static)
            await until(pilot, lambda: name in str(detail.render()), "the other session's name, literally")
            text = screen_text(app)
            assert not [ch for ch in text if ch in CONTROLS]
            assert app.is_running
    finally:
        await other.close()
    assert not spy.parsed, spy.parsed
