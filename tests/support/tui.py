"""Read what a Textual app shows, as plain text lines (from its SVG screenshot)."""
from __future__ import annotations

import html
import re

from collections.abc import Callable
from typing import Any

from textual.app import App

_TEXT = re.compile(r'<text[^>]*clip-path="url\(#[^)]*-line-(\d+)\)"[^>]*>(.*?)</text>', re.S)


def screen_lines(app: App) -> list[str]:
    """Each terminal line as text (chunks joined in order), nbsp as spaces."""
    lines: dict[int, list[str]] = {}
    for number, chunk in _TEXT.findall(app.export_screenshot()):
        lines.setdefault(int(number), []).append(html.unescape(chunk).replace("\xa0", " "))
    return ["".join(lines[n]) for n in sorted(lines)]


def screen_text(app: App) -> str:
    return "\n".join(screen_lines(app))


async def until(pilot: Any, condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Wait for ``condition`` (not a fixed sleep); fail with the screen's text if it never holds.

    Once it holds, the screen on top has processed what is queued for it (``pilot.pause()``
    waits for that, not for time): a condition like "the modal is on the stack" turns true
    before the modal's on_mount has filled it or moved the focus, and the caller reads both
    next (under load, a drill report's table was read empty)."""
    for _ in range(int(timeout / 0.05)):
        if condition():
            await pilot.pause()
            return
        await pilot.pause(0.05)
    raise AssertionError(f"{what} never happened; the screen shows:\n{screen_text(pilot.app)}")


def key_event(key: str) -> Any:
    """The Key event a terminal's key makes, as Pilot builds it (``press`` waits for idle
    after each key; a fuzzer sends many and waits once)."""
    import unicodedata

    from textual import events
    from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key

    if len(key) == 1 and not key.isalnum():
        key = _character_to_key(key)
    try:
        character: str | None = unicodedata.lookup(_get_unicode_name_from_key(REPLACED_KEYS.get(key, key)))
    except KeyError:
        character = key if len(key) == 1 else None
    return events.Key(key, character)


def typed_keys(text: str) -> list[Any]:
    """``text`` as a terminal without bracketed paste sends it: a key per printable character."""
    from textual import events
    from textual.keys import _character_to_key

    return [events.Key(_character_to_key(ch) if not ch.isalnum() else ch, ch) for ch in text if ch.isprintable()]


def notifications(app: App) -> str:
    """Every notification ``app`` holds now, title and message, in one string.

    Textual 8 has no public accessor (``App.notify`` adds, toasts show them for a while);
    ``_notifications`` is read in this one place so a Textual change breaks one helper."""
    return " ".join(f"{n.title} {n.message}" for n in app._notifications)
