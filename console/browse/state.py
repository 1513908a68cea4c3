"""What the browser remembers per list and per level, so that coming back finds the
filter, the page and the cursor where they were."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from console.browse.kinds import KINDS, ListKind, Level
from console.browse.paging import Position
from stores.query import RowCount


@dataclass
class ListState:
    filter_text: str = ""
    parsed: dict[str, Any] = field(default_factory=dict)
    position: Position | None = None
    """The shown page's position; None until the list was first shown."""
    row_key: str | None = None
    """The row the cursor was on."""
    total: RowCount | None = None
    """The count for this filter (estimate or exact); None until asked."""
    counting: bool = False

    def set_filter(self, text: str, parsed: dict[str, Any]) -> None:
        self.filter_text, self.parsed = text, parsed
        self.position, self.row_key, self.total, self.counting = None, None, None, False

    def forget_total(self) -> None:
        self.total, self.counting = None, False


@dataclass
class Frame:
    """One level of the stack, its active tab and the state of each of its lists."""

    level: Level
    tab: str
    lists: dict[str, ListState] = field(default_factory=dict)

    @property
    def kind(self) -> ListKind:
        return KINDS[self.tab]

    @property
    def state(self) -> ListState:
        return self.lists.setdefault(self.tab, ListState())

    def start_position(self) -> Position:
        return self.state.position or (Position.last() if self.kind.starts_at_end else Position.first())

    def cycle(self, step: int) -> None:
        tabs = self.level.tabs
        self.tab = tabs[(tabs.index(self.tab) + step) % len(tabs)]
