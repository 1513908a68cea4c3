"""The migration lock: one advisory lock per database, polled with a timeout.

``pg_try_advisory_lock`` is polled rather than ``pg_advisory_lock`` awaited, so a stuck
holder makes us give up with its name instead of hanging (a blocking lock can also deadlock
with ``CREATE INDEX CONCURRENTLY``, golang-migrate #960).

The lock is taken on the runner's own connection, opened for this one operation and closed
after it, and the migrations run on that same connection: the lock then lives exactly as
long as the session doing the work, and a crash releases both together.

Behind a connection pooler (``migrations.pooler``) a session lock would stay on whichever
pooled server session took it, held for the next client of that session, while our next
transaction runs elsewhere. There the lock is a transaction lock
(``pg_try_advisory_xact_lock``) taken in a transaction that the whole operation runs in
(each migration is then a savepoint of it) and that ``release`` commits: a pooler keeps a
transaction on one server session, and the lock ends with it whatever happens. The same
key is used either way, so a runner behind a pooler and one connected directly exclude
each other too.

The key is fixed: derived from the database name and lokstra's canonical tracking table
(``lokstra_core.schema_migrations``), so every console, whatever tracking table it finds,
competes for the same lock on the same database.
"""
from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from asyncpg.transaction import Transaction

from migrations.pooler import detect
from migrations.tracking import CORE_SCHEMA, LOKSTRA_TABLE


def lock_key(database: str, schema: str = CORE_SCHEMA, table: str = LOKSTRA_TABLE) -> int:
    """A signed 64-bit advisory lock key for ``database``/``schema``/``table``."""
    digest = hashlib.sha256(f"lokstra-migrate:{database}:{schema}.{table}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@dataclass(frozen=True)
class LockHolder:
    """The session holding the lock, from pg_locks and pg_stat_activity."""

    pid: int
    application_name: str | None
    user: str | None
    client_addr: str | None
    session_since: datetime | None
    state: str | None
    state_since: datetime | None
    query: str | None

    def describe(self) -> str:
        who = self.application_name or "no application_name"
        parts = [f"pid {self.pid} ({who}"]
        if self.user:
            parts.append(f", user {self.user}")
        if self.client_addr:
            parts.append(f" from {self.client_addr}")
        parts.append(")")
        if self.session_since:
            parts.append(f", connected since {self.session_since.isoformat(timespec='seconds')}")
        if self.state:
            since = f" since {self.state_since.isoformat(timespec='seconds')}" if self.state_since else ""
            parts.append(f", {self.state}{since}")
        return "".join(parts)


class LockTimeout(Exception):
    """Another session kept the lock for the whole timeout."""

    def __init__(self, waited: float, holder: LockHolder | None) -> None:
        self.waited = waited
        self.holder = holder
        who = holder.describe() if holder else "a session that has since let go"
        super().__init__(f"the migration lock is held by {who}; gave up after {waited:.1f}s")


_HOLDER = """
SELECT a.pid, a.application_name, a.usename AS user, host(a.client_addr) AS client_addr,
       a.backend_start AS session_since, a.state, a.state_change AS state_since, left(a.query, 200) AS query
FROM pg_catalog.pg_locks l
JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted
  AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
  AND l.classid = $1::bigint::oid AND l.objid = $2::bigint::oid AND l.objsubid = 1
LIMIT 1
"""


async def find_holder(conn: asyncpg.Connection, key: int) -> LockHolder | None:
    """Who holds advisory lock ``key`` (a bigint key is stored as classid = high, objid = low 32 bits)."""
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    row = await conn.fetchrow(_HOLDER, unsigned >> 32, unsigned & 0xFFFFFFFF)
    return LockHolder(**dict(row)) if row else None


@dataclass
class MigrationLock:
    """A held lock; ``release`` is safe to call on a connection that has gone away.

    ``transaction`` is the transaction holding a transaction lock (behind a pooler): the
    work done under the lock is committed by ``release()``, rolled back by ``release(commit=False)``.
    """

    conn: asyncpg.Connection
    key: int
    waited: float
    transaction: Transaction | None = None

    async def release(self, commit: bool = True) -> None:
        if self.conn.is_closed():
            return
        if self.transaction is None:
            await self.conn.execute("SELECT pg_advisory_unlock($1)", self.key)
        elif commit:
            await self.transaction.commit()
        else:
            await _rollback(self.transaction)


async def _rollback(transaction: Transaction) -> None:
    try:
        await transaction.rollback()
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
        pass  # the connection is gone: the server has rolled back already


_TRY = "SELECT pg_try_advisory_lock($1)"
_TRY_IN_TRANSACTION = "SELECT pg_try_advisory_xact_lock($1)"


async def acquire(
    conn: asyncpg.Connection,
    timeout: float,
    poll_interval: float = 0.2,
    on_wait: Callable[[LockHolder | None], None] | None = None,
) -> MigrationLock:
    """Take the lock, polling until ``timeout`` seconds have passed; ``on_wait`` hears each new holder.

    Behind a pooler the lock is held by a transaction left open on ``conn`` (see the module's
    doc); between polls that transaction is rolled back, so a waiting runner holds nothing."""
    pooled = await detect(conn) is not None
    database = await conn.fetchval("SELECT current_database()")
    key = lock_key(database)
    started = time.monotonic()
    reported: int | None = None
    while True:
        transaction = conn.transaction() if pooled else None
        if transaction is not None:
            await transaction.start()
        try:
            if await conn.fetchval(_TRY_IN_TRANSACTION if pooled else _TRY, key):
                return MigrationLock(conn, key, time.monotonic() - started, transaction)
            holder = await find_holder(conn, key)
        except BaseException:
            if transaction is not None:
                await _rollback(transaction)
            raise
        if transaction is not None:
            await transaction.rollback()
        waited = time.monotonic() - started
        if waited >= timeout:
            raise LockTimeout(waited, holder)
        if on_wait is not None and holder is not None and holder.pid != reported:
            reported = holder.pid
            on_wait(holder)
        await asyncio.sleep(min(poll_interval, max(timeout - waited, 0.0)))
