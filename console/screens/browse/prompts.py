"""Small dialogs of the browser: the export path, and the app a new user key is for."""
from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from console.text import VISIBLE_CONTROLS, plain


class ExportPrompt(ModalScreen[str | None]):
    """Ask where to write the export; ``.json`` gives JSON, anything else CSV."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="browse.export.cancel")]
    DEFAULT_CSS = """
    ExportPrompt { align: center middle; }
    ExportPrompt > Vertical { width: 72; height: auto; border: thick $accent; background: $surface; padding: 0 1; }
    ExportPrompt #export-help { color: $text-muted; }
    """

    def __init__(self, default: str, what: str) -> None:
        super().__init__()
        self.default = default
        self.what = what
        self._confirmed: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(plain(f"Export every row of {self.what} (not only this page), secrets stripped."))
            yield Input(self.default, id="export-path", highlighter=VISIBLE_CONTROLS)
            yield Static("Enter writes it (.json → JSON, else CSV) · Escape cancels\n"
                         "The folder is the console's files folder (report_dir in the settings file).",
                         id="export-help")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        path = event.value.strip()
        if path and path != self._confirmed and Path(path).expanduser().exists():
            self._confirmed = path  # Enter again on the same path overwrites it
            self.query_one("#export-help", Static).update(
                plain(f"{path} exists: Enter again replaces it, or change the name · Escape cancels"))
            return
        self.dismiss(path or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class AppPicker(ModalScreen[str | None]):
    """Pick one app (by id) from a short list."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="browse.pick.cancel")]
    DEFAULT_CSS = """
    AppPicker { align: center middle; }
    AppPicker > Vertical { width: 60; height: auto; max-height: 20; border: thick $accent; background: $surface; }
    AppPicker OptionList { height: auto; max-height: 14; }
    """

    def __init__(self, title: str, apps: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.apps = apps

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(plain(self.title_text))
            yield OptionList(*(Option(plain(f"{app_id}  {label}"), id=app_id) for app_id, label in self.apps), id="apps")

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
