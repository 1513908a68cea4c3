"""What state each migration and the schema as a whole are in (Flyway ``info``, for lokstra).

Pure functions over what was read: the files, the console's tracking rows and history, and
lokstra's own tracking tables. The console's ``lokstra_console.migrations`` says what of
the console's files is applied; the history adds who, when, how long and failures.
lokstra's tables are upstream's business: they are shown (``upstream``), never taken as
the console's.

Pending means "a file whose version is not applied", not "above the highest applied
version": a file below the highest applied version is out of order (lokstra's own runner
would silently skip it forever; the console says so).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from migrations.jsonable import to_jsonable
from migrations.source import Migration, MigrationSet
from migrations.tracking import AppliedRow, HistoryRow, LegacyRows, TrackingInfo, UpstreamTable


class State(str, Enum):
    APPLIED = "applied"
    BASELINE = "baseline"
    PENDING = "pending"
    OUT_OF_ORDER = "out_of_order"
    CHANGED = "changed"
    MISSING = "missing"
    FAILED = "failed"


APPLIED_STATES = (State.APPLIED, State.BASELINE, State.CHANGED, State.MISSING)
DRIFT_STATES = (State.CHANGED, State.MISSING, State.OUT_OF_ORDER)


class Overall(str, Enum):
    RELOCATE = "relocate"
    """The console's rows are in upstream's table (an older console): ``migrate relocate``."""
    CURRENT = "current"
    PENDING = "pending"
    DRIFT = "drift"
    FAILED = "failed"
    NOT_INITIALISED = "not_initialised"
    UNTRACKED = "untracked"


@dataclass
class MigrationStatus:
    version: int
    description: str
    state: State
    applied_at: datetime | None = None
    applied_by: str | None = None
    duration_ms: int | None = None
    checksum: str | None = None
    recorded_checksum: str | None = None
    reversible: bool | None = None
    out_of_order: bool = False
    failed_at: datetime | None = None
    error: str | None = None
    note: str | None = None

    @property
    def label(self) -> str:
        return f"{self.version:03d}_{self.description}"

    @property
    def short_checksum(self) -> str | None:
        return self.checksum[:8] if self.checksum else None

    @property
    def is_applied(self) -> bool:
        return self.state in APPLIED_STATES


@dataclass
class SchemaStatus:
    database: str
    source: str
    overall: Overall
    headline: str
    migrations: list[MigrationStatus]
    tracking_table: str | None
    tracking_found: list[str] = field(default_factory=list)
    """lokstra's tracking tables found (upstream's, read only)."""
    upstream: list[UpstreamTable] = field(default_factory=list)
    legacy: LegacyRows | None = None
    data_schema: str = "lokstra_auth"
    warnings: list[str] = field(default_factory=list)
    current_version: int | None = None
    baseline_version: int | None = None

    @property
    def is_current(self) -> bool:
        return self.overall is Overall.CURRENT

    def with_state(self, *states: State) -> list[MigrationStatus]:
        return [m for m in self.migrations if m.state in states]

    def get(self, version: int) -> MigrationStatus | None:
        return next((m for m in self.migrations if m.version == version), None)

    def last_applied(self, n: int) -> list[MigrationStatus]:
        """The ``n`` most recent applied versions, highest first (what ``down n`` reverts)."""
        return sorted((m for m in self.migrations if m.is_applied), key=lambda m: m.version, reverse=True)[:n]

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = to_jsonable(self)
        for item, migration in zip(data["migrations"], self.migrations):
            item["short_checksum"] = migration.short_checksum
        for item, table in zip(data["upstream"], self.upstream):
            item["name"], item["highest"] = table.name, table.highest
        return data


@dataclass
class _Recorded:
    """What the history says about one version since it was last applied."""

    origin: HistoryRow | None = None  # the apply or baseline event
    accepted: HistoryRow | None = None  # a later accept of a changed or missing file
    last: HistoryRow | None = None  # the latest event of any kind

    @property
    def checksum(self) -> str | None:
        event = self.accepted or self.origin
        return event.checksum if event else None


def _recorded(events: list[HistoryRow]) -> dict[int, _Recorded]:
    by_version: dict[int, _Recorded] = {}
    for event in events:
        entry = by_version.setdefault(event.version, _Recorded())
        entry.last = event
        if event.event in ("apply", "baseline"):
            entry.origin, entry.accepted = event, None
        elif event.event == "accept":
            entry.accepted = event
        elif event.event == "revert":
            entry.origin, entry.accepted = None, None
    return by_version


def _who(event: HistoryRow) -> str:
    return f"{event.db_role} ({event.os_user or '?'}@{event.client_host or '?'})"


def build(
    source: MigrationSet,
    tracking: TrackingInfo,
    applied: dict[int, AppliedRow],
    events: list[HistoryRow],
    app_schema_present: bool,
    database: str,
    data_schema: str = "lokstra_auth",
) -> SchemaStatus:
    recorded = _recorded(events)
    highest = max(applied, default=None)
    versions = sorted(set(source.versions) | set(applied))
    migrations = [
        _one(version, source.get(version), applied.get(version), recorded.get(version, _Recorded()), highest)
        for version in versions
    ]
    baseline = next((m.version for m in migrations if m.state is State.BASELINE), None)
    if tracking.legacy is not None and not applied:
        overall, headline = Overall.RELOCATE, (
            f"the console's history is in upstream's {tracking.legacy.schema}.schema_migrations "
            f"(versions {', '.join(str(v) for v in tracking.legacy.versions)}): run `migrate relocate`")
    else:
        overall, headline = _overall(migrations, bool(applied), app_schema_present, highest, baseline, data_schema)
    return SchemaStatus(
        database=database,
        source=source.location,
        overall=overall,
        headline=headline,
        migrations=migrations,
        tracking_table=tracking.table if tracking.exists else None,
        tracking_found=[table.name for table in tracking.upstream],
        upstream=tracking.upstream,
        legacy=tracking.legacy,
        data_schema=data_schema,
        warnings=tracking.warnings() + [f"ignored {name}: not a NNN_name.up|down.sql file" for name in source.ignored],
        current_version=highest,
        baseline_version=baseline,
    )


def _one(version: int, migration: Migration | None, row: AppliedRow | None, recorded: _Recorded,
         highest: int | None) -> MigrationStatus:
    description = migration.description if migration else (row.description if row and row.description else "?")
    status = MigrationStatus(
        version=version,
        description=description,
        state=State.PENDING,
        checksum=migration.checksum if migration else None,
        reversible=migration.reversible if migration else None,
    )
    if row is not None:
        status.applied_at = row.applied_at
        status.recorded_checksum = recorded.checksum or row.checksum
        if recorded.origin:
            status.applied_by = _who(recorded.origin)
            status.duration_ms = recorded.origin.duration_ms
        if migration is None:
            status.state = State.MISSING
            status.note = "applied, but its file is not in this source"
        elif status.recorded_checksum is None:
            status.state = State.APPLIED
            status.note = "applied outside the console: no checksum recorded"
        elif status.recorded_checksum != migration.checksum:
            status.state = State.CHANGED
            status.note = "the file differs from the one applied"
        elif recorded.origin and recorded.origin.event == "baseline" and not recorded.accepted:
            status.state = State.BASELINE
        else:
            status.state = State.APPLIED
        if recorded.last and recorded.last.event == "fail" and recorded.last.direction == "down":
            status.note = f"the last revert failed: {recorded.last.error}"
        return status
    status.out_of_order = highest is not None and version < highest
    if recorded.last and recorded.last.event == "fail" and recorded.last.direction == "up":
        status.state = State.FAILED
        status.failed_at = recorded.last.started_at
        status.error = recorded.last.error
    elif status.out_of_order:
        status.state = State.OUT_OF_ORDER
        status.note = f"not applied, but version {highest} is"
    return status


def _overall(migrations: list[MigrationStatus], tracked: bool, app_schema_present: bool,
             highest: int | None, baseline: int | None, data_schema: str) -> tuple[Overall, str]:
    suffix = f" (adopted baseline {baseline:03d})" if baseline is not None else ""
    drift = [m for m in migrations if m.state in DRIFT_STATES or (m.state is State.FAILED and m.out_of_order)]
    failed = [m for m in migrations if m.state is State.FAILED]
    pending = [m for m in migrations if not m.is_applied]
    if not tracked and app_schema_present:
        return Overall.UNTRACKED, (f"not tracked: {data_schema} has lokstra's tables but the console has recorded "
                                   "no migration; run `migrate adopt`")
    if drift:
        counts: dict[str, list[str]] = {}
        for m in drift:
            counts.setdefault(m.state.value.replace("_", " "), []).append(f"{m.version:03d}")
        detail = ", ".join(f"{len(labels)} {state} ({', '.join(labels)})" for state, labels in counts.items())
        return Overall.DRIFT, f"drift: {detail}{suffix}"
    if failed:
        first = failed[0]
        return Overall.FAILED, f"failed: {first.label} failed ({first.error}); {len(pending)} pending{suffix}"
    if not tracked:
        return Overall.NOT_INITIALISED, f"not initialised: {len(pending)} pending"
    if pending:
        return Overall.PENDING, f"{len(pending)} pending (at version {highest:03d}){suffix}"
    return Overall.CURRENT, f"current at version {highest:03d}{suffix}"
