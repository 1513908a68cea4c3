"""Run one app headless in this process and report, as JSON on stdout, when its first
useful screen was shown and how much CPU it used while idle afterwards.

Used by bench/bench_console.py in a fresh subprocess per run, so imports count.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time

STARTED = time.perf_counter()


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def bare_app():  # noqa: ANN201 - a Textual App
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable, Footer, Header

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield Header()
            yield DataTable(id="table")
            yield Footer()

        def on_mount(self) -> None:
            table = self.query_one(DataTable)
            table.add_columns("id", "name", "status", "apps", "users")
            for index in range(3):
                table.add_row(f"t{index}", f"Tenant {index}", "active", "5", "400")

    return Bare()


def console_app(dsn: str | None):  # noqa: ANN201 - a Textual App
    from console.app import LokstraConsole
    from console.config import ConsoleConfig
    from stores import Settings

    settings = Settings(use_postgres=True, database_url=dsn) if dsn else Settings()
    return LokstraConsole(settings, config=ConsoleConfig())


async def measure(kind: str, dsn: str | None, idle: float) -> dict[str, float]:
    from textual.widgets import DataTable

    app = bare_app() if kind == "bare" else console_app(dsn)
    result: dict[str, float] = {}
    async with app.run_test(size=(80, 24), headless=True) as pilot:
        while True:
            tables = app.screen.query(DataTable)
            if tables and tables.first().row_count:
                break
            await asyncio.sleep(0.002)
        await pilot.pause()
        result["first_screen_s"] = time.perf_counter() - STARTED
        if idle:
            cpu_before, wall_before = cpu_seconds(), time.perf_counter()
            await asyncio.sleep(idle)
            result["idle_cpu_percent"] = 100 * (cpu_seconds() - cpu_before) / (time.perf_counter() - wall_before)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["bare", "console"])
    parser.add_argument("--dsn")
    parser.add_argument("--idle", type=float, default=0.0)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.kind, args.dsn, args.idle))))


if __name__ == "__main__":
    main()
