"""A screen whose feature has not landed yet says so plainly (and which issue brings it)."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from console.screens.base import ConsoleScreen


class PendingScreen(ConsoleScreen):
    FEATURE = ""

    def compose(self) -> ComposeResult:
        yield self.compose_header()
        yield Static(f"{self.FEATURE}\n\nNot built yet: {self.HELP}", id="pending")
        yield self.compose_footer()


class MonitorScreen(PendingScreen):
    TITLE_TEXT = "monitor"
    FEATURE = "Monitor: slow queries, table sizes and activity."
    HELP = "arrives with the monitor issue (pg_stat_statements, table sizes, activity)."

