from __future__ import annotations

from stores.contract import GrantFilter
from stores.entities.base import TableStore, check_keys
from stores.models import UserApp
from stores.query import Page
from stores.tables import USER_APPS


class UserApps(TableStore[UserApp]):
    """Which user may use which app. Revoking keeps the row (status ``revoked``)."""

    spec = USER_APPS

    async def grant_access(self, tenant_id: str, app_id: str, user_id: str) -> UserApp:
        """Grant, or re-activate a revoked grant (an upsert); an active grant stays as it is."""
        check_keys(self.spec.entity, tenant_id=tenant_id, app_id=app_id, user_id=user_id)
        # model_construct: validated() turns bad ids into ValidationFailed (the constructor
        # would raise pydantic's own error, found by tests/reliability/test_fuzz.py).
        grant = self.validated(UserApp.model_construct(tenant_id=tenant_id, app_id=app_id, user_id=user_id,
                                                       status="active", granted_at=self.engine.clock.now(), revoked_at=None))
        return await self.engine.upsert_grant(grant)

    async def revoke_access(self, tenant_id: str, app_id: str, user_id: str) -> UserApp:
        """Set status ``revoked`` and ``revoked_at`` (kept from the first revoke)."""
        return await self._patch((tenant_id, app_id, user_id), {"status": "revoked", "revoked_at": self.engine.clock.now()},
                                 frozenset({"revoked_at"}))

    async def has_access(self, tenant_id: str, app_id: str, user_id: str) -> bool:
        check_keys(self.spec.entity, tenant_id=tenant_id, app_id=app_id, user_id=user_id)
        grant = await self.engine.fetch(self.spec, (tenant_id, app_id, user_id))
        return grant is not None and grant.status == "active"

    async def get(self, tenant_id: str, app_id: str, user_id: str) -> UserApp:
        return await self._get((tenant_id, app_id, user_id))

    async def list_user_apps(self, tenant_id: str, user_id: str) -> list[UserApp]:
        """Every grant of the user, active and revoked, by app id."""
        return await self._select(self.scope(tenant_id=tenant_id, user_id=user_id), "app_id")

    async def list_app_users(self, tenant_id: str, app_id: str) -> list[UserApp]:
        """Every grant to the app, active and revoked, by user id."""
        return await self._select(self.scope(tenant_id=tenant_id, app_id=app_id), "user_id")

    async def page_user_apps(self, tenant_id: str, user_id: str, *, after: str | None = None, before: str | None = None,
                             last: bool = False, limit: int = 50,
                             filter: GrantFilter | dict | None = None) -> Page[UserApp]:
        scope = self.scope(tenant_id=tenant_id, user_id=user_id)
        return await self._page(scope, "app_id", GrantFilter.parse(filter), after, limit, before, last)

    async def page_app_users(self, tenant_id: str, app_id: str, *, after: str | None = None, before: str | None = None,
                             last: bool = False, limit: int = 50,
                             filter: GrantFilter | dict | None = None) -> Page[UserApp]:
        scope = self.scope(tenant_id=tenant_id, app_id=app_id)
        return await self._page(scope, "user_id", GrantFilter.parse(filter), after, limit, before, last)

    async def count_app_users(self, tenant_id: str, app_id: str, *, filter: GrantFilter | dict | None = None) -> int:
        return await self._count(self.scope(tenant_id=tenant_id, app_id=app_id), GrantFilter.parse(filter))
