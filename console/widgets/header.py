"""The header line every screen shows: backend, health, read-only, environment colour, and
on the right the strip of screens by number (the current one marked), which says ``alt+``
when the focus is in a text field, where the digits are text."""
from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from console.actions import SCREEN_KEYS
from console.text import plain

ENVIRONMENT_STYLE = {"production": "bold white on red", "staging": "bold black on yellow", "development": "bold black on green"}
LAYOUT_TAG = {"core": "core", "current": "current layout: limited", "unknown": "unknown layout"}
LAYOUT_STYLE = {"core": "dim", "current": "yellow"}
HEALTH_STYLE = {"ok": "green", "degraded": "yellow", "down": "bold red", "connecting": "cyan"}


@dataclass(frozen=True)
class HeaderState:
    backend: str = "MEMORY"
    target: str = ""
    profile: str | None = None
    environment: str | None = None
    health: str = "ok"
    rtt_ms: float | None = None
    read_only: bool = False
    screen: str = ""
    pooled: bool = False
    """A connection pooler is in front of the server (the console turned its statement cache off)."""
    layout: str | None = None
    """Which lokstra-auth layout the PostgreSQL data schema holds (``stores.layouts``); None on memory."""
    in_text: bool = False
    """The focus is in a text field: the digits type there, alt+digit switches screens."""

    def render(self, width: int = 0) -> Text:
        """The status on the left, the screens' strip on the right: every screen named when
        ``width`` leaves room, else only the current one (``1 2 ▸3 browse 4 5``), else the
        digits, else the current digit, else none: the status (target, READ-ONLY, environment)
        keeps its room first."""
        left = self.status()
        strips = [self.strip("every"), self.strip("current"), self.strip("digits"), self.strip("only")]  # noqa: B005 - ConsoleHeader.strip, not str.strip
        if not width:
            return Text.assemble(left, "  ", strips[-1])
        strip = next((s for s in strips if left.cell_len + 2 + s.cell_len <= width), Text())
        if left.cell_len > width:  # not even the status fits: it keeps the line, shortened
            left.truncate(width, overflow="ellipsis")
        return Text.assemble(left, " " * max(width - left.cell_len - strip.cell_len, 0), strip)

    def strip(self, names: str) -> Text:
        """``names``: "every" screen named, the "current" one named, "digits" only, or "only"
        the current digit (the status keeps its room first: the target, the environment)."""
        text = Text()
        if self.in_text:
            text.append("alt+", style="dim")
        shown = [(digit, name) for digit, name in SCREEN_KEYS if names != "only" or name == self.screen]
        for index, (digit, name) in enumerate(shown):
            if index:
                text.append(" ")
            if name == self.screen:
                text.append(plain(f"▸{digit} {name}" if names in ("every", "current") else f"▸{digit}", "bold reverse"))
            else:
                text.append(plain(f"{digit} {name}" if names == "every" else digit, "dim" if names == "every" else ""))
        return text

    def status(self) -> Text:
        text = Text()
        text.append(plain(f" {self.backend} ", "bold reverse"))
        if self.target:
            text.append(plain(f" {self.target}"))
        if self.profile:
            text.append(plain(f" ({self.profile})", "dim"))
        if self.pooled:
            text.append(" via pooler", style="dim")
        if self.layout:
            text.append(plain(f" [{LAYOUT_TAG.get(self.layout, self.layout)}]", LAYOUT_STYLE.get(self.layout, "bold yellow")))
        text.append("  ")
        text.append(plain(f"● {self.health}", HEALTH_STYLE.get(self.health, "")))
        if self.rtt_ms is not None and self.health != "down":
            text.append(f" {self.rtt_ms:.1f} ms", style="dim")
        if self.read_only:
            text.append("  READ-ONLY", style="bold magenta")
        if self.environment:
            text.append("  ")
            text.append(plain(f" {self.environment.upper()} ", ENVIRONMENT_STYLE.get(self.environment, "reverse")))
        return text


class ConsoleHeader(Static):
    DEFAULT_CSS = """
    ConsoleHeader { height: 1; width: 1fr; background: $panel; }
    """

    def show(self, state: HeaderState) -> None:
        self.state = state
        self.refresh()

    state: HeaderState | None = None

    def render(self) -> Text:
        width = self.content_size.width or self.app.size.width  # before the first layout: the screen's
        return self.state.render(width) if self.state is not None else Text("")

    def on_resize(self) -> None:
        self.refresh()
