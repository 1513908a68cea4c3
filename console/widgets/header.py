"""The header line every screen shows: backend, health, read-only, environment colour."""
from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

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

    def render(self) -> Text:
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
        if self.screen:
            text.append(plain(f"  ▸ {self.screen}", "bold"))
        return text


class ConsoleHeader(Static):
    DEFAULT_CSS = """
    ConsoleHeader { height: 1; background: $panel; }
    """

    def show(self, state: HeaderState) -> None:
        self.update(state.render())
