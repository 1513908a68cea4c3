from __future__ import annotations

from console.screens.pending import PendingScreen


class BackendScreen(PendingScreen):
    TITLE_TEXT = "backend"
    FEATURE = "Backend: switch between memory and PostgreSQL, rollback drills."
    HELP = "arrives with the console issue; `lokstra-console copy` works today."
