"""Bulk reading and loading for the memory engine (copy, snapshots)."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from stores.tables import ALL_TABLES, TableSpec
from stores.transfer.copy import CopyFailed, Row
from stores.transfer.digest import TableDigest

if TYPE_CHECKING:
    from stores.memory.engine import MemoryEngine


def row_tuple(spec: TableSpec, model: Any) -> Row:
    return tuple(getattr(model, column) for column in spec.columns)


class MemorySnapshot:
    """The rows of every table as they were when the snapshot was taken. Stored models are
    never mutated in place (writes replace them), so holding references is a true snapshot."""

    def __init__(self, engine: MemoryEngine) -> None:
        self.rows = {name: list(table.rows.values()) for name, table in engine.tables.items()}

    async def count(self, spec: TableSpec) -> int:
        return len(self.rows[spec.name])

    async def batches(self, spec: TableSpec, size: int) -> AsyncIterator[list[Row]]:
        rows = self.rows[spec.name]
        for start in range(0, len(rows), size):
            yield [row_tuple(spec, model) for model in rows[start:start + size]]


class MemoryLoader:
    """Loads into fresh tables beside the live ones; the caller swaps them in on success."""

    def __init__(self) -> None:
        from stores.memory.engine import MemoryEngine

        self.staging = MemoryEngine()

    async def load(self, spec: TableSpec, rows: AsyncIterator[Row]) -> None:
        table = self.staging.tables[spec.name]
        build = spec.model.from_row
        columns = spec.columns
        async for row in rows:
            model = build(dict(zip(columns, row)))
            self.staging._check(table, model, None)
            table.add(model)

    async def digest(self, spec: TableSpec, keyed: bool = False) -> TableDigest:
        digest = TableDigest(spec.name)
        if keyed:
            digest.keep_keys()
        for model in self.staging.tables[spec.name].rows.values():
            digest.add(row_tuple(spec, model), model.key())
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
