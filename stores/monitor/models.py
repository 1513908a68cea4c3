"""What one monitoring sample holds. Missing data is None (the screen shows n/a), never 0."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

StatementKey = tuple[int, int, int | None, bool]
"""(dbid, userid, queryid, toplevel): what pg_stat_statements keys an entry by."""


class Figures(NamedTuple):
    """Counters of one statement, since the last reset or over one interval (a tuple: one
    is built per entry and sample, thousands of them)."""

    calls: int
    total_ms: float
    rows: int
    blks_hit: int
    blks_read: int

    @property
    def mean_ms(self) -> float | None:
        return self.total_ms / self.calls if self.calls else None

    @property
    def hit_ratio(self) -> float | None:
        """Shared-buffer hit ratio, None when no block was touched."""
        touched = self.blks_hit + self.blks_read
        return self.blks_hit / touched if touched else None

    def minus(self, before: Figures) -> Figures:
        return Figures(self.calls - before.calls, self.total_ms - before.total_ms, self.rows - before.rows,
                       self.blks_hit - before.blks_hit, self.blks_read - before.blks_read)


NO_CHANGE = Figures(0, 0.0, 0, 0, 0)


@dataclass(slots=True)
class Statement:
    """One pg_stat_statements entry. ``query`` is the normalised text (None until read, or
    when the role may not see it); ``interval`` the figures of the last interval (None on
    the first sample); ``share`` / ``interval_share`` its part of all the time."""

    key: StatementKey
    database: str | None
    role: str | None
    totals: Figures
    stddev_ms: float | None
    io_ms: float | None
    plan_ms: float | None
    query: str | None = None
    interval: Figures | None = None
    share: float | None = None
    interval_share: float | None = None
    own: bool = False
    """A statement of the monitor itself (its text starts with the marker)."""

    @property
    def id(self) -> str:
        """A stable text id (DataTable row key)."""
        dbid, userid, queryid, toplevel = self.key
        return f"{dbid}:{userid}:{queryid if queryid is not None else '-'}:{'t' if toplevel else 'n'}"


@dataclass(frozen=True)
class StatementsInfo:
    """pg_stat_statements_info (PostgreSQL 14+): evicted entries and the last reset."""

    dealloc: int
    stats_reset: datetime | None


@dataclass(frozen=True)
class TableStats:
    name: str
    total_bytes: int
    heap_bytes: int
    index_bytes: int
    toast_bytes: int
    live_rows: int | None
    dead_rows: int | None
    seq_scan: int | None
    seq_tup_read: int | None
    idx_scan: int | None
    last_vacuum: datetime | None
    last_analyze: datetime | None
    heap_hit_ratio: float | None

    SEQ_HINT_MIN_ROWS = 1000
    """Sequential scans of smaller tables are normal; no missing-index hint below this."""

    @property
    def mostly_sequential(self) -> bool:
        """Read mostly by sequential scans while big enough for an index to matter."""
        if self.seq_scan is None or (self.live_rows or 0) < self.SEQ_HINT_MIN_ROWS:
            return False
        return self.seq_scan > (self.idx_scan or 0)


@dataclass(frozen=True)
class IndexStats:
    table: str
    name: str
    bytes: int
    idx_scan: int | None
    idx_tup_read: int | None
    unique: bool
    primary: bool

    @property
    def unused(self) -> bool:
        """Never scanned since the statistics reset, and not enforcing a constraint."""
        return self.idx_scan == 0 and not (self.unique or self.primary)


@dataclass(frozen=True)
class Session:
    """One client backend of pg_stat_activity. ``query`` is the live text, unmasked: mask
    it (``masking.mask_literals``) before showing it."""

    pid: int
    role: str | None
    database: str | None
    application: str | None
    client: str | None
    state: str | None
    wait_event_type: str | None
    wait_event: str | None
    xact_seconds: float | None
    query_seconds: float | None
    blocked_by: tuple[int, ...]
    query: str | None

    @property
    def wait(self) -> str | None:
        if not self.wait_event_type:
            return None
        return f"{self.wait_event_type}:{self.wait_event}" if self.wait_event else self.wait_event_type


@dataclass
class Sample:
    """One refresh. Each part is None when it could not be read; ``problems`` says why
    (by part: ``statements``, ``info``, ``tables``, ``activity``, ``database``)."""

    taken_at: datetime
    seconds: float
    """How long the sample took, end to end in the store layer."""
    interval_seconds: float | None
    """Time since the previous sample (the interval of the deltas); None on the first."""
    statements: list[Statement] | None = None
    statements_total: int | None = None
    """Entries in pg_stat_statements (before hiding the monitor's own)."""
    info: StatementsInfo | None = None
    tables: list[TableStats] | None = None
    indexes: list[IndexStats] | None = None
    cache_hit_ratio: float | None = None
    database_stats_reset: datetime | None = None
    activity: list[Session] | None = None
    history_all: list[float] = field(default_factory=list)
    """Total execution time (ms) of all statements per interval, oldest first."""
    problems: dict[str, str] = field(default_factory=dict)
