"""The console's audited writes (stores/admin.py), identical on both backends: each change
and its audit record together or not at all, secrets never in the audit."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from stores import Stores
from stores.admin import Actor, Admin, rotated_expiry
from stores.errors import AlreadyExists, Conflict, ValidationFailed
from stores.keys import verify_secret
from stores.models import AppKey, utcnow
from stores.tables import APP_KEYS
from tests.support import factories as f

ACTOR = Actor(os_user="ops-anna", ssh_client="203.0.113.7")
DSN_PASSWORD = "Hunter2-dsn-pw"


async def _audit(stores: Stores, tenant_id: str | None = None) -> list:
    return (await stores.audit.page(tenant_id, limit=1000)).rows


async def test_create_is_recorded_with_who_and_what(stores: Stores) -> None:
    admin = Admin(stores, ACTOR)
    tenant = await admin.create(f.tenant("acme", db_dsn=f"postgres://app:{DSN_PASSWORD}@db/acme"))
    [entry] = await _audit(stores)
    assert (entry.action, entry.entity, entry.entity_key, entry.tenant_id) == ("create", "tenant", "acme", "acme")
    assert (entry.os_user, entry.ssh_client, entry.backend) == ("ops-anna", "203.0.113.7", stores.backend)
    assert entry.after["db_dsn"] == "postgres://app:****@db/acme"
    assert DSN_PASSWORD not in repr(entry.model_dump())
    assert (await stores.tenants.get("acme")).db_dsn == tenant.db_dsn  # the store keeps the real DSN


async def test_a_refused_write_records_nothing_and_stores_nothing(stores: Stores) -> None:
    admin = Admin(stores, ACTOR)
    await admin.create(f.tenant("acme"))
    await admin.create(f.user("acme", "u1", email="a@x.io"))
    with pytest.raises(AlreadyExists) as caught:
        await admin.create(f.user("acme", "u2", email="a@x.io"))
    assert caught.value.field == "email"
    assert not await stores.users.exists("acme", "u2")
    assert [e.action for e in await _audit(stores)] == ["create", "create"]


async def test_update_records_only_changed_fields_and_refuses_a_stale_copy(stores: Stores) -> None:
    admin = Admin(stores, ACTOR)
    await admin.create(f.tenant("acme"))
    opened = await admin.create(f.user("acme", "u1", full_name="Ann"))
    other = await admin.update(opened.model_copy(update={"full_name": "Ann B"}), expected_updated_at=opened.updated_at)
    with pytest.raises(Conflict) as caught:
        await admin.update(opened.model_copy(update={"full_name": "Ann C"}), expected_updated_at=opened.updated_at)
    assert caught.value.current.full_name == "Ann B"
    assert (await stores.users.get("acme", "u1")).full_name == "Ann B" == other.full_name
    updates = [e for e in await _audit(stores) if e.action == "update"]
    assert len(updates) == 1
    assert updates[0].before == {"full_name": "Ann"} and updates[0].after == {"full_name": "Ann B"}


async def test_a_failing_audit_write_undoes_the_change(stores: Stores, monkeypatch: pytest.MonkeyPatch) -> None:
    admin = Admin(stores, ACTOR)
    await admin.create(f.tenant("acme"))

    async def broken(entry):  # noqa: ANN001, ANN202
        raise ValidationFailed("audit record", {"note": "refused for the test"})

    monkeypatch.setattr(stores.audit, "record", broken)
    with pytest.raises(ValidationFailed):
        await admin.create(f.user("acme", "u1"))
    with pytest.raises(ValidationFailed):
        await admin.set_status(await stores.tenants.get("acme"), "suspended")
    assert not await stores.users.exists("acme", "u1")
    assert (await stores.tenants.get("acme")).status == "active"


async def test_status_changes_and_soft_delete(stores: Stores) -> None:
    admin = Admin(stores, ACTOR)
    tenant = await admin.create(f.tenant("acme"))
    deleted = await admin.set_status(tenant, "deleted")
    assert deleted.status == "deleted" and deleted.deleted_at is not None
    restored = await admin.set_status(deleted, "active")
    assert restored.deleted_at is None
    with pytest.raises(ValidationFailed):
        await admin.set_status(await admin.create(f.app("acme", "web")), "suspended")  # apps: active/disabled
    entries = [e for e in await _audit(stores) if e.action == "status"]
    assert [e.after["status"] for e in entries] == ["deleted", "active"]


async def test_hard_delete_counts_its_cascade_and_the_audit_outlives_the_tenant(stores: Stores) -> None:
    admin = Admin(stores, ACTOR)
    await f.seed_basic(stores, "acme")
    await stores.apps.create(f.app("acme", "api", name="API", type="api"))
    await stores.user_apps.grant_access("acme", "api", "u2")
    tenant = await stores.tenants.get("acme")
    radius = await admin.blast_radius(tenant)
    assert radius.counts == {"tenants": 1, "apps": 2, "branches": 1, "users": 2, "user_apps": 2, "app_keys": 1}
    with pytest.raises(ValidationFailed):
        await admin.delete(tenant, typed_id="acm")
    assert await stores.tenants.exists("acme")
    done = await admin.delete(tenant, typed_id="acme")
    assert done.counts == radius.counts
    assert not await stores.tenants.exists("acme") and await stores.users.count("acme") == 0
    [entry] = [e for e in await _audit(stores, "acme") if e.action == "delete"]
    assert "2 apps" in entry.note and "2 grants" in entry.note and entry.before["id"] == "acme"


async def test_user_blast_radius_says_owned_keys_stay(stores: Stores) -> None:
    await f.seed_basic(stores, "acme")
    radius = await Admin(stores, ACTOR).blast_radius(await stores.users.get("acme", "u1"))
    assert radius.counts == {"users": 1, "user_apps": 1}
    assert "1 keys owned" in radius.note


async def test_generated_key_is_stored_as_a_hash_that_verifies_the_shown_secret(stores: Stores) -> None:
    admin = Admin(stores, ACTOR)
    await f.seed_basic(stores, "acme")
    new = await admin.generate_key(tenant_id="acme", app_id="web", key_type="secret", environment="test",
                                   name="ci", scopes=["read"], user_id="u1")
    app_and_key, secret = new.full_key.split(".", 1)
    assert app_and_key == f"sk_test_{new.key.key_id}" and new.key.prefix == "sk_test"
    stored = await stores.app_keys.get_by_id(new.key.id)
    assert verify_secret(secret, stored.secret_hash) and secret not in stored.model_dump_json()
    entries = await _audit(stores)
    assert all(secret not in e.model_dump_json() and stored.secret_hash not in e.model_dump_json() for e in entries)
    new.forget()
    assert new.full_key == "" and secret not in repr(new)


async def test_key_with_a_missing_owner_or_past_expiry_is_refused(stores: Stores) -> None:
    admin = Admin(stores, ACTOR)
    await f.seed_basic(stores, "acme")
    with pytest.raises(Exception) as missing:
        await admin.generate_key(tenant_id="acme", app_id="web", key_type="secret", environment="live",
                                 name="x", user_id="ghost")
    assert getattr(missing.value, "field", None) == "user_id"
    with pytest.raises(ValidationFailed):
        await admin.generate_key(tenant_id="acme", app_id="web", key_type="secret", environment="live",
                                 name="x", expires_at=utcnow() - timedelta(days=1))
    assert await stores.app_keys.count("acme") == 1
    assert [e.action for e in await _audit(stores)] == []


async def test_rotate_with_overlap_keeps_both_valid_until_the_grace_ends(stores: Stores) -> None:
    admin = Admin(stores, ACTOR)
    await f.seed_basic(stores, "acme")
    old = await stores.app_keys.get_by_id("acme-k1")
    before = utcnow()
    new = await admin.rotate_key(old, grace=timedelta(days=7))
    old_after = await stores.app_keys.get_by_id("acme-k1")
    assert not old_after.revoked and not new.key.revoked
    assert before + timedelta(days=7) <= old_after.expires_at <= utcnow() + timedelta(days=7)
    assert (new.key.key_type, new.key.environment, new.key.name, new.key.user_id) == (
        old.key_type, old.environment, old.name, old.user_id)
    assert new.key.metadata["rotated_from"] == old.key_id
    [entry] = [e for e in await _audit(stores) if e.action == "key.rotate"]
    assert entry.after["key_id"] == new.key.key_id


async def test_revoke_needs_a_reason_and_records_it(stores: Stores) -> None:
    admin = Admin(stores, ACTOR)
    await f.seed_basic(stores, "acme")
    key = await stores.app_keys.get_by_id("acme-k1")
    with pytest.raises(ValidationFailed):
        await admin.revoke_key(key, "  ")
    revoked = await admin.revoke_key(key, "leaked in a CI log")
    assert revoked.revoked and revoked.metadata["revoked_reason"] == "leaked in a CI log"
    with pytest.raises(ValidationFailed):
        await admin.rotate_key(revoked, grace=timedelta(hours=1))
    with pytest.raises(ValidationFailed):  # 99999999 h: past year 9999
        await admin.rotate_key(await stores.app_keys.get_by_id("acme-k1"), grace=timedelta(hours=99_999_999))
    assert [e.note for e in await _audit(stores) if e.action == "key.revoke"] == ["leaked in a CI log"]


async def test_reveal_returns_the_value_and_audits_the_reveal_without_it(stores: Stores) -> None:
    admin = Admin(stores, ACTOR)
    tenant = await admin.create(f.tenant("acme", db_dsn=f"host=db password={DSN_PASSWORD}"))
    assert await admin.reveal(tenant, "db_dsn") == f"host=db password={DSN_PASSWORD}"
    with pytest.raises(ValidationFailed):
        await admin.reveal(tenant, "name")
    entries = await _audit(stores)
    assert entries[-1].action == "reveal" and entries[-1].note == "revealed db_dsn"
    assert all(DSN_PASSWORD not in e.model_dump_json() for e in entries)


async def test_grant_and_revoke_are_recorded(stores: Stores) -> None:
    admin = Admin(stores, ACTOR)
    await f.seed_basic(stores, "acme")
    await admin.grant("acme", "web", "u2")
    await admin.revoke("acme", "web", "u2")
    assert not await stores.user_apps.has_access("acme", "web", "u2")
    assert [e.action for e in await _audit(stores)] == ["grant", "revoke"]


async def test_audit_pages_newest_last_and_filters(stores: Stores) -> None:
    admin = Admin(stores, ACTOR)
    await admin.create(f.tenant("acme"))
    for index in range(7):
        await admin.create(f.user("acme", f"u{index}"))
    newest = await stores.audit.page("acme", last=True, limit=3)
    assert [e.entity_key for e in newest.rows] == ["acme/u4", "acme/u5", "acme/u6"]
    tenants_only = await stores.audit.page(filter={"entity": "tenant"})
    assert [e.entity_key for e in tenants_only.rows] == ["acme"]


async def test_a_cancelled_write_leaves_nothing_half_done(stores: Stores, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker cancelled mid-change (the operator pressed Escape, the SSH session dropped)
    after the cascade ran but before the audit was written: everything is rolled back."""
    import asyncio

    admin = Admin(stores, ACTOR)
    await f.seed_basic(stores, "acme")
    reached = asyncio.Event()

    async def stalled(entry):  # noqa: ANN001, ANN202
        reached.set()
        await asyncio.Event().wait()

    monkeypatch.setattr(stores.audit, "record", stalled)
    task = asyncio.create_task(admin.delete(await stores.tenants.get("acme"), typed_id="acme"))
    await asyncio.wait_for(reached.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    monkeypatch.undo()
    assert await stores.tenants.exists("acme")
    assert await stores.users.count("acme") == 2 and await stores.app_keys.count("acme") == 1
    assert await stores.user_apps.has_access("acme", "web", "u1")


async def test_a_new_dsn_password_alone_is_recorded_as_changed_without_either_password(stores: Stores) -> None:
    admin = Admin(stores, ACTOR)
    tenant = await admin.create(f.tenant("acme", db_dsn="postgres://app:Old-Pw-1@db/acme"))
    await admin.update(tenant.model_copy(update={"db_dsn": "postgres://app:New-Pw-2@db/acme"}),
                       expected_updated_at=tenant.updated_at)
    [entry] = [e for e in await _audit(stores) if e.action == "update"]
    assert entry.before == {"db_dsn": "(changed)"} == entry.after
    assert "Old-Pw-1" not in entry.model_dump_json() and "New-Pw-2" not in entry.model_dump_json()


async def test_a_revoke_reason_with_a_nul_is_refused_the_same_way_on_both_backends(stores: Stores) -> None:
    await f.seed_basic(stores, "acme")
    with pytest.raises(ValidationFailed) as refused:
        await Admin(stores, ACTOR).revoke_key(await stores.app_keys.get_by_id("acme-k1"), "bad\x00reason")
    assert "reason" in refused.value.problems
    assert not (await stores.app_keys.get_by_id("acme-k1")).revoked


async def test_a_failed_nested_block_is_a_savepoint_on_both_backends(stores: Stores) -> None:
    """The outer block may catch an inner failure and go on: the outer write stays, the
    inner one is gone (memory used to keep it, PostgreSQL used to lose both silently)."""
    await stores.tenants.create(f.tenant("acme"))
    async with stores.engine.atomic():
        await stores.users.create(f.user("acme", "outer"))
        with pytest.raises(AlreadyExists):
            async with stores.engine.atomic():
                await stores.users.create(f.user("acme", "inner"))
                await stores.users.create(f.user("acme", "outer"))  # duplicate: the inner block fails
    assert await stores.users.exists("acme", "outer")
    assert not await stores.users.exists("acme", "inner")


async def test_a_task_started_inside_a_block_is_not_part_of_it(stores: Stores) -> None:
    import asyncio

    await stores.tenants.create(f.tenant("acme"))
    with pytest.raises(RuntimeError):
        async with stores.engine.atomic():
            await stores.users.create(f.user("acme", "in-block"))
            await asyncio.create_task(stores.users.create(f.user("acme", "own-task")))
            raise RuntimeError("the block fails")
    assert not await stores.users.exists("acme", "in-block")
    assert await stores.users.exists("acme", "own-task"), "the other task's write is its own"


# ----- issue 16 item 3: a rotated key keeps its expiry ------------------------------------------------

async def _key_expiring(stores: Stores, expires_at: datetime, created_at: datetime | None = None) -> AppKey:
    await f.seed_basic(stores, "acme")
    changes = {"expires_at": expires_at, **({"created_at": created_at} if created_at else {})}
    await stores.engine.patch(APP_KEYS, ("acme-k1",), changes)  # created_at as if long ago
    return await stores.app_keys.get_by_id("acme-k1")


async def test_a_rotated_key_expires_when_the_old_one_would(stores: Stores) -> None:
    """Upstream's RotateKey copies the expiry: ``ExpiresIn = time.Until(old.ExpiresAt)``, added
    to now by GenerateKey, is the old key's moment (primadi/lokstra-auth
    00_core/application/app_key_service.go, "Copy expiration logic"). Rotating a key 30 days
    from expiry gave a key that never expires."""
    expires = (utcnow() + timedelta(days=30)).replace(microsecond=123456)
    old = await _key_expiring(stores, expires)
    new = await Admin(stores, ACTOR).rotate_key(old, grace=timedelta(days=7))
    assert new.key.expires_at == expires and (await stores.app_keys.get_by_id(new.key.id)).expires_at == expires
    old_after = await stores.app_keys.get_by_id(old.id)
    assert old_after.expires_at is not None and old_after.expires_at < expires, "the old one ends after the grace"
    [entry] = [e for e in await _audit(stores) if e.action == "key.rotate"]
    assert entry.after["expires_at"] == expires.isoformat()


async def test_a_rotated_key_with_a_longer_grace_than_its_life_keeps_both_ends(stores: Stores) -> None:
    expires = utcnow() + timedelta(hours=2)
    old = await _key_expiring(stores, expires)
    new = await Admin(stores, ACTOR).rotate_key(old, grace=timedelta(days=7))
    assert new.key.expires_at == expires and (await stores.app_keys.get_by_id(old.id)).expires_at == expires


async def test_rotating_an_expired_key_gives_the_new_one_the_old_ones_lifetime(stores: Stores) -> None:
    """Upstream gives a key rotated after its expiry none at all (the remaining time is not
    positive, so ExpiresIn stays nil): the console keeps the policy instead, the old key's
    lifetime (expires_at − created_at) from now."""
    created, expires = utcnow() - timedelta(days=100), utcnow() - timedelta(days=10)
    old = await _key_expiring(stores, expires, created_at=created)
    before = utcnow()
    new = await Admin(stores, ACTOR).rotate_key(old, grace=timedelta(hours=1))
    assert new.key.expires_at is not None
    assert before + timedelta(days=90) <= new.key.expires_at <= utcnow() + timedelta(days=90)


async def test_the_operator_may_choose_the_new_keys_expiry(stores: Stores) -> None:
    old = await _key_expiring(stores, utcnow() + timedelta(days=30))
    admin = Admin(stores, ACTOR)
    never = await admin.rotate_key(old, grace=timedelta(hours=1), expires_at=None)
    assert never.key.expires_at is None
    chosen = utcnow() + timedelta(days=365)
    later = await admin.rotate_key(never.key, grace=timedelta(hours=1), expires_at=chosen)
    assert later.key.expires_at == chosen
    with pytest.raises(ValidationFailed) as err:
        await admin.rotate_key(later.key, grace=timedelta(hours=1), expires_at=utcnow() - timedelta(days=1))
    assert "expires_at" in err.value.problems


def test_the_default_expiry_of_a_rotated_key() -> None:
    now = datetime(2030, 1, 1)
    assert rotated_expiry(f.key(expires_at=None), now) is None
    assert rotated_expiry(f.key(expires_at=datetime(2030, 2, 1)), now) == datetime(2030, 2, 1)
    assert rotated_expiry(f.key(created_at=datetime(2029, 1, 1), expires_at=datetime(2029, 12, 1)), now) == \
        datetime(2030, 12, 1)  # 334 days again
    with pytest.raises(ValidationFailed):  # expired, and no lifetime to repeat: the operator must choose
        rotated_expiry(f.key(created_at=None, expires_at=datetime(2029, 12, 1)), now)
