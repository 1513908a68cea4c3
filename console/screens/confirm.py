"""The console's confirmation dialog: a question whose safe answer is the default.

Focus starts on the refusing button (No / Cancel), so Enter pressed out of habit never does
the dangerous thing; Escape refuses too. For the worst cases (production, replacing a
database's data) the dialog can ask the operator to type a name first: the confirming
button stays disabled until the typed text matches, and typing a character anywhere in the
dialog goes to that field. Keyboard only: Left / Right (or Tab) move between the buttons;
``y`` / ``n`` answer a question that needs no typed name.
"""
from __future__ import annotations

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from console.text import plain, visible


class ConfirmModal(ModalScreen[bool]):
    """Ask ``title``; dismissed with True only by the confirming button (or Enter in the
    typed field once it matches ``type_to_confirm``), False otherwise."""

    DEFAULT_CSS = """
    ConfirmModal { align: center middle; }
    ConfirmModal > #dialog { width: 76; height: auto; max-height: 22; border: round $warning;
                             background: $surface; padding: 0 1; }
    ConfirmModal #question { text-style: bold; }
    ConfirmModal #body { height: auto; max-height: 12; }
    ConfirmModal #typed-label { margin-top: 1; }
    ConfirmModal #buttons { height: auto; align: center middle; margin-top: 1; }
    ConfirmModal Button { margin: 0 1; min-width: 10; }
    """
    BINDINGS = [
        Binding("escape", "refuse", "Cancel", id="confirm.cancel"),
        # as every other confirmation (console/edit/confirm.py); not where a name is typed
        Binding("y", "answer(True)", "Yes", show=False, id="confirm.yes"),
        Binding("n", "answer(False)", "No", show=False, id="confirm.no"),
        Binding("left", "app.focus_previous", "Previous", show=False),
        Binding("right", "app.focus_next", "Next", show=False),
    ]

    def __init__(self, title: str, body: str | Text = "", *, yes: str = "Yes", no: str = "No",
                 type_to_confirm: str | None = None, danger: bool = True) -> None:
        super().__init__()
        self.question = title
        self.body = body
        self.yes_label = yes
        self.no_label = no
        self.expected = type_to_confirm
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(plain(self.question), id="question")
            if self.body:
                with VerticalScroll(id="body"):
                    yield Static(plain(self.body) if isinstance(self.body, str) else self.body)
            if self.expected is not None:
                yield Static(Text.assemble("Type ", plain(self.expected, "bold"), " to confirm:"), id="typed-label")
                yield Input(placeholder=visible(self.expected), id="typed", select_on_focus=False)
            with Horizontal(id="buttons"):
                yield Button(plain(self.no_label), id="no", variant="primary")
                yield Button(plain(self.yes_label), id="yes", variant="error" if self.danger else "success",
                             disabled=self.expected is not None)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @property
    def matches(self) -> bool:
        return self.expected is None or self.query_one("#typed", Input).value.strip() == self.expected

    def on_key(self, event: events.Key) -> None:
        """A character typed while a button has focus goes to the field to type in."""
        if self.expected is None or not event.is_printable or not event.character:
            return
        if isinstance(self.focused, Button):
            field = self.query_one("#typed", Input)
            field.focus()
            field.insert_text_at_cursor(event.character)
            event.stop()
            event.prevent_default()

    @on(Input.Changed, "#typed")
    def _typed(self) -> None:
        self.query_one("#yes", Button).disabled = not self.matches

    @on(Input.Submitted, "#typed")
    def _submitted(self) -> None:
        if self.matches:
            self.dismiss(True)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes" and self.matches)

    def action_refuse(self) -> None:
        self.dismiss(False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``y`` / ``n`` answer a plain question; where a name must be typed they are letters
        of that name (the binding steps aside and the key reaches the field)."""
        if action == "answer":
            return self.expected is None
        return True

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
