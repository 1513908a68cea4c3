"""Bring a test database to the newest schema with the migration runner itself, so the
PostgreSQL half of the contract suite runs on exactly what `migrate up` creates."""
from __future__ import annotations

from migrations import MigrationRunner, Outcome


async def migrate(dsn: str) -> None:
    result = await MigrationRunner.from_dsn(dsn).up()
    if result.outcome is not Outcome.DONE:
        raise RuntimeError(f"migrating the test template failed: {result.to_json()}")
