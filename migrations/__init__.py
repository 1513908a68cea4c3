"""lokstra-auth schema migrations: the SQL files (``migrations/sql``) and the runner for them.

Modules, one job each: ``source`` (files, checksums), ``sqltext`` (statement splitting),
``tracking`` (the console's tracking; lokstra's table, read only), ``lock`` (advisory lock),
``catalog`` (schema description and diff), ``status`` (states), ``adopt`` (baselines),
``results`` (what operations return), ``runner`` (the operations). Nothing here imports
textual: the TUI and the CLI both drive ``MigrationRunner``.
"""
from migrations.catalog import Catalog, Difference
from migrations.lock import LockHolder, LockTimeout
from migrations.results import (
    AdoptionOutcome, AdoptionReport, Outcome, Progress, RelocationOutcome, RelocationReport, RunResult, StepResult,
)
from migrations.runner import MigrationRunner
from migrations.source import IRREVERSIBLE_MARKER, Migration, MigrationSet, SourceError
from migrations.status import MigrationStatus, Overall, SchemaStatus, State

__all__ = [
    "IRREVERSIBLE_MARKER",
    "AdoptionOutcome",
    "AdoptionReport",
    "Catalog",
    "Difference",
    "LockHolder",
    "LockTimeout",
    "Migration",
    "MigrationRunner",
    "MigrationSet",
    "MigrationStatus",
    "Outcome",
    "Overall",
    "Progress",
    "RelocationOutcome",
    "RelocationReport",
    "RunResult",
    "SchemaStatus",
    "SourceError",
    "State",
    "StepResult",
]
