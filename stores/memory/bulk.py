"""Bulk reading and loading for the memory engine (copy, snapshots).

Loading builds a table in one go instead of row by row: the models are made the way
``Record.from_row`` makes them (no validation: the rows come from a store), then the
primary key, unique and sorted indexes are built from whole lists (one C sort per sorted
index instead of an insertion per row). The constraints are still checked, in bulk: a
duplicate key or a missing parent sends the table through the row-by-row path of
``MemoryEngine._check``, which raises the very error a row-by-row load would have raised.
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from sortedcontainers import SortedDict

from stores.memory.table import MemoryTable
from stores.models import Record
from stores.tables import ALL_TABLES, TableSpec
from stores.transfer.copy import CopyFailed, Row
from stores.transfer.digest import TableDigest

if TYPE_CHECKING:
    from stores.memory.engine import MemoryEngine

CHUNK = 10_000
"""Rows handled at a time where the caller gives no batches (``load``, ``digest``)."""


def tuple_getter(columns: Sequence[str]) -> Callable[[dict[str, Any]], tuple]:
    """``values -> tuple of those columns`` (a tuple even for one column, as the indexes key)."""
    if len(columns) == 1:
        only = columns[0]
        return lambda values: (values[only],)
    return itemgetter(*columns)


def row_tuple(spec: TableSpec, model: Any) -> Row:
    """A model as a row tuple in ``spec.columns`` order."""
    return tuple_getter(spec.columns)(model.__dict__)


class MemorySnapshot:
    """The rows of every table as they were when the snapshot was taken. Stored models are
    never mutated in place (writes replace them), so holding references is a true snapshot."""

    def __init__(self, engine: MemoryEngine) -> None:
        self.rows = {name: list(table.rows.values()) for name, table in engine.tables.items()}

    async def count(self, spec: TableSpec) -> int:
        return len(self.rows[spec.name])

    async def batches(self, spec: TableSpec, size: int) -> AsyncIterator[list[Row]]:
        rows = self.rows[spec.name]
        get = tuple_getter(spec.columns)
        for start in range(0, len(rows), size):
            yield [get(model.__dict__) for model in rows[start:start + size]]


class MemoryLoader:
    """Loads into fresh tables beside the live ones; the caller swaps them in on success."""

    def __init__(self) -> None:
        from stores.memory.engine import MemoryEngine

        self.staging = MemoryEngine()

    async def load(self, spec: TableSpec, rows: AsyncIterator[Row]) -> None:
        async def batches() -> AsyncIterator[list[Row]]:
            batch: list[Row] = []
            async for row in rows:
                batch.append(row)
                if len(batch) >= CHUNK:
                    yield batch
                    batch = []
            if batch:
                yield batch

        await self.load_batches(spec, batches())

    async def load_batches(self, spec: TableSpec, batches: AsyncIterator[list[Row]]) -> None:
        columns = spec.columns
        fields = set(columns)  # shared: stored models are never changed in place (copies get their own)
        new = spec.model.__new__
        cls = spec.model
        put = object.__setattr__
        models: list[Record] = []
        append = models.append
        async for batch in batches:
            for row in batch:  # Record.from_row, inlined: this loop runs once per row copied
                model = new(cls)
                put(model, "__dict__", dict(zip(columns, row)))
                put(model, "__pydantic_fields_set__", fields)
                put(model, "__pydantic_extra__", None)
                put(model, "__pydantic_private__", None)
                append(model)
        table = self.staging.tables[spec.name]
        if table.rows or not self._install(table, models):
            for model in models:  # the row-by-row path: raises the first violation, as a store would
                self.staging._check(table, model, None)
                table.add(model)

    def _install(self, table: MemoryTable, models: list[Record]) -> bool:
        """Build the table's indexes from the whole list; False (nothing installed) when a
        constraint is broken somewhere."""
        spec = table.spec
        values = [model.__dict__ for model in models]
        keys = list(map(tuple_getter(spec.key_columns), values))
        rows = dict(zip(keys, models))
        if len(rows) != len(models):
            return False
        unique: dict[str, dict[tuple, tuple]] = {}
        for constraint in spec.uniques:
            index = dict(zip(map(tuple_getter(constraint.columns), values), keys))
            if len(index) != len(models):
                return False
            unique[constraint.constraint] = index
        for fk in spec.foreign_keys:
            parents = self.staging.tables[fk.parent].rows
            if not all(map(parents.__contains__, map(tuple_getter(fk.columns), values))):
                return False
        table.rows = rows
        table.unique = unique
        table.sorted = {order: SortedDict(zip(map(tuple_getter((*order.scope, order.column)), values), keys))
                        for order in spec.orders}
        return True

    async def digest(self, spec: TableSpec, keyed: bool = False) -> TableDigest:
        """What the staged table holds, hashed the way every backend hashes rows."""
        digest = TableDigest(spec.name)
        if keyed:
            digest.keep_keys()
        get = tuple_getter(spec.columns)
        stored = self.staging.tables[spec.name].rows
        keys = list(stored)
        for start in range(0, len(keys), CHUNK):
            chunk = keys[start:start + CHUNK]
            digest.add_rows([get(stored[key].__dict__) for key in chunk], chunk if keyed else None)
        return digest


@asynccontextmanager
async def snapshot(engine: MemoryEngine) -> AsyncIterator[MemorySnapshot]:
    yield MemorySnapshot(engine)


@asynccontextmanager
async def loader(engine: MemoryEngine, replace: bool) -> AsyncIterator[MemoryLoader]:
    if not replace:
        busy = [spec.name for spec in ALL_TABLES if engine.tables[spec.name].rows]
        if busy:
            raise CopyFailed(f"the memory target is not empty ({', '.join(busy)} hold rows); "
                             "choose replace to overwrite it")
    staging = MemoryLoader()
    yield staging
    engine.tables = staging.staging.tables  # only reached when the whole copy succeeded
