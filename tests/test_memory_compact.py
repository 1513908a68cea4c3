"""The memory engine's compact storage: its kept digests, its bulk load's errors, its orders."""
from __future__ import annotations

import pytest

from stores import Stores
from stores.demo import DemoSpec, demo_rows, load_into_memory
from stores.errors import AlreadyExists, ReferenceMissing
from stores.memory.engine import MemoryEngine
from stores.tables import ALL_TABLES, USER_APPS, USERS
from stores.transfer.copy import table_digests
from stores.transfer.digest import encoder_for, fold
from tests.support import factories as f


def rehashed(engine: MemoryEngine) -> dict[str, tuple[int, int]]:
    """Every table's rows hashed from scratch (what a kept digest must always equal)."""
    return {name: (table.size, fold(encoder_for(name).hashes(list(table.all_rows()))))
            for name, table in engine.tables.items()}


async def test_the_kept_digest_follows_every_write_and_every_undo() -> None:
    engine = MemoryEngine()
    load_into_memory(engine, DemoSpec(users=30))
    stores = Stores(engine)
    first = {name: (d.rows, d.total) for name, d in (await table_digests(engine)).items()}
    assert first == rehashed(engine)
    await stores.tenants.create(f.tenant("kept"))
    await stores.users.create(f.user("kept", "u-1"))
    await stores.users.update((await stores.users.get("kept", "u-1")).model_copy(update={"full_name": "Changed"}))
    with pytest.raises(RuntimeError):
        async with engine.atomic():
            await stores.users.create(f.user("kept", "u-2"))
            raise RuntimeError("undone")
    await stores.tenants.delete("acme-corp")  # cascades through apps, users, grants and keys
    found = {name: (d.rows, d.total) for name, d in (await table_digests(engine)).items()}
    assert found == rehashed(engine)
    assert found != first


def test_a_missing_parent_in_a_later_batch_raises_the_row_by_row_error_and_keeps_nothing() -> None:
    engine = MemoryEngine()
    rows = demo_rows(DemoSpec(users=30_000))
    for spec in ALL_TABLES[:USER_APPS_INDEX]:
        engine.load_rows(spec, rows[spec.name])
    grants = list(rows[USER_APPS.name])
    grants[-1] = (grants[-1][0], grants[-1][1], "ghost", *grants[-1][3:])
    with pytest.raises(ReferenceMissing) as missing:
        engine.load_rows(USER_APPS, grants)
    assert "ghost" in str(missing.value)
    assert engine.tables[USER_APPS.name].size == 0 and not list(engine.tables[USER_APPS.name].all_rows())


def test_a_duplicate_in_a_bulk_load_names_the_rule_and_keeps_nothing() -> None:
    engine = MemoryEngine()
    rows = demo_rows(DemoSpec(users=50))
    for spec in ALL_TABLES[:ALL_TABLES.index(USERS)]:
        engine.load_rows(spec, rows[spec.name])
    users = list(rows[USERS.name])
    users.append(("u-twin", *users[3][1:]))  # another id, the same username and email
    with pytest.raises(AlreadyExists, match="username per tenant"):
        engine.load_rows(USERS, users)
    assert engine.tables[USERS.name].size == 0


async def test_a_users_grants_come_in_app_order_after_writes() -> None:
    """The grants of a user are ordered through the key's dicts, not a list of their own."""
    engine = MemoryEngine()
    load_into_memory(engine, DemoSpec(users=30))
    stores = Stores(engine)
    user = (await stores.users.page("acme-corp")).rows[1]
    apps = sorted(a.id for a in (await stores.apps.page("acme-corp")).rows)
    for app in reversed(apps):
        await stores.user_apps.grant_access("acme-corp", app, user.id)
    grants = await stores.user_apps.list_user_apps("acme-corp", user.id)
    assert [g.app_id for g in grants] == apps
    await stores.user_apps.revoke_access("acme-corp", apps[0], user.id)
    first = await stores.user_apps.page_user_apps("acme-corp", user.id, limit=2)
    assert [g.app_id for g in first.rows] == apps[:2]
    rest = await stores.user_apps.page_user_apps("acme-corp", user.id, after=first.next_cursor)
    assert [g.app_id for g in rest.rows] == apps[2:]
    assert await stores.user_apps.count_app_users("acme-corp", apps[0]) >= 1


USER_APPS_INDEX = ALL_TABLES.index(USER_APPS)
