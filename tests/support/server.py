"""The PostgreSQL server the tests use: a throwaway cluster, or LOKSTRA_TEST_DSN.

Admin work (creating and dropping databases) runs on a private event loop in a thread so
that it works from sync fixtures whatever pytest-asyncio is doing with its own loop.
"""
from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from tests.support.pgcluster import Cluster

T = TypeVar("T")


def run_sync(make_coro: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion on a fresh loop in a helper thread."""
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(make_coro())  # type: ignore[arg-type]
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def _with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


@dataclass
class PgServer:
    """A reachable server on which the tests may create and drop databases."""

    admin_dsn: str
    cluster: Cluster | None = None
    created: list[str] = field(default_factory=list)

    def dsn(self, database: str) -> str:
        return _with_database(self.admin_dsn, database)

    def create_database(self, prefix: str = "t", template: str | None = None, options: str = "") -> str:
        """Create a uniquely named database and return its DSN (``options`` go after TEMPLATE)."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        clause = (f' TEMPLATE "{template}"' if template else "") + (f" {options}" if options else "")
        self.execute(f'CREATE DATABASE "{name}"{clause}')
        self.created.append(name)
        return self.dsn(name)

    def drop_database(self, dsn_or_name: str) -> None:
        name = urlsplit(dsn_or_name).path.lstrip("/") if "://" in dsn_or_name else dsn_or_name
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.created:
            self.created.remove(name)

    def execute(self, sql: str, database: str = "postgres") -> None:
        async def run() -> None:
            conn = await asyncpg.connect(self.dsn(database))
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        run_sync(run)

    def close(self) -> None:
        for name in list(self.created):
            try:
                self.drop_database(name)
            except Exception:
                pass


def external_dsn() -> str | None:
    return os.environ.get("LOKSTRA_TEST_DSN") or None
