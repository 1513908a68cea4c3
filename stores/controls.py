"""Control characters in data are shown, never obeyed.

A stored value, a typed or pasted text or a server's message may hold control characters:
C0 (ESC starts a terminal escape sequence: ``\\x1b[2J`` clears the screen,
``\\x1b]52;c;…\\x07`` sets the clipboard of the operator's machine, BEL rings), DEL, and C1
(U+009B is an eight-bit CSI to some terminals). Written to a terminal they act; they must
read as what they are instead. One mapping serves every surface that shows text
(``visible``): the console's screens, the log file, CSV exports and the crash line.

* C0 controls (U+0000–U+001F) but tab and newline → their Unicode control pictures, one
  cell each: ESC → ``␛``, BEL → ``␇``, CR → ``␍`` (U+2400 + the code);
* DEL → ``␡``;
* C1 controls (U+0080–U+009F), which have no pictures → ``\\x9b`` and the like;
* lone surrogates (not storable, but possible in a message) → ``\\udc80`` and the like.

Tab and newline stay: they lay text out and cannot start a sequence. JSON exports keep every
value exact instead: JSON escapes C0 itself and ``escape_json_controls`` escapes DEL and C1
(``\\u007f``, ``\\u009b``), so a file that is ``cat``-ed is inert and reads back the same.
"""
from __future__ import annotations

import re

_PICTURES: dict[int, str] = {code: chr(0x2400 + code) for code in range(0x20) if chr(code) not in "\t\n"}
_PICTURES[0x7F] = "\u2421"
_C1 = range(0x80, 0xA0)
_SURROGATES = range(0xD800, 0xE000)
_VISIBLE: dict[int, str] = {**_PICTURES, **{code: f"\\x{code:02x}" for code in _C1},
                            **{code: f"\\u{code:04x}" for code in _SURROGATES}}
_JSON_ESCAPES: dict[int, str] = {code: f"\\u{code:04x}" for code in (0x7F, *_C1)}

CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
"""What ``visible`` changes (tab and newline are not in it)."""
_ANY_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def visible(text: str) -> str:
    """``text`` with every control character (but tab and newline) shown instead of obeyed."""
    return text.translate(_VISIBLE) if CONTROLS.search(text) else text


def drop_controls(text: str, keep: str = "") -> str:
    """``text`` without its control characters (but those in ``keep``): for what reaches the
    terminal anyway (console.text's guard) and what an operator pastes (typing cannot enter
    a control character either)."""
    if not _ANY_CONTROL.search(text):
        return text
    return "".join(ch for ch in text if ch in keep or not _ANY_CONTROL.match(ch))


def escape_json_controls(dumped: str) -> str:
    """The output of ``json.dumps(..., ensure_ascii=False)`` with DEL and C1 written as
    ``\\u`` escapes too (JSON escapes only C0 by itself): the same JSON value, inert text.
    Those characters can only stand inside JSON strings, so nothing else changes."""
    return dumped.translate(_JSON_ESCAPES)
