"""Hints phrased for where they are shown.

The store layer says what to do in one phrasing (a command: ``Run `lokstra-console migrate
up```), since it does not know who reads it. Shown inside the TUI, a command the operator
would have to leave the console for is the wrong advice: ``for_tui`` points to the screen
that does the same. On the command line, ``for_cli`` keeps the command and, when the
operator named the database with ``--dsn``, says to pass it again (a bare ``migrate up``
would reach another database, or none).
"""
from __future__ import annotations

import re

COMMAND = re.compile(r"`lokstra-console (?P<command>[a-z][a-z -]*?)`")
"""A console command quoted in a hint."""

IN_THE_TUI: dict[str, str] = {
    "migrate up": "the Migrations screen (2): apply the pending migrations",
    "migrate status": "the Migrations screen (2)",
    "migrate adopt": "the Migrations screen (2): adopt",
    "check": "the Monitor's Capabilities tab (4)",
}
"""What a quoted command is inside the TUI, by command."""

ALREADY_BOTH = re.compile(r"\(Migrations screen, or `lokstra-console migrate up`\)")


def for_tui(text: str) -> str:
    """``text`` with every quoted console command replaced by the screen that does it."""
    text = ALREADY_BOTH.sub("(the Migrations screen, 2)", text)

    def screen(match: re.Match[str]) -> str:
        return IN_THE_TUI.get(match.group("command").strip(), match.group(0))

    return COMMAND.sub(screen, text).replace("Run the Migrations screen", "Open the Migrations screen") \
        .replace("Run the Monitor's", "Open the Monitor's")


def for_cli(text: str, dsn_given: bool) -> str:
    """``text`` with ``--dsn`` added to every quoted command when the operator used it."""
    if not dsn_given:
        return text

    def with_dsn(match: re.Match[str]) -> str:
        return f"`lokstra-console {match.group('command').strip()} --dsn DSN` (the same --dsn)"

    return COMMAND.sub(with_dsn, text)
