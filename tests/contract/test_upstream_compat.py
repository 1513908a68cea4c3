"""What lokstra-auth cannot read or verify is found, on both backends (stores/compat.py).

Facts (docs/upstream.md, section B): pgx refuses to scan NULL into a Go ``string``
(jackc/pgx pgtype/text.go L192-L194); upstream holds ``Domain string``
(pkg/domain/core/tenant.go L30), ``FullName string`` (pkg/domain/core/user.go L37) and, in
the older layouts, app_keys ``UserID string`` (core/domain/app_key.go L19); the current
authenticator dereferences ``*key.Metadata`` (pkg/service/authenticator/apikey_authenticator.go
L144). Section A: upstream verifies only base64url SHA3-256 without padding.
"""
from __future__ import annotations

import hashlib

from stores import Stores
from stores.admin import Actor, Admin
from stores.compat import compat_report, null_columns
from stores.tables import APP_KEYS, TENANTS, USERS
from tests.support import factories as f

ACTOR = Actor(os_user="ops", ssh_client=None)


def test_the_columns_come_from_the_models() -> None:
    assert {(spec.name, column) for spec, column, _ in null_columns()} == {
        ("tenants", "domain"), ("users", "full_name"), ("app_keys", "user_id"), ("app_keys", "metadata")}


async def test_what_the_console_writes_is_readable_and_verifiable(stores: Stores) -> None:
    await f.seed_basic(stores, "acme")
    await stores.users.create(f.user("acme", "u9", full_name=None))
    await Admin(stores, ACTOR).generate_key(tenant_id="acme", app_id="web", key_type="secret", environment="live",
                                            name="svc")
    report = await compat_report(stores)
    assert report.ok and report.nulls == [] and report.keys_checked >= 2, report
    assert (await stores.users.get("acme", "u9")).full_name == ""


async def test_nulls_and_foreign_hashes_written_by_others_are_reported(stores: Stores) -> None:
    await stores.engine.insert(TENANTS, stores.tenants.stamped(f.tenant("old")).model_copy(update={"domain": None}))
    await stores.apps.create(f.app("old", "web"))
    for user_id in ("a", "b"):
        await stores.engine.insert(USERS, stores.users.stamped(f.user("old", user_id)).model_copy(update={"full_name": None}))
    hex_hash = hashlib.sha3_256(b"secret").hexdigest()
    await stores.engine.insert(APP_KEYS, stores.app_keys.stamped(f.key("old", "web", "k-hex", secret_hash=hex_hash))
                               .model_copy(update={"user_id": None, "metadata": None}))
    await stores.engine.insert(APP_KEYS, stores.app_keys.stamped(f.key("old", "web", "k-padded", secret_hash="A" * 43 + "=",
                                                                       revoked=True)))
    report = await compat_report(stores)
    assert [(n.table, n.column, n.rows) for n in report.nulls] == [
        ("tenants", "domain", 1), ("users", "full_name", 2), ("app_keys", "user_id", 1), ("app_keys", "metadata", 1)]
    assert report.unverifiable_keys == 2 and report.live_unverifiable_keys == 1
    assert sorted((k.id, "older console" in k.problem) for k in report.keys) == [("k-hex", True), ("k-padded", False)]
    fixes = [n.fix_sql("lokstra_auth") for n in report.nulls]
    assert fixes[0] == "UPDATE lokstra_auth.tenants SET domain = '' WHERE domain IS NULL"
    assert fixes[2] == "UPDATE lokstra_auth.app_keys SET user_id = 'app:' || app_id WHERE user_id IS NULL"


async def test_a_row_upstream_soft_deleted_is_deleted_whatever_its_status(stores: Stores) -> None:
    """Upstream's stores soft-delete by setting only ``deleted_at`` and list ``WHERE deleted_at
    IS NULL`` (pkg/store/postgres/user_store.go L46, L29): the console shows such a user as
    deleted and finds it with ``deleted:yes``."""
    from console.browse.kinds import shown_status
    from stores.models import utcnow

    await f.seed_basic(stores, "acme")
    await stores.engine.patch(USERS, ("acme", "u1"), {"deleted_at": utcnow()})
    gone = await stores.users.get("acme", "u1")
    assert gone.status == "active" and shown_status(gone) == "deleted"
    deleted = await stores.users.page("acme", filter={"deleted": True})
    assert [u.id for u in deleted.rows] == ["u1"]
    assert "u1" not in [u.id for u in (await stores.users.page("acme", filter={"deleted": False})).rows]
    assert await stores.users.count("acme", filter={"deleted": True}) == 1
