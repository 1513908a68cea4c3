"""Typing into a text field stays responsive, and a paste brings no control character in.

Textual's Input does work in proportion to its length for every key it inserts (the
cursor's cell offset, tab expansion, scrolling it into view), and every change runs the
field's validation and the screen's reaction to it (a form re-validates its row, a lookup
or the command palette searches the stores). A paste that arrives as keys (a terminal
without bracketed paste, ``tmux send-keys``) of 10,000 characters therefore took ~15 s in a
bare Input, and 2,000 keys took 10 s in the command palette: the console did not answer
meanwhile. Here a burst of printable keys for the focused Input or TextArea is folded
into one insertion: the keys are held while they keep coming and handed over as one Paste
event after the last one already queued. A key typed alone goes through at once (the
burst is one key long); any other event (a non-printable key, a paste, a click) first
hands over what is held, so the order of everything the field sees is unchanged.

A paste (bracketed, or the burst) loses its control characters on the way in, as typing
cannot enter one either (``stores.controls.drop_controls``; tab and line breaks stay, for
the text areas).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual import events
from textual.app import App
from textual.message import Message
from textual.message_pump import MessagePump
from textual.widget import Widget
from textual.widgets import Input

from stores.controls import drop_controls

PASTE_KEEPS = "\t\n\r"


@dataclass
class Burst:
    """Printable keys held for one field."""

    target: Widget
    priority_keys: frozenset[str] = frozenset()
    characters: list[str] = field(default_factory=list)


class TypingBuffer:
    """The app's held keys (``LokstraConsole.on_event`` asks it about every input event)."""

    def __init__(self, app: App[object]) -> None:
        self.app = app
        self.burst: Burst | None = None
        self.bursts = 0
        """How many bursts were handed over (tests count them)."""

    def take(self, event: events.Key) -> bool:
        """Hold ``event`` if it is a printable key for a text field; False: handle it as usual
        (after handing over what is held)."""
        if not event.is_printable or event.character is None:
            return False
        if self.burst is None:
            target = self.app.focused
            if not _takes_bursts(target):
                return False
            self.burst = Burst(target, priority_keys=self._priority_keys())  # type: ignore[arg-type]
            self.app.call_later(self.flush)  # after the keys already queued
        if event.key in self.burst.priority_keys:
            return False
        self.burst.characters.append(event.character)
        return True

    def _priority_keys(self) -> frozenset[str]:
        """Keys a priority binding takes before any field does (a keymap may bind a letter)."""
        return frozenset(key for key, active in self.app.active_bindings.items() if active.binding.priority)

    def flush(self) -> None:
        """Hand what is held to its field, as one paste."""
        burst, self.burst = self.burst, None
        if burst is None or not burst.characters or not burst.target.is_attached:
            return
        text = "".join(burst.characters)
        if isinstance(burst.target, Input) and burst.target.max_length:
            room = burst.target.max_length - len(burst.target.value) + abs(burst.target.selection.end -
                                                                          burst.target.selection.start)
            text = text[:max(room, 0)]  # as keys, the first ones fit and the rest are refused
        if text:
            self.bursts += 1
            paste = events.Paste(text)
            paste.bubble = False  # for the field alone (a TextArea lets a paste bubble on, to the app)
            burst.target.post_message(paste)


def _takes_bursts(widget: Widget | None) -> bool:
    if isinstance(widget, Input):
        return widget.type == "text" and not widget.restrict  # a restricted input judges each key
    from textual.widgets import TextArea  # loaded with the first editor, not for the first screen

    return isinstance(widget, TextArea) and not widget.read_only


def clean_paste(event: events.Paste) -> events.Paste:
    """The paste without control characters (the same event when it has none)."""
    text = drop_controls(event.text, keep=PASTE_KEEPS)
    return event if text == event.text else events.Paste(text)


class KeyHandled(Message):
    """Posted right behind a forwarded key to the widget it went to: it bubbles the same way,
    so it reaches the app once the key has been handled or stopped on its way up."""

    def __init__(self, key: events.Key) -> None:
        self.key = key
        super().__init__()


SETTLE_SECONDS = 1.0
"""How long input waits for a key to come back at most (a widget removed meanwhile never
passes the marker on): after that, what was held is handled anyway."""


class KeyOrder:
    """Input is handled in the order it was typed, also when it arrives in one burst.

    Textual hands a key to the focused widget through that widget's queue, and a key no widget
    takes comes back to the app's queue to be matched against the bindings (Tab: focus the next
    field). Keys typed right after it were already in the app's queue ahead of it, so they went
    to the field that still had the focus: a burst "name, Tab, email" put both into the name
    field. Here, once a key was forwarded, the input events behind it wait until that key's
    ``KeyHandled`` marker is back (or ``SETTLE_SECONDS`` passed), then go on in order."""

    def __init__(self, app: App[object]) -> None:
        self.app = app
        self.waiting_for: events.Key | None = None
        self.held: list[events.Event] = []
        self._timer: Any = None

    def hold(self, event: events.Event) -> bool:
        """True: ``event`` waits behind a key still on its way."""
        if self.waiting_for is None:
            return False
        self.held.append(event)
        return True

    def forwarded(self, key: events.Key, target: MessagePump) -> None:
        """``key`` went to ``target``: what comes next waits for it."""
        self.waiting_for = key
        target.post_message(KeyHandled(key))
        self._timer = self.app.set_timer(SETTLE_SECONDS, lambda: self.settled(key))

    def settled(self, key: events.Key) -> list[events.Event]:
        """``key`` was handled: the events held behind it, to handle now (in order)."""
        if key is not self.waiting_for:
            return []
        if self._timer is not None:
            self._timer.stop()
        self.waiting_for, self._timer = None, None
        held, self.held = self.held, []
        return held
