"""Content digests of tables, computed the same way whatever backend the rows come from.

The canonical encoding of a row is the text PostgreSQL prints for
``json_build_array(<every column in TableSpec.columns order>)::text``, with two
normalisations that make it the same for the values a client sees (``postgres_row_text``
builds that SQL; ``RowEncoder`` builds the same text in Python):

* text → a JSON string: only ``"``, ``\\`` and characters below U+0020 are escaped
  (``\\b \\f \\n \\r \\t`` short, the others ``\\u00xx``); everything else, astral
  characters and RTL marks included, stays as it is (UTF-8);
* boolean → ``true`` / ``false``; SQL NULL → ``null``;
* timestamp → a JSON string in ISO 8601, ``YYYY-MM-DDTHH:MM:SS`` plus ``.ffffff`` with
  trailing zeros removed when the microseconds are not zero (what PostgreSQL's JSON output
  prints; Python: ``isoformat()`` and ``rstrip("0")``). ``infinity`` / ``-infinity`` are
  encoded as 9999-12-31T23:59:59.999999 / 0001-01-01T00:00:00, because asyncpg reads them
  as ``datetime.max`` / ``datetime.min`` (and writes those back as infinities);
* jsonb → the jsonb value itself, as jsonb prints it: object keys ordered by their UTF-8
  length, then bytewise; ``", "`` and ``": "`` separators; numbers as PostgreSQL's numeric
  prints them (Python: ``repr`` of a float, except that an exponent form is written out in
  full, ``1e+20`` → ``100000000000000000000``, ``1.5e-07`` → ``0.00000015``, and ``-0.0`` →
  ``0.0``). A JSON ``null`` stored in a jsonb column counts as SQL NULL: Python reads both
  as None, and lokstra-auth (Go's nil map marshals to ``null``) means the same by both;
* items are separated by ``", "``, inside ``[`` and ``]``.

The encoding is injective (every value is typed by its column and quoted or bracketed), so
two rows with the same text are the same row. The row hash is SHA-256 of the UTF-8 text;
the table digest is the row count and the XOR of the row hashes (64 hex digits): order
does not matter, and PostgreSQL computes it with ``bit_xor`` without sending a row. XOR
only cancels a row that appears twice, and a table's rows are distinct (primary key); the
row count is compared as well.

Python's side is hot (one call per row on every copy), so a table's row encoder is compiled
once from the column kinds, and rows are hashed a batch at a time.
"""
from __future__ import annotations

import hashlib
import json
import json.encoder
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, get_args

from stores.tables import BY_NAME, TableSpec

SAMPLE = 5
"""How many differing keys a mismatch names."""

Row = Sequence[Any]


# ----- jsonb's text form -----------------------------------------------------------------------

class _NeedsSlowPath(Exception):
    """A value Python's JSON encoder cannot print the way PostgreSQL does (a float that
    ``repr`` writes with a negative exponent, e.g. 1.5e-07)."""


def _key_order(key: str) -> tuple[int, str]:
    # jsonb orders keys by byte length, then bytewise; UTF-8 byte order is code point order.
    return (len(key) if key.isascii() else len(key.encode("utf-8", "surrogatepass")), key)


def numeric_text(value: float) -> str:
    """How PostgreSQL's numeric prints the number ``repr(value)`` (what jsonb stores)."""
    text = repr(value)
    if not math.isfinite(value):
        return text  # jsonb cannot hold it; any stable text will do
    if "e" in text:
        return format(Decimal(text), "f")
    return "0.0" if text == "-0.0" else text


def _float(value: float) -> float | int:
    text = repr(value)
    if "e" not in text:
        return 0.0 if text == "-0.0" else value
    if not math.isfinite(value) or "e-" in text:
        raise _NeedsSlowPath
    return int(Decimal(text))  # 1e+20: integral, printed in full as an int


def jsonb_value(value: Any) -> Any:
    """``value`` rebuilt so that Python's JSON encoder (``", "`` and ``": "`` separators,
    ``ensure_ascii=False``) prints it exactly as jsonb does: keys in jsonb order, exponent
    floats written out. Raises ``_NeedsSlowPath`` for what only ``jsonb_text`` can print."""
    if isinstance(value, dict):
        keys = sorted(value, key=_key_order) if len(value) > 1 else value
        out = {}
        for key in keys:
            if type(key) is not str:
                raise _NeedsSlowPath
            item = value[key]
            out[key] = item if type(item) in _PLAIN else jsonb_value(item)
        return out
    if isinstance(value, (list, tuple)):
        return [item if type(item) in _PLAIN else jsonb_value(item) for item in value]
    if isinstance(value, float):
        return _float(value)
    return value


_PLAIN = frozenset({str, int, bool, type(None)})
_string = json.encoder.encode_basestring  # escapes only ", \ and control characters


def _json_key(key: Any) -> str:
    """A key as Python's JSON encoder writes it (jsonb keys are strings; a dict built around
    the models may hold others)."""
    if isinstance(key, str):
        return key
    return jsonb_text(key) if isinstance(key, (bool, type(None))) else repr(key)


def jsonb_text(value: Any) -> str:
    """The text PostgreSQL prints for ``value`` stored as jsonb (``value::text``)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return numeric_text(value)
    if isinstance(value, dict):
        items = {_json_key(k): v for k, v in value.items()}  # jsonb keeps the last of equal keys
        return "{" + ", ".join(_string(k) + ": " + jsonb_text(items[k]) for k in sorted(items, key=_key_order)) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(jsonb_text(item) for item in value) + "]"
    raise TypeError(f"cannot digest a {type(value).__name__} inside JSON")


# ----- row encoding -------------------------------------------------------------------------

TEXT, BOOL, TIMESTAMP, JSON, ANY = "text", "bool", "timestamp", "json", "any"


def column_kinds(spec: TableSpec) -> tuple[str, ...]:
    """How each column is encoded, from the model's annotations and ``spec.json_columns``."""
    kinds = []
    for column in spec.columns:
        annotation = spec.model.model_fields[column].annotation
        options = get_args(annotation) or (annotation,)
        if column in spec.json_columns:
            kinds.append(JSON)
        elif datetime in options:
            kinds.append(TIMESTAMP)
        elif bool in options:
            kinds.append(BOOL)
        else:
            kinds.append(TEXT)
    return tuple(kinds)


def timestamp_text(value: datetime) -> str:
    text = value.isoformat()
    return text.rstrip("0") if value.microsecond else text


def _value_text(kind: str, value: Any) -> str:
    """One item of the canonical row text, built by hand (the slow path, and the reference)."""
    if value is None:
        return "null"
    if kind == ANY or (kind == TIMESTAMP) != isinstance(value, datetime):  # typed by value when it does not fit
        kind = (BOOL if isinstance(value, bool) else TEXT if isinstance(value, str)
                else TIMESTAMP if isinstance(value, datetime) else JSON)
    if kind == TIMESTAMP:
        return _string(timestamp_text(value))
    if kind == JSON:
        return jsonb_text(value)
    if kind == BOOL:
        return "true" if value else "false"
    if isinstance(value, str):
        return _string(value)
    return jsonb_text(value)  # a text column holding something else: still a stable text


def row_text(kinds: Sequence[str], values: Row) -> str:
    """The canonical text of one row (reference implementation; ``RowEncoder`` is the fast one)."""
    return "[" + ", ".join(_value_text(kind, value) for kind, value in zip(kinds, values)) + "]"


def _make_json_encoder() -> Callable[[Any], str]:
    """The C encoder of the json module, called directly (``json.dumps`` builds an encoder
    per call, which costs as much as encoding a row); the pure-Python one prints the same
    text, only slower, where the C one is missing or has another signature."""
    slow = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode
    make = getattr(json.encoder, "c_make_encoder", None)

    def fail(value: Any) -> Any:
        raise TypeError(type(value).__name__)

    try:
        encode = make(None, fail, json.encoder.encode_basestring, None, ": ", ", ", False, False, True)  # type: ignore[misc]
        fast: Callable[[Any], str] = lambda value: "".join(encode(value, 0))  # noqa: E731
        probe = ["é\n\"", 1, 1.5, None, True, {"k": []}]
        if fast(probe) == slow(probe):
            return fast
    except Exception:  # noqa: BLE001 - any surprise: use the documented encoder
        pass
    return slow


_encode_json = _make_json_encoder()


class RowEncoder:
    """Canonical row text → UTF-8 bytes for one table's column kinds.

    The fast path is one compiled expression per table that turns timestamps into their
    ISO text and jsonb values into jsonb-ordered structures, then one call of the C JSON
    encoder for the whole row (item separator ``", "``, as PostgreSQL prints). Rows it
    cannot handle (an exponent float in a JSON value, a value of an unexpected type) go
    through ``row_text``, which prints the same text by hand.
    """

    def __init__(self, kinds: Sequence[str]) -> None:
        self.kinds = tuple(kinds)
        items = []
        for i, kind in enumerate(self.kinds):
            if kind == TIMESTAMP:
                items.append(f"(None if (v{i} := r[{i}]) is None else "
                             f"(iso(v{i}).rstrip('0') if v{i}.microsecond else iso(v{i})))")
            elif kind == JSON:
                items.append(f"(None if (v{i} := r[{i}]) is None else jv(v{i}))")
            elif kind == ANY:
                items.append(f"any_(r[{i}])")
            else:
                items.append(f"r[{i}]")
        source = f"lambda r: [{', '.join(items)}]"
        # Only column positions and fixed helper names go into the source, never data.
        self._prepare = eval(source, {"iso": datetime.isoformat, "jv": jsonb_value, "any_": _any})  # noqa: S307

    def text(self, values: Row) -> str:
        try:
            return _encode_json(self._prepare(values))
        except (_NeedsSlowPath, TypeError, AttributeError, ValueError):
            return row_text(self.kinds, values)

    def encode(self, values: Row) -> bytes:
        return self.text(values).encode("utf-8", "surrogatepass")

    def hashes(self, rows: Iterable[Row]) -> list[bytes]:
        """SHA-256 of each row's canonical text."""
        sha, prepare, dumps = hashlib.sha256, self._prepare, _encode_json
        out = []
        append = out.append
        for values in rows:
            try:
                text = dumps(prepare(values))
            except (_NeedsSlowPath, TypeError, AttributeError, ValueError):
                text = row_text(self.kinds, values)
            append(sha(text.encode("utf-8", "surrogatepass")).digest())
        return out


def _any(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, datetime):
        return timestamp_text(value)
    return jsonb_value(value)


_ENCODERS: dict[str, RowEncoder] = {}


def encoder_for(table: str) -> RowEncoder:
    """The row encoder of one of the six tables (by name); an unknown name gets one that
    types each value by its Python type (``len`` of the row decides the width)."""
    found = _ENCODERS.get(table)
    if found is None:
        spec = BY_NAME.get(table)
        found = _ENCODERS[table] = RowEncoder(column_kinds(spec)) if spec else _AnyEncoder()
    return found


class _AnyEncoder(RowEncoder):
    def __init__(self) -> None:
        self.kinds = ()

    def text(self, values: Row) -> str:
        return row_text((ANY,) * len(values), values)

    def hashes(self, rows: Iterable[Row]) -> list[bytes]:
        return [hashlib.sha256(self.encode(values)).digest() for values in rows]


def fold(hashes: Iterable[bytes]) -> int:
    """The XOR of row hashes, as a 256-bit number."""
    total = 0
    from_bytes = int.from_bytes
    for row_hash in hashes:
        total ^= from_bytes(row_hash, "big")
    return total


# ----- the same encoding in PostgreSQL -----------------------------------------------------

def _sql_item(column: str, kind: str) -> str:
    name = f'"{column}"'
    if kind == TIMESTAMP:
        return (f"CASE WHEN {name} = 'infinity' THEN '9999-12-31 23:59:59.999999'::timestamp "
                f"WHEN {name} = '-infinity' THEN '0001-01-01 00:00:00'::timestamp ELSE {name} END")
    if kind == JSON:
        return f"NULLIF({name}, 'null'::jsonb)"
    return name


def postgres_row_text(spec: TableSpec) -> str:
    """SQL for a row's canonical text (``RowEncoder.text`` builds the same in Python)."""
    items = ", ".join(_sql_item(c, k) for c, k in zip(spec.columns, column_kinds(spec)))
    return f"json_build_array({items})::text"


def postgres_row_hash(spec: TableSpec) -> str:
    """SQL for SHA-256 of a row's canonical text."""
    return f"sha256(convert_to({postgres_row_text(spec)}, 'UTF8'))"


def postgres_digest_sql(spec: TableSpec, schema: str) -> str:
    """One row: the count and the XOR of the row hashes (as 256 binary digits, NULL when
    empty). Parallel-safe: on a big table the server splits the scan over its workers."""
    return (f"SELECT count(*), bit_xor(('x' || encode({postgres_row_hash(spec)}, 'hex'))::bit(256))::text "
            f"FROM {spec.relation(schema)}")


def postgres_keyed_sql(spec: TableSpec, schema: str) -> str:
    """Every row's key columns and row hash (to name the rows that differ)."""
    keys = ", ".join(f'"{c}"' for c in spec.key_columns)
    return f"SELECT {keys}, {postgres_row_hash(spec)} FROM {spec.relation(schema)}"


# ----- digests ------------------------------------------------------------------------------

@dataclass
class TableDigest:
    """Row count and order-independent digest (XOR of the row hashes) of one table."""

    table: str
    rows: int = 0
    total: int = 0
    _keys: dict[tuple, bytes] | None = field(default=None, repr=False)

    def add(self, values: Row, key: tuple | None = None) -> None:
        """One row (``key`` is remembered when ``keep_keys`` was asked for)."""
        self.add_rows([values], [key] if key is not None else None)

    def add_rows(self, rows: Sequence[Row], keys: Sequence[tuple] | None = None) -> None:
        """A batch of rows in ``TableSpec.columns`` order; ``keys`` (one per row) are
        remembered when ``keep_keys`` was asked for."""
        hashes = encoder_for(self.table).hashes(rows)
        self.add_hashes(hashes)
        if self._keys is not None and keys is not None:
            self._keys.update(zip(keys, hashes))

    def add_hashes(self, hashes: list[bytes]) -> None:
        self.total ^= fold(hashes)
        self.rows += len(hashes)

    def add_folded(self, rows: int, total: int) -> None:
        """A count and XOR computed elsewhere (PostgreSQL's ``bit_xor``)."""
        self.rows += rows
        self.total ^= total

    def keep_keys(self) -> TableDigest:
        """Also remember each key's row hash, to name differing rows after a mismatch."""
        self._keys = {}
        return self

    def remember(self, key: tuple, row_hash: bytes) -> None:
        if self._keys is not None:
            self._keys[key] = row_hash

    @property
    def hex(self) -> str:
        return f"{self.total:064x}"

    def same_as(self, other: TableDigest) -> bool:
        return self.rows == other.rows and self.total == other.total

    def differing_keys(self, other: TableDigest, sample: int = SAMPLE) -> list[str]:
        """Up to ``sample`` keys (sorted, as ``a/b/c``) whose rows differ or exist on one side only."""
        if self._keys is None or other._keys is None:
            return []
        mine, theirs = self._keys, other._keys
        keys = {k for k, h in mine.items() if theirs.get(k) != h}
        keys.update(theirs.keys() - mine.keys())
        return ["/".join(map(str, k)) for k in sorted(keys)[:sample]]
