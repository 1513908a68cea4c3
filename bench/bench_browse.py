"""Entity browser benchmark: keypress → rendered page at 1M users in one tenant on
PostgreSQL, and the console's RSS while paging through 1,000 pages.

    python -m bench.bench_browse [--users 1000000] [--dsn URL] [--repeat 30] [--pages 1000]

The real ``BrowseScreen`` runs headless at 80x24 under Textual's Pilot. A filter is typed
into the / prompt (the value is set, then 0.2 s pass, as typing would take) and Enter is
timed. A keypress is
timed from just before Pilot sends the key to the moment the screen's page was painted
(``BrowseScreen.painted_at``: a ``call_after_refresh`` after the table was updated, so
the compositor has drawn it). Every figure is measured in the same run; background work
(the exact count after a new filter) is let finish between samples so it never overlaps
one. Goals: ≤ 50 ms each, flat (page 1 ≈ middle ≈ last); RSS ≤ 150 MB and not growing.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/lokstra_bench_browse"
TENANT = "acme-corp"
PREFIXES = ("alice.", "bob.", "carol.", "dave.", "erin.", "frank.", "grace.", "heidi.", "ivan.", "judy.")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def prepare(dsn: str, users: int) -> None:
    """Create, migrate and fill the bench database unless it already holds exactly ``users``."""
    import asyncpg

    from stores.demo import DemoSpec, write_demo
    from stores.postgres.engine import init_connection

    server_dsn, name = dsn.rsplit("/", 1)
    admin = await asyncpg.connect(f"{server_dsn}/postgres")
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "console", "migrate", "up", "--dsn", dsn,
                                                stdout=asyncio.subprocess.DEVNULL)
    if await proc.wait() not in (0,):
        raise SystemExit("migrating the bench database failed")
    conn = await asyncpg.connect(dsn)
    try:
        await init_connection(conn)
        have = await conn.fetchval("SELECT count(*) FROM lokstra_auth.users WHERE tenant_id = $1", TENANT)
        if have != users:
            print(f"loading {users:,} users into {name} (COPY) …", flush=True)
            started = time.perf_counter()
            await write_demo(conn, DemoSpec(users=users), replace=True)
            await conn.execute("VACUUM (ANALYZE)")
            print(f"  loaded in {time.perf_counter() - started:.1f} s", flush=True)
    finally:
        await conn.close()


async def middle_cursor(dsn: str, users: int) -> str:
    import asyncpg

    from stores.query import encode_cursor

    conn = await asyncpg.connect(dsn)
    try:
        username = await conn.fetchval(
            'SELECT username FROM lokstra_auth.users WHERE tenant_id = $1 ORDER BY username COLLATE "C" '
            "OFFSET $2 LIMIT 1", TENANT, users // 2)
    finally:
        await conn.close()
    return encode_cursor("username", username)


class Driver:
    """Presses keys on the browser and times them until the page is painted."""

    def __init__(self, pilot: Any) -> None:
        self.pilot = pilot
        self.app = pilot.app

    @property
    def screen(self) -> Any:
        return self.app.screen

    async def quiet(self) -> None:
        await self.app.workers.wait_for_complete()
        await self.pilot.pause()

    async def painted(self, after: int, started: float, timeout: float = 30.0) -> float:
        deadline = time.perf_counter() + timeout
        screen = self.screen
        while not (screen.generation > after and screen.painted_generation == screen.generation):
            if time.perf_counter() > deadline:
                raise RuntimeError(f"no page painted; problem: {screen.query_one('#problem').render()}")
            await asyncio.sleep(0.0005)
        return (screen.painted_at - started) * 1000

    async def press(self, key: str) -> float:
        before = self.screen.generation
        started = time.perf_counter()
        await self.pilot.press(key)
        return await self.painted(before, started)

    async def submit_prompt(self, key: str, text: str) -> float:
        """Open the / or : prompt, fill it, and time Enter → painted page."""
        from textual.widgets import Input

        await self.pilot.press(key)
        self.screen.query_one("#prompt", Input).value = text
        await self.pilot.pause(0.2)  # typing takes a person longer than this: the prompt has settled
        return await self.press("enter")


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"n": len(samples), "median_ms": statistics.median(samples), "p95_ms": p95, "max_ms": max(samples)}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from console.app import LokstraConsole
    from console.browse.paging import Anchor, Position
    from console.config import ConsoleConfig
    from stores import Settings

    await prepare(args.dsn, args.users)
    middle = await middle_cursor(args.dsn, args.users)
    settings = Settings(use_postgres=True, database_url=args.dsn, pool_min_size=1, pool_max_size=4)
    app = LokstraConsole(settings, config=ConsoleConfig())
    results: dict[str, Any] = {"users": args.users, "repeat": args.repeat}
    async with app.run_test(size=(80, 24), headless=True) as pilot:
        drive = Driver(pilot)
        while not (app.stores is not None and drive.screen.painted_generation >= 0):
            await asyncio.sleep(0.01)
        await drive.quiet()
        results["open_users_list_ms"] = await drive.submit_prompt("colon", f"users {TENANT}")
        await drive.quiet()
        print(f"page size {drive.screen.page_size()} rows; title {drive.screen.query_one('#crumbs').right!r}", flush=True)
        first, middle_times, last, prefix = [], [], [], []
        for round_ in range(args.repeat):
            await drive.quiet()
            first.append(await drive.press("home"))
            # the cursor jump: stand at the middle of the index (a cursor, as a jump would give), then PageDown
            state = drive.screen.frame.state
            state.position = Position(Anchor("after", middle), args.users // 2 + 1, None)
            drive.screen.reload_page()
            await drive.quiet()
            middle_times.append(await drive.press("pagedown"))
            await drive.quiet()
            last.append(await drive.press("end"))
            await drive.quiet()
            prefix.append(await drive.submit_prompt("slash", PREFIXES[round_ % len(PREFIXES)]))
            await drive.quiet()
            await drive.submit_prompt("slash", "")  # back to the whole list (not timed)
        results["page_1"] = summary(first)
        results["middle_page"] = summary(middle_times)
        results["last_page"] = summary(last)
        results["prefix_filter"] = summary(prefix)
        results["title_at_end"] = drive.screen.query_one("#crumbs").right
        await drive.quiet()
        await drive.press("home")
        await drive.quiet()
        rss = [(0, rss_mb())]
        walk: list[float] = []
        for page in range(1, args.pages + 1):
            walk.append(await drive.press("pagedown"))
            if page % max(args.pages // 4, 1) == 0:
                rss.append((page, rss_mb()))
        results["walk"] = summary(walk)
        results["rss_mb"] = rss
        results["title_after_walk"] = drive.screen.query_one("#crumbs").right
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--dsn", default=DEFAULT_DSN)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--json", help="also write every figure to this file")
    args = parser.parse_args()
    results = asyncio.run(run(args))
    print(f"\nbrowser at {args.users:,} users in {TENANT}, PostgreSQL, 80x24, keypress → painted page")
    print(f"  open the user list (:users, with the estimate): {results['open_users_list_ms']:.1f} ms")
    for name in ("page_1", "middle_page", "last_page", "prefix_filter"):
        s = results[name]
        print(f"  {name:<14} median {s['median_ms']:6.1f} ms  p95 {s['p95_ms']:6.1f} ms  max {s['max_ms']:6.1f} ms"
              f"  (n={s['n']}, goal ≤ 50 ms)")
    ratio = results["last_page"]["median_ms"] / results["page_1"]["median_ms"]
    print(f"  flatness: last ÷ page 1 = {ratio:.2f}x, middle ÷ page 1 = "
          f"{results['middle_page']['median_ms'] / results['page_1']['median_ms']:.2f}x")
    w = results["walk"]
    print(f"  {args.pages:,} PageDowns: median {w['median_ms']:.1f} ms, p95 {w['p95_ms']:.1f} ms; "
          f"title then {results['title_after_walk']!r}")
    print("  RSS: " + ", ".join(f"{mb:.0f} MB after {page}" for page, mb in results["rss_mb"]) + " (goal ≤ 150 MB, flat)")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({**results, "pid": os.getpid()}, indent=2, default=str))


if __name__ == "__main__":
    main()
