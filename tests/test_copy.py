"""Verified copy between backends (more cases: tests/test_copy_edges.py)."""
from __future__ import annotations

import pytest

from stores import Settings, open_stores
from stores.memory.engine import MemoryEngine
from stores.transfer.copy import CopyFailed, copy_tables, table_digests
from tests.support.databases import pg_settings, truncate_all


async def test_demo_data_round_trip_memory_postgres_memory(migrated_db: str) -> None:
    demo = await open_stores(Settings())
    pg = await open_stores(pg_settings(migrated_db))
    await truncate_all(pg)
    try:
        seen: list[tuple[str, int, int]] = []
        report = await copy_tables(demo.engine, pg.engine, progress=lambda *p: seen.append(p))
        assert report.rows == sum(d.rows for d in (await table_digests(demo.engine)).values()) > 1000
        assert [t.table for t in report.tables] == ["tenants", "apps", "branches", "users", "user_apps", "app_keys"]
        assert seen[-1][1] == seen[-1][2], "progress ends with every row done"

        back = MemoryEngine()
        await copy_tables(pg.engine, back)
        original, via_pg, returned = [await table_digests(e) for e in (demo.engine, pg.engine, back)]
        for name, digest in original.items():
            assert digest.same_as(via_pg[name]) and digest.same_as(returned[name]), name
        user = await demo.users.get("acme-corp", "u00000007")
        assert (await pg.users.get("acme-corp", "u00000007")) == user
    finally:
        await pg.close()


async def test_non_empty_target_is_refused_unless_replace(migrated_db: str) -> None:
    demo = await open_stores(Settings())
    pg = await open_stores(pg_settings(migrated_db))
    await truncate_all(pg)
    try:
        await copy_tables(demo.engine, pg.engine)
        before = await table_digests(pg.engine)
        await demo.users.set_status("acme-corp", "u00000001", "suspended")
        with pytest.raises(CopyFailed, match="not empty"):
            await copy_tables(demo.engine, pg.engine)
        assert {k: v.total for k, v in (await table_digests(pg.engine)).items()} == {k: v.total for k, v in before.items()}
        await copy_tables(demo.engine, pg.engine, replace=True)
        assert (await pg.users.get("acme-corp", "u00000001")).status == "suspended"
    finally:
        await pg.close()


async def test_a_constraint_failure_leaves_the_memory_target_unchanged() -> None:
    source = MemoryEngine()
    from stores.demo import DemoSpec, load_into_memory

    load_into_memory(source, DemoSpec(users=30))
    # an orphan grant in the source (only possible by going around the stores)
    orphan = source.tables["user_apps"].rows[next(iter(source.tables["user_apps"].rows))].model_copy(update={"user_id": "ghost"})
    source.tables["user_apps"].add(orphan)
    target = MemoryEngine()
    load_into_memory(target, DemoSpec(users=5))
    before = {k: v.total for k, v in (await table_digests(target)).items()}
    with pytest.raises(CopyFailed) as err:
        await copy_tables(source, target, replace=True)
    assert "user_apps" in str(err.value) and "unchanged" in str(err.value)
    assert {k: v.total for k, v in (await table_digests(target)).items()} == before


async def test_a_copy_into_postgres_keeps_which_missing_parent_is_reported_first(migrated_db: str) -> None:
    """The load re-creates the foreign keys; they must come back in their original order, or
    PostgreSQL would name the app before the user (RI triggers fire in creation order) and
    the two backends would disagree about the same bad grant."""
    from stores.errors import ReferenceMissing

    demo = await open_stores(Settings())
    pg = await open_stores(pg_settings(migrated_db))
    await truncate_all(pg)
    try:
        await copy_tables(demo.engine, pg.engine)
        for stores in (demo, pg):
            with pytest.raises(ReferenceMissing) as err:
                await stores.user_apps.grant_access("acme-corp", "ghost-app", "ghost-user")
            assert err.value.parent == "user", stores.backend
    finally:
        await pg.close()
