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
from itertools import groupby, islice
from operator import itemgetter
from typing import TYPE_CHECKING

from stores.memory.table import MemoryTable, Row, _find
from stores.tables import ALL_TABLES, TableSpec
from stores.transfer.copy import CopyFailed, collector_paused
from stores.transfer.digest import TableDigest

if TYPE_CHECKING:
    from stores.memory.engine import MemoryEngine

CHUNK = 10_000
"""Rows handled at a time where the caller gives no batches (``load``, ``digest``)."""


def _same(created: object, updated: object) -> object:
    """``created`` itself when ``updated`` equals it (and is of its type): one object, not two."""
    return created if updated == created and type(updated) is type(created) else updated


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
    if table.same_time is not None:
        created, updated = table.same_time
        columns[updated] = list(map(_same, columns[created], columns[updated]))
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


class TableBuilder:
    """Rows of one table, a batch at a time, into the compact form, then its indexes at once.

    Each batch is normalised as it arrives (``_normalised``) and its incoming tuples are
    dropped with it, so the load's peak memory is the table plus one batch, not the table
    twice. A batch with a broken foreign key, or a table that already holds rows, switches
    the builder to keeping the rows as they come; ``finish`` then raises the error a
    row-by-row load would have raised (or adds them one by one, beside the others).
    """

    def __init__(self, engine: MemoryEngine, table: MemoryTable) -> None:
        self.engine, self.table = engine, table
        self.ready: list[Row] = []
        self.raw: list[Row] | None = None if not table.size else []

    def add(self, batch: list[Row]) -> None:
        if self.raw is None:
            ready = _normalised(self.engine, self.table, batch)
            if ready is not None:
                self.ready.extend(ready)
                return
            self.raw, self.ready = self.ready, []  # normalised rows check as the incoming ones do
        self.raw.extend(batch)

    def finish(self) -> int:
        table = self.table
        if self.raw is None:
            if table.install(self.ready):
                return len(self.ready)
            self.raw = self.ready
        if not table.size:
            _first_violation(self.engine, table, self.raw)  # raises
        for row in table.share(self.raw):  # rows beside others: one by one, as a store writes them
            self.engine._check(table, row, None)
            table.add(row)
        return len(self.raw)


def install(engine: MemoryEngine, table: MemoryTable, rows: Iterable[Row]) -> int:
    """Add ``rows`` to ``table`` of ``engine``, checking every constraint; the count."""
    with collector_paused():  # millions of new tuples: the collector's passes would cost more than the load
        builder = TableBuilder(engine, table)
        iterator = iter(rows)
        while batch := list(islice(iterator, CHUNK)):
            builder.add(batch)
        return builder.finish()


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
        self.tables = engine.tables
        self.rows = {name: list(table.all_rows()) for name, table in engine.tables.items()}
        self.versions = {name: table.version for name, table in engine.tables.items()}

    async def digest(self, spec: TableSpec, keyed: bool = False) -> TableDigest:
        """The table's digest as of the snapshot: the table's kept one while it has not
        changed since (then a copy or a check hashes nothing), else the snapshot's rows hashed."""
        table = self.tables[spec.name]
        if not keyed and table.version == self.versions[spec.name]:
            digest = TableDigest(spec.name)
            digest.add_folded(*table.digest())
            return digest
        return _hashed(table, self.rows[spec.name], keyed)

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
        builder = TableBuilder(self.staging, self.staging.tables[spec.name])
        async for batch in batches:
            builder.add(batch)
        builder.finish()

    async def digest(self, spec: TableSpec, keyed: bool = False) -> TableDigest:
        """What the staged table holds, hashed the way every backend hashes rows (and kept
        by the table: the copy's later checks of the same rows cost nothing)."""
        table = self.staging.tables[spec.name]
        if keyed:
            return _hashed(table, list(table.all_rows()), keyed)
        digest = TableDigest(spec.name)
        digest.add_folded(*table.digest())
        return digest


def _hashed(table: MemoryTable, rows: list[Row], keyed: bool) -> TableDigest:
    digest = TableDigest(table.spec.name)
    if keyed:
        digest.keep_keys()
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
