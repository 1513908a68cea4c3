"""Where the shown page is in its list, and the title that says so (``41–60 of ~1.2M``).

Keyset pages have no offsets; the position is counted as the operator moves: from the
start after Home / PageDown, from the end after End / PageUp from there. The exact total is
learnt for free when a page turns out to be both counted from the start and the last one.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from console.browse.format import human_count, total_text
from stores.query import Page, RowCount

AnchorKind = Literal["first", "after", "before", "last"]


@dataclass(frozen=True)
class Anchor:
    """How to fetch the page again: the first, the one after / before a cursor, the last."""

    kind: AnchorKind = "first"
    cursor: str | None = None

    def paging(self) -> dict[str, Any]:
        """Keyword arguments of the store's ``page()`` (besides ``limit`` and ``filter``)."""
        if self.kind == "after":
            return {"after": self.cursor}
        if self.kind == "before":
            return {"before": self.cursor}
        if self.kind == "last":
            return {"last": True}
        return {}


@dataclass(frozen=True)
class Position:
    anchor: Anchor = Anchor()
    start: int | None = 1
    """1-based index of the page's first row from the list's start, when known."""
    after_end: int | None = None
    """Rows after the page's last row, when known (0 on the last page)."""

    @classmethod
    def first(cls) -> Position:
        return cls(Anchor("first"), 1, None)

    @classmethod
    def last(cls) -> Position:
        return cls(Anchor("last"), None, 0)

    def landed(self, page: Page[Any]) -> Position:
        """This position once ``page`` came back. A page with no next cursor is the last and
        one with no previous cursor the first; what the page cannot tell is kept only where
        the anchor keeps it (a page after a cursor starts where it started before)."""
        kind = self.anchor.kind
        if kind == "first" or (page.prev_cursor is None and kind in ("before", "last")):
            start: int | None = 1
        else:
            start = self.start if kind == "after" else (None if kind == "last" else self.start)
        if page.next_cursor is None and kind in ("first", "after", "last"):
            after_end: int | None = 0
        else:
            after_end = self.after_end if kind == "before" else None
        return replace(self, start=start, after_end=after_end)

    def next(self, page: Page[Any]) -> Position | None:
        """The position of the page after ``page`` (shown at this position); None on the last."""
        if page.next_cursor is None:
            return None
        return Position(Anchor("after", page.next_cursor),
                        self.start + len(page.rows) if self.start is not None else None, None)

    def previous(self, page: Page[Any]) -> Position | None:
        if page.prev_cursor is None:
            return None
        return Position(Anchor("before", page.prev_cursor), None,
                        self.after_end + len(page.rows) if self.after_end is not None else None)

    def settle(self, page: Page[Any], came_from: Position | None = None) -> Position:
        """``landed`` plus what the move tells: a page fetched after the previous one starts
        where that one ended (``start`` already set by ``next``); a page fetched before it
        ends where that one started."""
        landed = self.landed(page)
        if landed.start is None and came_from is not None and came_from.start is not None \
                and self.anchor.kind == "before":
            landed = replace(landed, start=max(came_from.start - len(page.rows), 1))
        if landed.after_end is None and came_from is not None and came_from.after_end is not None \
                and self.anchor.kind == "after":
            landed = replace(landed, after_end=max(came_from.after_end - len(page.rows), 0))
        return landed


def known_total(position: Position, rows: int) -> int | None:
    """The exact row count when the position pins both ends."""
    if position.start is not None and position.after_end is not None:
        return position.start - 1 + rows + position.after_end
    return None


def range_text(position: Position, rows: int, total: RowCount | None) -> str:
    """``41–60 of ~1.2M``; ``last 20 of ~1.2M`` at the end of a list counted by estimate."""
    exact = known_total(position, rows)
    if exact is not None:
        total = RowCount(exact, True)
    if rows == 0:
        return "no rows" if position.start == 1 else "no rows here"
    of = f" of {total_text(total)}" if total is not None else ""
    start = position.start
    if start is None and position.after_end is not None and total is not None and total.exact:
        start = total.value - position.after_end - rows + 1
    if start is not None:
        return f"{start:,}–{start + rows - 1:,}{of}"
    if position.after_end == 0:
        return f"last {rows}{of}"
    if position.after_end is not None and total is not None:
        guess = max(total.value - position.after_end - rows + 1, 1)
        return f"≈{human_count(guess)}–{human_count(guess + rows - 1)}{of}"
    return f"{rows} rows{of}"
