"""What the Monitor screen's tables show, as cells: formatting (missing data is "n/a",
never 0), the rows of each table, and updating a DataTable cell by cell, keyed by row id,
keeping the cursor on the same row and the sort."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from console.text import plain
from stores.monitor import Capabilities, IndexStats, Sample, Session, Statement, TableStats, mask_literals
from stores.monitor.models import Figures
from stores.timing import OperationStats

NA = "n/a"
MAX_STATEMENT_ROWS = 100
"""Rows of the slow-query table (the top ones by the chosen sort); the status line says of how many."""


# ----- cells ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cell:
    """A table cell: its text, the value it sorts by (None sorts last either way), a style."""

    text: str
    sort: float | str | None = None
    style: str = ""
    right: bool = False

    def __rich__(self) -> Text:
        return plain(self.text, style=self.style, justify="right" if self.right else "left",
                     no_wrap=True, overflow="ellipsis")

    def key(self, descending: bool) -> tuple[int, Any]:
        if self.sort is None:
            return (0 if descending else 1, 0)
        return (1 if descending else 0, self.sort)


def compact(value: float | int) -> str:
    """6 characters at most: 9,999 / 12.3k / 123k / 1.23M / 12.3G."""
    if abs(value) < 10_000:
        return f"{value:,}" if isinstance(value, int) else f"{value:,.0f}"
    for unit, size in (("k", 1e3), ("M", 1e6), ("G", 1e9)):
        scaled = value / size
        if abs(scaled) < 1000:
            return f"{scaled:.3g}{unit}" if abs(scaled) < 100 else f"{scaled:.0f}{unit}"
    return f"{value / 1e12:.0f}T"


def number(value: float | int | None, text: str | None = None, style: str = "") -> Cell:
    if value is None:
        return Cell(NA, None, "dim", True)
    return Cell(text if text is not None else compact(value), value, style, True)


def ms(value: float | None) -> Cell:
    if value is None:
        return Cell(NA, None, "dim", True)
    if value >= 100_000:
        return Cell(f"{compact(value / 1000)}s", value, "", True)
    return Cell(f"{value:,.1f}" if value >= 10 else f"{value:.2f}", value, "", True)


def percent(value: float | None) -> Cell:
    if value is None:
        return Cell(NA, None, "dim", True)
    return Cell("100" if value >= 0.9995 else f"{value * 100:.1f}", value, "", True)


def size_text(n: int | None) -> str:
    if n is None:
        return NA
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"


def size(n: int | None) -> Cell:
    return Cell(size_text(n), n, "" if n is not None else "dim", True)


def seconds_text(value: float | None) -> str:
    if value is None:
        return NA
    if value < 60:
        return f"{value:.1f}s"
    if value < 3600:
        return f"{value / 60:.0f}m{value % 60:02.0f}s"
    return f"{value / 3600:.0f}h{value % 3600 / 60:02.0f}m"


def when_text(value: datetime | None, never: str = "never") -> str:
    if value is None:
        return never
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%m-%d %H:%M")


def one_line(text: str | None) -> str:
    return " ".join((text or "").split())


# ----- updating a DataTable ------------------------------------------------------------------

def selected_key(table: DataTable) -> str | None:
    if not table.row_count:
        return None
    try:
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
    except Exception:  # the cursor is outside the rows
        return None


def sync_table(table: DataTable, rows: Sequence[tuple[str, Sequence[Cell]]], sort_column: str,
               descending: bool = True, *, resort: bool = False) -> bool:
    """Make ``table`` show ``rows`` (id, cells in column order): changed cells are updated in
    place, new rows added, gone rows removed, the rows sorted by ``sort_column`` again only
    when something changed (or ``resort``: the sort itself changed), and the cursor put back
    on the row it was on.
    Returns whether anything changed."""
    keep = selected_key(table)
    columns = list(table.columns.keys())
    current: dict[str, RowKey] = {key.value: key for key in table.rows if key.value is not None}
    wanted = {row_id for row_id, _ in rows}
    changed = False
    for row_id in [row_id for row_id in current if row_id not in wanted]:
        table.remove_row(current.pop(row_id))
        changed = True
    for row_id, cells in rows:
        if row_id in current:
            for column, before, after in zip(columns, table.get_row(row_id), cells):
                if before != after:
                    table.update_cell(row_id, column, after)
                    changed = True
        else:
            table.add_row(*cells, key=row_id)
            changed = True
    if changed or resort:
        table.sort(sort_column, key=lambda cell: cell.key(descending), reverse=descending)
    if keep is not None and keep in wanted:
        index = table.get_row_index(keep)
        if index != table.cursor_row:
            table.move_cursor(row=index, animate=False)
    elif table.row_count and table.cursor_row >= table.row_count:
        table.move_cursor(row=table.row_count - 1, animate=False)
    return changed


# ----- slow queries ----------------------------------------------------------------------------

STATEMENT_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("calls", "calls", 6), ("total", "total ms", 8), ("mean", "mean ms", 7), ("stddev", "± ms", 6),
    ("rows", "rows", 6), ("hit", "hit%", 4), ("share", "%time", 5), ("query", "query", 70),
    ("database", "database", 14), ("role", "role", 14),
)
"""Narrow figures first so that the query starts inside 80 columns; the line under the table
shows the selected query in full, the detail (d) everything."""
SORTS: tuple[str, ...] = ("total", "mean", "calls", "rows", "stddev", "hit", "share")
GROUPS: tuple[str | None, ...] = (None, "database", "role")


@dataclass(frozen=True)
class StatementFilter:
    """``/`` text: words match the query text; ``db:name`` and ``role:name`` the database and role."""

    words: tuple[str, ...] = ()
    database: str | None = None
    role: str | None = None

    @classmethod
    def parse(cls, text: str) -> StatementFilter:
        words: list[str] = []
        database = role = None
        for word in text.split():
            lower = word.lower()
            if lower.startswith(("db:", "database:")):
                database = word.split(":", 1)[1]
            elif lower.startswith("role:"):
                role = word.split(":", 1)[1]
            else:
                words.append(lower)
        return cls(tuple(words), database, role)

    def __bool__(self) -> bool:
        return bool(self.words or self.database or self.role)

    def matches(self, s: Statement, labels: dict[Any, str] | None = None) -> bool:
        """Words match the text as shown, literals masked: a filter must not become a way to
        test for a secret the screen hides (utility statements keep their literals)."""
        if self.database is not None and s.database != self.database:
            return False
        if self.role is not None and s.role != self.role:
            return False
        text = query_label(s, labels).lower()
        return all(word in text for word in self.words)


def query_label(s: Statement, labels: dict[Any, str] | None = None) -> str:
    """The statement's text on one line with its literals masked (cached in ``labels`` by key:
    masking thousands of texts every sample would cost more than the sample)."""
    if labels is not None and (found := labels.get(s.key)) is not None:
        return found
    if s.query is None:
        label = "<insufficient privilege>" if s.key[2] is None else "<text not available>"
    else:
        label = one_line(mask_literals(s.query))
    if labels is not None:
        labels[s.key] = label
    return label


def figures_of(s: Statement, interval: bool) -> Figures | None:
    return s.interval if interval else s.totals


def sort_value(s: Statement, sort: str, interval: bool) -> float | None:
    """What ``sort`` orders by; the same value the cell of that column carries."""
    figures = figures_of(s, interval)
    if figures is None:
        return None
    if sort == "total":
        return figures.total_ms
    if sort == "mean":
        return figures.mean_ms
    if sort == "calls":
        return figures.calls
    if sort == "rows":
        return figures.rows
    if sort == "hit":
        return figures.hit_ratio
    if sort == "stddev":
        return None if interval else s.stddev_ms
    return s.interval_share if interval else s.share


def statement_cells(figures: Figures, stddev: float | None, share: float | None, label: str,
                    database: str | None, role: str | None) -> list[Cell]:
    return [number(figures.calls), ms(figures.total_ms), ms(figures.mean_ms), ms(stddev), number(figures.rows),
            percent(figures.hit_ratio), percent(share), Cell(label, label.lower()),
            Cell(database or NA, database or ""), Cell(role or NA, role or "")]


def statement_rows(statements: Iterable[Statement], *, interval: bool, group: str | None,
                   filter: StatementFilter, sort: str, descending: bool = True, limit: int = MAX_STATEMENT_ROWS,
                   labels: dict[Any, str] | None = None,
                   shown: dict[str, Statement] | None = None) -> tuple[list[tuple[str, list[Cell]]], int]:
    """The rows to show (the first ``limit`` in the sort) and how many matched. Cells are
    built only for the rows shown; ``shown`` (if given) receives their statements by row id."""
    chosen = [s for s in statements if filter.matches(s, labels)] if filter else list(statements)
    if interval:
        chosen = [s for s in chosen if s.interval is not None and s.interval.calls > 0]
    if group is not None:
        rows = _grouped(chosen, interval, group)
        column = [name for name, _, _ in STATEMENT_COLUMNS].index(sort)
        rows.sort(key=lambda row: row[1][column].key(descending), reverse=descending)
        return rows[:limit], len(rows)
    missing = (0 if descending else 1, 0)
    chosen.sort(key=lambda s: missing if (v := sort_value(s, sort, interval)) is None
                else (1 if descending else 0, v), reverse=descending)
    rows = []
    for s in chosen[:limit]:
        figures = figures_of(s, interval)
        assert figures is not None
        if shown is not None:
            shown[s.id] = s
        rows.append((s.id, statement_cells(figures, None if interval else s.stddev_ms,
                                           s.interval_share if interval else s.share, query_label(s, labels),
                                           s.database, s.role)))
    return rows, len(chosen)


def _grouped(statements: list[Statement], interval: bool, group: str) -> list[tuple[str, list[Cell]]]:
    sums: dict[str, tuple[Figures, int]] = {}
    for s in statements:
        figures = figures_of(s, interval)
        assert figures is not None
        name = (s.database if group == "database" else s.role) or NA
        before, count = sums.get(name, (Figures(0, 0.0, 0, 0, 0), 0))
        sums[name] = (Figures(before.calls + figures.calls, before.total_ms + figures.total_ms,
                              before.rows + figures.rows, before.blks_hit + figures.blks_hit,
                              before.blks_read + figures.blks_read), count + 1)
    everything = sum(f.total_ms for f, _ in sums.values())
    return [(f"{group}:{name}", statement_cells(figures, None, figures.total_ms / everything if everything else None,
                                                f"{group} {name} ({count} statements)",
                                                name if group == "database" else None,
                                                name if group == "role" else None))
            for name, (figures, count) in sums.items()]


# ----- client timings ------------------------------------------------------------------------

TIMING_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("operation", "store operation", 22), ("calls", "calls", 7), ("mean", "mean ms", 7), ("p95", "p95 ms", 7),
    ("max", "max ms", 7), ("errors", "errors", 6), ("total", "total ms", 9),
)


def timing_rows(stats: Iterable[OperationStats]) -> list[tuple[str, list[Cell]]]:
    return [(t.name, [Cell(t.name, t.name), number(t.calls), ms(t.mean_ms), ms(t.p95_ms), ms(t.max_ms),
                      number(t.errors, style="red" if t.errors else ""), ms(t.total_ms)])
            for t in stats]


# ----- tables and indexes ----------------------------------------------------------------------

TABLE_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("table", "table", 9), ("total", "total", 8), ("heap", "heap", 8), ("index", "index", 8), ("toast", "toast", 7),
    ("live", "live", 6), ("dead", "dead", 6), ("seq", "seq scan", 8), ("idx", "idx scan", 8),
    ("vacuum", "vacuum", 11), ("analyze", "analyze", 11), ("hit", "hit%", 4),
)
INDEX_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("index", "index", 32), ("table", "table", 9), ("size", "size", 9), ("scans", "scans", 7), ("note", "note", 11),
)


def table_rows(tables: Iterable[TableStats]) -> list[tuple[str, list[Cell]]]:
    return [(t.name, [Cell(t.name, t.name, "yellow" if t.mostly_sequential else ""), size(t.total_bytes),
                      size(t.heap_bytes), size(t.index_bytes), size(t.toast_bytes), number(t.live_rows),
                      number(t.dead_rows), number(t.seq_scan, style="yellow" if t.mostly_sequential else ""),
                      number(t.idx_scan), Cell(when_text(t.last_vacuum), str(t.last_vacuum or "")),
                      Cell(when_text(t.last_analyze), str(t.last_analyze or "")), percent(t.heap_hit_ratio)])
            for t in tables]


def index_rows(indexes: Iterable[IndexStats]) -> list[tuple[str, list[Cell]]]:
    rows = []
    for i in indexes:
        note = "UNUSED" if i.unused else "primary key" if i.primary else "unique" if i.unique else ""
        rows.append((i.name, [Cell(i.name, i.name, "yellow" if i.unused else ""), Cell(i.table, i.table), size(i.bytes),
                              number(i.idx_scan), Cell(note, note, "bold yellow" if i.unused else "dim")]))
    return rows


def table_hints(tables: Iterable[TableStats], indexes: Iterable[IndexStats]) -> list[str]:
    hints = [f"{t.name}: read mostly by sequential scans ({t.seq_scan:,} seq vs {t.idx_scan or 0:,} index) "
             f"with {t.live_rows:,} rows: a missing index? EXPLAIN ANALYZE its slow queries"
             for t in tables if t.mostly_sequential]
    unused = [i for i in indexes if i.unused]
    if unused:
        hints.append(f"{len(unused)} index(es) never scanned since the statistics reset: "
                     + ", ".join(f"{i.name} ({size_text(i.bytes)})" for i in unused))
    return hints


# ----- activity ---------------------------------------------------------------------------------

ACTIVITY_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("pid", "pid", 7), ("state", "state", 8), ("wait", "wait", 14), ("time", "time", 7), ("blocked", "blocked by", 10),
    ("query", "query", 60), ("role", "role", 12), ("database", "database", 14), ("app", "application", 16),
)
STATE_SHORT = {"idle in transaction": "idle tx", "idle in transaction (aborted)": "idle tx!",
               "fastpath function call": "fastpath"}
LONG_RUNNING_SECONDS = 5.0


def session_style(s: Session) -> str:
    if s.blocked_by:
        return "bold red"
    if s.state == "active" and (s.query_seconds or 0) >= LONG_RUNNING_SECONDS:
        return "yellow"
    if s.state and s.state.startswith("idle in transaction") and (s.xact_seconds or 0) >= LONG_RUNNING_SECONDS:
        return "yellow"
    return ""


def activity_rows(sessions: Iterable[Session]) -> list[tuple[str, list[Cell]]]:
    rows = []
    for s in sessions:
        style = session_style(s)
        duration = s.query_seconds if s.state == "active" else s.xact_seconds
        blocked = ",".join(str(pid) for pid in s.blocked_by)
        query = one_line(mask_literals(s.query)) if s.query else ""
        rows.append((str(s.pid), [Cell(str(s.pid), s.pid, style, True), Cell(STATE_SHORT.get(s.state or "", s.state or NA), s.state or "", style),
                                  Cell(s.wait or "", s.wait or ""), Cell(seconds_text(duration) if duration is not None else "", duration, style, True),
                                  Cell(blocked, blocked, "bold red" if blocked else ""), Cell(query, query),
                                  Cell(s.role or NA, s.role or ""), Cell(s.database or NA, s.database or ""),
                                  Cell(s.application or "", s.application or "")]))
    return rows


# ----- the capability panel ---------------------------------------------------------------------

def yes_no(value: bool | None) -> str:
    return NA if value is None else "yes" if value else "no"


def capabilities_text(caps: Capabilities) -> Text:
    text = Text()
    text.append("Server ", style="bold")
    text.append(plain(f"PostgreSQL {caps.server_version} ({caps.server_version_num}) · role {caps.role} · "
                      f"database {caps.database}\n"))
    text.append("Roles   ", style="bold")
    text.append(plain(f"superuser {yes_no(caps.superuser)} · pg_read_all_stats {yes_no(caps.read_all_stats)} · "
                      f"pg_monitor {yes_no(caps.monitor)} · pg_signal_backend {yes_no(caps.signal_backend)}\n"))
    text.append("pg_stat_statements ", style="bold")
    text.append(plain(f"available {yes_no(caps.available)} · created {yes_no(caps.created)}"
                      f"{' (' + caps.extension_version + ')' if caps.extension_version else ''} · "
                      f"readable {yes_no(caps.readable)} · preloaded {yes_no(caps.preloaded)} · "
                      f"may reset {yes_no(caps.can_reset)}\n"))
    text.append("Settings ", style="bold")
    settings = [("track_io_timing", "track_io_timing"), ("compute_query_id", "compute_query_id"),
                ("track_planning", "pg_stat_statements.track_planning")]
    text.append(plain(" · ".join(f"{label} {caps.settings.get(name) or NA}" for label, name in settings) + "\n"))
    gaps = caps.gaps()
    if not gaps:
        text.append("\nNothing missing: every part of this screen works.", style="bold green")
    for gap in gaps:
        text.append("\n✗ " if gap.serious else "\n· ", style="bold red" if gap.serious else "yellow")
        text.append(plain(gap.what + "\n", "bold" if gap.serious else ""))
        text.append("  fix: ", style="dim")
        text.append(plain(gap.fix + "\n", "cyan"))
    return text


def sample_problems(sample: Sample) -> list[str]:
    return [f"{part}: {text}" for part, text in sample.problems.items()]
