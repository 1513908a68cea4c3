from __future__ import annotations

from console.screens.pending import PendingScreen


class ConnectionScreen(PendingScreen):
    TITLE_TEXT = "connection"
    FEATURE = "Connection: set up, test and save PostgreSQL profiles."
    HELP = "arrives with the console issue (connection form, test, profiles)."
