"""Which edit dialog each browse action opens, described once.

A spec says whether the action needs the selected row and builds the dialog from the list's
frame (its kind and scope) and that row; the screen pushes it and reloads the page with the
stored row under the cursor. Generating a key owned by a user first asks which app: that
one action stays on the screen (it loads the user's apps in a worker).
console.edit loads when a dialog is first opened, not with the first screen."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.screen import ModalScreen

from console.browse.state import Frame

if TYPE_CHECKING:
    from types import ModuleType


@dataclass(frozen=True)
class EditDialog:
    build: Callable[[Frame, Any], ModalScreen[Any]]
    """The dialog for this frame and the selected row (None when ``needs_row`` is False)."""
    needs_row: bool = True


def dialogs() -> ModuleType:
    """console.edit, loaded when a dialog is first opened (not for the first screen's paint)."""
    import console.edit

    return console.edit


def _parent(frame: Frame) -> dict[str, str] | None:
    scope = frame.level.scope
    parent = {name: value for name, value in (("tenant_id", scope.tenant_id), ("app_id", scope.app_id)) if value}
    return parent or None


def _grant(frame: Frame, row: Any) -> ModalScreen[Any]:
    scope = frame.level.scope
    if frame.tab == "grants":
        return dialogs().GrantAccess(scope.tenant_id, user_id=scope.user_id)
    return dialogs().GrantAccess(scope.tenant_id, app_id=scope.app_id)


def _suspended(frame: Frame) -> str:
    return "suspended" if frame.kind.entity in ("tenant", "user") else "disabled"


EDIT_DIALOGS: dict[str, EditDialog] = {
    "new": EditDialog(lambda frame, row: dialogs().EntityForm(frame.kind.entity, parent=_parent(frame)), needs_row=False),
    "edit": EditDialog(lambda frame, row: dialogs().EntityForm(frame.kind.entity, row=row)),
    "suspend": EditDialog(lambda frame, row: dialogs().StatusChange(row, _suspended(frame))),
    "activate": EditDialog(lambda frame, row: dialogs().StatusChange(row, "active")),
    "soft_delete": EditDialog(lambda frame, row: dialogs().StatusChange(row, "deleted")),
    "hard_delete": EditDialog(lambda frame, row: dialogs().HardDelete(row)),
    "grant": EditDialog(_grant, needs_row=False),
    "revoke_grant": EditDialog(lambda frame, row: dialogs().RevokeAccess(row)),
    "rotate_key": EditDialog(lambda frame, row: dialogs().RotateKey(row)),
    "revoke_key": EditDialog(lambda frame, row: dialogs().RevokeKey(row)),
}
"""By action name (``action_<name>`` on the screen)."""
