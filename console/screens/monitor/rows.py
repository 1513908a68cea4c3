"""What the Monitor screen's other tables show, as cells: client timings, tables and indexes,
sessions, and the capabilities in words. Headless."""
from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text

from console.screens.monitor.cells import (
    NA,
    Cell,
    ms,
    number,
    one_line,
    percent,
    seconds_text,
    size,
    size_text,
    when_text,
)
from console.text import plain
from stores.monitor import (
    Capabilities,
    IndexStats,
    Sample,
    Session,
    TableStats,
    mask_literals,
)
from stores.timing import OperationStats

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
