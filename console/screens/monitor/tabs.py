"""The Monitor screen's tabs, one widget each, handed what they show (``show(sample, …)``).

Each tab is the TabPane itself (not a widget inside one), so the layout is what it was. A
tab updates a Static only when its content changed: an update re-renders it, and a sample
every second would otherwise redraw the whole screen."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Input, Sparkline, Static, TabPane

from console.screens.monitor.cells import (
    NA,
    Cell,
    ms,
    one_line,
    percent,
    seconds_text,
    size_text,
    when_text,
)
from console.screens.monitor.rows import (
    ACTIVITY_COLUMNS,
    INDEX_COLUMNS,
    TABLE_COLUMNS,
    TIMING_COLUMNS,
    activity_rows,
    capabilities_text,
    index_rows,
    sample_problems,
    table_hints,
    table_rows,
)
from console.screens.monitor.statements import (
    STATEMENT_COLUMNS,
    StatementView,
    query_label,
    statement_rows,
    statements_status,
)
from console.screens.monitor.sync import keyed_table, selected_key, sync_table
from console.text import plain
from stores.monitor import (
    Capabilities,
    PostgresMonitor,
    Sample,
    Session,
    Statement,
    mask_literals,
)

ON_MEMORY = "PostgreSQL only: the console runs on the memory backend (its store timings are on Slow queries)."
Rows = Sequence[tuple[str, Sequence[Cell]]]


class MonitorTab(TabPane):
    """A tab whose Statics change only when their content does."""

    def __init__(self, title: str, *, id: str) -> None:
        super().__init__(title, id=id)
        self._shown_text: dict[str, Text | str] = {}

    def set_text(self, selector: str, content: Text | str) -> None:
        if self._shown_text.get(selector) != content:
            self._shown_text[selector] = content
            self.query_one(selector, Static).update(content)

    def failed(self, text: str) -> None:
        """The sample failed: the status line says why."""
        self.set_text(f"#{self.id}-status", plain(f"Cannot sample: {text}", style="bold red"))

    def show_backend(self, memory: bool) -> None:
        """What the backend decides: which parts are shown on memory."""


class SlowTab(MonitorTab):
    """pg_stat_statements (or the store timings on memory), the selected query and its sparklines."""

    def __init__(self) -> None:
        super().__init__("Slow queries", id="slow")
        self.labels: dict[Any, str] = {}
        """Masked one-line texts by statement key (masking is done once per text)."""
        self.shown: dict[str, Statement] = {}
        """The statements of the rows shown, by row id."""

    def compose(self) -> ComposeResult:
        yield Static("Sampling …", id="slow-status", classes="status")
        yield Input(placeholder="filter: words of the query, db:NAME, role:NAME (Enter applies, Esc clears)",
                    id="filter")
        yield keyed_table("statements", STATEMENT_COLUMNS)
        yield keyed_table("slow-timings", TIMING_COLUMNS)
        yield Static("", id="slow-preview")
        with Horizontal(id="sparks"):
            yield Static("query", id="spark-query-label")
            yield Sparkline([0.0], id="spark-query")
            yield Static("all", id="spark-all-label")
            yield Sparkline([0.0], id="spark-all")

    def show_backend(self, memory: bool) -> None:
        for selector in ("#statements", "#sparks", "#slow-preview"):
            self.query_one(selector).display = not memory
        self.query_one("#slow-timings").display = memory

    def show_timings(self, rows: Rows, status: Text | None) -> None:
        """The store timings (the slow queries on memory: then ``status`` is their status line)."""
        sync_table(self.query_one("#slow-timings", DataTable), rows, "mean", True)
        if status is not None:
            self.set_text("#slow-status", status)

    def show(self, sample: Sample, view: StatementView, monitor: PostgresMonitor | None, *,
             resort: bool = False) -> None:
        """``resort``: the sort, view, grouping or filter changed (not only the figures)."""
        table = self.query_one("#statements", DataTable)
        if sample.statements is None:
            sync_table(table, [], view.sort, view.descending)
            reason = sample.problems.get("statements", "not available")
            self.set_text("#slow-status", plain(f"No slow-query statistics: {reason} (see Capabilities)",
                                                style="yellow"))
            self.show_selected(sample, view, monitor)
            return
        if len(self.labels) > 4 * len(sample.statements) + 1000:
            self.labels.clear()
        self.shown = {}
        rows, matching = statement_rows(sample.statements, interval=view.interval_view, group=view.group,
                                        filter=view.filter, sort=view.sort, descending=view.descending,
                                        labels=self.labels, shown=self.shown)
        sync_table(table, rows, view.sort, view.descending, resort=resort)
        self.set_text("#slow-status", statements_status(sample, view, len(rows), matching))
        self.show_selected(sample, view, monitor)

    def selected(self, sample: Sample | None, view: StatementView) -> Statement | None:
        if sample is None or not sample.statements or view.group is not None:
            return None
        key = selected_key(self.query_one("#statements", DataTable))
        return self.shown.get(key) if key else None

    def show_selected(self, sample: Sample | None, view: StatementView, monitor: PostgresMonitor | None) -> None:
        statement = self.selected(sample, view)
        if statement is None:
            self.set_text("#slow-preview", "")
        else:
            where = f"[{statement.database or NA} · {statement.role or NA}] "
            self.set_text("#slow-preview", plain(where + query_label(statement, self.labels)))
        history = monitor.history_of(statement.key) if monitor is not None and statement is not None else []
        all_history = sample.history_all if sample is not None else []
        for selector, data in (("#spark-query", history), ("#spark-all", all_history)):
            spark = self.query_one(selector, Sparkline)
            if list(spark.data or []) != (data or [0.0]):
                spark.data = data or [0.0]
        last = all_history[-1] if all_history else None
        self.set_text("#spark-all-label", f"all {ms(last).text} ms" if last is not None else "all")
        mine = history[-1] if history else None
        self.set_text("#spark-query-label", f"query {ms(mine).text} ms" if mine is not None else "query")


class ClientTab(MonitorTab):
    """What the console waited for, per store operation (client side)."""

    def __init__(self) -> None:
        super().__init__("Client timings", id="client")

    def compose(self) -> ComposeResult:
        yield Static("What the console waited for, per store operation (client side)",
                     id="client-status", classes="status")
        yield keyed_table("timings", TIMING_COLUMNS)

    def show(self, rows: Rows, status: Text) -> None:
        sync_table(self.query_one("#timings", DataTable), rows, "mean", True)
        self.set_text("#client-status", status)


class TablesTab(MonitorTab):
    """Sizes, rows, scans, vacuum / analyze of the lokstra_auth tables, their indexes, hints."""

    def __init__(self) -> None:
        super().__init__("Tables", id="tables")

    def compose(self) -> ComposeResult:
        yield Static("Sampling …", id="tables-status", classes="status")
        yield Static(ON_MEMORY, id="tables-memory", classes="memory-note")
        with Vertical(id="tables-body"):
            yield keyed_table("tables-table", TABLE_COLUMNS)
            yield keyed_table("indexes", INDEX_COLUMNS)
            yield Static("", id="tables-hints")

    def show_backend(self, memory: bool) -> None:
        self.query_one("#tables-body").display = not memory
        self.query_one("#tables-memory").display = memory

    def show(self, sample: Sample) -> None:
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
        self.set_text("#tables-status", status)
        sync_table(self.query_one("#tables-table", DataTable), table_rows(sample.tables or []), "total", True)
        sync_table(self.query_one("#indexes", DataTable), index_rows(sample.indexes or []), "table", False)
        self.set_text("#tables-hints", "\n".join(table_hints(sample.tables or [], sample.indexes or [])))


class ActivityTab(MonitorTab):
    """Sessions other than the console's own, the selected one's detail (its query masked unless revealed)."""

    def __init__(self) -> None:
        super().__init__("Activity", id="activity")

    def compose(self) -> ComposeResult:
        yield Static("Sampling …", id="activity-status", classes="status")
        yield Static(ON_MEMORY, id="activity-memory", classes="memory-note")
        yield keyed_table("activity-table", ACTIVITY_COLUMNS)
        yield Static("", id="activity-detail")

    def show_backend(self, memory: bool) -> None:
        self.query_one("#activity-table").display = not memory
        self.query_one("#activity-detail").display = not memory
        self.query_one("#activity-memory").display = memory

    def show(self, sample: Sample, caps: Capabilities | None) -> None:
        """The sessions and the status line (the screen then shows the selected one: it owns the reveal)."""
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
            if caps is not None and not caps.all_stats:
                status.append(" · other roles' queries hidden (Capabilities)", style="yellow")
            status.append(" · console sessions excluded · literals masked", style="dim")
            sync_table(table, activity_rows(sessions), "time", True)
        self.set_text("#activity-status", status)

    def selected(self, sample: Sample | None) -> Session | None:
        if sample is None or not sample.activity or not self.is_mounted:
            return None
        key = selected_key(self.query_one("#activity-table", DataTable))
        return next((s for s in sample.activity if str(s.pid) == key), None) if key else None

    def show_selected(self, sample: Sample | None, revealed_pid: int | None) -> None:
        """The selected session; its query in full only when ``revealed_pid`` is its pid."""
        session = self.selected(sample)
        if session is None:
            self.set_text("#activity-detail", "")
            return
        text = Text()
        text.append(plain(f"pid {session.pid} · {session.role or NA}@{session.database or NA} · "
                          f"{session.application or 'no application name'} · {session.client or 'local'}"))
        if session.blocked_by:
            blockers = {s.pid: s for s in sample.activity or []} if sample else {}
            parts = []
            for pid in session.blocked_by:
                blocker = blockers.get(pid)
                parts.append(f"{pid} ({blocker.state or NA}, {blocker.role or NA})" if blocker else str(pid))
            text.append(plain(" · blocked by " + ", ".join(parts), "bold red"))
        text.append("\n")
        query = session.query or ""
        if revealed_pid == session.pid:
            text.append("REVEALED ", style="bold reverse red")
            text.append(plain(one_line(query)))
        else:
            text.append(plain(one_line(mask_literals(query))))
        self.set_text("#activity-detail", text)


class CapsTab(MonitorTab):
    """What this role may see and the exact fix for each gap."""

    def __init__(self) -> None:
        super().__init__("Capabilities", id="caps")

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="caps-scroll"):
            yield Static("Probing …", id="caps-text")

    def show_backend(self, memory: bool) -> None:
        if memory:
            self.set_text("#caps-text", Text(
                "Memory backend: there is no server to ask. Slow queries shows the store layer's own timings "
                "per operation (calls, mean, p95, max, errors), measured in the console.", style="bold"))

    def show(self, caps: Capabilities, sample: Sample | None) -> None:
        text = capabilities_text(caps)
        if sample is not None and sample.problems:
            text.append("\nThis sample:\n", style="bold")
            for line in sample_problems(sample):
                text.append(plain(f"  {line}\n", "yellow"))
        self.set_text("#caps-text", text)
