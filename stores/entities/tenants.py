from __future__ import annotations

from datetime import datetime

from stores.contract import TenantFilter
from stores.entities.base import TableStore
from stores.models import TENANT_STATUSES, Tenant
from stores.query import Page, RowCount
from stores.tables import TENANTS


class Tenants(TableStore[Tenant]):
    spec = TENANTS

    async def create(self, tenant: Tenant) -> Tenant:
        return await self._create(tenant)

    async def get(self, tenant_id: str) -> Tenant:
        return await self._get((tenant_id,))

    async def update(self, tenant: Tenant, *, expected_updated_at: datetime | None = None) -> Tenant:
        return await self._update(tenant, expected_updated_at)

    async def delete(self, tenant_id: str) -> None:
        """Hard delete: apps, branches, users, grants and keys of the tenant go with it."""
        await self._delete((tenant_id,))

    async def list(self) -> list[Tenant]:
        return await self._select((), "name")

    async def get_by_name(self, name: str) -> Tenant:
        return await self._get_unique(("name",), (name,), f"named {name!r}")

    async def exists(self, tenant_id: str) -> bool:
        return await self._exists((tenant_id,))

    async def set_status(self, tenant_id: str, status: str) -> Tenant:
        """Activate, suspend or soft-delete (``deleted`` sets ``deleted_at``; others clear it)."""
        return await self._set_status((tenant_id,), status, TENANT_STATUSES)

    async def page(self, *, after: str | None = None, before: str | None = None,
                   last: bool = False, limit: int = 50,
                   filter: TenantFilter | dict | None = None) -> Page[Tenant]:
        return await self._page((), "name", TenantFilter.parse(filter), after, limit, before, last)

    async def count(self, *, filter: TenantFilter | dict | None = None) -> int:
        return await self._count((), TenantFilter.parse(filter))

    async def estimate_count(self, *, filter: TenantFilter | dict | None = None) -> RowCount:
        return await self._estimate((), TenantFilter.parse(filter))
