"""A PgBouncer in front of the session's PostgreSQL server, in transaction mode (and in
session mode), for the tests that run the console through a pooler."""
from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.environment import isolate_settings, requires
from tests.support.pgbouncer import PgBouncer, PgBouncerUnavailable, start_pgbouncer
from tests.support.server import PgServer


def _bouncer(pg_server: PgServer, pool_mode: str) -> Iterator[PgBouncer]:
    try:
        bouncer = start_pgbouncer(pg_server.admin_dsn, pool_mode)
    except PgBouncerUnavailable as exc:
        requires("PgBouncer", str(exc), "Install Debian's pgbouncer package (apt-get install pgbouncer).")
        return
    try:
        yield bouncer
    finally:
        bouncer.destroy()


@pytest.fixture(scope="session")
def pgbouncer(pg_server: PgServer) -> Iterator[PgBouncer]:
    """PgBouncer in transaction mode: consecutive transactions of one client may run on
    different server sessions."""
    yield from _bouncer(pg_server, "transaction")


@pytest.fixture(scope="session")
def pgbouncer_session_mode(pg_server: PgServer) -> Iterator[PgBouncer]:
    """PgBouncer in session mode: a client keeps one server session while it is connected."""
    yield from _bouncer(pg_server, "session")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No connection settings but the test's own, no .env file, no terminal."""
    isolate_settings(monkeypatch, tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
