"""Recognising a connection pooler (PgBouncer, pgcat, Odyssey, a cloud proxy) in front of PostgreSQL.

Behind a pooler in transaction or statement mode a client's consecutive transactions may
run on different server sessions. Two things break then: asyncpg's named prepared
statements (prepared on one server session, executed on another: "prepared statement
__asyncpg_stmt_N__ does not exist") and session state such as a session advisory lock,
which stays on the server session it was taken on, held for whoever gets that session next.

The sign: the process id a connection announces at start-up (BackendKeyData, what
``Connection.get_server_pid()`` returns) is the server's own on a direct connection; a
pooler announces its own key instead, so it differs from ``pg_backend_pid()``. The mode
(session or transaction) cannot be told from the client, so every pooler is treated as
a transaction pooler: the statement cache is switched off and the migration lock lives
in a transaction (``migrations.lock``). Both are also correct in session mode.

This lives in ``migrations`` because the migration lock depends on it and ``migrations``
does not import ``stores``; the stores use it from here.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import asyncpg

log = logging.getLogger("lokstra.pooler")

SETTING_FIX = "set DB_STATEMENT_CACHE_SIZE=0"


@dataclass(frozen=True)
class Pooler:
    """A pooler between the client and the server, seen on one connection."""

    announced_pid: int
    """The process id the connection announced at start-up (the pooler's key)."""
    server_pid: int
    """``pg_backend_pid()`` of the server session that answered."""

    def describe(self) -> str:
        return ("a connection pooler (PgBouncer or similar) is in front of the server: "
                "statement cache off, migrations in one transaction")


async def detect(conn: asyncpg.Connection) -> Pooler | None:
    """The pooler between ``conn`` and its server, or None on a direct connection.

    The server's pid is read with ``COPY (…) TO STDOUT``, which asyncpg sends as one simple
    query: no prepared statement is left on a pooled server session for another client to
    collide with (a named one would be, on a connection with a statement cache).
    """
    chunks: list[bytes] = []

    async def collect(chunk: bytes) -> None:
        chunks.append(chunk)

    await conn.copy_from_query("SELECT pg_backend_pid()", output=collect)
    server_pid = int(b"".join(chunks))
    announced = conn.get_server_pid()
    return None if announced == server_pid else Pooler(announced, server_pid)


async def probe(connect_kwargs: dict[str, Any]) -> Pooler | None:
    """Open one connection with ``connect_kwargs`` (statement cache off), detect, close it."""
    conn = await asyncpg.connect(**{**connect_kwargs, "statement_cache_size": 0})
    try:
        return await detect(conn)
    finally:
        await conn.close()


async def connect(dsn: str | None = None, **kwargs: Any) -> asyncpg.Connection:
    """``asyncpg.connect`` that works through a transaction pooler whatever the statement cache
    size asked for: behind a pooler the connection is reopened with the cache off."""
    conn = await asyncpg.connect(dsn, **kwargs)
    if kwargs.get("statement_cache_size") == 0:
        return conn
    try:
        found = await detect(conn)
    except BaseException:
        conn.terminate()
        raise
    if found is None:
        return conn
    await conn.close()
    log.debug("%s (the server's pid %s, announced %s)", found.describe(), found.server_pid, found.announced_pid)
    return await asyncpg.connect(dsn, **{**kwargs, "statement_cache_size": 0})
