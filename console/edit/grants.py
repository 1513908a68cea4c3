"""Grant a user access to an app: the side not given is picked by typing a prefix.

Opened from an app (``app_id`` given) it asks for the username; from a user (``user_id``
given) for the app's name (or id). Suggestions come from the stores' prefix filters, a few
rows at a time. Granting a revoked grant again re-activates it (upstream's upsert).
"""
from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Label, Static

from console.text import plain
from console.edit.common import EditModal, buttons, dialog, field_problems
from console.edit.lookup import MATCHES, Lookup
from stores.admin import Admin
from stores.errors import NotFound, ValidationFailed
from stores.models import UserApp


class GrantAccess(EditModal[UserApp | None]):
    """Dismissed with the (new or re-activated) grant, or None."""

    DEFAULT_CSS = """
    GrantAccess .error { color: $error; height: auto; padding-left: 16; }
    GrantAccess .error:disabled { display: none; }
    """

    def __init__(self, tenant_id: str, *, app_id: str | None = None, user_id: str | None = None) -> None:
        super().__init__()
        self.tenant_id = tenant_id
        self.app_id = app_id
        self.user_id = user_id

    def compose(self) -> ComposeResult:
        with dialog():
            yield Static(plain(f"Grant app access in tenant {self.tenant_id}"), id="title")
            with Horizontal(classes="row"):
                yield Label("app", classes="label")
                if self.app_id is not None:
                    yield Static(plain(self.app_id), id="app-fixed")
                else:
                    yield Lookup(self.find_apps, placeholder="app: the start of its name or id, any case",
                                 id="app")
            yield Static("", id="e-app", classes="error", disabled=True)
            with Horizontal(classes="row"):
                yield Label("user", classes="label")
                if self.user_id is not None:
                    yield Static(plain(self.user_id), id="user-fixed")
                else:
                    yield Lookup(self.find_users, placeholder="user: the start of the username, any case",
                                 id="user")
            yield Static("", id="e-user", classes="error", disabled=True)
            yield Static("Down: the matches. Enter: grant.", classes="note")
            yield Static("", id="problem", classes="problem", disabled=True)
            yield from buttons(Button("Grant", id="grant", variant="primary", compact=True),
                               Button("Cancel (esc)", id="cancel", compact=True))

    def on_mount(self) -> None:
        for lookup in self.query(Lookup):
            lookup.focus()
            return
        self.query_one("#grant", Button).focus()

    # -- suggestions (called from the Lookup's worker) -----------------------------------------
    async def find_users(self, prefix: str) -> list[tuple[str, str]]:
        stores = self.console.stores
        if stores is None:
            return []
        page = await stores.users.page(self.tenant_id, filter={"username_prefix": prefix}, limit=MATCHES)
        return [(f"{user.username}  {user.email}", user.username) for user in page.rows]

    async def find_apps(self, prefix: str) -> list[tuple[str, str]]:
        stores = self.console.stores
        if stores is None:
            return []
        by_name = await stores.apps.page(self.tenant_id, filter={"name_prefix": prefix}, limit=MATCHES)
        by_id = await stores.apps.page(self.tenant_id, filter={"id_prefix": prefix}, limit=MATCHES)
        found = {app.id: app for app in [*by_name.rows, *by_id.rows]}  # the hint says: name or id
        return [(f"{app.name}  ({app.id}, {app.type})", app.name) for app in list(found.values())[:MATCHES]]

    # -- granting ----------------------------------------------------------------------------
    async def _resolve_app(self, admin: Admin, typed: str) -> str:
        try:
            return (await admin.stores.apps.get_by_name(self.tenant_id, typed)).id
        except NotFound:
            if await admin.stores.apps.exists(self.tenant_id, typed):
                return typed
        raise ValidationFailed("grant", {"app": f"no app named {typed!r} in tenant {self.tenant_id}"})

    async def _resolve_user(self, admin: Admin, typed: str) -> str:
        try:
            return (await admin.stores.users.get_by_username(self.tenant_id, typed)).id
        except NotFound:
            raise ValidationFailed("grant", {"user": f"no user {typed!r} in tenant {self.tenant_id}"}) from None

    @on(Button.Pressed, "#grant")
    def _grant_pressed(self) -> None:
        self.grant()

    def on_input_submitted(self) -> None:
        self.grant()

    def grant(self) -> None:
        if self.busy():
            return
        typed_app = self.query_one("#app", Lookup).value.strip() if self.app_id is None else None
        typed_user = self.query_one("#user", Lookup).value.strip() if self.user_id is None else None
        missing = {name: f"type the {name}'s {'name' if name == 'app' else 'username'}"
                   for name, typed in (("app", typed_app), ("user", typed_user)) if typed is not None and not typed}
        self.show_errors(missing)
        if missing:
            return

        async def perform(admin: Admin) -> UserApp:
            app_id = self.app_id or await self._resolve_app(admin, typed_app or "")
            user_id = self.user_id or await self._resolve_user(admin, typed_user or "")
            return await admin.grant(self.tenant_id, app_id, user_id)

        self.show_problem("")
        self.write(perform)

    def show_errors(self, problems: dict[str, str]) -> None:
        for name in ("app", "user"):
            error = self.query_one(f"#e-{name}", Static)
            error.update(plain(problems.get(name, "")))
            error.disabled = name not in problems

    @on(Lookup.Picked)
    def _picked(self, message: Lookup.Picked) -> None:
        """A pick from the list is a valid value: its field's error (and the dialog's) go."""
        problems = {name: str(self.query_one(f"#e-{name}", Static).render()) for name in ("app", "user")
                    if not self.query_one(f"#e-{name}", Static).disabled and name != message.lookup.id}
        self.show_errors(problems)
        self.show_problem("")

    @on(EditModal.Done)
    def _done(self, message: EditModal.Done) -> None:
        self.dismiss(message.value)

    @on(EditModal.Failed)
    def _failed(self, message: EditModal.Failed) -> None:
        problems = field_problems(message.error)
        fields = {"app": problems.get("app") or problems.get("app_id", ""),
                  "user": problems.get("user") or problems.get("user_id", "")}
        self.show_errors({name: text for name, text in fields.items() if text})
        self.show_problem("Not granted." if any(fields.values()) else f"Not granted: {message.error}")
