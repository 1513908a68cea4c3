"""Fixtures and helpers of the reliability suite (issue 8: faults, restart, races, fuzzing,
least privilege).

Everything runs against a real PostgreSQL: the session's throwaway cluster (tests/conftest.py)
or, for the restart test only, a dedicated cluster of its own. State is always checked through
a direct connection, never through the engine whose connection was broken.
"""
from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from stores import Stores, open_stores
from tests.support.databases import pg_settings, truncate_all
from tests.support.environment import assert_pool_healthy

PASSWORD = "Rel1ab-s3cret-Zx9"
"""A distinctive password put into DSNs (the cluster trusts local connections, so any works)."""

FUZZ_ENV = "LOKSTRA_FUZZ_EXAMPLES"
DEFAULT_FUZZ_EXAMPLES = 300


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--fuzz-examples", type=int, default=None,
                     help=f"sequences per differential fuzzing test (default {DEFAULT_FUZZ_EXAMPLES}, "
                          f"or ${FUZZ_ENV})")


@pytest.fixture(scope="session")
def fuzz_examples(pytestconfig: pytest.Config) -> int:
    """How many operation sequences the differential fuzzer runs: the option, the env, or the default."""
    # The option exists only when this directory is named on the command line (pytest reads
    # pytest_addoption from initial conftests only); the environment variable always works.
    option = pytestconfig.getoption("--fuzz-examples", default=None)
    if option:
        return int(option)
    return int(os.environ.get(FUZZ_ENV) or DEFAULT_FUZZ_EXAMPLES)


# ----- DSNs ------------------------------------------------------------------------------------

def upstream(dsn: str) -> tuple[str, int]:
    parts = urlsplit(dsn)
    return parts.hostname or "127.0.0.1", parts.port or 5432


def with_password(dsn: str, password: str = PASSWORD) -> str:
    """``dsn`` with ``password`` in it (replacing none: trust auth ignores it)."""
    parts = urlsplit(dsn)
    if parts.password:
        return dsn
    user, host = parts.netloc.rsplit("@", 1)
    return urlunsplit((parts.scheme, f"{user}:{password}@{host}", parts.path, parts.query, parts.fragment))


def with_user(dsn: str, user: str, password: str | None = None) -> str:
    parts = urlsplit(dsn)
    host = parts.netloc.rsplit("@", 1)[-1]
    auth = f"{user}:{password}" if password else user
    return urlunsplit((parts.scheme, f"{auth}@{host}", parts.path, parts.query, parts.fragment))


# ----- what an operator must be able to read -----------------------------------------------------

def assert_plain(message: str, *secrets: str) -> None:
    """An error message fit for the screen: words, no traceback, no object repr, no secret."""
    assert message.strip(), "an empty error message"
    for marker in ("Traceback", 'File "', "asyncpg.exceptions", "<asyncpg", " object at 0x"):
        assert marker not in message, f"{marker!r} in {message!r}"
    for secret in (PASSWORD, *secrets):
        assert secret not in message, f"a secret in {message!r}"


# ----- state read around the engine ----------------------------------------------------------------

async def direct_fetch(dsn: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def sessions_in_transaction(dsn: str, timeout: float = 30.0) -> int:
    """Sessions of ``dsn``'s database still inside a transaction, after giving the server
    ``timeout`` seconds to notice that their clients are gone."""
    conn = await asyncpg.connect(dsn)
    try:
        count = 0
        for _ in range(int(timeout / 0.1)):
            count = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()")
            if count == 0:
                return 0
            await asyncio.sleep(0.1)
        return count
    finally:
        await conn.close()


async def assert_pool_recovered(stores: Stores, calls: int = 10) -> None:
    """The first call after a fault heals and ``calls`` more succeed, and every connection the
    pool can hand out at once works: no broken connection is handed out, not even once."""
    for _ in range(calls):
        assert await stores.tenants.count() >= 0
    await assert_pool_healthy(getattr(stores.engine, "current", stores.engine))  # a SwitchableEngine: the active one


@pytest.fixture
async def clean_db(migrated_db: str) -> AsyncIterator[str]:
    """The module's migrated database, emptied for this test."""
    stores = await open_stores(pg_settings(migrated_db))
    try:
        await truncate_all(stores)
    finally:
        await stores.close()
    yield migrated_db


# ----- least privilege: roles ------------------------------------------------------------------------

SIX_TABLES = ("tenants", "apps", "branches", "users", "user_apps", "app_keys")


def _role_sql(role: str, database: str, privileges: str) -> list[str]:
    tables = ", ".join(f"lokstra_auth.{t}" for t in SIX_TABLES)
    return [
        f"DO $$ BEGIN CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE; "
        "EXCEPTION WHEN duplicate_object THEN NULL; END $$",
        f'REVOKE ALL ON DATABASE "{database}" FROM PUBLIC',
        f'GRANT CONNECT ON DATABASE "{database}" TO {role}',
        f"GRANT USAGE ON SCHEMA lokstra_auth TO {role}",
        f"GRANT {privileges} ON {tables} TO {role}",
    ]


@pytest.fixture(scope="module")
def limited_roles(pg_server, migrated_db: str) -> Iterator[dict[str, str]]:
    """DSNs of two roles on the module's migrated database: ``rw`` may only read and write the
    six lokstra_auth tables; ``ro`` may only read them. Neither is superuser nor may create."""
    database = urlsplit(migrated_db).path.lstrip("/")
    roles = {"rw": "lokstra_rel_rw", "ro": "lokstra_rel_ro"}
    for kind, privileges in (("rw", "SELECT, INSERT, UPDATE, DELETE"), ("ro", "SELECT")):
        for sql in _role_sql(roles[kind], database, privileges):
            pg_server.execute(sql, database=database)
    # PostgreSQL 15+ no longer lets PUBLIC create in public; say it for older servers too.
    pg_server.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC", database=database)
    yield {kind: with_user(migrated_db, role) for kind, role in roles.items()}
