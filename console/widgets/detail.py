"""The detail pane: every field of the highlighted row, as a screen may show it.

Values come from ``stores.secrets.shown_value``: ``db_dsn`` and secrets inside JSON masked,
JSON pretty-printed, ``secret_hash`` never. A revealed value (``x``) is shown only for the row it was revealed
for, and is dropped from the widget when the selection changes (``show`` without it).
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from console.text import plain
from stores.secrets import MASKED_FIELDS, hidden_field, shown_value


def detail_fields(row: Any) -> list[tuple[str, str]]:
    """(field, shown value) for every field of ``row`` a screen may show."""
    names = list(type(row).model_fields) if isinstance(row, BaseModel) else list(vars(row))
    return [(name, shown_value(row, name)) for name in names if not hidden_field(name)]


class DetailPane(VerticalScroll):
    """Focusable (Browse's ``I``): the arrows, PageUp/PageDown, Home and End then scroll it."""

    DEFAULT_CSS = """
    DetailPane { border-left: tall $panel; padding: 0 1; }
    DetailPane:focus { border-left: tall $accent; }
    DetailPane > #detail-body { width: 100%; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.row_key: str | None = None

    def compose(self):  # noqa: ANN201 - ComposeResult
        yield Static("", id="detail-body")

    def show(self, row: Any | None, key: str | None = None, revealed: dict[str, str] | None = None,
             title: str = "", time_zone: str | None = None) -> None:
        """Show ``row``; ``revealed`` holds clear values of masked fields for this row only;
        ``time_zone``: the wall clock its timestamps are in (``stores.clock``), said once."""
        self.row_key = key
        body = self.query_one("#detail-body", Static)
        if row is None:
            body.update(Text("nothing selected", style="dim"))
            return
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        if title:
            grid.add_row(plain(title, "bold underline"), "")
        for name, value in detail_fields(row):
            if revealed and name in revealed:
                grid.add_row(plain(name), plain(revealed[name], "bold yellow"))
                continue
            shown = plain(value)
            if name in MASKED_FIELDS and value:
                shown.append("  x reveals", style="dim italic")
            grid.add_row(plain(name), shown)
        if time_zone:
            grid.add_row(Text("times", style="dim"), plain(f"wall clock in {time_zone} (DB_TIME_ZONE)", "dim"))
        body.update(grid)
