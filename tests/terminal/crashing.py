"""``python3 -m tests.terminal.crashing WHERE``: the console (console.cli.main, as
``python3 -m console`` runs it) with one fault put in, for tests/terminal/test_crash.py.

WHERE is where the exception is raised:

* ``render``: while the crumb line renders, once the operator has gone into a tenant (Enter);
* ``screen-unmount``: in the Browse screen's unmount handler, while ctrl+q shuts down;
* ``app-unmount``: in the app's own unmount handler, after its stores are closed; Textual
  calls that one outside its message loop, so the error leaves ``App.run()`` itself.

Each raises RuntimeError with a DSN whose password is ``SECRET`` in its message and holds the
secret in a local variable, as a handler with a password in hand would.
"""
from __future__ import annotations

import sys
from typing import Any

SECRET = "Crash-Pw-4431"


def _fail(where: str) -> None:
    typed_password = SECRET  # noqa: F841 - a local Textual's own handler would print
    raise RuntimeError(f"{where} failed for postgres://app:{SECRET}@db.internal/x")


def install(where: str) -> None:
    from console.app import LokstraConsole
    from console.screens.browse import BrowseScreen
    from console.widgets.crumbs import Crumbs

    if where == "render":
        render = Crumbs.render

        def failing_render(self: Crumbs) -> Any:
            if len(self.parts) > 1:
                _fail("rendering the crumbs")
            return render(self)

        Crumbs.render = failing_render  # type: ignore[method-assign]
    elif where == "screen-unmount":
        def failing_unmount(self: BrowseScreen) -> None:
            _fail("unmounting the browser")

        BrowseScreen.on_unmount = failing_unmount  # type: ignore[attr-defined]
    elif where == "app-unmount":
        unmount = LokstraConsole.on_unmount

        async def failing_app_unmount(self: LokstraConsole) -> None:
            await unmount(self)
            _fail("unmounting the console")

        LokstraConsole.on_unmount = failing_app_unmount  # type: ignore[method-assign]
    else:
        raise SystemExit(f"unknown fault {where!r}")


if __name__ == "__main__":
    install(sys.argv[1])
    from console.cli import main

    sys.exit(main([]))
