"""Console benchmarks: time to first screen against a bare Textual app in the same run,
and the CPU the console uses while idle with its health check running.

    python -m bench.bench_console [--runs 10] [--idle 20] [--dsn postgresql://...]

Each measurement is a fresh subprocess (bench/console_probe.py), so imports count, as
they do for an operator starting the console over SSH. Goals: first screen ≤ 1.5× the
bare app (Header + DataTable + Footer); idle CPU under 1% of a core.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys


def probe(kind: str, *extra: str) -> dict[str, float]:
    output = subprocess.run([sys.executable, "-m", "bench.console_probe", kind, *extra],
                            capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of idle measured after the first screen")
    parser.add_argument("--dsn", help="also measure the console on this migrated PostgreSQL database")
    args = parser.parse_args()

    bare: list[float] = []
    console: list[float] = []
    for _ in range(args.runs):  # interleaved, so machine noise hits both alike
        bare.append(probe("bare")["first_screen_s"])
        console.append(probe("console")["first_screen_s"])
    b, c = statistics.median(bare), statistics.median(console)
    print(f"first screen, median of {args.runs}: bare Textual app {b * 1000:.0f} ms, "
          f"console on memory demo {c * 1000:.0f} ms, ratio {c / b:.2f}x (goal <= 1.5x)")
    if args.dsn:
        pg = statistics.median(probe("console", "--dsn", args.dsn)["first_screen_s"] for _ in range(args.runs))
        print(f"first screen, console on PostgreSQL {pg * 1000:.0f} ms, ratio {pg / b:.2f}x")
    idle = probe("console", "--idle", str(args.idle), *(("--dsn", args.dsn) if args.dsn else ()))
    where = "PostgreSQL (health check every 5 s)" if args.dsn else "memory"
    print(f"idle CPU over {args.idle:.0f} s on {where}: {idle['idle_cpu_percent']:.2f}% of a core (goal < 1%)")


if __name__ == "__main__":
    main()
