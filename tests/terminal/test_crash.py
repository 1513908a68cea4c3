"""Issue 13 item 2: a crash is never a traceback on the operator's terminal.

The console runs in a pseudo-terminal of its own, as over SSH (tests/terminal/ptyconsole.py),
with one fault put in (tests/terminal/crashing.py): an exception raised while a widget
renders, one in a screen's unmount handler while ctrl+q shuts down, and one in the app's
own unmount handler, which Textual raises out of ``App.run()`` after the terminal is
restored. Each time the terminal, once the TUI has left it, holds exactly one line, scrubbed
(the DSN's password masked), with no traceback and no local variable; the process exits
with code 1; the log file has the traceback, scrubbed as well. The same holds for the
``:foo`` of issue 13 (a MarkupError raised while a notification rendered, and again while
shutting down), which no longer happens: the last test types it and the console answers.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests.terminal.crashing import SECRET
from tests.terminal.ptyconsole import _ESCAPES, PtyConsole, console_env

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a Linux pseudo-terminal")

LEAVE_SCREEN = b"\x1b[?1049l"
"""Textual leaves the alternate screen with this: what follows is on the operator's terminal."""


def _after_the_tui(raw: bytes) -> list[str]:
    """The lines written after the TUI left the terminal, escape sequences removed."""
    tail = raw.rsplit(LEAVE_SCREEN, 1)[-1]
    text = _ESCAPES.sub(b"", tail).decode("utf-8", "replace").replace("\r", "")
    return [line for line in text.split("\n") if line.strip()]


def _run(tmp_path: Path, where: str, *keys: str) -> tuple[int | None, bytes, str]:
    console = PtyConsole([], console_env(tmp_path), tmp_path)
    console.args = [sys.executable, "-m", "tests.terminal.crashing", where]
    console.start()
    try:
        console.wait_for("f1 Help")  # the footer is drawn: the console takes keys
        console.wait_for("acme-corp")
        console.press(*keys)
        took = console.gone_within(15)
        assert took is not None, f"the console did not end; it showed: {console.text()[-800:]!r}"
        code = console.proc.poll() if console.proc else None
        raw = bytes(console.raw)
    finally:
        console.close()
    return code, raw, (tmp_path / "console.log").read_text(encoding="utf-8")


@pytest.mark.parametrize("where, keys, what", [
    ("render", ("enter",), "rendering the crumbs"),
    ("screen-unmount", ("ctrl+q",), "unmounting the browser"),
    ("app-unmount", ("ctrl+q",), "unmounting the console"),
])
def test_a_crash_leaves_one_scrubbed_line_and_the_details_in_the_log(tmp_path: Path, where: str,
                                                                     keys: tuple[str, ...], what: str) -> None:
    code, raw, log = _run(tmp_path, where, *keys)
    lines = _after_the_tui(raw)
    expected = (f"lokstra-console stopped: RuntimeError: {what} failed for postgres://app:****@db.internal/x "
                f"(the details are in the log: {tmp_path / 'console.log'})")
    assert lines == [expected], f"the terminal got: {lines!r}"
    assert code == 1
    for text in (raw.decode("utf-8", "replace"), log):
        assert SECRET not in text and "typed_password" not in text
    assert b"Traceback" not in raw and b'File "' not in raw
    assert "Traceback (most recent call last)" in log and "in _fail" in log and what in log
    assert re.search(r"console stopped \(exit code 1\)", log)


def test_the_unknown_jump_of_issue_13_is_answered_not_a_crash(tmp_path: Path) -> None:
    """``:foo`` Enter on the memory demo: the console says what a jump understands (the usage
    holds ``TENANT[/APP]``, which Textual parsed as markup and died on) and goes on; ctrl+q ends
    it with exit code 0 and nothing on the terminal afterwards."""
    console = PtyConsole([], console_env(tmp_path), tmp_path).start()
    try:
        console.wait_for("acme-corp")
        console.press(":", "f", "o", "o", "enter")
        mark = console.mark()
        console.wait_for("Cannot jump")
        console.wait_for("TENANT[/APP]")
        console.press("escape", "ctrl+q")
        assert console.gone_within(15) is not None
        code = console.proc.poll() if console.proc else None
        raw = bytes(console.raw)
    finally:
        console.close()
    assert code == 0, console.text(mark)[-800:]
    assert _after_the_tui(raw) == [] and b"Traceback" not in raw
