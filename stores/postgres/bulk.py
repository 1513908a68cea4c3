"""Bulk reading (a repeatable-read snapshot, server-side cursors) and loading (COPY in one
transaction) for the PostgreSQL engine, with table digests computed by the server.

Digests are computed in SQL (``stores.transfer.digest.postgres_digest_sql``: the same
canonical encoding as the Python side, proven equal on edge data by tests/test_copy_edges.py),
so verifying a table costs one scan inside the server and no rows on the wire. A snapshot
computes its digests on a second pooled connection that imports the same snapshot
(``pg_export_snapshot``), in parallel with the rows being streamed out; without a spare
connection they run on the reading connection, between batches.
"""
from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

import asyncpg

from stores.errors import StoreError
from stores.layouts import require_supported
from stores.postgres.sql import column_list
from stores.tables import ALL_TABLES, BY_NAME, TableSpec
from stores.transfer.copy import CopyFailed, OutcomeUnknown, Row
from stores.transfer.digest import TableDigest, postgres_digest_sql, postgres_keyed_sql

if TYPE_CHECKING:
    from stores.postgres.engine import PostgresEngine

T = TypeVar("T")

COPY_BUDGET_S = 7 * 24 * 3600.0
"""asyncpg's timeout for one whole COPY. A big table takes minutes, so the COPY gets no
deadline of its own; instead it fails when the connection stops taking rows for the
command timeout (see ``PostgresLoader.load``)."""

TAIL_PER_ROW = 100e-6
"""Seconds a row the server may take after the last one is sent, on top of the command
timeout: foreign-key checks run at the end of a COPY, or when the keys are re-created after
it (about 10 µs a check, measured). Digest queries get the same allowance."""

LOST = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError, TimeoutError)
"""What a connection lost mid-COPY raises (asyncpg's protocol may be left in a state it calls
an internal error when the server is killed under it)."""


def _failed(engine: PostgresEngine, exc: BaseException) -> StoreError:
    """A database failure as the store layer's error (diagnosed, password scrubbed)."""
    return engine._unavailable(exc, engine.target)


async def _guard(engine: PostgresEngine, call: Awaitable[T]) -> T:
    try:
        return await call
    except StoreError:
        raise
    except (asyncpg.PostgresError, *LOST) as exc:
        raise _failed(engine, exc) from None


def _budget(engine: PostgresEngine, rows: int) -> float:
    """A timeout for a statement that visits ``rows`` rows: a big table is not a stalled one."""
    return engine.target.command_timeout + rows * TAIL_PER_ROW


async def _sql_digest(engine: PostgresEngine, conn: asyncpg.Connection, spec: TableSpec, keyed: bool,
                      rows: int) -> TableDigest:
    digest = TableDigest(spec.name)
    timeout = _budget(engine, rows)
    if not keyed:
        record = await _guard(engine, conn.fetchrow(postgres_digest_sql(spec, engine.schema), timeout=timeout))
        digest.add_folded(record[0], int(record[1], 2) if record[1] else 0)
        return digest
    digest.keep_keys()
    width = len(spec.key_columns)
    for record in await _guard(engine, conn.fetch(postgres_keyed_sql(spec, engine.schema), timeout=timeout)):
        row_hash = record[width]
        digest.add_hashes([row_hash])
        digest.remember(tuple(record[:width]), row_hash)
    return digest


class PostgresSnapshot:
    """Reads every table from one snapshot. ``digest`` may run while ``batches`` streams."""

    def __init__(self, engine: PostgresEngine, conn: asyncpg.Connection, side: asyncpg.Connection | None) -> None:
        self.engine = engine
        self.conn = conn
        self.side = side
        self._lock = asyncio.Lock()  # one operation at a time on ``conn``
        self._side_lock = asyncio.Lock()  # and on ``side``
        self._counts: dict[str, int] = {}

    async def count(self, spec: TableSpec) -> int:
        async with self._lock:
            found = int(await _guard(self.engine, self.conn.fetchval(f"SELECT count(*) FROM {spec.relation(self.engine.schema)}")))
        self._counts[spec.name] = found
        return found

    async def batches(self, spec: TableSpec, size: int) -> AsyncIterator[list[Row]]:
        """Every row through a server-side cursor: memory is bounded by ``size`` rows."""
        async with self._lock:
            cursor = await _guard(self.engine, self.conn.cursor(f"SELECT {column_list(spec)} FROM {spec.relation(self.engine.schema)}"))
        while True:
            async with self._lock:
                records = await _guard(self.engine, cursor.fetch(size))
            if not records:
                return
            yield [tuple(record) for record in records]
            if len(records) < size:
                return

    async def digest(self, spec: TableSpec, keyed: bool = False) -> TableDigest:
        """The table's digest, computed by the server from this snapshot."""
        rows = self._counts.get(spec.name, 0)
        if self.side is not None:
            async with self._side_lock:
                return await _sql_digest(self.engine, self.side, spec, keyed, rows)
        async with self._lock:
            return await _sql_digest(self.engine, self.conn, spec, keyed, rows)


@dataclass
class _Progress:
    last: float = field(default_factory=time.monotonic)
    rows: int = 0
    sent: bool = False


class PostgresLoader:
    """COPY into the tables inside the loader's transaction.

    ``deferred`` holds, per table, the statements that re-create the foreign keys and indexes the loader
    dropped for the load (see ``_defer_foreign_keys``); each table gets its own back, and
    validated, right after its COPY."""

    def __init__(self, engine: PostgresEngine, conn: asyncpg.Connection,
                 deferred: dict[str, list[str]] | None = None) -> None:
        self.engine = engine
        self.conn = conn
        self.deferred = deferred if deferred is not None else {}
        self.loaded: dict[str, int] = {}

    async def load(self, spec: TableSpec, rows: AsyncIterator[Row]) -> None:
        """One binary COPY for the table, fed as the rows come.

        The COPY has no overall deadline (a big table takes minutes); it fails instead when
        the connection takes no row for the command timeout, or, once every row is sent,
        when the server has not finished within the command timeout plus ``TAIL_PER_ROW``
        a row (it runs the table's foreign-key checks after the last row)."""
        state = _Progress()

        async def watched() -> AsyncIterator[Row]:
            async for row in rows:
                state.last = time.monotonic()
                state.rows += 1
                yield row
            state.last = time.monotonic()
            state.sent = True

        copy = asyncio.ensure_future(self.conn.copy_records_to_table(
            spec.name, schema_name=spec.schema_in(self.engine.schema), columns=list(spec.columns), records=watched(), timeout=COPY_BUDGET_S))
        stall = self.engine.target.command_timeout
        try:
            while True:
                done, _ = await asyncio.wait({copy}, timeout=min(1.0, stall / 4))
                if done:
                    break
                if self.conn.is_closed():  # the server ended the session: say so now, not after the stall timeout
                    copy.cancel()
                    await asyncio.gather(copy, return_exceptions=True)
                    raise ConnectionResetError("the server closed the connection during the COPY")
                allowed = stall + (state.rows * TAIL_PER_ROW if state.sent else 0.0)
                if time.monotonic() - state.last > allowed:
                    copy.cancel()
                    await asyncio.gather(copy, return_exceptions=True)
                    raise StoreError(f"the database {'did not finish' if state.sent else 'took no rows'} for "
                                     f"{allowed:g} s (a stalled connection, or a lock held by another session); "
                                     "the COPY was abandoned")
            copy.result()
            self.loaded[spec.name] = state.rows
            await self._restore(spec.name)
        except BaseException as exc:
            if not copy.done():
                copy.cancel()
                await asyncio.gather(copy, return_exceptions=True)
            if isinstance(exc, asyncpg.PostgresError) and not isinstance(exc, asyncpg.PostgresConnectionError):
                raise CopyFailed(_refusal(spec, exc), spec.name) from None
            if isinstance(exc, LOST):
                raise _failed(self.engine, exc) from None
            raise

    async def _restore(self, table: str) -> None:
        """Re-create the table's deferred indexes and foreign keys: one build of each index
        instead of an update per row, one set-based validation of each key (PostgreSQL's
        anti-join) instead of one trigger query per row."""
        for statement in self.deferred.pop(table, []):
            await self.conn.execute(statement, timeout=_budget(self.engine, self.loaded.get(table, 0)))

    async def restore_all(self) -> None:
        """Re-create every index and foreign key still deferred (tables that were not loaded)."""
        for table in list(self.deferred):
            try:
                await self._restore(table)
            except asyncpg.PostgresError as exc:
                if isinstance(exc, asyncpg.PostgresConnectionError):
                    raise _failed(self.engine, exc) from None
                raise CopyFailed(_refusal(BY_NAME[table], exc), table) from None
            except LOST as exc:
                raise _failed(self.engine, exc) from None

    async def load_batches(self, spec: TableSpec, batches: AsyncIterator[list[Row]]) -> None:
        async def rows() -> AsyncIterator[Row]:
            async for batch in batches:
                for row in batch:
                    yield row

        await self.load(spec, rows())

    async def digest(self, spec: TableSpec, keyed: bool = False) -> TableDigest:
        """What the table holds now, inside the open transaction, computed by the server."""
        return await _sql_digest(self.engine, self.conn, spec, keyed, self.loaded.get(spec.name, 0))


def _refusal(spec: TableSpec, exc: asyncpg.PostgresError) -> str:
    """What PostgreSQL refused, without the row's values (they may be secrets)."""
    line = re.search(r"\bline (\d+)", getattr(exc, "where", None) or "")
    at = f" at row {line.group(1)} of the COPY" if line else ""
    constraint = getattr(exc, "constraint_name", None)
    what = f"{exc.message}" + (f" (constraint {constraint})" if constraint and constraint not in exc.message else "")
    detail = getattr(exc, "detail", None) or ""
    keys = f"; {detail}" if detail.startswith("Key (") else ""  # key values only, no other column
    return f"PostgreSQL refused the rows of {spec.name}{at}: {what}{keys}"


FOREIGN_KEYS = """
SELECT cl.relname AS table_name,
       format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname) AS drop_sql,
       format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid)) AS add_sql
FROM pg_constraint c
JOIN pg_class cl ON cl.oid = c.conrelid
JOIN pg_namespace n ON n.oid = cl.relnamespace
WHERE c.contype = 'f' AND n.nspname = $1 AND cl.relname = ANY($2::text[])
ORDER BY c.oid"""  # re-created in the original order: RI triggers fire (and report) in OID order

PLAIN_INDEXES = """
SELECT cl.relname AS table_name,
       format('DROP INDEX %I.%I', n.nspname, i.relname) AS drop_sql,
       pg_get_indexdef(i.oid) AS add_sql
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class cl ON cl.oid = x.indrelid
JOIN pg_namespace n ON n.oid = cl.relnamespace
WHERE n.nspname = $1 AND cl.relname = ANY($2::text[])
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)
ORDER BY i.oid"""
"""Indexes that back no constraint (keyset and lookup indexes, lokstra's duplicates among
them): dropped for a load and built again after its COPY, as ``pg_restore`` does."""

DEFER_LOCK_TIMEOUT = "5s"


async def _defer_foreign_keys(conn: asyncpg.Connection, schema: str) -> dict[str, list[str]]:
    """Drop the foreign keys and the plain indexes (``PLAIN_INDEXES``) of the six tables for
    the load, inside the load's transaction; returns the statements that re-create them
    exactly (``pg_get_indexdef``, ``pg_get_constraintdef``), per table.

    Building an index once over the loaded table is several times cheaper than updating it
    for every row the COPY writes (users has ten indexes; seven back no constraint); the
    indexes behind primary keys and unique constraints stay, they check the rows as they come.

    A COPY checks a foreign key with one trigger query per row, at the end of the statement
    (half the time of loading user_apps, measured); re-creating the constraint
    after the COPY validates all rows in one anti-join. The guarantees stay: the constraints
    are back and validated before the verification and the commit, and a failure anywhere
    rolls the drop back with everything else. The cost: ALTER TABLE holds ACCESS EXCLUSIVE
    locks until the commit (a replace already does, by TRUNCATE), so readers of the target
    wait for the copy instead of seeing empty tables. Without the right (not the tables'
    owner) or the locks (another session holds them for ``DEFER_LOCK_TIMEOUT``), nothing is
    dropped and the COPY checks the keys row by row, as before.
    """
    tables = [spec.name for spec in ALL_TABLES]
    keys = await conn.fetch(FOREIGN_KEYS, schema, tables)
    indexes = await conn.fetch(PLAIN_INDEXES, schema, tables)
    found = [*keys, *indexes]
    if not found:
        return {}
    try:
        async with conn.transaction():  # a savepoint: a refusal leaves the load as it was
            await conn.execute(f"SET LOCAL lock_timeout = '{DEFER_LOCK_TIMEOUT}'")
            for row in found:
                await conn.execute(row["drop_sql"])
        await conn.execute("SET LOCAL lock_timeout = DEFAULT")
    except asyncpg.PostgresError as exc:
        if isinstance(exc, asyncpg.PostgresConnectionError):
            raise
        return {}
    deferred: dict[str, list[str]] = {}
    for row in [*indexes, *keys]:  # a table's indexes are built before its keys are validated
        deferred.setdefault(row["table_name"], []).append(row["add_sql"])
    return deferred


async def _side_connection(engine: PostgresEngine, conn: asyncpg.Connection) -> asyncpg.Connection | None:
    """A second pooled connection reading the same snapshot, or None when the pool has none
    to spare (the digests then run on the reading connection)."""
    pool = engine.pool
    if pool.get_idle_size() == 0 and pool.get_size() >= pool.get_max_size():
        return None
    try:
        snapshot_id = await conn.fetchval("SELECT pg_export_snapshot()")
    except asyncpg.PostgresError:  # e.g. a server that cannot export snapshots: read on one connection
        return None
    # A lost *reading* connection is not a reason to carry on with it: that error propagates.
    try:
        async with asyncio.timeout(min(engine.target.connect_timeout, 5.0)):
            side = await pool.acquire()
    except (asyncpg.PostgresError, *LOST):
        return None
    try:
        await side.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        await side.execute(f"SET TRANSACTION SNAPSHOT '{snapshot_id}'")
        # No parallel workers here: the digests run beside the stream and the client decoding it.
        await side.execute("SET LOCAL max_parallel_workers_per_gather = 0")
    except (asyncpg.PostgresError, *LOST):
        await _release(engine, side)
        return None
    return side


async def _release(engine: PostgresEngine, side: asyncpg.Connection) -> None:
    """Give the side connection back, never raising (an error here would hide the real one).
    A connection that broke has already left the pool: releasing it again does nothing."""
    try:
        if side.is_in_transaction():
            await side.execute("ROLLBACK")
        await engine.pool.release(side)
    except (asyncpg.PostgresError, *LOST):
        with contextlib.suppress(asyncpg.InterfaceError):
            side.terminate()
        with contextlib.suppress(asyncpg.PostgresError, *LOST):
            await engine.pool.release(side)


async def _end(conn: asyncpg.Connection, rollback: Callable[[], Awaitable[None]]) -> None:
    """Roll back unless the connection is gone (then the server has, and the pool drops it):
    an error here must not hide the one that brought us here."""
    try:
        if not conn.is_closed():  # (a broken connection may have left the pool already: that raises too)
            await rollback()
    except (asyncpg.PostgresError, *LOST):
        pass


@asynccontextmanager
async def snapshot(engine: PostgresEngine) -> AsyncIterator[PostgresSnapshot]:
    """Every table read from one repeatable-read, read-only transaction: one consistent state
    even while lokstra-auth itself keeps writing."""
    require_supported(engine.layout, "copying this database")
    async with engine.connection() as conn:
        transaction = conn.transaction(isolation="repeatable_read", readonly=True)
        await transaction.start()
        side = None
        try:
            side = await _side_connection(engine, conn)
            yield PostgresSnapshot(engine, conn, side)
        finally:
            if side is not None:
                await asyncio.shield(_release(engine, side))
            await _end(conn, transaction.rollback)  # read only: nothing to commit


@asynccontextmanager
async def loader(engine: PostgresEngine, replace: bool) -> AsyncIterator[PostgresLoader]:
    """One transaction for the whole load: committed only if the body (copy + verify) succeeds.

    A failure before the commit rolls everything back (a lost connection: the server does).
    A connection lost *during* the commit is the one case where the outcome is unknown, and
    the error says so."""
    require_supported(engine.layout, "loading into this database")
    async with engine.connection() as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            if replace:
                await conn.execute("TRUNCATE " + ", ".join(spec.relation(engine.schema) for spec in ALL_TABLES))
            else:
                busy = [spec.name for spec in ALL_TABLES
                        if await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {spec.relation(engine.schema)})")]
                if busy:
                    raise CopyFailed(f"the PostgreSQL target is not empty ({', '.join(busy)} hold rows); "
                                     "choose replace to truncate and load it in the same transaction")
            # A client that vanishes mid-COPY leaves the server reading: these bound how long its
            # session (and the locks of the load) can outlive it on a dead network link.
            await conn.execute("SET LOCAL tcp_keepalives_idle = 10; SET LOCAL tcp_keepalives_interval = 5; "
                               "SET LOCAL tcp_keepalives_count = 3")
            loading = PostgresLoader(engine, conn, await _defer_foreign_keys(conn, engine.schema))
            yield loading
            await loading.restore_all()
        except BaseException:
            await _end(conn, transaction.rollback)
            raise
        try:
            await transaction.commit()
        except LOST as exc:
            raise OutcomeUnknown(f"the connection was lost while committing ({_failed(engine, exc)}): the target may "
                                "hold the whole copy or none of it; check it before retrying") from None
