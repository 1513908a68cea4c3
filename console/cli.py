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
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"console.commands.{name}")
        except ModuleNotFoundError as exc:  # TODO(issue 4): remove once every command has landed
            if exc.name != f"console.commands.{name}":
                raise
            continue
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command:
        return int(importlib.import_module(f"console.commands.{args.command}").run(args))
    from console.app import LokstraConsole
    from stores import Settings

    settings = Settings(read_only=True) if args.read_only else Settings()
    result = LokstraConsole(settings).run()
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
