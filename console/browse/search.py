"""The command palette's entity finder: tenants, apps and users by name prefix, through
the stores' prefix filters (index ranges), never by loading a whole list.

``acme`` finds tenants named or identified ``acme…`` and, in the first few tenants, apps
and users whose name / username starts with it; ``acme/al`` looks inside tenant ``acme``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from console.browse.jump import JumpError, Path, find_tenant
from console.browse.kinds import ROOT, app_level, tenant_level, user_level

TENANTS_SEARCHED = 10
"""Without a tenant given, apps and users are looked for in this many tenants (by name)."""


@dataclass(frozen=True)
class Found:
    kind: str
    text: str
    detail: str
    path: Path


def _variants(text: str) -> list[str]:
    """Prefixes are case-sensitive in the stores: try the text as typed and capitalised."""
    return list(dict.fromkeys([text, text[:1].upper() + text[1:], text.title(), text.lower()]))


async def _tenants(stores: Any, text: str, limit: int) -> list[Any]:
    found: dict[str, Any] = {}
    for variant in _variants(text):
        page = await stores.tenants.page(limit=limit, filter={"name_prefix": variant})
        found.update((t.id, t) for t in page.rows)
    try:
        tenant = await stores.tenants.get(text)
        found.setdefault(tenant.id, tenant)
    except Exception:  # noqa: BLE001 - not an id
        pass
    return list(found.values())[:limit]


async def _inside(stores: Any, tenant: Any, text: str, limit: int) -> list[Found]:
    root = (ROOT, "tenants")
    at = tenant_level(tenant.id)
    found: list[Found] = []
    apps: dict[str, Any] = {}
    for variant in _variants(text):
        page = await stores.apps.page(tenant.id, limit=limit, filter={"name_prefix": variant})
        apps.update((a.id, a) for a in page.rows)
    for app in list(apps.values())[:limit]:
        found.append(Found("app", f"{tenant.id}/{app.id}", f"app {app.name} ({app.type})",
                           [root, (at, "apps"), (app_level(tenant.id, app.id), "branches")]))
    users: dict[str, Any] = {}
    for variant in _variants(text):
        page = await stores.users.page(tenant.id, limit=limit, filter={"username_prefix": variant})
        users.update((u.id, u) for u in page.rows)
    for user in list(users.values())[:limit]:
        found.append(Found("user", f"{tenant.id}/{user.username}", f"user {user.email}",
                           [root, (at, "users"), (user_level(tenant.id, user.id, user.username), "grants")]))
    return found


async def find_entities(stores: Any, query: str, *, limit: int = 5) -> list[Found]:
    """What ``query`` may mean, best first: tenants, then apps, then users."""
    text = query.strip()
    if not text:
        return []
    head, slash, tail = text.partition("/")
    if slash:
        try:
            tenant = await find_tenant(stores, head)
        except JumpError:
            return []
        return await _inside(stores, tenant, tail, limit) if tail else [
            Found("tenant", tenant.id, f"tenant {tenant.name}", [(ROOT, "tenants"), (tenant_level(tenant.id), "apps")])]
    found = [Found("tenant", t.id, f"tenant {t.name}", [(ROOT, "tenants"), (tenant_level(t.id), "apps")])
             for t in await _tenants(stores, text, limit)]
    first = await stores.tenants.page(limit=TENANTS_SEARCHED)
    for tenant in first.rows:
        found.extend(await _inside(stores, tenant, text, limit))
    return found
