"""Databases for the monitor tests on the throwaway cluster (pg_stat_statements preloaded),
a second cluster without it, and helpers to generate a workload."""
from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import asyncpg
import pytest

from stores.monitor import PostgresMonitor
from stores.postgres.engine import PostgresEngine
from tests.support.databases import pg_settings
from tests.support.pgcluster import ClusterUnavailable, create_cluster
from tests.support.schema import migrate
from tests.support.server import PgServer, run_sync

PLAIN_ROLE = "lokstra_monitor_plain"


def db_name(dsn: str) -> str:
    return urlsplit(dsn).path.lstrip("/")


def with_user(dsn: str, user: str) -> str:
    parts = urlsplit(dsn)
    return f"{parts.scheme}://{user}@{parts.hostname}:{parts.port}{parts.path}"


@pytest.fixture(scope="module")
def stats_db(pg_server: PgServer, migrated_template: str) -> Iterator[str]:
    """A migrated database with pg_stat_statements created in it."""
    dsn = pg_server.create_database("monitor", template=migrated_template)
    pg_server.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", database=db_name(dsn))
    yield dsn
    pg_server.drop_database(dsn)


@pytest.fixture(scope="module")
def plain_role(pg_server: PgServer) -> str:
    """A login role with no monitoring role at all."""
    pg_server.execute(f"DO $$ BEGIN CREATE ROLE {PLAIN_ROLE} LOGIN; "
                      "EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    return PLAIN_ROLE


def grant_schema(pg_server: PgServer, dsn: str, role: str) -> None:
    pg_server.execute(f"GRANT USAGE ON SCHEMA lokstra_auth TO {role}; "
                      f"GRANT SELECT ON ALL TABLES IN SCHEMA lokstra_auth TO {role}", database=db_name(dsn))


async def open_engine(dsn: str) -> PostgresEngine:
    return await PostgresEngine.open(pg_settings(dsn))


@pytest.fixture
async def monitor(stats_db: str) -> AsyncIterator[PostgresMonitor]:
    engine = await open_engine(stats_db)
    try:
        yield PostgresMonitor(engine)
    finally:
        await engine.close()


@pytest.fixture(scope="module")
def unloaded_cluster_db() -> Iterator[str]:
    """A migrated database, with pg_stat_statements created, on a cluster that does not preload it."""
    try:
        cluster = create_cluster(preload="")
    except ClusterUnavailable as exc:
        pytest.skip(f"needs PostgreSQL server binaries for a second cluster: {exc}")
    try:
        dsn = cluster.dsn("postgres")
        run_sync(lambda: migrate(dsn))

        async def create() -> None:
            conn = await asyncpg.connect(dsn)
            try:
                await conn.execute("CREATE EXTENSION pg_stat_statements")
            finally:
                await conn.close()

        run_sync(create)
        yield dsn
    finally:
        cluster.destroy()
