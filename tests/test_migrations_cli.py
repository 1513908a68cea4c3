"""``lokstra-console migrate``: exit codes, JSON output, confirmations, unreachable servers."""
from __future__ import annotations

import argparse
import asyncio
import io
import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from console.commands import migrate
from tests.support.migrations_helpers import (
    SQL_DIR,
    build_like_db_schema_sql,
    execute,
    console_rows,
    schema_exists,
)

pytestmark = pytest.mark.postgres

VERSIONS = [int(p.name[:3]) for p in sorted(SQL_DIR.glob("*.up.sql"))]


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lokstra-console")
    migrate.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["migrate", *argv])


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    args = parse(*argv)
    code = args.run(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code, out, _ = cli(capsys, *argv, "--json")
    document = json.loads(out)
    assert document["exit_code"] == code
    return code, document


@pytest.fixture(autouse=True)
def not_interactive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))


def test_status_up_status_exit_codes_and_json(fresh_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = cli_json(capsys, "status", "--dsn", fresh_db)
    assert code == 1
    assert document["status"]["overall"] == "not_initialised"
    assert [(m["version"], m["state"]) for m in document["status"]["migrations"]] == [(v, "pending") for v in VERSIONS]

    code, out, _ = cli(capsys, "up", "--dsn", fresh_db)
    assert code == 0
    assert f"[{len(VERSIONS)}/{len(VERSIONS)}] apply" in out and "schema: current at version" in out

    code, document = cli_json(capsys, "status", "--dsn", fresh_db)
    assert code == 0 and document["status"]["overall"] == "current"
    assert all(len(m["short_checksum"]) == 8 for m in document["status"]["migrations"])
    assert "postgres" in document["target"] and "@" in document["target"]

    code, document = cli_json(capsys, "up", "--dsn", fresh_db)
    assert code == 0 and document["result"]["outcome"] == "nothing_to_do"


def test_through_python_dash_m_console(fresh_db: str) -> None:
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-m", "console", "migrate", "up", "--json", "--dsn", fresh_db],
                          cwd=root, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["result"]["status"]["overall"] == "current"
    usage = subprocess.run([sys.executable, "-m", "console", "migrate", "sideways"],
                           cwd=root, capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2 and "invalid choice" in usage.stderr


def test_dry_run_prints_statements_and_changes_nothing(fresh_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "dry-run", "--dsn", fresh_db)
    assert code == 0
    assert "CREATE TABLE lokstra_auth.tenants (" in out and "everything was rolled back" in out
    assert not asyncio.run(schema_exists(fresh_db, "lokstra_auth"))
    assert cli(capsys, "status", "--dsn", fresh_db)[0] == 1


def test_down_needs_yes_when_not_interactive(fresh_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(capsys, "up", "--dsn", fresh_db)[0] == 0
    code, out, err = cli(capsys, "down", "--dsn", fresh_db)
    assert code == 2 and "--yes" in err and f"{VERSIONS[-1]:03d}_" in out
    assert [v for v, _ in asyncio.run(console_rows(fresh_db))] == VERSIONS

    code, document = cli_json(capsys, "down", str(len(VERSIONS)), "--yes", "--dsn", fresh_db)
    assert code == 0 and [s["version"] for s in document["result"]["steps"]] == VERSIONS[::-1]
    assert asyncio.run(console_rows(fresh_db)) == []


def test_failed_migration_exits_1_with_the_database_message(fresh_db: str, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "001_one.up.sql").write_text("CREATE TABLE t (id int);\nSELECT 1/0;\n")
    (tmp_path / "001_one.down.sql").write_text("DROP TABLE t;")
    code, document = cli_json(capsys, "up", "--dsn", fresh_db, "--source", str(tmp_path))
    assert code == 1
    assert document["result"]["outcome"] == "failed"
    assert document["result"]["steps"][0]["error"].startswith("division by zero")
    assert document["result"]["status"]["migrations"][0]["state"] == "failed"


def test_adopt_reports_then_records_with_yes(fresh_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(build_like_db_schema_sql(fresh_db))
    assert cli(capsys, "status", "--dsn", fresh_db)[0] == 1
    code, out, _ = cli(capsys, "adopt", "--dsn", fresh_db)
    assert code == 0 and "adopt --yes" in out
    assert not asyncio.run(schema_exists(fresh_db, "lokstra_console"))

    code, document = cli_json(capsys, "adopt", "--yes", "--dsn", fresh_db)
    assert code == 0 and document["adoption"]["outcome"] == "recorded"
    assert [v for v, _ in asyncio.run(console_rows(fresh_db))] == VERSIONS[:1]


def test_adopt_lists_differences_and_exits_1(fresh_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(build_like_db_schema_sql(fresh_db))
    asyncio.run(execute(fresh_db, "ALTER TABLE lokstra_auth.users ALTER COLUMN full_name SET NOT NULL"))
    code, document = cli_json(capsys, "adopt", "--yes", "--dsn", fresh_db)
    assert code == 1 and document["adoption"]["outcome"] == "differs"
    assert [d["text"] for d in document["adoption"]["differences"]] == [
        "users: column full_name nullability is not null, expected nullable"
    ]
    code, out, _ = cli(capsys, "adopt", "--dsn", fresh_db)
    assert code == 1 and "  users:\n    - column full_name nullability is not null, expected nullable" in out


def test_without_dsn_the_console_settings_are_used(fresh_db: str, monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("DB_HOST", "DB_PORT", "DB_USER", "DB_PASSWORD", "DB_NAME", "DB_SSL_MODE", "PGHOST", "PGPORT",
                 "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSSLMODE", "LOKSTRA_READ_ONLY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("DATABASE_URL", fresh_db + "?sslmode=disable")
    code, document = cli_json(capsys, "status")
    parts = urlsplit(fresh_db)
    assert code == 1 and document["target"] == f"{parts.username}@{parts.hostname}:{parts.port}{parts.path}"
    assert document["status"]["database"] == parts.path.lstrip("/")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_server_exits_3_without_the_password(capsys: pytest.CaptureFixture[str]) -> None:
    dsn = f"postgresql://admin:hunter2secret@127.0.0.1:{_closed_port()}/lokstra"
    code, out, err = cli(capsys, "status", "--dsn", dsn)
    assert code == 3
    assert "refused" in err.lower() and "admin@127.0.0.1" in err
    assert "hunter2secret" not in out + err

    code, document = cli_json(capsys, "up", "--dsn", dsn)
    assert code == 3 and document["error"]["cause"] == "refused"
    assert "hunter2secret" not in json.dumps(document)


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "status", "--dsn", "mysql://root@localhost/db")
    assert code == 2 and "postgresql://" in err
    (tmp_path / "001_one.up.sql").write_text("SELECT 1;")
    code, document = cli_json(capsys, "status", "--dsn", "postgresql://x@127.0.0.1/db", "--source", str(tmp_path))
    assert code == 2 and document["error"]["cause"] == "invalid_source"
    assert "001_one.up.sql has no .down.sql" in document["error"]["reason"]
    read_only = parse("up", "--dsn", "postgresql://x@127.0.0.1/db")
    read_only.read_only = True  # console.cli's global --read-only
    assert read_only.run(read_only) == 2 and "read-only" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        parse("down", "0")
    assert exited.value.code == 2
