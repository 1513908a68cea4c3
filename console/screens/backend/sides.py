"""What the Backend screen works with, without a widget: the PostgreSQL target, counts, words."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from console.postgres_target import postgres_target
from console.problems import in_words
from stores.settings import Settings
from stores.tables import ALL_TABLES

TABLES = [spec.name for spec in ALL_TABLES]


def postgres_settings(app: Any) -> Settings | None:
    """The PostgreSQL database this console switches to (``console.postgres_target``)."""
    found = postgres_target(app.settings, app.config)
    return found.settings if found is not None else None


def problem_text(exc: BaseException, settings: Settings | None = None) -> str:
    """``exc`` in words (``console.problems.in_words``) on the database of ``settings``."""
    if settings is None:
        return in_words(exc)
    target = settings.connection()
    return in_words(exc, where=target.display(), secrets=target.secrets())


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
