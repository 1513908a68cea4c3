"""How counts, times and cells read in the browser's lists."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from stores.query import RowCount


def human_count(value: int) -> str:
    """12 → "12", 12,345 → "12k", 1,234,567 → "1.2M" (for estimates, which are not exact)."""
    if value < 1000:
        return str(value)
    if value < 10_000:
        return f"{value / 1000:.1f}k".replace(".0k", "k")
    if value < 1_000_000:
        return f"{value // 1000}k"
    if value < 10_000_000:
        return f"{value / 1_000_000:.1f}M".replace(".0M", "M")
    if value < 1_000_000_000:
        return f"{value // 1_000_000}M"
    return f"{value / 1_000_000_000:.1f}G"


def total_text(total: RowCount) -> str:
    """"1,234" when exact, "~1.2M" when the planner's estimate."""
    return f"{total.value:,}" if total.exact else f"~{human_count(total.value)}"


def cell(value: Any) -> str:
    """A list cell: empty for NULL, times to the minute, yes/no, JSON lists joined."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)
