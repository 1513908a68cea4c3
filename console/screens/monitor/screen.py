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

The tabs are widgets (monitor/tabs.py) handed the sample; taking one is monitor/sampling.py;
the rows, the sort and the filter are headless (monitor/statements.py, monitor/rows.py).
Why this module is over 450 lines: the sampling loop's timer, the sort / filter / group
actions and the audited actions (reveal, reset, cancel, terminate) with their questions all
act on the screen's state; moving the actions out is left for later (issue 12).
"""
from __future__ import annotations

import time
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.timer import Timer
from textual.widgets import DataTable, Input, TabbedContent

from console.actions import ActionSpec, bindings
from console.screens.base import ConsoleScreen
from console.screens.confirm import ConfirmModal
from console.screens.monitor.cells import NA, one_line
from console.screens.monitor.detail import QueryDetail
from console.screens.monitor.reveal import RevealAudited, audited_reveal
from console.screens.monitor.messages import ActionDone, Sampled, SampleFailed
from console.screens.monitor.rows import timing_rows
from console.screens.monitor.sampling import take
from console.screens.monitor.statements import (
    GROUPS,
    SORTS,
    StatementFilter,
    StatementView,
)
from console.screens.monitor.tabs import (
    ActivityTab,
    CapsTab,
    ClientTab,
    SlowTab,
    TablesTab,
)
from console.text import plain
from stores.errors import StoreError
from stores.monitor import (
    Capabilities,
    PostgresMonitor,
    Sample,
    Session,
    Statement,
    active_engine,
    mask_literals,
)
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
    ACTION_SPECS = MONITOR_ACTIONS
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

    def __init__(self) -> None:
        super().__init__()
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
        self._bindings_state: tuple[Any, ...] | None = None

    # -- layout ----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield self.compose_header()
        with TabbedContent(id="tabs"):
            yield SlowTab()
            yield ClientTab()
            yield TablesTab()
            yield ActivityTab()
            yield CapsTab()
        yield self.compose_footer()

    @property
    def view(self) -> StatementView:
        return StatementView(self.interval_view, self.sort, self.descending, self.group, self.filter, self.paused,
                             self.interval)

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

    # -- bindings: read-only is ConsoleScreen.check_action; what the tab offers is here -------------
    def allows(self, action: str, parameters: tuple[object, ...]) -> bool | None:
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

    # -- the sampling loop -----------------------------------------------------------------------
    def on_screen_resume(self) -> None:
        self.active = True
        self.refresh_bindings()
        self.refresh_header()
        if self.console.stores is not None:
            self.stores_ready()

    def on_screen_suspend(self) -> None:
        self.active = False
        self._stop_timer()

    def stores_ready(self) -> None:
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
        taken = await take(self.console.stores, self.monitor)
        if taken.problem is not None:
            self.post_message(SampleFailed(taken.problem, taken.timings))
        else:
            self.post_message(Sampled(taken.sample, taken.timings, taken.monitor, taken.seconds))

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
        for tab in (self.query_one(SlowTab), self.query_one(TablesTab), self.query_one(ActivityTab)):
            tab.failed(message.text)
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
        for tab in (self.query_one(SlowTab), self.query_one(TablesTab), self.query_one(ActivityTab),
                    self.query_one(CapsTab)):
            tab.show_backend(memory)
        if memory:
            if tabs.active == "client":
                tabs.active = "slow"
            tabs.hide_tab("client")
        else:
            tabs.show_tab("client")
        self.refresh_bindings()

    # -- slow queries ----------------------------------------------------------------------------------
    def _show_statements(self, resort: bool = False) -> None:
        """``resort``: the sort, view, grouping or filter changed (not only the figures)."""
        if self.sample is not None:
            self.query_one(SlowTab).show(self.sample, self.view, self.monitor, resort=resort)

    def _selected_statement(self) -> Statement | None:
        return self.query_one(SlowTab).selected(self.sample, self.view)

    def _show_selected_statement(self) -> None:
        self.query_one(SlowTab).show_selected(self.sample, self.view, self.monitor)

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
        if not self.may("reset") or caps is None or not caps.can_reset:
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
            self.post_message(ActionDone(str(exc), True))
            return
        self.post_message(ActionDone("pg_stat_statements was reset.", False))

    # -- client timings -----------------------------------------------------------------------------
    def _show_timings(self) -> None:
        rows = timing_rows(self.timings)
        calls = sum(t.calls for t in self.timings)
        text = Text()
        if self.paused:
            text.append("PAUSED ", style="bold reverse")
        text.append(plain(f"store timings, client side · {len(rows)} operations · {calls:,} calls · "
                          f"mean↓ · {self.interval:g}s"))
        self.query_one(ClientTab).show(rows, text)
        self.query_one(SlowTab).show_timings(rows, text if self.on_memory else None)

    def _show_tables(self) -> None:
        assert self.sample is not None
        self.query_one(TablesTab).show(self.sample)

    # -- activity ----------------------------------------------------------------------------------------
    def _show_activity(self) -> None:
        assert self.sample is not None
        self.query_one(ActivityTab).show(self.sample, self.capabilities)
        self._show_selected_session()

    def _selected_session(self) -> Session | None:
        return self.query_one(ActivityTab).selected(self.sample) if self.is_mounted else None

    def _show_selected_session(self) -> None:
        session = self._selected_session()
        if session is not None and self.revealed_pid is not None and self.revealed_pid != session.pid:
            self.revealed_pid = None
        self.query_one(ActivityTab).show_selected(self.sample, self.revealed_pid)

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
        if not self.may(how if how == "terminate" else "cancel_query") or session is None:
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
            self.post_message(ActionDone(str(exc), True))
            return
        verb = "Cancelled the query of" if how == "cancel" else "Terminated"
        text = f"{verb} backend {pid}." if done else f"Backend {pid} was not signalled (it has ended?)."
        self.post_message(ActionDone(text, not done))

    @on(ActionDone)
    def _action_done(self, message: ActionDone) -> None:
        self.notify(message.text, severity="error" if message.problem else "information",
                    title="Monitor" if not message.problem else "Refused")
        self.sample_now()

    # -- capabilities ---------------------------------------------------------------------------------
    def _show_capabilities(self) -> None:
        caps = self.capabilities
        if caps is not None and not self.on_memory:
            self.query_one(CapsTab).show(caps, self.sample)

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
