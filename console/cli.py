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
    from pydantic import ValidationError

    from console.app import LokstraConsole
    from console.config import ConsoleConfig, config_path

    try:
        config = ConsoleConfig()
        if args.profile and config.profile(args.profile) is None:
            print(f"lokstra-console: no profile named {args.profile!r} in {config_path()}", file=sys.stderr)
            return 2
        app = LokstraConsole(config=config, profile=args.profile, read_only=args.read_only)
    except ValidationError as exc:
        print(settings_problem(exc), file=sys.stderr)
        return 2
    except ValueError as exc:  # e.g. a DATABASE_URL that is not a postgres:// URL
        print(f"lokstra-console: bad settings: {exc}", file=sys.stderr)
        return 2
    return int(app.run() or 0)


def settings_problem(exc: object) -> str:
    """Bad settings (environment, .env or the settings file) as one line per field, without the
    values given: a mistyped variable may be a password."""
    lines = ["lokstra-console: bad settings (environment, .env or the settings file):"]
    for error in exc.errors():  # type: ignore[attr-defined]
        field = ".".join(str(part) for part in error["loc"]) or "value"
        lines.append(f"  {field}: {error['msg'].removeprefix('Value error, ')}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
