"""Fuzzing the secret masker: no generated password survives on any surface (issue 18 item 3).

Hypothesis builds passwords from distinctive pieces (runs of capitals and digits, which
nothing else in the DSNs has) joined by the characters that break naive maskers (``@ : / ?
# & = ' " \\``, space, newline, tab, ``%``, ``+``, ``;``, non-ASCII, an RTL mark), and writes
each into a connection string in every form a driver accepts, encoded the way that driver
reads it; each form's parser, re-implemented from the driver's source, first checks that the
DSN really carries that password. The tenant then holds it in ``db_dsn`` and, for the JSON
rule, as an OAuth ``client_secret`` and in a ``database_url`` inside ``config``. No piece of
the password may appear in:

- ``mask_text`` of the DSN (which must still show the host: masking everything is no answer),
- the detail pane's text (``shown_value``), the audit's record (``safe_fields``), the edit
  diff (``console.edit.fields.diff``), CSV and JSON exports (``export_rows``, read back),
- the log: ``diagnose.scrub`` with no known secret and the log file's filter
  (``console.logs.ScrubSecrets``) on a careless line that prints the DSN.

``LOKSTRA_FUZZ_EXAMPLES=N`` (or ``--fuzz-examples N``) gives each form N/3 DSNs: the default
run writes 100 per form (900 in all, ~15–20 s on 2 cores; each example writes two export files).
"""
from __future__ import annotations

import asyncio
import json
import logging
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, quote, quote_plus, unquote, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.edit.fields import diff, form_fields
from console.logs import ScrubSecrets
from stores.export import export_rows
from stores.models import Tenant
from stores.postgres.diagnose import scrub
from stores.query import Page
from stores.secrets import mask_text, safe_fields, shown_value
from tests.support.factories import tenant

HOST = "db.internal"
PIECE = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ23456789", min_size=4, max_size=6)
SPECIALS = ["@", ":", "/", "?", "#", "&", "=", "'", '"', "\\", " ", "\n", "\t", "%", "+", ";", ",", "é", "日",
            "🔑", "\u200f", "(", ")", "$", "%40", "%2F", "\\'", "' ", "@tcp(", ")/", "//", "password="]


@st.composite
def passwords(draw: st.DrawFn, allowed: Callable[[str], bool] = lambda _c: True) -> tuple[str, list[str]]:
    """(password, its distinctive pieces): pieces joined by runs of odd characters, maybe
    with odd characters at either end too. ``allowed`` filters the odd ones."""
    odd = st.lists(st.sampled_from([s for s in SPECIALS if all(allowed(c) for c in s)]), min_size=1, max_size=3)
    pieces = draw(st.lists(PIECE, min_size=1, max_size=4))
    parts = ["".join(draw(odd))] if draw(st.booleans()) else []
    for number, piece in enumerate(pieces):
        if number:
            parts.append("".join(draw(odd)))
        parts.append(piece)
    if draw(st.booleans()):
        parts.append("".join(draw(odd)))
    return "".join(parts), pieces


# ----- each driver's reading, from its source ----------------------------------------------------

def pgx_keyword_values(text: str) -> dict[str, str]:
    """pgx's ``parseDSNSettings`` (jackc/pgx pgconn/config.go): key up to ``=`` trimmed, value
    after spaces: quoted up to an unescaped ``'``, else up to an ASCII space, ``\\\\`` and
    ``\\'`` unescaped."""
    settings: dict[str, str] = {}
    spaces = " \t\n\r\v\f"
    while text:
        key, _, text = text.partition("=")
        key, text = key.strip(spaces), text.lstrip(spaces)
        if text.startswith("'"):
            text, end = text[1:], 0
            while end < len(text) and text[end] != "'":
                end += 2 if text[end] == "\\" else 1
            assert end < len(text), "unterminated quoted string"
        else:
            end = 0
            while end < len(text) and text[end] not in spaces:
                end += 2 if text[end] == "\\" else 1
        value, text = text[:end], text[end + 1:]
        settings[key] = value.replace("\\\\", "\\").replace("\\'", "'")
    return settings


def libpq_keyword_value_password(text: str) -> str:
    """libpq's ``conninfo_parse`` (fe-connect.c) for an unquoted value: up to whitespace,
    every ``\\x`` is x."""
    raw = text.split("password=", 1)[1]
    out, i = [], 0
    while i < len(raw) and not raw[i].isspace():
        if raw[i] == "\\":
            i += 1
        out.append(raw[i])
        i += 1
    return "".join(out)


def go_mysql_password(dsn: str) -> str:
    """go-sql-driver/mysql ``ParseDSN`` (dsn.go): the last '/', the last '@' before it, the
    first ':' before that."""
    slash = dsn.rindex("/")
    at = dsn.rindex("@", 0, slash)
    return dsn[dsn.index(":", 0, at) + 1:at]


def libpq_url_password(dsn: str) -> str:
    """libpq's ``conninfo_uri_parse_options``: user info up to the first '@' or '/', the
    password after its first ':', %-decoded."""
    rest = dsn.split("://", 1)[1]
    end = min(i for i in (rest.find("@"), rest.find("/"), len(rest)) if i >= 0)
    return unquote(rest[:end].split(":", 1)[1])


# ----- the forms --------------------------------------------------------------------------------

Form = tuple[st.SearchStrategy[tuple[str, list[str]]], Callable[[str], str], Callable[[str], str]]
"""(passwords it can carry, password → DSN, DSN → the password its driver reads)."""

RAW_IN_URL = "@/?#%\t\n\r"  # what must be %-encoded in URL user info for asyncpg (urllib) and pgx (url.Parse)


def _kv(password_pair: str, order: int) -> str:
    pairs = [f"host={HOST}", "port=5432", "user=acme_app", password_pair, "dbname=acme", "sslmode=require"]
    pairs.insert(order % len(pairs), pairs.pop(3))
    return " ".join(pairs)


def _kv_quoted(password: str) -> str:
    escaped = password.replace("\\", "\\\\").replace("'", "\\'")
    return _kv(f"password = '{escaped}'", len(password))


def _kv_unquoted(password: str) -> str:
    escaped = "".join("\\" + c if c in "\\' \t\n" else c for c in password)
    return _kv(f"password={escaped}", len(password))


FORMS: dict[str, Form] = {
    "url, %-encoded": (
        passwords(),
        lambda pw: f"postgresql://acme_app:{quote(pw, safe='')}@{HOST}:5432/acme?sslmode=require",
        lambda dsn: unquote(urlsplit(dsn).password or "")),
    "url, raw where drivers allow it": (
        passwords(lambda c: c not in RAW_IN_URL),
        lambda pw: f"postgres://acme_app:{pw}@{HOST}:5432,{HOST}:5433/acme",
        libpq_url_password),
    "url, raw newline (libpq)": (
        passwords(lambda c: c not in "@/%"),
        lambda pw: f"postgres://acme_app:{pw}@{HOST}/acme",
        libpq_url_password),
    "url query, %-encoded key": (
        passwords(),
        lambda pw: f"postgres://acme_app@{HOST}/acme?sslmode=require&pass%77ord={quote_plus(pw)}&connect_timeout=5",
        lambda dsn: parse_qs(urlsplit(dsn).query)["password"][0]),
    "url query, password": (
        passwords(),
        lambda pw: f"postgresql://{HOST}/acme?user=acme_app&password={quote(pw, safe='')}",
        lambda dsn: parse_qs(urlsplit(dsn).query)["password"][0]),
    "key=value, quoted": (passwords(), _kv_quoted, lambda dsn: pgx_keyword_values(dsn)["password"]),
    "key=value, unquoted": (
        passwords(lambda c: c not in "\r\f\v"), _kv_unquoted, libpq_keyword_value_password),
    "go mysql, tcp": (
        passwords(),
        lambda pw: f"acme_app:{pw}@tcp({HOST}:3306)/acme?parseTime=true",
        go_mysql_password),
    "go mysql, unix socket": (
        passwords(),
        lambda pw: f"acme_app:{pw}@unix(/run/mysqld/mysqld.sock)/acme",
        go_mysql_password),
}


# ----- the surfaces -----------------------------------------------------------------------------

async def _exports(row: Tenant, folder: Path) -> str:
    async def fetch(_after: str | None, _limit: int) -> Page[Tenant]:
        return Page([row], None)

    texts = []
    for name in ("tenants.csv", "tenants.json"):
        await export_rows(fetch, folder / name, row_type=Tenant)
        texts.append((folder / name).read_text(encoding="utf-8"))
    return "\n".join(texts)


def _logged(text: str) -> str:
    record = logging.LogRecord("lokstra.test", logging.INFO, __file__, 1, "tenant saved with %s and %r",
                               (text, {"db_dsn": text}), None)
    ScrubSecrets().filter(record)
    return record.getMessage()


def surfaces(dsn: str, password: str, folder: Path) -> dict[str, str]:
    """Every text a DSN and a JSON secret reach, as the console would show or write it."""
    before = tenant("acme", db_dsn="postgres://acme_app:old@db/acme")
    row = tenant("acme", db_dsn=dsn, config={"oauth2_config": {"providers": [
        {"name": "google", "client_id": "cid", "client_secret": password}]}, "db": {"database_url": dsn}})
    changes = diff(before, row, form_fields("tenant"))
    return {
        "mask_text": mask_text(dsn),
        "detail pane": "\n".join(shown_value(row, name) for name in ("db_dsn", "config")),
        "audit record": json.dumps(safe_fields(row), default=str, ensure_ascii=False),
        "edit diff": "\n".join(f"{c.field}: {c.before} → {c.after}" for c in changes),
        "exports": asyncio.run(_exports(row, folder)),
        "log (scrub)": scrub(f"connecting to {dsn} failed: timeout", []),
        "log (file filter)": _logged(dsn),
    }


TALLY: Counter[str] = Counter()


@pytest.mark.parametrize("form", list(FORMS))
def test_no_generated_password_survives_on_any_surface(form: str, fuzz_examples: int,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    strategy, write, read = FORMS[form]

    @settings(max_examples=max(1, fuzz_examples // 3), deadline=None, database=None, print_blob=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(strategy)
    def fuzz(generated: tuple[str, list[str]]) -> None:
        password, pieces = generated
        dsn = write(password)
        assert read(dsn) == password, f"the generated DSN does not carry the password: {dsn!r}"
        with tempfile.TemporaryDirectory() as folder:
            shown = surfaces(dsn, password, Path(folder))
        place = "mysqld.sock)/acme" if "unix(" in dsn else HOST
        assert place in shown["mask_text"], f"where it connects is masked too: {shown['mask_text']!r}"
        leaks = {where: piece for where, text in shown.items() for piece in [password, *pieces] if piece in text}
        assert not leaks, f"{dsn!r}: {leaks}"
        TALLY[form] += 1
        TALLY["characters"] += len(password)

    fuzz()
    with capsys.disabled():
        print(f"\nsecret masking fuzz [{form}]: {TALLY[form]} DSNs, 7 surfaces each, no piece of a password shown")
