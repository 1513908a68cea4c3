"""``lokstra-console drill``: rehearse the rollback for real: PostgreSQL → memory → PostgreSQL.

The console switches its stores from the database to memory, runs a scripted write
workload there (``--workload N`` users; 0 for none), switches back (the database is not
empty, so the six tables are truncated and reloaded in one transaction, carrying the
workload's writes), verifies every step by row counts and digests, removes the workload's
rows (unless ``--keep-workload``) and checks that the database is exactly as before.

Run it on a staging database: while the drill runs, writes made to the database by
anything else (lokstra-auth itself) would be lost by the switch back; the drill checks for
them and stops before truncating if it finds any. An environment named production
(``--environment`` or ``LOKSTRA_ENVIRONMENT``) is refused without ``--allow-production``.

The report (steps, timings, rows, digests, each switch's write pause; no secrets) is
printed as a table and saved as JSON (``--report PATH``, by default
``lokstra-drill-<time>-<id>.json`` in the console's files folder, ``report_dir`` in the
settings file, else ``$XDG_STATE_HOME/lokstra-console/files``).

Exit codes: 0 every step passed; 1 a step failed (see the report) or the schema is not
current (pending migrations, drift); 2 usage (bad options or settings, read-only mode,
production without --allow-production, an unwritable report path); 3 the database cannot
be used (unreachable, authentication, no database, not migrated …). Passwords are never printed.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from console.commands.common import (
    DSN_HELP,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    Output,
    confirm_write,
    target_from_args,
)
from stores.transfer.drill import DEFAULT_WORKLOAD, DrillRefused, DrillReport, DrillStep, is_production, run_drill
from stores.transfer.switch import DEFAULT_SWITCH_TIMEOUT, DEFAULT_WRITE_WAIT, SwitchRefused

ENVIRONMENT_VARIABLE = "LOKSTRA_ENVIRONMENT"

EPILOG = """exit codes:
  0  every step of the drill passed
  1  a step failed (the report says which and where the data is), or the schema is not current
  2  usage (bad options or settings, read-only mode, production without --allow-production)
  3  the database cannot be used (unreachable, authentication, no database, not migrated …)"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "drill", help="rehearse the rollback: switch PostgreSQL → memory → PostgreSQL, verified, with a report",
        description=__doc__.split("\n\n")[0], epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dsn", help=DSN_HELP)
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    parser.add_argument("--report", metavar="PATH", help="where to save the JSON report "
                        "(default: lokstra-drill-<time>-<id>.json in the console's files folder, "
                        "report_dir in the settings file, else $XDG_STATE_HOME/lokstra-console/files)")
    parser.add_argument("--workload", type=_count, default=DEFAULT_WORKLOAD, metavar="N",
                        help=f"users the scripted workload creates on memory; 0 for none (default {DEFAULT_WORKLOAD})")
    parser.add_argument("--keep-workload", action="store_true", help="leave the workload's rows in the database")
    parser.add_argument("--environment", metavar="NAME",
                        help=f"what the database is (development, staging, production; default ${ENVIRONMENT_VARIABLE})")
    parser.add_argument("--allow-production", action="store_true", help="run even when the environment is production")
    parser.add_argument("--yes", action="store_true",
                        help="do not ask, also when the target comes from the environment or the settings file")
    parser.add_argument("--write-wait", type=_seconds, default=DEFAULT_WRITE_WAIT, metavar="SECONDS",
                        help=f"how long a write waits for a switch (default {DEFAULT_WRITE_WAIT:g})")
    parser.add_argument("--switch-timeout", type=_seconds, default=DEFAULT_SWITCH_TIMEOUT, metavar="SECONDS",
                        help=f"how long one switch may take (default {DEFAULT_SWITCH_TIMEOUT:g})")
    parser.set_defaults(run=run)


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


class DrillView:
    """Progress on ``stream``: a bar per switch on a terminal, plain lines otherwise (none
    for ``--json`` without a terminal), and one line per finished step."""

    def __init__(self, out: Output, stream: TextIO | None = None) -> None:
        self.out = out
        self.stream = stream or sys.stderr
        self.quiet = out.as_json and not self.stream.isatty()
        self.bar: Any = None
        self.bar_step: str | None = None

    def copy(self, step: str, table: str, done: int, expected: int) -> None:
        if step != self.bar_step:
            self.close()
            self.bar, self.bar_step = self.out.table_progress(self.stream), step
        self.bar(table, done, expected)

    def step(self, step: DrillStep) -> None:
        self.close()
        if not self.quiet:
            self.stream.write(f"{'ok' if step.ok else 'FAILED':<6} {step.name} ({step.seconds:.2f} s)\n")
            self.stream.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        self.bar = self.bar_step = None


def run(args: argparse.Namespace) -> int:
    out = Output(args.json)
    try:
        target = target_from_args(args)
        settings = target.store_settings()
    except ValueError as exc:  # a malformed DSN or settings, no PostgreSQL configured, an unknown profile
        return out.bad_settings(exc)
    out.use(target)
    environment = args.environment or (target.resolved.environment if target.resolved else None)
    if is_production(environment) and not args.allow_production:
        return out.error(EXIT_USAGE, "production", f"the environment is {environment!r}: the drill truncates and "
                         "reloads every table of the database", "Run it on staging, or pass --allow-production")
    refused = confirm_write(target, out, "drill (truncates and reloads every table)", args.yes)
    if refused is not None:
        return refused
    run_id = uuid.uuid4().hex[:8]
    path = Path(args.report).expanduser() if args.report else \
        _files_directory() / f"lokstra-drill-{datetime.now():%Y%m%d-%H%M%S}-{run_id}.json"
    if not path.parent.is_dir() or not os.access(path.parent, os.W_OK) or path.is_dir():
        return out.error(EXIT_USAGE, "report_path", f"cannot write the report to {path}",
                         "Give --report a file in an existing, writable directory")
    view = DrillView(out)
    try:
        report = asyncio.run(run_drill(
            settings, workload=args.workload, environment=environment, allow_production=args.allow_production,
            keep_workload=args.keep_workload, progress=view.copy, on_step=view.step, write_wait=args.write_wait,
            switch_timeout=args.switch_timeout, run_id=run_id))
    except KeyboardInterrupt:
        view.close()
        return out.error(EXIT_FAILED, "interrupted",
                         "interrupted: a switch under way was abandoned and left its target unchanged",
                         f"If the drill had switched back already, tenant drill-{run_id} may remain: delete it")
    except SwitchRefused as exc:  # DrillRefused is one
        view.close()
        code = EXIT_UNAVAILABLE if exc.cause == "not_migrated" else EXIT_USAGE if isinstance(exc, DrillRefused) \
            else EXIT_FAILED
        return out.error(code, exc.cause, exc.reason, exc.fix)
    except Exception as exc:
        view.close()
        return out.fail(exc)
    view.close()
    try:
        report.save(path)
    except OSError as exc:
        return out.error(EXIT_FAILED, "report_not_saved", f"the drill {'passed' if report.ok else 'failed'} but "
                         f"its report could not be saved to {path}: {exc.strerror}", "Check the path and retry")
    show(out, report)
    out.line(f"report: {path}")
    return out.document(EXIT_OK if report.ok else EXIT_FAILED, {"report_path": str(path), "drill": report.to_json()})


COLUMNS = ("STEP", "RESULT", "TIME", "ROWS", "STATE", "WRITE PAUSE")


def _files_directory() -> Path:
    """The console's files folder (``ConsoleConfig.files_directory``); the current directory
    when the settings file cannot be read or the folder cannot be created."""
    from pydantic import ValidationError

    from console.config import ConsoleConfig

    try:
        return ConsoleConfig().files_directory_or_here()
    except (ValidationError, ValueError):
        return Path.cwd()


def show(out: Output, report: DrillReport) -> None:
    verdict = "passed" if report.ok else "FAILED"
    environment = f" ({report.environment})" if report.environment else ""
    out.line(f"rollback drill {report.run_id} on {report.target}{environment}: {verdict} in {report.seconds:.1f} s")
    rows = [COLUMNS] + [(
        step.name,
        "ok" if step.ok else "FAILED",
        f"{step.seconds:.2f} s",
        f"{step.rows:,}" if step.rows is not None else "",
        step.state or "",
        f"{step.write_pause_seconds:.3f} s" if step.write_pause_seconds is not None else "",
    ) for step in report.steps]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    out.line()
    for row in rows:
        out.line("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    out.line()
    if report.workload_tenant:
        kept = "kept in the database" if report.keep_workload else "removed afterwards"
        out.line(f"workload: {report.workload_writes} writes in tenant {report.workload_tenant} ({kept})")
    if report.failure:
        out.line(f"failure: {report.failure}")
    out.line(f"backend at the end: {report.active_backend}")
