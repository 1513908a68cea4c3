"""Quitting while the in-memory backend holds changes that no snapshot file has.

The memory backend lives only as long as the console: the dialog says how many changes
would be lost and offers to export them to a snapshot file first (the path is editable),
to quit anyway, or to stay. Focus starts on Cancel. The export runs in a worker; the
dialog closes (and the console quits) only when the file has been written and verified.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from console.problems import in_words
from console.text import VISIBLE_CONTROLS, plain
from stores.transfer.snapshot_file import MemoryTransfer, export_memory

if TYPE_CHECKING:
    from console.app import LokstraConsole


def snapshot_path(directory: str | Path | None = None, when: datetime | None = None) -> str:
    """A new snapshot file name, ``lokstra-memory-<time>.jsonl``, in ``directory`` (default: here)."""
    name = f"lokstra-memory-{(when or datetime.now()):%Y%m%d-%H%M%S}.jsonl"
    return str(Path(directory) / name) if directory else f"./{name}"


def export_problem(exc: BaseException) -> str:
    """An export failure in words (``console.problems.in_words``: the file's problem, not the network's)."""
    return in_words(exc, writing_file=True)


class QuitModal(ModalScreen[bool]):
    """Export and quit / Quit anyway / Cancel; dismissed with True when the console should quit."""

    DEFAULT_CSS = """
    QuitModal { align: center middle; }
    QuitModal > #dialog { width: 76; height: auto; border: round $warning; background: $surface; padding: 0 1; }
    QuitModal #question { text-style: bold; }
    QuitModal #path-label { margin-top: 1; }
    QuitModal #problem { color: $error; height: auto; display: none; }
    QuitModal #buttons { height: auto; align: center middle; margin-top: 1; }
    QuitModal Button { margin: 0 1; }
    """
    BINDINGS = [
        Binding("escape", "stay", "Cancel", id="quit.cancel"),
        Binding("left", "app.focus_previous", "Previous", show=False),
        Binding("right", "app.focus_next", "Next", show=False),
    ]

    class Exported(Message):
        def __init__(self, transfer: MemoryTransfer, path: str) -> None:
            self.transfer = transfer
            self.path = path
            super().__init__()

    class ExportFailed(Message):
        def __init__(self, text: str) -> None:
            self.text = text
            super().__init__()

    def __init__(self, engine: Any, unsaved: int, path: str) -> None:
        super().__init__()
        self.engine = engine
        self.unsaved = unsaved
        self.path = path
        self.exporting = False

    def compose(self) -> ComposeResult:
        changes = "1 change" if self.unsaved == 1 else f"{self.unsaved} changes"
        with Vertical(id="dialog"):
            yield Static("Quit with unsaved changes?", id="question")
            yield Static(plain(f"The console runs on the in-memory backend and {changes} since the start or "
                               "the last export are in no snapshot file: quitting loses them."))
            yield Static("Export to this snapshot file (0600; it holds tenants' DSNs) first:", id="path-label")
            yield Input(self.path, id="path", highlighter=VISIBLE_CONTROLS)
            yield Static("", id="problem")
            with Horizontal(id="buttons"):
                yield Button("Export and quit", id="export", variant="success")
                yield Button("Quit anyway", id="quit", variant="error")
                yield Button("Cancel", id="cancel", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    @property
    def console(self) -> LokstraConsole:
        return self.app  # type: ignore[return-value]

    @on(Button.Pressed, "#export")
    @on(Input.Submitted, "#path")
    def _export(self) -> None:
        path = self.query_one("#path", Input).value.strip()
        if self.exporting:
            return
        if not path:
            self._problem("Give the snapshot file a name.")
            return
        self.exporting = True
        self._problem(f"Exporting to {path} …", error=False)
        for button in self.query(Button):
            button.disabled = button.id != "cancel"
        self.export(path)

    @work(exclusive=True, group="quit-export", exit_on_error=False)
    async def export(self, path: str) -> None:
        try:
            transfer = await export_memory(self.engine, Path(path).expanduser())
        except Exception as exc:  # shown in the dialog, never a traceback
            self.post_message(self.ExportFailed(export_problem(exc)))
            return
        self.post_message(self.Exported(transfer, path))

    @on(Exported)
    def _exported(self, message: Exported) -> None:
        self.console.mark_memory_saved(self.engine, message.transfer.changes)
        self.console.notify(f"{message.transfer.report.rows:,} rows exported to {message.path}", title="Snapshot saved")
        self.dismiss(True)

    @on(ExportFailed)
    def _export_failed(self, message: ExportFailed) -> None:
        self.exporting = False
        for button in self.query(Button):
            button.disabled = False
        self._problem(f"Not exported: {message.text}")
        self.query_one("#path", Input).focus()

    def _problem(self, text: str, *, error: bool = True) -> None:
        problem = self.query_one("#problem", Static)
        problem.update(plain(text, style="" if error else "italic"))
        problem.display = True

    @on(Button.Pressed, "#quit")
    def _quit_anyway(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_stay(self) -> None:
        """Stay in the console (an export under way is abandoned: the file is not created)."""
        self.workers.cancel_group(self, "quit-export")
        self.dismiss(False)
