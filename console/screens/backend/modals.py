"""The Backend screen's modals: a file path question and the rollback drill's report."""
from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Static

from console.screens.backend.sides import short
from console.text import VISIBLE_CONTROLS, plain
from stores.transfer.drill import DrillReport, DrillStep

STEP_WIDTH = 26
"""The drill report's step column (the highlighted step's full name shows below the table)."""


class PathModal(ModalScreen[str | None]):
    """Ask for a file path (Enter goes on, Escape cancels)."""

    DEFAULT_CSS = """
    PathModal { align: center middle; }
    PathModal > Vertical { width: 76; height: auto; border: round $accent; background: $surface; padding: 0 1; }
    PathModal .title { text-style: bold; }
    PathModal .hint { color: $text-muted; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="path.cancel")]

    def __init__(self, title: str, path: str, hint: str) -> None:
        super().__init__()
        self.title_text = title
        self.path = path
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(plain(self.title_text), classes="title")
            yield Input(self.path, id="path", highlighter=VISIBLE_CONTROLS)
            yield Static(plain(f"{self.hint}\nEnter: go on · Escape: cancel"), classes="hint")

    @on(Input.Submitted, "#path")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


def step_digests(step: DrillStep) -> str:
    if not step.digests:
        return ""
    return " · ".join(f"{name} {value['rows']:,} {value['digest'][:8]}" for name, value in step.digests.items())


class DrillReportModal(ModalScreen[None]):
    """The drill's report: a row per step (time, rows, state of the digests, write pause),
    the highlighted step's detail and digests, and where the JSON report is."""

    DEFAULT_CSS = """
    DrillReportModal { align: center middle; }
    DrillReportModal > Vertical { width: 78; height: auto; max-height: 23; border: round $accent;
                                  background: $surface; padding: 0 1; }
    DrillReportModal #steps { height: auto; max-height: 13; }
    DrillReportModal #step-detail { height: auto; max-height: 3; color: $text-muted; }
    DrillReportModal #summary { height: auto; max-height: 4; }
    """
    BINDINGS = [Binding("escape,q", "close", "Close", id="drill-report.close")]

    def __init__(self, report: DrillReport, path: Path | None) -> None:
        super().__init__()
        self.report = report
        self.path = path

    def compose(self) -> ComposeResult:
        report = self.report
        verdict = Text("passed", style="bold green") if report.ok else Text("FAILED", style="bold red")
        environment = f" ({report.environment})" if report.environment else ""
        with Vertical():
            yield Static(Text.assemble(plain(f"Rollback drill {report.run_id} on {report.target}{environment}: ", "bold"),
                                       verdict, f" in {report.seconds:.1f} s"), id="verdict")
            table: DataTable[str | Text] = DataTable(id="steps", cursor_type="row", zebra_stripes=True)
            for label, width in (("step", STEP_WIDTH), ("ok", 4), ("time", 6), ("rows", 6), ("state", 12),
                                 ("pause", 6)):
                table.add_column(label, width=width, key=label)
            yield table
            yield Static("", id="step-detail")
            yield Static(self._summary(), id="summary")

    def on_mount(self) -> None:
        table = self.query_one("#steps", DataTable)
        for number, step in enumerate(self.report.steps):
            table.add_row(
                plain(short(step.name, STEP_WIDTH)),
                Text("ok", style="green") if step.ok else Text("FAIL", style="bold red"),
                f"{step.seconds:.2f}s",
                f"{step.rows:,}" if step.rows is not None else "",
                plain(step.state or ""),
                f"{step.write_pause_seconds:.3f}s" if step.write_pause_seconds is not None else "",
                key=str(number),
            )
        table.focus()
        self._show_step()

    def _summary(self) -> Text:
        report = self.report
        text = Text()
        if report.workload_tenant:
            kept = "kept in the database" if report.keep_workload else "removed afterwards"
            text.append(plain(f"workload: {report.workload_writes} writes in tenant {report.workload_tenant} ({kept})\n"))
        if report.failure:
            text.append(plain(f"failure: {report.failure}\n", "red"))
        text.append(plain(f"backend at the end: {report.active_backend} · "))
        text.append(plain(f"report: {self.path}" if self.path else "report not saved", "bold"))
        return text

    @on(DataTable.RowHighlighted)
    def _show_step(self) -> None:
        table = self.query_one("#steps", DataTable)
        if not self.report.steps:
            return
        step = self.report.steps[min(table.cursor_row, len(self.report.steps) - 1)]
        digests = step_digests(step)
        self.query_one("#step-detail", Static).update(
            plain(f"{step.name}: {step.detail}" + (f"\n{digests}" if digests else "")))

    def action_close(self) -> None:
        self.dismiss(None)


# ----- the screen ------------------------------------------------------------------------------
