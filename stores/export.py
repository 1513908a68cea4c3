"""Export every row of a list (not only the page on screen) to CSV or JSON, secrets stripped.

Rows are streamed: the list's keyset ``page()`` is walked with ``next_cursor``, 500 rows a
time, and each page is written before the next is asked for, so an export of a million
users holds one page in memory. ``secret_hash`` is left out, ``db_dsn`` and the secrets in
JSON values masked (``stores.secrets.safe_value``). The file is written beside the target under a temporary
name and renamed at the end: a failed or cancelled export leaves no half file.

CSV only: a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
is written with a leading ``'``, because spreadsheets run such a cell as a formula (a user's
``full_name`` of ``=HYPERLINK(…)`` would otherwise be a link to anywhere, CSV injection). The
apostrophe is a change of the value: ``-1`` stored as text comes back as ``'-1``. JSON keeps
every value as stored.

Control characters (a username holding ``\x1b[2J`` or an OSC 52 sequence) must not act on a
terminal the file is ``cat``-ed to. JSON writes them as ``\u001b`` escapes (JSON escapes C0
itself; DEL and C1 are escaped too, ``stores.controls.escape_json_controls``): inert, and the
value reads back exactly. CSV has no escapes: its text cells show them as the screens do (ESC
as ``␛``, ``stores.controls.visible``; tab and newline stay), a change of the value like the
apostrophe above; its JSON cells keep JSON's escapes. For an exact copy of such data, export
JSON (or ``lokstra-console copy``).
"""
from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import fields, is_dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel

from stores.controls import escape_json_controls, visible
from stores.query import Page
from stores.secrets import hidden_field, safe_value

EXPORT_PAGE_SIZE = 500

PageFetch = Callable[[str | None, int], Awaitable[Page[Any]]]
"""``fetch(after, limit)``: one page of the list being exported."""


def export_format(path: str | Path) -> str:
    """"json" for a ``.json`` target, else "csv"."""
    return "json" if str(path).lower().endswith(".json") else "csv"


def field_names(row_type: type) -> list[str]:
    """The columns an export has for rows of ``row_type`` (hidden fields left out)."""
    if isinstance(row_type, type) and issubclass(row_type, BaseModel):
        names = list(row_type.model_fields)
    elif is_dataclass(row_type):
        names = [f.name for f in fields(row_type)]
    else:
        raise TypeError(f"cannot export rows of type {row_type!r}")
    return [name for name in names if not hidden_field(name)]


def safe_row(row: Any, names: list[str]) -> dict[str, Any]:
    return {name: safe_value(name, getattr(row, name)) for name in names}


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet read a CSV cell as a formula (OWASP's CSV injection list)."""


def _csv_text(text: str) -> str:
    """``text`` made inert for spreadsheets (a leading ``'`` when it could start a formula)
    and terminals (control characters shown)."""
    return visible("'" + text if text.startswith(FORMULA_STARTS) else text)


def _csv_value(value: Any) -> str:
    if isinstance(value, str):
        return _csv_text(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return escape_json_controls(json.dumps(value, ensure_ascii=False, sort_keys=True, default=_json_default))
    return str(value)


class _Writer:
    def __init__(self, out: TextIO, kind: str) -> None:
        self.out = out
        self.kind = kind
        self.names: list[str] | None = None
        self.rows = 0
        self._csv = csv.writer(out) if kind == "csv" else None

    def start(self, names: list[str]) -> None:
        self.names = names
        if self._csv is not None:
            self._csv.writerow(names)
        else:
            self.out.write("[")

    def write(self, row: Any) -> None:
        assert self.names is not None
        values = safe_row(row, self.names)
        if self._csv is not None:
            self._csv.writerow([_csv_value(values[name]) for name in self.names])
        else:
            self.out.write(",\n" if self.rows else "\n")
            self.out.write(escape_json_controls(json.dumps(values, ensure_ascii=False, default=_json_default)))
        self.rows += 1

    def finish(self) -> None:
        if self.kind == "json":
            if self.names is None:
                self.out.write("[")
            self.out.write("\n]\n" if self.rows else "]\n")


async def export_rows(fetch: PageFetch, path: str | Path, *, row_type: type | None = None,
                      format: str | None = None, page_size: int = EXPORT_PAGE_SIZE,
                      progress: Callable[[int], None] | None = None) -> int:
    """Write every row ``fetch`` pages through to ``path`` (CSV or JSON by ``format`` or the
    extension); returns the number of rows. ``row_type`` gives the columns when the list is
    empty (and is otherwise taken from the first row). ``progress(rows so far)`` is called
    after each page."""
    target = Path(path).expanduser()
    kind = format or export_format(target)
    if kind not in ("csv", "json"):
        raise ValueError(f"unknown export format {kind!r}: csv or json")
    folder = target.parent if str(target.parent) else Path(".")
    handle, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            writer = _Writer(out, kind)
            if row_type is not None:
                writer.start(field_names(row_type))
            after: str | None = None
            while True:
                page = await fetch(after, page_size)
                for row in page.rows:
                    if writer.names is None:
                        writer.start(field_names(type(row)))
                    writer.write(row)
                if progress is not None:
                    progress(writer.rows)
                if page.next_cursor is None:
                    break
                after = page.next_cursor
            writer.finish()
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return writer.rows
