"""Content digests of tables, computed the same way whatever backend the rows come from.

A row is encoded canonically (every column, in ``TableSpec.columns`` order, each value
tagged with its kind and length-prefixed, JSON with sorted keys, timestamps to the
microsecond) and hashed with SHA-256; a table's digest is the sum of its row hashes modulo
2^256, so it does not depend on the order rows are read in.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

MODULUS = 1 << 256


def _normal_json(value: Any) -> Any:
    """jsonb may turn 1e20 into 100000000000000000000: compare integral floats as ints."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _normal_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal_json(v) for v in value]
    return value


def encode_value(value: Any) -> str:
    if value is None:
        tagged = "n"
    elif isinstance(value, bool):
        tagged = "b1" if value else "b0"
    elif isinstance(value, str):
        tagged = "s" + value
    elif isinstance(value, datetime):
        tagged = "t" + value.isoformat(timespec="microseconds")
    elif isinstance(value, (dict, list, int, float)):
        tagged = "j" + json.dumps(_normal_json(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    else:
        raise TypeError(f"cannot digest a {type(value).__name__}")
    return f"{len(tagged)}:{tagged}"


def row_hash(values: Iterable[Any]) -> int:
    text = "".join(encode_value(v) for v in values)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest(), "big")


@dataclass
class TableDigest:
    """Row count and order-independent digest of one table."""

    table: str
    rows: int = 0
    total: int = 0
    _keys: dict[tuple, int] | None = field(default=None, repr=False)

    def add(self, values: tuple[Any, ...], key: tuple | None = None) -> None:
        digest = row_hash(values)
        self.rows += 1
        self.total = (self.total + digest) % MODULUS
        if self._keys is not None and key is not None:
            self._keys[key] = digest

    def keep_keys(self) -> TableDigest:
        """Also remember each key's hash, to name differing rows after a mismatch."""
        self._keys = {}
        return self

    @property
    def hex(self) -> str:
        return f"{self.total:064x}"

    def same_as(self, other: TableDigest) -> bool:
        return self.rows == other.rows and self.total == other.total

    def differing_keys(self, other: TableDigest, sample: int = 5) -> list[str]:
        if self._keys is None or other._keys is None:
            return []
        keys = {k for k in self._keys.keys() | other._keys.keys() if self._keys.get(k) != other._keys.get(k)}
        return ["/".join(map(str, k)) for k in sorted(keys)[:sample]]
