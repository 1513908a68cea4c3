"""What the subcommands share: exit codes, where PostgreSQL is, output, and errors as exit codes.

- ``EXIT_OK`` 0, ``EXIT_FAILED`` 1 (a failed check, pending work, a refused or failed
  operation), ``EXIT_USAGE`` 2 (bad options or settings), ``EXIT_UNAVAILABLE`` 3 (the
  backend cannot be used: unreachable, authentication, no database, not migrated …).
- ``Target``: one PostgreSQL target from ``--dsn`` or the console's settings, with the
  values that must never be shown (``secrets``); ``display`` is ``user@host:port/db``.
- ``Output``: text lines as the work goes, or one JSON document at the end; progress bars
  on a terminal (stderr), plain lines otherwise. Every text it prints is scrubbed of the
  target's secrets.
- ``failure_of(exc)``: a ``BackendUnavailable`` / ``StoreError`` / database error turned
  into cause, message, fix and exit code (``Output.fail`` prints it).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

import asyncpg

from console.hints import for_cli
from console.target import Resolved, TargetError, resolve, settings_problem
from migrations import pooler
from stores.errors import BackendUnavailable, ReadOnly, StoreError
from stores.layouts import LayoutReport
from stores.postgres.diagnose import diagnose
from stores.secrets import scrub

if TYPE_CHECKING:
    from stores.settings import Settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNAVAILABLE = 0, 1, 2, 3

DSN_HELP = "postgresql://user[:password]@host:port/db (default: the console's DB_* settings)"


# ----- parsers ---------------------------------------------------------------------------

def command_parser(subparsers: Any, name: str, summary: str, doc: str, epilog: str,
                   run: Callable[[argparse.Namespace], int], *, dsn: bool = True,
                   json_help: str = "print one JSON document instead of text") -> argparse.ArgumentParser:
    """A subcommand's parser: ``doc``'s first paragraph as description, the exit codes as
    epilog, ``--dsn`` (unless ``dsn`` is False) and ``--json``, and ``run`` as default."""
    parser = subparsers.add_parser(name, help=summary, description=doc.split("\n\n")[0], epilog=epilog,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    if dsn:
        parser.add_argument("--dsn", help=DSN_HELP)
    parser.add_argument("--json", action="store_true", help=json_help)
    parser.set_defaults(run=run)
    return parser


def whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse ``type``: a whole number of at least ``minimum`` (``1_000`` is fine too)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more")
        return value

    return parse


# ----- where PostgreSQL is ---------------------------------------------------------------

@dataclass
class Target:
    """Where to connect, how to show it, and what must never be shown.

    ``connect`` opens one connection (no command timeout: an index build may take a
    while); ``store_settings()`` gives ``Settings`` for ``open_stores`` on the same target.
    """

    connect: Callable[[], Awaitable[asyncpg.Connection]]
    display: str
    secrets: list[str] = field(repr=False)
    read_only: bool = False
    host: str = "localhost"
    port: int = 5432
    make_settings: Callable[[], Settings] | None = field(default=None, repr=False)
    resolved: Resolved | None = field(default=None, repr=False)
    """Where the target came from and why it is read-only (``console.target``)."""

    @property
    def schema(self) -> str:
        """Where lokstra's tables are on this target (``DB_AUTH_SCHEMA``, default lokstra_auth)."""
        from stores.tables import DEFAULT_DATA_SCHEMA

        return self.make_settings().auth_schema if self.make_settings is not None else DEFAULT_DATA_SCHEMA

    def store_settings(self, **overrides: Any) -> Settings:
        """Settings that open this target with ``open_stores`` (``use_postgres`` on)."""
        if self.make_settings is None:
            raise ValueError(f"no store settings for {self.display}")
        settings = self.make_settings()
        return settings.model_copy(update={"use_postgres": True, "read_only": settings.read_only or self.read_only,
                                           **overrides})


def target_of(resolved: Resolved) -> Target:
    """The ``Target`` of a PostgreSQL resolution: every connection gets the pool's session
    settings (application_name, DB_TIME_ZONE, read-only), also under ``--dsn``."""
    settings = resolved.settings
    connection = settings.connection()
    kwargs = {**connection.connect_kwargs(), "command_timeout": None}  # an index build may take a while
    return Target(lambda: pooler.connect(**kwargs), connection.display(), connection.secrets(), resolved.read_only,
                  host=connection.host, port=connection.port, make_settings=lambda: settings, resolved=resolved)


def resolve_args(args: argparse.Namespace, need_postgres: bool) -> Resolved:
    """``console.target.resolve`` from the global options and the subcommand's ``--dsn``."""
    return resolve(dsn=getattr(args, "dsn", None), profile=getattr(args, "profile", None),
                   read_only=bool(getattr(args, "read_only", False)), need_postgres=need_postgres)


def target_from_args(args: argparse.Namespace) -> Target:
    """The PostgreSQL target of a command that needs one: ``--dsn``, ``--profile``, the
    active profile or the DB_* settings; none configured raises ``TargetError`` (a ValueError)."""
    return target_of(resolve_args(args, need_postgres=True))


def postgres_target(args: argparse.Namespace) -> Target | None:
    """For a command that works on either backend: the PostgreSQL target, or None (memory)."""
    resolved = resolve_args(args, need_postgres=False)
    return target_of(resolved) if resolved.backend == "postgres" else None


def confirm_write(target: Target, out: Output, what: str, yes: bool) -> int | None:
    """Before ``what`` writes to ``target``: refuse in read-only mode, name the target, and ask
    (or take ``--yes``) unless the command line named it. None: go on; else the exit code."""
    resolved = target.resolved
    if target.read_only:
        why = resolved.read_only_why if resolved is not None else "--read-only"
        return out.error(EXIT_USAGE, "read_only", f"the console is read-only ({why}) and {what} writes",
                         "Drop --read-only / LOKSTRA_READ_ONLY / the profile's read_only to write")
    where = resolved.describe() if resolved is not None else f"postgres {target.display}"
    out.note(f"{what}: target {where}")
    if yes or resolved is None or resolved.explicit:
        return None
    if out.interactive:
        try:
            answer = input(f"{what} writes to {target.display}: go on? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() in ("y", "yes"):
            return None
        out.line("nothing written")
        return EXIT_FAILED
    return out.error(EXIT_USAGE, "confirmation_needed",
                     f"{what} writes, and its target comes from {resolved.source_detail}, not the command line",
                     "Pass --yes to write there, or name the target with --dsn / --profile")


def write_quietly(stream: TextIO, text: str) -> None:
    """Print ``text`` to ``stream``; a closed reader (``| head``) must not stop the work under
    way half-way: the stream is pointed at /dev/null and the command goes on to its end."""
    try:
        stream.write(text + "\n")
        stream.flush()
    except (BrokenPipeError, ValueError):  # ValueError: the stream was closed already
        silence(stream)


def silence(stream: TextIO) -> None:
    """Send what is still written to ``stream`` (also at exit's flush) to /dev/null."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


# ----- errors as exit codes --------------------------------------------------------------

@dataclass(frozen=True)
class Failure:
    """What went wrong, in words an operator can act on, and the exit code for it."""

    code: int
    cause: str
    reason: str
    fix: str


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the exceptions it was raised from or during (also behind ``from None``)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def failure_of(exc: BaseException, target: str | None = None, secrets: Sequence[str] = ()) -> Failure | None:
    """The ``Failure`` for ``exc``, or None when it is not one the commands expect (a bug).

    The exit code comes from the deepest known cause (a copy that failed because the server
    went away is 3, not 1); the message from the outermost error, which says where it happened.
    """
    from stores.transfer.copy import CopyFailed
    from stores.transfer.snapshot_file import SnapshotFileError

    secrets = list(secrets)
    chain = list(_chain(exc))
    outer = str(exc) if isinstance(exc, StoreError) else None

    def made(code: int, cause: str, reason: str, fix: str) -> Failure:
        return Failure(code, cause, scrub(reason, secrets), scrub(fix, secrets))

    for found in chain:
        if isinstance(found, BackendUnavailable):
            return made(EXIT_UNAVAILABLE, found.cause, outer if found is not exc and outer else found.reason, found.fix)
    for found in chain:
        if not isinstance(found, StoreError) and (diagnosis := diagnose(found, target, secrets)) is not None:
            return made(EXIT_UNAVAILABLE, diagnosis.cause, outer or diagnosis.reason, diagnosis.fix)
    for found in chain:
        if isinstance(found, SnapshotFileError):
            return made(EXIT_USAGE if found.usage else EXIT_FAILED, found.cause, outer or str(found), found.fix)
        if isinstance(found, ReadOnly):
            return made(EXIT_USAGE, "read_only", outer or str(found), "Drop --read-only / LOKSTRA_READ_ONLY to write")
    if isinstance(exc, CopyFailed):
        return made(EXIT_FAILED, "copy_failed", str(exc), "Nothing was changed; fix the cause given and retry")
    if isinstance(exc, StoreError):
        return made(EXIT_FAILED, "store_error", str(exc), "Fix the cause given and retry")
    if isinstance(exc, asyncpg.PostgresError):
        return made(EXIT_FAILED, "database_error", f"{exc.sqlstate}: {exc}",
                    "Fix the cause the database gives and retry")
    return None


# ----- output ----------------------------------------------------------------------------

class Output:
    """Text lines as the work goes, or one JSON document at the end.

    ``target`` (safe to show) is named in errors and the document; every text printed is
    scrubbed of ``secrets``. Errors go to stderr in text mode.
    """

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.target: str | None = None
        self.secrets: list[str] = []
        self.dsn_given = False
        """The operator named the database with --dsn: hints repeat it (console/hints.py)."""

    def _clean(self, text: str) -> str:
        # A secret may also stand JSON-escaped in a document (quotes, backslashes, non-ASCII).
        escaped = [json.dumps(s, ensure_ascii=ascii)[1:-1] for s in self.secrets for ascii in (True, False)]
        return scrub(text, [*self.secrets, *escaped])

    def _write(self, stream: TextIO, text: str) -> None:
        write_quietly(stream, self._clean(text))

    def line(self, text: str = "") -> None:
        if not self.as_json:
            self._write(sys.stdout, text)

    def document(self, code: int, data: dict[str, Any]) -> int:
        if self.as_json:
            self._write(sys.stdout, json.dumps({"target": self.target, "exit_code": code, **data}, indent=2))
        return code

    def error(self, code: int, cause: str, reason: str, fix: str) -> int:
        fix = for_cli(fix, self.dsn_given)
        if self.as_json:
            return self.document(code, {"error": {"cause": cause, "reason": reason, "fix": fix}})
        where = f" ({self.target})" if self.target else ""
        self._write(sys.stderr, f"error: {reason}{where}\n{fix}")
        return code

    def use(self, target: Target) -> None:
        """Name ``target`` in errors and the document, and scrub its secrets from all output."""
        self.target, self.secrets = target.display, target.secrets
        self.dsn_given = target.resolved is not None and target.resolved.source == "flag"

    def bad_settings(self, exc: ValueError) -> int:
        """A target that cannot be resolved (``TargetError``) or malformed settings: the setting
        and the rule, never the value given (it may be a password)."""
        from pydantic import ValidationError

        if isinstance(exc, TargetError):
            return self.error(EXIT_USAGE, exc.cause, str(exc), exc.fix or "Check --dsn or the DB_* settings")
        reason = settings_problem(exc) if isinstance(exc, ValidationError) else str(exc)
        return self.error(EXIT_USAGE, "bad_connection_settings", reason, "Check --dsn or the DB_* settings")

    def note(self, text: str) -> None:
        """A line on stderr (also with ``--json``): what a write is about to touch."""
        self._write(sys.stderr, text)

    def fail(self, exc: BaseException) -> int:
        """Print what ``failure_of`` makes of ``exc`` and return its exit code; re-raise a bug."""
        failure = failure_of(exc, self.target, self.secrets)
        if failure is None:
            raise exc
        return self.error(failure.code, failure.cause, failure.reason, failure.fix)

    @property
    def interactive(self) -> bool:
        return not self.as_json and sys.stdin.isatty()

    def table_progress(self, stream: TextIO | None = None) -> TableProgressBar:
        """A ``progress(table, done, expected)`` callback (``copy_tables``') for this output."""
        return TableProgressBar(stream or sys.stderr, quiet=self.as_json)


class TableProgressBar:
    """Per-table progress on ``stream``: a bar redrawn in place on a terminal; otherwise one
    plain line when a table is done (and every ``every`` seconds on a long one), none when
    ``quiet`` (JSON output without a terminal). Call ``close`` when the work is over."""

    WIDTH = 24

    def __init__(self, stream: TextIO, quiet: bool = False, every: float = 10.0) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.quiet = quiet and not self.tty
        self.every = every
        self.table: str | None = None
        self.done = self.expected = 0
        self.finished: set[str] = set()
        self.last_line = time.monotonic()

    def __call__(self, table: str, done: int, expected: int) -> None:
        if table != self.table:
            self._end_table()
            self.table = table
        self.done, self.expected = done, expected
        if self.tty:
            self.stream.write("\r" + self._text())
            self.stream.flush()
        elif done >= expected:
            self._end_table()
        elif time.monotonic() - self.last_line >= self.every:
            self._write(self._text())

    def _text(self) -> str:
        share = self.done / self.expected if self.expected else 1.0
        counts = f"{share:4.0%}  {self.done:,}/{self.expected:,} rows"
        if not self.tty:
            return f"  {self.table:<10} {counts}"
        filled = int(share * self.WIDTH)
        return f"  {self.table:<10} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {counts}"

    def _write(self, text: str) -> None:
        if not self.quiet:
            self.stream.write(text + "\n")
            self.stream.flush()
        self.last_line = time.monotonic()

    def _end_table(self) -> None:
        if self.table is None or self.table in self.finished:
            return
        self.finished.add(self.table)
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
        elif self.done >= self.expected:
            self._write(self._text())

    def close(self) -> None:
        self._end_table()


async def read_layout(connect: Callable[[], Awaitable[asyncpg.Connection]], schema: str) -> LayoutReport:
    """Which of lokstra-auth's layouts ``schema`` holds, on a connection of its own."""
    from stores.postgres import facts

    conn = await connect()
    try:
        return await facts.layout(conn, schema)
    finally:
        await conn.close()
