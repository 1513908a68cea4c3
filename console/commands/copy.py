"""``lokstra-console copy --from SRC --to DST``: copy every table between backends and snapshot files, verified.

SRC and DST are ``memory``, ``postgres`` or the path of a snapshot file (write ``./memory``
for a file of that name). ``memory`` as the source is the in-memory demo data; as the
target it only proves that a load works: the copy is gone when the command exits.
``postgres`` is ``--dsn`` or the console's DB_* settings, migrated. A snapshot file holds
tenants' db_dsn values, which may contain passwords: it is written with mode 0600.

The target must be empty (a file must not exist) unless ``--replace``. The copy commits
only when every table's row count and digest match the source's; anything else leaves the
target as it was.

Exit codes: 0 copied and verified; 1 refused (target not empty, file exists) or failed
(verification, constraint, damaged file), target unchanged; 2 usage (bad options or
settings, a missing source file, read-only mode with a PostgreSQL target); 3 the database
cannot be used (unreachable, authentication, not migrated …). Passwords are never printed.
"""
from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    Output,
    Target,
    command_parser,
    confirm_write,
    target_from_args,
    whole_number,
)
from stores import Settings, open_stores
from stores.transfer.copy import copy_tables
from stores.transfer.snapshot_file import SnapshotFile, remove_stale_partials

EPILOG = """exit codes:
  0  copied and verified
  1  refused (target not empty, file exists: use --replace) or failed; the target is unchanged
  2  usage (bad options or settings, a missing source file, --read-only with a PostgreSQL target)
  3  the database cannot be used (unreachable, authentication, not migrated …)

examples:
  lokstra-console copy --from memory --to demo.snapshot        keep the demo data
  lokstra-console copy --from postgres --to backup.snapshot    a verified snapshot of the database
  lokstra-console copy --from backup.snapshot --to postgres --replace
  lokstra-console copy --from backup.snapshot --to memory      check that a snapshot loads"""

FILE_NOTE = "the snapshot holds tenants' db_dsn values, which may contain passwords: it is mode 0600, keep it like a password file"
MEMORY_NOTE = "the memory target lives only in this process: the copy is gone now that the command exits (a verified trial load)"


@dataclass(frozen=True)
class Endpoint:
    """One side of the copy: ``kind`` is memory, postgres or file."""

    kind: str
    path: Path | None = None

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        if not text:
            raise argparse.ArgumentTypeError("give memory, postgres or the path of a snapshot file")
        if text in ("memory", "postgres"):
            return cls(text)
        if text == "postgresql":
            return cls("postgres")
        return cls("file", Path(text).expanduser())

    def label(self, target: Target | None) -> str:
        if self.kind == "file":
            return f"file {self.path}"
        if self.kind == "postgres" and target is not None:
            return f"postgres {target.display}"
        return self.kind

    def same_as(self, other: Endpoint) -> bool:
        if self.kind != other.kind or self.kind == "memory":
            return False  # memory → memory copies the demo data into a second, fresh engine
        return self.path is None or self.path.resolve() == other.path.resolve()  # type: ignore[union-attr]


def add_parser(subparsers: Any) -> None:
    parser = command_parser(subparsers, "copy", "copy every table between memory, PostgreSQL and snapshot files, verified",
                            __doc__, EPILOG, run)
    parser.add_argument("--from", dest="source", type=Endpoint.parse, required=True, metavar="SRC",
                        help="memory (the demo data), postgres, or a snapshot file")
    parser.add_argument("--to", dest="destination", type=Endpoint.parse, required=True, metavar="DST",
                        help="postgres, memory (a trial load), or a snapshot file")
    parser.add_argument("--replace", action="store_true",
                        help="overwrite a non-empty target (PostgreSQL: TRUNCATE in the same transaction; a file: replaced)")
    parser.add_argument("--yes", action="store_true",
                        help="do not ask before writing to a PostgreSQL target the command line does not name")
    parser.add_argument("--batch-size", type=whole_number(1), default=5_000, metavar="N",
                        help="rows per batch (default 5000)")


def run(args: argparse.Namespace) -> int:
    out = Output(args.json)
    source, destination = args.source, args.destination
    kinds = {source.kind, destination.kind}
    if source.same_as(destination):
        return out.error(EXIT_USAGE, "same_endpoint", f"--from and --to are the same {source.label(None)}",
                         "Copy between two different places")
    if args.dsn and "postgres" not in kinds:
        return out.error(EXIT_USAGE, "dsn_unused", "--dsn applies only to a postgres source or target",
                         "Drop --dsn, or use postgres as --from or --to")
    try:
        target = target_from_args(args) if "postgres" in kinds else None
        memory_settings = Settings(use_postgres=False)
    except ValueError as exc:
        return out.bad_settings(exc)
    if target is not None:
        out.use(target)
        if destination.kind == "postgres":
            refused = confirm_write(target, out, "copy", args.yes)
            if refused is not None:
                return refused
    progress = out.table_progress()
    try:
        return asyncio.run(_copy(args, target, memory_settings, out, progress))
    except KeyboardInterrupt:
        progress.close()
        return out.error(EXIT_FAILED, "interrupted", "interrupted: the target is unchanged", "Run the command again")
    except Exception as exc:
        progress.close()
        return out.fail(exc)


@asynccontextmanager
async def _opened(endpoint: Endpoint, as_source: bool, target: Target | None,
                  memory_settings: Settings) -> AsyncIterator[Any]:
    """What ``copy_tables`` reads from or writes to, closed afterwards."""
    if endpoint.kind == "file":
        yield SnapshotFile(endpoint.path)  # type: ignore[arg-type]
        return
    if endpoint.kind == "memory" and not as_source:
        from stores.memory.engine import MemoryEngine

        yield MemoryEngine()
        return
    settings = memory_settings if endpoint.kind == "memory" else target.store_settings()  # type: ignore[union-attr]
    stores = await open_stores(settings)
    try:
        yield stores.engine
    finally:
        await stores.close()


async def _copy(args: argparse.Namespace, target: Target | None, memory_settings: Settings, out: Output,
                progress: Any) -> int:
    source, destination = args.source, args.destination
    out.line(f"copy {source.label(target)} → {destination.label(target)}" + (" (replacing its content)" if args.replace else ""))
    if destination.kind == "file" and destination.path.parent.is_dir():
        for stale in remove_stale_partials(destination.path):
            out.line(f"note: removed {stale.name}, a partial snapshot an interrupted copy left (it held that copy's data)")
    async with _opened(source, True, target, memory_settings) as reader, \
            _opened(destination, False, target, memory_settings) as writer:
        report = await copy_tables(reader, writer, replace=args.replace, progress=progress, batch_size=args.batch_size)
    progress.close()
    notes = ([FILE_NOTE] if destination.kind == "file" else []) + ([MEMORY_NOTE] if destination.kind == "memory" else [])
    out.line(f"copied {report.rows:,} rows in {report.seconds:.1f} s; every table's row count and digest match:")
    for table in report.tables:
        out.line(f"  {table.table:<10} {table.rows:>12,}  {table.digest[:12]}")
    for note in notes:
        out.line(f"note: {note}")
    return out.document(EXIT_OK, {"from": source.label(target), "to": destination.label(target),
                                  "replaced": args.replace, "copy": report.to_json(), "notes": notes})
