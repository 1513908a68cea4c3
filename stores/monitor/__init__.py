"""Monitoring of the active backend for the Monitor screen (no textual here).

On PostgreSQL: ``PostgresMonitor`` samples pg_stat_statements (with per-interval deltas),
the lokstra_auth tables and indexes, the database cache hit ratio and the activity, after
a capability probe that says what is missing and how to fix it. On every backend the store
layer's own client-side timings (``Stores.timings``, stores/timing.py) complete the picture.
"""
from __future__ import annotations

from typing import Any

from stores.monitor.capabilities import Capabilities, Gap
from stores.monitor.masking import mask_literals
from stores.monitor.models import (
    Figures, IndexStats, Sample, Session, Statement, StatementKey, StatementsInfo, TableStats,
)
from stores.monitor.monitor import MonitorError, PostgresMonitor


def active_engine(stores: Any) -> Any:
    """The engine the stores use now (the active one behind a ``SwitchableEngine``)."""
    engine = stores.engine
    return getattr(engine, "current", engine)


def postgres_monitor_for(stores: Any, **options: Any) -> PostgresMonitor | None:
    """A monitor of the active engine when it is PostgreSQL, else None (memory)."""
    engine = active_engine(stores)
    return PostgresMonitor(engine, **options) if getattr(engine, "backend", "") == "postgres" else None


__all__ = [
    "Capabilities", "Figures", "Gap", "IndexStats", "MonitorError", "PostgresMonitor", "Sample", "Session",
    "Statement", "StatementKey", "StatementsInfo", "TableStats", "active_engine", "mask_literals",
    "postgres_monitor_for",
]
