"""Keys the console makes are keys lokstra-auth accepts: its authenticator, re-implemented.

Facts (docs/upstream.md, section A):
- parse: primadi/lokstra-auth@9e86bd8a pkg/domain/credential/apikey/credential.go L29-L62:
  non-blank, contains "_" and "." (L35); split at the first "." → secret (L45-L50); the left
  part at its last "_" → prefix, key_id (L53-L59).
- check: pkg/service/authenticator/apikey_authenticator.go L37-L146: the key looked up by
  key_id within the tenant and app (L73; pkg/store/postgres/app_key_store.go L86-L116), the
  stored prefix equal to the parsed one (L87), not revoked (L97; the core layout's ``revoked``
  column, core/.../apikey_authenticator.go L96), not expired (L107), then
  ``hasher.VerifySecretHash`` in constant time (L117).
- hash: pkg/utils/hasher/bcrypt.go L45-L50 = utils/crypto_helper.go L27-L39:
  ``base64.RawURLEncoding.EncodeToString(sha3.New256() of the secret)``.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta

import pytest

from stores import Stores
from stores.admin import Actor, Admin
from stores.errors import NotFound
from stores.keys import HashForm, hash_form
from stores.models import AppKey, utcnow
from tests.support import factories as f

ACTOR = Actor(os_user="ops", ssh_client=None)


def upstream_hash(secret: str) -> str:
    """``VerifySecretHash``'s hash, written from upstream's source, not from ``stores.keys``."""
    return base64.urlsafe_b64encode(hashlib.sha3_256(secret.encode()).digest()).decode().rstrip("=")


async def upstream_authenticates(stores: Stores, tenant_id: str, app_id: str, presented: str) -> str | None:
    """lokstra-auth's API-key authenticator on a presented key: None when accepted, else why not."""
    if not presented.strip() or "_" not in presented or "." not in presented:
        return "invalid format"
    left, secret = presented.split(".", 1)
    cut = left.rfind("_")
    prefix, key_id = left[:cut], left[cut + 1:]
    try:
        key = await stores.app_keys.get_by_key_id(tenant_id, app_id, key_id)
    except NotFound:
        return "key not found"
    if key.prefix != prefix:
        return "prefix mismatch"
    if key.revoked:
        return "revoked"
    if key.expires_at is not None and utcnow() > key.expires_at:
        return "expired"
    if not hmac.compare_digest(upstream_hash(secret).encode(), key.secret_hash.encode()):
        return "invalid secret"
    return None


@pytest.mark.parametrize("environment, key_type, prefix", [("live", "secret", "sk_live"), ("test", "secret", "sk_test"),
                                                         ("live", "public", "pk_live")])
async def test_a_generated_key_verifies_with_upstreams_authenticator(
        stores: Stores, environment: str, key_type: str, prefix: str) -> None:
    await f.seed_basic(stores, "acme")
    new = await Admin(stores, ACTOR).generate_key(tenant_id="acme", app_id="web", key_type=key_type,
                                                  environment=environment, name="ci")
    shown = new.full_key
    assert await upstream_authenticates(stores, "acme", "web", shown) is None
    stored = await stores.app_keys.get_by_id(new.key.id)
    assert stored.prefix == prefix and len(stored.secret_hash) == 43 and hash_form(stored.secret_hash) is HashForm.UPSTREAM
    assert shown.startswith(f"{prefix}_{stored.key_id}.") and "_" not in stored.key_id
    # A wrong secret, another app, or a tampered prefix are refused the way upstream refuses them.
    assert await upstream_authenticates(stores, "acme", "web", shown[:-1] + ("A" if shown[-1] != "A" else "B")) == "invalid secret"
    assert await upstream_authenticates(stores, "acme", "api", shown) == "key not found"
    assert await upstream_authenticates(stores, "acme", "web", "xx" + shown) == "prefix mismatch"


async def test_a_rotated_key_verifies_and_the_old_one_until_its_grace_ends(stores: Stores) -> None:
    admin = Admin(stores, ACTOR)
    await f.seed_basic(stores, "acme")
    old = await admin.generate_key(tenant_id="acme", app_id="web", key_type="secret", environment="live", name="ci")
    old_shown = old.full_key
    new = await admin.rotate_key(await stores.app_keys.get_by_id(old.key.id), timedelta(hours=1))
    assert await upstream_authenticates(stores, "acme", "web", new.full_key) is None
    assert await upstream_authenticates(stores, "acme", "web", old_shown) is None  # still inside the grace
    rotated = await stores.app_keys.get_by_id(new.key.id)
    assert rotated.metadata["rotated_from"] == old.key.key_id and "rotated_at" in rotated.metadata
    await admin.revoke_key(await stores.app_keys.get_by_id(old.key.id), "rotated")
    assert await upstream_authenticates(stores, "acme", "web", old_shown) == "revoked"


async def test_a_key_without_a_user_is_owned_by_the_app_as_upstream_writes_it(stores: Stores) -> None:
    """Upstream writes ``user_id = "app:<app_id>"`` and ``key_owner_type: app``
    (core/application/app_key_service.go L73, L76-L80) and the older layouts read user_id
    into a Go string (core/domain/app_key.go L19): never NULL. Its metadata is never NULL
    either: the current authenticator dereferences it (apikey_authenticator.go L144)."""
    await f.seed_basic(stores, "acme")
    new = await Admin(stores, ACTOR).generate_key(tenant_id="acme", app_id="web", key_type="secret",
                                                  environment="live", name="svc")
    stored = await stores.app_keys.get_by_id(new.key.id)
    assert stored.user_id == "app:web" and stored.metadata == {"key_owner_type": "app"}


async def test_a_key_upstream_owns_by_app_is_rotated_like_any_other(stores: Stores) -> None:
    """A key upstream generated (owner ``app:web``, prefix ``sk_live``, key_id ``appkey_<hex>``)
    was refused by the rotation as owned by a missing user."""
    await f.seed_basic(stores, "acme")
    upstream_key = AppKey(id="id_0f", tenant_id="acme", app_id="web", key_id="appkey_" + "ab" * 16, prefix="sk_live",
                          secret_hash=upstream_hash("s" * 43), key_type="secret", environment="live",
                          user_id="app:web", name="from upstream",
                          metadata={"key_owner_type": "app", "app_name": "Web", "purpose": "ci"})
    await stores.app_keys.store(upstream_key)
    new = await Admin(stores, ACTOR).rotate_key(await stores.app_keys.get_by_id("id_0f"), timedelta(minutes=5))
    stored = await stores.app_keys.get_by_id(new.key.id)
    assert stored.user_id == "app:web" and stored.metadata["purpose"] == "ci"
    assert await upstream_authenticates(stores, "acme", "web", new.full_key) is None
