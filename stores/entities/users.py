from __future__ import annotations

import builtins
from datetime import datetime

from stores.contract import UserFilter
from stores.entities.base import TableStore, check_keys
from stores.models import USER_STATUSES, User
from stores.query import Page, RowCount, prefix_order
from stores.tables import USERS


def _order(filter: UserFilter) -> str:
    return prefix_order("username", {"username": filter.username_prefix, "email": filter.email_prefix})


class Users(TableStore[User]):
    spec = USERS

    async def create(self, user: User) -> User:
        return await self._create(user)

    async def get(self, tenant_id: str, user_id: str) -> User:
        return await self._get((tenant_id, user_id))

    async def update(self, user: User, *, expected_updated_at: datetime | None = None) -> User:
        return await self._update(user, expected_updated_at)

    async def delete(self, tenant_id: str, user_id: str) -> None:
        """Hard delete: the user's grants go with it; keys keep ``user_id`` (no foreign key upstream)."""
        await self._delete((tenant_id, user_id))

    async def list(self, tenant_id: str) -> list[User]:
        return await self._select(self.scope(tenant_id=tenant_id), "username")

    async def get_by_username(self, tenant_id: str, username: str) -> User:
        return await self._get_unique(("tenant_id", "username"), (tenant_id, username), f"{tenant_id}/username {username!r}")

    async def get_by_email(self, tenant_id: str, email: str) -> User:
        return await self._get_unique(("tenant_id", "email"), (tenant_id, email), f"{tenant_id}/email {email!r}")

    async def exists(self, tenant_id: str, user_id: str) -> bool:
        return await self._exists((tenant_id, user_id))

    async def list_by_app(self, tenant_id: str, app_id: str) -> builtins.list[User]:
        """Users with an active grant to the app."""
        check_keys("user", tenant_id=tenant_id, app_id=app_id)
        return await self.engine.users_with_grant(tenant_id, app_id)

    async def set_status(self, tenant_id: str, user_id: str, status: str) -> User:
        """Activate, suspend or soft-delete (``deleted`` sets ``deleted_at``; others clear it)."""
        return await self._set_status((tenant_id, user_id), status, USER_STATUSES)

    async def page(self, tenant_id: str, *, after: str | None = None, before: str | None = None,
                   last: bool = False, limit: int = 50,
                   filter: UserFilter | dict | None = None) -> Page[User]:
        parsed = UserFilter.parse(filter)
        return await self._page(self.scope(tenant_id=tenant_id), _order(parsed), parsed, after, limit, before, last)

    async def count(self, tenant_id: str, *, filter: UserFilter | dict | None = None) -> int:
        return await self._count(self.scope(tenant_id=tenant_id), UserFilter.parse(filter))

    async def estimate_count(self, tenant_id: str, *, filter: UserFilter | dict | None = None) -> RowCount:
        return await self._estimate(self.scope(tenant_id=tenant_id), UserFilter.parse(filter))
