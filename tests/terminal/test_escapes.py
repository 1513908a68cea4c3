"""Issue 13 item 4, on a real terminal: terminal escapes stored in the data stay inert.

A database of the throwaway cluster holds a tenant, an app, a user, a branch and a key whose
names carry ESC sequences (clear the screen, OSC 52 to set the clipboard, OSC 0 to set the
title, BEL, an 8-bit CSI) and markup (tests/support/hostile.py). ``python3 -m console`` runs on
it in tmux at 80x24; keys walk the tenant list, the detail pane, the tenant's apps, users and
audit trail, an app's branches and keys, and the user's edit form. Every byte the console
writes to the pane is kept (``pipe-pane``): none of the data's sequences is in it, while the
pane (``capture-pane``) shows them as text, ESC as ␛. tmux itself would have acted on them:
with ``set-clipboard on`` an OSC 52 makes a paste buffer (there is none afterwards) and OSC 0
sets the pane's title (it is unchanged).
"""
from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

import pytest

from stores import open_stores
from tests.support.databases import pg_settings, truncate_all
from tests.support.hostile import ESCAPES, HOSTILE, MARK, seed_hostile, shown
from tests.support.server import run_sync
from tests.terminal.ptyconsole import ROOT, console_env
from tests.terminal.test_tmux import Tmux, tmux_available  # noqa: F401 - the fixture

pytestmark = pytest.mark.postgres


async def _seed(dsn: str) -> None:
    stores = await open_stores(pg_settings(dsn))
    try:
        await truncate_all(stores)
        await seed_hostile(stores)
    finally:
        await stores.close()


def test_escapes_in_stored_names_reach_the_pane_as_text_only(tmux_available: None, migrated_db: str,  # noqa: F811
                                                              tmp_path: Path) -> None:
    h = HOSTILE
    run_sync(lambda: _seed(migrated_db))
    tmux = Tmux(tmp_path, "xterm-256color")
    with tmux.config.open("a", encoding="utf-8") as config:
        config.write("set -g set-clipboard on\nset -g allow-rename on\n")
    raw_file = tmp_path / "pane.raw"
    env = console_env(tmp_path, {"USE_POSTGRES": "true", "DATABASE_URL": migrated_db})
    tmux.start(f"{shlex.quote(sys.executable)} -m console", env, ROOT)
    try:
        tmux.tmux("pipe-pane", "-o", "-t", "console", f"cat >> {shlex.quote(str(raw_file))}")
        title_before = tmux.pane("#{pane_title}")
        screens: list[str] = []
        screens.append(tmux.wait_for("POSTGRES", h.tenant_id))           # the tenant list
        tmux.keys("i")
        screens.append(tmux.wait_for("db_dsn"))                          # its detail pane
        tmux.keys("Escape", "Enter")
        screens.append(tmux.wait_for(f"▸ {h.tenant_id} ▸ apps", shown(h.app_name)[:10]))
        tmux.keys("Tab")
        screens.append(tmux.wait_for("▸ users", shown(h.username)[:10]))
        tmux.keys("Tab", "Tab")
        screens.append(tmux.wait_for("▸ audit"))
        tmux.keys("Escape", "Enter", "Enter")                            # back in, into the app
        screens.append(tmux.wait_for("▸ branches", h.branch_code))
        tmux.keys("Tab")
        screens.append(tmux.wait_for("▸ keys", shown(h.key_name)[:12]))
        tmux.keys("Escape", "Tab")
        tmux.wait_for("▸ users", shown(h.username)[:10])
        tmux.keys("e")
        screens.append(tmux.wait_for("Edit user", "username"))          # the form, the value in an input
        tmux.keys("Escape", "Enter")
        screens.append(tmux.wait_for(" grants ", "▸ users ▸ "))             # the crumb holds the username
        tmux.keys("C-q")
        deadline = time.monotonic() + 10
        while tmux.pane("#{pane_dead}") != "1" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert tmux.pane("#{pane_dead}") == "1", f"the console did not end:\n{tmux.text()}"
        buffers = tmux.tmux("list-buffers")
        title_after = tmux.pane("#{pane_title}")
    finally:
        tmux.kill()

    seen = "\n".join(screens)
    for text in ("␛[2J", "␛]52;c;UFdORUQ=␇", "␛]0;pwned␇", "\\x9b6n", "[/APP]", "[@click=app.quit]"):
        assert text in seen, f"{text!r} is not shown as text on any pane"
    headers = [screen.split("\n")[0] for screen in screens if "Edit user" not in screen]  # the form covers it
    assert len(headers) == len(screens) - 1 and all(line.startswith(" POSTGRES") for line in headers), \
        f"a screen lost its header (cleared?): {headers}"
    raw = raw_file.read_bytes()
    assert len(raw) > 10_000, "the pane's bytes were not captured"
    for sequence in ("\x1b]52;", "\x1b]0;pwned", "UFdORUQ=\x07", "\x9b6n", f"{MARK}A\x1b", f"{MARK}U\x1b",
                     f"{MARK}K[@click=app.quit]\x1b", ESCAPES):
        assert sequence.encode() not in raw, f"{sequence!r} reached the terminal"
    assert buffers.strip() == "", f"an OSC 52 reached tmux: {buffers!r}"
    assert title_after == title_before and "pwned" not in title_after
