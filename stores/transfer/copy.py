"""Verified copy of every table from one engine to another.

Rows move in dependency order (tenants, apps, branches, users, user_apps, app_keys) with
every column as it is. The source is read from one consistent snapshot; the target is
written inside one transaction (PostgreSQL: COPY; memory: tables built aside and swapped
in), and the copy commits only when every table's row count and content digest match the
source's. Anything else (a lost connection, a constraint, a cancel, a mismatch) leaves the
target exactly as it was and raises ``CopyFailed`` saying what and where.

Digests (``stores.transfer.digest``) are computed where it is cheapest, always over the
same canonical encoding: a source or target that can digest a table itself (PostgreSQL, in
SQL) does; otherwise the rows are hashed in Python as they stream past (the source side) or
as they are stored (the memory target).

Protocol, for backends and snapshot files. A source's ``snapshot()`` yields a
``SnapshotReader``; a target's ``loader(replace=)`` yields a ``Loader``. Two optional
methods make a copy faster and are used when present: ``SnapshotReader.digest(spec,
keyed=False)`` (the source digests a table itself, possibly while ``batches`` streams) and
``Loader.load_batches(spec, batches)`` (rows a batch at a time instead of one by one).
"""
from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from stores.errors import StoreError
from stores.secrets import mask_known
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


class OutcomeUnknown(StoreError):
    """The target's state is unknown (e.g. the connection was lost while the commit was in
    flight): the copy may have landed whole or not at all."""


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


class _SourceFailed(Exception):
    """Reading the source failed (wraps the error so the target's handlers leave it alone)."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
        super().__init__(str(error))


@dataclass
class _Where:
    table: str | None = None
    done: int = 0
    expected: int = 0
    step: str = "copying"

    def __str__(self) -> str:
        if self.table is None:
            return ""
        return f" while {self.step} {self.table} ({self.done:,} of {self.expected:,} rows)"


class _SourceDigests:
    """The source's own digests (``SnapshotReader.digest``), computed one table after the
    other in the background while rows stream; None per table when the reader has none."""

    def __init__(self, reader: SnapshotReader) -> None:
        self.reader = reader
        self.available = callable(getattr(reader, "digest", None))
        self.results: dict[str, asyncio.Future[TableDigest]] = {}
        self.task: asyncio.Task[None] | None = None
        if self.available:
            loop = asyncio.get_running_loop()
            self.results = {spec.name: loop.create_future() for spec in ALL_TABLES}
            self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        for position, spec in enumerate(ALL_TABLES):
            try:
                self.results[spec.name].set_result(await self.reader.digest(spec))  # type: ignore[attr-defined]
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # handed to whoever awaits this table or a later one
                for later in ALL_TABLES[position:]:
                    self.results[later.name].set_exception(exc)
                return

    async def get(self, spec: TableSpec) -> TableDigest:
        try:
            return await asyncio.shield(self.results[spec.name])
        except CopyFailed:
            raise
        except Exception as exc:
            raise _SourceFailed(exc) from None

    async def close(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)
        for future in self.results.values():
            if future.done() and not future.cancelled():
                future.exception()  # retrieved: no "never retrieved" warnings
            else:
                future.cancel()


async def _stream(reader: SnapshotReader, spec: TableSpec, batch_size: int, where: _Where,
                  digest: TableDigest | None, progress: ProgressCallback | None) -> AsyncIterator[list[Row]]:
    """The table's batches, hashed into ``digest`` on the way (when the source has no digest
    of its own), with progress; errors of the source come out as ``_SourceFailed``."""
    batches = reader.batches(spec, batch_size)
    while True:
        try:
            batch = await batches.__anext__()
        except StopAsyncIteration:
            return
        except CopyFailed:
            raise  # the source's own refusal (e.g. a damaged snapshot file): it says what and where
        except (StoreError, OSError, ValueError, TypeError) as exc:
            raise _SourceFailed(exc) from None
        if digest is not None:
            digest.add_rows(batch)
        yield batch
        where.done += len(batch)
        if progress:
            progress(spec.name, where.done, where.expected)


async def _rows(batches: AsyncIterator[list[Row]]) -> AsyncIterator[Row]:
    async for batch in batches:
        for row in batch:
            yield row


async def _digest_source(reader: SnapshotReader, spec: TableSpec, batch_size: int) -> TableDigest:
    digest = TableDigest(spec.name).keep_keys()
    positions = [spec.columns.index(c) for c in spec.key_columns]
    async for batch in reader.batches(spec, batch_size):
        digest.add_rows(batch, [tuple(row[i] for i in positions) for row in batch])
    return digest


async def _copy_table(reader: SnapshotReader, loader: Loader, spec: TableSpec, sources: _SourceDigests,
                      batch_size: int, where: _Where, progress: ProgressCallback | None) -> TableCopy:
    started = time.monotonic()
    streamed = None if sources.available else TableDigest(spec.name)
    if progress:
        progress(spec.name, 0, where.expected)
    batches = _stream(reader, spec, batch_size, where, streamed, progress)
    load_batches = getattr(loader, "load_batches", None)
    if callable(load_batches):
        await load_batches(spec, batches)
    else:
        await loader.load(spec, _rows(batches))
    where.step = "verifying"
    target_digest = await loader.digest(spec)
    source_digest = streamed if streamed is not None else await sources.get(spec)
    if not target_digest.same_as(source_digest):
        keyed_target = await loader.digest(spec, keyed=True)
        if sources.available:
            keyed_source = await reader.digest(spec, keyed=True)  # type: ignore[attr-defined]
        else:
            keyed_source = await _digest_source(reader, spec, batch_size)
        sample = keyed_source.differing_keys(keyed_target)
        raise CopyFailed(
            f"verification failed for {spec.name}: source has {source_digest.rows:,} rows "
            f"(digest {source_digest.hex[:12]}), target {target_digest.rows:,} (digest {target_digest.hex[:12]})"
            + (f"; differing keys include {', '.join(sample)}" if sample else ""),
            spec.name, sample)
    return TableCopy(spec.name, source_digest.rows, source_digest.hex, time.monotonic() - started)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a bulk phase (restored as it was after).

    A copy allocates millions of long-lived objects (rows, models, index entries); the
    collector's passes over the growing heap then cost more than the work itself (building
    a model: 4.3 µs with the collector, 1.5 µs without, measured). Reference counting still
    frees everything that is not a cycle; the collector resumes when the copy ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _secrets(*engines: Any) -> list[str]:
    found: list[str] = []
    for engine in engines:
        target = getattr(engine, "target", None)
        if target is not None and callable(getattr(target, "secrets", None)):
            found.extend(target.secrets())
    return found


async def copy_tables(source: Any, target: Any, *, replace: bool = False, progress: ProgressCallback | None = None,
                      batch_size: int = 5_000) -> CopyReport:
    """Copy everything from ``source`` to ``target`` (engines) and verify it; see the module doc."""
    started = time.monotonic()
    report = CopyReport(source=source.backend, target=target.backend)
    where = _Where()
    title = f"copy {source.backend} → {target.backend} failed"
    unchanged = "The target is unchanged."
    secrets = _secrets(source, target)
    try:
        with collector_paused():
            await _copy_all(source, target, replace, progress, batch_size, report, where)
    except CopyFailed as exc:
        failure = CopyFailed(f"{title}: {_describe(exc)}. {unchanged}", exc.table or where.table, exc.differing_keys)
        cause: BaseException = exc
    except OutcomeUnknown as exc:
        failure, cause = CopyFailed(f"{title}: {exc}", None), exc
    except _SourceFailed as exc:
        failure = CopyFailed(f"{title}{where}: reading the {source.backend} source failed: {_describe(exc.error)}. "
                             f"{unchanged}", where.table)
        cause = exc.error
    except (StoreError, OSError, ValueError, TypeError) as exc:
        failure, cause = CopyFailed(f"{title}{where}: {_describe(exc)}. {unchanged}", where.table), exc
    else:
        report.seconds = time.monotonic() - started
        return report
    # Raised here, outside the handlers, so that the error's context is the original one (for
    # callers that look at it) while a traceback shows only the plain message.
    failure.args = (mask_known(str(failure), secrets),)
    failure.__context__ = cause
    raise failure from None


async def _copy_all(source: Any, target: Any, replace: bool, progress: ProgressCallback | None, batch_size: int,
                    report: CopyReport, where: _Where) -> None:
    async with source.snapshot() as reader, target.loader(replace=replace) as loader:
        expected = {spec.name: await reader.count(spec) for spec in ALL_TABLES}
        sources = _SourceDigests(reader)
        try:
            for spec in ALL_TABLES:
                where.table, where.done, where.expected, where.step = spec.name, 0, expected[spec.name], "copying"
                report.tables.append(await _copy_table(reader, loader, spec, sources, batch_size, where, progress))
        finally:
            await sources.close()
        where.table = None


def _describe(exc: BaseException) -> str:
    text = str(exc).rstrip(". ")
    return text if isinstance(exc, StoreError) else f"{type(exc).__name__}: {text}"


async def table_digests(engine: Any, batch_size: int = 5_000) -> dict[str, TableDigest]:
    """Row counts and digests of every table of an engine, from one snapshot (computed by the
    engine itself where it can: PostgreSQL digests in SQL)."""
    with collector_paused():
        return await _table_digests(engine, batch_size)


async def _table_digests(engine: Any, batch_size: int) -> dict[str, TableDigest]:
    async with engine.snapshot() as reader:
        digests: dict[str, TableDigest] = {}
        own = getattr(reader, "digest", None)
        for spec in ALL_TABLES:
            if callable(own):
                digests[spec.name] = await own(spec)
                continue
            digest = TableDigest(spec.name)
            async for batch in reader.batches(spec, batch_size):
                digest.add_rows(batch)
            digests[spec.name] = digest
        return digests
