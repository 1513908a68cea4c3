"""Browse: tenants → a tenant (apps, users, keys, audit) → an app (branches, keys, users)
→ a user (grants, keys), one keyset page at a time.

The page size is what the table shows without scrolling. Every store call runs in a worker
that posts a message; the page worker is exclusive, so a key pressed while a page is still
loading cancels that request instead of queueing behind it (PageDown pressed three times
walks three pages from the page on screen in one request). What each list is lives in
``console.browse``; this module draws it.

Why this module is over 450 lines: the page loop (ask, load, render, count), the prompts
(filter, jump), reveal, export and the edit actions share the level stack and the page on
screen; the dialogs are one table (browse/edits.py), the table, footer, prompts and palette
are apart. Moving the prompts and the export into their own objects is left for later.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path as FilePath
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Static

from console.actions import bindings
from console.browse.filters import FilterError, parse_filter
from console.browse.kinds import KINDS, ROOT, Extras, ListKind, crumbs
from console.browse.paging import Position, known_total, range_text
from console.browse.state import Frame, ListState
from console.screens.base import ConsoleScreen
from console.screens.browse.actions import BROWSE_ACTIONS
from console.screens.browse.edits import EDIT_DIALOGS, dialogs
from console.screens.browse.footer import BrowseFooter
from console.screens.browse.palette import EntityCommands
from console.screens.browse.table import BrowseTable
from console.text import plain
from console.widgets.crumbs import Crumbs
from console.widgets.detail import DetailPane
from stores.errors import StoreError

from stores.query import Page, RowCount
from stores.secrets import MASKED_FIELDS

if TYPE_CHECKING:  # the jump parser and the prompts load when first used, not for the first screen
    from console.browse.jump import Path

log = logging.getLogger("lokstra.console.browse")

EXACT_COUNT_UP_TO = 2_000_000
"""After showing a page counted by estimate, count exactly in the background when the
estimate is at most this (a count(*) of 1M index entries is ~30 ms; of 30M, seconds)."""
WIDE = 120
"""From this width the detail pane sits right of the list and is shown by default."""


@dataclass(frozen=True)
class PageAsk:
    """One page request: which list, where, and what the cursor does when it arrives."""

    generation: int
    kind: ListKind
    frame: Frame
    state: ListState
    limit: int
    position: Position
    cursor: str | int | None
    """A row key, "first", "last", an index to keep, or None (the state's row key)."""
    steps: int = 0
    """Relative move (PageDown/PageUp) from ``base``: pages to walk, signed."""
    base: Page[Any] | None = None


class BrowseScreen(ConsoleScreen):
    TITLE_TEXT = "browse"
    HELP = ("Enter opens, Escape goes back, Tab switches tabs, PageDown/End page. "
            "/ filters (alice, a@b, status:…, type:…, env:…, expires<30d); : jumps (:users acme, :keys acme/web).")
    BINDINGS = bindings(BROWSE_ACTIONS)
    ACTION_SPECS = BROWSE_ACTIONS
    COMMANDS = {EntityCommands}
    AUTO_FOCUS = "#list"
    DEFAULT_CSS = """
    BrowseScreen #tabs { height: 1; padding: 0 1; }
    BrowseScreen #problem { color: $error; padding: 0 1; display: none; height: auto; max-height: 3; }
    BrowseScreen #body { height: 1fr; }
    BrowseScreen #list { width: 1fr; height: 1fr; scrollbar-size-horizontal: 0; }
    BrowseScreen #detail { display: none; width: 45%; height: 1fr; }
    BrowseScreen.-narrow #body { layout: vertical; }
    BrowseScreen.-narrow #detail { width: 100%; height: 11; border-left: none; border-top: tall $panel; }
    BrowseScreen.-narrow #detail:focus { border-top: tall $accent; }
    BrowseScreen.-detail #detail { display: block; }
    BrowseScreen #prompt { display: none; border: none; height: 1; padding: 0 1; background: $boost; }
    """

    # -- messages -----------------------------------------------------------------------------
    class PageLoaded(Message):
        def __init__(self, ask: PageAsk, position: Position, page: Page[Any], extras: Extras,
                     total: RowCount | None) -> None:
            self.ask, self.position, self.page, self.extras, self.total = ask, position, page, extras, total
            super().__init__()

    class PageFailed(Message):
        def __init__(self, generation: int, text: str) -> None:
            self.generation, self.text = generation, text
            super().__init__()

    class Counted(Message):
        def __init__(self, state: ListState, filter_text: str, total: RowCount) -> None:
            self.state, self.filter_text, self.total = state, filter_text, total
            super().__init__()

    class Jumped(Message):
        def __init__(self, path: Path) -> None:
            self.path = path
            super().__init__()

    class Revealed(Message):
        def __init__(self, key: str, field: str, value: str) -> None:
            self.key, self.field, self.value = key, field, value
            super().__init__()

    class Problem(Message):
        def __init__(self, text: str) -> None:
            self.text = text
            super().__init__()

    class ExportProgress(Message):
        def __init__(self, rows: int, done: bool = False, path: str = "") -> None:
            self.rows, self.done, self.path = rows, done, path
            super().__init__()

    class AppsToPick(Message):
        def __init__(self, tenant_id: str, user_id: str, apps: list[tuple[str, str]]) -> None:
            self.tenant_id, self.user_id, self.apps = tenant_id, user_id, apps
            super().__init__()

    # -- set-up -------------------------------------------------------------------------------
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[Frame] = [Frame(ROOT, "tenants")]
        self.generation = 0
        self.page: Page[Any] | None = None
        self.page_kind: str | None = None
        self.page_limit = 0
        self.page_position: Position | None = None
        self.rows: dict[str, Any] = {}
        self.pending_steps = 0
        self.revealed: tuple[str, dict[str, str]] | None = None
        self.prompt_mode: str | None = None
        self.detail_wanted: bool | None = None
        """The operator's i toggle; None: the default for the width (shown when wide)."""
        self.painted_at = 0.0
        """perf_counter() when the last page was on screen (the benchmark reads it)."""
        self.painted_generation = -1
        self.close_prompt_with_page = False
        self.exporting: str | None = None
        """What the export running in the background has done so far (shown on the tab line)."""

    def compose(self) -> ComposeResult:
        yield self.compose_header()
        yield Crumbs(id="crumbs")
        yield Static("", id="tabs")
        yield Input(id="prompt")
        yield Static("", id="problem")
        with Horizontal(id="body"):
            yield BrowseTable(id="list")
            yield DetailPane(id="detail")
        yield self.compose_footer()

    def compose_footer(self) -> BrowseFooter:
        return BrowseFooter()

    def on_mount(self) -> None:
        self._show_place()

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < WIDE, "-narrow")
        self._apply_detail_visibility()

    def stores_ready(self) -> None:
        self.refresh_bindings()
        self.call_after_refresh(self.reload_page)

    def on_screen_suspend(self) -> None:
        """A revealed DSN is for the moment it was asked for: leaving the screen (another
        screen, a dialog, help) ends it."""
        self._end_reveal()

    # -- where we are -------------------------------------------------------------------------
    @property
    def frame(self) -> Frame:
        return self.stack[-1]

    @property
    def table(self) -> BrowseTable:
        return self.query_one("#list", BrowseTable)

    def crumb_text(self) -> str:
        return self.query_one("#crumbs", Crumbs).text

    def current_row(self) -> Any | None:
        table = self.table
        if not table.row_count or self.page_kind != self.frame.tab:
            return None
        key = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
        return self.rows.get(key) if key is not None else None

    def _show_place(self, right: str | None = None) -> None:
        self.query_one("#crumbs", Crumbs).show(crumbs([(f.level, f.tab) for f in self.stack]), right or "")
        frame = self.frame
        text = Text(" ").join(plain(f" {KINDS[tab].tab} ", "reverse" if tab == frame.tab else "")
                              for tab in frame.level.tabs)
        if frame.state.filter_text:
            text.append_text(Text.assemble("   ", ("/", "bold"), " ", plain(frame.state.filter_text)))
        if self.exporting:
            text.append_text(Text.assemble("   ", plain(self.exporting, "italic")))
        self.query_one("#tabs", Static).update(text)
        self.refresh_bindings()  # the footer shows the edit keys of this list (check_action)

    # -- loading ------------------------------------------------------------------------------
    def page_size(self) -> int:
        return self.table.visible_rows

    def _ask(self, position: Position, cursor: str | int | None, *, steps: int = 0) -> None:
        self.generation += 1
        frame = self.frame
        ask = PageAsk(self.generation, frame.kind, frame, frame.state, self.page_size(), position, cursor,
                      steps, self.page if steps else None)
        self.fetch_page(ask)

    def reload_page(self, *, cursor: str | int | None = None) -> None:
        """Fetch the current list's page again (where it was, cursor on the same row)."""
        if self.console.stores is None:
            return
        self.pending_steps = 0
        frame = self.frame
        self._show_place()
        default_cursor = "last" if frame.kind.starts_at_end and frame.state.position is None else "first"
        self._ask(frame.start_position(), cursor or frame.state.row_key or default_cursor)

    @work(exclusive=True, group="browse-page", exit_on_error=False)
    async def fetch_page(self, ask: PageAsk) -> None:
        stores = self.console.stores
        if stores is None:
            return
        kind, scope, parsed = ask.kind, ask.frame.level.scope, ask.state.parsed
        try:
            if ask.steps and ask.base is not None:
                position, page = await self._walk(stores, ask, ask.position, ask.base)
            else:
                page, estimated = await self._page_and_estimate(stores, ask)
                position = ask.position.landed(page)
                if not page.rows and ask.position.anchor.kind in ("after", "before"):
                    # the rows around the cursor are gone (deleted meanwhile): show the end instead
                    edge = Position.last() if ask.position.anchor.kind == "after" else Position.first()
                    page = await kind.page(stores, scope, parsed, limit=ask.limit, **edge.anchor.paging())
                    position = edge.landed(page)
                elif ask.position.anchor.kind == "before" and page.prev_cursor is None and len(page.rows) < ask.limit:
                    page = await kind.page(stores, scope, parsed, limit=ask.limit)  # fill the first page
                    position = Position.first().landed(page)
            extras = await kind.extras(stores, page.rows) if kind.extras is not None else {}
            total = ask.state.total
            if total is None and kind.estimate is not None:
                total = estimated if estimated is not None else \
                    await kind.estimate(stores, scope, kind.store_filter(scope, parsed))
        except (StoreError, LookupError) as exc:
            self.post_message(self.PageFailed(ask.generation, str(exc)))
            return
        except Exception as exc:  # a bug: say so (the prompt must not stay stuck), the log has the traceback
            log.exception("loading a page of %s failed", kind.name)
            self.post_message(self.PageFailed(ask.generation, f"the page could not be loaded ({type(exc).__name__}); "
                                                              "see the log (F1 shows where)"))
            return
        self.post_message(self.PageLoaded(ask, position, page, extras, total))

    async def _page_and_estimate(self, stores: Any, ask: PageAsk) -> tuple[Page[Any], RowCount | None]:
        """The page, and the list's estimate when it is not known yet: both at once (two
        pooled connections), so a new filter costs one round trip, not two."""
        kind, scope, parsed = ask.kind, ask.frame.level.scope, ask.state.parsed
        fetch = kind.page(stores, scope, parsed, limit=ask.limit, **ask.position.anchor.paging())
        if ask.state.total is not None or kind.estimate is None:
            return await fetch, None
        page, estimated = await asyncio.gather(fetch, kind.estimate(stores, scope, kind.store_filter(scope, parsed)))
        return page, estimated

    async def _walk(self, stores: Any, ask: PageAsk, position: Position, page: Page[Any]) -> tuple[Position, Page[Any]]:
        """``ask.steps`` pages forward (or back) from the page on screen."""
        kind, scope, parsed = ask.kind, ask.frame.level.scope, ask.state.parsed
        for _ in range(abs(ask.steps)):
            target = position.next(page) if ask.steps > 0 else position.previous(page)
            if target is None:
                break
            fetched = await kind.page(stores, scope, parsed, limit=ask.limit, **target.anchor.paging())
            if not fetched.rows:
                break
            position, page = target.settle(fetched, came_from=position), fetched
        if ask.steps < 0 and page.prev_cursor is None and len(page.rows) < ask.limit:
            page = await kind.page(stores, scope, parsed, limit=ask.limit)
            position = Position.first().landed(page)
        return position, page

    @on(PageLoaded)
    def _page_loaded(self, message: PageLoaded) -> None:
        ask = message.ask
        if ask.generation != self.generation:
            return  # overtaken by a later request
        state, kind, page = ask.state, ask.kind, message.page
        state.position = message.position
        exact = known_total(message.position, len(page.rows))
        if exact is not None:
            state.total = RowCount(exact, True)
        elif message.total is not None and (state.total is None or not state.total.exact):
            state.total = message.total
        self.pending_steps = 0
        self.query_one("#problem", Static).display = False
        with self.app.batch_update():
            if self.close_prompt_with_page:
                self._close_prompt()
            self._render_rows(kind, page, message.extras, ask.cursor)
        self.page, self.page_kind, self.page_position, self.page_limit = page, kind.name, message.position, ask.limit
        self._show_title()
        self._update_detail()
        self.call_after_refresh(self._painted, ask.generation)
        total = state.total
        if kind.count is not None and not state.counting and (total is None or not total.exact) \
                and (total is None or total.value <= EXACT_COUNT_UP_TO):
            state.counting = True
            self.count_rows(kind, ask.frame, state)

    def _painted(self, generation: int) -> None:
        self.painted_at = time.perf_counter()
        self.painted_generation = generation

    def _show_title(self) -> None:
        state = self.frame.state
        rows = len(self.page.rows) if self.page is not None else 0
        position = self.page_position or Position.first()
        self._show_place(range_text(position, rows, state.total))

    def _render_rows(self, kind: ListKind, page: Page[Any], extras: Extras, cursor: str | int | None) -> None:
        """Replace the table's rows with ``page``'s, in place: same columns and same keys
        update only the cells that changed; otherwise the rows are swapped in one batch."""
        table = self.table
        keys = [kind.row_key(row) for row in page.rows]
        cells = [tuple(plain(value) for value in kind.cells(row, extras.get(key, {}))) for key, row in zip(keys, page.rows)]
        old_index = table.cursor_row
        with self.app.batch_update():
            if self.page_kind != kind.name or len(table.columns) != len(kind.columns):
                table.clear(columns=True)
                for index, column in enumerate(kind.columns):
                    table.add_column(column.label, width=column.width, key=str(index))
                self._add_rows(table, keys, cells)
            elif keys == list(self.rows):
                for key, values in zip(keys, cells):
                    old = table.get_row(key)
                    for index, value in enumerate(values):
                        if old[index] != value:
                            table.update_cell(key, str(index), value)
            else:
                table.clear()
                self._add_rows(table, keys, cells)
            self.rows = dict(zip(keys, page.rows))
            if keys:
                table.move_cursor(row=self._cursor_index(keys, cursor, old_index), animate=False, scroll=False)
                table.scroll_to(0, 0, animate=False, immediate=True)

    @staticmethod
    def _add_rows(table: DataTable[Text], keys: list[str], cells: list[tuple[Text, ...]]) -> None:
        for key, values in zip(keys, cells):
            table.add_row(*values, key=key)

    @staticmethod
    def _cursor_index(keys: list[str], cursor: str | int | None, old_index: int) -> int:
        if isinstance(cursor, int):
            return min(max(cursor, 0), len(keys) - 1)
        if cursor == "last":
            return len(keys) - 1
        if cursor in (None, "first"):
            return 0
        return keys.index(cursor) if cursor in keys else min(old_index, len(keys) - 1)

    @on(PageFailed)
    def _page_failed(self, message: PageFailed) -> None:
        if message.generation == self.generation:
            self.pending_steps = 0
            if self.close_prompt_with_page:
                self._close_prompt()
            self._problem(message.text)

    @work(exclusive=True, group="browse-count", exit_on_error=False)
    async def count_rows(self, kind: ListKind, frame: Frame, state: ListState) -> None:
        stores = self.console.stores
        if stores is None or kind.count is None:
            return
        text = state.filter_text
        try:
            total = await kind.count(stores, frame.level.scope, kind.store_filter(frame.level.scope, state.parsed))
        except StoreError:
            state.counting = False
            return
        except asyncio.CancelledError:  # another list's count took the group: count this one next time
            state.counting = False
            raise
        if total is not None:
            if isinstance(total, int):
                total = RowCount(total, True)
            self.post_message(self.Counted(state, text, total))

    @on(Counted)
    def _counted(self, message: Counted) -> None:
        state = message.state
        if state.filter_text != message.filter_text:
            return
        state.total = message.total
        if state is self.frame.state:
            self._show_title()

    def _problem(self, text: str) -> None:
        """A list that could not be loaded: said in a line above it until a page loads."""
        problem = self.query_one("#problem", Static)
        problem.update(plain(text))
        problem.display = True

    @on(Problem)
    def _show_problem(self, message: Problem) -> None:
        """Anything else that failed (a jump, a reveal): a notification, the list stays as it is."""
        self.notify(message.text, severity="error", timeout=10)

    # -- the cursor and the detail pane ----------------------------------------------------------
    @on(DataTable.RowHighlighted, "#list")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value if event.row_key is not None else None
        if key is None or key not in self.rows:
            return
        self.frame.state.row_key = key
        if self.revealed is not None and self.revealed[0] != key:
            self.revealed = None  # a reveal ends when the selection moves
        self._update_detail()

    def _update_detail(self) -> None:
        detail = self.query_one("#detail", DetailPane)
        if not detail.display:
            return
        row = self.current_row()
        key = self.frame.state.row_key
        revealed = self.revealed[1] if self.revealed is not None and self.revealed[0] == key else None
        kind = self.frame.kind
        stores = self.console.stores
        detail.show(row, key, revealed, title=f"{kind.entity} {key}" if row is not None else "",
                    time_zone=stores.engine.clock.zone if stores is not None else None)

    def _apply_detail_visibility(self) -> None:
        wanted = self.detail_wanted if self.detail_wanted is not None else not self.has_class("-narrow")
        self.set_class(wanted, "-detail")
        self.call_after_refresh(self._update_detail)

    def action_focus_detail(self) -> None:
        """I: into the detail pane (shown if it was not), where the arrows, PageUp/PageDown,
        Home and End scroll it: at 80x24 it has ~10 lines and a row has more fields. I again
        (or Escape) goes back to the list."""
        detail = self.query_one("#detail", DetailPane)
        if detail.has_focus:
            self.table.focus()
            return
        if not self.has_class("-detail"):
            self.detail_wanted = True
            self._apply_detail_visibility()
        detail.focus()

    def action_toggle_detail(self) -> None:
        shown = self.has_class("-detail")
        self.detail_wanted = not shown
        if shown:
            self._end_reveal()
            self.table.focus()
        self._apply_detail_visibility()

    @on(BrowseTable.Resized)
    def _resized(self) -> None:
        if self.page is not None and self.page_size() != self.page_limit:
            self.reload_page()

    # -- navigation ---------------------------------------------------------------------------
    @on(DataTable.RowSelected, "#list")
    def _selected(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value if event.row_key is not None else None
        row = self.rows.get(key) if key is not None else None
        if row is None:
            return
        level = self.frame.kind.opens(row, self.frame.level.scope)
        if level is None:  # a leaf: Enter shows its details
            self.detail_wanted = True
            self._apply_detail_visibility()
            return
        self.frame.state.row_key = key
        self._end_reveal()
        self.stack.append(Frame(level, level.tabs[0]))
        self.reload_page()

    def action_back_level(self) -> None:
        """Escape: closes the prompt, then ends a reveal, then the narrow detail pane, then clears
        the list's filter (as k9s does), then goes up."""
        if self.prompt_mode is not None:
            self._close_prompt()
            return
        if self.query_one("#detail", DetailPane).has_focus:
            self.table.focus()
            return
        if self.revealed is not None:
            self._end_reveal()
            return
        if self.has_class("-narrow") and self.has_class("-detail"):
            self.detail_wanted = False
            self._apply_detail_visibility()
            return
        state = self.frame.state
        if state.filter_text:
            state.set_filter("", {})
            self.reload_page()
            return
        if len(self.stack) > 1:
            self.stack.pop()
            self.reload_page()

    def action_cycle_tab(self, step: int) -> None:
        if len(self.frame.level.tabs) < 2 or self.prompt_mode is not None:
            return
        self._end_reveal()
        self.frame.cycle(step)
        self.reload_page()

    def action_page_step(self, step: int) -> None:
        if self.page is None or self.page_kind != self.frame.tab:
            return
        if (self.pending_steps > 0) != (step > 0):
            self.pending_steps = 0
        self.pending_steps += step
        self._end_reveal()
        self._ask(self.page_position or Position.first(), self.table.cursor_row, steps=self.pending_steps)

    def action_page_first(self) -> None:
        self.pending_steps = 0
        self._ask(Position.first(), "first")

    def action_page_last(self) -> None:
        self.pending_steps = 0
        self._ask(Position.last(), "last")

    @on(BrowseTable.Edge)
    def _edge(self, message: BrowseTable.Edge) -> None:
        if self.page is None:
            return
        if (message.step > 0 and self.page.next_cursor is None) or (message.step < 0 and self.page.prev_cursor is None):
            return
        self.pending_steps = message.step
        self._ask(self.page_position or Position.first(), "first" if message.step > 0 else "last", steps=message.step)

    def action_reload(self) -> None:
        self.frame.state.forget_total()
        self.reload_page()

    def go_to_path(self, path: Path) -> None:
        """Stand at ``path`` (a jump, the palette); levels already on the stack keep their state."""
        old = {(f.level.key): f for f in self.stack}
        frames: list[Frame] = []
        for level, tab in path:
            frame = old.get(level.key) or Frame(level, tab)
            frame.tab = tab
            frames.append(frame)
        self.stack = frames
        self._end_reveal()
        self.reload_page()

    # -- the prompt: / filter and : jump ---------------------------------------------------------
    def action_filter(self) -> None:
        self._open_prompt("filter", self.frame.state.filter_text,
                          f"filter {self.frame.kind.tab}: {self.frame.kind.filters.describe()}")

    def action_jump(self) -> None:
        self._open_prompt("jump", ":", ":tenants :tenant acme :users acme :keys acme/web :user acme/alice :audit")

    def _open_prompt(self, mode: str, value: str, placeholder: str) -> None:
        prompt = self.query_one("#prompt", Input)
        self.prompt_mode = mode
        prompt.placeholder = placeholder
        prompt.value = value
        self.query_one("#tabs", Static).display = False  # the prompt takes the tab line: the list keeps its size
        prompt.display = True
        prompt.focus()
        prompt.cursor_position = len(value)

    def _close_prompt(self) -> None:
        prompt = self.query_one("#prompt", Input)
        self.prompt_mode = None
        self.close_prompt_with_page = False
        prompt.display = False
        self.query_one("#tabs", Static).display = True
        self.table.focus()

    @on(Input.Submitted, "#prompt")
    def _prompt_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if self.prompt_mode == "filter":
            kind = self.frame.kind
            try:
                stores = self.console.stores
                parsed = parse_filter(text, kind.filters, list_name=kind.tab,
                                      now=stores.engine.clock.now() if stores is not None else None)
            except FilterError as exc:
                self.notify(str(exc), title="Filter not applied", severity="error", timeout=10)
                return
            self.frame.state.set_filter(text, parsed)
            self.prompt_mode = None  # closed with the new page, in the same frame (one relayout, not two)
            self.close_prompt_with_page = True
            self.reload_page()
        elif self.prompt_mode == "jump":
            from console.browse.jump import JumpError, parse_jump

            try:
                jump = parse_jump(text)
            except JumpError as exc:
                self.notify(str(exc), title="Cannot jump", severity="error", timeout=10)
                return
            self._close_prompt()
            self.resolve(jump)

    @work(exclusive=True, group="browse-jump", exit_on_error=False)
    async def resolve(self, jump: Any) -> None:
        from console.browse.jump import JumpError, resolve_jump

        stores = self.console.stores
        if stores is None:
            return
        try:
            path = await resolve_jump(stores, jump)
        except (JumpError, StoreError) as exc:
            self.post_message(self.Problem(str(exc)))
            return
        self.post_message(self.Jumped(path))

    @on(Jumped)
    def _jumped(self, message: Jumped) -> None:
        self.go_to_path(message.path)

    # -- reveal -------------------------------------------------------------------------------
    def action_reveal(self) -> None:
        row = self.current_row()
        key = self.frame.state.row_key
        fields = [name for name in MASKED_FIELDS if row is not None and getattr(row, name, None)]
        if row is None or key is None or not fields or self.console.settings.read_only:
            self.notify("Nothing masked to reveal on this row.", severity="warning")
            return
        self.detail_wanted = True
        self._apply_detail_visibility()
        self.reveal_value(row, key, sorted(fields)[0])

    @work(exclusive=True, group="browse-reveal", exit_on_error=False)
    async def reveal_value(self, row: Any, key: str, field: str) -> None:
        stores = self.console.stores
        if stores is None:
            return
        try:
            from stores.admin import Admin

            value = await Admin(stores).reveal(row, field)
        except StoreError as exc:
            self.post_message(self.Problem(f"Not revealed: {exc}"))
            return
        self.post_message(self.Revealed(key, field, value))

    @on(Revealed)
    def _revealed(self, message: Revealed) -> None:
        if self.frame.state.row_key != message.key:
            return  # the selection moved on meanwhile: nothing is shown
        self.revealed = (message.key, {message.field: message.value})
        self._update_detail()

    def _end_reveal(self) -> None:
        if self.revealed is not None:
            self.revealed = None
            self._update_detail()

    # -- export -------------------------------------------------------------------------------
    def _list_name(self) -> str:
        frame = self.frame
        parts = [part for part in (frame.level.scope.tenant_id, frame.level.scope.app_id, frame.level.scope.user_id) if part]
        return "-".join([*parts, frame.kind.tab]).replace("/", "_")

    def action_export(self) -> None:
        if self.console.stores is None:
            return
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        default = str(self.console.config.files_directory_or_here() / f"{self._list_name()}-{stamp}.csv")
        frame = self.frame
        what = " ▸ ".join(self.crumb_text().split(" ▸ ")) + (f" (filter {frame.state.filter_text})" if frame.state.filter_text else "")
        from console.screens.browse.prompts import ExportPrompt

        self.app.push_screen(ExportPrompt(default, what), lambda path: self._export_to(path, frame) if path else None)

    def _export_to(self, path: str, frame: Frame) -> None:
        self.exporting = "exporting …"
        self._show_place(self.query_one("#crumbs", Crumbs).right)
        self.export_list(frame.kind, frame, frame.state, path)

    @work(exclusive=True, group="browse-export", exit_on_error=False)
    async def export_list(self, kind: ListKind, frame: Frame, state: ListState, path: str) -> None:
        from stores.export import export_rows

        stores = self.console.stores
        if stores is None:
            return
        scope, parsed = frame.level.scope, dict(state.parsed)

        async def fetch(after: str | None, limit: int) -> Page[Any]:
            return await kind.page(stores, scope, parsed, after=after, limit=limit)

        try:
            rows = await export_rows(fetch, path, progress=lambda n: self.post_message(self.ExportProgress(n)))
        except (StoreError, LookupError, OSError, ValueError) as exc:
            self.post_message(self.ExportProgress(-1, True, str(exc)))
            return
        self.post_message(self.ExportProgress(rows, True, path))

    @on(ExportProgress)
    def _export_progress(self, message: ExportProgress) -> None:
        self.exporting = None if message.done else f"exporting … {message.rows:,} rows"
        self._show_place(self.query_one("#crumbs", Crumbs).right)
        if not message.done:
            return
        if message.rows < 0:
            self.notify(message.path, title="Export failed", severity="error", timeout=10)
        else:
            where = FilePath(message.path).expanduser().absolute()
            self.notify(f"{message.rows:,} rows written to {where}", title="Exported", timeout=8)

    # -- edits (the forms are console.edit's) -------------------------------------------------
    def allows(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        rule = _APPLIES.get(action)
        if rule is None:
            return True
        kind = self.frame.kind
        return rule(kind.name, kind.entity)

    def _push_edit(self, modal: ModalScreen[Any]) -> None:
        self.app.push_screen(modal, self._edited)

    def _edited(self, result: Any) -> None:
        if result is None or result is False:
            return
        state = self.frame.state
        state.forget_total()
        kind = self.frame.kind
        key: str | None = None
        if result is not True:
            try:
                key = kind.row_key(result)
            except (AttributeError, TypeError):
                key = None
        # The stored row (also a created one) gets the cursor when the reloaded page holds it,
        # else the cursor keeps its place (_cursor_index). Kept in the list's state, because
        # the screen's resume after the dialog reloads the page once more, from that state.
        if key is not None:
            state.row_key = key
        self.reload_page(cursor=key)

    def _row_or_warn(self) -> Any | None:
        row = self.current_row()
        if row is None:
            self.notify("No row selected.", severity="warning")
        return row

    def _open_edit(self, action: str) -> None:
        """Open the dialog ``action`` stands for (console/screens/browse/edits.py)."""
        spec = EDIT_DIALOGS[action]
        row = self._row_or_warn() if spec.needs_row else None
        if row is not None or not spec.needs_row:
            self._push_edit(spec.build(self.frame, row))

    def action_new(self) -> None:
        self._open_edit("new")

    def action_edit(self) -> None:
        self._open_edit("edit")

    def action_suspend(self) -> None:
        self._open_edit("suspend")

    def action_activate(self) -> None:
        self._open_edit("activate")

    def action_soft_delete(self) -> None:
        self._open_edit("soft_delete")

    def action_hard_delete(self) -> None:
        self._open_edit("hard_delete")

    def action_grant(self) -> None:
        self._open_edit("grant")

    def action_revoke_grant(self) -> None:
        self._open_edit("revoke_grant")

    def action_rotate_key(self) -> None:
        self._open_edit("rotate_key")

    def action_revoke_key(self) -> None:
        self._open_edit("revoke_key")

    def action_new_key(self) -> None:
        scope = self.frame.level.scope
        if self.frame.tab == "app_keys":
            self._push_edit(dialogs().GenerateKey(scope.tenant_id, scope.app_id))
        else:
            self.apps_of_user(scope.tenant_id, scope.user_id)

    @work(exclusive=True, group="browse-pick", exit_on_error=False)
    async def apps_of_user(self, tenant_id: str, user_id: str) -> None:
        stores = self.console.stores
        if stores is None:
            return
        try:
            grants = await stores.user_apps.page_user_apps(tenant_id, user_id, limit=100, filter={"status": "active"})
        except StoreError as exc:
            self.post_message(self.Problem(str(exc)))
            return
        self.post_message(self.AppsToPick(tenant_id, user_id, [(g.app_id, "granted") for g in grants.rows]))

    @on(AppsToPick)
    def _pick_app(self, message: AppsToPick) -> None:
        if not message.apps:
            self.notify("The user has access to no app: grant one first (g on the grants tab).", severity="warning")
            return
        def picked(app_id: str | None) -> None:
            if app_id:
                self._push_edit(dialogs().GenerateKey(message.tenant_id, app_id, user_id=message.user_id))

        from console.screens.browse.prompts import AppPicker

        self.app.push_screen(AppPicker(f"Generate a key owned by {message.user_id} for which app?", message.apps), picked)

    def action_key_report(self) -> None:
        scope = self.frame.level.scope
        self.app.push_screen(dialogs().KeyReportScreen(scope.tenant_id, scope.app_id))


_EDITABLE = ("tenant", "app", "branch", "user")
_APPLIES: dict[str, Any] = {
    "new": lambda name, entity: name in ("tenants", "apps", "branches", "users"),
    "edit": lambda name, entity: entity in _EDITABLE,
    "suspend": lambda name, entity: entity in _EDITABLE,
    "activate": lambda name, entity: entity in _EDITABLE,
    "soft_delete": lambda name, entity: entity in ("tenant", "user"),
    "hard_delete": lambda name, entity: entity in (*_EDITABLE, "key"),
    "grant": lambda name, entity: name in ("grants", "app_users"),
    "revoke_grant": lambda name, entity: entity == "grant",
    "new_key": lambda name, entity: name in ("app_keys", "user_keys"),
    "rotate_key": lambda name, entity: entity == "key",
    "revoke_key": lambda name, entity: entity == "key",
    "key_report": lambda name, entity: name in ("tenant_keys", "app_keys"),
    "reveal": lambda name, entity: entity == "tenant",
}
