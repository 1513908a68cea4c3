"""The run modal: ``up`` (or a dry run) with its progress per migration, a held lock, the result."""
from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Static
from textual.worker import Worker, WorkerState

from console.screens.confirm import ConfirmModal
from console.screens.migrations.target import SchemaTarget
from console.screens.migrations.words import acceptable, duration_text, result_lines, result_summary
from console.text import plain
from migrations import Outcome, Progress, RunResult
from migrations.runner import SourceArg

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


