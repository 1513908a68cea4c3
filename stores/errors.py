"""The store layer's errors: the same types, with the same meaning, on every backend.

The UI shows ``str(error)``: plain words, never a traceback, never a secret.
"""
from __future__ import annotations


class StoreError(Exception):
    """Base of every error the stores raise on purpose."""


class NotFound(StoreError):
    def __init__(self, entity: str, key: str) -> None:
        self.entity = entity
        self.key = key
        super().__init__(f"{entity} {key} does not exist")


class AlreadyExists(StoreError):
    """A uniqueness rule was broken; ``rule`` names it (e.g. "username per tenant")."""

    def __init__(self, entity: str, rule: str, value: str, field: str) -> None:
        self.entity = entity
        self.rule = rule
        self.value = value
        self.field = field
        super().__init__(f"{entity} already exists: the {rule} must be unique and {value!r} is taken")


class ReferenceMissing(StoreError):
    """The parent a row points at (tenant, app, user) does not exist."""

    def __init__(self, entity: str, parent: str, key: str, field: str) -> None:
        self.entity = entity
        self.parent = parent
        self.key = key
        self.field = field
        super().__init__(f"cannot save {entity}: {parent} {key} does not exist")


class StillReferenced(StoreError):
    """A delete refused because rows of another table still point at the row (ON DELETE
    RESTRICT, e.g. ``tenant_ownership_history`` in lokstra-auth's current layout)."""

    def __init__(self, entity: str, key: str, table: str) -> None:
        self.entity = entity
        self.key = key
        self.table = table
        super().__init__(f"cannot delete {entity} {key}: rows in {table} still refer to it "
                         "(the database refuses to delete it while they exist)")


class ValidationFailed(StoreError):
    """Input the database would reject (or that breaks a rule of ours), per field."""

    def __init__(self, entity: str, problems: dict[str, str]) -> None:
        self.entity = entity
        self.problems = problems
        detail = "; ".join(f"{name}: {text}" for name, text in problems.items())
        super().__init__(f"invalid {entity}: {detail}")


class Conflict(StoreError):
    """An optimistic update found the row changed since the caller read it."""

    def __init__(self, entity: str, key: str, current: object) -> None:
        self.entity = entity
        self.key = key
        self.current = current
        super().__init__(f"{entity} {key} was changed by someone else since you opened it")


class BackendUnavailable(StoreError):
    """The backend cannot be used; ``cause`` is a short code, ``reason`` and ``fix`` plain words."""

    def __init__(self, cause: str, reason: str, fix: str, target: str | None = None) -> None:
        self.cause = cause
        self.reason = reason
        self.fix = fix
        self.target = target
        where = f" ({target})" if target else ""
        super().__init__(f"{reason}{where}. {fix}")


class ReadOnly(StoreError):
    """A write was attempted on a read-only connection (``--read-only`` or the role)."""

    def __init__(self, detail: str = "") -> None:
        super().__init__("the console is read-only here: the database refused a write" + (f" ({detail})" if detail else ""))


class LayoutUnsupported(StoreError):
    """The database holds a lokstra-auth layout in which this table or operation does not fit
    the console's description (``stores.layouts``): refused before any SQL runs."""

    def __init__(self, what: str, layout: str, reason: str) -> None:
        self.what = what
        self.layout = layout
        self.reason = reason
        super().__init__(f"{what} is not available on this database: {reason}")


class Unchanged(StoreError):
    """A change that would change nothing (suspending a suspended user): refused, and no
    audit record is written for it."""

    def __init__(self, entity: str, key: str, detail: str) -> None:
        self.entity = entity
        self.key = key
        super().__init__(f"{entity} {key} is {detail} already: nothing to change")
