"""Mask the literals of a query text before it is shown.

Live query text (``pg_stat_activity.query``) is not normalised: in an auth database it can
carry password hashes, tokens and key secrets. ``mask_literals`` replaces every string
literal by ``'…'`` and every numeric literal by ``?``, and keeps the rest (keywords,
identifiers, quoted identifiers, ``$1`` parameters, comments) so the statement stays
readable. A small tokenizer, not a parser: it knows the SQL lexical rules that decide where a
literal starts and ends (``--`` comments end at a newline or a carriage return, ``''`` inside
strings, ``E'…'`` backslash escapes, dollar quotes, ``U&``/``B``/``X`` prefixes, identifiers
with digits in them). A text cut short by ``track_activity_query_size`` inside a literal is
masked to its end.
"""
from __future__ import annotations

import re

STRING_MASK = "'…'"
NUMBER_MASK = "?"

_DIGITS = frozenset("0123456789")
_NEWLINE = re.compile(r"[\n\r]")


def _is_ident_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_$" or ord(ch) > 127


def _string_end(text: str, start: int, backslashes: bool) -> int:
    """Index after the string literal whose opening quote is at ``start``."""
    i, n = start + 1, len(text)
    while i < n:
        ch = text[i]
        if backslashes and ch == "\\":
            i += 2
            continue
        if ch == "'":
            if i + 1 < n and text[i + 1] == "'":
                i += 2
                continue
            return i + 1
        i += 1
    return n


def _dollar_tag(text: str, start: int) -> str | None:
    """The ``$tag$`` opening a dollar-quoted string at ``start``, or None (``$1`` is a parameter)."""
    end = text.find("$", start + 1)
    if end < 0:
        return None
    tag = text[start + 1:end]
    if tag and (tag[0] in _DIGITS or not all(c.isalnum() or c == "_" or ord(c) > 127 for c in tag)):
        return None
    return text[start:end + 1]


def _number_end(text: str, start: int) -> int:
    """Index after the numeric literal at ``start`` (digits, a point, an exponent, ``_``, 0x…)."""
    i, n = start, len(text)
    if text.startswith(("0x", "0X", "0o", "0O", "0b", "0B"), start):
        i += 2
        while i < n and (text[i].isalnum() or text[i] == "_"):
            i += 1
        return i
    while i < n and (text[i] in _DIGITS or text[i] == "_"):
        i += 1
    if i < n and text[i] == "." and not text.startswith("..", i):
        i += 1
        while i < n and (text[i] in _DIGITS or text[i] == "_"):
            i += 1
    if i < n and text[i] in "eE":
        j = i + 1
        if j < n and text[j] in "+-":
            j += 1
        if j < n and text[j] in _DIGITS:
            i = j
            while i < n and text[i] in _DIGITS:
                i += 1
    return i


def _line_end(text: str, start: int) -> int:
    """Where the ``--`` comment at ``start`` ends: PostgreSQL's lexer stops it at \\n or \\r."""
    found = _NEWLINE.search(text, start)
    return found.start() if found else len(text)


def mask_literals(text: str) -> str:
    """``text`` with string literals as ``'…'`` and numeric literals as ``?``."""
    out: list[str] = []
    i, n = 0, len(text)
    plain = 0  # start of the text not yet copied
    while i < n:
        ch = text[i]
        if ch == "-" and text.startswith("--", i):
            i = _line_end(text, i)
        elif ch == "/" and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif ch == '"':
            end = text.find('"', i + 1)
            while end >= 0 and text.startswith('""', end):
                end = text.find('"', end + 2)
            i = n if end < 0 else end + 1
        elif ch == "'":
            backslashes = i > 0 and text[i - 1] in "eE" and (i == 1 or not _is_ident_char(text[i - 2]))
            end = _string_end(text, i, backslashes)
            out.append(text[plain:i])
            out.append(STRING_MASK)
            i = plain = end
        elif ch == "$":
            tag = _dollar_tag(text, i)
            if tag is None or (i > 0 and _is_ident_char(text[i - 1])):
                i += 1  # $1, or a $ inside an identifier
                while i < n and text[i] in _DIGITS:
                    i += 1
                continue
            close = text.find(tag, i + len(tag))
            end = n if close < 0 else close + len(tag)
            out.append(text[plain:i])
            out.append(STRING_MASK)
            i = plain = end
        elif ch in _DIGITS or (ch == "." and i + 1 < n and text[i + 1] in _DIGITS):
            if i > 0 and (_is_ident_char(text[i - 1])):
                i += 1  # a digit inside an identifier (t1, col_2)
                continue
            end = _number_end(text, i)
            out.append(text[plain:i])
            out.append(NUMBER_MASK)
            i = plain = end
        elif _is_ident_char(ch):
            i += 1
            while i < n and _is_ident_char(text[i]):
                i += 1
        else:
            i += 1
    out.append(text[plain:])
    return "".join(out)
