"""The browser's crumb line: where you are on the left, which rows on the right."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from console.text import plain

SEPARATOR = " ▸ "


class Crumbs(Static):
    """``tenants ▸ acme ▸ apps ▸ web ▸ keys``   ``41–60 of ~1.2M``"""

    DEFAULT_CSS = """
    Crumbs { height: 1; padding: 0 1; background: $boost; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.parts: list[str] = []
        self.right = ""

    def show(self, parts: list[str], right: str = "") -> None:
        self.parts, self.right = list(parts), right
        self.refresh()

    def render(self) -> Text:
        path = Text(no_wrap=True, overflow="ellipsis")
        for index, part in enumerate(self.parts):
            if index:
                path.append(SEPARATOR, style="dim")
            path.append(plain(part, "bold" if index == len(self.parts) - 1 else ""))
        width = max(self.content_size.width, 1)
        room = width - len(self.right) - 2
        if path.cell_len > room:
            path.truncate(max(room, 1), overflow="ellipsis")
        path.append(" " * max(width - path.cell_len - len(self.right), 1))
        path.append(plain(self.right, "bold"))
        return path

    @property
    def text(self) -> str:
        """The crumb path as plain text (what tests and the palette read)."""
        return SEPARATOR.join(self.parts)
