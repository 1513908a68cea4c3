"""Which of lokstra-auth's schema layouts a database holds: ``core``, ``current`` or ``unknown``.

lokstra-auth has two layouts in the wild (docs/upstream.md, F):

- ``core``: the six tables of ``db_schema.sql`` (our migration 001), described by
  ``stores.tables`` column for column;
- ``current``: the nineteen tables lokstra-auth's own command creates today
  (``cmd/lokstra-auth/migrations/lokstra_auth/001_auth.up.sql`` in primadi/lokstra-auth):
  the six shared tables with more columns (and ``branches`` without ``code``), plus RBAC,
  policies, identities, credential providers, ownership history, audit logs, sessions and
  refresh tokens.

Recognition compares table and column *names* only: enough to tell the layouts apart
(``branches.code`` exists in one and not the other) and to list what is missing, without
taking a position on types or indexes, which ``migrate status`` / ``adopt`` compare in full.
Columns a deployment added itself do not stop a layout from being recognised; they are
listed as extras.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stores.tables import ALL_TABLES

CORE_COLUMNS: dict[str, frozenset[str]] = {spec.name: frozenset(spec.columns) for spec in ALL_TABLES}


def _current_columns() -> dict[str, frozenset[str]]:
    """The current layout as changes to the core one, each from upstream's 001_auth.up.sql."""
    changed = {
        "tenants": CORE_COLUMNS["tenants"] | {"owner_id"},
        "apps": CORE_COLUMNS["apps"] | {"deleted_at"},
        "branches": (CORE_COLUMNS["branches"] - {"code"}) | {"deleted_at"},
        "users": CORE_COLUMNS["users"] | {
            "email_verified_at", "phone_number", "phone_verified_at", "password_hash", "is_tenant_owner",
            "failed_login_attempts", "last_failed_login_at", "locked_at", "locked_until", "lockout_count"},
        "user_apps": CORE_COLUMNS["user_apps"],
        "app_keys": CORE_COLUMNS["app_keys"],
    }
    added = {
        "user_identities": {"id", "user_id", "tenant_id", "provider", "provider_id", "email", "username",
                            "verified", "metadata", "created_at", "updated_at"},
        "credential_providers": {"id", "tenant_id", "app_id", "type", "name", "description", "status", "config",
                                 "metadata", "created_at", "updated_at"},
        "roles": {"id", "tenant_id", "app_id", "name", "description", "status", "metadata", "created_at",
                  "updated_at", "deleted_at"},
        "user_roles": {"user_id", "tenant_id", "app_id", "role_id", "granted_at", "revoked_at"},
        "permissions": {"id", "tenant_id", "app_id", "name", "description", "resource", "action", "status",
                        "metadata", "created_at", "updated_at", "deleted_at"},
        "permission_compositions": {"parent_permission_id", "child_permission_id", "tenant_id", "app_id",
                                    "is_required", "priority", "metadata", "created_at"},
        "role_permissions": {"role_id", "tenant_id", "app_id", "permission_id", "granted_at", "revoked_at"},
        "user_permissions": {"user_id", "tenant_id", "app_id", "permission_id", "granted_at", "revoked_at"},
        "policies": {"id", "tenant_id", "app_id", "name", "description", "effect", "subjects", "resources",
                     "actions", "conditions", "status", "metadata", "created_at", "updated_at"},
        "tenant_ownership_history": {"id", "tenant_id", "previous_owner", "new_owner", "transferred_by",
                                     "transferred_by_tenant", "reason", "transferred_at"},
        "audit_logs": {"id", "tenant_id", "app_id", "user_id", "session_id", "action", "resource_type",
                       "resource_id", "method", "path", "status_code", "request_body", "response_body",
                       "ip_address", "user_agent", "source", "success", "error_message", "metadata", "created_at"},
        "sessions": {"id", "tenant_id", "user_id", "app_id", "session_token_hash", "ip_address", "user_agent",
                     "status", "created_at", "last_activity_at", "expires_at", "revoked_at", "metadata"},
        "refresh_tokens": {"id", "tenant_id", "user_id", "app_id", "session_id", "token_hash", "token_family",
                           "rotated_from_id", "status", "created_at", "expires_at", "used_at", "revoked_at",
                           "ip_address", "user_agent", "metadata"},
    }
    return {**changed, **{name: frozenset(columns) for name, columns in added.items()}}


@dataclass(frozen=True)
class Layout:
    name: str
    title: str
    tables: Mapping[str, frozenset[str]]
    supported: bool
    """Whether this console version administers the layout (browse, edit, copy, drill)."""


CORE = Layout("core", "lokstra-auth's core layout (6 tables)", CORE_COLUMNS, supported=True)
CURRENT = Layout("current", "lokstra-auth's current layout (19 tables)", _current_columns(), supported=False)
LAYOUTS: tuple[Layout, ...] = (CORE, CURRENT)

IGNORED_TABLES = frozenset({"schema_migrations", "sync_config", "console_migration_history"})
"""lokstra's runner tables (and an older console's), which live beside the data in
``lokstra_core`` deployments: not part of either layout."""

UNSUPPORTED_NOTE = ("this console version administers the core layout only: browsing, editing, copy and the "
                    "drill are not available on it yet")


@dataclass(frozen=True)
class LayoutReport:
    """What a data schema holds. ``name`` is ``core``, ``current``, ``unknown`` or ``empty``."""

    name: str
    nearest: str | None = None
    missing: tuple[str, ...] = ()
    """What the recognised (or nearest) layout has and the database lacks, as operator lines."""
    extra: tuple[str, ...] = ()
    """What the database has beyond that layout."""
    supported: bool = False
    unusable: tuple[tuple[str, str], ...] = ()
    """(table, why): tables the console describes whose columns are not all here, so their
    stores refuse (``LayoutUnsupported``) instead of failing on a missing column."""

    @property
    def headline(self) -> str:
        """One line for ``status``, ``check``, ``migrate status`` and the header."""
        if self.name == "empty":
            return "empty: none of lokstra-auth's tables is here"
        if self.name == "unknown":
            first = f"; {self.missing[0]}" if self.missing else ""
            more = f" (and {len(self.missing) - 1} more)" if len(self.missing) > 1 else ""
            return f"unknown: nearest is {self.nearest}, {len(self.missing)} difference(s){first}{more}"
        layout = by_name(self.name)
        text = layout.title
        if self.extra:
            text += f", with {len(self.extra)} extra column(s)/table(s)"
        if not self.supported:
            text += f": {UNSUPPORTED_NOTE}"
        return text

    def lines(self) -> list[str]:
        """The headline, then every difference (what ``check`` lists)."""
        return [self.headline, *(f"lacks {line}" for line in self.missing), *(f"also has {line}" for line in self.extra)]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "nearest": self.nearest, "missing": list(self.missing),
                "extra": list(self.extra), "supported": self.supported, "headline": self.headline}


def require_supported(report: LayoutReport | None, what: str) -> None:
    """Raise ``LayoutUnsupported`` unless ``report`` is a layout the console administers whole.

    Operations over every table (copy, switch, drill, demo) must refuse on the others: the
    six tables they know are only part of such a database, and a replace that truncated them
    would have to cascade into the rest (roles, sessions, tokens)."""
    if report is None or report.supported or report.name == "empty":
        return
    from stores.errors import LayoutUnsupported

    reason = report.headline if report.name == "unknown" else f"it holds {by_name(report.name).title}; {UNSUPPORTED_NOTE}"
    raise LayoutUnsupported(what, report.name, reason)


def by_name(name: str) -> Layout:
    for layout in LAYOUTS:
        if layout.name == name:
            return layout
    raise KeyError(name)


@dataclass
class _Comparison:
    layout: Layout
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)


def _compare(layout: Layout, found: Mapping[str, frozenset[str]]) -> _Comparison:
    result = _Comparison(layout)
    for table in sorted(layout.tables):
        if table not in found:
            result.missing.append(f"table {table}")
            continue
        result.missing.extend(f"column {table}.{column}" for column in sorted(layout.tables[table] - found[table]))
        result.extra.extend(f"column {table}.{column}" for column in sorted(found[table] - layout.tables[table]))
    result.extra.extend(f"table {table}" for table in sorted(set(found) - set(layout.tables)))
    return result


def _unusable(tables: Mapping[str, frozenset[str]], name: str) -> tuple[tuple[str, str], ...]:
    where = f"lokstra-auth's {name} layout" if name in ("core", "current") else "this schema"
    found = []
    for table, columns in CORE_COLUMNS.items():
        absent = sorted(columns - tables[table]) if table in tables else []
        if absent:
            listed = ", ".join(f"{table}.{column}" for column in absent)
            found.append((table, f"{where} has no {listed}, which the console reads and writes"))
    return tuple(found)


def recognise(found: Mapping[str, frozenset[str] | set[str]]) -> LayoutReport:
    """The layout ``found`` (table name -> its column names, one data schema) holds."""
    tables = {name: frozenset(columns) for name, columns in found.items() if name not in IGNORED_TABLES}
    known = set().union(*(layout.tables for layout in LAYOUTS))
    if not tables.keys() & known:
        return LayoutReport("empty")
    comparisons = [_compare(layout, tables) for layout in LAYOUTS]
    for comparison in comparisons:
        if not comparison.missing:
            name = comparison.layout.name
            return LayoutReport(name, name, (), tuple(comparison.extra), comparison.layout.supported,
                                _unusable(tables, name))
    nearest = min(comparisons, key=lambda c: (len(c.missing), len(c.extra)))
    return LayoutReport("unknown", nearest.layout.name, tuple(nearest.missing), tuple(nearest.extra), False,
                        _unusable(tables, "unknown"))
