"""Hard delete: off unless the operator enabled it; counts first, then the typed id.

The dialog counts the cascade (``Admin.blast_radius``) before anything can be confirmed and
asks for the row's id to be typed; ``Admin.delete`` checks that id again and counts again
inside the transaction it deletes in. Focus starts on the typed field, with Delete disabled
until it matches, so no key pressed out of habit deletes anything.
"""
from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import Button, Input, Static

from console.text import plain, visible
from console.edit.common import EditModal, buttons, counted, dialog, entity_of
from stores.admin import BlastRadius
from stores.errors import StoreError
from stores.models import Record, UserApp

HOW_TO_ENABLE = (
    "Hard delete is off. Rows can still be suspended, disabled or soft-deleted (status 'deleted').\n"
    "To allow hard deletes, set\n"
    "    allow_hard_delete = true\n"
    "in the console's config file (~/.config/lokstra-console/config.toml, or the file named by "
    "LOKSTRA_CONSOLE_CONFIG), or start the console with LOKSTRA_CONSOLE_ALLOW_HARD_DELETE=true."
)

ORDER = ("tenants", "apps", "branches", "users", "user_apps", "app_keys")
LABELS = {"tenants": ("tenant", "tenants"), "apps": ("app", "apps"), "branches": ("branch", "branches"),
          "users": ("user", "users"), "user_apps": ("grant", "grants"), "app_keys": ("key", "keys")}


def typed_id_of(row: Record) -> str:
    """What the operator types to confirm (what ``Admin.delete`` compares with)."""
    return row.user_id if isinstance(row, UserApp) else str(getattr(row, "id"))  # noqa: B009 - Record is a union; all but UserApp have id


def radius_text(row: Record, radius: BlastRadius) -> str:
    """``acme: 1 tenant, 3 apps, 7 branches, 1,200 users, 3,000 grants, 12 keys``."""
    tables = sorted(radius.counts, key=lambda t: ORDER.index(t) if t in ORDER else len(ORDER))
    parts = [counted(radius.counts[t], *LABELS.get(t, (t, t))) for t in tables]
    return f"{row.key_text()}: {', '.join(parts)}"


class HardDelete(EditModal[bool]):
    """Dismissed with True when the row (and its cascade) was deleted, False otherwise."""

    DEFAULT_CSS = """
    HardDelete > #dialog { border: round $error; }
    HardDelete #radius { text-style: bold; height: auto; margin-top: 1; }
    HardDelete #typed-label { margin-top: 1; }
    """

    class Counted(Message):
        def __init__(self, radius: BlastRadius) -> None:
            self.radius = radius
            super().__init__()

    def __init__(self, row: Record) -> None:
        super().__init__()
        self.row = row
        self.expected = typed_id_of(row)
        self.radius: BlastRadius | None = None

    @property
    def enabled(self) -> bool:
        return bool(getattr(self.console.config, "allow_hard_delete", False))

    def compose(self) -> ComposeResult:
        entity = entity_of(self.row)
        with dialog():
            yield Static(plain(f"Delete {entity} {self.row.key_text()} for good?"), id="title")
            if not self.enabled:
                yield Static(HOW_TO_ENABLE, classes="note", id="disabled-note")
                yield from buttons(Button("Close", id="close", variant="primary"))
                return
            yield Static("Counting what goes with it…", id="radius")
            yield Static("", id="radius-note", classes="note")
            yield Static(Text.assemble("This cannot be undone. Type ", plain(self.expected, "bold"), " to confirm:"),
                         id="typed-label")
            yield Input(placeholder=visible(self.expected), id="typed", select_on_focus=False, compact=True)
            yield Static("", id="problem", classes="problem", disabled=True)
            yield from buttons(Button("Cancel", id="close", variant="primary"),
                               Button("Delete", id="delete", variant="error", disabled=True))

    def on_mount(self) -> None:
        if self.enabled:
            self.query_one("#typed", Input).focus()
            self.count()
        else:
            self.query_one("#close", Button).focus()

    def action_cancel(self) -> None:
        self.dismiss(False)

    @work(exclusive=True, group="count", exit_on_error=False)
    async def count(self) -> None:
        try:
            radius = await self.admin().blast_radius(self.row)
        except StoreError as exc:
            self.post_message(self.Failed(exc))
            return
        self.post_message(self.Counted(radius))

    @on(Counted)
    def _counted(self, message: Counted) -> None:
        self.radius = message.radius
        self.query_one("#radius", Static).update(plain(radius_text(self.row, message.radius)))
        self.query_one("#radius-note", Static).update(plain(message.radius.note))
        self._typed()

    @property
    def matches(self) -> bool:
        return self.query_one("#typed", Input).value == self.expected

    @on(Input.Changed, "#typed")
    def _typed(self) -> None:
        self.query_one("#delete", Button).disabled = not (self.matches and self.radius is not None)

    @on(Input.Submitted, "#typed")
    @on(Button.Pressed, "#delete")
    def _delete(self) -> None:
        if not self.enabled or self.radius is None or self.busy():
            return
        typed = self.query_one("#typed", Input).value
        if typed != self.expected:
            self.show_problem(f"Type {self.expected} exactly to delete it.")
            return
        self.write(lambda admin: admin.delete(self.row, typed_id=typed))

    @on(Button.Pressed, "#close")
    def _close(self) -> None:
        self.dismiss(False)

    @on(EditModal.Done)
    def _done(self, message: EditModal.Done) -> None:
        self.notify(f"Deleted {radius_text(self.row, message.value)}", title="Hard delete", markup=False)
        self.dismiss(True)

    @on(EditModal.Failed)
    def _failed(self, message: EditModal.Failed) -> None:
        self.show_problem(f"Nothing deleted: {message.error}")
