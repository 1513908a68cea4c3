"""What a screen, an export, the audit trail or the log may show of a secret.

Secrets sit in three kinds of place, and one rule covers each:

- **Columns.** ``app_keys.secret_hash`` is never shown, nor is any column whose name names
  a secret (``names_secret``: upstream's current layout has ``users.password_hash``);
  ``tenants.db_dsn`` is shown with its password masked (``MASKED_FIELDS``), in clear only on
  an explicit, audited reveal.
- **JSON values** (every ``jsonb`` column, whatever its table): a value under a key that
  names a secret is masked, in nested objects and lists (``mask_json``): a tenant's OAuth
  ``client_secret`` in ``config``, a ``token_secret``, ``credentials`` and all under it.
  String values elsewhere in the JSON go through ``mask_text`` (a ``database_url`` there).
- **Text** (``mask_text``): every form of connection string lokstra-auth's drivers and the
  console's read, and ``key=value`` / ``"key": value`` pairs whose key names a secret.

Key names: a name names a secret when, split into words (``_ - . space`` and camelCase) and
joined, it *ends* with one of ``SECRET_NAME_ENDINGS`` (``client_secret``, ``clientSecret``,
``PGPASSWORD``, ``api_key``, ``X-Api-Key``…) or its last word is one of ``SECRET_NAME_WORDS``
(``pwd``, ``pass``, ``pin``); letter case does not matter, a ``%``-encoded name is decoded
first and a trailing number is ignored (``password2``). The ending, not any occurrence,
decides, so that upstream's settings stay readable: ``password_policy``,
``min_password_length``, ``token_url``, ``secret_length``, ``apikey_config`` are not secrets
(their values are walked, a secret inside them is still found). Under a secret key every
string and number is masked (booleans and nulls hold nothing to hide, an empty string is
shown as empty).

Connection strings (``mask_text``), with the rule each driver reads them by:

- URL user info, any scheme (pgx ``url.Parse``, libpq, asyncpg): ``scheme://user:PW@host``;
  the password is taken to run to the last ``@`` on its line that a host follows (spaces and
  ``@`` included), or, when its line has none, to the first one on the next lines (a raw
  newline in it; libpq and asyncpg accept one), at most ``SPAN`` characters on.
- Go's MySQL form (go-sql-driver/mysql ``ParseDSN``): ``user:PW@net(addr)/db``,
  ``user:PW@tcp/db`` (a standard network, its default address) and ``user:PW@/db``: the
  password runs from the first ``:`` to the last such ``@…/`` on its line or within ``SPAN``
  characters (raw newlines included). ``user@host:port/db``, the way the console shows a
  target, is not this form. Text ``scheme://x@net(addr)/`` is read as a URL (no password),
  not as Go's form with a password starting ``//``: the one ambiguous reading.
- URL query parameters whose key names a secret, the key ``%``-decoded as ``url.ParseQuery``
  and libpq decode it (``?password=``, ``&sslpassword=``, ``?pass%77ord=``), up to the next
  ``&`` (as libpq reads it).
- ``key=value`` (libpq, pgx ``parseDSNSettings``, environment lines): a key that names a
  secret, spaces around ``=``, then a value quoted (``'…'`` with ``\\'`` and ``\\\\``, over
  lines; ``"…"`` as a shell writes it) or unquoted up to unescaped whitespace (a backslash
  escapes the next character, a newline too).
- ``"key": value`` and ``'key': value`` (JSON, Python reprs in log lines).

Masking errs on the side of hiding too much, never too little: the same function scrubs
free text (error messages, log lines) where a DSN may be malformed, so text that only looks
like a form (``note: a@/b``) loses a little too.

Known secrets (``mask_known``: a password from the settings, one typed into a form, a new
key) are masked in any text where they stand as a value: a whole whitespace-delimited token,
inside quotes, after ``=``, between ``:`` and ``@``; a secret of ``UNAMBIGUOUS_LENGTH``
characters or more is masked anywhere. A short one inside a word is left alone: with the
password ``the``, "Password authentication failed" stays readable and does not give the
password away by where the stars are.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, unquote_plus

from stores.models import MAX_JSON_DEPTH, Record

HIDDEN_FIELDS: frozenset[str] = frozenset({"secret_hash"})
"""Never shown, exported or audited (with every column whose name names a secret: ``hidden_field``)."""

MASKED_FIELDS: frozenset[str] = frozenset({"db_dsn"})
"""Shown masked; the clear value only on an explicit, audited reveal."""

MASK = "****"

UNAMBIGUOUS_LENGTH = 8
"""A known secret this long is masked wherever it occurs, inside words too."""

SPAN = 1024
"""How far past its line a URL or Go DSN password without an ``@host`` on that line may run."""



# ----- key names -------------------------------------------------------------------------------

SECRET_NAME_ENDINGS: tuple[str, ...] = (
    "password", "passwd", "passphrase", "secret", "secrets", "token", "apikey", "privatekey", "keypem",
    "secretkey", "accesskey", "signingkey", "encryptionkey", "masterkey", "credential", "credentials",
    "authorization", "passwordhash", "secrethash",
)
"""A key whose joined, lower-cased words end with one of these names a secret."""

SECRET_NAME_WORDS: frozenset[str] = frozenset({"pwd", "pass", "pin"})
"""A key whose last word is one of these names a secret (as endings they would catch ``bypass``)."""

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


@lru_cache(maxsize=4096)
def names_secret(name: str) -> bool:
    """Does the key or column ``name`` name a secret? (See the module docstring.)"""
    words = [word.lower() for word in _WORD.findall(unquote(name))]
    while words and words[-1].isdigit():
        words.pop()
    if not words:
        return False
    return words[-1] in SECRET_NAME_WORDS or "".join(words).endswith(SECRET_NAME_ENDINGS)


def hidden_field(name: str) -> bool:
    """A column never shown, exported or audited: the key hash, a password hash…"""
    return name in HIDDEN_FIELDS or (names_secret(name) and name not in MASKED_FIELDS)


# ----- text ------------------------------------------------------------------------------------

_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*")
_URL_HEAD = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:")
_URL_END = re.compile(r"@[^@/?#\s]*(?:[/?#\s]|$)")
_PORT = re.compile(r"\d+(?=[/?#\r\n]|$)(?![^/@]*@)")
"""After ``scheme://host:`` a port, not a password: digits, then the end of the authority,
and no ``@`` before the next ``/`` (libpq reads user info up to the first ``@`` or ``/``)."""
_GO_HEAD = re.compile(r"(?<![^\s'\"=(,;])(?P<user>[^\s:@/'\"()]*):")
_GO_END = re.compile(r"@(?:[A-Za-z]\w*\([^()\r\n]*\)|tcp[46]?|udp[46]?|unix(?:gram|packet)?|pipe|memory)?/")
"""``@net(addr)/``, ``@net/`` for the standard networks (default address) or ``@/``: what
``ParseDSN`` reads. Not ``@host/``: that is how the console itself shows a target."""
_LINE = re.compile(r"[^\r\n]*")

_QUERY_SECRET = re.compile(r"(?P<head>[?&](?P<key>[^=&#\s]{1,200})=)(?P<value>[^&\r\n]*)")
_KV_SECRET = re.compile(
    r"(?P<head>(?<![^\s'\"(,;])(?P<key>[A-Za-z0-9_.%-]{1,200})\s*=\s*)"
    r"(?P<value>'(?:[^'\\]|\\[\s\S])*'"                  # quoted: \' and \\ escaped (may span lines)
    r"|'(?:[^'\\\r\n]|\\.)*"                             # a quote never closed: the rest of the line
    r"|\"(?:[^\"\\]|\\[\s\S])*\"(?:\\[\s\S]|[^\s\\])*"  # "…" as a shell writes it, then up to whitespace
    r"|(?:\\[\s\S]|[^\s\\])+)")                          # unquoted: up to unescaped whitespace
_QUOTED_KEY_SECRET = re.compile(
    r"(?P<head>(?P<q>[\"'])(?P<key>[^\"'\\\r\n]{1,200})(?P=q)\s*:\s*)"
    r"(?P<value>\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|-?\d[\d.eE+-]*)")


def _last(pattern: re.Pattern[str], text: str, start: int, stop: int) -> int | None:
    found = None
    for found in pattern.finditer(text, start, stop):  # noqa: B007 - keeps the last match
        pass
    return found.start() if found is not None else None


def _url_password_end(text: str, start: int) -> int | None:
    """A URL password ends at the last ``@host`` on its line, else at the first one on the
    next lines (a raw newline in it; at most ``SPAN`` characters on): an ``@`` followed by a
    host is common in text (an email address), so the search stays short."""
    line_end = _LINE.match(text, start).end()  # type: ignore[union-attr]
    last = _last(_URL_END, text, start, line_end)
    if last is None and line_end < len(text):
        found = _URL_END.search(text, line_end, min(len(text), line_end + SPAN))
        last = found.start() if found is not None else None
    return last


def _go_password_end(text: str, start: int) -> int | None:
    """A Go DSN's password ends at the last ``@addr/`` on its line or within ``SPAN``
    characters (as ``ParseDSN`` takes the last '@' of the whole string, raw newlines too)."""
    line_end = _LINE.match(text, start).end()  # type: ignore[union-attr]
    return _last(_GO_END, text, start, min(len(text), max(line_end, start + SPAN)))


def _url_port(text: str, head: re.Match[str]) -> bool:
    return _PORT.match(text, head.end()) is not None


def _url_scheme(text: str, head: re.Match[str]) -> bool:
    """``postgres://…`` is a URL (its own pattern), not Go's ``user:password`` with a password
    starting ``//`` (the one reading of such text that is left unmasked)."""
    return text.startswith("//", head.end()) and _SCHEME.fullmatch(head["user"]) is not None


def _mask_userinfo(text: str, head: re.Pattern[str], password_end: Callable[[str, int], int | None],
                   not_a_password: Callable[[str, re.Match[str]], bool]) -> str:
    """Mask the password after each ``head`` (``…user:``) up to ``password_end``, unless
    ``not_a_password`` says what follows the head is something else (a port, a URL)."""
    out: list[str] = []
    position = 0
    while (found := head.search(text, position)) is not None:
        start = found.end()
        stop = None if not_a_password(text, found) else password_end(text, start)
        out.append(text[position:start])
        if stop is not None and stop > start:
            out.append(MASK)
        position = stop if stop is not None else start
    out.append(text[position:])
    return "".join(out)


def _mask_named(pattern: re.Pattern[str], text: str, mask: Callable[[str], str],
                decode: Callable[[str], str] = unquote) -> str:
    def replace(match: re.Match[str]) -> str:
        if not names_secret(decode(match["key"])):
            return match[0]
        return match["head"] + mask(match["value"])

    return pattern.sub(replace, text)


def _quoted_mask(value: str) -> str:
    """``'x'`` → ``'****'``; a number or an unquoted value → ``****``."""
    return value[0] + MASK + value[0] if value[:1] in ("'", '"') and len(value) > 1 else MASK


def mask_text(text: str) -> str:
    """``text`` with every password of a connection string and every value of a key that
    names a secret replaced by ``****`` (the forms: see the module docstring). Text holding
    none comes back unchanged."""
    if "@" in text:
        text = _mask_userinfo(text, _URL_HEAD, _url_password_end, _url_port)
        text = _mask_userinfo(text, _GO_HEAD, _go_password_end, _url_scheme)
    if "=" in text:  # key=value first: a quoted value may hold "?password=" itself
        text = _mask_named(_KV_SECRET, text, lambda _value: MASK)
        text = _mask_named(_QUERY_SECRET, text, lambda value: MASK if value else "", decode=unquote_plus)
    if ":" in text:
        text = _mask_named(_QUOTED_KEY_SECRET, text, _quoted_mask)
    return text


@lru_cache(maxsize=1024)
def _known(secret: str) -> re.Pattern[str]:
    s = re.escape(secret)
    if len(secret) >= UNAMBIGUOUS_LENGTH:
        return re.compile(rf"(?P<pre>){s}")
    value_end = r"(?![^\s&;,'\"`)\]}>])"
    return re.compile(
        rf"(?<!\S){s}(?!\S)"                          # a whole token
        rf"|(?<='){s}(?=')|(?<=\"){s}(?=\")|(?<=`){s}(?=`)"  # quoted
        rf"|(?P<pre>=[ \t]*){s}{value_end}"           # a value after =
        rf"|(?<=:){s}(?=@)")                          # URL or Go DSN user info


def mask_known(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each known secret masked where it stands as a value (see the module
    docstring). Longer secrets go first, so one that contains another is masked whole."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        if secret in text:
            text = _known(secret).sub(lambda m: (m["pre"] or "") + MASK, text)
    return text


# ----- JSON ------------------------------------------------------------------------------------

def _maskable(value: Any) -> bool:
    return (isinstance(value, str) and value != "") or (isinstance(value, (int, float)) and not isinstance(value, bool))


def mask_json(value: Any, *, secret: bool = False, text: Callable[[str], str] = mask_text, depth: int = 0) -> Any:
    """A copy of the JSON ``value`` with what a secret-naming key holds masked, at any depth
    (``secret``: ``value`` is under such a key); strings elsewhere go through ``text``. Tuples
    stay tuples (for log arguments)."""
    if depth > MAX_JSON_DEPTH:  # deeper than any stored value may be: masked whole
        return MASK
    if isinstance(value, dict):
        return {key: mask_json(item, secret=secret or names_secret(str(key)), text=text, depth=depth + 1)
                for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(mask_json(item, secret=secret, text=text, depth=depth + 1) for item in value)
    if secret and _maskable(value):
        return MASK
    return text(value) if isinstance(value, str) else value


def unmask_json(edited: Any, stored: Any, *, secret: bool = False) -> Any:
    """``edited`` (JSON the operator changed, starting from ``mask_json(stored)``) with each
    value still shown masked taken back from ``stored``, path by path, so that saving a form
    does not overwrite a secret with ``****``. A value the operator typed stays as typed."""
    if isinstance(edited, dict) and isinstance(stored, dict):
        return {key: unmask_json(item, stored[key], secret=secret or names_secret(str(key))) if key in stored else item
                for key, item in edited.items()}
    if isinstance(edited, list) and isinstance(stored, list):
        return [unmask_json(item, stored[i], secret=secret) if i < len(stored) else item
                for i, item in enumerate(edited)]
    shown = mask_json(stored, secret=secret)
    return stored if edited == shown and shown != stored else edited


# ----- rows ------------------------------------------------------------------------------------

def safe_value(field: str, value: Any) -> Any:
    """A column value fit for screens, exports and the audit trail: a hidden column None,
    JSON with its secrets masked, a DSN with its password masked."""
    if hidden_field(field):
        return None
    if isinstance(value, (dict, list)):
        return mask_json(value)
    if field in MASKED_FIELDS and isinstance(value, str):
        return mask_text(value)
    return value


def safe_fields(row: Record) -> dict[str, Any]:
    """Every column but the hidden ones, secrets masked (for exports and the audit)."""
    return {name: safe_value(name, getattr(row, name)) for name in type(row).model_fields if not hidden_field(name)}


def shown_value(row: Any, field: str) -> str:
    """What a screen shows for ``row.field``: secrets masked, JSON pretty-printed, times to
    the second, empty for NULL. Asking for a hidden field is a programming error."""
    if hidden_field(field):
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
    return [(name, shown_value(row, name)) for name in type(row).model_fields if not hidden_field(name)]


_API_KEY_SECRET = re.compile(r"(?<=\S\.)[A-Za-z0-9_-]{43}(?![A-Za-z0-9_=-])")
"""The secret part of a full API key ``{app_id}_{key_id}.{secret}`` (stores/keys.py): 32 random
bytes, base64url without padding, so exactly 43 characters after the dot."""


def scrub(text: str, secrets: list[str]) -> str:
    """Mask each known secret in ``text`` where it stands as a value (``mask_known``:
    not inside words, so a short password leaves prose readable), then whatever still looks
    like one: a connection string's password, a secret-named key's value
    (``mask_text``) and the secret part of a full API key."""
    return _API_KEY_SECRET.sub(MASK, mask_text(mask_known(text, secrets)))
