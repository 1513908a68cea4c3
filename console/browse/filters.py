"""The ``/`` filter: tokens typed by the operator → the store's filter dict (never SQL).

``alice`` is the list's default prefix (username for users, name for tenants; a word with
``@`` is an email prefix), ``status:suspended``, ``type:service``, ``env:test``,
``revoked:yes``, ``expires<30d`` (keys expiring within 30 days: ``expires_before`` =
now + 30 days). Every value is checked against the list's vocabulary here, so a typo gets a
message that lists what the list understands instead of an empty page.
"""
from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from stores.models import utcnow


class FilterError(ValueError):
    """The text is not a filter this list understands; the message says what it does."""


def yes_no(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("yes", "y", "true", "1"):
        return True
    if lowered in ("no", "n", "false", "0"):
        return False
    raise ValueError("yes or no")


@dataclass(frozen=True)
class Token:
    """``name:value`` → ``field`` = value (checked against ``values`` or by ``convert``)."""

    name: str
    field: str
    values: tuple[str, ...] = ()
    convert: Callable[[str], Any] | None = None
    hint: str = ""

    def describe(self) -> str:
        if self.values:
            return f"{self.name}:{'|'.join(self.values)}"
        return f"{self.name}:{self.hint or 'TEXT'}"

    def parse(self, value: str) -> Any:
        if self.values:
            if value not in self.values:
                raise FilterError(f"{self.name}:{value} is not one of {', '.join(self.values)}")
            return value
        if self.convert is not None:
            try:
                return self.convert(value)
            except ValueError as exc:
                raise FilterError(f"{self.name}:{value} must be {exc}") from None
        if not value:
            raise FilterError(f"{self.name}: needs a value")
        return value


@dataclass(frozen=True)
class FilterSpec:
    """What the ``/`` filter of one list understands."""

    bare: str | None = None
    """Store field a bare word sets (a prefix), e.g. ``username_prefix``."""
    bare_help: str = ""
    email: str | None = None
    """Store field a bare word containing ``@`` sets instead (``email_prefix``)."""
    tokens: tuple[Token, ...] = ()
    expires: str | None = None
    """Store field ``expires<N`` sets (``expires_before``)."""

    def describe(self) -> str:
        parts: list[str] = []
        if self.bare:
            parts.append(f"a word ({self.bare_help or self.bare})")
        if self.email:
            parts.append("a word with @ (email prefix)")
        parts.extend(token.describe() for token in self.tokens)
        if self.expires:
            parts.append("expires<30d (also h, w, or a date YYYY-MM-DD)")
        return ", ".join(parts) if parts else "nothing: this list has no filter"


_EXPIRES = re.compile(r"^expires<(?P<value>.+)$", re.I)
_SPAN = re.compile(r"^(?P<n>\d+)(?P<unit>[hdw])$", re.I)


def _expires_before(value: str, now: datetime) -> datetime:
    span = _SPAN.match(value)
    if span:
        amount = int(span["n"])
        unit = span["unit"].lower()
        try:
            delta = timedelta(hours=amount) if unit == "h" else timedelta(days=amount * (7 if unit == "w" else 1))
            return now + delta
        except OverflowError:  # past year 9999: a typo, not a filter
            raise FilterError(f"expires<{value} is too far in the future") from None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise FilterError(f"expires<{value}: give a span like 30d, 12h, 2w or a date like 2026-12-31") from None


def parse_filter(text: str, spec: FilterSpec, *, list_name: str = "this list",
                 now: datetime | None = None) -> dict[str, Any]:
    """The store filter dict for ``text`` (empty text: no filter). Raises ``FilterError``
    naming the bad token and listing what ``spec`` understands."""
    try:
        words = shlex.split(text)
    except ValueError:
        raise FilterError("a quote is not closed") from None
    result: dict[str, Any] = {}
    bare: list[str] = []
    by_name = {token.name: token for token in spec.tokens}
    understood = f"{list_name} understand{'s' if list_name == 'this list' else ''}: {spec.describe()}"
    for word in words:
        expires = _EXPIRES.match(word)
        if expires:
            if spec.expires is None:
                raise FilterError(f"{word!r} is not understood here; {understood}")
            result[spec.expires] = _expires_before(expires["value"], now or utcnow())
            continue
        name, colon, value = word.partition(":")
        if colon and name.lower() in by_name:
            token = by_name[name.lower()]
            if token.field in result:
                raise FilterError(f"{token.name}: is given twice")
            result[token.field] = token.parse(value)
            continue
        if colon and re.fullmatch(r"[A-Za-z_]+", name) and "@" not in word:
            raise FilterError(f"{name}: is not understood here; {understood}")
        bare.append(word)
    if bare:
        prefix = " ".join(bare)
        field = spec.email if (spec.email and "@" in prefix) else spec.bare
        if field is None:
            raise FilterError(f"{prefix!r} is not understood here; {understood}")
        result[field] = prefix
    return result
