"""Text the key dialogs accept: scope lists, expiries, grace periods (plain logic)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from stores.clock import UTC_CLOCK, Clock

_DURATION = re.compile(r"^\s*(\d+)\s*(m|min|h|d|w)?\s*$", re.I)
_UNITS = {"m": timedelta(minutes=1), "min": timedelta(minutes=1), "h": timedelta(hours=1),
          "d": timedelta(days=1), "w": timedelta(weeks=1)}

GRACE_CHOICES: tuple[tuple[str, str], ...] = (
    ("1 hour", "1h"), ("24 hours", "24h"), ("7 days", "7d"), ("30 days", "30d"), ("custom…", "custom"),
)
"""(label, value) of the rotation dialog's grace periods."""


def parse_scopes(text: str) -> list[str] | None:
    """``"read, write"`` → ``["read", "write"]``; blank → None (no scopes)."""
    scopes = [part.strip() for part in text.split(",") if part.strip()]
    return scopes or None


def parse_duration(text: str, default_unit: str = "h") -> timedelta:
    """``90m``, ``12h``, ``3d``, ``2w``; a bare number is in ``default_unit``."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError("write a number with m, h, d or w, e.g. 12h or 3d")
    amount, unit = int(match[1]), (match[2] or default_unit).lower()
    if amount <= 0:
        raise ValueError("must be more than zero")
    try:
        return amount * _UNITS[unit]
    except OverflowError:
        raise ValueError("is too long") from None


def parse_expiry(text: str, now: datetime | None = None, clock: Clock = UTC_CLOCK) -> datetime | None:
    """When a new key expires: blank = never; ``30`` or ``30d`` = in 30 days (also ``12h``);
    ``2026-12-31`` (or with a time) = then, on ``clock`` (the wall clock lokstra-auth's
    timestamps are in; a time with an offset is converted to it). Must be in the future."""
    text = text.strip()
    now = now or clock.now()
    if not text:
        return None
    if _DURATION.match(text):
        try:
            return now + parse_duration(text, default_unit="d")
        except OverflowError:  # past year 9999
            raise ValueError("is too far in the future") from None
    try:
        when = clock.naive(datetime.fromisoformat(text))  # a date alone is its midnight
    except ValueError:
        raise ValueError("write days (30), a duration (12h) or a date (2026-12-31)") from None
    if when <= now:
        raise ValueError("must be in the future")
    return when
