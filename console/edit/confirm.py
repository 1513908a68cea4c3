"""Reversible actions: a y/N question whose default is No, then the write.

Status changes (suspend, activate, disable, soft delete) and revoking a grant can all be
undone, so one question is enough, asked the way ``console.screens.confirm.ConfirmModal``
asks (focus on No, Left / Right between the buttons, Escape refuses) plus ``y`` / ``n``.
Unlike that dialog these run the write themselves and stay open to show a refusal.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Button, Static

from console.text import plain
from console.edit.common import EditModal, buttons, dialog, entity_of
from stores.admin import Admin
from stores.models import Record, UserApp

ResultT = TypeVar("ResultT")

STATUS_VERBS: dict[str, str] = {"active": "Activate", "suspended": "Suspend", "disabled": "Disable",
                                "deleted": "Soft-delete"}

STATUS_NOTES: dict[str, str] = {
    "active": "It can be used again.",
    "suspended": "It stays stored but cannot be used until it is activated again.",
    "disabled": "It stays stored but cannot be used until it is activated again.",
    "deleted": "Status 'deleted' and deleted_at are set; nothing is removed and it can be activated again.",
}


class ConfirmWrite(EditModal[ResultT]):
    """Ask ``question``; on Yes run ``perform(admin)`` and dismiss with its result."""

    DEFAULT_CSS = """
    ConfirmWrite > #dialog { border: round $warning; }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", show=False),
        Binding("n", "answer(False)", "No", show=False),
        Binding("left", "app.focus_previous", "Previous", show=False),
        Binding("right", "app.focus_next", "Next", show=False),
    ]

    def __init__(self, question: str, body: str, yes: str, perform: Callable[[Admin], Awaitable[Any]]) -> None:
        super().__init__()
        self.question = question
        self.body = body
        self.yes_label = yes
        self.perform = perform

    def compose(self) -> ComposeResult:
        with dialog():
            yield Static(plain(self.question), id="title")
            if self.body:
                yield Static(plain(self.body), classes="note")
            yield Static("", id="problem", classes="problem", disabled=True)
            yield from buttons(Button("No", id="no", variant="primary"), Button(plain(f"{self.yes_label} (y)"), id="yes",
                                                                                variant="warning"))

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_answer(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        if not yes:
            self.dismiss(None)
        elif not self.busy():
            self.show_problem("")
            self.write(self.perform)

    @on(EditModal.Done)
    def _done(self, message: EditModal.Done) -> None:
        self.dismiss(message.value)

    @on(EditModal.Failed)
    def _failed(self, message: EditModal.Failed) -> None:
        self.show_problem(f"Not done: {message.error}")


class StatusChange(ConfirmWrite[Record | None]):
    """Set a tenant's, app's, branch's or user's status; dismissed with the changed row."""

    def __init__(self, row: Record, status: str) -> None:
        entity = entity_of(row)
        verb = STATUS_VERBS.get(status, f"Set status {status} for")
        current = getattr(row, "status", "?")
        super().__init__(f"{verb} {entity} {row.key_text()}?",
                         f"Status {current} → {status}. {STATUS_NOTES.get(status, '')}", verb,
                         lambda admin: admin.set_status(row, status))
        self.row = row
        self.status = status


class RevokeAccess(ConfirmWrite[UserApp | None]):
    """Revoke a user's access to an app (the grant stays, status ``revoked``; granting again
    re-activates it). Dismissed with the revoked grant."""

    def __init__(self, grant: UserApp) -> None:
        super().__init__(f"Revoke {grant.user_id}'s access to app {grant.app_id}?",
                         f"Tenant {grant.tenant_id}. The grant is kept with status 'revoked'; "
                         "granting again re-activates it.", "Revoke",
                         lambda admin: admin.revoke(grant.tenant_id, grant.app_id, grant.user_id))
        self.grant = grant
