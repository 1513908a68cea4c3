"""The small set of table operations a backend provides.

The six stores (``stores/entities``) are written once on top of this; a backend is an
``Engine``. Everything an operator would call semantics (what a grant upsert does, which
error a missing row raises, how a page is cut and its cursor made) lives in the stores;
an engine only stores rows, enforces the constraints of ``stores.tables`` and answers
``PageRequest``s.
"""
from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol

from stores.clock import Clock
from stores.models import Record, User, UserApp
from stores.query import Condition, Eq, PageRequest, RowCount
from stores.tables import TableSpec


class Engine(Protocol):
    backend: str
    clock: Clock
    """The wall clock lokstra-auth's timestamps are written in (``stores.clock``)."""

    async def insert(self, spec: TableSpec, row: Record) -> Record:
        """Insert; AlreadyExists / ReferenceMissing as the constraints say."""

    async def fetch(self, spec: TableSpec, key: tuple[str, ...], lock: bool = False) -> Record | None:
        """The row with that key. ``lock`` (inside ``atomic()``): no other transaction may
        change or delete it until the block ends (PostgreSQL ``FOR UPDATE``; memory blocks
        are atomic already)."""

    async def fetch_unique(self, spec: TableSpec, columns: tuple[str, ...], values: tuple[Any, ...]) -> Record | None:
        """The row whose ``columns`` equal ``values`` (a unique constraint's columns)."""

    async def replace(self, spec: TableSpec, row: Record, expected_updated_at: datetime | None) -> Record | None:
        """Overwrite every column but the key and the creation time, refreshing ``updated_at``.
        None when no row has that key (or, with ``expected_updated_at``, it has changed)."""

    async def patch(self, spec: TableSpec, key: tuple[str, ...], values: Mapping[str, Any],
                    keep_if_set: frozenset[str] = frozenset()) -> Record | None:
        """Set some columns; those in ``keep_if_set`` keep a value they already have.
        None when no row has that key."""

    async def remove(self, spec: TableSpec, key: tuple[str, ...]) -> bool:
        """Hard delete, cascading as the foreign keys do; False when no such row."""

    async def page(self, spec: TableSpec, request: PageRequest) -> list[Record]:
        """Up to ``request.limit + 1`` rows (the extra one tells there is a next page)."""

    async def select(self, spec: TableSpec, scope: tuple[Eq, ...], conditions: tuple[Condition, ...],
                     order: str) -> list[Record]:
        """Every matching row, ordered (for upstream's unpaged ``list`` calls: small scopes only)."""

    async def count(self, spec: TableSpec, scope: tuple[Eq, ...], conditions: tuple[Condition, ...]) -> int: ...

    async def estimate(self, spec: TableSpec, scope: tuple[Eq, ...], conditions: tuple[Condition, ...]) -> RowCount: ...

    async def upsert_grant(self, grant: UserApp) -> UserApp:
        """Insert an active grant, or re-activate a revoked one (keeping an active one as is)."""

    async def users_with_grant(self, tenant_id: str, app_id: str) -> list[User]:
        """Users with an active grant to the app, ordered by username."""

    def atomic(self) -> AbstractAsyncContextManager[None]:
        """A block whose writes all happen or none do (PostgreSQL: one transaction on one
        connection; memory: an undo journal). Nested blocks join the outer one."""

    async def ping(self) -> float:
        """Seconds for one round trip to the backend (0 in memory); the header's health check."""

    async def close(self) -> None: ...
