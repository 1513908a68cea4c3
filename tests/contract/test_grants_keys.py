"""Grants (upsert / revoke) and API keys."""
from __future__ import annotations

import asyncio

import pytest

from stores import Stores
from stores.errors import NotFound
from stores.keys import full_key, hash_secret, new_secret, verify_secret
from tests.support import factories as f


async def test_grant_revoke_regrant_cycle(stores: Stores) -> None:
    await f.seed_basic(stores)
    first = await stores.user_apps.grant_access("acme", "web", "u2")
    assert first.status == "active" and first.revoked_at is None and first.granted_at is not None
    assert await stores.user_apps.has_access("acme", "web", "u2")

    await asyncio.sleep(0.002)
    again = await stores.user_apps.grant_access("acme", "web", "u2")
    assert again.granted_at == first.granted_at, "granting an active grant changes nothing"

    revoked = await stores.user_apps.revoke_access("acme", "web", "u2")
    assert revoked.status == "revoked" and revoked.revoked_at is not None
    assert not await stores.user_apps.has_access("acme", "web", "u2")
    assert len(await stores.user_apps.list_app_users("acme", "web")) == 2, "revoking keeps the row"
    revoked_twice = await stores.user_apps.revoke_access("acme", "web", "u2")
    assert revoked_twice.revoked_at == revoked.revoked_at

    await asyncio.sleep(0.002)
    renewed = await stores.user_apps.grant_access("acme", "web", "u2")
    assert renewed.status == "active" and renewed.revoked_at is None
    assert renewed.granted_at > first.granted_at, "re-activation is a new grant"


async def test_revoke_of_missing_grant_is_not_found(stores: Stores) -> None:
    await f.seed_basic(stores)
    with pytest.raises(NotFound):
        await stores.user_apps.revoke_access("acme", "web", "u2")


async def test_grant_listings_and_paging(stores: Stores) -> None:
    await f.seed_basic(stores)
    await stores.apps.create(f.app("acme", "api", type="api"))
    await stores.user_apps.grant_access("acme", "api", "u1")
    await stores.user_apps.grant_access("acme", "web", "u2")
    await stores.user_apps.revoke_access("acme", "web", "u2")
    assert [g.app_id for g in await stores.user_apps.list_user_apps("acme", "u1")] == ["api", "web"]
    assert [g.user_id for g in await stores.user_apps.list_app_users("acme", "web")] == ["u1", "u2"]
    active = await stores.user_apps.page_app_users("acme", "web", filter={"status": "active"})
    assert [g.user_id for g in active.rows] == ["u1"] and active.next_cursor is None
    first = await stores.user_apps.page_user_apps("acme", "u1", limit=1)
    second = await stores.user_apps.page_user_apps("acme", "u1", limit=1, after=first.next_cursor)
    assert [first.rows[0].app_id, second.rows[0].app_id] == ["api", "web"] and second.next_cursor is None
    assert await stores.user_apps.count_app_users("acme", "web") == 2
    assert [u.id for u in await stores.users.list_by_app("acme", "web")] == ["u1"]


async def test_key_store_only_holds_a_hash_that_verifies(stores: Stores) -> None:
    await f.seed_basic(stores)
    secret = new_secret()
    assert len(secret) == 43 and "=" not in secret  # 32 bytes, base64url, no padding
    stored = await stores.app_keys.store(f.key("acme", "web", "k2", secret_hash=hash_secret(secret), key_id="pub-2"))
    assert secret not in stored.model_dump_json()
    assert "secret_hash" not in repr(stored)
    fetched = await stores.app_keys.get_by_key_id("acme", "web", "pub-2")
    assert verify_secret(secret, fetched.secret_hash)
    assert not verify_secret(secret + "x", fetched.secret_hash)
    assert full_key("sk_live", "pub2", secret) == f"sk_live_pub2.{secret}"
    with pytest.raises(NotFound):
        await stores.app_keys.get_by_key_id("acme", "other-app", "pub-2")


async def test_key_revoke_update_delete(stores: Stores) -> None:
    await f.seed_basic(stores)
    revoked = await stores.app_keys.revoke("acme-k1")
    assert revoked.revoked and revoked.revoked_at is not None
    assert (await stores.app_keys.revoke("acme-k1")).revoked_at == revoked.revoked_at
    renamed = await stores.app_keys.update(revoked.model_copy(update={"name": "renamed", "scopes": ["a", "b"]}))
    assert renamed.name == "renamed" and renamed.scopes == ["a", "b"] and renamed.created_at == revoked.created_at
    assert [k.id for k in await stores.app_keys.list_by_tenant("acme")] == ["acme-k1"]
    await stores.app_keys.delete("acme-k1")
    with pytest.raises(NotFound):
        await stores.app_keys.get_by_id("acme-k1")
    with pytest.raises(NotFound):
        await stores.app_keys.delete("acme-k1")
