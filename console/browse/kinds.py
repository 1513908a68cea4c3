"""The lists of the browser and the levels they belong to.

A *level* is where the operator stands: the tenant list, one tenant, one app, one user.
Each level has tabs, and each tab is a *list kind*: what it pages through (the store call),
its columns, what its ``/`` filter understands, its count, and what Enter on a row opens.

    tenants ─Enter→ tenant [apps | users | keys | audit]
                     apps ─Enter→ app [branches | keys | users]   (users: grants to the app)
                     users ─Enter→ user [grants | keys]            (keys: owned by the user)
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from console.browse.filters import FilterSpec, Token, yes_no
from console.browse.format import cell, human_count
from stores.keys import public_id
from stores.models import (
    APP_STATUSES, APP_TYPES, BRANCH_STATUSES, BRANCH_TYPES, GRANT_STATUSES, KEY_ENVIRONMENTS, KEY_TYPES,
    TENANT_STATUSES, USER_STATUSES, utcnow,
)
from stores.query import Page, RowCount

Extras = Mapping[str, Mapping[str, str]]
"""Per row key, extra cells a list computes beside the page (the tenant list's counts)."""


@dataclass(frozen=True)
class Scope:
    """Which tenant / app / user a list is inside."""

    tenant_id: str | None = None
    app_id: str | None = None
    user_id: str | None = None


@dataclass(frozen=True)
class Column:
    label: str
    value: Callable[[Any, Mapping[str, str]], str]
    width: int | None = None


def col(label: str, name: str, width: int | None = None) -> Column:
    """A column showing the row's field ``name``."""
    return Column(label, lambda row, _extra: cell(getattr(row, name)), width)


@dataclass(frozen=True)
class Level:
    """A place in the browser: the root (tenant list), or one tenant, app or user."""

    entity: str | None
    scope: Scope
    label: str
    tabs: tuple[str, ...]

    @property
    def key(self) -> tuple[str | None, str | None, str | None, str | None]:
        return (self.entity, self.scope.tenant_id, self.scope.app_id, self.scope.user_id)


PageFetch = Callable[..., Awaitable[Page[Any]]]
CountFetch = Callable[[Any, Scope, dict[str, Any]], Awaitable[RowCount | None]]


@dataclass(frozen=True)
class ListKind:
    name: str
    tab: str
    """The tab's label, also the crumb's last part."""
    columns: tuple[Column, ...]
    fetch: Callable[[Any, Scope, dict[str, Any], dict[str, Any]], Awaitable[Page[Any]]]
    """``fetch(stores, scope, filter, paging)`` with paging = after/before/last/limit."""
    filters: FilterSpec = field(default_factory=FilterSpec)
    estimate: CountFetch | None = None
    """A cheap count (the planner's estimate, exact when small); None: none is cheap."""
    count: CountFetch | None = None
    """The exact count, run after the page is shown; None: there is none."""
    row_key: Callable[[Any], str] = lambda row: row.key_text()
    opens: Callable[[Any, Scope], Level | None] = lambda row, scope: None
    """The level Enter opens on ``row``; None: a leaf (Enter shows its details)."""
    entity: str = ""
    """What a row is, for the edit actions: tenant, app, branch, user, grant, key, audit."""
    starts_at_end: bool = False
    """Open on the last page (the audit trail: the newest entries)."""
    extras: Callable[[Any, list[Any]], Awaitable[Extras]] | None = None
    fixed_filter: Callable[[Scope], dict[str, Any]] | None = None
    """Store filter fields every page of this list has (a user's keys: ``user_id``)."""

    def store_filter(self, scope: Scope, parsed: dict[str, Any]) -> dict[str, Any]:
        return {**parsed, **(self.fixed_filter(scope) if self.fixed_filter else {})}

    async def page(self, stores: Any, scope: Scope, parsed: dict[str, Any], **paging: Any) -> Page[Any]:
        return await self.fetch(stores, scope, self.store_filter(scope, parsed), paging)

    def cells(self, row: Any, extra: Mapping[str, str]) -> tuple[str, ...]:
        return tuple(column.value(row, extra) for column in self.columns)


def _status(entity_values: tuple[str, ...]) -> Token:
    return Token("status", "status", entity_values)


SOFT_DELETED = Token("deleted", "deleted", convert=yes_no, hint="yes|no")
"""``deleted:yes``: rows lokstra-auth treats as deleted (``deleted_at`` set), whatever their status."""


def shown_status(row: Any, _extra: Mapping[str, str] | None = None) -> str:
    """The status as lokstra-auth acts on it: its stores soft-delete by setting ``deleted_at``
    alone and leave ``status`` as it was (docs/upstream.md D), so such a row is deleted."""
    if getattr(row, "deleted_at", None) is not None and row.status != "deleted":
        return "deleted"
    return str(row.status)


def _key_state(key: Any, now: datetime | None = None) -> str:
    if key.revoked:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= (now or utcnow()):
        return "expired"
    return "active"


KEY_FILTERS = FilterSpec(tokens=(Token("env", "environment", KEY_ENVIRONMENTS), Token("type", "key_type", KEY_TYPES),
                                 Token("revoked", "revoked", convert=yes_no, hint="yes|no")),
                         expires="expires_before")
KEY_COLUMNS = (col("app", "app_id", 10), col("name", "name", 14),
               Column("key id", lambda k, _e: public_id(k.prefix, k.key_id), 20), col("type", "key_type", 6),
               Column("state", lambda k, _e: _key_state(k), 7),
               Column("expires", lambda k, _e: cell(k.expires_at)[:10], 10))


async def _tenant_extras(stores: Any, rows: list[Any]) -> Extras:
    """App count and user estimate per tenant: two index lookups each, for a page of tenants."""
    extras: dict[str, dict[str, str]] = {}
    for tenant in rows:
        apps = await stores.apps.count(tenant.id)
        users = await stores.users.estimate_count(tenant.id)
        extras[tenant.id] = {"apps": str(apps), "users": str(users.value) if users.exact else f"~{human_count(users.value)}"}
    return extras


def _audit_store(stores: Any) -> Any:
    audit = getattr(stores, "audit", None)
    if audit is None:
        raise LookupError("the audit trail is not available on this backend")
    return audit


KINDS: dict[str, ListKind] = {}


def _register(kind: ListKind) -> ListKind:
    KINDS[kind.name] = kind
    return kind


def tenant_level(tenant_id: str) -> Level:
    return Level("tenant", Scope(tenant_id=tenant_id), tenant_id, ("apps", "users", "tenant_keys", "audit"))


def app_level(tenant_id: str, app_id: str) -> Level:
    return Level("app", Scope(tenant_id=tenant_id, app_id=app_id), app_id, ("branches", "app_keys", "app_users"))


def user_level(tenant_id: str, user_id: str, label: str | None = None) -> Level:
    return Level("user", Scope(tenant_id=tenant_id, user_id=user_id), label or user_id, ("grants", "user_keys"))


ROOT = Level(None, Scope(), "tenants", ("tenants", "all_audit"))

_register(ListKind(
    "tenants", "tenants",
    (col("id", "id", 16), col("name", "name", 22), Column("status", shown_status, 9),
     Column("apps", lambda t, e: e.get("apps", ""), 5), Column("users", lambda t, e: e.get("users", ""), 8)),
    lambda s, scope, f, p: s.tenants.page(filter=f, **p),
    FilterSpec(bare="name_prefix", bare_help="name prefix", tokens=(_status(TENANT_STATUSES), SOFT_DELETED)),
    estimate=lambda s, scope, f: s.tenants.estimate_count(filter=f),
    count=lambda s, scope, f: s.tenants.count(filter=f),
    opens=lambda t, scope: tenant_level(t.id), entity="tenant", extras=_tenant_extras,
))
_register(ListKind(
    "apps", "apps",
    (col("id", "id", 14), col("name", "name", 20), col("type", "type", 8), col("status", "status", 9),
     col("created", "created_at", 16)),
    lambda s, scope, f, p: s.apps.page(scope.tenant_id, filter=f, **p),
    FilterSpec(bare="name_prefix", bare_help="name prefix", tokens=(Token("type", "type", APP_TYPES), _status(APP_STATUSES))),
    estimate=lambda s, scope, f: s.apps.estimate_count(scope.tenant_id, filter=f),
    count=lambda s, scope, f: s.apps.count(scope.tenant_id, filter=f),
    opens=lambda a, scope: app_level(a.tenant_id, a.id), entity="app",
))
_register(ListKind(
    "users", "users",
    (col("username", "username", 18), col("email", "email", 28), Column("status", shown_status, 9),
     col("full name", "full_name", 15)),
    lambda s, scope, f, p: s.users.page(scope.tenant_id, filter=f, **p),
    FilterSpec(bare="username_prefix", bare_help="username prefix", email="email_prefix",
               tokens=(Token("email", "email_prefix", hint="PREFIX"), _status(USER_STATUSES), SOFT_DELETED)),
    estimate=lambda s, scope, f: s.users.estimate_count(scope.tenant_id, filter=f),
    count=lambda s, scope, f: s.users.count(scope.tenant_id, filter=f),
    opens=lambda u, scope: user_level(u.tenant_id, u.id, u.username), entity="user",
))
_register(ListKind(
    "tenant_keys", "keys", KEY_COLUMNS,
    lambda s, scope, f, p: s.app_keys.page(scope.tenant_id, None, filter=f, **p),
    KEY_FILTERS,
    estimate=lambda s, scope, f: s.app_keys.estimate_count(scope.tenant_id, None, filter=f),
    count=lambda s, scope, f: s.app_keys.count(scope.tenant_id, None, filter=f),
    entity="key",
))
AUDIT_COLUMNS = (col("at", "at", 16), col("action", "action", 12), col("entity", "entity", 8),
                 col("key", "entity_key", 20), col("by", "os_user", 10))
AUDIT_FILTERS = FilterSpec(tokens=(Token("action", "action", hint="create|update|status|grant|revoke|delete|key.*|reveal"),
                                   Token("entity", "entity", hint="tenant|app|branch|user|grant|key"),
                                   Token("by", "os_user", hint="OS-USER")))
_register(ListKind(
    "audit", "audit", AUDIT_COLUMNS,
    lambda s, scope, f, p: _audit_store(s).page(scope.tenant_id, filter=f, **p),
    AUDIT_FILTERS, entity="audit", starts_at_end=True,
))
_register(ListKind(
    "all_audit", "audit",
    (col("at", "at", 16), col("tenant", "tenant_id", 10), col("action", "action", 12), col("key", "entity_key", 16),
     col("by", "os_user", 8)),
    lambda s, scope, f, p: _audit_store(s).page(None, filter=f, **p),
    AUDIT_FILTERS, entity="audit", starts_at_end=True,
))
_register(ListKind(
    "branches", "branches",
    (col("code", "code", 12), col("name", "name", 20), col("type", "type", 12), col("status", "status", 9),
     col("id", "id", 12)),
    lambda s, scope, f, p: s.branches.page(scope.tenant_id, scope.app_id, filter=f, **p),
    FilterSpec(tokens=(Token("type", "type", BRANCH_TYPES), _status(BRANCH_STATUSES))),
    estimate=lambda s, scope, f: s.branches.estimate_count(scope.tenant_id, scope.app_id, filter=f),
    count=lambda s, scope, f: s.branches.count(scope.tenant_id, scope.app_id, filter=f),
    entity="branch",
))
_register(ListKind(
    "app_keys", "keys", KEY_COLUMNS[1:],
    lambda s, scope, f, p: s.app_keys.page(scope.tenant_id, scope.app_id, filter=f, **p),
    KEY_FILTERS,
    estimate=lambda s, scope, f: s.app_keys.estimate_count(scope.tenant_id, scope.app_id, filter=f),
    count=lambda s, scope, f: s.app_keys.count(scope.tenant_id, scope.app_id, filter=f),
    entity="key",
))
GRANT_FILTERS = FilterSpec(tokens=(_status(GRANT_STATUSES),))
_register(ListKind(
    "app_users", "users",
    (col("user", "user_id", 20), col("status", "status", 9), col("granted", "granted_at", 16),
     col("revoked", "revoked_at", 16)),
    lambda s, scope, f, p: s.user_apps.page_app_users(scope.tenant_id, scope.app_id, filter=f, **p),
    GRANT_FILTERS,
    count=lambda s, scope, f: s.user_apps.count_app_users(scope.tenant_id, scope.app_id, filter=f),
    row_key=lambda g: g.user_id,
    opens=lambda g, scope: user_level(g.tenant_id, g.user_id), entity="grant",
))
_register(ListKind(
    "grants", "grants",
    (col("app", "app_id", 20), col("status", "status", 9), col("granted", "granted_at", 16),
     col("revoked", "revoked_at", 16)),
    lambda s, scope, f, p: s.user_apps.page_user_apps(scope.tenant_id, scope.user_id, filter=f, **p),
    GRANT_FILTERS,
    row_key=lambda g: g.app_id,
    opens=lambda g, scope: app_level(g.tenant_id, g.app_id), entity="grant",
))
_register(ListKind(
    "user_keys", "keys", KEY_COLUMNS,
    lambda s, scope, f, p: s.app_keys.page(scope.tenant_id, None, filter=f, **p),
    KEY_FILTERS,
    estimate=lambda s, scope, f: s.app_keys.estimate_count(scope.tenant_id, None, filter=f),
    count=lambda s, scope, f: s.app_keys.count(scope.tenant_id, None, filter=f),
    entity="key", fixed_filter=lambda scope: {"user_id": scope.user_id},
))


def crumbs(stack: list[tuple[Level, str]]) -> list[str]:
    """``tenants ▸ acme ▸ apps ▸ web ▸ keys`` as parts: each level's label, then its tab."""
    parts: list[str] = []
    for level, tab in stack:
        if level.entity is not None:
            parts.append(level.label)
        parts.append(KINDS[tab].tab)
    return parts
