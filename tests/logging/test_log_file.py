"""The log file (console/logs.py): private, rotating, and no secret in it, whatever is logged.

Secrets used here are distinctive strings that appear nowhere else, so finding one in the
file (in any form: as typed, URL-encoded) is a leak.
"""
from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

from console.app import LokstraConsole
from console.config import ConsoleConfig
from console.logs import (
    BACKUP_COUNT, LogSetup, describe_log, log_path, register_secret, register_settings_secrets, setup_logging,
    teardown_logging,
)
from stores import Settings
from stores.keys import full_key, new_secret
from tests.support.server import PgServer
from tests.support.tui import until

ROOT = Path(__file__).resolve().parents[2]


def _with_password(dsn: str, password: str, database: str) -> str:
    parts = urlsplit(dsn)
    netloc = f"{parts.username or 'postgres'}:{quote(password, safe='')}@{parts.hostname}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, "/" + database, "", ""))


def _leaks(text: str, *secrets: str) -> list[str]:
    forms = {form for secret in secrets for form in (secret, quote(secret, safe=""))}
    return sorted(form for form in forms if form in text)


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """The console's logging set up in this process (DEBUG), into a file of the test's own."""
    path = tmp_path / "state" / "console.log"
    setup = setup_logging(debug=True, path=path)
    assert setup.problem is None
    try:
        yield path
    finally:
        teardown_logging()


def _read(path: Path) -> str:
    for handler in logging.getLogger().handlers:
        handler.flush()
    return path.read_text(encoding="utf-8")


# ----- a failing connection -------------------------------------------------------------------------

async def test_failing_connection_leaves_no_password_in_the_log(pg_server: PgServer, log_file: Path) -> None:
    """The console cannot open a database that does not exist (the server does get the
    password): the failure and the health check are logged, the password is not."""
    password = "Lg-Pw/7xQ!sEcReT@42"
    dsn = _with_password(pg_server.admin_dsn, password, "no_such_db_for_logging")
    settings = Settings(use_postgres=True, database_url=dsn, connect_timeout=5)
    register_settings_secrets(settings)  # what lokstra-console's start does
    app = LokstraConsole(settings, config=ConsoleConfig())
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.health == "down", "the backend failing")
        logging.getLogger("lokstra.test").info("the settings in use: %s, url %s", settings.connection(), dsn)
    text = _read(log_file)
    assert "backend unavailable" in text and "does not exist" in text
    assert "the settings in use" in text
    assert not _leaks(text, password), text


def test_cli_with_a_password_in_database_url_logs_none(pg_server: PgServer, tmp_path: Path) -> None:
    """``lokstra-console --debug status`` on a DATABASE_URL with a password, as a process:
    neither the log file nor what it prints holds the password."""
    password = "Cli-Pw-9Zq%sEcReT"
    log = tmp_path / "console.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "PG", "LOKSTRA_CONSOLE"))}
    env.update(DATABASE_URL=_with_password(pg_server.admin_dsn, password, "no_such_db_for_cli"), USE_POSTGRES="true",
               LOKSTRA_CONSOLE_LOG=str(log), LOKSTRA_CONSOLE_CONFIG=str(tmp_path / "none.toml"),
               PYTHONPATH=str(ROOT), DB_CONNECT_TIMEOUT="5")
    done = subprocess.run([sys.executable, "-m", "console", "--debug", "status"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 3, done.stdout + done.stderr
    text = log.read_text(encoding="utf-8")
    assert "lokstra-console status started" in text
    assert not _leaks(text + done.stdout + done.stderr, password)


# ----- what the filter scrubs -------------------------------------------------------------------------

def test_exception_text_and_traceback_are_scrubbed(log_file: Path) -> None:
    """Secrets nobody registered, inside an exception chain, the arguments and the stack:
    a DSN password (URL and key=value forms) and an API key's secret."""
    url_password, kv_password, key_secret = "Url-Pw-Hx81", "Kv-Pw-Qm52", new_secret()
    api_key = full_key("billing", "k_1f2e", key_secret)
    log = logging.getLogger("lokstra.test")

    def connect() -> None:
        try:
            raise ConnectionError(f"cannot reach host=db port=5432 password={kv_password} dbname=auth")
        except ConnectionError as inner:
            raise RuntimeError(f"connect to postgresql://app:{url_password}@db:5432/auth failed") from inner

    try:
        connect()
    except RuntimeError:
        log.exception("opening %s with key %s", f"postgres://app:{url_password}@db/auth", api_key, stack_info=True)
    text = _read(log_file)
    assert "Traceback (most recent call last)" in text and "in connect" in text and "Stack (most recent call last)" in text
    assert "postgresql://app:****@db:5432/auth" in text and "password=****" in text
    assert "billing_k_1f2e.****" in text
    assert not _leaks(text, url_password, kv_password, key_secret), text


def test_a_secret_registered_at_run_time_is_masked_in_every_form(log_file: Path) -> None:
    """A password typed into the Connection screen, registered then: as typed, URL-encoded,
    in the message, the arguments and an exception."""
    typed = "Typed pw+&/é-31"
    register_secret(typed)
    log = logging.getLogger("lokstra.test")
    log.info(f"typed {typed}")
    log.info("as an argument: %s, encoded %s", typed, quote(typed, safe=""))
    try:
        raise ValueError(f"refused for {typed!r}")
    except ValueError:
        log.error("connect failed", exc_info=True)
    text = _read(log_file)
    assert text.count("****") >= 4
    assert not _leaks(text, typed), text


async def test_worker_errors_are_logged_with_a_scrubbed_traceback(log_file: Path) -> None:
    """A worker that fails unexpectedly, on the app and on a screen: logged with its traceback."""
    password = "Wk-Pw-Lr66"
    app = LokstraConsole(Settings(), config=ConsoleConfig())

    async def fails(where: str) -> None:
        raise RuntimeError(f"{where}: lost postgresql://app:{password}@db/auth")

    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.stores is not None, "the memory backend opening")
        app.run_worker(fails("app worker"), name="boom-app", group="test", exit_on_error=False)
        app.screen.run_worker(fails("screen worker"), name="boom-screen", group="test", exit_on_error=False)
        await until(pilot, lambda: _read(log_file).count("RuntimeError") >= 4, "both failures logged")
    text = _read(log_file)
    assert "worker boom-app (group test) failed" in text and "worker boom-screen (group test) failed" in text
    assert "Traceback (most recent call last)" in text
    assert not _leaks(text, password), text


# ----- the file itself ----------------------------------------------------------------------------------

def test_rotation_keeps_five_private_files(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "console.log"
    setup_logging(path=path, max_bytes=2_000)
    try:
        log = logging.getLogger("lokstra.test")
        for n in range(300):
            log.info("record %04d %s", n, "x" * 80)
    finally:
        teardown_logging()
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["console.log"] + [f"console.log.{n}" for n in range(1, BACKUP_COUNT + 1)]
    assert all(p.stat().st_size <= 2_000 for p in path.parent.iterdir())
    assert "record 0299" in path.read_text(encoding="utf-8")  # the newest is in the current file
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in path.parent.iterdir())


def test_default_place_and_permissions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOKSTRA_CONSOLE_LOG", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert log_path() == tmp_path / "state" / "lokstra-console" / "console.log"
    folder = tmp_path / "state" / "lokstra-console"
    folder.mkdir(parents=True, mode=0o755)
    folder.chmod(0o755)
    (folder / "console.log").write_text("from an older run\n")
    (folder / "console.log").chmod(0o644)
    try:
        setup = setup_logging()
        logging.getLogger("lokstra.test").info("hello")
    finally:
        teardown_logging()
    assert setup == LogSetup(folder / "console.log", logging.INFO)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "console.log").stat().st_mode) == 0o600
    monkeypatch.setenv("LOKSTRA_CONSOLE_LOG", str(tmp_path / "elsewhere.log"))
    assert log_path() == tmp_path / "elsewhere.log"


def test_a_log_that_cannot_be_opened_is_off_and_says_why(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    try:
        setup = setup_logging(path=blocker / "console.log")  # its folder is a file
        logging.getLogger("lokstra.test").warning("goes nowhere, and not to stderr")
        assert setup.problem and describe_log().startswith("log: off (")
    finally:
        teardown_logging()


def test_control_characters_in_a_record_are_shown_not_written(log_file: Path) -> None:
    """Issue 13 item 4: a username holding a terminal escape, logged in a message, an argument
    or a traceback, is written as visible text (ESC as ␛): ``tail -f`` of the log on a terminal
    stays a log, the clipboard stays the operator's."""
    hostile = "mallory\x1b[2J\x1b]52;c;UFdORUQ=\x07\x9b\x7f"
    log = logging.getLogger("lokstra.test")
    log.warning("user %s logged in", hostile)
    log.warning("a message with " + hostile)
    try:
        raise ValueError(f"no user {hostile}")
    except ValueError:
        log.exception("lookup failed")
    raw = log_file.read_bytes()
    for byte in [*range(0x00, 0x09), *range(0x0b, 0x20), 0x7f]:
        assert bytes([byte]) not in raw, f"{byte:#04x} reached the log file"
    assert "\x9b".encode() not in raw
    text = _read(log_file)
    assert text.count("mallory␛[2J␛]52;c;UFdORUQ=␇\\x9b␡") == 3, text  # argument, message, exception
