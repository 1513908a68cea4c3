"""What the Backend screen works with, without a widget: the PostgreSQL target, counts, words."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from stores.errors import StoreError
from stores.postgres.diagnose import diagnose, scrub
from stores.settings import Settings
from stores.tables import ALL_TABLES

TABLES = [spec.name for spec in ALL_TABLES]


def postgres_settings(app: Any) -> Settings | None:
    """The PostgreSQL database this console switches to: its own settings when it was opened
    on PostgreSQL, else the active profile, else DB_* / DATABASE_URL of the environment and
    .env; None when none is set. Raises pydantic's ``ValidationError`` for malformed settings."""
    if app.settings.use_postgres:
        return app.settings
    profile = app.config.profile()
    if profile is not None:
        return profile.store_settings(read_only=app.settings.read_only)
    found = Settings()
    if not (found.use_postgres or found.database_url or found.db_host or found.db_name):
        return None
    return found.model_copy(update={"use_postgres": True, "read_only": found.read_only or app.settings.read_only})


def problem_text(exc: BaseException, settings: Settings | None = None) -> str:
    """``exc`` in words for the screen: the store layer's message or a diagnosis; never a secret."""
    if isinstance(exc, StoreError):
        return str(exc)
    secrets: list[str] = []
    where = None
    if settings is not None:
        target = settings.connection()
        secrets, where = target.secrets(), target.display()
    found = diagnose(exc, where, secrets)
    return str(found) if found is not None else scrub(f"{type(exc).__name__}: {exc}", secrets)


async def open_postgres(settings: Settings, seconds: float) -> Any:
    """A ``PostgresEngine`` on ``settings``, or the diagnosis (``BackendUnavailable``) within ``seconds``."""
    from stores.postgres.engine import PostgresEngine

    async with asyncio.timeout(seconds):
        return await PostgresEngine.open(settings)


async def table_counts(engine: Any) -> dict[str, int]:
    """Rows of every table, from one consistent snapshot of ``engine``."""
    async with engine.snapshot() as reader:
        return {spec.name: await reader.count(spec) for spec in ALL_TABLES}


def count_cell(counts: dict[str, int] | None, table: str | None) -> str:
    if counts is None:
        return "—"
    return f"{(sum(counts.values()) if table is None else counts[table]):,}"


def clock() -> str:
    return datetime.now().strftime("%H:%M:%S")


def short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"



@dataclass
class Side:
    """What one column of the table shows."""

    counts: dict[str, int] | None = None
    problem: str | None = None
