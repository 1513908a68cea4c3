"""``lokstra-console demo``: write the deterministic demo data into a migrated PostgreSQL database.

The rows are ``stores.demo.DemoSpec(users=N)`` (N users in the first tenant, a tenth in each
of the others, their grants, apps, branches and keys), sent with COPY in one transaction:
either all of it lands or nothing does. Tables that already hold rows are refused unless
``--replace``, which empties the six tables (TRUNCATE) in that same transaction. The tables
are analysed afterwards so that the planner (and ``estimate_count``) knows their size.

Exit codes: 0 written; 1 refused (tables not empty, tables locked) or the database refused
the data; 2 usage (bad options or settings, read-only mode); 3 the database cannot be used
(unreachable, bad password, schema not migrated …). Passwords are never printed.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

import asyncpg

from console.commands.common import EXIT_UNAVAILABLE, Output, confirm_write, target_from_args
from stores.demo import LOCK_TIMEOUT, DemoSpec, NotEmpty, write_demo
from stores.postgres.diagnose import diagnose
from stores.secrets import scrub
from stores.postgres.engine import init_connection

EXIT_OK, EXIT_REFUSED = 0, 1

EPILOG = """exit codes:
  0  the demo data was written
  1  refused: the tables are not empty (use --replace) or in use; or the database refused the data
  2  usage (bad options or settings, read-only mode)
  3  the database cannot be used (unreachable, authentication, not migrated …)"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo", help="fill a migrated PostgreSQL database with the deterministic demo data (COPY)",
        description=__doc__.split("\n\n")[0], epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--users", type=_positive, default=DemoSpec().users, metavar="N",
                        help=f"users of the first tenant; the others get a tenth each (default {DemoSpec().users})")
    parser.add_argument("--dsn", help="postgresql://user[:password]@host:port/db (default: the console's DB_* settings)")
    parser.add_argument("--replace", action="store_true",
                        help="empty the six lokstra_auth tables first (TRUNCATE, in the same transaction)")
    parser.add_argument("--yes", action="store_true",
                        help="do not ask, also when the target comes from the environment or the settings file")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    parser.set_defaults(run=run)


def _positive(text: str) -> int:
    try:
        value = int(text)  # 1_000_000 is fine too
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


class TableProgress:
    """Rows copied per table, on ``stream``: one line rewritten in place on a terminal,
    else one plain line per finished table. Call ``close`` when the copy is over."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.table: str | None = None
        self.rows = 0
        self.last_report = self.table_started = time.monotonic()

    def __call__(self, table: str, rows: int) -> None:
        # Reports come after each batch is written: a table's time runs from the previous
        # table's last report to its own last one.
        now = time.monotonic()
        if table != self.table:
            self._finish_table()
            self.table, self.table_started = table, self.last_report
        self.rows, self.last_report = rows, now
        if self.tty:
            self.stream.write(f"\r  {table:<10} {rows:>12,} rows")
            self.stream.flush()

    def _finish_table(self) -> None:
        if self.table is None:
            return
        seconds = self.last_report - self.table_started
        rate = f"  ({self.rows / seconds:,.0f} rows/s)" if self.rows >= 10_000 and seconds > 0 else ""
        start = "\r" if self.tty else ""
        self.stream.write(f"{start}  {self.table:<10} {self.rows:>12,} rows  {seconds:6.1f} s{rate}\n")
        self.stream.flush()
        self.table = None

    def close(self) -> None:
        self._finish_table()


def run(args: argparse.Namespace) -> int:
    out = Output(args.json)
    try:
        target = target_from_args(args)
    except ValueError as exc:  # a malformed DSN or settings, no PostgreSQL configured, an unknown profile
        return out.bad_settings(exc)
    out.use(target)
    refused = confirm_write(target, out, "demo", args.yes)
    if refused is not None:
        return refused
    spec = DemoSpec(users=args.users)
    progress = TableProgress()
    try:
        return asyncio.run(_write(target.connect, spec, args.replace, out, progress, target.schema))
    except KeyboardInterrupt:
        progress.close()
        return out.error(EXIT_REFUSED, "interrupted", "interrupted: nothing was written (the transaction rolled back)",
                         "Run the command again")
    except Exception as exc:
        progress.close()
        diagnosis = diagnose(exc, target.display, target.secrets)
        if diagnosis is not None:
            return out.error(EXIT_UNAVAILABLE, diagnosis.cause, diagnosis.reason, diagnosis.fix)
        if isinstance(exc, asyncpg.LockNotAvailableError):
            return out.error(EXIT_REFUSED, "tables_in_use",
                             f"other sessions hold locks on the tables in {target.schema} (waited {LOCK_TIMEOUT})",
                             "Close the sessions writing to them (or the console's TUI) and retry")
        if isinstance(exc, asyncpg.PostgresError):
            return out.error(EXIT_REFUSED, "database_error", scrub(f"{exc.sqlstate}: {exc}", target.secrets),
                             "Nothing was written (the transaction rolled back); fix the cause the database gives and retry")
        return out.fail(exc)  # a lost connection, or re-raised: a bug


async def _write(connect: Callable[[], Any], spec: DemoSpec, replace: bool, out: Output,
                 progress: TableProgress, schema: str) -> int:
    conn = await connect()
    try:
        await init_connection(conn)
        started = time.monotonic()
        try:
            counts = await write_demo(conn, spec, replace=replace, progress=progress, schema=schema)
        except NotEmpty as exc:
            progress.close()
            return out.error(EXIT_REFUSED, "not_empty", f"{exc}: refusing to mix the demo data with it",
                             "Use --replace to empty the six tables first (in the same transaction), or pick an empty database")
        seconds = time.monotonic() - started
        progress.close()
    finally:
        await conn.close()
    out.line(f"wrote the demo data ({spec.users:,} users in the first tenant) to {out.target} in {seconds:.1f} s"
             + (", replacing what was there" if replace else ""))
    for table, rows in counts.items():
        out.line(f"  {table:<10} {rows:>12,}")
    return out.document(EXIT_OK, {"users": spec.users, "seed": spec.seed, "replaced": replace,
                                  "seconds": round(seconds, 3), "rows": counts})
