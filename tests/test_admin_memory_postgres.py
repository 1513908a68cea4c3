"""Audited writes: what only one backend can show (memory's unsaved-changes counter,
PostgreSQL's row locks against another session)."""
from __future__ import annotations

import asyncio

import asyncpg
import pytest

from stores import Settings, open_stores
from stores.admin import Actor, Admin
from stores.errors import NotFound, ValidationFailed
from tests.support.databases import pg_settings, truncate_all
from tests.support import factories as f
from tests.support.waits import until_blocked

ACTOR = Actor(os_user="ops")


async def test_memory_counts_changes_but_not_audit_records_nor_rolled_back_writes() -> None:
    stores = await open_stores(Settings(use_postgres=False, demo_data=False))
    engine = stores.engine
    admin = Admin(stores, ACTOR)
    tenant = await admin.create(f.tenant("acme"))
    assert engine.changes == 1, "the tenant counts, its audit record does not"
    await admin.reveal(tenant, "db_dsn")
    assert engine.changes == 1, "a reveal changes no data"
    with pytest.raises(ValidationFailed):
        await admin.delete(tenant, typed_id="wrong")
    before = engine.changes
    with pytest.raises(RuntimeError):
        async with engine.atomic():
            await stores.users.create(f.user("acme", "u1"))
            raise RuntimeError("undone")
    assert engine.changes == before


@pytest.fixture
async def pg(migrated_db: str):  # noqa: ANN201
    stores = await open_stores(pg_settings(migrated_db))
    await truncate_all(stores)
    yield stores, migrated_db
    await stores.close()


async def test_a_row_deleted_by_another_session_meanwhile_is_not_recorded_as_our_delete(pg) -> None:  # noqa: ANN001
    stores, dsn = pg
    admin = Admin(stores, ACTOR)
    await f.seed_basic(stores, "acme")
    tenant = await stores.tenants.get("acme")
    other = await asyncpg.connect(dsn)
    try:
        transaction = other.transaction()
        await transaction.start()
        await other.execute("DELETE FROM lokstra_auth.tenants WHERE id = 'acme'")  # holds the row lock
        ours = asyncio.create_task(admin.delete(tenant, typed_id="acme"))
        await until_blocked(dsn)
        assert not ours.done(), "our delete waits for the other session's lock"
        await transaction.commit()
        with pytest.raises(NotFound):
            await ours
    finally:
        await other.close()
    assert [e.action for e in (await stores.audit.page(limit=100)).rows] == []


async def test_the_audit_before_is_what_the_change_replaced_under_a_concurrent_change(pg) -> None:  # noqa: ANN001
    stores, dsn = pg
    admin = Admin(stores, ACTOR)
    await stores.tenants.create(f.tenant("acme"))
    tenant = await stores.tenants.get("acme")
    other = await asyncpg.connect(dsn)
    try:
        transaction = other.transaction()
        await transaction.start()
        await other.execute("UPDATE lokstra_auth.tenants SET status = 'suspended' WHERE id = 'acme'")
        ours = asyncio.create_task(admin.set_status(tenant, "deleted"))
        await until_blocked(dsn)  # ours has read the row and waits for the other's lock
        await transaction.commit()
        await ours
    finally:
        await other.close()
    [entry] = (await stores.audit.page(limit=100)).rows
    assert entry.before["status"] == "suspended" and entry.after["status"] == "deleted"
