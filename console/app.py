"""The console app: the shell every screen lives in.

Screens are Textual modes reachable by number keys and the command palette. The stores
are opened in a worker (the UI never waits on the network) and their health is checked
by a timer that re-arms only after the previous check finished, backing off while the
backend is down. Every database call runs in a worker that posts a message; handlers
own the widgets.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from importlib import import_module

from pydantic import SecretStr
from textual import events, on, work
from textual.app import App, SystemCommand
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import Input, TextArea
from textual.worker import Worker, WorkerState

from console.actions import APP_ACTIONS, bindings
from console.config import ConsoleConfig
from console.hints import for_tui
from console.keystrokes import KeyHandled, KeyOrder, TypingBuffer, clean_paste
from console.target import Resolved, resolve
from console.logs import describe_log, log_worker_error, scrub_text
from console.screens.base import ConsoleScreen
from console.screens.help import HelpScreen, binding_rows
from console.text import install_terminal_guard, visible
from console.widgets.header import HeaderState
from stores import Settings, Stores, open_stores
from stores.errors import StoreError
from stores.transfer.switch import switchable_stores

log = logging.getLogger("lokstra.console")

SLOW_PING_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 60.0

SCREENS: dict[str, tuple[str, str]] = {
    "connection": ("Connection: PostgreSQL setup and profiles", "console.screens.connection:ConnectionScreen"),
    "migrations": ("Migrations: schema state, apply pending", "console.screens.migrations:MigrationsScreen"),
    "browse": ("Browse: tenants, apps, users, keys", "console.screens.browse:BrowseScreen"),
    "monitor": ("Monitor: slow queries and activity", "console.screens.monitor:MonitorScreen"),
    "backend": ("Backend: switch and rollback drills", "console.screens.backend:BackendScreen"),
}
"""Screen modes: title for the palette, and where the screen class lives."""


def _screen_factory(location: str) -> Callable[[], Screen]:
    """Import a screen's module when the screen is first shown, not at start-up: the
    connection, migrations and backend screens pull in asyncpg and the migration runner,
    which the first screen (Browse on the memory demo) does not need (bench_console.py)."""
    module_name, class_name = location.split(":")

    def make() -> Screen:
        return getattr(import_module(module_name), class_name)()

    return make


class LokstraConsole(App[int]):
    TITLE = "lokstra-console"
    MODES = {name: _screen_factory(location) for name, (_, location) in SCREENS.items()}
    DEFAULT_MODE = "browse"
    BINDINGS = bindings(APP_ACTIONS)
    CSS = """
    /* Notifications at the top right, under the header line, at most half the height: dialogs
       keep their buttons at their bottom, where Textual's bottom-right toasts covered them
       (issue 16 item 12, tests/tui/test_toasts.py). */
    ToastRack { dock: top; align: right top; margin-top: 1; margin-bottom: 0; max-height: 50%; }
    Toast { margin-top: 0; margin-bottom: 1; padding: 0 1; }
    """

    class BackendOpened(Message):
        def __init__(self, stores: Stores) -> None:
            self.stores = stores
            super().__init__()

    class BackendFailed(Message):
        def __init__(self, text: str) -> None:
            self.text = text
            super().__init__()

    class HealthChecked(Message):
        def __init__(self, rtt: float | None, error: str | None) -> None:
            self.rtt = rtt
            self.error = error
            super().__init__()

    def __init__(self, settings: Settings | None = None, *, config: ConsoleConfig | None = None,
                 profile: str | None = None, read_only: bool = False, password: SecretStr | None = None,
                 resolved: Resolved | None = None) -> None:
        """``resolved`` (``console.target.resolve``, what the command line gives) or, without
        it, the same resolution from ``profile`` / ``read_only``; ``settings`` (tests) wins
        over both for the backend."""
        install_terminal_guard()
        super().__init__()
        self.typing = TypingBuffer(self)
        self.key_order = KeyOrder(self)
        self.stop_line: str | None = None
        """The one line printed on the terminal when the console stopped on an error (cli.py)."""
        if resolved is None and settings is None:
            resolved = resolve(profile=profile, read_only=read_only, password=password,
                               config=config or ConsoleConfig())
        self.config = resolved.config if resolved is not None else (config or ConsoleConfig())
        chosen = self.config.profile(profile)
        self.profile_name = resolved.profile if resolved is not None else \
            ((profile or self.config.active_profile) if chosen else None)
        self.environment = resolved.environment if resolved is not None else (chosen.environment if chosen else None)
        if settings is None:
            settings = resolved.settings  # type: ignore[union-attr]
        if read_only and not settings.read_only:
            settings = settings.model_copy(update={"read_only": True})
        self.settings = settings
        self.stores: Stores | None = None
        self.health = "connecting" if settings.use_postgres else "ok"
        self.rtt: float | None = None
        self.problem: str | None = None
        self._health_timer: Timer | None = None
        self._backoff = self.config.health_interval
        self.animation_level = "full" if self.config.animations else "none"

    # -- header ---------------------------------------------------------------------------
    def header_state(self, screen: str = "") -> HeaderState:
        """What the header shows, from the active engine (a live switch changes it)."""
        active = self.stores.engine.current if self.stores is not None else None  # type: ignore[attr-defined]
        target = getattr(active, "target", None) if active is not None else (
            self.settings.connection() if self.settings.use_postgres else None)
        if target is not None:
            backend, where = "POSTGRES", f"{target.user}@{target.host}/{target.database}"
        else:
            backend, where = "MEMORY", "demo data" if self.settings.demo_data else ""
        rtt_ms = self.rtt * 1000 if self.rtt is not None and target is not None else None
        return HeaderState(backend=backend, target=where, profile=self.profile_name, environment=self.environment,
                           health=self.health, rtt_ms=rtt_ms, read_only=self.settings.read_only, screen=screen,
                           pooled=getattr(active, "pooler", None) is not None,
                           layout=getattr(getattr(active, "layout", None), "name", None),
                           in_text=isinstance(self.focused, (Input, TextArea)))

    def active_settings(self) -> Settings:
        """The settings of the engine in use: after a live switch they differ from the
        ones the console started with."""
        active = self.stores.engine.current if self.stores is not None else None  # type: ignore[attr-defined]
        if active is None:
            return self.settings
        if active.backend == "postgres":
            return getattr(active, "settings", None) or self.settings
        return self.settings.model_copy(update={"use_postgres": False}) if self.settings.use_postgres else self.settings

    @property
    def console_screen(self) -> ConsoleScreen | None:
        """The console screen on top, or None: a dialog is on top, or the stack is already empty
        while the app shuts down (a late health check's answer then crashed it)."""
        screen = self.screen_stack[-1] if self.screen_stack else None
        return screen if isinstance(screen, ConsoleScreen) else None

    def refresh_header(self) -> None:
        if (screen := self.console_screen) is not None:
            screen.refresh_header()

    # -- lifecycle -------------------------------------------------------------------------
    def on_mount(self) -> None:
        if self.config.keymap:
            self.set_keymap(self.config.keymap)
        state = self.header_state()
        log.info("console started: backend %s %s, profile %s, read-only %s", state.backend, state.target or "-",
                 self.profile_name or "-", self.settings.read_only)
        self.open_backend()

    @work(exclusive=True, group="backend", exit_on_error=False)
    async def open_backend(self) -> None:
        try:
            stores = await self._open()
        except StoreError as exc:
            self.post_message(self.BackendFailed(str(exc)))
            return
        self.post_message(self.BackendOpened(stores))

    async def _open(self) -> Stores:
        """The stores every screen uses: switchable, so the Backend screen can move the data live."""
        return switchable_stores(await open_stores(self.settings), write_wait=self.config.write_wait)

    @on(BackendOpened)
    def _backend_opened(self, message: BackendOpened) -> None:
        self.stores = message.stores
        self.problem = None
        self.health = "ok"
        log.info("backend opened: %s", self.header_state().target or self.settings.backend)
        self.refresh_header()
        if (screen := self.console_screen) is not None:
            screen.stores_ready()
        self._arm_health(self.config.health_interval)

    @on(BackendFailed)
    def _backend_failed(self, message: BackendFailed) -> None:
        self.problem = for_tui(message.text)
        self.health = "down"
        log.warning("backend unavailable: %s", message.text)
        self.refresh_header()
        self.notify(message.text, title="Backend unavailable", severity="error", timeout=15)
        self._backoff = min(self._backoff * 2, MAX_BACKOFF_SECONDS)
        self._health_timer = self.set_timer(self._backoff, self.open_backend)

    def connect_to(self, settings: Settings, *, profile: str | None = None, environment: str | None = None) -> None:
        """Reconnect the console to other stores (no data moves: that is the Backend
        screen's switch). Until the new stores are open the console stays on the old
        ones; if they cannot be opened it says why and stays there."""
        if self.config.profile(profile) is not None and environment is None:
            environment = self.config.profile(profile).environment  # type: ignore[union-attr]
        self.reopen_backend(settings, profile, environment)

    class Reconnected(Message):
        def __init__(self, stores: Stores, settings: Settings, profile: str | None, environment: str | None) -> None:
            self.stores = stores
            self.settings = settings
            self.profile = profile
            self.environment = environment
            super().__init__()

    class ReconnectFailed(Message):
        def __init__(self, target: str, text: str) -> None:
            self.target = target
            self.text = text
            super().__init__()

    @work(exclusive=True, group="backend", exit_on_error=False)
    async def reopen_backend(self, settings: Settings, profile: str | None, environment: str | None) -> None:
        try:
            stores = switchable_stores(await open_stores(settings), write_wait=self.config.write_wait)
        except StoreError as exc:
            where = settings.connection().display() if settings.use_postgres else "memory"
            self.post_message(self.ReconnectFailed(where, str(exc)))
            return
        self.post_message(self.Reconnected(stores, settings, profile, environment))

    @on(Reconnected)
    async def _reconnected(self, message: Reconnected) -> None:
        old = self.stores
        self.settings, self.profile_name, self.environment = message.settings, message.profile, message.environment
        log.info("reconnected to %s (profile %s)", message.settings.connection().display()
                 if message.settings.use_postgres else "memory", message.profile or "-")
        self._backend_opened(self.BackendOpened(message.stores))
        if (screen := self.console_screen) is not None:
            where = message.settings.connection().display() if message.settings.use_postgres else "memory"
            screen.reconnect_finished(where, None)
        if old is not None:
            await old.close()

    @on(ReconnectFailed)
    def _reconnect_failed(self, message: ReconnectFailed) -> None:
        still = "the previous backend" if self.stores is not None else "no backend"
        log.warning("cannot connect to %s: %s", message.target, message.text)
        self.notify(f"{message.text}\nThe console stays on {still}.", title=f"Cannot connect to {message.target}",
                    severity="error", timeout=15)
        if (screen := self.console_screen) is not None:
            screen.reconnect_finished(message.target, message.text)

    def retry_backend_now(self) -> None:
        """Open the backend at once (e.g. right after migrating a fresh database) instead of
        waiting for the back-off timer; the pending timer is cancelled so only one opens."""
        if self._health_timer is not None:
            self._health_timer.stop()
        self._backoff = self.config.health_interval
        self.open_backend()

    # -- health ----------------------------------------------------------------------------
    def _arm_health(self, delay: float) -> None:
        self._health_timer = self.set_timer(delay, self.check_health)

    @work(exclusive=True, group="health", exit_on_error=False)
    async def check_health(self) -> None:
        if self.stores is None:
            return
        try:
            rtt = await self.stores.ping()
        except StoreError as exc:
            self.post_message(self.HealthChecked(None, str(exc)))
            return
        self.post_message(self.HealthChecked(rtt, None))

    @on(HealthChecked)
    def _health_checked(self, message: HealthChecked) -> None:
        before = self.health
        if message.error is not None:
            self.health, self.problem = "down", message.error
            self._backoff = min(self._backoff * 2, MAX_BACKOFF_SECONDS)
        else:
            self.rtt = message.rtt
            self.health = "degraded" if (message.rtt or 0) > SLOW_PING_SECONDS else "ok"
            self._backoff = self.config.health_interval
            if before == "down":
                self.notify("The backend answers again.", title="Reconnected")
        if self.health != before:
            log.log(logging.WARNING if self.health == "down" else logging.INFO, "health %s -> %s%s", before,
                    self.health, f": {message.error}" if message.error else f" (ping {(message.rtt or 0) * 1000:.0f} ms)")
        self.refresh_header()
        self._arm_health(self._backoff)  # re-armed only now: checks never overlap

    # -- what reaches the operator ---------------------------------------------------------
    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """Every notification is plain text (``markup`` is ignored): a message carries values,
        usage lines and server errors, and Textual would parse ``TENANT[/APP]`` as markup
        (MarkupError ended the console) or ``[@click=app.quit]`` as an action. Control
        characters are shown, not sent (console/text.py)."""
        super().notify(visible(for_tui(str(message))), title=visible(str(title)), severity=severity,
                       timeout=timeout, markup=False)

    async def on_event(self, event: events.Event) -> None:
        """Typed bursts and pastes pass console/keystrokes.py first: input waits behind a key
        still on its way (KeyOrder), a burst of keys for a text field is one insertion, a paste
        loses its control characters."""
        if isinstance(event, (events.InputEvent, events.Paste)) and not event.is_forwarded:
            if self.key_order.hold(event):
                return
            if isinstance(event, events.Key) and self.app_focus and self.typing.take(event):
                return
            self.typing.flush()
            if isinstance(event, events.Paste):
                event = clean_paste(event)
            if isinstance(event, events.Key):
                target = self.focused or (self.screen if self.screen_stack else None)
                await super().on_event(event)
                if event.is_forwarded and target is not None:  # not taken by a priority binding
                    self.key_order.forwarded(event, target)
                return
        await super().on_event(event)

    @on(KeyHandled)
    async def _key_handled(self, message: KeyHandled) -> None:
        for event in self.key_order.settled(message.key):
            await self.on_event(event)

    # -- an unexpected error ---------------------------------------------------------------
    def _fatal_error(self) -> None:
        """An unhandled exception ends the app (Textual calls this from ``_handle_exception``).
        Textual's own handler prints the traceback with every frame's local variables, and a
        local may hold a password typed into a form or a key being shown once: the log file
        gets the traceback (without locals, scrubbed) and cli.py prints one scrubbed line.
        Overrides a private method of textual.App; tests/tui/test_app.py fails if Textual
        stops calling it."""
        self.stopped_by(self._exception)
        self._close_messages_no_wait()

    def panic(self, *renderables: object) -> None:
        """Textual's path for an unhandled exception that can render itself (``__rich__``):
        the same as any other (``_fatal_error``), nothing of it on the terminal."""
        self._fatal_error()

    def stopped_by(self, error: BaseException | None) -> None:
        """Log ``error``'s details and keep the line the terminal gets (the first error's)."""
        import traceback

        if error is not None:
            details = scrub_text("".join(traceback.format_exception(error)))
            log.error("the console stopped on an unexpected error:\n%s", details)
        if self.stop_line is None:
            self.stop_line = stop_line(error)

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        """The console's own workers (screens log theirs, see ConsoleScreen): an unexpected error
        goes to the log file with its traceback, scrubbed."""
        if event.state is WorkerState.ERROR:
            log_worker_error(event.worker)

    # -- navigation ------------------------------------------------------------------------
    def action_back(self) -> None:
        if len(self.screen_stack) > 1:
            self.pop_screen()

    def action_goto_screen(self, name: str) -> None:
        """1–5 / alt+1–5: switch screens; not while a dialog is open (it is finished first)."""
        if self.screen_stack and isinstance(self.screen, ModalScreen):
            return
        if name != self.current_mode:
            self.switch_mode(name)

    def action_help(self) -> None:
        screen = self.screen
        title = getattr(screen, "TITLE_TEXT", "") or "lokstra-console"
        text = getattr(screen, "HELP", "")
        active = [binding for node, binding, enabled, _ in self.active_bindings.values()
                  if enabled and node in (screen, self)]  # the screen's and the console's, not widget keys
        self.push_screen(HelpScreen(title, text, binding_rows(active)))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for name, (title, _) in SCREENS.items():
            yield SystemCommand(f"Go to {title}", f"switch to the {name} screen", lambda name=name: self.switch_mode(name))

    # -- quit: memory changes no snapshot holds are not lost silently (console/screens/quit.py) --
    memory_saved_at_changes: int = 0
    """``MemoryEngine.changes`` of ``memory_saved_engine`` when its data was last saved
    (the start, an export, an import, a switch that copied it from PostgreSQL)."""
    memory_saved_engine: object | None = None
    """The memory engine that count belongs to (None: the one the console started with)."""

    def mark_memory_saved(self, engine: object, changes: int) -> None:
        self.memory_saved_engine, self.memory_saved_at_changes = engine, changes

    def unsaved_memory_changes(self) -> tuple[object | None, int]:
        """The active memory engine and how many of its changes no snapshot holds (0 on PostgreSQL)."""
        engine = getattr(self.stores.engine, "current", None) if self.stores is not None else None
        changes = getattr(engine, "changes", None) if getattr(engine, "backend", "") == "memory" else None
        if changes is None:
            return None, 0
        saved = self.memory_saved_engine
        base = self.memory_saved_at_changes if saved is None or saved is engine else 0
        return engine, max(changes - base, 0)

    async def action_quit(self) -> None:
        from console.screens.quit import QuitModal, snapshot_path  # only when quitting: start-up stays lean

        if isinstance(self.screen, QuitModal):
            return  # the dialog is asking already: it answers with its own buttons
        blockers = [reason for screen in self.screen_stack
                    if (reason := getattr(screen, "quit_blocker", lambda: None)()) is not None]
        if blockers:
            self.notify(blockers[0], title="Not quitting yet", severity="warning", timeout=10)
            return
        engine, unsaved = self.unsaved_memory_changes()
        if not unsaved:
            self.exit()
            return
        self.push_screen(QuitModal(engine, unsaved, snapshot_path(self.config.files_directory_or_here())),
                         lambda leave: self.exit() if leave else None)
    # -- end of quit ----------------------------------------------------------------------------

    async def on_unmount(self) -> None:
        if self.stores is not None:
            await self.stores.close()


STOP_SUMMARY_CHARACTERS = 300


def stop_line(error: BaseException | None) -> str:
    """The one line the terminal gets when the console stopped on ``error``: its type and
    message, scrubbed of secrets, on one line, control characters shown, shortened."""
    summary = scrub_text(f"{type(error).__name__}: {error}") if error is not None else "an unexpected error"
    summary = " ".join(visible(summary).split())
    if len(summary) > STOP_SUMMARY_CHARACTERS:
        summary = summary[:STOP_SUMMARY_CHARACTERS - 1] + "…"
    return f"lokstra-console stopped: {summary} (the details are in the {describe_log()})"
