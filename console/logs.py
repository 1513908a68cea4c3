"""The console's log file: rotating, private, scrubbed of secrets, never on the terminal.

The TUI owns the terminal, so nothing may print there while it runs: the only handler is a
rotating file (1 MB × 5) at ``$LOKSTRA_CONSOLE_LOG``, else
``$XDG_STATE_HOME/lokstra-console/console.log``, else ``~/.local/state/lokstra-console/console.log``;
the directory is created 0700 and every file 0600. Python's last-resort stderr output, handler
errors, ``warnings``, exceptions in threads and "exception ignored" reports are routed into
the file (or dropped) instead of reaching the terminal.

Every record passes ``ScrubSecrets`` before it is written: the message, its arguments, the
traceback and the stack are rendered and scrubbed with ``stores.postgres.diagnose.scrub`` —
the secrets registered here (the settings' passwords at start, a password typed into the
Connection screen, a freshly generated API key: ``register_secret``) and the patterns it
knows (DSN passwords, API key secrets) — and their control characters are shown as
``stores.controls.visible`` does (ESC as ``␛``), so that reading the file on a terminal is safe.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from logging.handlers import RotatingFileHandler
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlsplit

from pydantic import SecretStr

from console.paths import private_directory, state_directory
from stores.controls import visible
from stores.secrets import scrub
from stores.secrets import mask_json

LOG_ENV = "LOKSTRA_CONSOLE_LOG"
MAX_BYTES = 1_000_000
BACKUP_COUNT = 5
FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"

log = logging.getLogger("lokstra.console")

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def log_path() -> Path:
    """Where the log goes: ``$LOKSTRA_CONSOLE_LOG``, else the XDG state directory."""
    override = os.environ.get(LOG_ENV)
    if override:
        return Path(override).expanduser()
    return state_directory() / "console.log"


# ----- secrets ------------------------------------------------------------------------------

def register_secret(value: str | SecretStr | None) -> None:
    """Mask ``value`` in every log line from now on (also in its URL-encoded forms, as it
    stands in a DSN). Call it as soon as a secret is known: a password typed, a key generated."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if not value:
        return
    with _secrets_lock:
        _secrets.update({value, quote(value, safe=""), quote_plus(value, safe="")})


def register_secrets(values: Iterable[str | SecretStr | None]) -> None:
    for value in values:
        register_secret(value)


def register_settings_secrets(settings: Any, profiles: Iterable[Any] = ()) -> None:
    """Every password the settings and the saved profiles hold, whichever one is in use:
    ``DB_PASSWORD``, ``PGPASSWORD``, the one inside ``DATABASE_URL``, saved profile passwords."""
    register_secrets([getattr(settings, "db_password", None), getattr(settings, "pg_password", None)])
    url = getattr(settings, "database_url", None)
    register_dsn(url.get_secret_value() if url is not None else None)
    register_secrets(getattr(profile, "password", None) for profile in profiles)


def register_dsn(dsn: str | None) -> None:
    """The password inside a ``postgres://user:password@host/db`` URL, as typed and decoded."""
    if not dsn:
        return
    try:
        password = urlsplit(dsn).password
    except ValueError:
        return
    if password:
        register_secrets([password, unquote(password)])


def registered_secrets() -> list[str]:
    with _secrets_lock:
        return list(_secrets)


def scrub_text(text: str) -> str:
    """``text`` without any registered secret or anything that looks like one, and with its
    control characters shown (``stores.controls.visible``): a log line ``cat``-ed or
    ``tail -f``-ed on a terminal must not act on it (a username holding ``\x1b[2J``)."""
    return visible(scrub(text, registered_secrets()))


class ScrubSecrets(logging.Filter):
    """Render each record's message, traceback and stack now and scrub them, so that no
    handler (or formatter) ever sees the raw arguments or the exception text. Arguments are
    scrubbed before they are formatted too: ``%r`` doubles a password's backslashes, and an
    escaped password no longer reads as one (``stores.secrets.mask_json`` masks a dict's
    secret-named keys as well)."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = mask_json(record.args, text=scrub_text)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what can be kept
            message = f"{record.msg!s} {record.args!r}"
        record.msg, record.args = scrub_text(message), None
        if record.exc_info:
            record.exc_text = self._formatter.formatException(record.exc_info)
            record.exc_info = None  # the text below is all any formatter will show
        if record.exc_text:
            record.exc_text = scrub_text(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub_text(record.stack_info)
        return True


# ----- the file -----------------------------------------------------------------------------

class PrivateRotatingFileHandler(RotatingFileHandler):
    """A rotating file created 0600 (the current one and every one rotation starts)."""

    def _open(self) -> Any:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return os.fdopen(fd, "a", encoding=self.encoding, errors=self.errors)


@dataclass(frozen=True)
class LogSetup:
    """What ``setup_logging`` did: the file in use, or why there is none."""

    path: Path
    level: int
    problem: str | None = None

    def describe(self) -> str:
        """One line for F1 help."""
        if self.problem:
            return f"log: off ({self.problem})"
        return f"log: {self.path}" + (" (debug)" if self.level <= logging.DEBUG else "")


_current: LogSetup | None = None
_level_before: int | None = None


def current() -> LogSetup | None:
    """The set-up in effect (None before ``setup_logging``, e.g. in tests that drive the app)."""
    return _current


def describe_log() -> str:
    """The log line F1 help shows."""
    if _current is not None:
        return _current.describe()
    return f"log: {log_path()} (not written: logging is set up by lokstra-console)"


def _private_directory(folder: Path, ours: bool) -> None:
    """Create ``folder`` 0700; tighten it when it is the console's own state directory."""
    private_directory(folder, tighten=ours)


def setup_logging(debug: bool = False, path: Path | None = None, max_bytes: int = MAX_BYTES) -> LogSetup:
    """Send every log record (ours, asyncpg's, asyncio's, warnings) to the private rotating
    file only, scrubbed; INFO, or DEBUG with ``debug``. Never raises: a file that cannot be
    opened means no log (said in F1 help), never output on the terminal."""
    global _current, _level_before
    chosen = path or log_path()
    level = logging.DEBUG if debug else logging.INFO
    root = logging.getLogger()
    _remove_handlers(root)  # a second call replaces the first
    logging.raiseExceptions = False  # a failing handler must not print its traceback on stderr
    try:
        _private_directory(chosen.parent, ours=path is None and LOG_ENV not in os.environ)
        handler: logging.Handler = PrivateRotatingFileHandler(chosen, maxBytes=max_bytes, backupCount=BACKUP_COUNT,
                                                             encoding="utf-8")
        os.chmod(chosen, 0o600)  # a file left by an older run with wider permissions
        problem = None
    except OSError as exc:
        handler, problem = logging.NullHandler(), f"{chosen}: {exc.strerror or exc}"
    handler.lokstra_console = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(ScrubSecrets())
    root.addHandler(handler)
    if _level_before is None:
        _level_before = root.level
    root.setLevel(level)
    for noisy in ("asyncio", "markdown_it"):  # their debug chatter drowns ours
        logging.getLogger(noisy).setLevel(max(level, logging.INFO))
    logging.captureWarnings(True)
    threading.excepthook = _thread_exception
    sys.unraisablehook = _unraisable
    _current = LogSetup(chosen, level, problem)
    return _current


def teardown_logging() -> None:
    """Undo ``setup_logging`` (for a caller that goes on running, such as a test): the file is
    closed and Python's own hooks are back."""
    global _current, _level_before
    _remove_handlers(logging.getLogger())
    if _level_before is not None:
        logging.getLogger().setLevel(_level_before)
        _level_before = None
    logging.captureWarnings(False)
    logging.raiseExceptions = True
    threading.excepthook = threading.__excepthook__
    sys.unraisablehook = sys.__unraisablehook__
    _current = None


def _remove_handlers(root: logging.Logger) -> None:
    for handler in list(root.handlers):
        if getattr(handler, "lokstra_console", False):
            root.removeHandler(handler)
            handler.close()


def _thread_exception(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "?"
    exc_info: tuple[type[BaseException], BaseException, TracebackType | None] = (
        args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback)
    logging.getLogger("lokstra.thread").error("uncaught exception in thread %s", name, exc_info=exc_info)


def _unraisable(unraisable: Any) -> None:
    logging.getLogger("lokstra.unraisable").warning(
        "%s: %r", unraisable.err_msg or "exception ignored in", unraisable.object,
        exc_info=(unraisable.exc_type, unraisable.exc_value, unraisable.exc_traceback)
        if unraisable.exc_value is not None else None)


def log_worker_error(worker: Any) -> None:
    """A worker that ended in ERROR (an exception its code did not expect): the traceback, scrubbed."""
    error = getattr(worker, "error", None)
    if error is None:
        return
    logging.getLogger("lokstra.worker").error(
        "worker %s (group %s) failed: %s: %s", worker.name, worker.group, type(error).__name__, error,
        exc_info=(type(error), error, error.__traceback__))
