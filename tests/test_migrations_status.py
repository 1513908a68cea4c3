"""The state rules of ``migrations.status`` on hand-made tracking rows and history (no database)."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from migrations import source
from migrations.status import Overall, State, build
from migrations.tracking import AppliedRow, HistoryRow, TrackingInfo
from tests.support.migrations_helpers import write_migration

AT = datetime(2026, 1, 2, 3, 4, 5)


@pytest.fixture
def files(tmp_path: Path) -> source.MigrationSet:
    for version in (1, 2, 3):
        write_migration(tmp_path, version, f"m{version}", f"SELECT {version};", "SELECT 0;")
    return source.load(tmp_path)


def event(version: int, kind: str, checksum: str | None, direction: str = "up", error: str | None = None) -> HistoryRow:
    return HistoryRow(id=0, version=version, description=f"m{version}", event=kind, direction=direction,
                      checksum=checksum, db_role="admin", os_user="ops", client_host="box", started_at=AT,
                      duration_ms=5, success=kind != "fail", error=error, note=None)


def status_of(files: source.MigrationSet, applied: list[int], events: list[HistoryRow], app_schema: bool = True):
    rows = {v: AppliedRow(v, f"m{v}", AT) for v in applied}
    info = TrackingInfo(exists=bool(applied), history_exists=True)
    return build(files, info, rows, events, app_schema, "db")


def test_pending_is_files_minus_applied_and_lower_ones_are_out_of_order(files: source.MigrationSet) -> None:
    status = status_of(files, [1, 3], [event(v, "apply", files.get(v).checksum) for v in (1, 3)])
    assert [(m.version, m.state) for m in status.migrations] == [(1, State.APPLIED), (2, State.OUT_OF_ORDER), (3, State.APPLIED)]
    assert status.overall is Overall.DRIFT and status.current_version == 3


def test_a_new_apply_replaces_an_earlier_accept(files: source.MigrationSet) -> None:
    events = [event(1, "apply", "old"), event(1, "accept", "older-accepted"), event(1, "revert", None, "down"),
              event(1, "accept", "stale"), event(1, "apply", files.get(1).checksum)]
    assert status_of(files, [1], events).get(1).state is State.APPLIED


def test_accepting_a_changed_file_makes_it_applied_again(files: source.MigrationSet) -> None:
    events = [event(1, "apply", "what-was-applied")]
    assert status_of(files, [1], events).get(1).state is State.CHANGED
    events.append(event(1, "accept", files.get(1).checksum))
    assert status_of(files, [1], events).get(1).state is State.APPLIED


def test_after_a_revert_a_reapply_outside_the_console_is_unverified_not_changed(files: source.MigrationSet) -> None:
    events = [event(1, "apply", "an-older-file"), event(1, "revert", None, "down")]
    applied = status_of(files, [1], events).get(1)
    assert applied.state is State.APPLIED and applied.recorded_checksum is None


def test_failed_then_baseline_and_missing(files: source.MigrationSet) -> None:
    events = [event(1, "baseline", files.get(1).checksum), event(2, "fail", files.get(2).checksum, error="boom")]
    status = status_of(files, [1, 9], events)
    assert status.get(1).state is State.BASELINE and status.baseline_version == 1
    assert status.get(2).state is State.FAILED and status.get(2).error == "boom" and status.get(2).out_of_order
    assert status.get(9).state is State.MISSING and status.get(9).reversible is None
    assert status.overall is Overall.DRIFT


def test_whole_schema_lines(files: source.MigrationSet) -> None:
    assert status_of(files, [], [], app_schema=False).overall is Overall.NOT_INITIALISED
    assert status_of(files, [], [], app_schema=True).overall is Overall.UNTRACKED
    applied = [event(v, "apply", files.get(v).checksum) for v in (1, 2, 3)]
    current = status_of(files, [1, 2, 3], applied)
    assert current.overall is Overall.CURRENT and current.headline == "current at version 003"
    failed = status_of(files, [1, 2], applied[:2] + [event(3, "fail", "x", error="boom")])
    assert failed.overall is Overall.FAILED and failed.headline == "failed: 003_m3 failed (boom); 1 pending"
