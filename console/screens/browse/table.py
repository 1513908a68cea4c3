"""The list's DataTable: a page at a time. Paging keys belong to the screen (so F1 lists
them), and moving past the first or last row asks the screen for the neighbouring page."""
from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable


class BrowseTable(DataTable[str], inherit_bindings=False):
    BINDINGS = [
        Binding("enter", "select_cursor", "Open", show=False),
        Binding("up", "cursor_up", "Cursor up", show=False),
        Binding("down", "cursor_down", "Cursor down", show=False),
        Binding("right", "cursor_right", "Scroll right", show=False),
        Binding("left", "cursor_left", "Scroll left", show=False),
    ]

    class Edge(Message):
        """The cursor tried to move past the page's first (-1) or last (+1) row."""

        def __init__(self, step: int) -> None:
            self.step = step
            super().__init__()

    class Resized(Message):
        """The table's height changed: the page size follows it."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._last_height = -1

    @property
    def visible_rows(self) -> int:
        """How many data rows fit without scrolling: the page size."""
        return max(1, self.size.height - (self.header_height if self.show_header else 0))

    def action_cursor_down(self) -> None:
        if not self.row_count:
            return
        if self.cursor_row >= self.row_count - 1:
            self.post_message(self.Edge(1))
            return
        super().action_cursor_down()

    def action_cursor_up(self) -> None:
        """In an empty list Up does nothing: Textual's would move the cursor to row -1 and
        announce a highlighted row that has no key (found by tests/reliability/test_tui_fuzz.py)."""
        if not self.row_count:
            return
        if self.cursor_row <= 0:
            self.post_message(self.Edge(-1))
            return
        super().action_cursor_up()

    def on_resize(self) -> None:
        if self.size.height != self._last_height:
            self._last_height = self.size.height
            self.post_message(self.Resized())
