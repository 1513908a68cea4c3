"""Benchmarks of the store layer at up to a million users (figures, not pass/fail tests).

    python -m bench.bench_stores [--users N] [--dsn DSN] [--json out.json]

Without ``--dsn`` it uses (and creates) ``lokstra_bench`` on 127.0.0.1:5432 as ``postgres``.
The database is migrated with the migration runner and filled with the demo data through
``lokstra-console demo``'s COPY path; a database that already holds exactly that data is
reused (``--reload`` forces a fresh COPY). What each figure means, the goals and the numbers
measured on the reference machine are in bench/README.md.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
from pydantic import SecretStr

from console.commands.demo import TableProgress
from stores.demo import occupied_tables, write_demo
from migrations import MigrationRunner
from stores.demo import DemoSpec, load_into_memory
from stores.errors import StoreError
from stores.memory.engine import MemoryEngine
from stores.open import Stores
from stores.postgres.diagnose import diagnose
from stores.postgres.engine import PostgresEngine, init_connection
from stores.query import Page
from stores.settings import ConnectionTarget, Settings
from stores.tables import ALL_TABLES

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/lokstra_bench"
TENANT = "acme-corp"
RATIO_GOAL = 1.15
PAGE_GOAL_MS = 20.0
PAGE_NUMBERS = (1, 100, 10_000)
SHAPES: tuple[tuple[str, dict[str, str] | None], ...] = (
    ("no filter", None),
    ("username prefix 'alice.'", {"username_prefix": "alice."}),
    ("email prefix 'bob.'", {"email_prefix": "bob."}),
)
"""Page query shapes. Each prefix matches 1 user in 23 (the demo cycles 23 first names)."""
KEYSET_CALLS = 300
COUNT_CALLS = 7
ESTIMATE_CALLS = 300
COUNT_BUDGET_S = 5.0
"""Counting calls stop after this long (at least 3 calls): a slow count is a finding, not a wait."""
BLOCK = 250
"""Store and raw calls alternate in blocks of this many, so drift hits both sides alike."""


class BenchError(Exception):
    """A setup problem worth one line, not a traceback."""


# ----- measuring ----------------------------------------------------------------------------

async def timed(call: Callable[[Any], Awaitable[Any]], inputs: Sequence[Any], n: int,
                budget_s: float | None = None) -> list[float]:
    """Milliseconds of ``n`` calls, cycling through ``inputs``; with ``budget_s``, fewer
    (but at least 3) when the calls have taken that long."""
    gc.collect()
    samples: list[float] = []
    deadline = time.monotonic() + budget_s if budget_s is not None else None
    for i in range(n):
        if deadline is not None and i >= 3 and time.monotonic() > deadline:
            break
        item = inputs[i % len(inputs)]
        started = time.perf_counter_ns()
        await call(item)
        samples.append((time.perf_counter_ns() - started) / 1e6)
    return samples


async def paired(store: Callable[[Any], Awaitable[Any]], raw: Callable[[Any], Awaitable[Any]],
                 inputs: Sequence[tuple[Any, Any]], n: int) -> tuple[list[float], list[float]]:
    """Time ``n`` store and ``n`` raw calls on the same inputs, alternating blocks (and which goes first)."""
    store_ms: list[float] = []
    raw_ms: list[float] = []
    for block, start in enumerate(range(0, n, BLOCK)):
        chunk = [inputs[(start + i) % len(inputs)] for i in range(min(BLOCK, n - start))]
        runs = [(store_ms, store, 0), (raw_ms, raw, 1)]
        for samples, call, side in runs if block % 2 == 0 else runs[::-1]:
            samples.extend(await timed(call, [item[side] for item in chunk], len(chunk)))
    return store_ms, raw_ms


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"median_ms": statistics.median(ordered),
            "p95_ms": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], "max_ms": ordered[-1]}


def rss_mb() -> float:
    """Resident memory of this process (Linux /proc; elsewhere the peak from getrusage)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Report:
    """Rows of figures, query plans and facts about the run; printed as a table and as JSON."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.plans: list[dict[str, Any]] = []
        self.info: dict[str, Any] = {}

    def add(self, section: str, operation: str, backend: str, median: str, p95: str = "", n: int | str = "",
            goal: str = "", met: bool | None = None, **data: Any) -> dict[str, Any]:
        row = {"section": section, "operation": operation, "backend": backend, "n": n, "median": median,
               "p95": p95, "goal": goal, "met": met, **data}
        self.rows.append(row)
        return row

    def timing(self, section: str, operation: str, backend: str, samples: list[float],
               goal_ms: float | None = None, **data: Any) -> dict[str, Any]:
        stats = summary(samples)
        met = None if goal_ms is None else stats["p95_ms"] <= goal_ms
        return self.add(section, operation, backend, f"{stats['median_ms']:.3f} ms", f"{stats['p95_ms']:.3f} ms",
                        len(samples), f"p95 ≤ {goal_ms:g} ms" if goal_ms is not None else "", met, **stats, **data)

    def ratio(self, section: str, operation: str, store: list[float], raw: list[float]) -> None:
        """Store and raw rows, then their ratio (the goal is on the medians)."""
        s = self.timing(section, operation, "postgres store", store)
        r = self.timing(section, operation, "postgres raw asyncpg", raw)
        median, p95 = s["median_ms"] / r["median_ms"], s["p95_ms"] / r["p95_ms"]
        self.add(section, operation + " store ÷ raw", "postgres", f"{median:.2f}×", f"{p95:.2f}×", "",
                 f"median ≤ {RATIO_GOAL}×", median <= RATIO_GOAL, median_ratio=median, p95_ratio=p95)

    def print(self) -> None:
        headers = ("operation", "backend", "n", "median", "p95", "goal", "")
        verdict = {None: "", True: "ok", False: "MISSED"}
        lines = [tuple(str(row[h]) for h in headers[:-1]) + (verdict[row["met"]],) for row in self.rows]
        widths = [max(len(line[i]) for line in [headers, *lines]) for i in range(len(headers))]

        def show(cells: tuple[str, ...]) -> None:
            print("  ".join(c.rjust(w) if 2 <= i <= 4 else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip())

        section = None
        for row, line in zip(self.rows, lines):
            if row["section"] != section:
                section = row["section"]
                print(f"\n{section}")
                show(headers)
            show(line)
        if self.plans:
            print("\nEXPLAIN (ANALYZE, BUFFERS) of each page query shape, custom and generic plan:")
            for plan in self.plans:
                print(f"  {plan['shape']:<28} page {plan['page']:<6} {plan['plan']:<8} {plan['nodes']:<40} "
                      f"{plan['execution_ms']:7.3f} ms  buffers hit {plan['shared_hit']} read {plan['shared_read']}"
                      f"{'  SEQ SCAN ON USERS' if plan['seq_scan_on_users'] else ''}")

    def document(self) -> dict[str, Any]:
        return {"info": self.info, "results": self.rows, "plans": self.plans}


# ----- the database --------------------------------------------------------------------------

def target_for(dsn: str) -> ConnectionTarget:
    """The target of exactly ``dsn`` (``model_construct`` skips reading DB_* / PG* from the environment)."""
    return Settings.model_construct(database_url=SecretStr(dsn)).connection()


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: Any) -> str:
    return str(value) if isinstance(value, int) else "'" + str(value).replace("'", "''") + "'"


async def ensure_database(target: ConnectionTarget) -> bool:
    """Create the target database when missing (ICU en-US where the server has ICU, so that a
    query without COLLATE "C" could not hide behind a C default collation). True if created."""
    try:
        conn = await asyncpg.connect(**target.connect_kwargs())
    except asyncpg.InvalidCatalogNameError:
        pass
    else:
        await conn.close()
        return False
    admin = await asyncpg.connect(**dataclasses.replace(target, database="postgres").connect_kwargs())
    try:
        name = quote_ident(target.database)
        try:
            await admin.execute(f"CREATE DATABASE {name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'")
        except asyncpg.PostgresError:
            await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    return True


def expected_users(spec: DemoSpec) -> int:
    return spec.users + 2 * max(20, spec.users // 10)


async def prepare_database(target: ConnectionTarget, spec: DemoSpec, replace: bool, reload: bool, report: Report) -> None:
    """Create, migrate and fill the database (or reuse the demo data already there)."""
    report.info["database_created"] = await ensure_database(target)
    result = await MigrationRunner.from_kwargs(target.connect_kwargs()).up()
    if not result.ok:
        failed = result.failed_step
        raise BenchError("the migrations did not apply: " + "; ".join(result.reasons or [str(failed.error if failed else result.outcome)]))
    loading = dataclasses.replace(target, command_timeout=3600)
    conn = await asyncpg.connect(**loading.connect_kwargs())
    try:
        await init_connection(conn)
        in_tenant, total = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE tenant_id = $1), count(*) FROM lokstra_auth.users", TENANT)
        if not reload and (in_tenant, total) == (spec.users, expected_users(spec)):
            report.info["load"] = {"reused": True, "users": total}
            print(f"reusing the demo data already in {target.display()} ({total:,} users)", file=sys.stderr)
            return
        occupied = await occupied_tables(conn)
        if occupied and not replace:
            raise BenchError(f"{target.display()} holds other data ({', '.join(occupied)}): pass --replace to empty it")
        print(f"writing the demo data ({spec.users:,} users) to {target.display()} with COPY", file=sys.stderr)
        progress = TableProgress()
        started = time.monotonic()
        counts = await write_demo(conn, spec, replace=bool(occupied), progress=progress)
        progress.close()
        copied = time.monotonic() - started
        started = time.monotonic()
        # Settle the fresh heap (hint bits, visibility map) so autovacuum does not do it mid-run.
        await conn.execute("VACUUM (ANALYZE) " + ", ".join(spec_.relation("lokstra_auth") for spec_ in ALL_TABLES))
        report.info["load"] = {"reused": False, "rows": counts, "copy_and_analyze_s": round(copied, 2),
                               "vacuum_s": round(time.monotonic() - started, 2),
                               "rows_per_s": round(sum(counts.values()) / copied)}
    finally:
        await conn.close()


async def server_facts(pool: asyncpg.Pool) -> dict[str, Any]:
    async with pool.acquire() as conn:
        return {
            "server_version": await conn.fetchval("SHOW server_version"),
            "shared_buffers": await conn.fetchval("SHOW shared_buffers"),
            "database_collation": await conn.fetchval(
                "SELECT coalesce(daticulocale, datcollate) FROM pg_database WHERE datname = current_database()"),
            "users_table_mb": round(await conn.fetchval("SELECT pg_total_relation_size('lokstra_auth.users')") / 2**20),
        }


# ----- capturing the store's own SQL -----------------------------------------------------------

class Recording(asyncpg.Connection):  # type: ignore[misc]
    """A connection that remembers each query it is asked to run (method, SQL, arguments)."""

    last: tuple[str, str, tuple[Any, ...]] | None = None

    async def fetch(self, query: str, *args: Any, **kwargs: Any) -> Any:
        Recording.last = ("fetch", query, args)
        return await super().fetch(query, *args, **kwargs)

    async def fetchrow(self, query: str, *args: Any, **kwargs: Any) -> Any:
        Recording.last = ("fetchrow", query, args)
        return await super().fetchrow(query, *args, **kwargs)


class Capture:
    """Stores over a one-connection recording pool: ``sql(call)`` is the query the store ran for it,
    so the raw baseline and EXPLAIN use the store's SQL to the letter."""

    def __init__(self, stores: Stores) -> None:
        self.stores = stores

    @classmethod
    async def open(cls, target: ConnectionTarget) -> Capture:
        pool = await asyncpg.create_pool(min_size=1, max_size=1, init=init_connection, connection_class=Recording,
                                         **target.connect_kwargs())
        return cls(Stores(PostgresEngine(pool, target)))

    async def sql(self, call: Callable[[Stores], Awaitable[Any]]) -> tuple[str, str, tuple[Any, ...]]:
        Recording.last = None
        await call(self.stores)
        if Recording.last is None:
            raise BenchError("the store ran no query through fetch/fetchrow")
        return Recording.last


def raw_call(pool: asyncpg.Pool) -> Callable[[tuple[str, str, tuple[Any, ...]]], Awaitable[Any]]:
    async def call(query: tuple[str, str, tuple[Any, ...]]) -> Any:
        method, sql, args = query
        async with pool.acquire() as conn:
            return await getattr(conn, method)(sql, *args)
    return call


# ----- plans ---------------------------------------------------------------------------------

def plan_nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node] + [n for child in node.get("Plans", []) for n in plan_nodes(child)]


async def explain(conn: asyncpg.Connection, sql: str, args: tuple[Any, ...], generic: bool) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) with the values bound (a custom plan), or of a prepared
    statement under force_generic_plan (the plan a cached statement may switch to)."""
    async with conn.transaction():
        if generic:
            await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            await conn.execute(f"PREPARE bench_shape AS {sql}")
            text = await conn.fetchval("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE bench_shape("
                                       + ", ".join(literal(a) for a in args) + ")")
            await conn.execute("DEALLOCATE bench_shape")
        else:
            text = await conn.fetchval("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, *args)
    document = json.loads(text)[0]
    nodes = plan_nodes(document["Plan"])
    scans = [n for n in nodes if n.get("Relation Name") == "users"]
    return {
        "plan": "generic" if generic else "custom",
        "nodes": " > ".join(n["Node Type"] + (f" ({n['Index Name']})" if "Index Name" in n else "") for n in nodes),
        "index_scan": any("Index" in n["Node Type"] for n in nodes),
        "seq_scan_on_users": any(n["Node Type"] == "Seq Scan" for n in scans),
        "index_cond": next((n.get("Index Cond") for n in nodes if "Index Cond" in n), None),
        "filter": next((n.get("Filter") for n in nodes if "Filter" in n), None),
        "execution_ms": document["Execution Time"],
        "planning_ms": document["Planning Time"],
        "shared_hit": document["Plan"].get("Shared Hit Blocks", 0),
        "shared_read": document["Plan"].get("Shared Read Blocks", 0),
        "sql": sql,
    }


# ----- the figures ---------------------------------------------------------------------------

def sample_ids(spec: DemoSpec, n: int) -> list[str]:
    rng = random.Random(spec.seed)
    return [f"u{rng.randrange(spec.users):08d}" for _ in range(n)]


async def walk(stores: Stores, filter: dict[str, str] | None, targets: Sequence[int]) -> tuple[dict[int, str | None], float]:
    """Follow cursors from page 1 once; the cursor of each target page (or of the last page,
    when there are fewer pages than a target) and the seconds it took."""
    started = time.monotonic()
    cursors: dict[int, str | None] = {1: None}
    cursor, number = None, 1
    while number < max(targets):
        page: Page = await stores.users.page(TENANT, after=cursor, filter=filter)
        if page.next_cursor is None:
            cursors[number] = cursor
            break
        cursor, number = page.next_cursor, number + 1
        if number in targets:
            cursors[number] = cursor
    return cursors, time.monotonic() - started


async def keyset_pages(report: Report, backend: str, stores: Stores) -> list[tuple[str, dict | None, int, str | None]]:
    """Latency of page 1, 100 and 10,000 (or the last) of each shape; returns the pages measured."""
    section = "keyset page of 50 (users.page)"
    measured = []
    for shape, filter in SHAPES:
        cursors, seconds = await walk(stores, filter, PAGE_NUMBERS)
        report.add(section, f"{shape}: walk to page {max(cursors):,} once", backend, f"{seconds * 1000 / max(cursors):.3f} ms/page",
                   n=max(cursors), walk_s=seconds)
        medians = []  # of full pages only: the last page of a shape may hold a few rows
        for number, cursor in sorted(cursors.items()):
            async def call(_: Any, cursor: str | None = cursor, filter: dict | None = filter) -> Any:
                return await stores.users.page(TENANT, after=cursor, filter=filter)
            label = f"{shape}: page {number:,}" + (" (last)" if number not in PAGE_NUMBERS else "")
            row = report.timing(section, label, backend, await timed(call, [None], KEYSET_CALLS), PAGE_GOAL_MS)
            if number in PAGE_NUMBERS:
                medians.append((number, row["median_ms"]))
            measured.append((shape, filter, number, cursor))
        if len(medians) > 1:
            (_, first), (deepest, last) = medians[0], medians[-1]
            report.add(section, f"{shape}: page {deepest:,} ÷ page 1 (flat: ≈1)", backend, f"{last / first:.2f}×")
    return measured


async def counts(report: Report, backend: str, stores: Stores) -> None:
    section = "counting users of one tenant"
    for label, filter in (("all", None), *SHAPES[1:]):
        exact = await stores.users.count(TENANT, filter=filter)
        estimate = await stores.users.estimate_count(TENANT, filter=filter)
        report.timing(section, f"count ({label}) = {exact:,}", backend,
                      await timed(lambda _: stores.users.count(TENANT, filter=filter), [None], COUNT_CALLS, COUNT_BUDGET_S),
                      value=exact)
        report.timing(section, f"estimate_count ({label}) = {estimate.value:,}{'' if estimate.exact else ' est.'}", backend,
                      await timed(lambda _: stores.users.estimate_count(TENANT, filter=filter), [None], ESTIMATE_CALLS,
                                  COUNT_BUDGET_S),
                      value=estimate.value, exact=estimate.exact, error_pct=round(100 * (estimate.value - exact) / max(exact, 1), 2))


async def bench_postgres(report: Report, target: ConnectionTarget, spec: DemoSpec, iterations: int) -> None:
    pool = await asyncpg.create_pool(min_size=2, max_size=2, init=init_connection, **target.connect_kwargs())
    stores = Stores(PostgresEngine(pool, target))
    capture = await Capture.open(target)
    try:
        report.info["server"] = await server_facts(pool)
        raw = raw_call(pool)
        section = "store vs raw asyncpg, same SQL, same pool"

        ids = sample_ids(spec, 2000)
        get_sql = [await capture.sql(lambda s, uid=uid: s.users.get(TENANT, uid)) for uid in ids]
        await timed(lambda uid: stores.users.get(TENANT, uid), ids, 500)  # warm the cache and the statements
        store_ms, raw_ms = await paired(lambda uid: stores.users.get(TENANT, uid), raw, list(zip(ids, get_sql)), iterations)
        report.ratio(section, "users.get by id", store_ms, raw_ms)

        cursors, _ = await walk(stores, None, range(2, 202))
        after = [cursors.get(number) for number in range(1, 201) if number in cursors]
        page_sql = [await capture.sql(lambda s, c=c: s.users.page(TENANT, after=c)) for c in after]
        await timed(lambda c: stores.users.page(TENANT, after=c), after, 200)
        store_ms, raw_ms = await paired(lambda c: stores.users.page(TENANT, after=c), raw, list(zip(after, page_sql)), iterations)
        report.ratio(section, f"users.page of 50 (pages 1-{len(after)})", store_ms, raw_ms)

        measured = await keyset_pages(report, "postgres store", stores)
        async with pool.acquire() as conn:
            for shape, filter, number, cursor in measured:
                _, sql, args = await capture.sql(lambda s, c=cursor, f=filter: s.users.page(TENANT, after=c, filter=f))
                for generic in (False, True):
                    report.plans.append({"shape": shape, "page": number, **await explain(conn, sql, args, generic)})
        await counts(report, "postgres store", stores)
    finally:
        await capture.stores.close()
        await stores.close()


async def bench_memory(report: Report, spec: DemoSpec, iterations: int) -> None:
    section = "memory backend"
    gc.collect()
    before = rss_mb()
    started = time.monotonic()
    engine = MemoryEngine()
    rows = load_into_memory(engine, spec)
    seconds = time.monotonic() - started
    gc.collect()
    after = rss_mb()
    report.add(section, f"load_into_memory ({sum(rows.values()):,} rows)", "memory", f"{seconds:.1f} s", n=1, load_s=seconds, rows=rows)
    report.add(section, "RSS growth for the loaded data", "memory", f"{after - before:,.0f} MB",
               rss_before_mb=round(before), rss_after_mb=round(after))
    stores = Stores(engine)
    ids = sample_ids(spec, 2000)
    report.timing(section, "users.get by id", "memory", await timed(lambda uid: stores.users.get(TENANT, uid), ids, iterations))
    await keyset_pages(report, "memory", stores)
    await counts(report, "memory", stores)


# ----- command line --------------------------------------------------------------------------

def machine() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "")
    except OSError:
        pass
    return {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "cpus": os.cpu_count(), "cpu_model": model,
            "python": platform.python_version(), "asyncpg": asyncpg.__version__, "platform": platform.platform()}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_stores", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=1_000_000, help="users of the first tenant (default 1,000,000)")
    parser.add_argument("--dsn", help=f"a PostgreSQL database to use (default {DEFAULT_DSN}, created when missing)")
    parser.add_argument("--json", metavar="FILE", help="also write every figure, plan and fact to FILE")
    parser.add_argument("--iterations", type=int, default=5000, help="timed calls per side of each store/raw ratio (default 5000)")
    parser.add_argument("--replace", action="store_true", help="empty a --dsn database that holds other data (default DB: always)")
    parser.add_argument("--reload", action="store_true", help="COPY the demo data again even when it is already there")
    parser.add_argument("--skip", choices=("postgres", "memory"), action="append", default=[], help="leave a backend out")
    args = parser.parse_args(argv)
    if args.users < 1 or args.iterations < 1:
        parser.error("--users and --iterations must be 1 or more")
    return args


async def run(args: argparse.Namespace, report: Report) -> None:
    spec = DemoSpec(users=args.users)
    report.info.update(machine=machine(), users=args.users, iterations=args.iterations)
    if "postgres" not in args.skip:
        target = target_for(args.dsn or DEFAULT_DSN)
        report.info["target"] = target.display()
        try:
            await prepare_database(target, spec, args.replace or args.dsn is None, args.reload, report)
            await bench_postgres(report, target, spec, args.iterations)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            found = diagnose(exc, target.display(), target.secrets())
            raise BenchError(str(found) if found else f"{type(exc).__name__}: {exc}") from None
    if "memory" not in args.skip:
        await bench_memory(report, spec, args.iterations)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = Report()
    started = time.monotonic()
    try:
        asyncio.run(run(args, report))
    except (BenchError, StoreError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 3
    report.info["runtime_s"] = round(time.monotonic() - started, 1)
    report.print()
    print(f"\n{args.users:,} users; {report.info['machine']['cpus']} CPUs; ran {report.info['runtime_s']} s")
    if args.json:
        os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
        with open(args.json, "w") as out:
            json.dump(report.document(), out, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
