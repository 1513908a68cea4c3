from __future__ import annotations

from console.screens.pending import PendingScreen


class MigrationsScreen(PendingScreen):
    TITLE_TEXT = "migrations"
    FEATURE = "Migrations: the state of every migration, apply pending ones."
    HELP = "arrives with the console issue; `lokstra-console migrate status` works today."
