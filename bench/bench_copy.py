"""Benchmarks of the verified copy between backends (figures, not pass/fail tests).

    python -m bench.bench_copy [--users N] [--server DSN] [--rounds N] [--batch-size N] [--json FILE]

One run, one set of rows: ``DemoSpec(users=N)`` (100,000 users by default: 320,065 rows in
the six tables) is loaded into a memory engine, and the same rows are written to CSV files.
Then, in alternating rounds on a fresh migrated database of its own (dropped at the end):

* memory → PostgreSQL: ``copy_tables`` against ``psql \\copy`` of the CSV files (one
  transaction, all six tables), both into the emptied tables; goal ≥ 0.9× psql's throughput;
* PostgreSQL → memory: ``copy_tables`` against a raw asyncpg ``fetch`` of the same columns
  of the six tables on a connection of the same pool; goal ≥ 0.8× the raw throughput. Also
  timed: the same verified copy into a target that only hashes the rows (the stream and
  its verification without building the memory tables);
* peak RSS of each direction, each in a child process of its own (the peak is reset just
  before the copy through /proc/self/clear_refs and read from VmHWM; a sampling thread
  checks it), plus PostgreSQL → a discarding target, the streaming read on its own.

What the figures mean and the numbers measured on the reference machine: bench/README.md.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bench.bench_stores import machine
from migrations import MigrationRunner, Outcome
from stores.demo import DemoSpec, load_into_memory
from stores.memory.engine import MemoryEngine
from stores.postgres.engine import PostgresEngine
from stores.postgres.sql import column_list
from stores.settings import Settings
from stores.tables import ALL_TABLES, TableSpec
from stores.transfer.copy import Row, copy_tables, table_digests
from stores.transfer.digest import TableDigest

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
PSQL = shutil.which("psql") or "/usr/bin/psql"
TO_PG_GOAL = 0.9
TO_MEMORY_GOAL = 0.8


class BenchError(Exception):
    """A setup problem worth one line, not a traceback."""


# ----- the database and the rows ---------------------------------------------------------------

def with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


@asynccontextmanager
async def scratch_database(server: str) -> AsyncIterator[str]:
    """A new database with the lokstra schema, dropped afterwards whatever happens."""
    name = f"lokstra_copy_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = with_database(server, name)
    try:
        result = await MigrationRunner.from_dsn(dsn).up()
        if result.outcome is not Outcome.DONE:
            raise BenchError(f"migrating {name} failed: {result.to_json()}")
        yield dsn
    finally:
        admin = await asyncpg.connect(server)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def csv_field(value: Any) -> str:
    """One CSV field as PostgreSQL's CSV COPY reads it: NULL unquoted and empty, text quoted."""
    if value is None:
        return ""
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    text = json.dumps(value, ensure_ascii=False, allow_nan=False) if isinstance(value, (dict, list)) else str(value)
    return '"' + text.replace('"', '""') + '"'


async def write_csvs(source: MemoryEngine, folder: str) -> dict[str, str]:
    """The source's rows (the very tuples the copy reads) as one CSV file per table."""
    paths: dict[str, str] = {}
    async with source.snapshot() as reader:
        for spec in ALL_TABLES:
            paths[spec.name] = path = os.path.join(folder, f"{spec.name}.csv")
            with open(path, "w", encoding="utf-8", newline="") as out:
                async for batch in reader.batches(spec, 10_000):
                    out.write("".join(",".join(map(csv_field, row)) + "\n" for row in batch))
    return paths


def psql_script(paths: dict[str, str], folder: str) -> str:
    lines = ["BEGIN;"]
    for spec in ALL_TABLES:
        lines.append(f"\\copy {spec.relation('lokstra_auth')} ({column_list(spec)}) FROM '{paths[spec.name]}' WITH (FORMAT csv)")
    lines.append("COMMIT;")
    path = os.path.join(folder, "load.sql")
    with open(path, "w") as out:
        out.write("\n".join(lines) + "\n")
    return path


def run_psql(dsn: str, script: str) -> float:
    started = time.perf_counter()
    done = subprocess.run([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f", script],
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise BenchError(f"psql failed: {done.stderr.strip()[:500]}")
    return seconds


async def truncate(engine: PostgresEngine) -> None:
    async with engine.connection() as conn:
        await conn.execute("TRUNCATE " + ", ".join(spec.relation("lokstra_auth") for spec in ALL_TABLES))


async def raw_fetch(engine: PostgresEngine) -> int:
    """The baseline out of PostgreSQL: every column of every table, one ``fetch`` each."""
    rows = 0
    async with engine.connection() as conn:
        for spec in ALL_TABLES:
            rows += len(await conn.fetch(f"SELECT {column_list(spec)} FROM {spec.relation('lokstra_auth')}"))
    return rows


async def open_engine(dsn: str) -> PostgresEngine:
    return await PostgresEngine.open(Settings(use_postgres=True, database_url=dsn, pool_min_size=1, pool_max_size=4,
                                              command_timeout=600.0))


# ----- a target that keeps nothing (the streaming read, on its own) -----------------------------

class DiscardingEngine:
    """A copy target that hashes the rows it is given and keeps none: a verified copy out of
    PostgreSQL whose memory is only the stream's."""

    backend = "discard"

    def loader(self, replace: bool = False):  # noqa: ANN201
        @asynccontextmanager
        async def opened() -> AsyncIterator[DiscardingLoader]:
            yield DiscardingLoader()

        return opened()


class DiscardingLoader:
    def __init__(self) -> None:
        self.digests: dict[str, TableDigest] = {}

    async def load(self, spec: TableSpec, rows: AsyncIterator[Row]) -> None:
        digest = self.digests[spec.name] = TableDigest(spec.name)
        async for row in rows:
            digest.add(row)

    async def load_batches(self, spec: TableSpec, batches: AsyncIterator[list[Row]]) -> None:
        digest = self.digests[spec.name] = TableDigest(spec.name)
        async for batch in batches:
            digest.add_rows(batch)

    async def digest(self, spec: TableSpec, keyed: bool = False) -> TableDigest:
        return self.digests[spec.name]


# ----- peak memory, in a child process per direction ----------------------------------------------

def rss_kb(field: str = "VmRSS") -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class PeakWatch:
    """Peak RSS over a stretch of code: VmHWM after resetting it, and a 5 ms sampler."""

    def __init__(self) -> None:
        self.sampled = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.sampled = max(self.sampled, rss_kb())

    def __enter__(self) -> PeakWatch:
        try:
            with open("/proc/self/clear_refs", "w") as clear:
                clear.write("5")  # resets VmHWM to the current RSS
            self.reset = True
        except OSError:
            self.reset = False
        self.before = rss_kb()
        self.sampled = self.before
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.after = rss_kb()
        self.hwm = rss_kb("VmHWM") if self.reset else 0
        self.peak = max(self.hwm, self.sampled)


async def child(direction: str, dsn: str, users: int, batch_size: int) -> dict[str, Any]:
    engine = await open_engine(dsn)
    try:
        source: Any = engine
        if direction == "memory-to-postgres":
            source = MemoryEngine()
            load_into_memory(source, DemoSpec(users=users))
            target: Any = engine
            await truncate(engine)
        elif direction == "postgres-to-memory":
            target = MemoryEngine()
        else:
            target = DiscardingEngine()
        gc.collect()
        with PeakWatch() as watch:
            started = time.perf_counter()
            report = await copy_tables(source, target, replace=direction == "memory-to-postgres", batch_size=batch_size)
            seconds = time.perf_counter() - started
        return {"direction": direction, "batch_size": batch_size, "rows": report.rows, "seconds": seconds,
                "rss_before_mb": watch.before / 1024, "rss_peak_mb": watch.peak / 1024, "rss_after_mb": watch.after / 1024,
                "peak_over_before_mb": (watch.peak - watch.before) / 1024, "peak_over_after_mb": (watch.peak - watch.after) / 1024,
                "hwm_reset": watch.reset}
    finally:
        await engine.close()


def run_child(direction: str, dsn: str, users: int, batch_size: int) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "bench.bench_copy", "--child", direction, "--child-dsn", dsn,
                           "--users", str(users), "--batch-size", str(batch_size)],
                          capture_output=True, text=True, check=False,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if done.returncode != 0:
        raise BenchError(f"the {direction} child failed: {done.stderr.strip()[-800:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ----- the run ------------------------------------------------------------------------------------

async def timed(call: Callable[[], Awaitable[Any]]) -> float:
    gc.collect()
    started = time.perf_counter()
    await call()
    return time.perf_counter() - started


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"machine": machine(), "users": args.users, "batch_size": args.batch_size,
                              "rounds": args.rounds}
    spec = DemoSpec(users=args.users)
    say(f"building DemoSpec(users={args.users:,}) in memory …")
    source = MemoryEngine()
    started = time.perf_counter()
    counts = load_into_memory(source, spec)
    rows = sum(counts.values())
    result.update(rows=rows, rows_per_table=counts, memory_build_s=time.perf_counter() - started)
    folder = tempfile.mkdtemp(prefix="lokstra-copy-bench-")
    try:
        paths = await write_csvs(source, folder)
        result["csv_mb"] = sum(os.path.getsize(p) for p in paths.values()) / 1e6
        script = psql_script(paths, folder)
        async with scratch_database(args.server) as dsn:
            engine = await open_engine(dsn)
            try:
                async with engine.connection() as conn:
                    result["server"] = await conn.fetchval("SHOW server_version")
                await to_postgres(args, result, source, engine, dsn, script)
                source = None  # type: ignore[assignment]  # a big heap would slow the raw side's GC passes
                gc.collect()
                await to_memory(args, result, engine)
            finally:
                await engine.close()
            if not args.skip_rss:
                say("peak RSS, one child process per direction …")
                result["rss"] = [run_child(direction, dsn, args.users, args.batch_size)
                                 for direction in ("memory-to-postgres", "postgres-to-memory", "postgres-to-discard")]
                result["rss"].append(run_child("postgres-to-discard", dsn, args.users, args.batch_size * 10))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return result


async def to_postgres(args: argparse.Namespace, result: dict[str, Any], source: MemoryEngine, engine: PostgresEngine,
                      dsn: str, script: str) -> None:
    say("memory → PostgreSQL: psql \\copy against copy_tables …")
    psql_s: list[float] = []
    copy_s: list[float] = []
    for round_ in range(args.rounds):
        sides = [("psql", psql_s), ("copy", copy_s)]
        for name, samples in sides if round_ % 2 == 0 else sides[::-1]:
            await truncate(engine)
            if name == "psql":
                samples.append(await asyncio.to_thread(run_psql, dsn, script))
                if round_ == 0:  # the CSV files held exactly the source's rows
                    loaded, wanted = await table_digests(engine), await table_digests(source)
                    result["psql_rows_identical"] = all(loaded[t].same_as(wanted[t]) for t in wanted)
            else:
                samples.append(await timed(lambda: copy_tables(source, engine, batch_size=args.batch_size)))
            say(f"  round {round_ + 1} {name}: {samples[-1]:.2f} s")
    psql, copy = statistics.median(psql_s), statistics.median(copy_s)
    result["to_postgres"] = {"psql_s": psql_s, "copy_s": copy_s, "psql_median_s": psql, "copy_median_s": copy,
                             "psql_rows_per_s": result["rows"] / psql, "copy_rows_per_s": result["rows"] / copy,
                             "ratio": psql / copy, "goal": TO_PG_GOAL, "met": psql / copy >= TO_PG_GOAL}


async def to_memory(args: argparse.Namespace, result: dict[str, Any], engine: PostgresEngine) -> None:
    say("PostgreSQL → memory: raw fetch against copy_tables (and the verified stream alone) …")
    raw_s: list[float] = []
    copy_s: list[float] = []
    stream_s: list[float] = []
    for round_ in range(args.rounds):
        sides = [("raw", raw_s), ("copy", copy_s), ("stream", stream_s)]
        for name, samples in sides if round_ % 2 == 0 else sides[::-1]:
            if name == "raw":
                samples.append(await timed(lambda: raw_fetch(engine)))
            elif name == "copy":
                samples.append(await timed(lambda: copy_tables(engine, MemoryEngine(), batch_size=args.batch_size)))
            else:
                samples.append(await timed(lambda: copy_tables(engine, DiscardingEngine(), batch_size=args.batch_size)))
            say(f"  round {round_ + 1} {name}: {samples[-1]:.2f} s")
    raw, copy, stream = statistics.median(raw_s), statistics.median(copy_s), statistics.median(stream_s)
    result["to_memory"] = {"raw_s": raw_s, "copy_s": copy_s, "stream_s": stream_s, "raw_median_s": raw,
                           "copy_median_s": copy, "stream_median_s": stream,
                           "raw_rows_per_s": result["rows"] / raw, "copy_rows_per_s": result["rows"] / copy,
                           "ratio": raw / copy, "stream_ratio": raw / stream,
                           "goal": TO_MEMORY_GOAL, "met": raw / copy >= TO_MEMORY_GOAL}


def show(result: dict[str, Any]) -> None:
    rows = result["rows"]
    m = result["machine"]
    print(f"\n{result['users']:,} users, {rows:,} rows; batch {result['batch_size']:,}; {result['rounds']} rounds (medians); "
          f"{m['cpus']} CPUs {m['cpu_model']}; PostgreSQL {result.get('server', '?')}; {m['date']}")
    up, down = result["to_postgres"], result["to_memory"]
    print(f"memory → PostgreSQL  copy_tables {up['copy_median_s']:.2f} s ({up['copy_rows_per_s']:,.0f} rows/s)  "
          f"psql \\copy {up['psql_median_s']:.2f} s ({up['psql_rows_per_s']:,.0f} rows/s)  "
          f"ratio {up['ratio']:.2f}× (goal ≥ {TO_PG_GOAL}×: {'met' if up['met'] else 'MISSED'}); "
          f"psql loaded identical rows: {result.get('psql_rows_identical')}")
    print(f"PostgreSQL → memory  copy_tables {down['copy_median_s']:.2f} s ({down['copy_rows_per_s']:,.0f} rows/s)  "
          f"raw fetch {down['raw_median_s']:.2f} s ({down['raw_rows_per_s']:,.0f} rows/s)  "
          f"ratio {down['ratio']:.2f}× (goal ≥ {TO_MEMORY_GOAL}×: {'met' if down['met'] else 'MISSED'}); "
          f"verified stream into a discarding target {down['stream_median_s']:.2f} s ({down['stream_ratio']:.2f}×)")
    for item in result.get("rss", []):
        print(f"peak RSS {item['direction']:<20} batch {item['batch_size']:>7,}: before {item['rss_before_mb']:7.0f} MB, "
              f"peak {item['rss_peak_mb']:7.0f} MB (+{item['peak_over_before_mb']:.0f}), after {item['rss_after_mb']:7.0f} MB "
              f"({item['seconds']:.2f} s)")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_copy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000,
                        help="users of the first tenant (default 100,000; 1000000 for the big run)")
    parser.add_argument("--server", default=DEFAULT_SERVER,
                        help=f"a server where the bench may create and drop a database (default {DEFAULT_SERVER})")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per side (default 3; medians are reported)")
    parser.add_argument("--batch-size", type=int, default=5_000, help="copy_tables batch_size (default 5,000)")
    parser.add_argument("--skip-rss", action="store_true", help="leave out the peak-RSS child processes")
    parser.add_argument("--json", metavar="FILE", help="also write every figure to FILE")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-dsn", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.users < 1 or args.rounds < 1 or args.batch_size < 1:
        parser.error("--users, --rounds and --batch-size must be 1 or more")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(asyncio.run(child(args.child, args.child_dsn, args.users, args.batch_size))))
        return 0
    try:
        result = asyncio.run(run(args))
    except (BenchError, OSError, asyncpg.PostgresError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 3
    show(result)
    if args.json:
        os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
        with open(args.json, "w") as out:
            json.dump(result, out, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
