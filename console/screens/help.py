"""F1: what the current screen does and every key it answers to (from the bindings)."""
from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from console.text import plain
from console.logs import describe_log


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,q", "dismiss", "Close", id="help.close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 76; max-height: 22; border: round $accent; background: $surface; padding: 0 1; }
    """

    def __init__(self, title: str, text: str, keys: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.text = text
        self.keys = keys

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        table.add_column(style="dim")
        for keys, description, binding_id in self.keys:
            table.add_row(keys, description, binding_id)
        with VerticalScroll():
            yield Static(plain(self.title_text, style="bold"))
            yield Static(plain(self.text))
            yield Static(table)
            yield Static(Text("Rebind any key by id in the settings file, e.g. [keymap] \"app.quit\" = \"ctrl+q\".", style="dim"))
            yield Static(plain(describe_log() + " · --debug logs more", style="dim"), id="log-path")
            yield Static(plain(f"files: {files_folder(self.app)} (exports, snapshots, drill reports; report_dir in "
                               "the settings file)", style="dim"), id="files-path")

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)


def files_folder(app: object) -> str:
    """Where exports, snapshots and drill reports go (``ConsoleConfig.report_dir``)."""
    config = getattr(app, "config", None)
    return str(config.files_directory_or_here()) if config is not None else "the current directory"


MODIFIER_NAMES = {"ctrl": "ctrl", "alt": "alt", "shift": "shift", "super": "cmd", "meta": "meta", "hyper": "hyper"}


def human_key(key: str) -> str:
    """``right_square_bracket`` → ``]``, ``ctrl+e`` → ``ctrl+e``, ``super+c`` → ``cmd+c``,
    ``pagedown`` → ``PageDown``: what is printed on the keyboard, not Textual's key name."""
    from textual.keys import format_key

    *modifiers, name = key.split("+")
    shown = {"pagedown": "PageDown", "pageup": "PageUp", "home": "Home", "end": "End", "escape": "Escape",
             "tab": "Tab", "enter": "Enter", "space": "Space", "backspace": "Backspace", "delete": "Delete",
             "up": "↑", "down": "↓", "left": "←", "right": "→"}.get(name) or format_key(name)
    if len(name) > 1 and name.startswith("f") and name[1:].isdigit():
        shown = name.upper()
    return "+".join([*(MODIFIER_NAMES.get(m, m) for m in modifiers), shown])


def binding_rows(bindings: list[Binding]) -> list[tuple[str, str, str]]:
    """One row per action (its keys together, in human names), in the order they are bound."""
    rows: dict[str, tuple[list[str], str, str]] = {}
    for binding in bindings:
        described = binding.tooltip or binding.description or binding.action
        keys, _, _ = rows.setdefault(binding.action, ([], described, binding.id or ""))
        key = binding.key_display or human_key(binding.key)
        if key not in keys:
            keys.append(key)
    return [(" / ".join(keys), description, binding_id) for keys, description, binding_id in rows.values()]
