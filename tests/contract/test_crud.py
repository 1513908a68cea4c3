"""Every store operation, with upstream semantics, on both backends (ids memory / postgres)."""
from __future__ import annotations

import asyncio

import pytest

from stores import Stores
from stores.errors import Conflict, NotFound
from tests.support import factories as f


async def test_tenant_roundtrip_keeps_every_column(stores: Stores) -> None:
    created = await stores.tenants.create(f.tenant(
        "acme", domain="acme.example.com", db_dsn="postgres://app:pw@db/acme", status="suspended",
        config={"a": 1}, settings={"max_users": 10, "nested": {"list": [1, "x", None, True]}}, metadata={"k": "v"}))
    fetched = await stores.tenants.get("acme")
    assert fetched == created
    assert fetched.db_dsn == "postgres://app:pw@db/acme"
    assert fetched.settings == {"max_users": 10, "nested": {"list": [1, "x", None, True]}}
    assert fetched.created_at is not None and fetched.updated_at == fetched.created_at
    assert await stores.tenants.get_by_name("acme Inc") == created
    assert await stores.tenants.exists("acme") and not await stores.tenants.exists("nope")


async def test_update_refreshes_updated_at_and_keeps_created_at(stores: Stores) -> None:
    created = await stores.tenants.create(f.tenant("acme"))
    await asyncio.sleep(0.002)
    updated = await stores.tenants.update(created.model_copy(update={"name": "Acme 2", "created_at": None}))
    assert updated.name == "Acme 2"
    assert updated.created_at == created.created_at
    assert updated.updated_at > created.updated_at
    assert (await stores.tenants.get("acme")).name == "Acme 2"


async def test_update_and_delete_of_missing_rows_raise_not_found(stores: Stores) -> None:
    with pytest.raises(NotFound):
        await stores.tenants.update(f.tenant("ghost"))
    with pytest.raises(NotFound):
        await stores.tenants.delete("ghost")
    with pytest.raises(NotFound) as err:
        await stores.users.get("acme", "nobody")
    assert "acme/nobody" in str(err.value)
    with pytest.raises(NotFound):
        await stores.tenants.get_by_name("ghost")


async def test_optimistic_update_refuses_a_stale_copy(stores: Stores) -> None:
    await f.seed_basic(stores)
    opened = await stores.users.get("acme", "u1")
    await asyncio.sleep(0.002)
    await stores.users.update(opened.model_copy(update={"full_name": "First Editor"}), expected_updated_at=opened.updated_at)
    with pytest.raises(Conflict) as err:
        await stores.users.update(opened.model_copy(update={"full_name": "Second Editor"}), expected_updated_at=opened.updated_at)
    assert err.value.current.full_name == "First Editor"
    assert (await stores.users.get("acme", "u1")).full_name == "First Editor"


async def test_every_store_lists_and_looks_up(stores: Stores) -> None:
    await f.seed_basic(stores)
    await stores.apps.create(f.app("acme", "svc", type="service", name="Billing"))
    assert [a.id for a in await stores.apps.list("acme")] == ["svc", "web"]  # by name: "Billing" < "web app"
    assert [a.id for a in await stores.apps.list_by_type("acme", "service")] == ["svc"]
    assert (await stores.apps.get_by_name("acme", "web app")).id == "web"
    assert await stores.apps.exists("acme", "web") and not await stores.apps.exists("other", "web")
    assert [b.id for b in await stores.branches.list("acme", "web")] == ["hq"]
    assert [b.id for b in await stores.branches.list_by_type("acme", "web", "office")] == ["hq"]
    assert await stores.branches.list_by_type("acme", "web", "store") == []
    assert await stores.branches.exists("acme", "web", "hq")
    assert (await stores.users.get_by_username("acme", "user-u2")).id == "u2"
    assert (await stores.users.get_by_email("acme", "u1@example.com")).id == "u1"
    assert [u.id for u in await stores.users.list("acme")] == ["u1", "u2"]
    assert [u.id for u in await stores.users.list_by_app("acme", "web")] == ["u1"]
    assert [t.id for t in await stores.tenants.list()] == ["acme"]


async def test_status_changes_and_soft_delete(stores: Stores) -> None:
    await f.seed_basic(stores)
    suspended = await stores.users.set_status("acme", "u1", "suspended")
    assert suspended.status == "suspended" and suspended.deleted_at is None
    deleted = await stores.users.set_status("acme", "u1", "deleted")
    assert deleted.status == "deleted" and deleted.deleted_at is not None
    again = await stores.users.set_status("acme", "u1", "deleted")
    assert again.deleted_at == deleted.deleted_at, "a second soft delete keeps the first time"
    restored = await stores.users.set_status("acme", "u1", "active")
    assert restored.deleted_at is None
    assert (await stores.tenants.set_status("acme", "deleted")).deleted_at is not None
    assert (await stores.apps.set_status("acme", "web", "disabled")).status == "disabled"
    assert (await stores.branches.set_status("acme", "web", "hq", "disabled")).status == "disabled"


async def test_returned_rows_are_copies(stores: Stores) -> None:
    await stores.tenants.create(f.tenant("acme", settings={"max_users": 1}))
    fetched = await stores.tenants.get("acme")
    fetched.settings["max_users"] = 999
    assert (await stores.tenants.get("acme")).settings == {"max_users": 1}


async def test_delete_tenant_cascades_to_everything_below(stores: Stores) -> None:
    await f.seed_basic(stores, "acme")
    await f.seed_basic(stores, "other")
    await stores.tenants.delete("acme")
    assert not await stores.tenants.exists("acme")
    assert await stores.apps.list("acme") == []
    assert await stores.branches.list("acme", "web") == []
    assert await stores.users.list("acme") == []
    assert await stores.user_apps.list_app_users("acme", "web") == []
    assert await stores.app_keys.list_by_tenant("acme") == []
    # the other tenant is untouched
    assert len(await stores.users.list("other")) == 2
    assert len(await stores.app_keys.list_by_tenant("other")) == 1
    assert await stores.user_apps.has_access("other", "web", "u1")


async def test_delete_app_cascades_to_branches_grants_and_keys_only(stores: Stores) -> None:
    await f.seed_basic(stores)
    await stores.apps.delete("acme", "web")
    assert await stores.branches.list("acme", "web") == []
    assert await stores.user_apps.list_user_apps("acme", "u1") == []
    assert await stores.app_keys.list_by_app("acme", "web") == []
    assert len(await stores.users.list("acme")) == 2


async def test_delete_user_takes_grants_but_keys_keep_their_owner_id(stores: Stores) -> None:
    await f.seed_basic(stores)
    await stores.users.delete("acme", "u1")
    assert await stores.user_apps.list_app_users("acme", "web") == []
    keys = await stores.app_keys.list_by_app("acme", "web")
    assert [k.user_id for k in keys] == ["u1"], "upstream has no foreign key on app_keys.user_id"
