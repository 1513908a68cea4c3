"""Backend: memory and PostgreSQL side by side, the live switch, the rollback drill, snapshot files.

The table shows the row count of every table on both backends, the active one marked. The
active side is read through the console's stores; the other side is whatever the console
holds besides: on PostgreSQL, the memory engine the last switch left behind (or none); on
memory, the configured PostgreSQL target (the console's own settings, else the active
profile, else DB_* / DATABASE_URL), opened in a worker when the screen is shown (with a
short timeout) or when the operator asks. A server that cannot be reached shows its
diagnosis in that column.

``s`` switches live (memory ⇄ PostgreSQL) after a confirmation that starts on "No"; a
non-empty PostgreSQL target is replaced (truncate and load in one transaction) only when
the operator says so (and types the profile name in production). A progress bar per table
follows the copy; the switch's own verification is shown, and ``v`` compares the two sides'
digests on demand. ``d`` runs the rollback drill from PostgreSQL and shows its report
(saved as JSON). ``e`` / ``i`` export the memory backend to a snapshot file / replace it
from one. Escape cancels what runs: a cancelled switch leaves the active backend as it was.

Every database call runs in a worker that only posts messages; the handlers own the
widgets and the engines the screen keeps. In read-only mode the actions that write
(switch, drill, import) are left out of the bindings and the footer.

Why this module is over 450 lines: it holds the four flows (switch, drill, verify, snapshot
files), each a question, a worker and its handlers sharing the screen's engines and busy
state; the panels, modals, messages and headless helpers are already apart. Splitting the
flows (one object each, handed the screen) is left for later (issue 12).
"""
from __future__ import annotations

import logging
import os
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from pydantic import ValidationError
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from console.hints import for_tui
from console.actions import ActionSpec, bindings
from console.commands.drill import ENVIRONMENT_VARIABLE
from console.screens.backend.messages import (CountsLoaded, DrillEnded, DrillStepped, Progressed, SideFailed,
                                              SideOpened, SwitchEnded, SwitchReady, TransferEnded, Verified)
from console.screens.backend.modals import DrillReportModal, PathModal
from console.screens.backend.panels import ProgressPanel, SidesPanel
from console.screens.backend.sides import Side, clock, open_postgres, postgres_settings, problem_text, table_counts
from console.screens.base import ConsoleScreen
from console.screens.confirm import ConfirmModal
from console.screens.quit import export_problem, snapshot_path
from console.text import plain
from stores.memory.engine import MemoryEngine
from stores.transfer.copy import table_digests
from stores.transfer.drill import (DEFAULT_WORKLOAD, DrillReport, DrillStep, is_production, run_drill,
                                   workload_left_in_postgres)
from stores.transfer.snapshot_file import export_memory, import_memory
from stores.transfer.switch import SwitchError

log = logging.getLogger("lokstra.backend")

BACKEND_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("backend.switch", "s", "switch", "Switch", writes=True),
    ActionSpec("backend.drill", "d", "drill", "Drill", writes=True),
    ActionSpec("backend.verify", "v", "verify", "Verify"),
    ActionSpec("backend.export", "e", "export", "Export"),
    ActionSpec("backend.import", "i", "import_snapshot", "Import", writes=True),
    ActionSpec("backend.refresh", "r", "refresh", "Refresh", show=False),
    ActionSpec("backend.report", "o", "report", "Report"),
    ActionSpec("backend.cancel", "escape", "cancel", "Cancel"),
)
ACTION_NAMES = frozenset(spec.action for spec in BACKEND_ACTIONS)
QUICK_OPEN_SECONDS = 3.0
"""How long opening the PostgreSQL side may take when the screen is shown (not asked for)."""


class BackendScreen(ConsoleScreen):
    TITLE_TEXT = "backend"
    HELP = (
        "Both backends side by side: the row count of every table, the active one marked. On memory, "
        "the PostgreSQL column is the configured target (the console's settings, the active profile or "
        "DB_* / DATABASE_URL); on PostgreSQL, the memory column is what the last switch left behind.\n\n"
        "s switches live: the active backend is copied into the other inside one transaction, verified "
        "by row counts and digests, and made active; writes wait meanwhile. A PostgreSQL target that "
        "holds data is replaced only if you confirm (in production: type the profile name). Escape "
        "cancels a running switch, which leaves the active backend as it was.\n"
        "d runs the rollback drill (from PostgreSQL: → memory, a workload, → PostgreSQL, verified at every "
        "step) and shows its report; o reopens it; the JSON report is saved in the files folder (F1 shows where).\n"
        "v compares the digests of both sides. e exports the memory backend to a snapshot file (0600: it "
        "holds tenants' DSNs); i replaces the memory backend by a snapshot file. r reloads.\n"
        "Read-only mode leaves out s, d and i."
    )
    ACTION_SPECS = BACKEND_ACTIONS
    BINDINGS = bindings(BACKEND_ACTIONS)
    REPORT_DIR: ClassVar[Path | None] = None
    """Where drill reports and snapshot files go by default (None: ``config.files_directory()``)."""
    DEFAULT_CSS = """
    BackendScreen #sides { height: auto; padding: 0 1; }
    BackendScreen #target { height: auto; max-height: 3; padding: 0 1; }
    BackendScreen #digests { height: 1; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
    BackendScreen #status { height: auto; max-height: 3; padding: 0 1; }
    BackendScreen #progress { height: auto; display: none; padding: 0 1; }
    BackendScreen #progress-title { height: 1; text-style: bold; text-wrap: nowrap; text-overflow: ellipsis; }
    BackendScreen .bar-row { height: 1; }
    BackendScreen .bar-row Label { width: 11; }
    BackendScreen .bar-row ProgressBar { width: 48; }
    BackendScreen .bar-row .rows { width: 1fr; color: $text-muted; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.spare_memory: Any = None
        """A memory engine that is not active: the one the last switch to PostgreSQL left behind."""
        self.spare_postgres: Any = None
        """A PostgreSQL engine that is not active: opened here, or left behind by a switch to memory."""
        self.memory = Side()
        self.postgres = Side()
        self.digests = Text("digests: unknown (v compares both sides)", style="dim")
        self.busy: str | None = None
        self.drill_steps: list[DrillStep] = []
        self.drill_run_id = ""
        self.drill_postgres: Any = None
        self.last_report: tuple[DrillReport, Path | None] | None = None
        self.last_snapshot: str | None = None

    def compose(self) -> ComposeResult:
        yield self.compose_header()
        yield SidesPanel("", id="sides")
        yield Static("", id="target")
        yield Static(self.digests, id="digests")
        yield Static("", id="status")
        yield ProgressPanel(id="progress")
        yield self.compose_footer()

    # -- state ------------------------------------------------------------------------------
    @property
    def active(self) -> Any:
        """The engine the console's stores use now (None before they are open)."""
        stores = self.console.stores
        return getattr(stores.engine, "current", stores.engine) if stores is not None else None

    @property
    def active_backend(self) -> str:
        active = self.active
        return active.backend if active is not None else self.console.settings.backend

    def side_engines(self) -> tuple[Any, Any]:
        """(memory engine, PostgreSQL engine) of the two columns; None where there is none."""
        active = self.active
        if active is None:
            return None, None
        if active.backend == "memory":
            return active, self.spare_postgres
        return self.spare_memory, active

    def on_mount(self) -> None:
        self.show_sides()

    def allows(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":  # otherwise Escape is the console's "back"
            return self.busy is not None
        if self.busy is not None and action in ACTION_NAMES:  # one operation at a time: the footer says so
            return False
        if action == "drill":
            return self.active_backend == "postgres"
        if action in ("export", "import_snapshot"):
            return self.active_backend == "memory"
        if action == "report":
            return self.last_report is not None
        return True

    def _may(self, action: str) -> bool:
        """Whether an action may start now, saying why not when it is only a matter of waiting."""
        if self.refused_read_only(action):  # called directly (not through its hidden binding)
            return False
        if self.console.stores is None:
            self.notify("The backend is not open yet.", severity="warning")
            return False
        if self.busy is not None:
            self.notify(f"A {self.busy} is running: wait for it, or press Escape to cancel it.", severity="warning")
            return False
        return True

    def _set_busy(self, what: str | None) -> None:
        self.busy = what
        self.refresh_bindings()

    # -- loading ------------------------------------------------------------------------------
    def stores_ready(self) -> None:
        self.refresh_bindings()
        self._reconcile()
        self.show_sides()
        if self.busy is not None:
            return
        self.load_counts()
        if self.active_backend == "memory" and self.spare_postgres is None:
            self.open_postgres_side(QUICK_OPEN_SECONDS)

    def action_refresh(self) -> None:
        if self.busy is not None:
            return
        self._reconcile()
        self.load_counts()
        if self.active_backend == "memory" and self.spare_postgres is None:
            self.open_postgres_side(None)

    def _reconcile(self) -> None:
        """Keep the spare engines consistent with the active one (a reconnect may have changed it)."""
        active = self.active
        if active is None:
            return
        if active.backend == "memory":
            self.spare_memory = None
        elif self.spare_postgres is not None and self.spare_postgres is not active:
            self._close(self.spare_postgres)
            self.spare_postgres = None
        if active.backend == "memory" and self.spare_postgres is not None:
            try:
                wanted = postgres_settings(self.console)
            except ValidationError:
                wanted = None
            if wanted is None or wanted.connection().display() != self.spare_postgres.target.display():
                self._close(self.spare_postgres)  # the configured target changed
                self.spare_postgres = None

    def _close(self, engine: Any) -> None:
        if engine is not None and engine is not self.active:
            self.close_engine(engine)

    @work(group="backend-close", exit_on_error=False)
    async def close_engine(self, engine: Any) -> None:
        try:
            await engine.close()
        except Exception:  # closing a pool whose server is gone: nothing left to do
            pass

    async def on_unmount(self) -> None:
        for engine in (self.spare_postgres, self.spare_memory):
            if engine is not None and engine is not self.active:
                try:
                    await engine.close()
                except Exception:
                    pass

    @work(exclusive=True, group="backend-counts", exit_on_error=False)
    async def load_counts(self) -> None:
        sides = []
        for engine in self.side_engines():
            if engine is None:
                sides.append(Side())
                continue
            try:
                sides.append(Side(await table_counts(engine)))
            except Exception as exc:  # shown in the column, never a traceback
                sides.append(Side(None, problem_text(exc, getattr(engine, "settings", None))))
        self.post_message(CountsLoaded(*sides))

    async def _reach_postgres(self, seconds: float | None) -> Any:
        """The configured PostgreSQL engine, or None after posting why it cannot be had."""
        try:
            settings = postgres_settings(self.console)
        except ValidationError as exc:  # never echo the input: it may hold a password
            fields = ", ".join(".".join(map(str, e["loc"])) or "settings" for e in exc.errors())
            self.post_message(SideFailed(f"The PostgreSQL settings are invalid ({fields})."))
            return None
        if settings is None:
            self.post_message(SideFailed(
                "No PostgreSQL target is configured: set DB_HOST / DB_NAME (or DATABASE_URL), or choose "
                "a profile on the Connection screen (1)."))
            return None
        try:
            return await open_postgres(settings, seconds or settings.connect_timeout + 5)
        except Exception as exc:
            self.post_message(SideFailed(problem_text(exc, settings)))
            return None

    @work(exclusive=True, group="backend-pg", exit_on_error=False)
    async def open_postgres_side(self, seconds: float | None) -> None:
        engine = await self._reach_postgres(seconds)
        if engine is not None:
            self.post_message(SideOpened(engine))

    @on(SideOpened)
    def _side_opened(self, message: SideOpened) -> None:
        if self.active_backend != "memory":
            self._close(message.engine)
            return
        if self.spare_postgres is not None and self.spare_postgres is not message.engine:
            self._close(self.spare_postgres)
        self.spare_postgres = message.engine
        self.postgres = Side()
        self.show_sides()
        self.load_counts()

    @on(SideFailed)
    def _side_failed(self, message: SideFailed) -> None:
        if self.busy == "prepare":
            self._set_busy(None)
            self.status(plain(f"Not switched: {message.text}", style="red"))
        self.postgres = Side(None, message.text)
        self.show_sides()

    @on(CountsLoaded)
    def _counts_loaded(self, message: CountsLoaded) -> None:
        self.memory = message.memory
        if message.postgres.counts is not None or message.postgres.problem is not None or self.spare_postgres \
                or self.active_backend == "postgres":
            self.postgres = message.postgres
        self.show_sides()

    # -- showing -----------------------------------------------------------------------------
    def show_sides(self) -> None:
        if not self.is_mounted:
            return
        active = self.active_backend
        memory_engine, postgres_engine = self.side_engines()
        engines = {"memory": memory_engine, "postgres": postgres_engine}
        self.query_one(SidesPanel).show(
            active, {"memory": self.memory, "postgres": self.postgres},
            {backend: self._side_label(backend, engine) for backend, engine in engines.items()},
            {backend: engine is not None for backend, engine in engines.items()})
        problem = self.postgres.problem if postgres_engine is None or self.postgres.counts is None else None
        if self.memory.problem:
            problem = f"memory: {self.memory.problem}"
        self.query_one("#target", Static).update(plain(for_tui(problem or ""), style="red"))
        self.query_one("#digests", Static).update(self.digests)

    def _side_label(self, backend: str, engine: Any) -> str:
        if backend == "postgres":
            if engine is not None:
                return engine.target.display()
            return "not open" if self.postgres.problem is None else "unavailable"
        if engine is None:
            return "empty: none kept"
        if engine is self.active:
            return "demo data" if self.console.settings.demo_data and engine.changes == 0 else "in this console"
        return "left by the last switch"

    def status(self, text: Text | str) -> None:
        self.query_one("#status", Static).update(text)

    def _set_digests(self, text: Text) -> None:
        self.digests = text
        self.query_one("#digests", Static).update(text)

    def _unknown_digests(self) -> None:
        self._set_digests(Text("digests: unknown (v compares both sides)", style="dim"))

    # -- progress ----------------------------------------------------------------------------
    def _start_progress(self, title: str) -> None:
        self.query_one(ProgressPanel).start(title)

    def _hook(self, step: str | None = None) -> Any:
        """A ``progress(table, done, expected)`` callback for the copy: it only posts."""
        return lambda table, done, expected: self.post_message(Progressed(step, table, done, expected))

    def _drill_hook(self, step: str, table: str, done: int, expected: int) -> None:
        self.post_message(Progressed(step, table, done, expected))

    @on(Progressed)
    def _progressed(self, message: Progressed) -> None:
        self.query_one(ProgressPanel).advance(message.step, message.table, message.done, message.expected)

    def _end_progress(self) -> None:
        self.query_one(ProgressPanel).end()

    # -- switch ----------------------------------------------------------------------------
    def action_switch(self) -> None:
        if not self._may("switch"):
            return
        target = "PostgreSQL" if self.active_backend == "memory" else "memory"
        self._set_busy("prepare")
        self.status(plain(f"Preparing the switch to {target} …", style="italic"))
        self.prepare_switch()

    @work(exclusive=True, group="backend-pg", exit_on_error=False)
    async def prepare_switch(self) -> None:
        """Find (or open) the target and count what it holds, for the question to ask."""
        active = self.active
        try:
            source_rows = sum((await table_counts(active)).values())
        except Exception:
            source_rows = None
        if active.backend == "postgres":
            self.post_message(SwitchReady(MemoryEngine(active.clock), source_rows, None))
            return
        engine = self.spare_postgres
        if engine is None:
            engine = await self._reach_postgres(None)
            if engine is None:
                return
            self.post_message(SideOpened(engine))
        try:
            counts = await table_counts(engine)
        except Exception as exc:
            self.post_message(SideFailed(problem_text(exc, engine.settings)))
            return
        self.post_message(SwitchReady(engine, source_rows, counts))

    @on(SwitchReady)
    def _switch_ready(self, message: SwitchReady) -> None:
        self._set_busy(None)
        target = message.target
        if target.backend == "postgres" and target is not self.spare_postgres:
            self.status(Text("Not switched: the PostgreSQL side changed meanwhile; press s again.", style="red"))
            return
        source = self.active_backend
        rows = f"{message.source_rows:,} rows" if message.source_rows is not None else "its rows"
        held = sum(message.target_counts.values()) if message.target_counts else 0
        typed = None
        if target.backend == "memory":
            question, yes = "Switch to memory?", "Switch"
            body = plain(f"Copy PostgreSQL ({rows}) into a new in-memory backend, verify it and make it active. "
                         "From then on the console's writes go to memory only: export a snapshot (e) or switch "
                         "back before you quit. Writes wait while the copy runs.")
        elif held:
            where = target.target.display()
            question, yes = f"PostgreSQL is not empty: replace its {held:,} rows?", "Replace and switch"
            detail = ", ".join(f"{name} {count:,}" for name, count in message.target_counts.items() if count)
            body = plain(f"{where} holds {detail}.\nThe switch truncates its six tables and loads the memory "
                         f"backend ({rows}) in one transaction, verified before it commits; the rows there now "
                         "are gone afterwards.")
            typed = self._production_name(target)
        else:
            question, yes = "Switch to PostgreSQL?", "Switch"
            body = plain(f"Copy the memory backend ({rows}) into {target.target.display()} (empty now) in one "
                         "transaction, verify it and make it active. Writes wait while the copy runs.")
        replace = bool(held)

        def answered(yes_: bool | None) -> None:
            if yes_:
                self._start_switch(target, replace)
            else:
                self.status(plain(f"Not switched: {source} stays active.", style="dim"))

        self.app.push_screen(ConfirmModal(question, body, yes=yes, type_to_confirm=typed), answered)

    def _production_name(self, target: Any) -> str | None:
        """What the operator types to touch a production database: the profile's name (else the database's)."""
        if not is_production(self.environment):
            return None
        return self.console.profile_name or target.target.database

    @property
    def environment(self) -> str | None:
        return self.console.environment or os.environ.get(ENVIRONMENT_VARIABLE) or None

    def _start_switch(self, target: Any, replace: bool) -> None:
        if self.busy is not None:
            return
        self._set_busy("switch")
        what = f"switch {self.active_backend} → {target.backend}" + (" (replace)" if replace else "")
        self._start_progress(what)
        self.status(plain(f"Switching: {what} …", style="italic"))
        self.run_switch(target, replace)

    @work(exclusive=True, group="backend-op", exit_on_error=False)
    async def run_switch(self, target: Any, replace: bool) -> None:
        try:
            report = await self.console.stores.engine.switch_to(  # type: ignore[union-attr]
                target, replace=replace, progress=self._hook())
        except SwitchError as exc:
            self.post_message(SwitchEnded(target, exc.report, str(exc)))
        except Exception as exc:  # unreachable in the preflight, and the like
            self.post_message(SwitchEnded(target, None, problem_text(exc, getattr(target, "settings", None))))
        else:
            self.post_message(SwitchEnded(target, report, None))

    @on(SwitchEnded)
    def _switch_ended(self, message: SwitchEnded) -> None:
        self._set_busy(None)
        self._end_progress()
        report = message.report
        if report is not None and report.ok:
            log.info("switched %s -> %s: %s rows in %.2f s, writes paused %.2f s, verified", report.source,
                     report.target, report.rows, report.seconds, report.write_pause_seconds)
            if report.target == "postgres":
                self.spare_postgres, self.spare_memory = None, report.previous
            else:
                self.spare_memory, self.spare_postgres = None, report.previous
                self.console.mark_memory_saved(message.target, message.target.changes)  # PostgreSQL holds the same
            self.memory, self.postgres = Side(), Side()
            self._set_digests(plain(f"digests: equal, verified by the switch at {clock()}", style="green"))
            self.status(plain(
                f"Switched {report.source} → {report.target}: {report.rows:,} rows in {report.seconds:.2f} s, "
                f"writes paused {report.write_pause_seconds:.2f} s, copy verified.", style="bold green"))
            self.console.refresh_header()
            self.refresh_header()
        else:
            outcome = report.outcome if report is not None else "failed"
            log.warning("switch to %s %s: %s", message.target.backend, outcome, message.problem)
            title = "Switch cancelled" if outcome == "cancelled" else "Not switched"
            self.status(plain(f"{title}: {message.problem}. {self.active_backend} is the active backend.",
                              style="bold yellow" if outcome == "cancelled" else "bold red"))
            self._unknown_digests()
        self.show_sides()
        self.load_counts()

    # -- drill ------------------------------------------------------------------------------
    def action_drill(self) -> None:
        if not self._may("drill"):
            return
        active = self.active
        if active.backend != "postgres":
            self.notify("The drill starts from PostgreSQL: switch to it first (s).", severity="warning")
            return
        where = active.target.display()
        typed = self._production_name(active)
        environment = f" ({self.environment})" if self.environment else ""
        body = plain(f"On {where}{environment}: switch PostgreSQL → memory, run a workload of "
                     f"{DEFAULT_WORKLOAD} users on memory, switch back (truncate and reload the six tables in one "
                     "transaction), verify every step by digests, then remove the workload. Writes other "
                     "programs make meanwhile stop the drill before it truncates. Meant for staging.")
        if typed:
            body.append("\nThis database is marked production.", style="bold red")
        question = "Run the rollback drill?" if not typed else "Run the rollback drill on PRODUCTION?"

        def answered(yes: bool | None) -> None:
            if yes:
                self._start_drill(allow_production=typed is not None)
            else:
                self.status(Text("The drill did not run.", style="dim"))

        self.app.push_screen(ConfirmModal(question, body, yes="Run drill", type_to_confirm=typed), answered)

    def _chosen_dir(self) -> Path | None:
        return Path(self.REPORT_DIR).expanduser() if self.REPORT_DIR else self.console.config.files_directory_or_here()

    def _report_dir(self) -> Path:
        return self._chosen_dir() or Path.cwd()

    def _start_drill(self, *, allow_production: bool) -> None:
        if self.busy is not None:
            return
        self._set_busy("drill")
        self.drill_steps = []
        self.drill_run_id = uuid.uuid4().hex[:8]
        self.drill_postgres = self.active
        path = self._report_dir() / f"lokstra-drill-{datetime.now():%Y%m%d-%H%M%S}-{self.drill_run_id}.json"
        self._start_progress("drill: preflight")
        self.status(plain(f"Drill {self.drill_run_id} running …", style="italic"))
        self.run_the_drill(path, allow_production)

    @work(exclusive=True, group="backend-op", exit_on_error=False)
    async def run_the_drill(self, path: Path, allow_production: bool) -> None:
        postgres = self.drill_postgres
        try:
            report = await run_drill(
                self.console.stores, workload=DEFAULT_WORKLOAD, environment=self.environment,
                allow_production=allow_production, progress=self._drill_hook,
                on_step=lambda step: self.post_message(DrillStepped(step)),
                write_wait=self.console.config.write_wait, run_id=self.drill_run_id)
        except Exception as exc:  # refused (production, read-only, schema), unreachable …
            self.post_message(DrillEnded(postgres, None, None, problem_text(exc, postgres.settings)))
            return
        try:
            saved: Path | None = report.save(path)
            problem = None
        except OSError as exc:
            saved, problem = None, f"the report could not be saved to {path}: {exc.strerror or exc}"
        self.post_message(DrillEnded(postgres, report, saved, problem))

    @on(DrillStepped)
    def _drill_stepped(self, message: DrillStepped) -> None:
        self.drill_steps.append(message.step)
        step = message.step
        mark = Text("ok ", style="green") if step.ok else Text("FAILED ", style="bold red")
        self.status(Text.assemble(plain(f"Drill {self.drill_run_id}: step {len(self.drill_steps)} "), mark,
                                  plain(f"{step.name} ({step.seconds:.2f} s)")))

    @on(DrillEnded)
    def _drill_ended(self, message: DrillEnded) -> None:
        self._set_busy(None)
        self._end_progress()
        self._after_drill(message.postgres)
        report = message.report
        if report is None:
            self.status(plain(f"The drill did not run: {message.problem}", style="bold red"))
        else:
            self.last_report = (report, message.path)
            verdict = "passed" if report.ok else f"FAILED: {report.failure}"
            saved = f"report: {message.path}" if message.path else (message.problem or "")
            self.status(plain(f"Drill {report.run_id} {verdict} ({len(report.steps)} steps, "
                              f"{report.seconds:.1f} s) · {saved}", style="bold green" if report.ok else "bold red"))
            self.app.push_screen(DrillReportModal(report, message.path))
        self.refresh_bindings()

    def _after_drill(self, postgres: Any) -> None:
        """Where the drill left the console: a drill stopped on memory keeps PostgreSQL as the spare side."""
        active = self.active
        if active is not None and active is not postgres and active.backend == "memory":
            self.spare_postgres, self.spare_memory = postgres, None
        self.memory, self.postgres = Side(), Side()
        self._unknown_digests()
        self.console.refresh_header()
        self.refresh_header()
        self.show_sides()
        self.load_counts()

    def _drill_cancelled(self) -> None:
        self._after_drill(self.drill_postgres)
        if self.active_backend == "memory":
            where = ("the console stays on memory, where the drill's workload is; PostgreSQL was not written. "
                     "Switch back with s (replace) or export with e.")
        elif workload_left_in_postgres(self.drill_steps):
            where = f"the console is on PostgreSQL; tenant drill-{self.drill_run_id} may remain there: delete it."
        else:
            where = "the console is on PostgreSQL, which the drill left as it was."
        self.status(plain(f"Drill {self.drill_run_id} cancelled after {len(self.drill_steps)} step(s): {where}",
                          style="bold yellow"))

    def action_report(self) -> None:
        if self.last_report is not None:
            self.app.push_screen(DrillReportModal(*self.last_report))

    # -- verify ------------------------------------------------------------------------------
    def action_verify(self) -> None:
        if not self._may("verify"):
            return
        memory_engine, postgres_engine = self.side_engines()
        if memory_engine is None or postgres_engine is None:
            missing = "no memory engine is kept" if memory_engine is None else "the PostgreSQL side is not open"
            self._set_digests(plain(f"digests: unknown ({missing})", style="yellow"))
            return
        self._set_busy("verification")
        self._set_digests(Text("digests: reading both sides …", style="italic"))
        self.verify_sides(memory_engine, postgres_engine)

    @work(exclusive=True, group="backend-op", exit_on_error=False)
    async def verify_sides(self, memory_engine: Any, postgres_engine: Any) -> None:
        try:
            mine = await table_digests(memory_engine)
            theirs = await table_digests(postgres_engine)
        except Exception as exc:
            self.post_message(Verified(None, problem_text(exc, getattr(postgres_engine, "settings", None))))
            return
        self.post_message(Verified(
            [f"{name} ({d.rows:,} / {theirs[name].rows:,} rows)" for name, d in mine.items()
             if not d.same_as(theirs[name])], None))

    @on(Verified)
    def _verified(self, message: Verified) -> None:
        self._set_busy(None)
        if message.differences is None:
            self._set_digests(plain(f"digests: unknown ({message.problem})", style="red"))
        elif message.differences:
            self._set_digests(plain(f"digests differ in {', '.join(message.differences)} (memory / postgres)",
                                    style="bold red"))
        else:
            self._set_digests(plain(f"digests: verified equal at {clock()}", style="bold green"))

    # -- snapshot files ----------------------------------------------------------------------
    def action_export(self) -> None:
        if not self._may("export") or self.active_backend != "memory":
            return
        ask = PathModal("Export the memory backend to a snapshot file", snapshot_path(self._chosen_dir()),
                        "Written with 0600: it holds tenants' DSNs, which may contain passwords.")
        self.app.push_screen(ask, lambda path: self._start_transfer("export", path, False) if path else None)

    def action_import_snapshot(self) -> None:
        if not self._may("import_snapshot") or self.active_backend != "memory":
            return

        def chosen(path: str | None) -> None:
            if not path:
                return
            rows = sum(self.memory.counts.values()) if self.memory.counts else None
            body = plain(f"The memory backend's {f'{rows:,} ' if rows is not None else ''}rows are replaced by "
                         f"those of {path}. The file is checked against its own counts and digests; on any "
                         "problem memory stays as it is. Changes made since the last export are lost.")
            self.app.push_screen(ConfirmModal("Replace the memory backend with the snapshot?", body, yes="Replace"),
                                 lambda yes: self._start_transfer("import", path, True) if yes else None)

        self.app.push_screen(PathModal("Import a snapshot file into the memory backend", self.last_snapshot or "./",
                                       "A lokstra-console snapshot (.jsonl), e.g. one exported here."), chosen)

    def _start_transfer(self, kind: str, path: str, replace: bool) -> None:
        if self.busy is not None or self.active_backend != "memory":
            return
        if kind == "export" and not replace and Path(path).expanduser().exists():
            self.app.push_screen(ConfirmModal(f"{path} exists: overwrite it?", yes="Overwrite"),
                                 lambda yes: self._start_transfer("export", path, True) if yes else None)
            return
        self._set_busy(kind)
        self._start_progress(f"{kind} {path}")
        self.run_transfer(kind, self.active, path, replace)

    @work(exclusive=True, group="backend-op", exit_on_error=False)
    async def run_transfer(self, kind: str, engine: Any, path: str, replace: bool) -> None:
        move = export_memory if kind == "export" else import_memory
        try:
            transfer = await move(engine, Path(path).expanduser(), replace=replace, progress=self._hook())
        except Exception as exc:  # not a snapshot, damaged, unwritable …: the copy's message says which
            self.post_message(TransferEnded(kind, engine, path, replace, None, export_problem(exc)))
        else:
            self.post_message(TransferEnded(kind, engine, path, replace, transfer, None))

    @on(TransferEnded)
    def _transfer_ended(self, message: TransferEnded) -> None:
        self._set_busy(None)
        self._end_progress()
        if message.transfer is None:
            self.status(plain(f"Not {message.kind}ed: {message.problem}", style="bold red"))
            return
        self.last_snapshot = message.path
        self.console.mark_memory_saved(message.engine, message.transfer.changes)
        rows = message.transfer.report.rows
        if message.kind == "export":
            self.status(plain(f"Exported {rows:,} rows to {message.path} (0600: keep it like a password file).",
                              style="bold green"))
        else:
            self.status(plain(f"Imported {rows:,} rows from {message.path} into memory, verified.", style="bold green"))
            self._unknown_digests()
        self.load_counts()

    # -- cancelling --------------------------------------------------------------------------
    def action_cancel(self) -> None:
        if self.busy == "switch":
            engine = self.console.stores.engine  # type: ignore[union-attr]
            if not engine.cancel_switch():  # not under way yet (or done): stop the worker itself
                self.workers.cancel_group(self, "backend-op")
            self.status(Text("Cancelling the switch …", style="italic"))
        elif self.busy == "prepare":
            self.workers.cancel_group(self, "backend-pg")
        elif self.busy is not None:
            self.workers.cancel_group(self, "backend-op")

    OPERATIONS: ClassVar[frozenset[str]] = frozenset(
        {"prepare_switch", "run_switch", "run_the_drill", "verify_sides", "run_transfer"})

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        """A cancelled operation (Escape) or one that failed unexpectedly frees the screen."""
        what = self.busy
        if event.worker.name not in self.OPERATIONS or what is None:
            return
        if event.state is WorkerState.CANCELLED:
            self._set_busy(None)
            self._end_progress()
            if what == "drill":
                self._drill_cancelled()
            else:
                what = "switch" if what == "prepare" else what
                self.status(plain(f"The {what} was cancelled; {self.active_backend} is the active backend.",
                                  style="bold yellow"))
                self.load_counts()
        elif event.state is WorkerState.ERROR:  # the workers catch what they expect: this is a bug
            self._set_busy(None)
            self._end_progress()
            self.status(plain(f"The {what} failed: {problem_text(event.worker.error or Exception())}",
                              style="bold red"))
