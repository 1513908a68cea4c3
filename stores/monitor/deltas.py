"""Per-interval figures from cumulative pg_stat_statements counters.

Totals since the last reset hide what is slow now; the difference between two samples shows
it. Entries are keyed by (dbid, userid, queryid, toplevel), so no reset is ever needed: an
entry seen for the first time counts as new and its whole figures belong to the interval. So
does an entry that started again in between (reset on its own or evicted, then built up
again), which shows as any counter gone down (a difference is never negative), or, on
PostgreSQL 17, as a changed ``stats_since`` (which also catches an entry built up past its
old figures within one interval). The first sample has no interval (None), not zeros.

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

ROUNDING = 1e-9
"""Relative slack on an unchanged entry's total_ms: entries the role may not see are summed
per database and role in whatever order the view returns them, so the same figures can add
up to a total a rounding step lower, which is no reset."""


def _difference(now: Figures, before: Figures) -> Figures:
    """The figures of one interval: ``now - before``, or ``now`` when any part would be
    negative (the entry started again in between, so all it counted is new)."""
    delta = now.minus(before)
    if delta.calls == 0 and abs(delta.total_ms) <= ROUNDING * abs(before.total_ms):
        delta = delta._replace(total_ms=0.0)
    if any(part < 0 for part in delta):
        return now
    return delta


def _restarted(since: datetime | None, before: datetime | None) -> bool:
    """The entry's stats_since moved: it was evicted or reset and created again."""
    return since is not None and before is not None and since != before


class DeltaTracker:
    def __init__(self, history: int = HISTORY) -> None:
        self.history = history
        self.samples = 0
        self._previous: Mapping[StatementKey, Figures] | None = None
        self._previous_reset: datetime | None = None
        self._previous_since: Mapping[StatementKey, datetime | None] = {}
        self._runs: dict[StatementKey, deque[tuple[int, float]]] = {}
        self._all: deque[float] = deque(maxlen=history)

    def update(self, current: Mapping[StatementKey, Figures], stats_reset: datetime | None = None,
               since: Mapping[StatementKey, datetime | None] | None = None) -> dict[StatementKey, Figures] | None:
        """The figures of each entry over the interval since the previous ``update``
        (None on the first). ``stats_reset`` (pg_stat_statements_info) changing means every
        entry starts again; an entry's ``since`` (its stats_since, PostgreSQL 17) changing
        means that entry does. ``current`` and ``since`` are kept (not copied): do not change
        them afterwards."""
        previous = self._previous
        if previous is not None and stats_reset is not None and stats_reset != self._previous_reset:
            previous = {}
        since = since or {}
        since_before = self._previous_since
        self._previous, self._previous_reset, self._previous_since = current, stats_reset, since
        self.samples += 1
        if previous is None:
            return None
        number = self.samples
        deltas: dict[StatementKey, Figures] = {}
        interval_total = 0.0
        for key, now in current.items():
            before = previous.get(key)
            if before is None or (since and _restarted(since.get(key), since_before.get(key))):
                delta = now
            elif now == before:
                delta = NO_CHANGE  # most entries, most of the time
            else:
                delta = _difference(now, before)
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
