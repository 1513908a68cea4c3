"""What a screen, an export or the audit trail may show of a row's secret columns.

Two columns of lokstra-auth hold secrets: ``tenants.db_dsn`` (a connection string that may
carry a password) and ``app_keys.secret_hash`` (a hash, but still never listed upstream).
The hash is never shown; the DSN is shown with its password masked, in both the URL form
(``postgres://app:****@host/db``) and the libpq key=value form (``host=h password=****``).

Masking errs on the side of hiding too much, never too little, because the same function scrubs
free text (error messages, log lines) where a DSN may be malformed: a URL password is taken to
run from ``scheme://user:`` to the last ``@`` on its line that a host follows (spaces and ``@``
included), a ``?password=`` value up to the next ``&`` (as libpq reads it), and an unquoted
key=value password as libpq reads it: up to unescaped whitespace (quotes and ``\\ `` are part
of it).
"""
from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from stores.models import Record

HIDDEN_FIELDS: frozenset[str] = frozenset({"secret_hash"})
"""Never shown, exported or audited."""

MASKED_FIELDS: frozenset[str] = frozenset({"db_dsn"})
"""Shown masked; the clear value only on an explicit, audited reveal."""

MASK = "****"

_URL_PASSWORD = re.compile(
    r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)"
    r"(?P<pw>[^\r\n]*)"                          # greedy: up to the last @ on the line …
    r"(?=@[^@/?#\s]*(?:[/?#\s]|$))")              # … that a host (maybe empty) follows
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&](?:password|sslpassword)=)(?P<pw>[^&\r\n]*)", re.I)
_KV_PASSWORD = re.compile(
    r"(?P<head>(?<![?&\w])(?:password|sslpassword)\s*=\s*)"
    r"(?P<pw>'(?:[^'\\]|\\.)*'"                  # quoted: \' and \\ escaped (may span lines)
    r"|'(?:[^'\\\r\n]|\\.)*"                     # a quote never closed: the rest of the line
    r"|(?:\\.|[^\s\\])+)",                        # unquoted: up to unescaped whitespace
    re.I)


def mask_dsn(dsn: str) -> str:
    """``dsn`` with every password replaced by ``****`` (URL user info, ``?password=``,
    key=value ``password=``, quoted or not). Text that is no DSN comes back unchanged."""
    masked = _URL_PASSWORD.sub(lambda m: m["head"] + (MASK if m["pw"] else ""), dsn)
    masked = _QUERY_PASSWORD.sub(lambda m: m["head"] + MASK, masked)
    return _KV_PASSWORD.sub(lambda m: m["head"] + MASK, masked)


def safe_value(field: str, value: Any) -> Any:
    """A column value fit for exports and the audit trail: masked DSN, no hash (None)."""
    if field in HIDDEN_FIELDS:
        return None
    if field in MASKED_FIELDS and isinstance(value, str):
        return mask_dsn(value)
    return value


def safe_fields(row: Record) -> dict[str, Any]:
    """Every column but the hidden ones, secrets masked (for exports and the audit)."""
    return {name: safe_value(name, getattr(row, name)) for name in type(row).model_fields if name not in HIDDEN_FIELDS}


def shown_value(row: Record, field: str) -> str:
    """What a screen shows for ``row.field``: DSN masked, JSON pretty-printed, times to the
    second, empty for NULL. Asking for a hidden field is a programming error."""
    if field in HIDDEN_FIELDS:
        raise KeyError(f"{field} is never shown")
    value = safe_value(field, getattr(row, field))
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def shown_fields(row: Record) -> list[tuple[str, str]]:
    """(field, shown value) for every field a screen may show, in column order."""
    return [(name, shown_value(row, name)) for name in type(row).model_fields if name not in HIDDEN_FIELDS]
