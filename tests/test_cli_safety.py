"""Which database, and may it be written: one resolution for every entry point (console/target.py).

Issue 16 items 1, 2 and 20, issue 18 items 1 and 4. Every test runs with the settings
variables cleared and libpq's PGHOST/PGPORT pointing at a closed port: a command that
fell back to libpq's defaults would fail there, never reach the machine's own server.
"""
from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest

from console.cli import main
from console.commands.common import target_from_args
from tests.support.environment import isolate_settings

SECRET = "s3cr3t-value-never-echoed"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_settings(monkeypatch, tmp_path)
    for name in ("LOKSTRA_CONSOLE_CONFIG", "DB_TIME_ZONE", "DB_AUTH_SCHEMA", "PGPASSFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOKSTRA_CONSOLE_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("PGHOST", "127.0.0.1")
    monkeypatch.setenv("PGPORT", str(closed_port()))

    def no_tui(app: object) -> int:
        pytest.fail("the TUI started: the console should have refused before")

    monkeypatch.setattr("console.cli.run_console", no_tui)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


def write_config(tmp_path: Path, dsn: str, *, read_only: bool = False, global_read_only: bool = False,
                 active: bool = False) -> None:
    parts = urlsplit(dsn)
    lines = []
    if global_read_only:
        lines.append("read_only = true")
    if active:
        lines.append('active_profile = "p"')
    lines += ["[profiles.p]", f'host = "{parts.hostname}"', f"port = {parts.port}", f'user = "{parts.username}"',
              f'database = "{parts.path.lstrip("/")}"', 'sslmode = "disable"', 'environment = "staging"',
              f"read_only = {'true' if read_only else 'false'}"]
    (tmp_path / "config.toml").write_text("\n".join(lines) + "\n")


def state(dsn: str) -> dict[str, Any]:
    """What a write would change: the rows of every table the console writes, and which exist."""
    async def go() -> dict[str, Any]:
        conn = await asyncpg.connect(dsn)
        try:
            found: dict[str, Any] = {}
            for table in ("lokstra_auth.tenants", "lokstra_auth.apps", "lokstra_auth.branches", "lokstra_auth.users",
                          "lokstra_auth.user_apps", "lokstra_auth.app_keys", "lokstra_console.audit_log",
                          "lokstra_console.migrations", "lokstra_console.migration_history"):
                exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table)
                found[table] = await conn.fetchval(f"SELECT count(*) FROM {table}") if exists else None
            return found
        finally:
            await conn.close()

    return asyncio.run(go())


# ----- nothing configured: PG-only commands say so (16.1) ---------------------------------

PG_ONLY = [
    ["migrate", "status"], ["migrate", "up", "--yes"], ["migrate", "down", "--yes"], ["drill", "--yes"],
    ["demo", "--yes"], ["copy", "--from", "memory", "--to", "postgres", "--yes"],
]


@pytest.mark.parametrize("argv", PG_ONLY, ids=lambda a: " ".join(a[:2]))
def test_with_nothing_configured_a_postgres_command_says_so(argv: list[str], capsys) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2, (out, err)
    assert "no PostgreSQL database is configured" in err and "--dsn" in err
    assert "migrate up" not in err  # the drill's old hint pointed at migrating whatever it reached


def test_with_nothing_configured_status_and_check_say_memory(capsys) -> None:
    code, out, _ = run(capsys, "status")
    assert code == 0 and out.startswith("backend:  memory")
    code, out, _ = run(capsys, "check")
    assert code == 0 and "memory" in out


# ----- --profile everywhere (16.2) ----------------------------------------------------------

@pytest.mark.parametrize("argv", [["status"], ["check"], ["migrate", "status"], ["drill"], ["demo"], []],
                         ids=lambda a: " ".join(a) or "tui")
def test_an_unknown_profile_exits_2_naming_it(argv: list[str], capsys) -> None:
    code, out, err = run(capsys, "--profile", "nosuch", *argv)
    assert code == 2 and "no profile named 'nosuch'" in err


def test_subcommands_open_the_profile(migrated_db: str, tmp_path: Path, capsys) -> None:
    write_config(tmp_path, migrated_db)
    parts = urlsplit(migrated_db)
    expected = f"{parts.username}@{parts.hostname}:{parts.port}{parts.path}"
    code, out, _ = run(capsys, "--profile", "p", "status", "--json")
    document = json.loads(out)
    assert code == 0 and document["backend"] == "postgres" and document["target"] == expected
    code, out, _ = run(capsys, "--profile", "p", "migrate", "status", "--json")
    assert code == 0 and json.loads(out)["target"] == expected


def test_the_active_profile_is_used_but_a_write_asks(migrated_db: str, tmp_path: Path, capsys) -> None:
    write_config(tmp_path, migrated_db, active=True)
    before = state(migrated_db)
    code, out, _ = run(capsys, "status", "--json")
    assert code == 0 and json.loads(out)["backend"] == "postgres"
    code, _, err = run(capsys, "demo")  # not interactive, target not on the command line
    assert code == 2 and "--yes" in err and "active_profile p" in err
    assert state(migrated_db) == before


# ----- a write names its target and asks unless named (16.1) -----------------------------

@pytest.mark.parametrize("argv", [
    ["demo"], ["drill", "--environment", "staging"], ["migrate", "up"],
    ["copy", "--from", "memory", "--to", "postgres", "--replace"],
], ids=lambda a: a[0] if a[0] != "migrate" else "migrate up")
def test_a_write_to_a_target_from_the_environment_needs_yes(argv: list[str], migrated_db: str,
                                                           monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("USE_POSTGRES", "true")
    monkeypatch.setenv("DATABASE_URL", migrated_db.replace("://postgres@", f"://postgres:{SECRET}@", 1))
    before = state(migrated_db)
    code, out, err = run(capsys, *argv)
    assert code == 2, (out, err)
    assert "confirmation_needed" not in err and "--yes" in err and "environment" in err
    parts = urlsplit(migrated_db)
    assert f"target postgres postgres@{parts.hostname}:{parts.port}{parts.path}" in err  # named before any write
    assert SECRET not in out + err
    assert state(migrated_db) == before


def test_with_yes_the_write_goes_on(migrated_db: str, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("USE_POSTGRES", "true")
    monkeypatch.setenv("DATABASE_URL", migrated_db)
    code, out, err = run(capsys, "migrate", "up", "--yes")
    assert code == 0, (out, err)
    assert "migrate up: target postgres" in err and "nothing to do" in out


# ----- read-only, every way of asking, every writing command (18.1) ---------------------

WAYS: dict[str, Callable[[pytest.MonkeyPatch, Path, str], tuple[list[str], list[str]]]] = {
    # each gives (global options, subcommand target options)
    "flag": lambda mp, tmp, dsn: (["--read-only"], ["--dsn", dsn]),
    "env": lambda mp, tmp, dsn: (mp.setenv("LOKSTRA_READ_ONLY", "true"), ([], ["--dsn", dsn]))[1],
    "dotenv": lambda mp, tmp, dsn: ((tmp / ".env").write_text("LOKSTRA_READ_ONLY=true\n"), ([], ["--dsn", dsn]))[1],
    "profile": lambda mp, tmp, dsn: (write_config(tmp, dsn, read_only=True), (["--profile", "p"], []))[1],
    "config": lambda mp, tmp, dsn: (write_config(tmp, dsn, global_read_only=True), ([], ["--dsn", dsn]))[1],
}
WRITES: dict[str, list[str]] = {
    "migrate up": ["migrate", "up", "--yes"],
    "migrate down": ["migrate", "down", "--yes", "3"],
    "migrate dry-run": ["migrate", "dry-run"],
    "migrate adopt": ["migrate", "adopt", "--yes"],
    "migrate relocate": ["migrate", "relocate", "--yes"],
    "demo": ["demo", "--yes", "--users", "20"],
    "drill": ["drill", "--yes", "--environment", "staging", "--workload", "1"],
    "copy": ["copy", "--from", "memory", "--to", "postgres", "--replace", "--yes"],
}


@pytest.mark.parametrize("command", list(WRITES))
@pytest.mark.parametrize("way", list(WAYS))
def test_read_only_refuses_every_write(way: str, command: str, migrated_db: str, monkeypatch: pytest.MonkeyPatch,
                                       tmp_path: Path, capsys) -> None:
    global_options, target = WAYS[way](monkeypatch, tmp_path, migrated_db)
    before = state(migrated_db)
    code, out, err = run(capsys, *global_options, *WRITES[command], *target)
    assert code == 2, (out, err)
    assert "read-only" in err
    assert state(migrated_db) == before


# ----- bad settings: one line, the setting named, the value not echoed (18.4, 16.20) -------

@pytest.mark.parametrize("port", ["0", "99999", "-1", f"abc{SECRET}"])
@pytest.mark.parametrize("argv", [["status"], ["check"], ["migrate", "status"], ["demo", "--yes"], []],
                         ids=lambda a: " ".join(a) or "tui")
def test_a_bad_db_port_is_named_without_its_value(port: str, argv: list[str], monkeypatch: pytest.MonkeyPatch,
                                                  capsys) -> None:
    monkeypatch.setenv("USE_POSTGRES", "true")
    monkeypatch.setenv("DB_HOST", "127.0.0.1")
    monkeypatch.setenv("DB_PORT", port)
    code, out, err = run(capsys, *argv)
    assert code == 2 and "DB_PORT" in err, err
    assert SECRET not in out + err and "input_value" not in err and "pydantic" not in err
    if port in ("0", "99999", "-1"):
        assert "1-65535" in err


def test_a_dsn_with_a_bad_port_is_refused(capsys) -> None:
    for dsn in ("postgresql://u@127.0.0.1:0/db", "postgresql://u@127.0.0.1:99999/db"):
        code, _, err = run(capsys, "migrate", "status", "--dsn", dsn)
        assert code == 2 and "1-65535" in err


@pytest.mark.parametrize("content", [b"[profiles.p\nhost = 1", b"animations = \"\xff\xfe\"\n", None],
                         ids=["toml", "utf8", "unreadable"])
@pytest.mark.parametrize("argv", [["status"], []], ids=["status", "tui"])
def test_a_broken_settings_file_is_named(content: bytes | None, argv: list[str], tmp_path: Path, capsys) -> None:
    path = tmp_path / "config.toml"
    if content is None:
        path.mkdir()  # a directory: cannot be read, also as root
    else:
        path.write_bytes(content)
    code, out, err = run(capsys, *argv)
    assert code == 2 and str(path) in err, err


# ----- --dsn sessions get the pool's session settings (18.6) -------------------------------

def _session(args: list[str]) -> dict[str, str]:
    from console.cli import build_parser

    target = target_from_args(build_parser().parse_args(args))

    async def go() -> dict[str, str]:
        conn = await target.connect()
        try:
            row = await conn.fetchrow("SELECT current_setting('application_name') AS app, "
                                      "current_setting('TimeZone') AS tz, "
                                      "current_setting('default_transaction_read_only') AS ro")
            return dict(row)
        finally:
            await conn.close()

    return asyncio.run(go())


def test_dsn_sessions_get_application_name_and_keep_the_server_zone(migrated_db: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    async def server_zone() -> str:
        conn = await asyncpg.connect(migrated_db)
        try:
            return await conn.fetchval("SHOW TimeZone")
        finally:
            await conn.close()

    session = _session(["migrate", "status", "--dsn", migrated_db])
    assert session == {"app": "lokstra-console", "tz": asyncio.run(server_zone()), "ro": "off"}
    monkeypatch.setenv("DB_TIME_ZONE", "Asia/Jakarta")
    monkeypatch.setenv("LOKSTRA_READ_ONLY", "true")
    assert _session(["migrate", "status", "--dsn", migrated_db]) == {"app": "lokstra-console", "tz": "Asia/Jakarta",
                                                                    "ro": "on"}
