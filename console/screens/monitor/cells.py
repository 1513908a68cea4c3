"""The Monitor screen's cells and their formatting: missing data is "n/a", never 0. Headless."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rich.text import Text

from console.text import plain

NA = "n/a"


# ----- cells ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cell:
    """A table cell: its text, the value it sorts by (None sorts last either way), a style."""

    text: str
    sort: float | str | None = None
    style: str = ""
    right: bool = False

    def __rich__(self) -> Text:
        return plain(self.text, style=self.style, justify="right" if self.right else "left",
                     no_wrap=True, overflow="ellipsis")

    def key(self, descending: bool) -> tuple[int, Any]:
        if self.sort is None:
            return (0 if descending else 1, 0)
        return (1 if descending else 0, self.sort)


def compact(value: float | int) -> str:
    """6 characters at most: 9,999 / 12.3k / 123k / 1.23M / 12.3G."""
    if abs(value) < 10_000:
        return f"{value:,}" if isinstance(value, int) else f"{value:,.0f}"
    for unit, size in (("k", 1e3), ("M", 1e6), ("G", 1e9)):
        scaled = value / size
        if abs(scaled) < 1000:
            return f"{scaled:.3g}{unit}" if abs(scaled) < 100 else f"{scaled:.0f}{unit}"
    return f"{value / 1e12:.0f}T"


def number(value: float | int | None, text: str | None = None, style: str = "") -> Cell:
    if value is None:
        return Cell(NA, None, "dim", True)
    return Cell(text if text is not None else compact(value), value, style, True)


def ms(value: float | None) -> Cell:
    if value is None:
        return Cell(NA, None, "dim", True)
    if value >= 100_000:
        return Cell(f"{compact(value / 1000)}s", value, "", True)
    return Cell(f"{value:,.1f}" if value >= 10 else f"{value:.2f}", value, "", True)


def percent(value: float | None) -> Cell:
    if value is None:
        return Cell(NA, None, "dim", True)
    return Cell("100" if value >= 0.9995 else f"{value * 100:.1f}", value, "", True)


def size_text(n: int | None) -> str:
    if n is None:
        return NA
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"


def size(n: int | None) -> Cell:
    return Cell(size_text(n), n, "" if n is not None else "dim", True)


def seconds_text(value: float | None) -> str:
    if value is None:
        return NA
    if value < 60:
        return f"{value:.1f}s"
    if value < 3600:
        return f"{value / 60:.0f}m{value % 60:02.0f}s"
    return f"{value / 3600:.0f}h{value % 3600 / 60:02.0f}m"


def when_text(value: datetime | None, never: str = "never") -> str:
    if value is None:
        return never
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%m-%d %H:%M")


def one_line(text: str | None) -> str:
    return " ".join((text or "").split())
