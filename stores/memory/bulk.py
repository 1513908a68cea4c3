"""Bulk reading and loading for the memory engine (copy, snapshots, demo data).

A load builds a table in one go instead of row by row, and never builds a model: the rows
arrive as tuples in ``TableSpec.columns`` order and are stored as such. Vocabulary strings
are shared and foreign-key values are replaced by the parent row's own strings, column by
column (one C loop per column and run of rows of one tenant, not a Python step per row);
the lookup that finds the parent's string is the foreign-key check. Unique indexes are
dicts built from whole runs, sorted orders one ``sorted`` per scope. A broken constraint
sends the rows through ``MemoryEngine._check`` one by one, which raises the very error a
row-by-row load would have raised.

Snapshots hand out the stored tuples themselves, and digests hash them as they are: what
a copy reads and verifies is exactly what the table holds.
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from itertools import groupby
from operator import itemgetter
from typing import TYPE_CHECKING

from stores.memory.table import MemoryTable, Row, _find
from stores.tables import ALL_TABLES, TableSpec
from stores.transfer.copy import CopyFailed
from stores.transfer.digest import TableDigest

if TYPE_CHECKING:
    from stores.memory.engine import MemoryEngine

CHUNK = 10_000
"""Rows handled at a time where the caller gives no batches (``load``, ``digest``)."""


def _normalised(engine: MemoryEngine, table: MemoryTable, rows: list[Row]) -> list[Row] | None:
    """``rows`` with vocabulary strings shared and each foreign key's last column replaced
    by the parent row's string; None when some row's parent is missing."""
    if not rows:
        return rows
    position = table.position
    width = len(table.columns)
    if any(len(row) != width for row in rows):
        raise ValueError(f"{table.spec.name}: rows must have {width} values ({', '.join(table.columns)})")
    columns: list = list(zip(*rows))
    for i, known in table.shared.items():
        columns[i] = list(map(known.setdefault, columns[i], columns[i]))
    for fk in table.spec.foreign_keys:
        parent = engine.tables[fk.parent].primary
        last = position[fk.columns[-1]]
        values = columns[last]
        path = [columns[position[c]] for c in fk.columns[:-1]]
        if not path:
            parents = list(map(parent.root.get, values))
        else:
            parents = []
            extend = parents.extend
            second = itemgetter(1)
            for scope, run in groupby(zip(zip(*path), values), itemgetter(0)):
                leaf = _find(parent.root, scope)
                if leaf is None:
                    return None
                extend(map(leaf.get, map(second, run)))
        if None in parents:
            return None
        columns[last] = list(map(itemgetter(parent.last), parents))
    return list(zip(*columns))


def install(engine: MemoryEngine, table: MemoryTable, rows: Iterable[Row]) -> int:
    """Add ``rows`` to ``table`` of ``engine``, checking every constraint; the count."""
    rows = rows if isinstance(rows, list) else list(rows)
    if not table.size:
        ready = _normalised(engine, table, rows)
        if ready is not None and table.install(ready):
            return len(ready)
        _first_violation(engine, table, rows)  # raises
    for row in table.share(rows):  # rows beside others: one by one, as a store writes them
        engine._check(table, row, None)
        table.add(row)
    return len(rows)


def _first_violation(engine: MemoryEngine, table: MemoryTable, rows: list[Row]) -> None:
    """Raise what a row-by-row load of ``rows`` into the empty ``table`` raises first, without
    building the sorted orders (a million inserts into one sorted list would take minutes)."""
    uniques = table.uniques.values()
    try:
        for row in rows:
            engine._check(table, row, None)
            for unique in uniques:
                unique.put(row)
    finally:
        table.clear()
    raise AssertionError(f"{table.spec.name}: the bulk load refused rows the row-by-row check accepts")


class MemorySnapshot:
    """The rows of every table as they were when the snapshot was taken. Stored rows are
    tuples and writes replace them, so holding references is a true snapshot."""

    def __init__(self, engine: MemoryEngine) -> None:
        self.rows = {name: list(table.all_rows()) for name, table in engine.tables.items()}

    async def count(self, spec: TableSpec) -> int:
        return len(self.rows[spec.name])

    async def batches(self, spec: TableSpec, size: int) -> AsyncIterator[list[Row]]:
        rows = self.rows[spec.name]
        for start in range(0, len(rows), size):
            yield rows[start:start + size]


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
        rows: list[Row] = []
        extend = rows.extend
        async for batch in batches:
            extend(batch)
        self.staging.load_rows(spec, rows)

    async def digest(self, spec: TableSpec, keyed: bool = False) -> TableDigest:
        """What the staged table holds, hashed the way every backend hashes rows."""
        digest = TableDigest(spec.name)
        if keyed:
            digest.keep_keys()
        table = self.staging.tables[spec.name]
        rows = list(table.all_rows())
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start:start + CHUNK]
            digest.add_rows(chunk, list(map(table.key, chunk)) if keyed else None)
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
