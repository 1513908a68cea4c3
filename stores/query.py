"""Backend-neutral descriptions of page queries, filters and cursors.

A store method turns its arguments into a ``PageRequest`` (scope equalities, filter
conditions, the order column, the cursor, the limit); each backend interprets it: the
PostgreSQL backend renders parameterised SQL, the memory backend walks a sorted index.
Keeping one description is what makes the two backends return the same pages.
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from stores.errors import ValidationFailed

T = TypeVar("T")

MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Eq:
    column: str
    value: Any


@dataclass(frozen=True)
class Prefix:
    """Text starts with ``value``: code point by code point, or with ``fold`` letter case
    ignored (each character may be any of its ``case_variants``, decided here in Python and
    nowhere else, so both backends agree whatever the database's locale; see ``span``)."""

    column: str
    value: str
    fold: bool = False

    def span(self) -> tuple[str, str | None]:
        """The range of the order column (code-point order) that holds every match: for an
        exact prefix exactly its rows; folded, from the prefix of smallest variants to past the
        one of largest variants (``Alice``: ``ALICE`` … ``alicf``), an index range that the
        pattern then filters."""
        if not self.fold:
            return self.value, prefix_upper_bound(self.value)
        variants = [case_variants(ch) for ch in self.value]
        return "".join(v[0] for v in variants), prefix_upper_bound("".join(v[-1] for v in variants))

    def matches(self, value: str) -> bool:
        """The memory backend's test (PostgreSQL's is ``pattern``: the same sets)."""
        if not self.fold:
            return value.startswith(self.value)
        return len(value) >= len(self.value) and all(ch in case_variants(p) for ch, p in zip(value, self.value))

    def pattern(self) -> str:
        """A PostgreSQL regular expression (ARE, under ``COLLATE "C"``: literal characters are
        code points) matching what ``matches`` does: ``^[aA][lL]…``."""
        return "^" + "".join(f"[{''.join(_escaped(v) for v in case_variants(ch))}]" for ch in self.value)


def case_variants(character: str) -> str:
    """``character`` and its one-character lower, upper and title case forms, sorted by code
    point (``a`` → ``Aa``, ``é`` → ``Éé``, ``1`` → ``1``; ``ß``, whose upper case is ``SS``, → ``ß``)."""
    forms = {character, character.lower(), character.upper(), character.title(), character.casefold()}
    return "".join(sorted(form for form in forms if len(form) == 1))


def _escaped(character: str) -> str:
    """A character inside a bracket expression of a PostgreSQL ARE, taken literally."""
    return character if character.isalnum() else "\\" + character


@dataclass(frozen=True)
class Before:
    """A timestamp column is set and earlier than ``value``."""

    column: str
    value: datetime


@dataclass(frozen=True)
class IsNull:
    """The column holds NULL (``set``: False) or any value (``set``: True). ``json``: a JSON
    ``null`` counts as NULL too, as the memory backend (and the digests) hold it."""

    column: str
    set: bool = False
    json: bool = False


Condition = Eq | Prefix | Before | IsNull


@dataclass(frozen=True)
class PageRequest:
    """One keyset page: rows of ``table`` matching ``scope`` and ``conditions``,
    ordered by ``order`` (unique within the scope), strictly after ``after``.

    ``descending`` walks the order backwards (``after`` then means strictly before it):
    the last page, or the page before a cursor, read from the end of the index without
    scanning what precedes it. Rows come back in walk order; the store turns them round."""

    table: str
    scope: tuple[Eq, ...]
    order: str
    conditions: tuple[Condition, ...] = ()
    after: str | None = None
    limit: int = 50
    descending: bool = False


@dataclass
class Page(Generic[T]):
    """Rows of one page, in order, with the cursor of the next page (pass it as ``after``;
    None on the last page) and of the previous one (pass it as ``before``; None when the
    page is known to be the first)."""

    rows: list[T]
    next_cursor: str | None
    prev_cursor: str | None = None

    @property
    def has_more(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_previous(self) -> bool:
        return self.prev_cursor is not None


@dataclass(frozen=True)
class RowCount:
    """A row count; ``exact`` is False when it is the planner's estimate."""

    value: int
    exact: bool


def prefix_upper_bound(prefix: str) -> str | None:
    """The smallest string above every string starting with ``prefix`` in code-point order
    (None if there is none). In SQL, ``col >= prefix AND col < bound`` is an index range even
    in a generic plan, unlike ``LIKE $1``; in memory, the same bounds bisect a sorted index."""
    chars = list(prefix)
    while chars:
        point = ord(chars[-1]) + 1
        if point == 0xD800:
            point = 0xE000
        if point <= 0x10FFFF:
            chars[-1] = chr(point)
            return "".join(chars)
        chars.pop()
    return None


def encode_cursor(order: str, value: str) -> str:
    raw = json.dumps([order, value], ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(token: str | None, order: str) -> str | None:
    """The sort value inside ``token``; a malformed or foreign cursor is a ValidationFailed."""
    if token is None:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        kind, value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8"))
    except (ValueError, TypeError, binascii.Error, UnicodeError):
        raise ValidationFailed("page request", {"after": "is not a cursor returned by a previous page"}) from None
    if kind != order or not isinstance(value, str):
        raise ValidationFailed("page request", {"after": f"is a cursor for pages ordered by {kind}, not {order}"})
    return value


def check_limit(limit: int) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationFailed("page request", {"limit": f"must be a whole number from 1 to {MAX_PAGE_SIZE}"})
    return limit


def validation_failed(entity: str, exc: ValidationError) -> ValidationFailed:
    """Pydantic's errors as one ``ValidationFailed`` with a message per field."""
    problems: dict[str, str] = {}
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "value"
        message = error["msg"].removeprefix("Value error, ")
        problems.setdefault(field, message)
    return ValidationFailed(entity, problems)


class Filter(BaseModel):
    """Base of the per-store filters: unknown fields are errors, values are checked."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def conditions(self) -> tuple[Condition, ...]:
        raise NotImplementedError

    @classmethod
    def parse(cls, value: Filter | dict[str, Any] | None) -> Filter:
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, dict):
            try:
                return cls.model_validate(value)
            except ValidationError as exc:
                raise validation_failed("filter", exc) from None
        raise ValidationFailed("filter", {"filter": f"must be a {cls.__name__}"})


def prefix_order(default: str, candidates: dict[str, str | None]) -> str:
    """Order by the column being prefix-searched (so its index serves both), else ``default``."""
    for column, prefix in candidates.items():
        if prefix:
            return column
    return default
