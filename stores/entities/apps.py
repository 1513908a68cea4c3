from __future__ import annotations

import builtins
from datetime import datetime

from stores.contract import AppFilter
from stores.entities.base import TableStore
from stores.errors import ValidationFailed
from stores.models import APP_STATUSES, APP_TYPES, App
from stores.query import Eq, Page, RowCount
from stores.tables import APPS


class Apps(TableStore[App]):
    spec = APPS

    async def create(self, app: App) -> App:
        return await self._create(app)

    async def get(self, tenant_id: str, app_id: str) -> App:
        return await self._get((tenant_id, app_id))

    async def update(self, app: App, *, expected_updated_at: datetime | None = None) -> App:
        return await self._update(app, expected_updated_at)

    async def delete(self, tenant_id: str, app_id: str) -> None:
        """Hard delete: the app's branches, grants and keys go with it."""
        await self._delete((tenant_id, app_id))

    async def list(self, tenant_id: str) -> list[App]:
        return await self._select(self.scope(tenant_id=tenant_id), "name")

    async def get_by_name(self, tenant_id: str, name: str) -> App:
        return await self._get_unique(("tenant_id", "name"), (tenant_id, name), f"{tenant_id}/named {name!r}")

    async def exists(self, tenant_id: str, app_id: str) -> bool:
        return await self._exists((tenant_id, app_id))

    async def list_by_type(self, tenant_id: str, app_type: str) -> builtins.list[App]:
        if app_type not in APP_TYPES:
            raise ValidationFailed("app", {"type": f"must be one of {', '.join(APP_TYPES)}"})
        return await self._select(self.scope(tenant_id=tenant_id), "name", (Eq("type", app_type),))

    async def set_status(self, tenant_id: str, app_id: str, status: str) -> App:
        return await self._set_status((tenant_id, app_id), status, APP_STATUSES)

    async def page(self, tenant_id: str, *, after: str | None = None, before: str | None = None,
                   last: bool = False, limit: int = 50,
                   filter: AppFilter | dict | None = None) -> Page[App]:
        return await self._page(self.scope(tenant_id=tenant_id), "name", AppFilter.parse(filter), after, limit, before, last)

    async def count(self, tenant_id: str, *, filter: AppFilter | dict | None = None) -> int:
        return await self._count(self.scope(tenant_id=tenant_id), AppFilter.parse(filter))

    async def estimate_count(self, tenant_id: str, *, filter: AppFilter | dict | None = None) -> RowCount:
        return await self._estimate(self.scope(tenant_id=tenant_id), AppFilter.parse(filter))
