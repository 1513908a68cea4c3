"""What the runner reports: progress while it works, and the result of each operation."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from migrations.catalog import Difference
from migrations.jsonable import to_jsonable
from migrations.lock import LockHolder
from migrations.status import SchemaStatus


@dataclass(frozen=True)
class Progress:
    """One event for a UI: ``waiting_for_lock``, ``started``, ``finished`` or ``failed``."""

    kind: str
    version: int | None = None
    description: str | None = None
    action: str | None = None  # apply | revert
    index: int = 0  # 1-based position in this run
    total: int = 0
    duration_ms: int | None = None
    error: str | None = None
    holder: LockHolder | None = None


@dataclass
class StepResult:
    """One migration applied or reverted (or tried)."""

    version: int
    description: str
    action: str  # apply | revert
    success: bool
    duration_ms: int
    error: str | None = None
    sqlstate: str | None = None
    error_line: int | None = None
    detail: str | None = None
    hint: str | None = None
    statements: list[str] = field(default_factory=list)  # filled on dry runs

    @property
    def label(self) -> str:
        return f"{self.version:03d}_{self.description}"


class Outcome(str, Enum):
    DONE = "done"
    NOTHING_TO_DO = "nothing_to_do"
    REFUSED = "refused"
    FAILED = "failed"
    LOCKED = "locked"


@dataclass
class RunResult:
    """The result of ``up`` or ``down`` (``dry_run``: everything was rolled back)."""

    operation: str  # up | down
    dry_run: bool
    outcome: Outcome
    steps: list[StepResult] = field(default_factory=list)
    accepted: list[int] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    lock_holder: LockHolder | None = None
    lock_waited: float = 0.0
    status: SchemaStatus | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in (Outcome.DONE, Outcome.NOTHING_TO_DO)

    @property
    def failed_step(self) -> StepResult | None:
        return next((step for step in self.steps if not step.success), None)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = to_jsonable(self)
        data["status"] = self.status.to_json() if self.status else None
        data["ok"] = self.ok
        return data


class AdoptionOutcome(str, Enum):
    MATCHES = "matches"
    RECORDED = "recorded"
    DIFFERS = "differs"
    ALREADY_TRACKED = "already_tracked"
    NOTHING_TO_ADOPT = "nothing_to_adopt"
    CANNOT_COMPARE = "cannot_compare"
    LOCKED = "locked"


@dataclass
class AdoptionReport:
    """Whether an untracked lokstra_auth schema is what the baseline migration creates."""

    outcome: AdoptionOutcome
    message: str
    baseline_version: int
    baseline_description: str
    schema: str
    differences: list[Difference] = field(default_factory=list)
    lock_holder: LockHolder | None = None

    @property
    def adoptable(self) -> bool:
        return self.outcome in (AdoptionOutcome.MATCHES, AdoptionOutcome.RECORDED)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = to_jsonable(self)
        data["differences"] = [difference.to_json() for difference in self.differences]
        data["adoptable"] = self.adoptable
        return data


class RelocationOutcome(str, Enum):
    PLANNED = "planned"
    RELOCATED = "relocated"
    NOTHING_TO_DO = "nothing_to_do"
    REFUSED = "refused"
    LOCKED = "locked"


@dataclass
class RelocationReport:
    """Moving an older console's rows out of lokstra's ``schema_migrations``."""

    outcome: RelocationOutcome
    message: str
    schema: str | None = None
    versions: list[int] = field(default_factory=list)
    history_rows: int = 0
    upstream_highest_before: int | None = None
    upstream_highest_after: int | None = None
    effect: str | None = None
    lock_holder: LockHolder | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in (RelocationOutcome.PLANNED, RelocationOutcome.RELOCATED, RelocationOutcome.NOTHING_TO_DO)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = to_jsonable(self)
        data["ok"] = self.ok
        return data
