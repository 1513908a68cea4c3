"""Per-interval figures from cumulative pg_stat_statements counters.

Totals since the last reset hide what is slow now; the difference between two samples shows
it. Entries are keyed by (dbid, userid, queryid, toplevel), so no reset is ever needed: an
entry seen for the first time, or whose calls went down (a reset, or evicted and back),
counts as new and its whole figures belong to the interval. The first sample has no
interval (None), not zeros.

A short history of each entry's execution time per interval feeds the sparklines; only
intervals in which the entry ran are stored (a sample number and the milliseconds), so
thousands of idle entries cost nothing per sample.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from datetime import datetime

from stores.monitor.models import NO_CHANGE, Figures, StatementKey

HISTORY = 60
"""Intervals kept for the sparklines."""


class DeltaTracker:
    def __init__(self, history: int = HISTORY) -> None:
        self.history = history
        self.samples = 0
        self._previous: dict[StatementKey, Figures] | None = None
        self._previous_reset: datetime | None = None
        self._runs: dict[StatementKey, deque[tuple[int, float]]] = {}
        self._all: deque[float] = deque(maxlen=history)

    def update(self, current: Mapping[StatementKey, Figures],
               stats_reset: datetime | None = None) -> dict[StatementKey, Figures] | None:
        """The figures of each entry over the interval since the previous ``update``
        (None on the first). ``stats_reset`` (pg_stat_statements_info) changing means every
        entry starts again. ``current`` is kept (not copied): do not change it afterwards."""
        previous = self._previous
        if previous is not None and stats_reset is not None and stats_reset != self._previous_reset:
            previous = {}
        self._previous, self._previous_reset = current, stats_reset
        self.samples += 1
        if previous is None:
            return None
        number = self.samples
        deltas: dict[StatementKey, Figures] = {}
        interval_total = 0.0
        for key, now in current.items():
            before = previous.get(key)
            if before is None or now.calls < before.calls:
                delta = now
            elif now.calls == before.calls and now.total_ms == before.total_ms:
                delta = NO_CHANGE  # most entries, most of the time
            else:
                delta = now.minus(before)
            deltas[key] = delta
            if delta.calls:
                interval_total += delta.total_ms
                runs = self._runs.get(key)
                if runs is None:
                    runs = self._runs[key] = deque(maxlen=self.history)
                runs.append((number, delta.total_ms))
        self._all.append(interval_total)
        if len(self._runs) > 2 * len(current) + 100:  # forget entries gone from the view
            self._runs = {key: runs for key, runs in self._runs.items() if key in current}
        return deltas

    def history_of(self, key: StatementKey) -> list[float]:
        """Execution time (ms) of ``key`` per interval, oldest first, 0 where it did not run."""
        intervals = len(self._all)
        first = self.samples - intervals + 1
        values = [0.0] * intervals
        for number, ms in self._runs.get(key, ()):
            if number >= first:
                values[number - first] = ms
        return values

    def history_all(self) -> list[float]:
        return list(self._all)
