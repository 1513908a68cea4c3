"""Subcommands of ``lokstra-console`` that work without the terminal UI.

Each module exposes ``add_parser(subparsers) -> None`` (which also sets ``run`` as the
parser's default, for ``args.run(args)``) and ``run(args) -> int`` returning the exit code:
0 ok / current, 1 pending work or a failed check, 2 usage, 3 backend unavailable.
"""
