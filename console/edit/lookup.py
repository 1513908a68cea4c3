"""An input that suggests matches from the stores as the operator types a prefix.

Each keystroke asks the store for the first few rows whose name starts with the text (a
keyset page with a prefix filter: an index range, never the whole table); a newer keystroke
cancels the older lookup. Down moves into the matches, Enter picks one.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from console.text import VISIBLE_CONTROLS, plain
from stores.errors import StoreError

Search = Callable[[str], Awaitable[list[tuple[str, str]]]]
"""prefix -> [(what the list shows, what the input takes)]"""

MATCHES = 5


class Lookup(Widget):
    DEFAULT_CSS = """
    Lookup { height: auto; width: 1fr; }
    Lookup OptionList { height: auto; max-height: 5; display: none; border: none; padding: 0; }
    Lookup.-matches OptionList { display: block; }
    """
    BINDINGS = [Binding("down", "matches", "Matches", show=False),
                Binding("escape", "close_matches", "Close the matches", show=False)]

    class Picked(Message):
        """A match was picked from the list (the Input holds it)."""

        def __init__(self, lookup: Lookup) -> None:
            self.lookup = lookup
            super().__init__()

    class Found(Message):
        def __init__(self, prefix: str, matches: list[tuple[str, str]]) -> None:
            self.prefix = prefix
            self.matches = matches
            super().__init__()

    def __init__(self, search: Search, *, placeholder: str = "", value: str = "", id: str | None = None) -> None:
        super().__init__(id=id)
        self.search = search
        self.placeholder = placeholder
        self.initial = value
        self._values: list[str] = []

    def compose(self) -> ComposeResult:
        yield Input(self.initial, placeholder=self.placeholder, compact=True, highlighter=VISIBLE_CONTROLS)
        yield OptionList(compact=True)

    @property
    def value(self) -> str:
        return self.query_one(Input).value

    def focus(self, scroll_visible: bool = True) -> Lookup:
        self.query_one(Input).focus(scroll_visible)
        return self

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        self.find(event.value)

    @work(exclusive=True, group="lookup", exit_on_error=False)
    async def find(self, prefix: str) -> None:
        matches: list[tuple[str, str]] = []
        if prefix:
            try:
                matches = await self.search(prefix)
            except StoreError:
                matches = []  # a lookup is a convenience: saving says what is wrong
        self.post_message(self.Found(prefix, matches))

    @on(Found)
    def _found(self, message: Found) -> None:
        if message.prefix != self.value:
            return  # overtaken by a newer keystroke
        options = self.query_one(OptionList)
        options.clear_options()
        exact = [value for _, value in message.matches] == [self.value]
        options.add_options([Option(plain(label), id=str(n)) for n, (label, _) in enumerate(message.matches)])
        self._values = [value for _, value in message.matches]
        self.set_class(bool(message.matches) and not exact, "-matches")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Escape closes the open match list (and goes back to typing); with no list open it
        is the dialog's Escape, which cancels."""
        if action == "close_matches":
            return self.has_class("-matches")
        return True

    def action_close_matches(self) -> None:
        self.remove_class("-matches")
        self.query_one(Input).focus()

    def action_matches(self) -> None:
        options = self.query_one(OptionList)
        if self.has_class("-matches") and options.option_count:
            options.highlighted = 0
            options.focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        field = self.query_one(Input)
        field.value = self._values[int(event.option.id or 0)]
        field.cursor_position = len(field.value)
        self.remove_class("-matches")
        field.focus()
        self.post_message(self.Picked(self))
