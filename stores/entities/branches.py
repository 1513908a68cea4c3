from __future__ import annotations

import builtins
from datetime import datetime

from stores.contract import BranchFilter
from stores.entities.base import TableStore
from stores.errors import ValidationFailed
from stores.models import BRANCH_STATUSES, BRANCH_TYPES, Branch
from stores.query import Eq, Page, RowCount
from stores.tables import BRANCHES


class Branches(TableStore[Branch]):
    spec = BRANCHES

    async def create(self, branch: Branch) -> Branch:
        return await self._create(branch)

    async def get(self, tenant_id: str, app_id: str, branch_id: str) -> Branch:
        return await self._get((tenant_id, app_id, branch_id))

    async def update(self, branch: Branch, *, expected_updated_at: datetime | None = None) -> Branch:
        return await self._update(branch, expected_updated_at)

    async def delete(self, tenant_id: str, app_id: str, branch_id: str) -> None:
        await self._delete((tenant_id, app_id, branch_id))

    async def list(self, tenant_id: str, app_id: str) -> list[Branch]:
        return await self._select(self.scope(tenant_id=tenant_id, app_id=app_id), "code")

    async def exists(self, tenant_id: str, app_id: str, branch_id: str) -> bool:
        return await self._exists((tenant_id, app_id, branch_id))

    async def list_by_type(self, tenant_id: str, app_id: str, branch_type: str) -> builtins.list[Branch]:
        if branch_type not in BRANCH_TYPES:
            raise ValidationFailed("branch", {"type": f"must be one of {', '.join(BRANCH_TYPES)}"})
        return await self._select(self.scope(tenant_id=tenant_id, app_id=app_id), "code", (Eq("type", branch_type),))

    async def set_status(self, tenant_id: str, app_id: str, branch_id: str, status: str) -> Branch:
        """``disabled`` is upstream's "disable branch"; ``active`` re-enables it."""
        return await self._set_status((tenant_id, app_id, branch_id), status, BRANCH_STATUSES)

    async def page(self, tenant_id: str, app_id: str, *, after: str | None = None, before: str | None = None,
                   last: bool = False, limit: int = 50,
                   filter: BranchFilter | dict | None = None) -> Page[Branch]:
        scope = self.scope(tenant_id=tenant_id, app_id=app_id)
        return await self._page(scope, "code", BranchFilter.parse(filter), after, limit, before, last)

    async def count(self, tenant_id: str, app_id: str, *, filter: BranchFilter | dict | None = None) -> int:
        return await self._count(self.scope(tenant_id=tenant_id, app_id=app_id), BranchFilter.parse(filter))

    async def estimate_count(self, tenant_id: str, app_id: str, *,
                             filter: BranchFilter | dict | None = None) -> RowCount:
        return await self._estimate(self.scope(tenant_id=tenant_id, app_id=app_id), BranchFilter.parse(filter))
