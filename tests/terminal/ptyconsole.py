"""Run ``python3 -m console`` in a pseudo-terminal of its own, as over SSH, and hang it up.

The child is a session leader whose controlling terminal is the pty's slave side, so closing
the master side makes the kernel send it SIGHUP, as sshd's exit does for a dropped session.
A thread drains the master side all along (a full pty buffer would stall the child); what
the console drew is searched with its escape sequences removed, which is enough to wait for a
dialog's words. For reading the screen as laid out, see test_tmux.py.
"""
from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

KEYS: dict[str, bytes] = {
    "enter": b"\r", "tab": b"\t", "escape": b"\x1b", "right": b"\x1b[C", "left": b"\x1b[D",
    "up": b"\x1b[A", "down": b"\x1b[B", "f1": b"\x1bOP", "ctrl+q": b"\x11",
}
_ESCAPES = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[PX^_][^\x1b]*\x1b\\|\x1b[()][0-9A-Za-z]|\x1b[=>78]")

SETTINGS_VARIABLES = ("USE_POSTGRES", "DATABASE_URL", "DB_HOST", "DB_PORT", "DB_USER", "DB_PASSWORD", "DB_NAME",
                      "DB_SSL_MODE", "PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSSLMODE",
                      "LOKSTRA_DEMO_DATA", "LOKSTRA_READ_ONLY", "LOKSTRA_ENVIRONMENT")


def console_env(folder: Path, extra: Mapping[str, str] = (), term: str = "xterm-256color") -> dict[str, str]:
    """The environment of a console under test: none of the caller's database settings, its
    own (absent) settings file and its own log file in ``folder``."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES and not k.startswith("LOKSTRA_CONSOLE")}
    env.update({
        "TERM": term, "COLUMNS": "80", "LINES": "24", "PYTHONPATH": str(ROOT),
        "LOKSTRA_CONSOLE_CONFIG": str(folder / "config.toml"), "LOKSTRA_CONSOLE_LOG": str(folder / "console.log"),
        "PYTHONUNBUFFERED": "1",
    })
    env.pop("TEXTUAL", None)  # no devtools
    env.update(dict(extra))
    return env


class PtyConsole:
    """One console (or subcommand) process on a pty of ``cols`` x ``rows``."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str], cwd: Path, cols: int = 80, rows: int = 24) -> None:
        self.args = [sys.executable, "-m", "console", *args]
        self.env = dict(env)
        self.cwd = cwd
        self.size = (rows, cols)
        self.raw = bytearray()
        self.lock = threading.Lock()
        self.master: int | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        self.closing = threading.Event()
        self.drainer: threading.Thread | None = None

    def start(self) -> PtyConsole:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", self.size[0], self.size[1], 0, 0))

        def controlling_terminal() -> None:  # runs in the child, after setsid (start_new_session)
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(self.args, cwd=self.cwd, env=self.env, stdin=slave, stdout=slave, stderr=slave,
                                     start_new_session=True, preexec_fn=controlling_terminal, close_fds=True)
        os.close(slave)
        self.master = master
        self.started = time.monotonic()
        self.drainer = threading.Thread(target=self._drain, args=(master,), daemon=True)
        self.drainer.start()
        return self

    def _drain(self, master: int) -> None:
        """Read until asked to close, then close the master side here: a descriptor closed by
        another thread while this one sits in read() stays open until that read returns, and
        the terminal would not hang up."""
        try:
            while not self.closing.is_set():
                if not select.select([master], [], [], 0.02)[0]:
                    continue
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO once the child side is gone
                    chunk = b""
                if not chunk:
                    self.closing.wait()
                    break
                with self.lock:
                    self.raw += chunk
        finally:
            os.close(master)

    # -- reading -------------------------------------------------------------------------------
    def mark(self) -> int:
        with self.lock:
            return len(self.raw)

    def text(self, since: int = 0) -> str:
        """What was drawn since ``since``, escape sequences and line breaks removed."""
        with self.lock:
            data = bytes(self.raw[since:])
        plain = _ESCAPES.sub(b"", data).decode("utf-8", "replace")
        return re.sub(r"[\x00-\x1f\x7f]", "", plain)

    def wait_for(self, needle: str, since: int = 0, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.text(since):
                return
            if self.proc is not None and self.proc.poll() is not None:
                break
            time.sleep(0.05)
        tail = self.text(since)[-1500:]
        raise AssertionError(f"{needle!r} never showed (exit code {self.proc.poll() if self.proc else None}); "
                             f"the terminal got: {tail!r}")

    # -- typing and hanging up -------------------------------------------------------------------
    def press(self, *keys: str) -> None:
        for key in keys:
            assert self.master is not None
            os.write(self.master, KEYS.get(key, key.encode()))
            time.sleep(0.05)  # one key per read: Textual tells a lone Escape from a sequence by timing

    def hang_up(self, how: str) -> None:
        """``close``: the master side goes away (sshd exiting); ``signal``: SIGHUP to the group."""
        assert self.proc is not None
        if how == "close":
            self._close_master()
        else:
            try:
                os.killpg(self.proc.pid, signal.SIGHUP)
            except ProcessLookupError:
                pass

    def gone_within(self, seconds: float) -> float | None:
        """Seconds until the process ended, or None if it still runs after ``seconds``."""
        assert self.proc is not None
        started = time.monotonic()
        try:
            self.proc.wait(seconds)
        except subprocess.TimeoutExpired:
            return None
        return time.monotonic() - started

    def group_alive(self) -> bool:
        """Whether any process of the console's session is left (a child it started, say)."""
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def close(self) -> None:
        """Make sure nothing is left, whatever the test did."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(5)
        self._close_master()

    def _close_master(self) -> None:
        if self.master is not None and self.drainer is not None:
            self.closing.set()
            self.drainer.join(5)
            self.master = None
