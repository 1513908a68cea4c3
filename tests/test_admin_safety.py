"""Audit and sessions (issue 18 item 6), on both backends: a status change that changes nothing
is refused with no audit row; the Monitor's reveal is audited, and refused in read-only mode."""
from __future__ import annotations

import pytest

from console.hints import for_cli, for_tui
from stores import Stores
from stores.admin import SERVER_SCOPE, Actor, Admin
from stores.errors import ReadOnly, Unchanged
from stores.postgres.diagnose import MIGRATE_HINT
from tests.support import factories as f

ACTOR = Actor(os_user="ops-anna", ssh_client=None)


async def _audit(stores: Stores) -> list:
    return (await stores.audit.page(None, limit=1000)).rows


async def test_suspending_a_suspended_user_is_refused_and_not_audited(stores: Stores) -> None:
    admin = Admin(stores, ACTOR)
    await admin.create(f.tenant("acme"))
    user = await admin.create(f.user("acme", "u1", email="a@x.io"))
    suspended = await admin.set_status(user, "suspended")
    records = len(await _audit(stores))
    with pytest.raises(Unchanged, match="suspended already"):
        await admin.set_status(suspended, "suspended")
    assert len(await _audit(stores)) == records
    assert (await stores.users.get("acme", "u1")).updated_at == suspended.updated_at  # rolled back
    with pytest.raises(Unchanged):
        await admin.set_status(await admin.set_status(suspended, "active"), "active")


async def test_a_reveal_is_audited_without_the_literals(stores: Stores) -> None:
    await Admin(stores, ACTOR).audit_reveal("query", "queryid 42", "the literals of query 42")
    [entry] = [e for e in await _audit(stores) if e.action == "reveal"]
    assert (entry.tenant_id, entry.entity, entry.entity_key) == (SERVER_SCOPE, "query", "queryid 42")
    assert entry.note == "revealed the literals of query 42" and entry.before is None and entry.after is None


async def test_read_only_refuses_a_reveal_it_cannot_audit(migrated_db: str) -> None:
    from stores import open_stores
    from tests.support.databases import pg_settings

    stores = await open_stores(pg_settings(migrated_db, read_only=True))
    try:
        with pytest.raises(ReadOnly, match="audited"):
            await Admin(stores, ACTOR).audit_reveal("session", "pid 1", "the literals of backend 1's query")
    finally:
        await stores.close()


def test_hints_are_phrased_for_where_they_show() -> None:
    tui = for_tui(f"The schema is not migrated. {MIGRATE_HINT}")
    assert "lokstra-console" not in tui and "Migrations screen (2)" in tui
    assert "`lokstra-console migrate up --dsn DSN`" in for_cli(MIGRATE_HINT, dsn_given=True)
    assert for_cli(MIGRATE_HINT, dsn_given=False) == MIGRATE_HINT
