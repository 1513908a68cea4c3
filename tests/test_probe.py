"""``probe``: what the Connection screen's Test shows, against the real throwaway cluster."""
from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
from pydantic import SecretStr

from stores.postgres.probe import ProbeResult, probe
from stores.settings import ConnectionTarget
from tests.support.server import PgServer

SECRET = "probe-secret-Zq81"
PLAIN_ROLE = "lokstra_probe_plain"
PASSWORD_ROLE = "lokstra_probe_pw"


def target_of(dsn: str, **changes: object) -> ConnectionTarget:
    parts = urlsplit(dsn)
    target = ConnectionTarget(host=parts.hostname or "127.0.0.1", port=parts.port or 5432,
                              user=parts.username or "postgres", database=parts.path.lstrip("/"),
                              connect_timeout=5, command_timeout=10)
    for name, value in changes.items():
        setattr(target, name, value)
    return target


def causes(result: ProbeResult) -> list[str]:
    return [finding.cause for finding in result.findings]


def ensure_role(pg_server: PgServer, role: str, password: str | None = None) -> None:
    secret = f" PASSWORD '{password}'" if password else ""
    pg_server.execute(f"DO $$ BEGIN CREATE ROLE {role} LOGIN{secret}; "
                      "EXCEPTION WHEN duplicate_object THEN NULL; END $$")


@contextmanager
def password_required(pg_server: PgServer, role: str) -> Iterator[None]:
    """Make the throwaway cluster ask ``role`` for its password (scram) for the duration."""
    cluster = pg_server.cluster
    if cluster is None:
        pytest.skip("needs the throwaway cluster to require a password for one role")
    before = (cluster.datadir / "pg_hba.conf").read_text()
    cluster.set_hba("local all all trust\n"
                    f"host all {role} 127.0.0.1/32 scram-sha-256\n"
                    "host all all 127.0.0.1/32 trust\n")
    try:
        yield
    finally:
        cluster.set_hba(before)


def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def stats_db(pg_server: PgServer, fresh_db: str) -> str:
    """A fresh database with pg_stat_statements created in it."""
    pg_server.execute("CREATE EXTENSION pg_stat_statements", database=urlsplit(fresh_db).path.lstrip("/"))
    return fresh_db


async def test_superuser_on_a_fresh_database(stats_db: str) -> None:
    result = await probe(target_of(stats_db))
    assert result.ok and result.connected, result.problem
    assert result.server_version and result.server_version_num and result.server_version_num >= 100000
    assert result.rtt_ms is not None and 0 < result.rtt_ms < 1000
    assert result.ssl is False and result.role == "postgres" and result.superuser is True
    assert result.database == urlsplit(stats_db).path.lstrip("/")
    statements = result.statements
    assert statements.available and statements.created and statements.readable and statements.all_query_text
    assert result.schema_exists is False
    assert result.migration_overall == "not_initialised" and "not initialised" in (result.migration_headline or "")
    assert "not_migrated" in causes(result) and "no_statistics" not in causes(result)
    not_migrated = next(f for f in result.findings if f.cause == "not_migrated")
    assert "migrate up" in not_migrated.fix
    data = json.loads(json.dumps(result.to_json()))
    assert data["ok"] is True and data["statements"]["created"] is True and data["findings"][0]["cause"] == "not_migrated"


async def test_a_plain_role_cannot_read_other_roles_query_text(pg_server: PgServer, stats_db: str) -> None:
    ensure_role(pg_server, PLAIN_ROLE)
    result = await probe(target_of(stats_db, user=PLAIN_ROLE))
    assert result.ok, result.problem
    assert result.role == PLAIN_ROLE and result.superuser is False
    assert result.read_all_stats is False and result.monitor is False
    assert result.statements.readable and not result.statements.all_query_text
    own = next(f for f in result.findings if f.cause == "own_queries_only")
    assert f"GRANT pg_read_all_stats (or pg_monitor) TO {PLAIN_ROLE}" in own.fix


async def test_a_member_of_pg_monitor_reads_all_query_text(pg_server: PgServer, stats_db: str) -> None:
    role = "lokstra_probe_monitor"
    ensure_role(pg_server, role)
    pg_server.execute(f"GRANT pg_monitor TO {role}")
    result = await probe(target_of(stats_db, user=role))
    assert result.monitor is True and result.read_all_stats is True and result.superuser is False
    assert result.statements.all_query_text and "own_queries_only" not in causes(result)


async def test_without_the_extension_says_how_to_enable_it(fresh_db: str) -> None:
    result = await probe(target_of(fresh_db))
    assert result.ok and result.statements.available and not result.statements.created
    finding = next(f for f in result.findings if f.cause == "no_statistics")
    assert "CREATE EXTENSION pg_stat_statements" in finding.fix


async def test_a_migrated_database(migrated_db: str) -> None:
    result = await probe(target_of(migrated_db))
    assert result.ok and result.schema_exists is True
    assert result.migration_overall == "current" and (result.migration_headline or "").startswith("current at version")
    assert not {"not_migrated", "pending", "schema_drift"} & set(causes(result))


async def test_slow_round_trips_give_the_slow_query_hint(fresh_db: str) -> None:
    result = await probe(target_of(fresh_db), slow_rtt_ms=0)
    slow = next(f for f in result.findings if f.cause == "slow")
    assert "EXPLAIN ANALYZE" in slow.fix and "pool" in slow.fix


async def test_refused(pg_server: PgServer) -> None:
    result = await probe(ConnectionTarget(host="127.0.0.1", port=closed_port(), user="x", database="x",
                                          password=SecretStr(SECRET), connect_timeout=5))
    assert not result.ok and not result.connected and result.problem is not None
    assert result.problem.cause == "refused" and "Start PostgreSQL" in result.problem.fix
    assert SECRET not in json.dumps(result.to_json())


async def test_bad_password(pg_server: PgServer) -> None:
    ensure_role(pg_server, PASSWORD_ROLE, "the-right-one")
    with password_required(pg_server, PASSWORD_ROLE):
        bad = await probe(target_of(pg_server.dsn("postgres"), user=PASSWORD_ROLE, password=SecretStr(SECRET)))
        good = await probe(target_of(pg_server.dsn("postgres"), user=PASSWORD_ROLE,
                                     password=SecretStr("the-right-one")))
    assert bad.problem is not None and bad.problem.cause == "auth_failed"
    assert SECRET not in json.dumps(bad.to_json()) and SECRET not in repr(bad)
    assert good.ok and good.role == PASSWORD_ROLE
    assert "the-right-one" not in json.dumps(good.to_json())


async def test_missing_database(pg_server: PgServer) -> None:
    result = await probe(target_of(pg_server.dsn("no_such_database_here")))
    assert result.problem is not None and result.problem.cause == "no_database"


async def test_ssl_required_by_the_client_but_off_on_the_server(pg_server: PgServer) -> None:
    result = await probe(target_of(pg_server.dsn("postgres"), sslmode="require"))
    assert result.problem is not None and result.problem.cause.startswith("ssl"), result.problem
    assert "DB_SSL_MODE" in result.problem.fix


async def test_a_server_that_never_answers_times_out() -> None:
    for port in silent_port():
        result = await probe(ConnectionTarget(host="127.0.0.1", port=port, user="x", database="x", connect_timeout=0.5))
        assert result.problem is not None and result.problem.cause == "timeout"
        assert "DB_CONNECT_TIMEOUT" in result.problem.fix


async def test_verify_full_without_the_ca_says_where_the_certificate_goes(
        pg_server: PgServer, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGSSLROOTCERT", str(tmp_path / "missing-root.crt"))
    result = await probe(target_of(pg_server.dsn("postgres"), sslmode="verify-full"))
    assert result.problem is not None and result.problem.cause == "ssl_config", result.problem
    assert "root.crt" in result.problem.fix and "\n" not in result.problem.reason
