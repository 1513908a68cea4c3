"""Reading SQL text: splitting a migration file into statements, locating an error position.

The runner sends each migration file to the server whole (as lokstra's runner does), so
nothing here decides what runs. The split is for people: dry runs print one statement at a
time, failures name the line, and the source check looks for session-level search_path
changes. It understands quotes, dollar quotes and both comment styles, which is all a
statement boundary needs.
"""
from __future__ import annotations

import re

_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")
_SESSION_SEARCH_PATH = re.compile(r"^SET\s+(SESSION\s+)?search_path\b", re.IGNORECASE)


def split_statements(sql: str) -> list[str]:
    """The statements of ``sql`` without their trailing semicolons and leading comments."""
    statements: list[str] = []
    start = 0
    i = 0
    length = len(sql)
    while i < length:
        char = sql[i]
        if char == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            i = length if end < 0 else end + 1
        elif char == "/" and sql.startswith("/*", i):
            i = _skip_block_comment(sql, i)
        elif char in ("'", '"'):
            i = _skip_quoted(sql, i, char)
        elif char == "$" and (match := _DOLLAR_TAG.match(sql, i)):
            end = sql.find(match.group(0), match.end())
            i = length if end < 0 else end + len(match.group(0))
        elif char == ";":
            statements.append(sql[start:i])
            i += 1
            start = i
        else:
            i += 1
    statements.append(sql[start:])
    cleaned = (strip_leading_comments(text) for text in statements)
    return [text for text in cleaned if text]


def strip_leading_comments(statement: str) -> str:
    """``statement`` without the comment lines and blank lines before its first keyword."""
    text = statement.strip()
    while text.startswith("--") or text.startswith("/*"):
        if text.startswith("--"):
            end = text.find("\n")
            text = "" if end < 0 else text[end + 1:].strip()
        else:
            text = text[_skip_block_comment(text, 0):].strip()
    return text


def session_search_path_lines(sql: str) -> list[str]:
    """Statements that change search_path for the whole session (``SET`` without ``LOCAL``)."""
    return [statement for statement in split_statements(sql) if _SESSION_SEARCH_PATH.match(statement)]


def line_of(sql: str, position: int | str | None) -> int | None:
    """1-based line of a server error ``position`` (1-based character offset into ``sql``)."""
    if position in (None, ""):
        return None
    offset = int(position)
    if offset < 1 or offset > len(sql) + 1:
        return None
    return sql.count("\n", 0, offset - 1) + 1


def _skip_block_comment(sql: str, i: int) -> int:
    """Index just after the (possibly nested) block comment opening at ``i``."""
    depth = 0
    length = len(sql)
    while i < length:
        if sql.startswith("/*", i):
            depth += 1
            i += 2
        elif sql.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    return length


def _skip_quoted(sql: str, i: int, quote: str) -> int:
    """Index just after the quoted string or identifier opening at ``i`` (doubled quotes escape)."""
    i += 1
    length = len(sql)
    while i < length:
        if sql[i] == quote:
            if i + 1 < length and sql[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    return length


_WORD = re.compile(r"[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*|[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?")


def normalise_body(body: str) -> str:
    """A function body reduced to what it means to the server, for comparing two spellings.

    PostgreSQL keeps a PL/pgSQL or SQL function's body as written (``prosrc``), so a body
    written ``NEW.updated_at = now();`` and one written ``NEW.updated_at = NOW();`` differ as
    text yet are the same function. Here comments go, white space only separates tokens, and
    unquoted words (keywords and identifiers, which the server folds to lower case) are lower
    cased; string literals, quoted identifiers and dollar-quoted text stay exactly as written,
    since case and spacing matter inside them.
    """
    tokens: list[str] = []
    i = 0
    length = len(body)
    while i < length:
        char = body[i]
        if char.isspace():
            i += 1
        elif char == "-" and body.startswith("--", i):
            end = body.find("\n", i)
            i = length if end < 0 else end + 1
        elif char == "/" and body.startswith("/*", i):
            i = _skip_block_comment(body, i)
        elif char in ("'", '"'):
            end = _skip_quoted(body, i, char)
            tokens.append(body[i:end])
            i = end
        elif char == "$" and (match := _DOLLAR_TAG.match(body, i)):
            close = body.find(match.group(0), match.end())
            end = length if close < 0 else close + len(match.group(0))
            tokens.append(body[i:end])
            i = end
        elif word := _WORD.match(body, i):
            tokens.append(word.group(0).lower())
            i = word.end()
        else:
            tokens.append(char)
            i += 1
    return " ".join(tokens)
