"""The Backend screen's panels, each handed what it shows: the counts of both sides, the progress bars."""
from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, ProgressBar, Static

from console.screens.backend.sides import TABLES, Side, count_cell, short
from console.text import plain

BACKENDS = ("memory", "postgres")


class SidesPanel(Static):
    """The row count of every table on both backends, the active one marked."""

    def show(self, active: str, sides: dict[str, Side], labels: dict[str, str], present: dict[str, bool]) -> None:
        """``sides`` / ``labels`` / ``present`` by backend: its counts, the line under its title,
        whether it has an engine at all (a column without one shows dashes)."""
        table = Table(box=None, padding=(0, 0, 0, 2), pad_edge=False, show_edge=False, header_style="bold")
        table.add_column("table", min_width=9)
        row = [Text("")]
        for backend in BACKENDS:
            title = plain(backend.upper(), style="bold reverse" if backend == active else "bold")
            title.append(" ◀ active" if backend == active else "", style="bold green")
            table.add_column(title, justify="right", min_width=20 if backend == "memory" else 34)
            row.append(plain(short(labels[backend], 34), style="dim"))
        table.add_row(*row)
        for name in (*TABLES, None):
            table.add_row(plain(name or "total", style="" if name else "bold"),
                          *(self.cell(sides[backend], present[backend], name) for backend in BACKENDS))
        self.update(table)

    @staticmethod
    def cell(side: Side, present: bool, table: str | None) -> Text:
        if not present:
            return Text("—", style="dim")
        if side.counts is None:
            return Text("?" if side.problem else "…", style="dim")
        return plain(count_cell(side.counts, table), style="bold" if table is None else "")


class ProgressPanel(Vertical):
    """A bar per table following a copy; a drill resets them at each of its steps."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.step: str | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="progress-title")
        for table in TABLES:
            with Horizontal(classes="bar-row"):
                yield Label(table)
                yield ProgressBar(total=1, show_eta=False, id=f"bar-{table}")
                yield Static("", classes="rows", id=f"rows-{table}")

    def start(self, title: str) -> None:
        self.step = None
        self.reset()
        self.query_one("#progress-title", Static).update(plain(f"{title} · Escape cancels"))
        self.display = True

    def reset(self) -> None:
        for table in TABLES:
            self.query_one(f"#bar-{table}", ProgressBar).update(total=1, progress=0)
            self.query_one(f"#rows-{table}", Static).update("")

    def advance(self, step: str | None, table: str, done: int, expected: int) -> None:
        if step is not None and step != self.step:
            self.step = step
            self.reset()
            self.query_one("#progress-title", Static).update(plain(f"drill: {step} · Escape cancels"))
        self.query_one(f"#bar-{table}", ProgressBar).update(total=expected, progress=done)
        self.query_one(f"#rows-{table}", Static).update(f"{done:,} / {expected:,}")

    def end(self) -> None:
        self.display = False
