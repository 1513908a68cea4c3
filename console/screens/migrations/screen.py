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

from typing import Any, ClassVar

from pydantic import ValidationError
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.message import Message
from textual.widgets import DataTable, Static

from console.actions import ActionSpec, bindings
from console.screens.base import ConsoleScreen
from console.screens.confirm import ConfirmModal
from console.screens.migrations.run import RunEnd, RunModal
from console.screens.migrations.target import SchemaTarget, configured_target
from console.screens.migrations.words import ATTENTION_STATES, NAME_WIDTH, OVERALL_STYLE, row_cells, row_detail
from console.text import plain
from migrations import Overall, SchemaStatus
from migrations.runner import SourceArg


HOW_TO_CONFIGURE = (
    "No PostgreSQL target is configured. Set USE_POSTGRES=true with DB_HOST, DB_USER, DB_NAME "
    "(or DATABASE_URL) in the environment or .env, or add a profile on the Connection screen (1)."
)
MEMORY_EXPLAINED = (
    "Migrations concern PostgreSQL: this console runs on the in-memory backend, which has no schema."
)

MIGRATION_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("migrations.refresh", "r", "refresh", "Refresh"),
    ActionSpec("migrations.apply", "a", "apply", "Apply pending", writes=True),
    ActionSpec("migrations.dry_run", "d", "dry_run", "Dry run", writes=True),
)
WRITING_ACTIONS = frozenset(spec.action for spec in MIGRATION_ACTIONS if spec.writes)

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
    ACTION_SPECS = MIGRATION_ACTIONS
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

    def allows(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """On the memory backend the screen shows another database's state: nothing to apply here."""
        if action in WRITING_ACTIONS:
            return not self.on_memory
        return True

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        return [(f"Migrations: {spec.description}", f"{spec.keys}: {spec.description.lower()} ({spec.id})",
                 getattr(self, f"action_{spec.action}"))
                for spec in MIGRATION_ACTIONS
                if self.check_action(spec.action, ())]

    # -- loading ---------------------------------------------------------------------------
    def on_screen_resume(self) -> None:
        self.refresh_bindings()
        if self.console.stores is None:  # otherwise the base class calls stores_ready()
            self.load_status()

    def stores_ready(self) -> None:
        self.refresh_bindings()
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
        return configured_target(self.console.config, self.console.active_settings())

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
