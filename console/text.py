"""Text is text: how anything the console did not write itself reaches the screen.

Stored values (a tenant's name, a username, a DSN, JSON), what the operator types, a
server's error, a file name, a usage line: none of it is markup, and none of it may act on
the terminal. Textual and Rich parse a ``str`` given to most widgets as markup (``[b]``,
``[link=…]``, ``[@click=app.quit]``): a value holding ``TENANT[/APP]`` raised MarkupError
and ended the console, and ``[@click=…]`` in stored data would have become a clickable
action. Control characters pass both untouched, so ``\\x1b[2J`` in a username cleared the
operator's screen and an OSC 52 sequence set their clipboard.

The convention, everywhere in the TUI:

* a value becomes screen text through ``plain(value, style)``: a rich ``Text`` (never
  parsed as markup) with its control characters shown (``stores.controls.visible``: ESC as
  ``␛``). Styled lines are ``Text`` objects assembled from ``plain`` pieces and constant
  strings; a ``str`` handed to a widget is a constant of ours, our own fixed markup;
* notifications are plain text (``LokstraConsole.notify``);
* inputs show control characters in their value (``VISIBLE_CONTROLS`` is every input's
  highlighter, where a value is loaded into one) and a paste never brings one in;
* whatever still reaches the terminal carries no control character of the data: the
  terminal guard (``install_terminal_guard``) drops them from every cell Textual writes.

tests/tui/test_text_is_text.py checks the call sites (a static pass over console/) and the
screens themselves (hostile values in every field, on both backends).
"""
from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.highlighter import Highlighter
from rich.segment import Segment
from rich.style import StyleType
from rich.text import Text
from textual.content import Content
from textual.fuzzy import Matcher
from textual.markup import escape
from textual.strip import Strip

from stores.controls import drop_controls, visible

__all__ = ["plain", "visible", "palette_match", "markup_escaped", "VISIBLE_CONTROLS", "install_terminal_guard"]


def plain(value: object, style: StyleType = "", **options: Any) -> Text:
    """``value`` as screen text: literal (no markup), control characters visible.
    ``options`` are ``rich.text.Text``'s (justify, no_wrap, overflow, end)."""
    return Text(visible(value if isinstance(value, str) else str(value)), style=style, **options)


def markup_escaped(value: object) -> str:
    """``value`` for the one place that takes only a markup string (a command palette hit's
    help): brackets escaped, control characters visible."""
    return escape(visible(str(value)))


def palette_match(matcher: Matcher, value: str) -> Content:
    """A command palette hit's text with the matched letters highlighted, as Textual's
    ``Matcher.highlight`` does, but literal: that one parses the text as markup."""
    content = Content(visible(value))
    shown = content.plain
    score, offsets = matcher.fuzzy_search.match(matcher.query, shown)
    for offset in offsets if score else ():
        if not shown[offset].isspace():
            content = content.stylize(matcher.match_style, offset, offset + 1)
    return content


class VisibleControls(Highlighter):
    """Shows an input's control characters (a stored value loaded into a form) as pictures."""

    def highlight(self, text: Text) -> None:
        shown = visible(text.plain)
        if shown != text.plain:
            text.plain = shown


VISIBLE_CONTROLS = VisibleControls()


# -- the terminal guard ----------------------------------------------------------------------
_textual_render = Strip.render


def _render_inert(self: Strip, console: Console) -> str:
    """``Strip.render`` with the control characters of every segment's text dropped first.
    They are zero cells wide in Textual's layout, so dropping them changes no position."""
    if self._render_cache is None:
        segments = self._segments
        if any(drop_controls(segment.text) != segment.text for segment in segments):
            self._segments = [Segment(drop_controls(text), style, control) for text, style, control in segments]
    return _textual_render(self, console)


def install_terminal_guard() -> None:
    """Make every strip Textual writes to the terminal free of data's control characters
    (idempotent). A last line of defence: the text a widget shows should already be
    ``plain`` (control characters visible), and this catches what a widget of Textual's
    own shows unconverted (``tests/tui/test_text_is_text.py`` proves both)."""
    Strip.render = _render_inert  # type: ignore[method-assign]


def terminal_guard_installed() -> bool:
    return Strip.render is _render_inert
