"""Monitor: slow queries, client timings, table sizes, activity and what the role may see.

On PostgreSQL the screen samples ``stores.monitor.PostgresMonitor`` (pg_stat_statements
with per-interval deltas, the lokstra_auth tables, pg_stat_activity) and shows the store
layer's own client-side timings next to it; on the memory backend the store timings are
its slow queries. The sampling timer re-arms only when the previous sample has been shown
(samples never overlap), the interval is 1–60 s (+/-), ``p`` pauses, and nothing is sampled
while the screen is not the active one (another screen, a dialog on top). Tables are
updated cell by cell, keyed by query id / pid, keeping the cursor and the sort.

Query text is shown with its literals masked; ``x`` reveals the selected one. Reset,
cancel and terminate ask first (focus on No) and are left out in read-only mode.
"""
from __future__ import annotations

import time
from typing import Any, ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingsMap
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import DataTable, Input, Sparkline, Static, TabbedContent, TabPane

from console.text import plain
from console.actions import ActionSpec, bindings
from console.screens.base import ConsoleScreen
from console.screens.confirm import ConfirmModal
from console.screens.monitor_rows import (
    ACTIVITY_COLUMNS, GROUPS, INDEX_COLUMNS, NA, SORTS, STATEMENT_COLUMNS, TABLE_COLUMNS,
    TIMING_COLUMNS, StatementFilter, activity_rows, capabilities_text, index_rows, ms, one_line, percent, query_label,
    sample_problems, seconds_text, selected_key, size_text, statement_rows, sync_table, table_hints, table_rows,
    timing_rows, when_text,
)
from stores.errors import StoreError
from stores.monitor import Capabilities, PostgresMonitor, Sample, Session, Statement, active_engine, mask_literals
from stores.timing import OperationStats

# Short labels, s and g left out of the footer: every tab's footer, F1 Help included, fits
# 80 columns (tests/monitor/test_footer.py); F1 lists every key.
MONITOR_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("monitor.pause", "p", "pause", "Pause"),
    ActionSpec("monitor.view", "v", "toggle_view", "Interval"),
    ActionSpec("monitor.sort", "s", "sort", "Sort", show=False),
    ActionSpec("monitor.filter", "slash", "filter", "Filter"),
    ActionSpec("monitor.group", "g", "group", "Group", show=False),
    ActionSpec("monitor.detail", "d", "detail", "Detail"),
    ActionSpec("monitor.reveal", "x", "reveal", "Reveal"),
    ActionSpec("monitor.reset", "R", "reset", "Reset", writes=True),
    ActionSpec("monitor.cancel", "c", "cancel_query", "Cancel query", writes=True),
    ActionSpec("monitor.terminate", "t", "terminate", "Terminate", writes=True),
    ActionSpec("monitor.refresh", "r", "refresh", "Refresh", show=False),
    ActionSpec("monitor.faster", "plus", "faster", "Faster", show=False),
    ActionSpec("monitor.slower", "minus", "slower", "Slower", show=False),
    ActionSpec("monitor.next_tab", "right_square_bracket", "next_tab", "Next tab", show=False),
    ActionSpec("monitor.previous_tab", "left_square_bracket", "previous_tab", "Previous tab", show=False),
)
INTERVALS: tuple[int, ...] = (1, 2, 5, 10, 15, 30, 60)
TABS: tuple[str, ...] = ("slow", "client", "tables", "activity", "caps")
STATEMENT_TABS = ("slow",)
ON_MEMORY = "PostgreSQL only: the console runs on the memory backend (its store timings are on Slow queries)."


def _table(table_id: str, columns: tuple[tuple[str, str, int], ...]) -> DataTable[Any]:
    """A row-cursor table with its keyed columns (every table of this screen)."""
    table: DataTable[Any] = DataTable(id=table_id, cursor_type="row", zebra_stripes=True)
    for key, label, width in columns:
        table.add_column(label, width=width, key=key)
    return table


class RevealAudited(Message):
    """The audit record of a reveal was written (``problem`` None), or why it could not be."""

    def __init__(self, problem: str | None, subject: object = None) -> None:
        self.problem = problem
        self.subject = subject
        super().__init__()


async def audited_reveal(screen: Any, app: Any, entity: str, key: str, what: str, subject: object = None) -> None:
    """Write the reveal's audit record (``Admin.audit_reveal``; never the literals), then let
    ``screen`` show them. Read-only mode cannot write the record: the text stays masked, and
    the operator is told why (RELIABILITY.md, reveal policy)."""
    from stores.admin import Admin

    stores = getattr(app, "stores", None)
    if stores is None:
        screen.post_message(RevealAudited("the stores are not open yet", subject))
        return
    try:
        await Admin(stores).audit_reveal(entity, key, what)
    except StoreError as exc:
        screen.post_message(RevealAudited(f"revealing is audited and the record could not be written: {exc}", subject))
        return
    screen.post_message(RevealAudited(None, subject))


class QueryDetail(ModalScreen[None]):
    """One statement: its figures and full text (wrapped, highlighted; literals masked until ``x``)."""

    DEFAULT_CSS = """
    QueryDetail { align: center middle; }
    QueryDetail > VerticalScroll { width: 96%; height: 90%; border: round $accent; background: $surface; padding: 0 1; }
    QueryDetail #figures { height: auto; margin-bottom: 1; }
    QueryDetail #text { height: auto; }
    """
    BINDINGS = [Binding("escape,q,d", "dismiss", "Close", id="monitor-detail.close"),
                Binding("x", "reveal", "Reveal literals", id="monitor-detail.reveal")]

    def __init__(self, statement: Statement, history: list[float]) -> None:
        super().__init__()
        self.statement = statement
        self.history = history
        self.revealed = False

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self._figures(), id="figures")
            yield Sparkline(self.history or [0.0], id="detail-spark")
            yield Static(self._text(), id="text")

    def _figures(self) -> Text:
        s = self.statement
        text = Text()
        text.append(plain(f"database {s.database or NA} · role {s.role or NA} · queryid {s.key[2]} · "
                          f"{'top level' if s.key[3] else 'nested'}\n", "bold"))

        def line(label: str, figures: Any, stddev: float | None, share: float | None) -> None:
            if figures is None:
                text.append(f"{label}: {NA} (from the next sample)\n")
                return
            text.append(f"{label}: calls {figures.calls:,} · total {ms(figures.total_ms).text} ms · mean "
                        f"{ms(figures.mean_ms).text} ms · stddev {ms(stddev).text} ms · rows {figures.rows:,} · "
                        f"hit {percent(figures.hit_ratio).text}% · share {percent(share).text}%\n")

        line("since reset", s.totals, s.stddev_ms, s.share)
        line("last interval", s.interval, None, s.interval_share)
        text.append(plain(f"I/O time {ms(s.io_ms).text} ms · planning {ms(s.plan_ms).text} ms", "dim"))
        return text

    def _text(self) -> Syntax | Text:
        if self.statement.query is None:
            return Text("<the text is not visible to this role>", style="dim")
        shown = self.statement.query if self.revealed else mask_literals(self.statement.query)
        return Syntax(shown, "sql", word_wrap=True, background_color="default", theme="ansi_dark")

    def action_reveal(self) -> None:
        if self.revealed:
            self.revealed = False
            self.query_one("#text", Static).update(self._text())
            return
        if self.statement.query is not None:
            self.audit_reveal(self.app, "query", f"queryid {self.statement.key[2]}",
                              f"the literals of query {self.statement.key[2]}")

    audit_reveal = work(exclusive=True, group="reveal", exit_on_error=False)(audited_reveal)

    @on(RevealAudited)
    def _reveal_audited(self, message: RevealAudited) -> None:
        if message.problem is not None:
            self.notify(message.problem, title="Literals stay masked", severity="warning")
            return
        self.revealed = True
        self.query_one("#text", Static).update(self._text())


class MonitorScreen(ConsoleScreen):
    TITLE_TEXT = "monitor"
    HELP = (
        "Slow queries: pg_stat_statements per normalised query; v switches between figures since the last "
        "reset and the last interval (only what ran in it); s cycles the sort (or click a column), g groups "
        "by database / role, / filters (words of the query, db:NAME, role:NAME), d or Enter shows the detail "
        "(x reveals its literals), R resets the statistics (asks first). The sparklines show the execution "
        "time per interval of the selected query and of all.\n"
        "Client timings: what the console waited for per store operation (calls, mean, p95, max, errors); on "
        "the memory backend they are the slow queries.\n"
        "Tables: sizes, rows, scans, vacuum / analyze of the lokstra_auth tables, indexes (unused ones "
        "flagged), the database cache hit ratio.\n"
        "Activity: sessions other than the console's own; blocked ones show who blocks them. Query text is "
        "masked; x reveals the selected one. c cancels its query, t terminates the backend (both ask first).\n"
        "Capabilities: what this role may see and the exact fix for each gap.\n"
        "p pauses, + / - change the interval (1-60 s), r samples now, [ ] change tabs. Missing data shows as "
        "n/a. Read-only mode leaves R, c and t out."
    )
    BINDINGS = bindings(MONITOR_ACTIONS)
    INTERVAL: ClassVar[float] = 2.0
    DEFAULT_CSS = """
    MonitorScreen TabbedContent { height: 1fr; }
    MonitorScreen TabPane { padding: 0; height: 1fr; }
    MonitorScreen .status { height: 1; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; background: $boost; }
    MonitorScreen DataTable { height: 1fr; }
    MonitorScreen #filter { display: none; height: 1; border: none; padding: 0 1; }
    MonitorScreen #slow-preview { height: 1; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; color: $text-muted; }
    MonitorScreen #sparks { height: 1; padding: 0 1; }
    MonitorScreen #sparks Static { width: 16; color: $text-muted; }
    MonitorScreen #sparks Sparkline { width: 1fr; height: 1; margin-right: 1; }
    MonitorScreen #slow-timings { display: none; }
    MonitorScreen #indexes { height: 1fr; }
    MonitorScreen #tables-hints { height: auto; max-height: 3; padding: 0 1; color: $warning; }
    MonitorScreen #activity-detail { height: 3; padding: 0 1; }
    MonitorScreen #caps-scroll { height: 1fr; padding: 0 1; }
    MonitorScreen .memory-note { padding: 1 2; color: $text-muted; display: none; }
    """

    class Sampled(Message):
        def __init__(self, sample: Sample | None, timings: list[OperationStats], monitor: PostgresMonitor | None,
                     seconds: float) -> None:
            self.sample = sample
            self.timings = timings
            self.monitor = monitor
            self.seconds = seconds
            super().__init__()

    class SampleFailed(Message):
        def __init__(self, text: str, timings: list[OperationStats]) -> None:
            self.text = text
            self.timings = timings
            super().__init__()

    class ActionDone(Message):
        def __init__(self, text: str, problem: bool) -> None:
            self.text = text
            self.problem = problem
            super().__init__()

    def __init__(self) -> None:
        super().__init__()
        self.all_bindings = self._bindings.copy()
        self.interval: float = self.INTERVAL
        self.paused = False
        self.active = False
        self.sampling = False
        self.samples_taken = 0
        self.sample_seconds: float | None = None
        """How long the worker took for the last sample, and showing it (bench/bench_monitor.py)."""
        self.render_seconds: float | None = None
        self.sample: Sample | None = None
        self.monitor: PostgresMonitor | None = None
        self.timings: list[OperationStats] = []
        self.problem: str | None = None
        self.interval_view = False
        self.sort = "total"
        self.descending = True
        self.group: str | None = None
        self.filter = StatementFilter()
        self.revealed_pid: int | None = None
        self._timer: Timer | None = None
        self._labels: dict[Any, str] = {}
        """Masked one-line texts by statement key (masking is done once per text)."""
        self._shown: dict[str, Statement] = {}
        """The statements of the rows shown, by row id."""
        self._bindings_state: tuple[Any, ...] | None = None
        self._shown_text: dict[str, Text | str] = {}

    # -- layout ----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield self.compose_header()
        with TabbedContent(id="tabs"):
            with TabPane("Slow queries", id="slow"):
                yield Static("Sampling …", id="slow-status", classes="status")
                yield Input(placeholder="filter: words of the query, db:NAME, role:NAME (Enter applies, Esc clears)",
                            id="filter")
                yield _table("statements", STATEMENT_COLUMNS)
                yield _table("slow-timings", TIMING_COLUMNS)
                yield Static("", id="slow-preview")
                with Horizontal(id="sparks"):
                    yield Static("query", id="spark-query-label")
                    yield Sparkline([0.0], id="spark-query")
                    yield Static("all", id="spark-all-label")
                    yield Sparkline([0.0], id="spark-all")
            with TabPane("Client timings", id="client"):
                yield Static("What the console waited for, per store operation (client side)",
                             id="client-status", classes="status")
                yield _table("timings", TIMING_COLUMNS)
            with TabPane("Tables", id="tables"):
                yield Static("Sampling …", id="tables-status", classes="status")
                yield Static(ON_MEMORY, id="tables-memory", classes="memory-note")
                with Vertical(id="tables-body"):
                    yield _table("tables-table", TABLE_COLUMNS)
                    yield _table("indexes", INDEX_COLUMNS)
                    yield Static("", id="tables-hints")
            with TabPane("Activity", id="activity"):
                yield Static("Sampling …", id="activity-status", classes="status")
                yield Static(ON_MEMORY, id="activity-memory", classes="memory-note")
                yield _table("activity-table", ACTIVITY_COLUMNS)
                yield Static("", id="activity-detail")
            with TabPane("Capabilities", id="caps"):
                with VerticalScroll(id="caps-scroll"):
                    yield Static("Probing …", id="caps-text")
        yield self.compose_footer()

    # -- where we are ----------------------------------------------------------------------------
    @property
    def tab(self) -> str:
        return self.query_one("#tabs", TabbedContent).active or "slow"

    @property
    def on_memory(self) -> bool:
        stores = self.console.stores
        return stores is None or getattr(active_engine(stores), "backend", "memory") != "postgres"

    @property
    def capabilities(self) -> Capabilities | None:
        return self.monitor.capabilities if self.monitor is not None else None

    # -- bindings: read-only leaves the writing ones out ----------------------------------------------
    def sync_bindings(self) -> None:
        ours = {spec.id for spec in MONITOR_ACTIONS}
        inherited = {key: kept for key, group in self.all_bindings.key_to_bindings.items()
                     if (kept := [b for b in group if b.id not in ours])}
        own = BindingsMap(bindings(MONITOR_ACTIONS, self.console.settings.read_only))
        self._bindings = BindingsMap.merge([BindingsMap.from_keys(inherited), own])
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Only what the current tab can do is offered (the footer stays short at 80 columns)."""
        tab = self.tab if self.is_mounted else "slow"
        statements = tab == "slow" and not self.on_memory
        if action in ("toggle_view", "sort", "group", "filter"):
            return statements
        if action == "detail":
            return statements
        if action == "reveal":
            return tab == "activity" and not self.on_memory
        if action == "reset":
            caps = self.capabilities
            return statements and caps is not None and caps.can_reset
        if action in ("cancel_query", "terminate"):
            return tab == "activity" and self._selected_session() is not None
        return True

    def _refresh_bindings_if_changed(self) -> None:
        """The footer is rebuilt only when what it offers changed (a rebuild costs more than a sample)."""
        caps = self.capabilities
        state = (self.tab, self.on_memory, caps is not None and caps.can_reset, self._selected_session() is not None)
        if state != self._bindings_state:
            self._bindings_state = state
            self.refresh_bindings()

    def _set(self, selector: str, content: Text | str) -> None:
        """Update a Static only when its content changed (an update re-renders it)."""
        if self._shown_text.get(selector) != content:
            self._shown_text[selector] = content
            self.query_one(selector, Static).update(content)

    def _may_write(self) -> bool:
        """A keymap or the palette cannot get round read-only mode."""
        if self.console.settings.read_only:
            self.notify("Read-only mode: the monitor only looks.", severity="warning")
            return False
        return True

    # -- the sampling loop -----------------------------------------------------------------------
    def on_mount(self) -> None:
        self.sync_bindings()

    def on_screen_resume(self) -> None:
        self.active = True
        self.sync_bindings()
        self.refresh_header()
        if self.console.stores is not None:
            self.stores_ready()

    def on_screen_suspend(self) -> None:
        self.active = False
        self._stop_timer()

    def stores_ready(self) -> None:
        self.sync_bindings()
        self._show_backend()
        self.sample_now()

    def sample_now(self) -> None:
        """Take a sample unless one is running (its end arms the next one)."""
        self._stop_timer()
        if self.sampling or not self.active or self.console.stores is None:
            return
        self.sampling = True
        self.take_sample()

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def _arm(self) -> None:
        """The next sample, ``interval`` after this one was shown: samples never overlap."""
        self._stop_timer()
        if self.active and not self.paused:
            self._timer = self.set_timer(self.interval, self.sample_now)

    @work(exclusive=True, group="monitor-sample", exit_on_error=False)
    async def take_sample(self) -> None:
        started = time.perf_counter()
        stores = self.console.stores
        timings = stores.timings.snapshot() if stores is not None else []
        engine = active_engine(stores) if stores is not None else None
        if engine is None or getattr(engine, "backend", "") != "postgres":
            self.post_message(self.Sampled(None, timings, None, time.perf_counter() - started))
            return
        monitor = self.monitor if self.monitor is not None and self.monitor.engine is engine else PostgresMonitor(engine)
        try:
            sample = await monitor.sample()
        except StoreError as exc:
            self.post_message(self.SampleFailed(str(exc), timings))
            return
        except Exception as exc:  # shown as words, never a traceback (asyncpg texts hold no password)
            self.post_message(self.SampleFailed(f"{type(exc).__name__}: {exc}", timings))
            return
        self.post_message(self.Sampled(sample, timings, monitor, time.perf_counter() - started))

    @on(Sampled)
    def _sampled(self, message: Sampled) -> None:
        started = time.perf_counter()
        self.sampling = False
        self.samples_taken += 1
        self.problem = None
        self.timings = message.timings
        self.sample_seconds = message.seconds
        if message.monitor is not self.monitor:
            self.monitor = message.monitor
            self._show_backend()
        self.sample = message.sample
        with self.app.batch_update():
            self._show_timings()
            self._show_tab(self.tab)
        self.render_seconds = time.perf_counter() - started
        self._refresh_bindings_if_changed()
        self._arm()

    @on(SampleFailed)
    def _sample_failed(self, message: SampleFailed) -> None:
        self.sampling = False
        self.problem = message.text
        self.timings = message.timings
        self._show_timings()
        for status in ("#slow-status", "#tables-status", "#activity-status"):
            self._set(status, plain(f"Cannot sample: {message.text}", style="bold red"))
        self._arm()

    def _show_tab(self, tab: str, resort: bool = False) -> None:
        """Only the tab in view is brought up to date (the others when they are shown)."""
        if self.sample is None:
            return
        if tab == "slow":
            self._show_statements(resort)
        elif tab == "tables":
            self._show_tables()
        elif tab == "activity":
            self._show_activity()
        elif tab == "caps":
            self._show_capabilities()

    # -- what the backend decides ------------------------------------------------------------------
    def _show_backend(self) -> None:
        memory = self.on_memory
        tabs = self.query_one("#tabs", TabbedContent)
        self.query_one("#statements").display = not memory
        self.query_one("#slow-timings").display = memory
        self.query_one("#sparks").display = not memory
        self.query_one("#slow-preview").display = not memory
        self.query_one("#tables-body").display = not memory
        self.query_one("#activity-table").display = not memory
        self.query_one("#activity-detail").display = not memory
        for note in ("#tables-memory", "#activity-memory"):
            self.query_one(note).display = memory
        if memory:
            if tabs.active == "client":
                tabs.active = "slow"
            tabs.hide_tab("client")
            self._set("#caps-text", Text(
                "Memory backend: there is no server to ask. Slow queries shows the store layer's own timings "
                "per operation (calls, mean, p95, max, errors), measured in the console.", style="bold"))
        else:
            tabs.show_tab("client")
        self.refresh_bindings()

    # -- slow queries ----------------------------------------------------------------------------------
    def _show_statements(self, resort: bool = False) -> None:
        """``resort``: the sort, view, grouping or filter changed (not only the figures)."""
        sample = self.sample
        table = self.query_one("#statements", DataTable)
        if sample is None:
            return
        if sample.statements is None:
            sync_table(table, [], self.sort, self.descending)
            reason = sample.problems.get("statements", "not available")
            self._set("#slow-status", plain(f"No slow-query statistics: {reason} (see Capabilities)", style="yellow"))
            self._show_selected_statement()
            return
        if len(self._labels) > 4 * len(sample.statements) + 1000:
            self._labels.clear()
        self._shown = {}
        rows, matching = statement_rows(sample.statements, interval=self.interval_view, group=self.group,
                                        filter=self.filter, sort=self.sort, descending=self.descending,
                                        labels=self._labels, shown=self._shown)
        sync_table(table, rows, self.sort, self.descending, resort=resort)
        self._set("#slow-status", self._statements_status(sample, len(rows), matching))
        self._show_selected_statement()

    def _statements_status(self, sample: Sample, shown: int, matching: int) -> Text:
        text = Text()
        if self.paused:
            text.append("PAUSED ", style="bold reverse")
        if self.interval_view:
            seconds = f"{sample.interval_seconds:.1f} s" if sample.interval_seconds is not None else NA
            text.append(plain(f"last interval ({seconds})", "bold"))
            if sample.interval_seconds is None:
                text.append(" from the next sample", style="yellow")
        else:
            text.append("since reset", style="bold")
        arrow = "↓" if self.descending else "↑"
        text.append(plain(f" · {self.sort}{arrow} · {self.interval:g}s"))
        total = len(sample.statements or [])
        text.append(f" · {shown:,}/{matching:,}" + (f" of {total:,}" if matching != total else ""))
        if self.group:
            text.append(plain(f" · per {self.group}"))
        if self.filter:
            text.append(" · filtered", style="cyan")
        info = sample.info
        if info is not None:
            text.append(plain(f" · reset {when_text(info.stats_reset, NA)} · evicted {info.dealloc:,}"))
        else:
            text.append(plain(f" · reset {NA} · evicted {NA}", "dim"))
        text.append(f" · {sample.seconds * 1000:.0f} ms", style="dim")
        return text

    def _selected_statement(self) -> Statement | None:
        if self.sample is None or not self.sample.statements or self.group is not None:
            return None
        key = selected_key(self.query_one("#statements", DataTable))
        return self._shown.get(key) if key else None

    def _show_selected_statement(self) -> None:
        statement = self._selected_statement()
        if statement is None:
            self._set("#slow-preview", "")
        else:
            where = f"[{statement.database or NA} · {statement.role or NA}] "
            self._set("#slow-preview", plain(where + query_label(statement, self._labels)))
        monitor = self.monitor
        history = monitor.history_of(statement.key) if monitor is not None and statement is not None else []
        all_history = self.sample.history_all if self.sample is not None else []
        for selector, data in (("#spark-query", history), ("#spark-all", all_history)):
            spark = self.query_one(selector, Sparkline)
            if list(spark.data or []) != (data or [0.0]):
                spark.data = data or [0.0]
        last = all_history[-1] if all_history else None
        self._set("#spark-all-label", f"all {ms(last).text} ms" if last is not None else "all")
        mine = history[-1] if history else None
        self._set("#spark-query-label", f"query {ms(mine).text} ms" if mine is not None else "query")

    @on(DataTable.RowHighlighted, "#statements")
    def _statement_highlighted(self) -> None:
        self._show_selected_statement()

    @on(DataTable.RowSelected, "#statements")
    def _statement_selected(self) -> None:
        self.action_detail()

    @on(DataTable.HeaderSelected, "#statements")
    def _header_selected(self, event: DataTable.HeaderSelected) -> None:
        column = event.column_key.value
        if column not in SORTS:
            return
        if column == self.sort:
            self.descending = not self.descending
        else:
            self.sort, self.descending = column, True
        self._show_statements(resort=True)

    def action_toggle_view(self) -> None:
        self.interval_view = not self.interval_view
        self._show_statements(resort=True)

    def action_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self.descending = True
        self._show_statements(resort=True)

    def action_group(self) -> None:
        self.group = GROUPS[(GROUPS.index(self.group) + 1) % len(GROUPS)]
        self._show_statements(resort=True)

    def action_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.display = True
        field.focus()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.filter = StatementFilter.parse(event.value)
        if not self.filter:
            event.input.display = False
        self.query_one("#statements", DataTable).focus()
        self._show_statements(resort=True)

    def on_key(self, event: Any) -> None:
        """Escape in the filter clears it (instead of the console's Back)."""
        field = self.query_one("#filter", Input)
        if event.key == "escape" and field.has_focus:
            field.value = ""
            field.display = False
            self.filter = StatementFilter()
            self.query_one("#statements", DataTable).focus()
            self._show_statements(resort=True)
            event.stop()
            event.prevent_default()

    def action_detail(self) -> None:
        statement = self._selected_statement()
        if statement is None:
            return
        history = self.monitor.history_of(statement.key) if self.monitor is not None else []
        self.app.push_screen(QueryDetail(statement, history))

    def action_reset(self) -> None:
        caps = self.capabilities
        if not self._may_write() or caps is None or not caps.can_reset:
            return
        body = ("Every pg_stat_statements entry of the server starts again from zero (all databases, all "
                "roles). The per-interval view is not affected; figures since reset are.")
        self.app.push_screen(ConfirmModal("Reset the query statistics?", body, yes="Reset"),
                             lambda yes: self.run_reset() if yes else None)

    @work(exclusive=True, group="monitor-action", exit_on_error=False)
    async def run_reset(self) -> None:
        monitor = self.monitor
        if monitor is None:
            return
        try:
            await monitor.reset_statements()
        except StoreError as exc:
            self.post_message(self.ActionDone(str(exc), True))
            return
        self.post_message(self.ActionDone("pg_stat_statements was reset.", False))

    # -- client timings -----------------------------------------------------------------------------
    def _show_timings(self) -> None:
        rows = timing_rows(self.timings)
        for table_id in ("#timings", "#slow-timings"):
            sync_table(self.query_one(table_id, DataTable), rows, "mean", True)
        calls = sum(t.calls for t in self.timings)
        text = Text()
        if self.paused:
            text.append("PAUSED ", style="bold reverse")
        text.append(plain(f"store timings, client side · {len(rows)} operations · {calls:,} calls · "
                          f"mean↓ · {self.interval:g}s"))
        self._set("#client-status", text)
        if self.on_memory:
            self._set("#slow-status", text)

    # -- tables -----------------------------------------------------------------------------------------
    def _show_tables(self) -> None:
        sample = self.sample
        assert sample is not None
        status = Text()
        status.append(plain(f"cache hit {percent(sample.cache_hit_ratio).text}%", "bold"))
        reset = sample.database_stats_reset
        status.append(plain(f" · stats since {when_text(reset)}" if reset is not None else " · stats never reset"))
        if sample.tables is None:
            status.append(plain(f" · tables: {sample.problems.get('tables', NA)}", "yellow"))
        elif not sample.tables:
            status.append(" · no lokstra_auth tables in this database (not migrated?)", style="yellow")
        else:
            total = sum(t.total_bytes for t in sample.tables)
            status.append(plain(f" · lokstra_auth {len(sample.tables)} tables, {size_text(total)}"))
        self._set("#tables-status", status)
        sync_table(self.query_one("#tables-table", DataTable), table_rows(sample.tables or []), "total", True)
        sync_table(self.query_one("#indexes", DataTable), index_rows(sample.indexes or []), "table", False)
        self._set("#tables-hints", "\n".join(table_hints(sample.tables or [], sample.indexes or [])))

    # -- activity ----------------------------------------------------------------------------------------
    def _show_activity(self) -> None:
        sample = self.sample
        assert sample is not None
        table = self.query_one("#activity-table", DataTable)
        status = Text()
        sessions = sample.activity
        if sessions is None:
            status.append(plain(f"activity: {sample.problems.get('activity', NA)}", "yellow"))
            sync_table(table, [], "time", True)
        else:
            blocked = [s for s in sessions if s.blocked_by]
            active = [s for s in sessions if s.state == "active"]
            longest = max((s.query_seconds or 0 for s in active), default=None)
            status.append(plain(f"{len(sessions)} sessions · {len(active)} active", "bold"))
            if blocked:
                status.append(plain(f" · {len(blocked)} blocked", "bold red"))
            status.append(plain(f" · longest {seconds_text(longest) if longest is not None else NA}"))
            caps = self.capabilities
            if caps is not None and not caps.all_stats:
                status.append(" · other roles' queries hidden (Capabilities)", style="yellow")
            status.append(" · console sessions excluded · literals masked", style="dim")
            sync_table(table, activity_rows(sessions), "time", True)
        self._set("#activity-status", status)
        self._show_selected_session()

    def _selected_session(self) -> Session | None:
        if self.sample is None or not self.sample.activity or not self.is_mounted:
            return None
        key = selected_key(self.query_one("#activity-table", DataTable))
        return next((s for s in self.sample.activity if str(s.pid) == key), None) if key else None

    def _show_selected_session(self) -> None:
        session = self._selected_session()
        if session is None:
            self._set("#activity-detail", "")
            return
        if self.revealed_pid is not None and self.revealed_pid != session.pid:
            self.revealed_pid = None
        text = Text()
        text.append(plain(f"pid {session.pid} · {session.role or NA}@{session.database or NA} · "
                          f"{session.application or 'no application name'} · {session.client or 'local'}"))
        if session.blocked_by:
            blockers = {s.pid: s for s in self.sample.activity or []} if self.sample else {}
            parts = []
            for pid in session.blocked_by:
                blocker = blockers.get(pid)
                parts.append(f"{pid} ({blocker.state or NA}, {blocker.role or NA})" if blocker else str(pid))
            text.append(plain(" · blocked by " + ", ".join(parts), "bold red"))
        text.append("\n")
        query = session.query or ""
        if self.revealed_pid == session.pid:
            text.append("REVEALED ", style="bold reverse red")
            text.append(plain(one_line(query)))
        else:
            text.append(plain(one_line(mask_literals(query))))
        self._set("#activity-detail", text)

    @on(DataTable.RowHighlighted, "#activity-table")
    def _session_highlighted(self) -> None:
        self._show_selected_session()
        self.refresh_bindings()

    def action_reveal(self) -> None:
        session = self._selected_session()
        if session is None:
            return
        if self.revealed_pid == session.pid:
            self.revealed_pid = None
            self._show_selected_session()
            return
        self.audit_reveal(self.app, "session", f"pid {session.pid}", f"the literals of backend {session.pid}'s query",
                          session.pid)

    audit_reveal = work(exclusive=True, group="reveal", exit_on_error=False)(audited_reveal)

    @on(RevealAudited)
    def _reveal_audited(self, message: RevealAudited) -> None:
        if message.problem is not None:
            self.notify(message.problem, title="Literals stay masked", severity="warning")
            return
        self.revealed_pid = message.subject  # type: ignore[assignment]
        self._show_selected_session()

    def action_cancel_query(self) -> None:
        self._signal("cancel")

    def action_terminate(self) -> None:
        self._signal("terminate")

    def _signal(self, how: str) -> None:
        session = self._selected_session()
        if not self._may_write() or session is None:
            return
        question = (f"Cancel the query of backend {session.pid}?" if how == "cancel"
                    else f"Terminate backend {session.pid}? Its session ends and an open transaction rolls back.")
        body = plain(f"{session.role or NA}@{session.database or NA} · {session.state or NA}\n"
                     f"{one_line(mask_literals(session.query or ''))[:300]}")
        self.app.push_screen(ConfirmModal(question, body, yes="Cancel query" if how == "cancel" else "Terminate",
                                          no="No"),
                             lambda yes: self.run_signal(how, session.pid) if yes else None)

    @work(exclusive=True, group="monitor-action", exit_on_error=False)
    async def run_signal(self, how: str, pid: int) -> None:
        monitor = self.monitor
        if monitor is None:
            return
        try:
            done = await (monitor.cancel(pid) if how == "cancel" else monitor.terminate(pid))
        except StoreError as exc:
            self.post_message(self.ActionDone(str(exc), True))
            return
        verb = "Cancelled the query of" if how == "cancel" else "Terminated"
        text = f"{verb} backend {pid}." if done else f"Backend {pid} was not signalled (it has ended?)."
        self.post_message(self.ActionDone(text, not done))

    @on(ActionDone)
    def _action_done(self, message: ActionDone) -> None:
        self.notify(message.text, severity="error" if message.problem else "information",
                    title="Monitor" if not message.problem else "Refused")
        self.sample_now()

    # -- capabilities ---------------------------------------------------------------------------------
    def _show_capabilities(self) -> None:
        caps = self.capabilities
        if caps is None or self.on_memory:
            return
        text = capabilities_text(caps)
        if self.sample is not None and self.sample.problems:
            text.append("\nThis sample:\n", style="bold")
            for line in sample_problems(self.sample):
                text.append(plain(f"  {line}\n", "yellow"))
        self._set("#caps-text", text)

    # -- timer controls -------------------------------------------------------------------------------
    def action_pause(self) -> None:
        self.paused = not self.paused
        if self.paused:
            self._stop_timer()
            self.notify("Sampling paused (p resumes).", timeout=3)
        else:
            self.sample_now()
        self._refresh_status()

    def action_refresh(self) -> None:
        self.sample_now()

    def action_faster(self) -> None:
        self._set_interval(max((i for i in INTERVALS if i < self.interval), default=INTERVALS[0]))

    def action_slower(self) -> None:
        self._set_interval(min((i for i in INTERVALS if i > self.interval), default=INTERVALS[-1]))

    def _set_interval(self, seconds: float) -> None:
        self.interval = float(seconds)
        if self._timer is not None:
            self._arm()
        self._refresh_status()

    def _refresh_status(self) -> None:
        self._show_timings()
        if self.sample is not None and not self.on_memory and self.tab == "slow":
            self._show_statements()

    def action_next_tab(self) -> None:
        self._move_tab(1)

    def action_previous_tab(self) -> None:
        self._move_tab(-1)

    def _move_tab(self, step: int) -> None:
        tabs = self.query_one("#tabs", TabbedContent)
        visible = [tab for tab in TABS if not (tab == "client" and self.on_memory)]
        current = visible.index(tabs.active) if tabs.active in visible else 0
        tabs.active = visible[(current + step) % len(visible)]

    @on(TabbedContent.TabActivated)
    def _tab_activated(self) -> None:
        if self.console.stores is not None and not self.on_memory:
            self._show_tab(self.tab, resort=True)
        self.refresh_bindings()
