"""What every edit dialog shares: the look, Escape to cancel, the write worker, errors.

Writes go through ``stores.admin.Admin`` (audited in the same transaction) in an exclusive
worker that only posts ``Done`` / ``Failed``; the dialog's handlers own the widgets. A
dialog stays open on an error and says what went wrong, so nothing is lost to retype.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Static
from textual.worker import Worker, WorkerState

from console.text import plain
from stores.admin import Admin
from stores.errors import AlreadyExists, BackendUnavailable, ReferenceMissing, StoreError, ValidationFailed
from stores.models import Record

if TYPE_CHECKING:
    from console.app import LokstraConsole

ResultT = TypeVar("ResultT")


def entity_of(row: Record) -> str:
    """"tenant", "app", "branch", "user", "grant", "key" for a row of that model."""
    return {"Tenant": "tenant", "App": "app", "Branch": "branch", "User": "user",
            "UserApp": "grant", "AppKey": "key"}.get(type(row).__name__, type(row).__name__.lower())


def field_problems(error: StoreError) -> dict[str, str]:
    """A store error as messages per form field ("" = the dialog as a whole)."""
    if isinstance(error, (AlreadyExists, ReferenceMissing)):
        return {error.field: str(error)}
    if isinstance(error, ValidationFailed):
        problems: dict[str, str] = {}
        for name, text in error.problems.items():
            problems.setdefault(name.split(".")[0], text)
        return problems
    return {"": str(error)}


class EditModal(ModalScreen[ResultT]):
    """Base of the edit dialogs: a bordered box, Escape cancels (dismisses with None)."""

    DEFAULT_CSS = """
    EditModal { align: center middle; }
    EditModal > #dialog { width: 78; max-width: 100%; height: auto; max-height: 100%;
                          border: round $accent; background: $surface; padding: 0 1; }
    EditModal #title { text-style: bold; height: auto; }
    EditModal .problem { color: $error; height: auto; }
    EditModal .problem:disabled { display: none; }
    EditModal .note { color: $text-muted; height: auto; }
    EditModal #buttons { height: auto; align: right middle; margin-top: 1; }
    EditModal #buttons Button { margin-left: 1; min-width: 10; }
    EditModal .row { height: auto; }
    EditModal .label { width: 16; padding-top: 0; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="edit.cancel"),
        # the console's screen keys do nothing while a dialog is open: it is finished first
        Binding("1,2,3,4,5", "stay", show=False),
    ]

    class Done(Message):
        def __init__(self, value: Any) -> None:
            self.value = value
            super().__init__()

    class Failed(Message):
        def __init__(self, error: StoreError) -> None:
            self.error = error
            super().__init__()

    @property
    def console(self) -> LokstraConsole:
        return self.app  # type: ignore[return-value]

    def admin(self) -> Admin:
        stores = self.console.stores
        if stores is None:
            raise BackendUnavailable("not-open", "the backend is not open yet", "wait for the header to say it is")
        return Admin(stores)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        """Every dialog's Cancel button does what its Escape does."""
        self.action_cancel()

    def action_stay(self) -> None:
        """Swallow a screen-switching key (see BINDINGS)."""

    # -- the write ---------------------------------------------------------------------------
    def busy(self) -> bool:
        return any(worker.group == "edit-write" and worker.is_running for worker in self.workers)

    @work(exclusive=True, group="edit-write", exit_on_error=False)
    async def write(self, call: Callable[[Admin], Awaitable[Any]]) -> None:
        """Run ``call(admin)``; post ``Done(result)`` or ``Failed(error)``."""
        try:
            result = await call(self.admin())
        except StoreError as exc:
            self.post_message(self.Failed(exc))
            return
        self.post_message(self.Done(result))

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """An error that is not a store error (a bug): say so instead of failing silently.
        Only its type is shown: its text could hold a value the operator typed."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.show_problem(f"unexpected error ({type(event.worker.error).__name__}); nothing was confirmed saved")

    def show_problem(self, text: str | Text) -> None:
        for problem in self.query("#problem").results(Static):
            problem.update(plain(text) if isinstance(text, str) else text)  # no markup: values are data
            problem.disabled = not text
            return
        self.notify(str(text), severity="error", markup=False)


def buttons(*items: Button) -> ComposeResult:
    with Horizontal(id="buttons"):
        yield from items


def dialog(**kwargs: Any) -> Vertical:
    return Vertical(id="dialog", **kwargs)


def counted(number: int, singular: str, plural: str | None = None) -> str:
    """``1,200 users`` / ``1 tenant``."""
    return f"{number:,} {singular if number == 1 else (plural or singular + 's')}"
