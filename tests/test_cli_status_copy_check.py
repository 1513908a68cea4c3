"""``lokstra-console status|copy|check``: exit codes, JSON, progress, refusals, unreachable servers, secrets."""
from __future__ import annotations

import asyncio
import io
import json
import socket
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from console.cli import main
from console.commands.common import TableProgressBar
from stores import Settings, open_stores
from stores.transfer.copy import table_digests
from stores.transfer.snapshot_file import SnapshotFile
from tests.support.databases import pg_settings, truncate_all
from tests.support.server import PgServer
from tests.support.environment import isolate_settings

PASSWORD = "Quokka-Zebra-7731-secret"
CHECK_ITEMS = ["server reachable", "database exists", "server version", "layout", "schema current", "privileges",
               "readable by lokstra-auth", "api key hashes",
               "primary or standby", "pg_stat_statements", "ssl", "pool settings", "last backup"]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No connection settings but the test's own, no .env file, no terminal."""
    isolate_settings(monkeypatch, tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code, out, err = cli(capsys, *argv, "--json")
    document = json.loads(out)
    assert document["exit_code"] == code, err
    return code, document


def with_password(dsn: str) -> str:
    """The DSN with the distinctive password (the throwaway cluster trusts 127.0.0.1 and ignores it)."""
    parts = urlsplit(dsn)
    if parts.password:
        return dsn
    netloc = f"{parts.username}:{PASSWORD}@{parts.hostname}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@pytest.fixture
def dsn(pg_server: PgServer, migrated_db: str) -> str:
    """The module's migrated database, emptied, with a password in its DSN where the server ignores it."""
    async def empty() -> None:
        stores = await open_stores(pg_settings(migrated_db))
        try:
            await truncate_all(stores)
        finally:
            await stores.close()

    asyncio.run(empty())
    return with_password(migrated_db) if pg_server.cluster is not None else migrated_db


def refused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again: nothing listens there


async def digests_of(endpoint: object) -> dict[str, tuple[int, str]]:
    return {name: (d.rows, d.hex) for name, d in (await table_digests(endpoint)).items()}


async def demo_digests() -> dict[str, tuple[int, str]]:
    return await digests_of((await open_stores(Settings(use_postgres=False))).engine)


async def postgres_digests(dsn: str) -> dict[str, tuple[int, str]]:
    stores = await open_stores(pg_settings(dsn))
    try:
        return await digests_of(stores.engine)
    finally:
        await stores.close()


# ----- status ----------------------------------------------------------------------------

def test_status_on_a_migrated_database(dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(capsys, "copy", "--from", "memory", "--to", "postgres", "--dsn", dsn)[0] == 0
    code, document = cli_json(capsys, "status", "--dsn", dsn)
    assert code == 0 and document["backend"] == "postgres"
    assert document["schema"]["overall"] == "current"
    assert document["rows"]["users"] == {"rows": 480, "exact": True}
    assert document["server"]["version"] and "@" in document["target"]
    code, out, err = cli(capsys, "status", "--dsn", dsn)
    assert code == 0 and "schema:   current" in out and "users" in out and "480" in out
    assert PASSWORD not in out + err + json.dumps(document)


def test_status_and_check_fail_on_an_unmigrated_database(fresh_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = cli_json(capsys, "status", "--dsn", fresh_db)
    assert code == 1 and document["rows"] is None and document["schema"]["overall"] == "not_initialised"
    code, document = cli_json(capsys, "check", "--dsn", fresh_db)
    items = {item["name"]: item for item in document["checks"]}
    assert code == 1 and items["schema current"]["state"] == "fail" and "migrate up" in items["schema current"]["fix"]
    assert items["privileges"]["state"] == "skipped" and items["server reachable"]["state"] == "ok"
    code, out, _ = cli(capsys, "check", "--dsn", fresh_db)
    assert code == 1 and "FAIL     schema current" in out and "1 failed" in out


def test_status_and_check_on_the_memory_backend(capsys: pytest.CaptureFixture[str]) -> None:
    code, document = cli_json(capsys, "status")
    assert code == 0 and document["backend"] == "memory" and document["rows"]["tenants"] == {"rows": 3, "exact": True}
    code, document = cli_json(capsys, "check")
    assert code == 0 and [item["state"] for item in document["checks"]] == ["ok", "unknown"]


# ----- check -----------------------------------------------------------------------------

def test_check_on_a_migrated_database(dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = cli_json(capsys, "check", "--dsn", dsn)
    items = {item["name"]: item for item in document["checks"]}
    assert list(items) == CHECK_ITEMS
    assert code == 0, document
    assert items["schema current"]["state"] == "ok" and items["privileges"]["state"] == "ok"
    assert items["last backup"] == {"name": "last backup", "state": "unknown", "listed": [],
                                    "detail": "unknown (the console cannot see backups)", "fix": items["last backup"]["fix"]}
    assert items["readable by lokstra-auth"]["state"] == "ok" and items["api key hashes"]["state"] == "ok"
    assert items["ssl"]["state"] == "ok" and "local connection" in items["ssl"]["detail"]
    assert items["pg_stat_statements"]["state"] in {"ok", "warn"} and items["server version"]["detail"].startswith("PostgreSQL")
    assert document["summary"]["fail"] == 0
    code, out, err = cli(capsys, "check", "--dsn", dsn)
    assert code == 0 and "unknown  last backup" in out
    assert PASSWORD not in out + err + json.dumps(document)


def test_check_finds_what_lokstra_auth_cannot_read_and_its_fix_works(
        dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    """NULL where upstream's Go wants a string, and a key an older console hashed in hex
    (docs/upstream.md A and B; tests/contract/test_upstream_compat.py cites the lines)."""
    import hashlib

    import asyncpg

    hex_hash = hashlib.sha3_256(b"gone").hexdigest()

    async def write_like_others() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f"""
                INSERT INTO lokstra_auth.tenants (id, name, domain, db_dsn, db_schema) VALUES ('old', 'Old', NULL, '', 'old');
                INSERT INTO lokstra_auth.apps (id, tenant_id, name, type) VALUES ('web', 'old', 'Web', 'web');
                INSERT INTO lokstra_auth.users (id, tenant_id, username, email) VALUES ('u1', 'old', 'u1', 'u1@x.io');
                INSERT INTO lokstra_auth.app_keys (id, tenant_id, app_id, key_id, prefix, secret_hash, key_type,
                                                   environment, name, metadata)
                VALUES ('k1', 'old', 'web', 'kid1', 'sk_live_', '{hex_hash}', 'secret', 'live', 'ci', '{{}}');""")
        finally:
            await conn.close()

    asyncio.run(write_like_others())
    code, document = cli_json(capsys, "check", "--dsn", dsn)
    items = {item["name"]: item for item in document["checks"]}
    assert code == 1
    readable = items["readable by lokstra-auth"]
    assert readable["state"] == "fail" and "tenants.domain: 1 row NULL" in readable["detail"]
    assert "users.full_name: 1 row NULL" in readable["detail"] and "app_keys.user_id: 1 row NULL" in readable["detail"]
    keys = items["api key hashes"]
    assert keys["state"] == "fail" and keys["listed"] == ["old/web sk_live_kid1 'ci' (hex SHA3-256 written by an older "
                                                          "console: lokstra-auth cannot verify it)"]

    async def apply(statements: str) -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(statements)
        finally:
            await conn.close()

    asyncio.run(apply(readable["fix"].removeprefix("As the tables' owner: ")))
    _, document = cli_json(capsys, "check", "--dsn", dsn)
    items = {item["name"]: item for item in document["checks"]}
    assert items["readable by lokstra-auth"]["state"] == "ok"


def test_check_flags_a_pool_larger_than_the_server(dsn: str, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_POOL_MAX_SIZE", "100000")
    code, document = cli_json(capsys, "check", "--dsn", dsn)
    pool = next(item for item in document["checks"] if item["name"] == "pool settings")
    assert code == 1 and pool["state"] == "fail" and "exhaust" in pool["detail"]


# ----- an unreachable server, and secrets ------------------------------------------------

@pytest.mark.parametrize("argv", [
    ("status",), ("check",), ("copy", "--from", "memory", "--to", "postgres"),
    ("copy", "--from", "postgres", "--to", "out.snapshot"),
])
def test_a_refused_port_is_exit_3_and_never_shows_the_password(argv: tuple[str, ...], tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    dsn = f"postgresql://lokstra:{PASSWORD}@127.0.0.1:{refused_port()}/lokstra"
    code, out, err = cli(capsys, *argv, "--dsn", dsn)
    assert code == 3, out + err
    assert "refused" in (out + err).lower() and PASSWORD not in out + err
    code, document = cli_json(capsys, *argv, "--dsn", dsn)
    assert code == 3 and PASSWORD not in json.dumps(document)
    cause = document["error"]["cause"] if "error" in document else document["checks"][0]["detail"]
    assert "refused" in cause.lower()
    assert not (tmp_path / "out.snapshot").exists()


def test_settings_from_the_environment_never_show_the_password(capsys: pytest.CaptureFixture[str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"USE_POSTGRES": "true", "DB_HOST": "127.0.0.1", "DB_PORT": str(refused_port()),
                        "DB_USER": "lokstra", "DB_PASSWORD": PASSWORD, "DB_NAME": "lokstra"}.items():
        monkeypatch.setenv(name, value)
    for argv in (("status",), ("check",)):
        code, out, err = cli(capsys, *argv)
        assert code == 3 and PASSWORD not in out + err and "lokstra@127.0.0.1" in out + err


def test_bad_settings_are_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (("status", "--dsn", "mysql://x@y/z"), ("check", "--dsn", "mysql://x@y/z"),
                 ("copy", "--from", "memory", "--to", "postgres", "--dsn", "http://nope")):
        code, out, err = cli(capsys, *argv)
        assert code == 2 and "postgresql://" in err
    with pytest.raises(SystemExit) as exit_:
        main(["copy", "--from", "memory"])
    assert exit_.value.code == 2


# ----- copy ------------------------------------------------------------------------------

def test_copy_between_every_pair_of_memory_postgres_and_file(dsn: str, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    demo = asyncio.run(demo_digests())
    first, second = tmp_path / "first.snapshot", tmp_path / "second.snapshot"
    steps = [
        ("memory", "postgres", []), ("postgres", str(first), []), (str(first), "memory", []),
        ("memory", str(second), []), (str(second), "postgres", ["--replace"]), ("postgres", "memory", []),
        ("memory", "memory", []), (str(first), str(second), ["--replace"]),
    ]
    for source, target, extra in steps:
        code, document = cli_json(capsys, "copy", "--from", source, "--to", target, "--dsn", dsn, *extra) \
            if "postgres" in (source, target) else cli_json(capsys, "copy", "--from", source, "--to", target, *extra)
        assert code == 0, (source, target, document)
        assert {t["table"]: (t["rows"], t["digest"]) for t in document["copy"]["tables"]} == demo, (source, target)
        assert PASSWORD not in json.dumps(document)
        if target == "memory":
            assert any("gone" in note for note in document["notes"])
    assert asyncio.run(postgres_digests(dsn)) == demo
    for path in (first, second):
        assert asyncio.run(digests_of(SnapshotFile(path))) == demo
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_copy_refusals_leave_the_target_unchanged(dsn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(capsys, "copy", "--from", "memory", "--to", "postgres", "--dsn", dsn)[0] == 0
    before = asyncio.run(postgres_digests(dsn))

    code, out, err = cli(capsys, "copy", "--from", "memory", "--to", "postgres", "--dsn", dsn)
    assert code == 1 and "not empty" in err and "unchanged" in err

    snapshot = tmp_path / "s.snapshot"
    assert cli(capsys, "copy", "--from", "postgres", "--to", str(snapshot), "--dsn", dsn)[0] == 0
    code, document = cli_json(capsys, "copy", "--from", "memory", "--to", str(snapshot))
    assert code == 1 and document["error"]["cause"] == "exists" and "--replace" in document["error"]["fix"]

    data = snapshot.read_bytes()
    snapshot.write_bytes(data[: len(data) - 40])
    code, document = cli_json(capsys, "copy", "--from", str(snapshot), "--to", "postgres", "--replace", "--dsn", dsn)
    assert code == 1 and document["error"]["cause"] == "truncated" and "cut short" in document["error"]["reason"]

    code, document = cli_json(capsys, "copy", "--from", str(tmp_path / "missing"), "--to", "memory")
    assert code == 2 and document["error"]["cause"] == "missing"
    code, _, err = cli(capsys, "copy", "--from", "postgres", "--to", "postgres", "--dsn", dsn)
    assert code == 2 and "the same" in err
    code, _, err = cli(capsys, "--read-only", "copy", "--from", "memory", "--to", "postgres", "--replace", "--dsn", dsn)
    assert code == 2 and "read-only" in err
    code, _, err = cli(capsys, "copy", "--from", "memory", "--to", str(tmp_path / "x"), "--dsn", dsn)
    assert code == 2 and "--dsn" in err
    assert asyncio.run(postgres_digests(dsn)) == before


def test_copy_into_an_unmigrated_database_is_exit_3(fresh_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = cli_json(capsys, "copy", "--from", "memory", "--to", "postgres", "--dsn", fresh_db)
    assert code == 3 and document["error"]["cause"] == "not_migrated" and "migrate up" in document["error"]["fix"]


def test_copy_progress_plain_lines_without_a_terminal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "copy", "--from", "memory", "--to", str(tmp_path / "p.snapshot"))
    assert code == 0 and "copy memory → file" in out and "users" in out
    assert [line.split()[0] for line in err.splitlines()] == ["tenants", "apps", "branches", "users", "user_apps", "app_keys"]
    assert "users      100%  480/480 rows" in err
    code, out, err = cli(capsys, "copy", "--from", "memory", "--to", str(tmp_path / "q.snapshot"), "--json")
    assert code == 0 and err == "" and json.loads(out)["copy"]["rows"] > 1000


def test_progress_bar_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    bar = TableProgressBar(screen, quiet=True)  # a terminal shows the bar even for JSON output
    bar("users", 0, 200)
    bar("users", 100, 200)
    bar("users", 200, 200)
    bar("app_keys", 0, 0)
    bar.close()
    text = screen.getvalue()
    assert "\r  users      [############............]  50%  100/200 rows" in text
    assert text.count("\n") == 2 and text.endswith("0/0 rows\n")


def test_through_python_dash_m_console(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-m", "console", "copy", "--from", "memory", "--to", str(tmp_path / "m.snapshot"),
                           "--json"], cwd=root, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
                          env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["copy"]["target"] == "file"
