"""An exception in plain words for the screen: the one rule every screen uses (headless).

The store layer's own message when it has one; else the diagnosis of a connection problem
(``stores.postgres.diagnose``); else the database's message with its SQLSTATE, or the
exception's type and text; never a secret (``secrets`` are scrubbed out), never a traceback."""
from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from stores.errors import StoreError
from stores.postgres.diagnose import diagnose
from stores.secrets import scrub


def in_words(exc: BaseException, *, where: str | None = None, secrets: Sequence[str] = (),
             writing_file: bool = False) -> str:
    """``exc`` for the screen. ``where`` names the database it happened on; ``writing_file``: an
    OSError is the file's (cannot write it), not the network's."""
    if isinstance(exc, StoreError):
        return str(exc)
    if writing_file and isinstance(exc, OSError):
        return f"cannot write the file: {exc.strerror or exc}"
    hidden = list(secrets)
    if not writing_file and (found := diagnose(exc, where, hidden)) is not None:
        return str(found)
    if isinstance(exc, asyncpg.PostgresError):
        return scrub(f"{exc.sqlstate}: {exc}", hidden)
    return scrub(f"{type(exc).__name__}: {exc}", hidden)
