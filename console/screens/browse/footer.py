"""A footer that redraws its key list off the critical path.

Textual's Footer rebuilds all its key widgets whenever the focused widget's bindings
change (the / prompt opening and closing moves the focus). That rebuild took 30–60 ms on
the benchmark machine, in the same frame as the filtered page, which then missed its
50 ms. Here a burst of changes is folded into one rebuild shortly after it, when the page
is already on screen.
"""
from __future__ import annotations

from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer

REBUILD_DELAY = 0.08
"""Seconds between the last bindings change and the rebuild."""


class BrowseFooter(Footer):
    """Compact, without the palette's key (F1 lists ctrl+p): at 80 columns the list's edit keys fit."""

    _rebuild: Timer | None = None

    def __init__(self) -> None:
        super().__init__(compact=True, show_command_palette=False)

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus or not self.is_attached or screen is not self.screen:
            return
        if self._rebuild is not None:
            self._rebuild.stop()
        self._rebuild = self.set_timer(REBUILD_DELAY, self.recompose)
