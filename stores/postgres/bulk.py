"""Bulk reading (a repeatable-read snapshot, server-side cursors) and loading (COPY in one
transaction) for the PostgreSQL engine."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import asyncpg

from stores.postgres.sql import q
from stores.tables import ALL_TABLES, TableSpec
from stores.transfer.copy import CopyFailed, Row
from stores.transfer.digest import TableDigest

if TYPE_CHECKING:
    from stores.postgres.engine import PostgresEngine


def _select_all(spec: TableSpec) -> str:
    return f"SELECT {', '.join(q(c) for c in spec.columns)} FROM {spec.qualified}"


async def _batches(conn: asyncpg.Connection, spec: TableSpec, size: int) -> AsyncIterator[list[Row]]:
    """Stream a table through a server-side cursor: memory is bounded by ``size`` rows."""
    batch: list[Row] = []
    async for record in conn.cursor(_select_all(spec), prefetch=size):
        batch.append(tuple(record))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class PostgresSnapshot:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def count(self, spec: TableSpec) -> int:
        return int(await self.conn.fetchval(f"SELECT count(*) FROM {spec.qualified}"))

    def batches(self, spec: TableSpec, size: int) -> AsyncIterator[list[Row]]:
        return _batches(self.conn, spec, size)


class PostgresLoader:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def load(self, spec: TableSpec, rows: AsyncIterator[Row]) -> None:
        await self.conn.copy_records_to_table(spec.name, schema_name="lokstra_auth", columns=list(spec.columns),
                                              records=rows)

    async def digest(self, spec: TableSpec, keyed: bool = False) -> TableDigest:
        digest = TableDigest(spec.name)
        if keyed:
            digest.keep_keys()
        positions = [spec.columns.index(c) for c in spec.key_columns]
        async for batch in _batches(self.conn, spec, 5_000):
            for row in batch:
                digest.add(row, tuple(row[i] for i in positions))
        return digest


@asynccontextmanager
async def snapshot(engine: PostgresEngine) -> AsyncIterator[PostgresSnapshot]:
    """Every table read from one repeatable-read, read-only transaction: one consistent state
    even while lokstra-auth itself keeps writing."""
    async with engine.connection() as conn:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            yield PostgresSnapshot(conn)


@asynccontextmanager
async def loader(engine: PostgresEngine, replace: bool) -> AsyncIterator[PostgresLoader]:
    """One transaction for the whole load: committed only if the body (copy + verify) succeeds."""
    async with engine.connection() as conn:
        async with conn.transaction():
            if replace:
                await conn.execute("TRUNCATE " + ", ".join(spec.qualified for spec in ALL_TABLES))
            else:
                busy = [spec.name for spec in ALL_TABLES
                        if await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {spec.qualified})")]
                if busy:
                    raise CopyFailed(f"the PostgreSQL target is not empty ({', '.join(busy)} hold rows); "
                                     "choose replace to truncate and load it in the same transaction")
            yield PostgresLoader(conn)
