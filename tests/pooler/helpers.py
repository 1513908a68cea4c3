"""What the pooler tests share: running the command line in-process, and reading the real server."""
from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest

from console.cli import main
from migrations.lock import lock_key


def db_name(dsn: str) -> str:
    return urlsplit(dsn).path.lstrip("/")


def cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    """``lokstra-console ARGV --json`` in-process: the exit code and the document."""
    code = main([*argv, "--json"])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err, captured.err
    document = json.loads(captured.out)
    assert document["exit_code"] == code
    return code, document


async def server_sessions_seen(dsn: str, transactions: int = 6) -> int:
    """How many server sessions ``transactions`` consecutive transactions of one client ran on."""
    conn = await asyncpg.connect(dsn, statement_cache_size=0)
    try:
        return len({await conn.fetchval("SELECT pg_backend_pid()") for _ in range(transactions)})
    finally:
        await conn.close()


def assert_transactions_move(dsn: str) -> None:
    """The premise of a transaction-mode test: a client's transactions change server session."""
    assert asyncio.run(server_sessions_seen(dsn)) > 1, "PgBouncer kept one client on one server session"


async def migration_locks_held(direct_dsn: str) -> list[int]:
    """Pids of the server sessions holding the migration lock of ``direct_dsn``'s database (read directly)."""
    key = lock_key(db_name(direct_dsn)) & 0xFFFFFFFFFFFFFFFF
    conn = await asyncpg.connect(direct_dsn)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::bigint::oid "
            "AND objid = $2::bigint::oid AND objsubid = 1", key >> 32, key & 0xFFFFFFFF)
        return [row["pid"] for row in rows]
    finally:
        await conn.close()
