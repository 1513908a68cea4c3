"""Migrations: every migration's state, the schema's in one line, and applying the pending ones.

Everything goes through ``MigrationRunner`` (the screen never writes SQL), in workers that
only post messages; handlers own the widgets. Status loads when the screen is shown and on
``r``. Applying asks first (focus on "No"), then a modal shows the progress per migration:
a held migration lock names its holder and offers Wait / Give up (giving up cancels the
worker, which closes its connection before it ever held the lock); a refusal (changed,
missing or out-of-order files) offers "Accept and apply" behind a second confirmation; a
failure shows the database's message and line.

In read-only mode the writing actions are left out of the bindings, the footer and the
palette. On the memory backend the screen explains that migrations concern PostgreSQL and
shows the state of the configured target (the active profile, or the DB_* settings).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import asyncpg
from pydantic import ValidationError
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingsMap
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Static
from textual.worker import Worker, WorkerState

from console.text import plain
from console.actions import ActionSpec, bindings
from console.screens.confirm import ConfirmModal
from console.screens.base import ConsoleScreen
from migrations import MigrationRunner, MigrationStatus, Outcome, Overall, Progress, RunResult, SchemaStatus, State
from migrations.runner import SourceArg
from stores.postgres.diagnose import diagnose, scrub
from stores.settings import Settings

if TYPE_CHECKING:
    from console.app import LokstraConsole

MIGRATION_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("migrations.refresh", "r", "refresh", "Refresh"),
    ActionSpec("migrations.apply", "a", "apply", "Apply pending", writes=True),
    ActionSpec("migrations.dry_run", "d", "dry_run", "Dry run", writes=True),
)
WRITING_ACTIONS = frozenset(spec.action for spec in MIGRATION_ACTIONS if spec.writes)

STATE_STYLE = {
    State.APPLIED: "green",
    State.BASELINE: "cyan",
    State.PENDING: "yellow",
    State.OUT_OF_ORDER: "bold red",
    State.CHANGED: "bold red",
    State.MISSING: "bold red",
    State.FAILED: "bold red",
}
OVERALL_STYLE = {
    Overall.CURRENT: "bold green",
    Overall.PENDING: "bold yellow",
    Overall.NOT_INITIALISED: "bold yellow",
    Overall.DRIFT: "bold red",
    Overall.FAILED: "bold red",
    Overall.UNTRACKED: "bold red",
}
ATTENTION_STATES = (State.FAILED, State.CHANGED, State.MISSING, State.OUT_OF_ORDER)
NAME_WIDTH = 20

HOW_TO_CONFIGURE = (
    "No PostgreSQL target is configured. Set USE_POSTGRES=true with DB_HOST, DB_USER, DB_NAME "
    "(or DATABASE_URL) in the environment or .env, or add a profile on the Connection screen (1)."
)
MEMORY_EXPLAINED = (
    "Migrations concern PostgreSQL: this console runs on the in-memory backend, which has no schema."
)


# ----- what the screen talks to ------------------------------------------------------------

@dataclass(frozen=True)
class SchemaTarget:
    """One PostgreSQL database whose migrations the screen shows; ``display`` is safe to show."""

    settings: Settings = field(repr=False)
    label: str
    display: str
    secrets: tuple[str, ...] = field(repr=False, default=())

    @classmethod
    def of(cls, settings: Settings, label: str) -> SchemaTarget:
        connection = settings.connection()
        return cls(settings, label, connection.display(), tuple(connection.secrets()))

    def runner(self, source: SourceArg, lock_timeout: float, *, long_commands: bool = False) -> MigrationRunner:
        """A runner on this target (``long_commands``: no command timeout, an index build may take a while)."""
        kwargs: dict[str, Any] = self.settings.connection().connect_kwargs()
        if long_commands:
            kwargs["command_timeout"] = None
        return MigrationRunner.from_kwargs(kwargs, source=source, lock_timeout=lock_timeout,
                                           data_schema=self.settings.auth_schema)

    def failure(self, exc: BaseException) -> str:
        """``exc`` in words for the screen: the diagnosis, or the database's message; never a secret."""
        secrets = list(self.secrets)
        found = diagnose(exc, self.display, secrets)
        if found is not None:
            return str(found)
        if isinstance(exc, asyncpg.PostgresError):
            return scrub(f"{exc.sqlstate}: {exc}", secrets)
        return scrub(f"{type(exc).__name__}: {exc}", secrets)


def configured_target(app: LokstraConsole) -> SchemaTarget | None:
    """The PostgreSQL target to show while the console runs on memory: the active profile, or
    the DB_* / DATABASE_URL settings of the environment and .env; None when neither is set."""
    profile = app.config.profile()
    if profile is not None:
        return SchemaTarget.of(profile.store_settings(), f"profile {app.config.active_profile}")
    env = Settings()
    if env.use_postgres or env.database_url or env.db_host or env.db_name:
        return SchemaTarget.of(env.model_copy(update={"use_postgres": True}), "the DB_* settings")
    return None


# ----- text helpers --------------------------------------------------------------------------

def duration_text(ms: int | None) -> str:
    if ms is None:
        return ""
    return f"{ms} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def state_text(state: State) -> Text:
    return plain(state.value.replace("_", " "), style=STATE_STYLE.get(state, ""))


def short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def row_cells(m: MigrationStatus) -> tuple[Text, ...]:
    when = m.applied_at or m.failed_at
    return (
        plain(f"{m.version:03d}"),
        plain(short(m.description, NAME_WIDTH)),
        state_text(m.state),
        plain(when.strftime("%Y-%m-%d %H:%M") if when else ""),
        plain(duration_text(m.duration_ms)),
        plain(m.short_checksum or ""),
    )


def row_detail(m: MigrationStatus) -> Text:
    text = Text()
    text.append(plain(m.label, "bold"))
    text.append(" ")
    text.append_text(state_text(m.state))
    if m.applied_by:
        text.append(plain(f" · by {m.applied_by}"))
    if m.recorded_checksum and m.recorded_checksum != m.checksum:
        text.append(plain(f" · applied {m.recorded_checksum[:8]}, file {m.short_checksum or 'missing'}"))
    text.append(plain({True: " · reversible", False: " · irreversible", None: ""}[m.reversible], "dim"))
    if m.error or m.note:
        text.append(plain(f"\n{m.error or m.note}", "red" if m.error else ""))
    return text


def acceptable(result: RunResult) -> bool:
    """A refusal the operator may override: drift (changed, missing, out of order), not an untracked schema."""
    return (result.outcome is Outcome.REFUSED and result.status is not None
            and result.status.overall is not Overall.UNTRACKED)


def result_lines(result: RunResult) -> list[Text]:
    """The whole result of a run, for the run modal."""
    lines: list[Text] = []
    if result.outcome is Outcome.LOCKED:
        lines.append(plain(f"Not started: {result.reasons[0]}", style="bold red"))
    elif result.outcome is Outcome.REFUSED:
        lines.append(Text("Refused:", style="bold red"))
        lines += [plain(f"  - {reason}") for reason in result.reasons]
        if acceptable(result):
            lines.append(Text("Accept and apply records these in the history and goes on.", style="dim"))
    elif result.outcome is Outcome.NOTHING_TO_DO:
        lines.append(Text("Nothing to do.", style="green"))
    for version in result.accepted:
        lines.append(plain(f"{'would accept' if result.dry_run else 'accepted'} the drift of {version:03d}"))
    failed = result.failed_step
    if failed is not None:
        lines.append(plain(f"{failed.label} failed and was rolled back:", style="bold red"))
        lines.append(plain(f"  {failed.error}" + (f" [{failed.sqlstate}]" if failed.sqlstate else ""), style="red"))
        lines += [plain(f"  {extra}") for extra in (failed.detail, failed.hint) if extra]
    elif result.steps:
        done = "would apply" if result.dry_run else "applied"
        lines.append(plain(f"{done.capitalize()} {len(result.steps)} migration(s).", style="bold green"))
    if result.dry_run and result.steps:
        for step in result.steps:
            if step.success:
                lines.append(plain(f"  {step.label}: {len(step.statements)} statement(s), {duration_text(step.duration_ms)}"))
        lines.append(Text("Dry run: everything was rolled back.", style="bold"))
    if result.status is not None and failed is None:
        lines.append(plain(f"Schema: {result.status.headline}"))
    return lines


def result_summary(result: RunResult) -> tuple[str, bool]:
    """One line for the screen after a run, and whether it went well."""
    dry = "dry run: " if result.dry_run else ""
    failed = result.failed_step
    if failed is not None:
        return f"{dry}{failed.label} failed and was rolled back: {failed.error}", False
    if result.outcome is Outcome.LOCKED:
        return f"{dry}not started: {result.reasons[0]}", False
    if result.outcome is Outcome.REFUSED:
        more = f" (+{len(result.reasons) - 1} more)" if len(result.reasons) > 1 else ""
        return f"{dry}refused: {result.reasons[0]}{more}", False
    if result.outcome is Outcome.NOTHING_TO_DO:
        return f"{dry}nothing to do", True
    versions = ", ".join(f"{step.version:03d}" for step in result.steps)
    if result.dry_run:
        return f"dry run: {len(result.steps)} migration(s) would apply ({versions}); everything was rolled back", True
    return f"applied {len(result.steps)} migration(s) ({versions})", True


# ----- modals --------------------------------------------------------------------------------

MODAL_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{ width: 76; height: auto; max-height: 22; border: round $accent; background: $surface;
                     padding: 0 1; }}
{name} .title {{ text-style: bold; }}
{name} Horizontal {{ height: auto; align: center middle; margin-top: 1; }}
{name} Button {{ margin: 0 1; min-width: 10; }}
"""


@dataclass(frozen=True)
class RunEnd:
    """What the run modal hands back to the screen: one line and whether it went well."""

    text: str
    ok: bool


class RunModal(ModalScreen[RunEnd]):
    """Runs ``up`` (or a dry run) and shows it: progress per migration, a held lock, the result."""

    DEFAULT_CSS = MODAL_CSS.format(name="RunModal") + """
    RunModal #log { height: auto; max-height: 12; }
    RunModal #lock { color: $warning; display: none; margin-top: 1; }
    """
    BINDINGS = [
        Binding("escape", "escape", "Close / give up", id="run.escape"),
        Binding("left", "app.focus_previous", "Previous", show=False),
        Binding("right", "app.focus_next", "Next", show=False),
    ]

    class Stepped(Message):
        def __init__(self, progress: Progress) -> None:
            self.progress = progress
            super().__init__()

    class Finished(Message):
        def __init__(self, result: RunResult) -> None:
            self.result = result
            super().__init__()

    def __init__(self, target: SchemaTarget, source: SourceArg, lock_timeout: float, *, dry_run: bool) -> None:
        super().__init__()
        self.target = target
        self.source = source
        self.lock_timeout = lock_timeout
        self.dry_run = dry_run
        self.accept = False
        self.phase = "running"  # running | lock | done
        self.lines: list[Text] = []
        self.step_lines: dict[int, int] = {}
        self.lock_line: int | None = None
        self.steps_started = False
        self.holder_text = ""
        self.waited = 0
        self.end = RunEnd("", True)
        self.result: RunResult | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self._title(), classes="title", id="title")
            with VerticalScroll(id="log"):
                yield Static("", id="lines")
            yield Static("", id="lock")
            with Horizontal():
                yield Button("Wait", id="wait")
                yield Button("Give up", id="give-up", variant="primary")
                yield Button("Close", id="close", variant="primary")
                yield Button("Accept and apply…", id="accept", variant="error")

    def _title(self) -> Text:
        what = "Dry run (applied, then rolled back)" if self.dry_run else "Applying pending migrations"
        return plain(f"{what} on {self.target.display}")

    def on_mount(self) -> None:
        self._buttons()
        self.set_interval(1.0, self._tick)
        self.start_run()

    # -- the worker ------------------------------------------------------------------------
    def start_run(self) -> None:
        self.phase = "running"
        self.lines, self.step_lines = [], {}
        self.steps_started = False
        if self.accept:
            self._log(Text("Accepting the drift (recorded in the history) and applying.", style="bold"))
        self.lock_line = len(self.lines)
        self._log(Text("Taking the migration lock …", style="dim"))
        self._buttons()
        self.run_up()

    @work(exclusive=True, group="migrations-run", exit_on_error=False)
    async def run_up(self) -> None:
        def progress(event: Progress) -> None:
            if event.kind == "started":
                self.steps_started = True  # set here, not in the handler: Give up must not race a step
            self.post_message(self.Stepped(event))

        runner = self.target.runner(self.source, self.lock_timeout, long_commands=True)
        result = await runner.up(accept=self.accept, dry_run=self.dry_run, on_progress=progress)
        self.post_message(self.Finished(result))

    @on(Stepped)
    def _stepped(self, message: Stepped) -> None:
        event = message.progress
        if event.kind == "waiting_for_lock":
            self.holder_text = event.holder.describe() if event.holder else "another session"
            self.waited = 0
            if self.phase != "waiting":
                self.phase = "lock"
            self._show_lock()
            self._buttons()
            return
        if self.phase in ("lock", "waiting"):
            self.phase = "running"
            self.query_one("#lock", Static).display = False
            self._buttons()
        self._lock_taken()
        label = f"[{event.index}/{event.total}] {event.action} {event.version:03d}_{event.description}"
        if event.kind == "started":
            self.step_lines[event.index] = len(self.lines)
            self._log(plain(f"{label} …"))
            return
        line = plain(label)
        if event.kind == "finished":
            line.append(plain(f"  ok ({duration_text(event.duration_ms)})", "green"))
        else:
            line.append(plain(f"  FAILED ({duration_text(event.duration_ms)})", "bold red"))
        self._log(line, replace=self.step_lines.get(event.index))

    @on(Finished)
    def _finished(self, message: Finished) -> None:
        result = message.result
        self.result = result
        self.query_one("#lock", Static).display = False
        if result.outcome is not Outcome.LOCKED:
            self._lock_taken()
        for line in result_lines(result):
            self._log(line)
        self.end = RunEnd(*result_summary(result))
        self._done()

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "migrations-run":
            return
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            text = self.target.failure(event.worker.error)
            self._log(plain(f"The run stopped: {text}", style="bold red"))
            self.end = RunEnd(f"the run stopped: {text}", False)
            self._done()
        elif event.state is WorkerState.CANCELLED and self.phase != "done":
            self._log(plain(f"Gave up waiting for the lock held by {self.holder_text}. Nothing was applied.", style="bold"))
            self.end = RunEnd(f"gave up waiting for the migration lock held by {self.holder_text}; nothing was applied",
                              False)
            self._done()

    # -- widgets ---------------------------------------------------------------------------
    def _log(self, line: Text, replace: int | None = None) -> None:
        if replace is not None and replace < len(self.lines):
            self.lines[replace] = line
        else:
            self.lines.append(line)
        # query, not query_one: a hang-up right after Enter tears the modal down while its on_mount
        # still logs, and a missing widget then ended the console with exit code 1, not 129.
        for lines in self.query("#lines").results(Static):
            lines.update(Text("\n").join(self.lines))
        for scroll in self.query("#log").results(VerticalScroll):
            scroll.scroll_end(animate=False)

    def _lock_taken(self) -> None:
        if self.lock_line is not None:
            self._log(Text("Holding the migration lock.", style="dim"), replace=self.lock_line)
            self.lock_line = None

    def _show_lock(self) -> None:
        lock = self.query_one("#lock", Static)
        text = plain(f"The migration lock is held by {self.holder_text}.\n")
        if self.phase == "lock":
            text.append("Wait for it to be released, or give up?", style="bold")
        else:
            text.append(plain(f"Waiting … {self.waited} s (at most {self.lock_timeout:.0f} s)."))
        lock.update(text)
        lock.display = True

    def _tick(self) -> None:
        if self.phase in ("lock", "waiting"):
            self.waited += 1
            self._show_lock()

    def _done(self) -> None:
        self.phase = "done"
        self._buttons()

    def _buttons(self) -> None:
        visible = {
            "running": set(),
            "lock": {"wait", "give-up"},
            "waiting": {"give-up"},
            "done": {"close"} | ({"accept"} if self.result is not None and acceptable(self.result) else set()),
        }[self.phase]
        for button in self.query(Button):
            button.display = button.id in visible
        focus = {"lock": "#give-up", "waiting": "#give-up", "done": "#close"}.get(self.phase)
        if focus:
            self.query_one(focus, Button).focus()
        else:
            self.set_focus(None)

    @on(Button.Pressed, "#wait")
    def _wait(self) -> None:
        self.phase = "waiting"
        self._show_lock()
        self._buttons()

    @on(Button.Pressed, "#give-up")
    def _give_up(self) -> None:
        if self.steps_started:  # the lock was taken a moment ago: the run is under way, let it finish
            self.notify("The lock was just released to us and the run has started.", title="Too late to give up")
            return
        self.workers.cancel_group(self, "migrations-run")

    @on(Button.Pressed, "#close")
    def _close(self) -> None:
        self.dismiss(self.end)

    @on(Button.Pressed, "#accept")
    def _accept(self) -> None:
        assert self.result is not None
        body = Text("Go on over what the runner refused; each is recorded in the history as accepted by you:\n")
        for reason in self.result.reasons:
            body.append(plain(f"\n  - {reason}"))
        question = "Accept the drift and apply?" if not self.dry_run else "Accept the drift in a dry run?"

        def answered(yes: bool | None) -> None:
            if yes:
                self.accept = True
                self.result = None
                self.start_run()

        self.app.push_screen(ConfirmModal(question, body, yes="Accept and apply"), answered)

    def action_escape(self) -> None:
        if self.phase in ("lock", "waiting"):
            self._give_up()
        elif self.phase == "done":
            self._close()
        else:
            self.notify("A migration is running in its own transaction; it finishes on its own.",
                        title="Please wait", severity="warning")


# ----- the palette -----------------------------------------------------------------------------

class MigrationCommands(Provider):
    """The screen's actions in the command palette (the writing ones only where they are allowed)."""

    def _commands(self) -> list[tuple[str, str, Any]]:
        screen = self.screen
        return screen.palette_commands() if isinstance(screen, MigrationsScreen) else []

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            if (score := matcher.match(title)) > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)


# ----- the screen ------------------------------------------------------------------------------

class MigrationsScreen(ConsoleScreen):
    TITLE_TEXT = "migrations"
    HELP = (
        "Every migration file and every applied version with its state: applied, baseline (adopted), "
        "pending, out of order (below an applied version), changed (the file differs from what was "
        "applied), missing (applied, file gone), failed (the database's message shows below the table "
        "for the selected row). The line above the table is the schema as a whole.\n\n"
        "a applies the pending migrations after a confirmation: one transaction each, under the "
        "migration lock (a held lock names its holder: wait or give up). Refused drift can be accepted "
        "with a second confirmation. d does a dry run (applied, then rolled back). r reloads.\n"
        "Read-only mode leaves a and d out. On the memory backend the screen shows the configured "
        "PostgreSQL target's state."
    )
    BINDINGS = bindings(MIGRATION_ACTIONS)
    COMMANDS = {MigrationCommands}
    SOURCE: ClassVar[SourceArg] = None  # the packaged migrations
    LOCK_TIMEOUT: ClassVar[float] = 600.0  # how long "Wait" may wait for another runner
    DEFAULT_CSS = """
    MigrationsScreen #summary { height: 1; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
    MigrationsScreen #context { height: auto; max-height: 8; padding: 0 1; color: $text-muted; }
    MigrationsScreen #result { height: 1; padding: 0 1; display: none; text-wrap: nowrap; text-overflow: ellipsis; }
    MigrationsScreen #migrations { height: 1fr; }
    MigrationsScreen #detail { height: auto; min-height: 2; max-height: 3; padding: 0 1; }
    """

    class StatusLoaded(Message):
        def __init__(self, status: SchemaStatus, target: SchemaTarget) -> None:
            self.status = status
            self.target = target
            super().__init__()

    class NoTarget(Message):
        """The console runs on memory and no PostgreSQL target is configured."""

    class TargetFailed(Message):
        def __init__(self, text: str, target: SchemaTarget | None) -> None:
            self.text = text
            self.target = target
            super().__init__()

    def __init__(self) -> None:
        super().__init__()
        self.all_bindings = self._bindings.copy()
        self.target: SchemaTarget | None = None
        self.status: SchemaStatus | None = None
        self.focus_attention = True  # the cursor goes to a failed or drifted migration on the next load

    def compose(self) -> ComposeResult:
        yield self.compose_header()
        yield Static("Loading the migration status …", id="summary")
        yield Static("", id="context")
        yield Static("", id="result")
        table: DataTable[str | Text] = DataTable(id="migrations", cursor_type="row", zebra_stripes=True)
        for label, width in (("ver", 3), ("name", NAME_WIDTH), ("state", 12), ("applied (UTC)", 16),
                             ("time", 7), ("checksum", 8)):
            table.add_column(label, width=width, key=label)
        yield table
        yield Static("", id="detail")
        yield self.compose_footer()

    # -- what may be done ------------------------------------------------------------------
    @property
    def on_memory(self) -> bool:
        return not self.console.active_settings().use_postgres

    @property
    def can_change(self) -> bool:
        return not self.on_memory and not self.console.settings.read_only

    def sync_bindings(self) -> None:
        """This screen's bindings for the current mode: in read-only mode the writing actions are
        left out (absent, not merely disabled). Called on resume: the console may have reconnected."""
        ours = {spec.id for spec in MIGRATION_ACTIONS}
        inherited = {key: kept for key, group in self.all_bindings.key_to_bindings.items()
                     if (kept := [b for b in group if b.id not in ours])}
        own = BindingsMap(bindings(MIGRATION_ACTIONS, self.console.settings.read_only))
        self._bindings = BindingsMap.merge([BindingsMap.from_keys(inherited), own])
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """On the memory backend the screen shows another database's state: nothing to apply here."""
        if action in WRITING_ACTIONS:
            return not self.on_memory
        return True

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        present = {b.id for _, b in self._bindings}
        return [(f"Migrations: {spec.description}", f"{spec.keys}: {spec.description.lower()} ({spec.id})",
                 getattr(self, f"action_{spec.action}"))
                for spec in MIGRATION_ACTIONS
                if spec.id in present and self.check_action(spec.action, ())]

    # -- loading ---------------------------------------------------------------------------
    def on_screen_resume(self) -> None:
        self.sync_bindings()
        if self.console.stores is None:  # otherwise the base class calls stores_ready()
            self.load_status()

    def stores_ready(self) -> None:
        self.sync_bindings()
        self.load_status()

    def action_refresh(self) -> None:
        self.load_status()

    @work(exclusive=True, group="migrations-status", exit_on_error=False)
    async def load_status(self) -> None:
        try:
            target = self._target()
        except ValidationError as exc:  # a malformed DATABASE_URL, DB_PORT …: never echo the input (a password)
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())
            self.post_message(self.TargetFailed(f"The PostgreSQL settings are invalid: {problems}", None))
            return
        if target is None:
            self.post_message(self.NoTarget())
            return
        try:
            status = await target.runner(self.SOURCE, self.LOCK_TIMEOUT).status()
        except Exception as exc:  # shown as words on the screen, never a traceback
            self.post_message(self.TargetFailed(target.failure(exc), target))
            return
        self.post_message(self.StatusLoaded(status, target))

    def _target(self) -> SchemaTarget | None:
        app = self.console
        if app.active_settings().use_postgres:
            return SchemaTarget.of(app.active_settings(), "the console's connection")
        return configured_target(app)

    @on(StatusLoaded)
    def _show_status(self, message: StatusLoaded) -> None:
        status, self.target, self.status = message.status, message.target, message.status
        self.query_one("#summary", Static).update(
            Text.assemble(("schema: ", "bold"), plain(status.headline, OVERALL_STYLE.get(status.overall, "bold"))))
        self.query_one("#context", Static).update(self._context_text(message.target, status))
        table = self.query_one("#migrations", DataTable)
        table.display = True
        keep = table.cursor_row
        table.clear()
        for m in status.migrations:
            table.add_row(*row_cells(m), key=str(m.version))
        if self.focus_attention:
            keep = next((i for i, m in enumerate(status.migrations) if m.state in ATTENTION_STATES), keep)
            self.focus_attention = False
        if table.row_count:
            table.move_cursor(row=min(keep, table.row_count - 1))
        self._show_detail()
        self.refresh_bindings()

    def _context_text(self, target: SchemaTarget, status: SchemaStatus | None) -> Text:
        text = Text()
        if self.on_memory:
            text.append(MEMORY_EXPLAINED + "\n")
            text.append(plain(f"Target ({target.label}): {target.display}"))
            text.append(" · open it on the Connection screen (1) to apply." if status is not None else "")
        else:
            if status is None:
                text.append(plain(f"target: {target.display}"))
            else:
                text.append(plain(f"tracking: {status.tracking_table or 'none yet (created by the first apply)'}"))
                for upstream in status.upstream:
                    text.append(plain(f"\nlokstra: {upstream.describe()}"))
        for warning in status.warnings if status else []:
            text.append(plain(f"\nwarning: {warning}", "yellow"))
        return text

    @on(NoTarget)
    def _show_no_target(self) -> None:
        self.target = self.status = None
        self.query_one("#summary", Static).update(Text("schema: no PostgreSQL target", style="bold"))
        self.query_one("#context", Static).update(plain(f"{MEMORY_EXPLAINED}\n{HOW_TO_CONFIGURE}"))
        self.query_one("#migrations", DataTable).display = False
        self.query_one("#detail", Static).update("")

    @on(TargetFailed)
    def _show_failure(self, message: TargetFailed) -> None:
        self.target, self.status = message.target, None
        self.query_one("#summary", Static).update(
            Text.assemble(("schema: ", "bold"), ("unknown: the status could not be read", "bold red")))
        context = self._context_text(message.target, None) if message.target else Text()
        context.append(plain(("\n" if context else "") + message.text, "red"))
        self.query_one("#context", Static).update(context)
        table = self.query_one("#migrations", DataTable)
        table.clear()
        self.query_one("#detail", Static).update("")

    @on(DataTable.RowHighlighted)
    def _show_detail(self) -> None:
        table = self.query_one("#migrations", DataTable)
        detail = self.query_one("#detail", Static)
        if self.status is None or not table.row_count:
            detail.update("")
            return
        migration = self.status.migrations[min(table.cursor_row, len(self.status.migrations) - 1)]
        detail.update(row_detail(migration))

    # -- applying --------------------------------------------------------------------------
    def action_apply(self) -> None:
        self._ask_and_run(dry_run=False)

    def action_dry_run(self) -> None:
        self._ask_and_run(dry_run=True)

    def _ask_and_run(self, *, dry_run: bool) -> None:
        if not self.can_change:  # a keymap or the palette cannot get round read-only
            return
        status, target = self.status, self.target
        if status is None or target is None:
            self.notify("The migration status has not been read yet: press r.", severity="warning")
            return
        if status.overall is Overall.CURRENT:
            self.notify(f"Nothing to apply: the schema is {status.headline}.", title="Migrations")
            return
        if status.overall is Overall.UNTRACKED:
            self.notify(status.headline, title="Cannot apply", severity="warning", timeout=10)
            return
        pending = [m for m in status.migrations if not m.is_applied]
        body = plain(f"{target.display} · schema: {status.headline}\n")
        for m in pending:
            body.append(plain(f"\n  {m.label}"))
        if dry_run:
            question = f"Dry run {len(pending)} migration(s)? (applied, then rolled back; takes the lock)"
        else:
            question = f"Apply {len(pending)} pending migration(s)? One transaction each."

        def answered(yes: bool | None) -> None:
            if yes:
                self.app.push_screen(RunModal(target, self.SOURCE, self.LOCK_TIMEOUT, dry_run=dry_run), self._run_ended)

        self.app.push_screen(ConfirmModal(question, body, yes="Dry run" if dry_run else "Yes, apply"), answered)

    def _run_ended(self, end: RunEnd | None) -> None:
        if end is not None and end.text:
            result = self.query_one("#result", Static)
            result.update(plain(f"last run: {end.text}", style="green" if end.ok else "bold red"))
            result.display = True
        self.focus_attention = True
        self.load_status()
        if end is not None and end.ok and self.console.stores is None and self.console.active_settings().use_postgres:
            self.console.retry_backend_now()  # a database that could not open before migrating can now
