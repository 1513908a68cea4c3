from __future__ import annotations

from stores.contract import KeyFilter
from stores.entities.base import TableStore
from stores.errors import NotFound, ReferenceMissing
from stores.models import AppKey
from stores.owners import is_app_owner
from stores.query import Page, RowCount
from stores.tables import APP_KEYS, USERS


class AppKeys(TableStore[AppKey]):
    """API keys. Only ``secret_hash`` (base64url SHA3-256) is ever stored; see ``stores.keys``."""

    spec = APP_KEYS

    async def store(self, key: AppKey) -> AppKey:
        """Save a new key. A user owner (``user_id``) must exist, although upstream has no
        foreign key for it: a key owned by nobody real is an operator mistake. An app owner
        (``app:<app_id>``, what upstream writes and the default) is not a user."""
        key = self.validated(key)
        if (key.user_id is not None and not is_app_owner(key.user_id)
                and await self.engine.fetch(USERS, (key.tenant_id, key.user_id)) is None):
            raise ReferenceMissing(self.spec.entity, "user", f"{key.tenant_id}/{key.user_id}", "user_id")
        return await self._create(key)

    async def get_by_id(self, key_pk: str) -> AppKey:
        return await self._get((key_pk,))

    async def get_by_key_id(self, tenant_id: str, app_id: str, key_id: str) -> AppKey:
        key = await self._get_unique(("key_id",), (key_id,), f"{tenant_id}/{app_id}/key_id {key_id!r}")
        if key.tenant_id != tenant_id or key.app_id != app_id:
            raise NotFound(self.spec.entity, f"{tenant_id}/{app_id}/key_id {key_id!r}")
        return key

    async def list_by_app(self, tenant_id: str, app_id: str) -> list[AppKey]:
        return await self._select(self.scope(tenant_id=tenant_id, app_id=app_id), "id")

    async def list_by_tenant(self, tenant_id: str) -> list[AppKey]:
        return await self._select(self.scope(tenant_id=tenant_id), "id")

    async def update(self, key: AppKey) -> AppKey:
        return await self._update(key)

    async def revoke(self, key_pk: str) -> AppKey:
        """Set ``revoked`` and ``revoked_at`` (kept from the first revoke)."""
        return await self._patch((key_pk,), {"revoked": True, "revoked_at": self.engine.clock.now()}, frozenset({"revoked_at"}))

    async def delete(self, key_pk: str) -> None:
        await self._delete((key_pk,))

    def _scope(self, tenant_id: str, app_id: str | None):  # noqa: ANN202 - a tuple of Eq
        return self.scope(tenant_id=tenant_id) if app_id is None else self.scope(tenant_id=tenant_id, app_id=app_id)

    async def page(self, tenant_id: str, app_id: str | None = None, *, after: str | None = None, before: str | None = None,
                   last: bool = False, limit: int = 50,
                   filter: KeyFilter | dict | None = None) -> Page[AppKey]:
        return await self._page(self._scope(tenant_id, app_id), "id", KeyFilter.parse(filter), after, limit, before, last)

    async def count(self, tenant_id: str, app_id: str | None = None, *, filter: KeyFilter | dict | None = None) -> int:
        return await self._count(self._scope(tenant_id, app_id), KeyFilter.parse(filter))

    async def estimate_count(self, tenant_id: str, app_id: str | None = None, *,
                             filter: KeyFilter | dict | None = None) -> RowCount:
        return await self._estimate(self._scope(tenant_id, app_id), KeyFilter.parse(filter))
