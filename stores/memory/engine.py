"""The memory engine: compact rows and indexes (``stores.memory.table``), enforcing lokstra's constraints.

Concurrency: every method runs to completion without awaiting anything, so under asyncio
each operation is atomic (two tasks creating the same username: exactly one wins). Do not
add an ``await`` inside a method without adding a lock.

Rows are stored as tuples; a model is built for each row a caller reads, with its own JSON
values, and a written model's JSON values are copied on the way in, so no caller can change
stored data by mutating a model it holds.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any

from stores.clock import UTC_CLOCK, Clock
from stores.errors import AlreadyExists, ReferenceMissing
from stores.memory.table import MemoryTable, Row
from stores.models import Record, User, UserApp
from stores.query import Condition, Eq, PageRequest, Prefix, RowCount
from stores.tables import ALL_TABLES, PARENT_LABEL, USER_APPS, USERS, TableSpec


@dataclass
class _Block:
    """One ``atomic()`` block: its engine and task, what to undo, how many changes it counted."""

    engine: object
    task: asyncio.Task | None
    journal: list[tuple[str, MemoryTable, Row]] = field(default_factory=list)
    counted: int = 0


_block: ContextVar[_Block | None] = ContextVar("memory_atomic", default=None)
"""The innermost ``atomic()`` block of the current task. A task started inside a block
inherits the variable; the task check keeps it from writing into a block not its own."""


class MemoryEngine:
    """``changes`` counts the writes that changed something (insert, replace, patch, remove,
    a grant upsert that inserted or re-activated, a ``loader`` load swapped in); it only
    grows, so "unsaved" is ``changes`` differing from its value at the last export. The
    initial fill through ``load`` (demo data) does not count."""

    backend = "memory"

    def __init__(self, clock: Clock = UTC_CLOCK) -> None:
        self.tables: dict[str, MemoryTable] = {spec.name: MemoryTable(spec) for spec in ALL_TABLES}
        self.changes = 0
        self.clock = clock
        """``DB_TIME_ZONE``'s wall clock, or UTC (``stores.clock``)."""
        from stores.audit import AUDIT

        self.side_tables: dict[str, MemoryTable] = {AUDIT.name: MemoryTable(AUDIT)}
        """Tables outside the six (the console's audit trail): never copied, digested or
        swapped by a load, so the audit of a tenant outlives the tenant and any import."""

    def _table(self, spec: TableSpec) -> MemoryTable:
        return self.tables.get(spec.name) or self.side_tables[spec.name]

    # -- all or nothing ------------------------------------------------------------------------
    def _current_block(self) -> _Block | None:
        block = _block.get()
        if block is not None and block.engine is self and block.task is asyncio.current_task():
            return block
        return None

    @asynccontextmanager
    async def atomic(self) -> AsyncIterator[None]:
        """Writes inside the block are undone if it raises (cancellation included), and the
        ``changes`` they counted with them.

        Memory writes never yield to the event loop, so the block is atomic for other
        tasks as long as it awaits only this engine. A nested block is a savepoint: if it
        raises, its own writes are undone and the outer block may go on (as on PostgreSQL).
        """
        outer = self._current_block()
        block = _Block(self, asyncio.current_task())
        token = _block.set(block)
        try:
            yield
        except BaseException:
            for kind, table, row in reversed(block.journal):
                if kind == "add":
                    table.discard(row)
                else:
                    table.add(row)
            self.changes -= block.counted
            raise
        else:
            if outer is not None:
                outer.journal.extend(block.journal)
                outer.counted += block.counted
        finally:
            _block.reset(token)

    def _add(self, table: MemoryTable, row: Row) -> None:
        table.add(row)
        self._journaled("add", table, row)

    def _discard(self, table: MemoryTable, row: Row) -> None:
        table.discard(row)
        self._journaled("discard", table, row)

    def _journaled(self, kind: str, table: MemoryTable, row: Row) -> None:
        block = self._current_block()
        if block is not None:
            block.journal.append((kind, table, row))

    def _count_change(self, spec: TableSpec) -> None:
        """One more unsaved change, unless it is the console's own bookkeeping (the audit)."""
        if spec.name not in self.tables:
            return
        self.changes += 1
        block = self._current_block()
        if block is not None:
            block.counted += 1

    # -- constraint checks, in PostgreSQL's order -------------------------------------------
    def _check(self, table: MemoryTable, row: Row, old: Row | None) -> None:
        spec = table.spec
        for unique in spec.all_uniques():
            if unique is spec.primary and old is not None:
                continue  # an update never changes the key
            if table.clash(row, unique):
                raise AlreadyExists(spec.entity, unique.rule, str(table.value(row, unique.field)), unique.field)
        for fk in spec.foreign_keys:
            parent_key = table.values(row, fk.columns)
            if old is not None and table.values(old, fk.columns) == parent_key:
                continue
            if self.tables[fk.parent].get(parent_key) is None:
                raise ReferenceMissing(spec.entity, PARENT_LABEL[fk.parent], "/".join(parent_key), fk.field)

    def _store(self, table: MemoryTable, row: Row, old: Row | None) -> Record:
        self._check(table, row, old)
        if old is not None:
            self._discard(table, old)
        self._add(table, row)
        return table.model(row)

    def _touched(self, table: MemoryTable, old: Row, changes: dict[str, Any]) -> Row:
        if table.spec.touch_column:
            changes[table.spec.touch_column] = self.clock.now()
        return table.with_changes(old, changes)

    # -- single rows ------------------------------------------------------------------------
    async def insert(self, spec: TableSpec, row: Record) -> Record:
        table = self._table(spec)
        stored = self._store(table, table.row_of(row), None)
        self._count_change(spec)
        return stored

    async def fetch(self, spec: TableSpec, key: tuple[str, ...], lock: bool = False) -> Record | None:
        table = self._table(spec)
        row = table.get(key)
        return table.model(row) if row is not None else None

    async def fetch_unique(self, spec: TableSpec, columns: tuple[str, ...], values: tuple[Any, ...]) -> Record | None:
        table = self._table(spec)
        if columns == spec.key_columns:
            return await self.fetch(spec, values)
        unique = next(u for u in spec.uniques if u.columns == columns)
        row = table.uniques[unique.constraint].get(values)
        return table.model(row) if row is not None else None

    async def replace(self, spec: TableSpec, row: Record, expected_updated_at: datetime | None) -> Record | None:
        table = self._table(spec)
        old = table.get(row.key())
        if old is None:
            return None
        if expected_updated_at is not None and spec.touch_column and \
                table.value(old, spec.touch_column) != expected_updated_at:
            return None
        changes = {c: getattr(row, c) for c in spec.columns if c not in spec.key_columns and c != spec.created_column}
        stored = self._store(table, self._touched(table, old, changes), old)
        self._count_change(spec)
        return stored

    async def patch(self, spec: TableSpec, key: tuple[str, ...], values: Mapping[str, Any],
                    keep_if_set: frozenset[str] = frozenset()) -> Record | None:
        table = self._table(spec)
        old = table.get(key)
        if old is None:
            return None
        changes = {c: v for c, v in values.items() if not (c in keep_if_set and table.value(old, c) is not None)}
        stored = self._store(table, self._touched(table, old, changes), old)
        self._count_change(spec)
        return stored

    async def remove(self, spec: TableSpec, key: tuple[str, ...]) -> bool:
        row = self._table(spec).get(key)
        if row is None:
            return False
        self._cascade(spec, row)
        self._count_change(spec)
        return True

    def _cascade(self, spec: TableSpec, row: Row) -> None:
        """Delete ``row`` and, depth first, every row whose foreign key points at it."""
        table = self._table(spec)
        key = table.key(row)
        for child in self.tables.values():
            for fk in child.spec.foreign_keys:
                if fk.parent != spec.name:
                    continue
                index = next(i for i in child.spec.orders if i.scope == fk.columns)
                for dependant in list(child.walk(index, key)):
                    self._cascade(child.spec, dependant)
        self._discard(table, row)

    # -- many rows ------------------------------------------------------------------------------
    def _matching(self, spec: TableSpec, scope: tuple[Eq, ...], conditions: tuple[Condition, ...],
                  order: str, after: str | None = None, descending: bool = False) -> Iterable[Row]:
        table = self._table(spec)
        index = table.index_for(order, tuple(eq.column for eq in scope))
        prefix = next((c for c in conditions if isinstance(c, Prefix) and c.column == order), None)
        span = prefix.span() if prefix is not None else None
        rows = table.walk(index, tuple(eq.value for eq in scope), after, span, reverse=descending)
        if not conditions:
            return rows
        matches = table.matches
        return (row for row in rows if matches(row, conditions))

    async def page(self, spec: TableSpec, request: PageRequest) -> list[Record]:
        model = self._table(spec).model
        rows = islice(self._matching(spec, request.scope, request.conditions, request.order, request.after,
                                     request.descending), request.limit + 1)
        return [model(row) for row in rows]

    async def select(self, spec: TableSpec, scope: tuple[Eq, ...], conditions: tuple[Condition, ...],
                     order: str) -> list[Record]:
        model = self._table(spec).model
        return [model(row) for row in self._matching(spec, scope, conditions, order)]

    async def count(self, spec: TableSpec, scope: tuple[Eq, ...], conditions: tuple[Condition, ...]) -> int:
        """Bisections of a sorted index where that answers it (the whole scope, or one prefix
        on an ordered column); otherwise a walk of the narrowest index range."""
        table = self._table(spec)
        columns = tuple(eq.column for eq in scope)
        values = tuple(eq.value for eq in scope)
        prefix = next((c for c in conditions if isinstance(c, Prefix)
                       and any(i.column == c.column and i.scope == columns for i in spec.orders)), None)
        index = table.index_for(prefix.column, columns) if prefix else next(
            (i for i in spec.orders if i.scope == columns), None)
        if index is None:  # a scope no keyset order has (e.g. every user of every tenant): a walk
            every = (*scope, *conditions)
            return sum(1 for row in table.all_rows() if table.matches(row, every))
        rest = tuple(c for c in conditions if c is not prefix)
        if not rest and not (prefix is not None and prefix.fold):  # a folded prefix is a range plus a test
            return table.range_size(index, values, prefix.value if prefix else None)
        return sum(1 for _ in self._matching(spec, scope, conditions, index.column))

    async def estimate(self, spec: TableSpec, scope: tuple[Eq, ...], conditions: tuple[Condition, ...]) -> RowCount:
        return RowCount(await self.count(spec, scope, conditions), exact=True)

    # -- grants -----------------------------------------------------------------------------
    async def upsert_grant(self, grant: UserApp) -> UserApp:
        table = self.tables[USER_APPS.name]
        old = table.get(grant.key())
        if old is not None and table.value(old, "status") == "active":
            return table.model(old)  # type: ignore[return-value]
        row = table.row_of(grant) if old is None else table.with_changes(
            old, {"status": "active", "granted_at": grant.granted_at, "revoked_at": None})
        stored = self._store(table, row, old)
        self._count_change(USER_APPS)
        return stored  # type: ignore[return-value]

    async def users_with_grant(self, tenant_id: str, app_id: str) -> list[User]:
        grants = self.tables[USER_APPS.name]
        users = self.tables[USERS.name]
        index = grants.index_for("user_id", ("tenant_id", "app_id"))
        status, user_id = grants.position["status"], grants.position["user_id"]
        found = [user for g in grants.walk(index, (tenant_id, app_id))
                 if g[status] == "active" and (user := users.get((tenant_id, g[user_id]))) is not None]
        username = users.position["username"]
        return [users.model(u) for u in sorted(found, key=lambda u: u[username])]  # type: ignore[misc]

    async def ping(self) -> float:
        return 0.0

    async def close(self) -> None:
        return None

    # -- copy between backends (stores.transfer) -------------------------------------------------
    def snapshot(self):  # noqa: ANN201 - an async context manager of MemorySnapshot
        from stores.memory.bulk import snapshot

        return snapshot(self)

    def loader(self, replace: bool = False):  # noqa: ANN201 - an async context manager of MemoryLoader
        from stores.memory.bulk import loader

        return self._counted(loader(self, replace))

    @asynccontextmanager
    async def _counted(self, inner: AbstractAsyncContextManager[Any]) -> AsyncIterator[Any]:
        """``inner``, counting one change when it exits without an error (the load was swapped in)."""
        async with inner as value:
            yield value
        self.changes += 1

    # -- bulk ---------------------------------------------------------------------------------
    def load(self, spec: TableSpec, rows: Iterable[Record]) -> int:
        """Add already-validated rows (demo data, snapshots), checking constraints; returns the count."""
        table = self._table(spec)
        return self.load_rows(spec, [table.row_of(row) for row in rows])

    def load_rows(self, spec: TableSpec, rows: Iterable[Row]) -> int:
        """Add rows given as tuples in ``spec.columns`` order (their JSON values are handed
        over, not copied), checking constraints in bulk; returns the count. Raises the
        error a row-by-row load would have raised at its first violation (nothing of the
        batch is kept then if the table was empty)."""
        from stores.memory.bulk import install

        return install(self, self._table(spec), rows)
