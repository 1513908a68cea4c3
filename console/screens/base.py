"""What every console screen has: the header line, the footer, help text for F1."""
from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import events
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import Worker, WorkerState

from console.actions import ActionSpec
from console.logs import log_worker_error
from console.widgets.header import ConsoleHeader

if TYPE_CHECKING:
    from console.app import LokstraConsole


class ConsoleScreen(Screen[None]):
    TITLE_TEXT: ClassVar[str] = ""
    HELP: ClassVar[str] = ""
    ACTION_SPECS: ClassVar[tuple[ActionSpec, ...]] = ()
    """The screen's key registry (console/actions.py): in read-only mode its writing keys are
    unbound, and pressing one says why instead of doing nothing."""

    def refused_read_only(self, action: str) -> bool:
        """Whether ``action`` writes while the console is read-only."""
        return self.console.settings.read_only and any(spec.action == action and spec.writes for spec in self.ACTION_SPECS)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The one read-only rule: an action that writes is refused and its binding hidden (footer,
        F1, palette) while the console is read-only, which a reconnect may change; the screen's
        own rules (``allows``) decide the rest."""
        if self.refused_read_only(action):
            return False
        return self.allows(action, parameters)

    def may(self, action: str) -> bool:
        """For an action method called directly (a keymap, the palette): the binding's own rule."""
        return bool(self.check_action(action, ()))

    def allows(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Whether ``action`` is offered now: True, False (hidden) or None (shown disabled)."""
        return True

    @property
    def console(self) -> LokstraConsole:
        return self.app  # type: ignore[return-value]

    def compose_header(self) -> ConsoleHeader:
        return ConsoleHeader(id="header")

    def compose_footer(self) -> Footer:
        return Footer()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker of this screen failed unexpectedly: the log file gets its traceback, scrubbed
        (the screen's own handlers still show it in words)."""
        if event.state is WorkerState.ERROR:
            log_worker_error(event.worker)

    def on_key(self, event: events.Key) -> None:
        """A writing key in read-only mode (its binding is gone, so the key reached the screen):
        a notification names read-only mode, instead of silence."""
        if not self.console.settings.read_only or not self.ACTION_SPECS:
            return
        spec = next((s for s in self.ACTION_SPECS if s.writes and event.key in s.keys.split(",")), None)
        if spec is not None:
            event.stop()
            self.notify(f"{spec.description} ({event.key}) writes, and the console is in read-only mode (--read-only "
                        "or the profile's read_only): start it without to make changes.", title="Read-only",
                        severity="warning", timeout=6)

    def on_descendant_focus(self) -> None:
        self.refresh_header()  # the strip says alt+ while the focus is in a text field

    def on_descendant_blur(self) -> None:
        self.refresh_header()

    def on_screen_resume(self) -> None:
        self.refresh_bindings()  # read-only may have changed meanwhile (a reconnect)
        self.refresh_header()
        if self.console.stores is not None:
            self.stores_ready()

    def refresh_header(self) -> None:
        for header in self.query(ConsoleHeader):
            header.show(self.console.header_state(self.TITLE_TEXT))

    def stores_ready(self) -> None:
        """Called when the stores are open (or were swapped): load what the screen shows."""

    def reconnect_finished(self, target: str, problem: str | None) -> None:
        """Called on the current screen when ``app.connect_to`` ended: ``problem`` is None on
        success, else the diagnosis (the console stayed on its previous backend)."""
