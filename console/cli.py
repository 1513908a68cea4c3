"""``lokstra-console``: no arguments starts the TUI; subcommands work without a terminal UI.

Exit codes scripts can rely on: 0 ok, 1 failed check / pending work, 2 usage, 3 backend unavailable.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import threading
import time
from typing import Any

SUBCOMMANDS = ("status", "check", "migrate", "copy", "drill", "demo")
"""Modules in ``console.commands``, each with ``add_parser(subparsers)`` and ``run(args) -> int``."""
HANGUP_GRACE_SECONDS = 3.0
"""How long the console may take to leave cleanly after its terminal hung up."""
HANGUP_EXIT_CODE = 128 + signal.SIGHUP

log = logging.getLogger("lokstra.console")


def build_parser() -> argparse.ArgumentParser:
    from console.logs import LOG_ENV

    parser = argparse.ArgumentParser(
        prog="lokstra-console", description="Admin console for lokstra-auth deployments.",
        epilog=f"The log file (rotating, 0600, secrets masked) is ${LOG_ENV}, else "
               "$XDG_STATE_HOME/lokstra-console/console.log, else ~/.local/state/lokstra-console/console.log; "
               "F1 in the console shows it.")
    parser.add_argument("--read-only", action="store_true", help="open every database session read-only")
    parser.add_argument("--debug", action="store_true", help="write DEBUG records to the log file (default INFO)")
    parser.add_argument("--profile", help="the connection profile (from the settings file) to open")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"console.commands.{name}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from console.logs import setup_logging

    # The log first: reading .env may warn (python-dotenv), and nothing but the console's own
    # lines may land on the terminal.
    setup_logging(debug=args.debug)
    if args.command:
        _start_logging(args, None)
        exit_on_hangup(None)
        try:
            code = int(importlib.import_module(f"console.commands.{args.command}").run(args))
            sys.stdout.flush()
        except BrokenPipeError:  # the reader of our output went away (``| head``): leave quietly
            code = 0
        finally:
            _quiet_closed_stdout()
        return code
    from console.app import LokstraConsole
    from console.target import TargetError, resolve

    try:
        resolved = resolve(profile=args.profile, read_only=args.read_only)
        app = LokstraConsole(resolved=resolved)
    except TargetError as exc:
        print(f"lokstra-console: {exc}" + (f"\n{exc.fix}" if exc.fix else ""), file=sys.stderr)
        return 2
    _start_logging(args, app)
    exit_on_hangup(app)
    code = run_console(app)
    log.info("console stopped (exit code %s)", code)
    return code


def _quiet_closed_stdout() -> None:
    """A stdout whose reader left would make Python print a BrokenPipeError at exit's flush."""
    from console.commands.common import silence

    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        silence(sys.stdout)


def run_console(app: Any) -> int:
    """Run the TUI; whatever raises, the terminal gets one scrubbed line, the log the details.

    An error in a handler, a worker or a render reaches ``LokstraConsole._fatal_error``;
    one raised while Textual shuts down (an unmount handler, a render of the last frame)
    leaves ``App.run()`` itself, after the terminal is restored, and would otherwise end in
    Python's traceback on the operator's terminal."""
    try:
        code = int(app.run() or 0)
    except Exception as exc:
        app.stopped_by(exc)
        code = 1
    if app.stop_line is not None:
        try:
            print(app.stop_line, file=sys.stderr, flush=True)
        except OSError:  # the terminal is gone (a hang-up): the log has it
            pass
        return 1
    return app.return_code or code  # 129 after a hang-up


def _start_logging(args: argparse.Namespace, app: Any) -> None:
    """The log file, told every password known at start so that none is ever written."""
    from console.logs import register_dsn, register_settings_secrets

    if app is not None:
        register_settings_secrets(app.settings, app.config.profiles.values())
    else:
        try:
            from stores.settings import Settings

            register_settings_secrets(Settings())
        except Exception:  # bad settings: the subcommand says so itself
            pass
        register_dsn(getattr(args, "dsn", None))
    log.info("lokstra-console %s started (pid %s)", args.command or "console", os.getpid())


def exit_on_hangup(app: Any) -> None:
    """A dropped SSH session hangs the terminal up (SIGHUP): leave promptly instead of lingering
    on a terminal that is gone, even when SIGHUP was ignored by whoever started us (nohup).

    A subcommand ends at once, as SIGHUP does by default; the server rolls back a transaction
    whose connection closes, so a copy or a migration is all done or not at all. The console
    exits the normal way (workers cancelled, the pool closed), and since restoring a terminal
    that is gone may block, a watchdog ends the process after ``HANGUP_GRACE_SECONDS``.

    Python runs signal handlers in the main thread only, and the kernel may deliver SIGHUP to
    any thread: with the main thread asleep in the event loop's poll the handler would wait for
    the next timer (seconds). The signal therefore wakes a thread of ours through
    ``signal.set_wakeup_fd``, and that thread asks the app to exit.
    """
    if threading.current_thread() is not threading.main_thread():  # signal handlers live in the main thread only
        return
    if app is None:
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        return
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    signal.signal(signal.SIGHUP, lambda signum, frame: None)  # the watcher acts; the default would kill at once
    threading.Thread(target=_watch_hangup, args=(app, read_end), name="hangup-watch", daemon=True).start()


def _watch_hangup(app: Any, read_end: int) -> None:
    """Wait for SIGHUP (the wakeup fd carries the number of every signal Python handles)."""
    while True:
        received = os.read(read_end, 64)
        if not received:
            return
        if signal.SIGHUP in received:
            break
    log.warning("the terminal hung up (SIGHUP): exiting")
    threading.Thread(target=_end_after_grace, name="hangup-watchdog", daemon=True).start()
    try:
        app.call_from_thread(app.exit, return_code=HANGUP_EXIT_CODE)
    except RuntimeError:  # the app is not running (yet, or any more)
        os._exit(HANGUP_EXIT_CODE)


def _end_after_grace() -> None:
    time.sleep(HANGUP_GRACE_SECONDS)
    log.warning("still running %.0f s after the hang-up: ending the process", HANGUP_GRACE_SECONDS)
    os._exit(HANGUP_EXIT_CODE)


def settings_problem(exc: object) -> str:
    """Bad settings as one line naming each setting and its rule, never the value given."""
    from console.target import settings_problem as problem

    return "lokstra-console: " + problem(exc)  # type: ignore[arg-type]


if __name__ == "__main__":
    sys.exit(main())
