"""Verified copy of every table from one engine to another.

Rows move in dependency order (tenants, apps, branches, users, user_apps, app_keys) with
every column as it is. The source is read from one consistent snapshot; the target is
written inside one transaction (PostgreSQL: COPY; memory: tables built aside and swapped
in), and the copy commits only when every table's row count and content digest match the
source's. Anything else (a lost connection, a constraint, a cancel, a mismatch) leaves the
target exactly as it was and raises ``CopyFailed`` saying what and where.
"""
from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from stores.errors import StoreError
from stores.tables import ALL_TABLES, TableSpec
from stores.transfer.digest import TableDigest

Row = tuple[Any, ...]
ProgressCallback = Callable[[str, int, int], None]
"""``progress(table, rows_done, rows_expected)``."""


class SnapshotReader(Protocol):
    async def count(self, spec: TableSpec) -> int: ...

    def batches(self, spec: TableSpec, size: int) -> AsyncIterator[list[Row]]:
        """Every row of the table as tuples in ``spec.columns`` order."""


class Loader(Protocol):
    async def load(self, spec: TableSpec, rows: AsyncIterator[Row]) -> None: ...

    async def digest(self, spec: TableSpec, keyed: bool = False) -> TableDigest:
        """The digest of what the target holds now (inside the open transaction)."""


class CopyFailed(StoreError):
    def __init__(self, message: str, table: str | None = None, differing_keys: list[str] | None = None) -> None:
        self.table = table
        self.differing_keys = differing_keys or []
        super().__init__(message)


@dataclass
class TableCopy:
    table: str
    rows: int
    digest: str
    seconds: float


@dataclass
class CopyReport:
    source: str
    target: str
    tables: list[TableCopy] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "target": self.target, "seconds": round(self.seconds, 3), "rows": self.rows,
                "tables": [{"table": t.table, "rows": t.rows, "digest": t.digest, "seconds": round(t.seconds, 3)}
                           for t in self.tables]}


def key_of(spec: TableSpec, row: Row) -> tuple:
    return tuple(row[spec.columns.index(c)] for c in spec.key_columns)


async def _digest_source(reader: SnapshotReader, spec: TableSpec, batch_size: int) -> TableDigest:
    digest = TableDigest(spec.name).keep_keys()
    async for batch in reader.batches(spec, batch_size):
        for row in batch:
            digest.add(row, key_of(spec, row))
    return digest


async def copy_tables(source: Any, target: Any, *, replace: bool = False, progress: ProgressCallback | None = None,
                      batch_size: int = 5_000) -> CopyReport:
    """Copy everything from ``source`` to ``target`` (engines) and verify it; see the module doc."""
    started = time.monotonic()
    report = CopyReport(source=source.backend, target=target.backend)
    current: dict[str, Any] = {"table": None, "done": 0, "expected": 0}
    try:
        async with source.snapshot() as reader, target.loader(replace=replace) as loader:
            expected = {spec.name: await reader.count(spec) for spec in ALL_TABLES}
            for spec in ALL_TABLES:
                table_started = time.monotonic()
                current.update(table=spec.name, done=0, expected=expected[spec.name])
                source_digest = TableDigest(spec.name)

                async def rows(spec: TableSpec = spec, digest: TableDigest = source_digest) -> AsyncIterator[Row]:
                    async for batch in reader.batches(spec, batch_size):
                        for row in batch:
                            digest.add(row)
                            yield row
                        current["done"] += len(batch)
                        if progress:
                            progress(spec.name, current["done"], current["expected"])

                if progress:
                    progress(spec.name, 0, expected[spec.name])
                await loader.load(spec, rows())
                target_digest = await loader.digest(spec)
                if not target_digest.same_as(source_digest):
                    keyed_target = await loader.digest(spec, keyed=True)
                    keyed_source = await _digest_source(reader, spec, batch_size)
                    sample = keyed_source.differing_keys(keyed_target)
                    raise CopyFailed(
                        f"verification failed for {spec.name}: source has {source_digest.rows} rows "
                        f"(digest {source_digest.hex[:12]}), target {target_digest.rows} (digest {target_digest.hex[:12]})"
                        + (f"; differing keys include {', '.join(sample)}" if sample else ""),
                        spec.name, sample)
                report.tables.append(TableCopy(spec.name, source_digest.rows, source_digest.hex,
                                               time.monotonic() - table_started))
    except CopyFailed as exc:
        raise CopyFailed(f"copy {source.backend} → {target.backend} failed: {exc}. The target is unchanged.",
                         exc.table, exc.differing_keys) from None
    except StoreError as exc:
        where = f" while copying {current['table']} ({current['done']} of {current['expected']} rows)" if current["table"] else ""
        raise CopyFailed(f"copy {source.backend} → {target.backend} failed{where}: {exc}. The target is unchanged.",
                         current["table"]) from None
    report.seconds = time.monotonic() - started
    return report


async def table_digests(engine: Any, batch_size: int = 5_000) -> dict[str, TableDigest]:
    """Row counts and digests of every table of an engine, from one snapshot."""
    async with engine.snapshot() as reader:
        digests: dict[str, TableDigest] = {}
        for spec in ALL_TABLES:
            digest = TableDigest(spec.name)
            async for batch in reader.batches(spec, batch_size):
                for row in batch:
                    digest.add(row)
            digests[spec.name] = digest
        return digests
