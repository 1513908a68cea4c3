"""Slow queries, headless: the columns, the sort, the ``/`` filter, grouping, the rows shown and
the status line over them."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rich.text import Text

from console.screens.monitor.cells import (
    NA,
    Cell,
    ms,
    number,
    one_line,
    percent,
    when_text,
)
from console.text import plain
from stores.monitor import Sample, Statement, mask_literals
from stores.monitor.models import Figures

MAX_STATEMENT_ROWS = 100
"""Rows of the slow-query table (the top ones by the chosen sort); the status line says of how many."""


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


@dataclass(frozen=True)
class StatementView:
    """How the slow queries are shown: which figures, the sort, grouping and filter, the loop's state."""

    interval_view: bool = False
    sort: str = "total"
    descending: bool = True
    group: str | None = None
    filter: StatementFilter = StatementFilter()
    paused: bool = False
    interval: float = 2.0


def statements_status(sample: Sample, view: StatementView, shown: int, matching: int) -> Text:
    text = Text()
    if view.paused:
        text.append("PAUSED ", style="bold reverse")
    if view.interval_view:
        seconds = f"{sample.interval_seconds:.1f} s" if sample.interval_seconds is not None else NA
        text.append(plain(f"last interval ({seconds})", "bold"))
        if sample.interval_seconds is None:
            text.append(" from the next sample", style="yellow")
    else:
        text.append("since reset", style="bold")
    arrow = "↓" if view.descending else "↑"
    text.append(plain(f" · {view.sort}{arrow} · {view.interval:g}s"))
    total = len(sample.statements or [])
    text.append(f" · {shown:,}/{matching:,}" + (f" of {total:,}" if matching != total else ""))
    if view.group:
        text.append(plain(f" · per {view.group}"))
    if view.filter:
        text.append(" · filtered", style="cyan")
    info = sample.info
    if info is not None:
        text.append(plain(f" · reset {when_text(info.stats_reset, NA)} · evicted {info.dealloc:,}"))
    else:
        text.append(plain(f" · reset {NA} · evicted {NA}", "dim"))
    text.append(f" · {sample.seconds * 1000:.0f} ms", style="dim")
    return text
