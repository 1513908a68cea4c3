"""The Migrations screen: the screen, its run modal, its target and its words."""
from console.screens.migrations.run import RunEnd, RunModal
from console.screens.migrations.screen import MIGRATION_ACTIONS, MigrationsScreen
from console.screens.migrations.target import SchemaTarget, configured_target

__all__ = ["MIGRATION_ACTIONS", "MigrationsScreen", "RunEnd", "RunModal", "SchemaTarget", "configured_target"]
