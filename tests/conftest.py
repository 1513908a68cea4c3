"""Shared fixtures: the PostgreSQL server for the session and databases per test or module.

PostgreSQL is real in these tests. The session starts a throwaway cluster (see
tests/support/pgcluster.py) unless LOKSTRA_TEST_DSN points at a server to use instead.
Without either, PostgreSQL tests are skipped with the reason; under CI=true that is a failure.
"""
from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

from stores import Settings, Stores, open_stores
from tests.support.databases import pg_settings, truncate_all
from tests.support.pgcluster import ClusterUnavailable, create_cluster
from tests.support.server import PgServer, external_dsn, run_sync

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(autouse=True, scope="session")
def _log_file_in_a_temp_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests that run the command line in-process set up the file log: keep it out of the
    operator's ~/.local/state (tests/logging set their own path where they check it)."""
    previous = os.environ.get("LOKSTRA_CONSOLE_LOG")
    os.environ["LOKSTRA_CONSOLE_LOG"] = str(tmp_path_factory.mktemp("log") / "console.log")
    yield
    if previous is None:
        os.environ.pop("LOKSTRA_CONSOLE_LOG", None)
    else:
        os.environ["LOKSTRA_CONSOLE_LOG"] = previous


@pytest.fixture(autouse=True)
def _state_in_a_temp_dir(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Exports, snapshots and drill reports go to the XDG state directory by default
    (console/paths.py): keep them out of the operator's ~/.local/state too."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))


def pytest_report_header(config: pytest.Config) -> str:
    """Which server the PostgreSQL tests run on (``LOKSTRA_TEST_PG_BIN`` picks another major version)."""
    from tests.support.pgcluster import describe_server

    return f"PostgreSQL: {external_dsn() and 'LOKSTRA_TEST_DSN' or describe_server()}"


def _no_postgres(reason: str) -> None:
    message = f"PostgreSQL tests cannot run: {reason}. Set LOKSTRA_TEST_DSN or install the PostgreSQL server binaries."
    if IN_CI:
        pytest.fail(message + " (CI=true: a skipped PostgreSQL test is a failure)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A PostgreSQL server where tests may create databases (superuser access)."""
    dsn = external_dsn()
    if dsn:
        server = PgServer(admin_dsn=dsn)
        yield server
        server.close()
        return
    try:
        cluster = create_cluster()
    except ClusterUnavailable as exc:
        _no_postgres(str(exc))
        return
    except Exception as exc:  # initdb / pg_ctl failed
        _no_postgres(f"starting a throwaway cluster failed: {exc}")
        return
    server = PgServer(admin_dsn=cluster.dsn("postgres"), cluster=cluster)
    try:
        yield server
    finally:
        server.close()
        cluster.destroy()


@pytest.fixture
def fresh_db(pg_server: PgServer) -> Iterator[str]:
    """DSN of a new, empty database, dropped after the test."""
    dsn = pg_server.create_database("fresh")
    yield dsn
    pg_server.drop_database(dsn)


@pytest.fixture(scope="session")
def migrated_template(pg_server: PgServer) -> str:
    """Name of a database migrated to the newest schema, used as a template.

    Its default collation is ICU en-US where the server has ICU: "alice" < "Alice" < "bob"
    there, unlike code-point order, so a query that forgets COLLATE "C" fails the paging tests.
    """
    from tests.support.schema import migrate

    try:
        dsn = pg_server.create_database("template", template="template0",
                                        options="LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'")
    except Exception:  # a server built without ICU: the database default collation then
        dsn = pg_server.create_database("template")
    run_sync(lambda: migrate(dsn))
    return dsn.rsplit("/", 1)[1]


@pytest.fixture(scope="module")
def migrated_db(pg_server: PgServer, migrated_template: str) -> Iterator[str]:
    """DSN of a migrated database for one test module (tests truncate what they need)."""
    dsn = pg_server.create_database("migrated", template=migrated_template)
    yield dsn
    pg_server.drop_database(dsn)


@pytest.fixture(params=["memory", "postgres"])
async def empty_settings(request: pytest.FixtureRequest) -> Settings:
    """Settings of an empty backend for an app under test: memory, or the module's PostgreSQL
    database truncated."""
    if request.param == "memory":
        return Settings(use_postgres=False, demo_data=False)
    settings = pg_settings(request.getfixturevalue("migrated_db"))
    opened = await open_stores(settings)
    try:
        await truncate_all(opened)
    finally:
        await opened.close()
    return settings


@pytest.fixture(params=["memory", "postgres"])
async def stores(request: pytest.FixtureRequest) -> AsyncIterator[Stores]:
    """Empty stores on each backend: the contract suite runs once per backend."""
    if request.param == "memory":
        opened = await open_stores(Settings(use_postgres=False, demo_data=False))
    else:
        opened = await open_stores(pg_settings(request.getfixturevalue("migrated_db")))
        await truncate_all(opened)
    try:
        yield opened
    finally:
        await opened.close()
