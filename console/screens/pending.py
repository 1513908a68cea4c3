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


class ConnectionScreen(PendingScreen):
    TITLE_TEXT = "connection"
    FEATURE = "Connection: set up, test and save PostgreSQL profiles."
    HELP = "arrives with the console issue (connection form, test, profiles)."


class MigrationsScreen(PendingScreen):
    TITLE_TEXT = "migrations"
    FEATURE = "Migrations: the state of every migration, apply pending ones."
    HELP = "arrives with the console issue; `lokstra-console migrate status` works today."


class BackendScreen(PendingScreen):
    TITLE_TEXT = "backend"
    FEATURE = "Backend: switch between memory and PostgreSQL, rollback drills."
    HELP = "arrives with the console issue; `lokstra-console copy` works today."
