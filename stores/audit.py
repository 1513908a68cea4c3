"""The console's audit trail: who changed what, when, with the fields before and after.

Records are written by ``stores.admin.Admin`` inside the same ``engine.atomic()`` block as
the change (PostgreSQL: one transaction; memory: undone together). They live outside the
six lokstra tables (``lokstra_console.audit_log``, migration 003; a side table in memory),
have no foreign key, and so outlive the tenant they are about. Before/after hold only
``stores.secrets.safe_fields`` (no key hash, DSN masked).
"""
from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from stores.entities.base import TableStore
from stores.models import JsonObject, Record, Text, naive_utc, utcnow
from stores.query import Condition, Eq, Filter, Page, validation_failed
from stores.tables import OrderIndex, TableSpec, Unique

AUDIT_SCHEMA = "lokstra_console"


class AuditEntry(Record):
    id: Text
    at: datetime
    tenant_id: Text
    entity: Text
    entity_key: Text
    action: Text
    os_user: Text
    ssh_client: Text | None = None
    db_role: Text | None = None
    backend: Text
    before: JsonObject | None = None
    after: JsonObject | None = None
    note: Text | None = None

    def key(self) -> tuple[str, ...]:
        return (self.id,)


AUDIT = TableSpec(
    name="audit_log", entity="audit record", model=AuditEntry,
    primary=Unique("audit_log_pkey", ("id",), "audit record id", "id"),
    orders=(OrderIndex("id", ()), OrderIndex("id", ("tenant_id",))),
    touch_column=None, created_column="at", schema=AUDIT_SCHEMA,
)


def new_audit_id(at: datetime) -> str:
    """Sorts by time (to the microsecond), then by a random tail: pages come out chronological."""
    return f"{at:%Y%m%dT%H%M%S.%f}-{secrets.token_hex(4)}"


class AuditFilter(Filter):
    action: Text | None = None
    entity: Text | None = None
    os_user: Text | None = None

    def conditions(self) -> tuple[Condition, ...]:
        return tuple(Eq(name, value) for name, value in
                     (("action", self.action), ("entity", self.entity), ("os_user", self.os_user)) if value)


class Audit(TableStore[AuditEntry]):
    spec = AUDIT

    async def record(self, entry: AuditEntry) -> AuditEntry:
        return await self._create(entry)

    async def page(self, tenant_id: str | None = None, *, after: str | None = None, before: str | None = None,
                   last: bool = False, limit: int = 50, filter: AuditFilter | dict | None = None) -> Page[AuditEntry]:
        """Oldest first; ``last=True`` gives the newest page. ``tenant_id`` narrows to one
        tenant (also one deleted long ago)."""
        scope = self.scope(tenant_id=tenant_id) if tenant_id is not None else ()
        return await self._page(scope, "id", AuditFilter.parse(filter), after, limit, before, last)

    async def get(self, entry_id: str) -> AuditEntry:
        return await self._get((entry_id,))


def audit_entry(*, tenant_id: str, entity: str, entity_key: str, action: str, os_user: str,
                ssh_client: str | None, db_role: str | None, backend: str,
                before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
                note: str | None = None, at: datetime | None = None) -> AuditEntry:
    at = naive_utc(at) if at is not None else utcnow()
    try:
        return AuditEntry(id=new_audit_id(at), at=at, tenant_id=tenant_id, entity=entity, entity_key=entity_key,
                          action=action, os_user=os_user, ssh_client=ssh_client, db_role=db_role, backend=backend,
                          before=before, after=after, note=note)
    except ValidationError as exc:  # the same ValidationFailed on both backends, before anything is written
        raise validation_failed(AUDIT.entity, exc) from None



async def carry_audit(source: Any, target: Any) -> int:
    """Copy into ``target`` the audit records ``source`` holds and it lacks (by id); the
    number copied. A live switch calls it before moving the data off the memory backend,
    so the changes made there arrive with their records (each says backend "memory"). A
    record is evidence of what the console did: it is carried even if the data copy then
    fails, and a retry does not duplicate it."""
    carried = 0
    for entry in await source.select(AUDIT, (), (), "id"):
        if await target.fetch(AUDIT, entry.key()) is None:
            await target.insert(AUDIT, entry)
            carried += 1
    return carried
