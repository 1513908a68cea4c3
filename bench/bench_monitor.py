"""Monitor benchmarks: the cost of one sample with 5,000 distinct statements in
pg_stat_statements, and the overhead of the store timings on memory ``users.get``.

    python -m bench.bench_monitor [--statements 5000] [--samples 30] [--screen 20] [--json FILE]

By default a throwaway cluster is started (pg_stat_statements preloaded, ``pg_stat_statements.max``
raised so that the generated statements all fit), migrated, and destroyed at the end; it
needs the PostgreSQL server binaries (tests/support/pgcluster.py). ``--dsn`` uses a migrated
database on a server that preloads the extension instead.

Figures:

* **sample (store layer)**: ``PostgresMonitor.sample()`` wall time and the client process's
  CPU time per sample, the first one (every text read) and the steady ones (texts cached).
* **sample (screen, end to end)**: the console itself (headless ``run_test``) on the Monitor
  screen at the default 2 s interval for ``--screen`` seconds: per sample, the worker's time
  plus the time to show it (tables updated cell by cell); the process's CPU over the window
  as a share of one core, and the CPU of the server backends of the console's sessions.
* **store timing overhead**: memory ``users.get`` through the timed ``Stores`` against the
  same store class untimed on the same engine, alternating blocks of calls; the ratio of
  the medians.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from stores.demo import DemoSpec, load_into_memory
from stores.entities import Users
from stores.memory.engine import MemoryEngine
from stores.monitor import PostgresMonitor
from stores.open import Stores
from stores.postgres.engine import PostgresEngine
from stores.settings import APPLICATION_NAME, Settings

OPERATORS = ("+", "-", "*")


def statement(i: int, digits: int = 9) -> str:
    """A distinct statement for each ``i``: the operators between the terms spell ``i`` in
    base 3 (constants are normalised away; operators are not), plus a realistic FROM / WHERE."""
    terms = []
    for position in range(digits):
        terms.append(f"{position + 2}")
        terms.append(OPERATORS[(i // 3 ** position) % 3])
    expression = " ".join(terms) + " 1"
    return (f"SELECT {expression} AS value, count(*) FROM lokstra_auth.users "
            f"WHERE tenant_id = 'bench-tenant' AND status = 'active'")


def median_p95(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


async def generate(dsn: str, count: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for i in range(count):
            await conn.execute(statement(i))
    finally:
        await conn.close()


async def bench_sample(dsn: str, samples: int) -> dict[str, Any]:
    engine = await PostgresEngine.open(Settings(use_postgres=True, database_url=dsn, pool_min_size=1, pool_max_size=2))
    try:
        monitor = PostgresMonitor(engine)
        await monitor.probe()
        cpu, wall = time.process_time(), time.perf_counter()
        first = await monitor.sample()
        first_wall, first_cpu = time.perf_counter() - wall, time.process_time() - cpu
        walls: list[float] = []
        cpus: list[float] = []
        for _ in range(samples):
            cpu, wall = time.process_time(), time.perf_counter()
            sample = await monitor.sample()
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        wall_median, wall_p95 = median_p95(walls)
        cpu_median, cpu_p95 = median_p95(cpus)
        return {"entries": sample.statements_total, "shown": len(sample.statements or []),
                "first_ms": first_wall * 1000, "first_cpu_ms": first_cpu * 1000,
                "entries_first": first.statements_total,
                "wall_median_ms": wall_median * 1000, "wall_p95_ms": wall_p95 * 1000,
                "cpu_median_ms": cpu_median * 1000, "cpu_p95_ms": cpu_p95 * 1000,
                "cpu_share_at_2s": cpu_median / 2.0, "problems": sample.problems}
    finally:
        await engine.close()


def backend_cpu_seconds(pids: list[int]) -> float:
    """utime + stime of server processes (same machine), in seconds; 0 for any unreadable."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return total / ticks


async def bench_screen(dsn: str, seconds: float) -> dict[str, Any]:
    """The console on the Monitor screen for ``seconds`` at the default interval."""
    from console.app import LokstraConsole
    from console.config import ConsoleConfig
    from console.screens.monitor import MonitorScreen

    app = LokstraConsole(Settings(use_postgres=True, database_url=dsn), config=ConsoleConfig())
    worker: list[float] = []
    shown: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        while app.stores is None:
            await pilot.pause(0.05)
        await app.workers.wait_for_complete()
        idle_cpu, idle_wall = time.process_time(), time.perf_counter()
        while time.perf_counter() - idle_wall < seconds / 2:  # baseline: the same console on Browse
            await pilot.pause(0.2)
        idle_share = (time.process_time() - idle_cpu) / (time.perf_counter() - idle_wall)
        app.switch_mode("monitor")
        screen = app.screen
        assert isinstance(screen, MonitorScreen)
        while screen.samples_taken < 2:  # the first sample reads every text: measured above
            await pilot.pause(0.05)
        conn = await asyncpg.connect(dsn)
        try:
            pids = [r["pid"] for r in await conn.fetch(
                "SELECT pid FROM pg_stat_activity WHERE application_name = $1", APPLICATION_NAME)]
        finally:
            await conn.close()
        server_before = backend_cpu_seconds(pids)
        cpu, wall = time.process_time(), time.perf_counter()
        taken = seen = screen.samples_taken
        while time.perf_counter() - wall < seconds:
            await pilot.pause(0.2)
            if screen.samples_taken != seen:
                seen = screen.samples_taken
                worker.append(screen.sample_seconds or 0.0)
                shown.append(screen.render_seconds or 0.0)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        server = backend_cpu_seconds(pids) - server_before
        samples = screen.samples_taken - taken
    ends = [w + s for w, s in zip(worker, shown)]
    return {"samples": samples, "window_s": wall, "interval_s": MonitorScreen.INTERVAL,
            "end_to_end_median_ms": statistics.median(ends) * 1000 if ends else None,
            "worker_median_ms": statistics.median(worker) * 1000 if worker else None,
            "show_median_ms": statistics.median(shown) * 1000 if shown else None,
            "client_cpu_share": cpu / wall, "idle_cpu_share": idle_share,
            "monitor_cpu_share": cpu / wall - idle_share, "server_cpu_share": server / wall, "server_pids": len(pids)}


async def bench_timing_overhead(blocks: int, block: int) -> dict[str, Any]:
    engine = MemoryEngine()
    load_into_memory(engine, DemoSpec())
    stores = Stores(engine)
    timed_users = stores.users
    plain_users = Users(engine)  # the same store class, not instrumented
    tenant = "acme-corp"
    ids = [u.id for u in (await plain_users.page(tenant, limit=500)).rows]
    random.Random(7).shuffle(ids)

    async def run(get: Callable[[str, str], Awaitable[Any]]) -> float:
        started = time.perf_counter()
        for i in range(block):
            await get(tenant, ids[i % len(ids)])
        return (time.perf_counter() - started) / block

    for _ in range(5):  # warm up both
        await run(timed_users.get)
        await run(plain_users.get)
    timed: list[float] = []
    plain: list[float] = []
    for round_ in range(blocks):  # alternate which goes first: drift hits both alike
        pair = [(timed, timed_users.get), (plain, plain_users.get)]
        for samples, get in pair if round_ % 2 == 0 else reversed(pair):
            samples.append(await run(get))
    t, p = statistics.median(timed), statistics.median(plain)
    return {"timed_us": t * 1e6, "plain_us": p * 1e6, "ratio": t / p, "overhead_us": (t - p) * 1e6,
            "blocks": blocks, "block": block}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--statements", type=int, default=5000, help="distinct statements to generate")
    parser.add_argument("--samples", type=int, default=30, help="steady samples timed at the store layer")
    parser.add_argument("--screen", type=float, default=20.0, help="seconds of the console on the Monitor screen")
    parser.add_argument("--blocks", type=int, default=40, help="blocks per side for the timing overhead")
    parser.add_argument("--block", type=int, default=2000, help="users.get calls per block")
    parser.add_argument("--dsn", help="a migrated database on a server preloading pg_stat_statements")
    parser.add_argument("--json", help="write every figure to this file")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace, dsn: str) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        await conn.execute("SELECT pg_stat_statements_reset()")
        maximum = int(await conn.fetchval("SHOW pg_stat_statements.max"))
        version = await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()
    await generate(dsn, args.statements)
    results: dict[str, Any] = {"server": version, "pg_stat_statements.max": maximum}
    results["sample"] = await bench_sample(dsn, args.samples)
    results["screen"] = await bench_screen(dsn, args.screen)
    results["timing"] = await bench_timing_overhead(args.blocks, args.block)
    return results


def report(results: dict[str, Any]) -> None:
    s, e, t = results["sample"], results["screen"], results["timing"]
    print(f"PostgreSQL {results['server']}, pg_stat_statements entries: {s['entries']:,} "
          f"({s['shown']:,} shown, the monitor's own hidden)")
    print(f"first sample (reads every text): {s['first_ms']:.1f} ms wall, {s['first_cpu_ms']:.1f} ms CPU")
    print(f"steady sample, store layer: median {s['wall_median_ms']:.1f} ms (p95 {s['wall_p95_ms']:.1f}) wall, "
          f"CPU median {s['cpu_median_ms']:.1f} ms = {s['cpu_share_at_2s'] * 100:.2f} % of a core at 2 s "
          "(goal < 50 ms, < 5 %)")
    if e["end_to_end_median_ms"] is not None:
        print(f"screen, end to end: median {e['end_to_end_median_ms']:.1f} ms per sample "
              f"(worker {e['worker_median_ms']:.1f} + show {e['show_median_ms']:.1f}); {e['samples']} samples in "
              f"{e['window_s']:.1f} s; console process CPU {e['client_cpu_share'] * 100:.2f} % of a core "
              f"(on Browse, same run: {e['idle_cpu_share'] * 100:.2f} %; the monitor's part "
              f"{e['monitor_cpu_share'] * 100:.2f} %, goal < 5 %), server backends {e['server_cpu_share'] * 100:.2f} %")
    print(f"store timing overhead, memory users.get: {t['timed_us']:.2f} µs timed vs {t['plain_us']:.2f} µs "
          f"untimed = {t['ratio']:.3f}x (+{t['overhead_us']:.2f} µs; goal < 1.10x)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.dsn:
        results = asyncio.run(run(args, args.dsn))
    else:
        from tests.support.pgcluster import create_cluster
        from tests.support.schema import migrate

        cluster = create_cluster()
        try:
            cluster.append_conf(f"\npg_stat_statements.max = {max(10000, args.statements * 2)}\n")
            cluster.restart()
            dsn = cluster.dsn("postgres")
            asyncio.run(migrate(dsn))
            results = asyncio.run(run(args, dsn))
        finally:
            cluster.destroy()
    report(results)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=2, default=str)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
