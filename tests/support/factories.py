"""Small builders for valid entities; keyword arguments override any field."""
from __future__ import annotations

from typing import Any

from stores import Stores
from stores.keys import hash_secret
from stores.models import App, AppKey, Branch, Tenant, User


def tenant(tenant_id: str = "acme", **kw: Any) -> Tenant:
    return Tenant(**{"id": tenant_id, "name": f"{tenant_id} Inc", "db_dsn": "", "db_schema": tenant_id, **kw})


def app(tenant_id: str = "acme", app_id: str = "web", **kw: Any) -> App:
    return App(**{"id": app_id, "tenant_id": tenant_id, "name": f"{app_id} app", "type": "web", **kw})


def branch(tenant_id: str = "acme", app_id: str = "web", branch_id: str = "hq", **kw: Any) -> Branch:
    return Branch(**{"id": branch_id, "tenant_id": tenant_id, "app_id": app_id, "code": branch_id.upper(),
                     "name": f"Branch {branch_id}", "type": "office", **kw})


def user(tenant_id: str = "acme", user_id: str = "u1", **kw: Any) -> User:
    return User(**{"id": user_id, "tenant_id": tenant_id, "username": f"user-{user_id}",
                   "email": f"{user_id}@example.com", **kw})


def key(tenant_id: str = "acme", app_id: str = "web", key_pk: str = "k1", **kw: Any) -> AppKey:
    return AppKey(**{"id": key_pk, "tenant_id": tenant_id, "app_id": app_id, "key_id": f"kid-{key_pk}",
                     "prefix": "sk_live", "secret_hash": hash_secret(f"secret-{key_pk}"), "key_type": "secret",
                     "environment": "live", "name": f"key {key_pk}", "scopes": ["read"], **kw})


async def seed_basic(stores: Stores, tenant_id: str = "acme") -> None:
    """A tenant with one app, one branch, two users, a grant and a key."""
    await stores.tenants.create(tenant(tenant_id))
    await stores.apps.create(app(tenant_id, "web"))
    await stores.branches.create(branch(tenant_id, "web", "hq"))
    await stores.users.create(user(tenant_id, "u1"))
    await stores.users.create(user(tenant_id, "u2"))
    await stores.user_apps.grant_access(tenant_id, "web", "u1")
    await stores.app_keys.store(key(tenant_id, "web", f"{tenant_id}-k1", user_id="u1"))
