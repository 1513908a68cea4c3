"""Waiting on a condition outside a Textual app (for one inside, ``tests.support.tui.until``).

A test waits for what it needs to be true, never for a time it hopes is long enough: on a
loaded machine (two suites at once, a busy CPU) fixed sleeps were where the suite went flaky.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import asyncpg


async def eventually(condition: Callable[[], bool | Awaitable[bool]], what: str, timeout: float = 30.0,
                     interval: float = 0.02) -> None:
    """Poll ``condition`` (sync or async) until it is true; fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} never happened within {timeout:g}s")
        await asyncio.sleep(interval)


async def lock_waiters(dsn: str) -> int:
    """Sessions of ``dsn``'s database waiting for a lock (seen from a session of its own)."""
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"))
    finally:
        await conn.close()


async def until_blocked(dsn: str, sessions: int = 1, timeout: float = 30.0) -> None:
    """Until ``sessions`` sessions of ``dsn``'s database wait for a lock."""
    async def blocked() -> bool:
        return await lock_waiters(dsn) >= sessions

    await eventually(blocked, f"{sessions} session(s) waiting for a lock", timeout)


async def cut_noticed(engine: object, timeout: float = 30.0) -> None:
    """Until the PostgreSQL engine's pool has seen its connections cut (a fault proxy's ``refuse``):
    a pooled connection whose end of file is not read yet would fail as "lost", not "refused"."""
    pool = engine.pool  # type: ignore[attr-defined]
    await eventually(lambda: pool.get_idle_size() == 0, "the pool to notice its connections were cut", timeout)
