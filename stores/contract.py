"""The store contract: one ``Protocol`` per store, implemented by every backend.

Operation names follow lokstra-auth upstream (Python style). Beyond upstream, every list
has a keyset ``page`` with filters, an ``estimate_count`` and an exact ``count``.
Semantics both backends keep:

* create / store fail with ``AlreadyExists`` on a duplicate key or unique column and with
  ``ReferenceMissing`` when the parent (tenant, app, user) is missing;
* update replaces every mutable column, keeps ``created_at``, refreshes ``updated_at``,
  and with ``expected_updated_at`` refuses (``Conflict``) a row changed since it was read;
* delete is hard and cascades exactly as the foreign keys do: a tenant takes its apps,
  branches, users, grants and keys; an app its branches, grants and keys; a user its grants
  (keys keep ``user_id``: upstream has no foreign key there);
* ``grant_access`` upserts and re-activates a revoked grant; ``revoke_access`` sets status
  ``revoked`` and ``revoked_at``; ``app_keys.revoke`` sets ``revoked`` and ``revoked_at``.
"""
from __future__ import annotations

import builtins
from datetime import datetime
from typing import Protocol

from pydantic import field_validator

from stores.models import (
    APP_STATUSES, APP_TYPES, BRANCH_STATUSES, BRANCH_TYPES, TENANT_STATUSES, USER_STATUSES,
    App, AppKey, AppStatus, AppType, Branch, BranchStatus, BranchType, GrantStatus, KeyEnvironment,
    KeyType, Tenant, TenantStatus, Text, User, UserApp, UserStatus, naive_utc,
)
from stores.query import Before, Condition, Eq, Filter, IsNull, Page, Prefix, RowCount

__all__ = [
    "TenantFilter", "AppFilter", "BranchFilter", "UserFilter", "GrantFilter", "KeyFilter",
    "TenantStore", "AppStore", "BranchStore", "UserStore", "UserAppStore", "AppKeyStore",
    "APP_STATUSES", "APP_TYPES", "BRANCH_STATUSES", "BRANCH_TYPES", "TENANT_STATUSES", "USER_STATUSES",
]


def _present(*conditions: Condition | None) -> tuple[Condition, ...]:
    return tuple(c for c in conditions if c is not None)


def _soft_deleted(deleted: bool | None) -> Condition | None:
    """Soft deleted or not, as upstream decides it: by ``deleted_at`` alone (its stores set
    only that column and filter ``deleted_at IS NULL``; the status may still say active)."""
    return None if deleted is None else IsNull("deleted_at", set=deleted)


class TenantFilter(Filter):
    name_prefix: Text | None = None
    status: TenantStatus | None = None
    deleted: bool | None = None

    def conditions(self) -> tuple[Condition, ...]:
        return _present(Prefix("name", self.name_prefix, fold=True) if self.name_prefix else None,
                        Eq("status", self.status) if self.status else None,
                        _soft_deleted(self.deleted))


class AppFilter(Filter):
    name_prefix: Text | None = None
    """Apps are paged by name, so this is a range of that index (the grant dialog's lookup).
    Every ``*_prefix`` of the filters ignores letter case (``stores.query.Prefix``)."""
    id_prefix: Text | None = None
    """Apps whose id starts with this (a walk of the tenant's apps, which are few)."""
    type: AppType | None = None
    status: AppStatus | None = None

    def conditions(self) -> tuple[Condition, ...]:
        return _present(Prefix("name", self.name_prefix, fold=True) if self.name_prefix else None,
                        Prefix("id", self.id_prefix, fold=True) if self.id_prefix else None,
                        Eq("type", self.type) if self.type else None,
                        Eq("status", self.status) if self.status else None)


class BranchFilter(Filter):
    type: BranchType | None = None
    status: BranchStatus | None = None

    def conditions(self) -> tuple[Condition, ...]:
        return _present(Eq("type", self.type) if self.type else None,
                        Eq("status", self.status) if self.status else None)


class UserFilter(Filter):
    """Pages are ordered by username, or by email when only ``email_prefix`` is given."""

    username_prefix: Text | None = None
    email_prefix: Text | None = None
    status: UserStatus | None = None
    deleted: bool | None = None

    def conditions(self) -> tuple[Condition, ...]:
        return _present(Prefix("username", self.username_prefix, fold=True) if self.username_prefix else None,
                        Prefix("email", self.email_prefix, fold=True) if self.email_prefix else None,
                        Eq("status", self.status) if self.status else None,
                        _soft_deleted(self.deleted))


class GrantFilter(Filter):
    status: GrantStatus | None = None

    def conditions(self) -> tuple[Condition, ...]:
        return _present(Eq("status", self.status) if self.status else None)


class KeyFilter(Filter):
    environment: KeyEnvironment | None = None
    user_id: Text | None = None
    """Keys owned by this user (upstream's partial index on user_id serves it)."""
    key_type: KeyType | None = None
    revoked: bool | None = None
    expires_before: datetime | None = None

    @field_validator("expires_before")
    @classmethod
    def _naive_utc(cls, value: datetime | None) -> datetime | None:
        return naive_utc(value) if value is not None else None

    def conditions(self) -> tuple[Condition, ...]:
        return _present(Eq("environment", self.environment) if self.environment else None,
                        Eq("user_id", self.user_id) if self.user_id else None,
                        Eq("key_type", self.key_type) if self.key_type else None,
                        Eq("revoked", self.revoked) if self.revoked is not None else None,
                        Before("expires_at", self.expires_before) if self.expires_before else None)


class TenantStore(Protocol):
    async def create(self, tenant: Tenant) -> Tenant: ...
    async def get(self, tenant_id: str) -> Tenant: ...
    async def update(self, tenant: Tenant, *, expected_updated_at: datetime | None = None) -> Tenant: ...
    async def delete(self, tenant_id: str) -> None: ...
    async def list(self) -> list[Tenant]: ...
    async def get_by_name(self, name: str) -> Tenant: ...
    async def exists(self, tenant_id: str) -> bool: ...
    async def page(self, *, after: str | None = None, before: str | None = None,
                   last: bool = False, limit: int = 50,
                   filter: TenantFilter | dict | None = None) -> Page[Tenant]: ...
    async def count(self, *, filter: TenantFilter | dict | None = None) -> int: ...
    async def estimate_count(self, *, filter: TenantFilter | dict | None = None) -> RowCount: ...


class AppStore(Protocol):
    async def create(self, app: App) -> App: ...
    async def get(self, tenant_id: str, app_id: str) -> App: ...
    async def update(self, app: App, *, expected_updated_at: datetime | None = None) -> App: ...
    async def delete(self, tenant_id: str, app_id: str) -> None: ...
    async def list(self, tenant_id: str) -> list[App]: ...
    async def get_by_name(self, tenant_id: str, name: str) -> App: ...
    async def exists(self, tenant_id: str, app_id: str) -> bool: ...
    async def list_by_type(self, tenant_id: str, app_type: str) -> builtins.list[App]: ...
    async def page(self, tenant_id: str, *, after: str | None = None, before: str | None = None,
                   last: bool = False, limit: int = 50,
                   filter: AppFilter | dict | None = None) -> Page[App]: ...
    async def count(self, tenant_id: str, *, filter: AppFilter | dict | None = None) -> int: ...
    async def estimate_count(self, tenant_id: str, *, filter: AppFilter | dict | None = None) -> RowCount: ...


class BranchStore(Protocol):
    async def create(self, branch: Branch) -> Branch: ...
    async def get(self, tenant_id: str, app_id: str, branch_id: str) -> Branch: ...
    async def update(self, branch: Branch, *, expected_updated_at: datetime | None = None) -> Branch: ...
    async def delete(self, tenant_id: str, app_id: str, branch_id: str) -> None: ...
    async def list(self, tenant_id: str, app_id: str) -> list[Branch]: ...
    async def exists(self, tenant_id: str, app_id: str, branch_id: str) -> bool: ...
    async def list_by_type(self, tenant_id: str, app_id: str, branch_type: str) -> builtins.list[Branch]: ...
    async def page(self, tenant_id: str, app_id: str, *, after: str | None = None, before: str | None = None,
                   last: bool = False, limit: int = 50,
                   filter: BranchFilter | dict | None = None) -> Page[Branch]: ...
    async def count(self, tenant_id: str, app_id: str, *, filter: BranchFilter | dict | None = None) -> int: ...
    async def estimate_count(self, tenant_id: str, app_id: str, *,
                             filter: BranchFilter | dict | None = None) -> RowCount: ...


class UserStore(Protocol):
    async def create(self, user: User) -> User: ...
    async def get(self, tenant_id: str, user_id: str) -> User: ...
    async def update(self, user: User, *, expected_updated_at: datetime | None = None) -> User: ...
    async def delete(self, tenant_id: str, user_id: str) -> None: ...
    async def list(self, tenant_id: str) -> list[User]: ...
    async def get_by_username(self, tenant_id: str, username: str) -> User: ...
    async def get_by_email(self, tenant_id: str, email: str) -> User: ...
    async def exists(self, tenant_id: str, user_id: str) -> bool: ...
    async def list_by_app(self, tenant_id: str, app_id: str) -> builtins.list[User]: ...
    async def page(self, tenant_id: str, *, after: str | None = None, before: str | None = None,
                   last: bool = False, limit: int = 50,
                   filter: UserFilter | dict | None = None) -> Page[User]: ...
    async def count(self, tenant_id: str, *, filter: UserFilter | dict | None = None) -> int: ...
    async def estimate_count(self, tenant_id: str, *, filter: UserFilter | dict | None = None) -> RowCount: ...


class UserAppStore(Protocol):
    async def grant_access(self, tenant_id: str, app_id: str, user_id: str) -> UserApp: ...
    async def revoke_access(self, tenant_id: str, app_id: str, user_id: str) -> UserApp: ...
    async def has_access(self, tenant_id: str, app_id: str, user_id: str) -> bool: ...
    async def list_user_apps(self, tenant_id: str, user_id: str) -> list[UserApp]: ...
    async def list_app_users(self, tenant_id: str, app_id: str) -> list[UserApp]: ...
    async def page_user_apps(self, tenant_id: str, user_id: str, *, after: str | None = None, before: str | None = None,
                             last: bool = False, limit: int = 50,
                             filter: GrantFilter | dict | None = None) -> Page[UserApp]: ...
    async def page_app_users(self, tenant_id: str, app_id: str, *, after: str | None = None, before: str | None = None,
                             last: bool = False, limit: int = 50,
                             filter: GrantFilter | dict | None = None) -> Page[UserApp]: ...
    async def count_app_users(self, tenant_id: str, app_id: str, *, filter: GrantFilter | dict | None = None) -> int: ...


class AppKeyStore(Protocol):
    async def store(self, key: AppKey) -> AppKey: ...
    async def get_by_id(self, key_pk: str) -> AppKey: ...
    async def get_by_key_id(self, tenant_id: str, app_id: str, key_id: str) -> AppKey: ...
    async def list_by_app(self, tenant_id: str, app_id: str) -> list[AppKey]: ...
    async def list_by_tenant(self, tenant_id: str) -> list[AppKey]: ...
    async def update(self, key: AppKey) -> AppKey: ...
    async def revoke(self, key_pk: str) -> AppKey: ...
    async def delete(self, key_pk: str) -> None: ...
    async def page(self, tenant_id: str, app_id: str | None = None, *, after: str | None = None, before: str | None = None,
                   last: bool = False, limit: int = 50,
                   filter: KeyFilter | dict | None = None) -> Page[AppKey]: ...
    async def count(self, tenant_id: str, app_id: str | None = None, *, filter: KeyFilter | dict | None = None) -> int: ...
    async def estimate_count(self, tenant_id: str, app_id: str | None = None, *,
                             filter: KeyFilter | dict | None = None) -> RowCount: ...
