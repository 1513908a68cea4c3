"""One sample of the monitor, headless: the store timings always, the server's view on PostgreSQL.

The screen's loop (monitor/screen.py) arms a timer only when the previous sample was shown,
so samples never overlap; this module only takes one."""
from __future__ import annotations

import time
from dataclasses import dataclass

from console.problems import in_words
from stores.monitor import PostgresMonitor, Sample, active_engine
from stores.open import Stores
from stores.timing import OperationStats


@dataclass(frozen=True)
class Taken:
    """A sample (None on memory or on failure), the timings, the monitor that took it, how long it took,
    and the problem in words when it failed."""

    sample: Sample | None
    timings: list[OperationStats]
    monitor: PostgresMonitor | None
    seconds: float
    problem: str | None = None


async def take(stores: Stores | None, monitor: PostgresMonitor | None) -> Taken:
    """Sample the active engine, reusing ``monitor`` while it watches that engine."""
    started = time.perf_counter()
    timings = stores.timings.snapshot() if stores is not None else []
    engine = active_engine(stores) if stores is not None else None
    if engine is None or getattr(engine, "backend", "") != "postgres":
        return Taken(None, timings, None, time.perf_counter() - started)
    if monitor is None or monitor.engine is not engine:
        monitor = PostgresMonitor(engine)
    try:
        sample = await monitor.sample()
    except Exception as exc:  # shown as words, never a traceback
        return Taken(None, timings, monitor, time.perf_counter() - started, in_words(exc))
    return Taken(sample, timings, monitor, time.perf_counter() - started)
