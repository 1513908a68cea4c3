"""``lokstra-console migrate status|up|down|dry-run|adopt|relocate``: the schema migrations from a shell.

Exit codes: 0 the schema is current (status, up), the dry run or revert went through, or
the database can be adopted; 1 pending work, drift, a failed or refused migration, a held
lock, or a database that cannot be adopted; 2 usage (bad options, unusable migration
files, a dangerous action without --yes); 3 the database cannot be reached.

The connection comes from ``--dsn`` or else from the console's settings (DB_*,
DATABASE_URL, PG*), lokstra's tables from ``DB_AUTH_SCHEMA`` (default lokstra_auth).
The console records its migrations in ``lokstra_console.migrations``; lokstra's own
``schema_migrations`` is shown, never written (``relocate`` removes rows an older console
wrote there, on purpose). Passwords are never printed.
"""
from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from console.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    confirm_write,
    read_layout,
    target_from_args,
)
from console.commands.common import Output as SharedOutput
from migrations import (
    AdoptionOutcome,
    AdoptionReport,
    MigrationRunner,
    Outcome,
    Progress,
    RelocationOutcome,
    RunResult,
    SchemaStatus,
    SourceError,
)
from stores.layouts import LayoutReport

EXIT_NOT_CURRENT = EXIT_FAILED

EPILOG = """exit codes:
  0  current / done / adoptable
  1  pending, drift, failed, refused, lock held, or not adoptable
  2  usage (including a dangerous action without --yes when not interactive)
  3  the database cannot be reached"""


def add_parser(subparsers: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dsn", help="postgresql://user[:password]@host:port/db (default: the console's DB_* settings)")
    common.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    common.add_argument("--source", metavar="DIR",
                        help="a directory of NNN_name.up/down.sql files (default: the packaged migrations)")
    common.add_argument("--lock-timeout", type=float, default=30.0, metavar="SECONDS",
                        help="how long to wait for another runner's lock (default 30)")

    parser = subparsers.add_parser(
        "migrate", help="show, apply, revert or adopt the lokstra-auth schema migrations",
        description=__doc__.split("\n\n")[0], epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="migrate_action", metavar="ACTION", required=True)
    actions.add_parser("status", parents=[common], help="every migration's state and the schema's in one line")
    up = actions.add_parser("up", parents=[common], help="apply the pending migrations, one transaction each")
    up.add_argument("--accept", action="store_true",
                    help="go on over changed, missing or out-of-order migrations (recorded in the history)")
    up.add_argument("--yes", action="store_true",
                    help="do not ask, also when the target comes from the environment or the settings file")
    dry = actions.add_parser("dry-run", parents=[common], help="apply the pending migrations and roll everything back")
    dry.add_argument("--accept", action="store_true", help="as for up; nothing is recorded")
    down = actions.add_parser("down", parents=[common], help="revert the last N migrations with their .down.sql")
    down.add_argument("n", nargs="?", type=_positive, default=1, help="how many (default 1)")
    down.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    down.add_argument("--accept", action="store_true", help="revert even a migration whose file changed since")
    down.add_argument("--dry-run", action="store_true", help="revert and roll everything back")
    adopt = actions.add_parser("adopt", parents=[common],
                               help="check a database made with db_schema.sql; with --yes record it as baseline")
    adopt.add_argument("--yes", action="store_true", help="record the baseline when the catalog matches")
    relocate = actions.add_parser(
        "relocate", parents=[common],
        help="move the console's rows an older console wrote into lokstra's schema_migrations; --yes to do it")
    relocate.add_argument("--yes", action="store_true", help="move them (without it: show what would move)")
    parser.set_defaults(run=run)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def run(args: argparse.Namespace) -> int:
    out = Output(args.json)
    try:
        target = target_from_args(args)
        runner = MigrationRunner(target.connect, source=args.source, lock_timeout=args.lock_timeout,
                                 data_schema=target.schema)
    except SourceError as exc:
        return out.error(EXIT_USAGE, "invalid_source", str(exc), "Fix the files listed, or point --source at the right directory")
    except ValueError as exc:  # a malformed DSN or settings, no PostgreSQL configured, an unknown profile
        return out.bad_settings(exc)
    out.use(target)
    if args.migrate_action != "status":
        # Every other action may write (dry-run too, before its rollback). up and the
        # recording adopt / relocate ask unless the command line named the target; down asks itself.
        confirmed = args.migrate_action in ("dry-run", "down") or \
            (args.migrate_action in ("adopt", "relocate") and not args.yes) or getattr(args, "yes", False)
        refused = confirm_write(target, out, f"migrate {args.migrate_action}", confirmed)
        if refused is not None:
            return refused
    try:
        return asyncio.run(ACTIONS[args.migrate_action](runner, args, out))
    except Exception as exc:
        from stores.postgres.diagnose import diagnose

        diagnosis = diagnose(exc, target.display, target.secrets)
        if diagnosis is not None:
            return out.error(EXIT_UNAVAILABLE, diagnosis.cause, diagnosis.reason, diagnosis.fix)
        if isinstance(exc, asyncpg.PostgresError):  # e.g. no privilege to create the tracking tables
            return out.error(EXIT_NOT_CURRENT, "database_error", f"{exc.sqlstate}: {exc}",
                             "The schema was left as it was; fix the cause the database gives and retry")
        return out.fail(exc)  # a lost connection, or re-raised: a bug


class Output(SharedOutput):
    """The shared output, plus the migration runner's progress events as lines."""

    def progress(self, event: Progress) -> None:
        if event.kind == "waiting_for_lock" and event.holder:
            self.line(f"waiting for the migration lock, held by {event.holder.describe()}")
        elif event.kind == "started":
            self.line(f"[{event.index}/{event.total}] {event.action} {event.version:03d}_{event.description} …")
        elif event.kind == "finished":
            self.line(f"      ok ({event.duration_ms} ms)")
        elif event.kind == "failed":
            self.line(f"      FAILED ({event.duration_ms} ms): {event.error}")


# ----- actions ---------------------------------------------------------------------------

async def do_status(runner: MigrationRunner, args: argparse.Namespace, out: Output) -> int:
    status = await runner.status()
    layout = await read_layout(runner.connect, status.data_schema)
    code = EXIT_OK if status.is_current else EXIT_NOT_CURRENT
    show_status(out, status, layout)
    return out.document(code, {"status": status.to_json(), "layout": layout.to_json()})


async def do_up(runner: MigrationRunner, args: argparse.Namespace, out: Output) -> int:
    dry_run = args.migrate_action == "dry-run"
    result = await runner.up(accept=args.accept, dry_run=dry_run, on_progress=out.progress)
    return finish_run(out, result, current_required=not dry_run)


async def do_down(runner: MigrationRunner, args: argparse.Namespace, out: Output) -> int:
    if not args.yes and not args.dry_run:
        targets = (await runner.status()).last_applied(args.n)
        if targets:
            out.line("will revert, highest first: " + ", ".join(m.label for m in targets))
            if not out.interactive:
                return out.error(EXIT_USAGE, "confirmation_needed", "reverting migrations can drop tables and data",
                                 "Pass --yes to revert without a question")
            if input("type yes to revert: ").strip().lower() != "yes":
                out.line("nothing reverted")
                return EXIT_NOT_CURRENT
    result = await runner.down(args.n, accept=args.accept, dry_run=args.dry_run, on_progress=out.progress)
    return finish_run(out, result, current_required=False)


async def do_adopt(runner: MigrationRunner, args: argparse.Namespace, out: Output) -> int:
    report = await runner.adopt(record=args.yes)
    show_adoption(out, report)
    if report.outcome is AdoptionOutcome.MATCHES:
        question = f"record version {report.baseline_version:03d} as the baseline? [y/N] "
        if out.interactive and input(question).strip().lower() in ("y", "yes"):
            report = await runner.adopt(record=True)
            show_adoption(out, report)
        else:
            out.line("run `lokstra-console migrate adopt --yes` to record it")
    return out.document(EXIT_OK if report.adoptable else EXIT_NOT_CURRENT, {"adoption": report.to_json()})


async def do_relocate(runner: MigrationRunner, args: argparse.Namespace, out: Output) -> int:
    report = await runner.relocate(record=args.yes)
    out.line(report.message)
    if report.outcome is RelocationOutcome.PLANNED:
        out.line("run `lokstra-console migrate relocate --yes` to move them (one transaction, under the migration lock)")
    return out.document(EXIT_OK if report.ok else EXIT_NOT_CURRENT, {"relocation": report.to_json()})


ACTIONS: dict[str, Callable[[MigrationRunner, argparse.Namespace, Output], Awaitable[int]]] = {
    "status": do_status,
    "up": do_up,
    "dry-run": do_up,
    "down": do_down,
    "adopt": do_adopt,
    "relocate": do_relocate,
}


def finish_run(out: Output, result: RunResult, current_required: bool) -> int:
    show_run(out, result)
    ok = result.ok and (not current_required or (result.status is not None and result.status.is_current))
    return out.document(EXIT_OK if ok else EXIT_NOT_CURRENT, {"result": result.to_json()})


# ----- text rendering --------------------------------------------------------------------

STATUS_COLUMNS = ("VERSION", "STATE", "APPLIED AT", "BY", "TIME", "CHECKSUM", "DOWN", "DESCRIPTION")


def show_status(out: Output, status: SchemaStatus, layout: LayoutReport | None = None) -> None:
    out.line(f"database: {out.target or status.database}")
    out.line(f"schema:   {status.headline}")
    out.line(f"data:     {status.data_schema}")
    if layout is not None:
        out.line(f"layout:   {layout.headline}")
        if not layout.supported and layout.name != "empty":
            out.line("note:     the console's migrations describe the core layout: `migrate adopt` compares "
                     "with it and refuses here")
    out.line(f"tracking: {status.tracking_table or 'none yet (lokstra_console.migrations is created on the first up)'}")
    for table in status.upstream:
        out.line(f"lokstra:  {table.describe()}")
    for warning in status.warnings:
        out.line(f"warning:  {warning}")
    rows = [STATUS_COLUMNS]
    notes: dict[int, str] = {}
    for index, m in enumerate(status.migrations, start=1):
        rows.append((
            f"{m.version:03d}",
            m.state.value.replace("_", " "),
            (m.applied_at or m.failed_at).strftime("%Y-%m-%d %H:%M:%S") if (m.applied_at or m.failed_at) else "",
            m.applied_by or "",
            f"{m.duration_ms} ms" if m.duration_ms is not None else "",
            m.short_checksum or "",
            {True: "yes", False: "no", None: "?"}[m.reversible],
            m.description,
        ))
        if m.error or m.note:
            notes[index] = m.error or m.note or ""
    widths = [max(len(row[i]) for row in rows) for i in range(len(STATUS_COLUMNS))]
    out.line()
    for index, row in enumerate(rows):
        out.line("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
        if index in notes:
            out.line(f"     └ {notes[index]}")


def show_run(out: Output, result: RunResult) -> None:
    verb = "dry run of " if result.dry_run else ""
    if result.outcome is Outcome.LOCKED:
        out.line(f"{verb}{result.operation}: not started: {result.reasons[0]}")
        return
    if result.outcome is Outcome.REFUSED:
        out.line(f"{verb}{result.operation} refused:")
        for reason in result.reasons:
            out.line(f"  - {reason}")
        if result.operation == "up" and any("out of order" in r or "changed" in r or "missing" in r for r in result.reasons):
            out.line("re-run with --accept to record these in the history and go on")
    if result.outcome is Outcome.NOTHING_TO_DO:
        out.line(f"{verb}{result.operation}: nothing to do")
    for version in result.accepted:
        done = "would accept" if result.dry_run else "accepted"
        out.line(f"{done} the drift of {version:03d}" + ("" if result.dry_run else " (recorded in the history)"))
    if result.dry_run:
        for step in result.steps:
            out.line(f"\n-- {step.label} ({'would ' + step.action if step.success else 'FAILS'}, {step.duration_ms} ms)")
            for statement in step.statements:
                out.line(statement + ";")
    failed = result.failed_step
    if failed:
        out.line(f"\n{failed.label} failed and was rolled back: {failed.error}")
        for extra in (failed.detail, failed.hint):
            if extra:
                out.line(f"  {extra}")
    if result.dry_run and result.steps:
        out.line("\ndry run: everything was rolled back")
    if result.status is not None:
        out.line(f"schema: {result.status.headline}")


def show_adoption(out: Output, report: AdoptionReport) -> None:
    out.line(report.message)
    current_table = None
    for difference in report.differences:
        if difference.table != current_table:
            current_table = difference.table
            out.line(f"  {current_table or '(schema)'}:")
        out.line(f"    - {str(difference).removeprefix(f'{difference.table}: ')}")
