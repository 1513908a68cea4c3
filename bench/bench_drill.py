"""The rollback drill at N users against ``pg_dump -Fc`` + ``pg_restore`` of the same database.

What an operator would otherwise run to rehearse a rollback is a custom-format dump of the
database and a restore of it into a scratch database. The drill (``stores.transfer.drill.
run_drill``: PostgreSQL → memory, a workload on memory, memory → PostgreSQL, a digest of
every table at every step) is timed against that, both in the same run on the same data,
rounds alternating which goes first. Each drill runs in a child process so that its peak
RSS (VmHWM) is its own. Figures, not tests: see bench/README.md.

    python -m bench.bench_drill --users 100000
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
import time
import uuid
from typing import Any

import asyncpg

from bench.bench_copy import DEFAULT_SERVER, BenchError, PeakWatch, open_engine, scratch_database, with_database
from bench.bench_stores import machine

PG_DUMP = shutil.which("pg_dump") or "/usr/bin/pg_dump"
PG_RESTORE = shutil.which("pg_restore") or "/usr/bin/pg_restore"
TIME_GOAL = 1.0
"""drill time ÷ (pg_dump + pg_restore time) at most this."""
RSS_GOAL_MB = 2048


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def fill(dsn: str, users: int) -> int:
    """The demo data of ``users`` into the scratch database (a verified copy from memory)."""
    from stores.demo import DemoSpec, load_into_memory
    from stores.memory.engine import MemoryEngine
    from stores.transfer.copy import copy_tables

    engine = await open_engine(dsn)
    try:
        source = MemoryEngine()
        rows = sum(load_into_memory(source, DemoSpec(users=users)).values())
        await copy_tables(source, engine)
        async with engine.connection() as conn:
            await conn.execute("VACUUM (ANALYZE)")
        return rows
    finally:
        await engine.close()


async def child(dsn: str) -> dict[str, Any]:
    """One drill on ``dsn``, with its peak RSS."""
    from stores.transfer.drill import run_drill

    engine = await open_engine(dsn)
    try:
        gc.collect()
        with PeakWatch() as watch:
            started = time.perf_counter()
            report = await run_drill(engine)
            seconds = time.perf_counter() - started
        return {"seconds": seconds, "ok": report.failure is None, "failure": report.failure,
                "steps": {step.name: round(step.seconds, 3) for step in report.steps},
                "rss_before_mb": watch.before / 1024, "rss_peak_mb": watch.peak / 1024,
                "peak_over_before_mb": (watch.peak - watch.before) / 1024, "hwm_reset": watch.reset}
    finally:
        await engine.close()


def run_child(dsn: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "bench.bench_drill", "--child-dsn", dsn],
                          capture_output=True, text=True, check=False,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if done.returncode != 0:
        raise BenchError(f"the drill child failed: {done.stderr.strip()[-800:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if not result["ok"]:
        raise BenchError(f"the drill failed: {result['failure']}")
    return result


def run_tool(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"{os.path.basename(argv[0])} failed: {done.stderr.strip()[:500]}")


async def dump_restore(server: str, dsn: str, folder: str) -> dict[str, float]:
    """``pg_dump -Fc`` of ``dsn`` and ``pg_restore`` of it into a new empty database (created
    before the clock starts, dropped after it stops)."""
    name = f"lokstra_restore_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    path = os.path.join(folder, "dump.pgc")
    try:
        started = time.perf_counter()
        await asyncio.to_thread(run_tool, [PG_DUMP, "-Fc", "-f", path, "-d", dsn])
        dumped = time.perf_counter()
        await asyncio.to_thread(run_tool, [PG_RESTORE, "--exit-on-error", "-d", with_database(server, name), path])
        restored = time.perf_counter()
        return {"dump_s": dumped - started, "restore_s": restored - dumped, "seconds": restored - started,
                "dump_mb": os.path.getsize(path) / 1e6}
    finally:
        if os.path.exists(path):
            os.remove(path)
        admin = await asyncpg.connect(server)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"machine": machine(), "users": args.users, "rounds": args.rounds,
                              "load_before": os.getloadavg()}
    folder = tempfile.mkdtemp(prefix="lokstra-drill-bench-")
    try:
        async with scratch_database(args.server) as dsn:
            say(f"filling a scratch database with DemoSpec(users={args.users:,}) …")
            result["rows"] = await fill(dsn, args.users)
            drills: list[dict[str, Any]] = []
            dumps: list[dict[str, float]] = []
            for round_ in range(args.rounds):
                sides = ["drill", "dump"] if round_ % 2 == 0 else ["dump", "drill"]
                for side in sides:
                    if side == "drill":
                        drills.append(await asyncio.to_thread(run_child, dsn))
                        say(f"  round {round_ + 1} drill: {drills[-1]['seconds']:.2f} s, "
                            f"peak RSS {drills[-1]['rss_peak_mb']:.0f} MB")
                    else:
                        dumps.append(await dump_restore(args.server, dsn, folder))
                        say(f"  round {round_ + 1} pg_dump + pg_restore: {dumps[-1]['seconds']:.2f} s "
                            f"(dump {dumps[-1]['dump_s']:.2f} s, restore {dumps[-1]['restore_s']:.2f} s)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    drill = statistics.median(d["seconds"] for d in drills)
    dump = statistics.median(d["seconds"] for d in dumps)
    peak = max(d["rss_peak_mb"] for d in drills)
    result.update(drills=drills, dumps=dumps, drill_median_s=drill, dump_restore_median_s=dump,
                  ratio=drill / dump, peak_rss_mb=peak, load_after=os.getloadavg(),
                  met=drill / dump <= TIME_GOAL and peak <= RSS_GOAL_MB)
    return result


def show(result: dict[str, Any]) -> None:
    m = result["machine"]
    print(f"\n{result['users']:,} users, {result['rows']:,} rows; {result['rounds']} rounds (medians); "
          f"{m['cpus']} CPUs; load {result['load_before'][0]:.2f} → {result['load_after'][0]:.2f}; {m['date']}")
    steps = result["drills"][0]["steps"]
    print("drill steps (first round): " + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in steps.items()))
    print(f"drill {result['drill_median_s']:.2f} s, pg_dump -Fc + pg_restore {result['dump_restore_median_s']:.2f} s: "
          f"ratio {result['ratio']:.2f}× (goal ≤ {TIME_GOAL}×); drill peak RSS {result['peak_rss_mb']:.0f} MB "
          f"(goal ≤ {RSS_GOAL_MB} MB): {'met' if result['met'] else 'MISSED'}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_drill", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=1_000_000, help="users of the first tenant (default 1,000,000)")
    parser.add_argument("--server", default=DEFAULT_SERVER,
                        help=f"a server where the bench may create and drop databases (default {DEFAULT_SERVER})")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per side (default 2; medians are reported)")
    parser.add_argument("--json", metavar="FILE", help="also write every figure to FILE")
    parser.add_argument("--child-dsn", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.users < 1 or args.rounds < 1:
        parser.error("--users and --rounds must be 1 or more")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child_dsn:
        print(json.dumps(asyncio.run(child(args.child_dsn))))
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
    raise SystemExit(main())
