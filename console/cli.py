"""``lokstra-console``: no arguments starts the TUI; subcommands work without a terminal UI.

Exit codes scripts can rely on: 0 ok, 1 failed check / pending work, 2 usage, 3 backend unavailable.
"""
from __future__ import annotations

import argparse
import importlib
import sys

SUBCOMMANDS = ("status", "check", "migrate", "copy", "drill", "demo")
"""Modules in ``console.commands``, each with ``add_parser(subparsers)`` and ``run(args) -> int``."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lokstra-console", description="Admin console for lokstra-auth deployments.")
    parser.add_argument("--read-only", action="store_true", help="open every database session read-only")
    parser.add_argument("--profile", help="the connection profile (from the settings file) to open")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"console.commands.{name}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command:
        return int(importlib.import_module(f"console.commands.{args.command}").run(args))
    from console.app import LokstraConsole
    from console.config import ConsoleConfig

    config = ConsoleConfig()
    if args.profile and config.profile(args.profile) is None:
        print(f"lokstra-console: no profile named {args.profile!r} in the settings file", file=sys.stderr)
        return 2
    result = LokstraConsole(config=config, profile=args.profile, read_only=args.read_only).run()
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
