"""Client-side timings of the store operations: per store and operation, calls, mean, p95,
max and errors.

``instrument`` replaces each public coroutine method of a store instance by a timed one (an
instance attribute, so the class and other instances are untouched). The cost per call is
two clock reads and a few attribute updates; the p95 comes from a ring of the last
``RECENT`` durations, so it describes recent calls and is computed only when someone asks
(``Timings.snapshot``). ``bench/bench_monitor.py`` measures the overhead on memory
``users.get``.
"""
from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

RECENT = 512
"""How many of the latest durations per operation the p95 is computed from."""

CLOCK: Callable[[], float] = time.perf_counter
"""Seconds; read when a store is instrumented (tests replace it for deterministic figures)."""


class OperationTiming:
    """Running figures of one operation; durations in seconds."""

    __slots__ = ("calls", "errors", "total", "max", "recent", "_next")

    def __init__(self) -> None:
        self.calls = 0
        self.errors = 0
        self.total = 0.0
        self.max = 0.0
        self.recent: list[float] = []
        self._next = 0

    def record(self, seconds: float, failed: bool) -> None:
        self.calls += 1
        self.total += seconds
        if seconds > self.max:
            self.max = seconds
        if failed:
            self.errors += 1
        recent = self.recent
        if len(recent) < RECENT:
            recent.append(seconds)
        else:
            recent[self._next] = seconds
            self._next = (self._next + 1) % RECENT


@dataclass(frozen=True)
class OperationStats:
    """One row of the timings, in milliseconds (what the Monitor screen shows)."""

    store: str
    operation: str
    calls: int
    errors: int
    total_ms: float
    mean_ms: float
    p95_ms: float
    max_ms: float

    @property
    def name(self) -> str:
        return f"{self.store}.{self.operation}"


def _p95(durations: list[float]) -> float:
    ordered = sorted(durations)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


class Timings:
    """The registry of one ``Stores`` object: (store, operation) -> ``OperationTiming``."""

    def __init__(self) -> None:
        self.operations: dict[tuple[str, str], OperationTiming] = {}

    def operation(self, store: str, name: str) -> OperationTiming:
        return self.operations.setdefault((store, name), OperationTiming())

    def snapshot(self) -> list[OperationStats]:
        """Every operation called at least once, slowest mean first (then by name)."""
        rows = [OperationStats(store, name, t.calls, t.errors, t.total * 1000, t.total / t.calls * 1000,
                               _p95(t.recent) * 1000, t.max * 1000)
                for (store, name), t in list(self.operations.items()) if t.calls]
        rows.sort(key=lambda r: (-r.mean_ms, r.name))
        return rows

    def reset(self) -> None:
        """Start every figure again (in place: the timed methods keep their ``OperationTiming``)."""
        for timing in self.operations.values():
            timing.__init__()  # type: ignore[misc]

    def instrument(self, store_name: str, store: Any) -> None:
        """Time every public coroutine method of ``store`` (on the instance)."""
        for name, _method in inspect.getmembers(type(store), inspect.iscoroutinefunction):
            if not name.startswith("_"):
                setattr(store, name, _timed(getattr(store, name), self.operation(store_name, name), CLOCK))


def _timed(method: Callable[..., Any], timing: OperationTiming, clock: Callable[[], float]) -> Callable[..., Any]:
    """``method`` recording its duration in ``timing``. A cancelled call is not recorded
    (it did not finish); any other exception counts as an error and is re-raised."""
    record = timing.record

    @wraps(method)
    async def timed(*args: Any, **kwargs: Any) -> Any:
        started = clock()
        try:
            result = await method(*args, **kwargs)
        except Exception:
            record(clock() - started, True)
            raise
        record(clock() - started, False)
        return result

    return timed
