"""The wall clock lokstra-auth's timestamps are written in.

Every timestamp column of lokstra-auth is ``timestamp`` without a time zone, so a value means
a wall-clock time in some zone that the database does not record. Upstream decides it
(docs/upstream.md, C): its current stores leave ``created_at`` / ``updated_at`` /
``deleted_at`` to ``NOW()``, a wall clock in the session's TimeZone, which pgx leaves at the
server's default; older builds pass Go's ``time.Now()``, whose zone pgx drops, so the app
host's local time. A console writing UTC beside them would put two clocks in one column.

So the console writes, and says it shows, the zone lokstra-auth's sessions use: the
server's default TimeZone for the database and role, unless ``DB_TIME_ZONE`` names another
(set it to the app hosts' zone for a database older upstream builds wrote). Its sessions
run in that zone, so ``NOW()`` in the schema's defaults and triggers agrees with the
console's own stamps. The memory backend uses ``DB_TIME_ZONE`` or UTC.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone_named(name: str) -> tzinfo:
    """The zone PostgreSQL or an operator names (``UTC``, ``Asia/Jakarta``…); ValueError otherwise."""
    if name.upper() in ("UTC", "ETC/UTC", "Z", "GMT", "ETC/GMT"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{name!r} is not a time zone name (like UTC or Europe/Berlin)") from exc


class Clock:
    """``now()`` as a naive wall-clock time in ``zone`` (what a ``timestamp`` column holds)."""

    def __init__(self, zone: str = "UTC", tz: tzinfo | None = None) -> None:
        self.zone = zone
        self._tz = tz or zone_named(zone)

    @classmethod
    def fixed(cls, label: str, offset: timedelta) -> Clock:
        """A zone known only by its current offset from UTC (a POSIX-style server setting)."""
        return cls(label, timezone(offset))

    def now(self) -> datetime:
        return datetime.now(self._tz).replace(tzinfo=None)

    def naive(self, value: datetime) -> datetime:
        """``value`` as this clock's wall time: an aware value is converted, a naive one kept."""
        return value.astimezone(self._tz).replace(tzinfo=None) if value.tzinfo is not None else value

    @property
    def is_utc(self) -> bool:
        return self._tz is UTC

    def __repr__(self) -> str:
        return f"Clock({self.zone!r})"


UTC_CLOCK = Clock("UTC")
