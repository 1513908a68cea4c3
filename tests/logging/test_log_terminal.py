"""Nothing the logging sees reaches the terminal the TUI owns: not a record of any level, not
a warning, not an exception in a thread, not an "exception ignored" report, not a handler's
own failure. Checked on a bare process (its stdout and stderr must stay empty) and on the
console itself in a pseudo-terminal with a backend that fails.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.terminal.ptyconsole import ROOT, PtyConsole, console_env

NOISE = textwrap.dedent("""
    import asyncio, gc, logging, sys, threading, warnings
    from pathlib import Path
    from console.logs import setup_logging

    setup_logging(debug=True, path=Path(sys.argv[1]))
    log = logging.getLogger("anything")
    log.debug("a debug record"); log.info("an info record")
    log.warning("a warning record"); log.error("an error record"); log.critical("a critical record")
    logging.getLogger("asyncpg").error("a library's error")
    log.error("a broken format %d", "not a number")           # the handler's own failure
    warnings.warn("a python warning")

    def fails():
        raise RuntimeError("in a thread")
    thread = threading.Thread(target=fails, name="worker-thread"); thread.start(); thread.join()

    class Bad:
        def __del__(self):
            raise RuntimeError("in __del__")
    Bad(); gc.collect()

    async def main():
        async def task():
            raise RuntimeError("never retrieved")
        asyncio.get_running_loop().create_task(task())
        await asyncio.sleep(0.05)
    asyncio.run(main()); gc.collect()
""")


def test_no_log_output_on_stdout_or_stderr(tmp_path: Path) -> None:
    log = tmp_path / "console.log"
    done = subprocess.run([sys.executable, "-c", NOISE, str(log)], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == "", f"printed: {done.stdout!r} {done.stderr!r}"
    text = log.read_text(encoding="utf-8")
    for expected in ("a debug record", "a critical record", "a library's error", "a python warning",
                     "uncaught exception in thread worker-thread", "in __del__", "never retrieved"):
        assert expected in text, f"{expected!r} is not in the log:\n{text}"


def test_the_console_on_a_failing_backend_writes_no_log_line_on_its_terminal(tmp_path: Path) -> None:
    """``python3 -m console --debug`` in a pty with a refused DATABASE_URL: the log gets the
    failures, the terminal shows the console only (no record's text, no password)."""
    password = "Pty-Pw-Kd40"
    env = console_env(tmp_path, {"USE_POSTGRES": "true", "DB_CONNECT_TIMEOUT": "2",
                                 "DATABASE_URL": f"postgresql://app:{password}@127.0.0.1:1/auth"})
    console = PtyConsole(["--debug"], env, tmp_path).start()
    try:
        console.wait_for("Backend unavailable")
        console.wait_for("● down")
        console.press("ctrl+q")
        assert console.gone_within(10) is not None, "ctrl+q did not end the console"
    finally:
        console.close()
    shown = console.text()
    log = (tmp_path / "console.log").read_text(encoding="utf-8")
    assert "WARNING lokstra.console: backend unavailable" in log
    assert "lokstra.console:" not in shown and "Traceback" not in shown
    assert password not in shown and password not in log
