"""API keys: generate (shown once), revoke with a reason, rotate with an overlap.

The full key ``{prefix}_{key_id}.{secret}`` (the form lokstra-auth parses) exists in one place only: the ``NewKey`` that
``Admin.generate_key`` / ``rotate_key`` returns (the store holds the SHA3-256 hash).
``KeyShownOnce`` shows it, copies it on request (OSC 52: works over SSH) and closes only
once the operator confirms they stored it; closing blanks the widget, drops the console's
in-app clipboard copy and calls ``forget()``, so no later screen (or screenshot) has it.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from console.text import plain
from console.widgets.checkbox import MarkedCheckbox
from console.edit.common import EditModal, buttons, dialog, field_problems
from console.edit.lookup import MATCHES, Lookup
from console.edit.parse import GRACE_CHOICES, parse_duration, parse_expiry, parse_scopes
from stores.admin import Admin, NewKey, rotated_expiry
from stores.clock import UTC_CLOCK, Clock
from stores.errors import NotFound, ValidationFailed
from stores.models import KEY_ENVIRONMENTS, KEY_TYPES, AppKey

FIELD_OF_PROBLEM = {"expires_at": "expires", "user_id": "owner", "key_type": "key_type",
                    "environment": "environment", "name": "name", "scopes": "scopes"}
"""Where a store's per-field problem is shown in the generate dialog."""


class KeyText(Static, can_focus=True):
    """The shown key: focusable, so the dialog can start on something that does nothing."""

    DEFAULT_CSS = """
    KeyText:focus { text-style: bold; }
    """


class KeyShownOnce(EditModal[None]):
    """The one showing of a new key. Escape does not close it until "I stored it" is ticked."""

    DEFAULT_CSS = """
    KeyShownOnce > #dialog { border: double $success; }
    KeyShownOnce #secret { border: round $success; padding: 0 1; height: auto; margin: 1 0; }
    KeyShownOnce #stored { margin-top: 1; }
    """
    BINDINGS = [
        Binding("c", "copy", "Copy", id="key.copy"),
        Binding("escape", "cancel", "Close", id="edit.cancel"),
    ]

    def __init__(self, new: NewKey, *, note: str = "") -> None:
        super().__init__()
        self._new: NewKey | None = new
        self.note = note
        self.key = new.key

    def compose(self) -> ComposeResult:
        key = self.key
        with dialog():
            yield Static(plain(f"New {key.environment} {key.key_type} key {key.name!r} ({key.key_id})"), id="title")
            yield Static("This is the only time the full key is shown: only its hash is stored.", classes="note")
            if self.note:
                yield Static(plain(self.note), id="note")
            yield KeyText(plain(self._new.full_key if self._new else ""), id="secret")
            yield MarkedCheckbox("I have stored the key somewhere safe", id="stored", compact=True)
            yield Static("", id="problem", classes="problem", disabled=True)
            yield from buttons(Button("Copy (c)", id="copy", variant="primary", compact=True),
                               Button("Close", id="close", disabled=True, compact=True))

    def on_mount(self) -> None:
        """Focus starts on the key itself, the one safe place: a stray Enter or space there
        neither copies the key (to a clipboard that others or a history may read) nor ticks
        "I have stored it" (the step after which it is gone). Tab reaches the checkbox and
        Copy; ``c`` copies from anywhere in the dialog."""
        self.query_one("#secret", KeyText).focus()

    def quit_blocker(self) -> str | None:
        """Quitting now would lose the only copy of a live key's secret (the app asks every
        screen on the stack before it quits)."""
        if self._new is not None and self._new.full_key:
            return ("A new API key is shown once and is live: store it, tick \"I have stored the key\" and "
                    "close the dialog before quitting (or revoke the key afterwards).")
        return None

    @on(Button.Pressed, "#copy")
    def action_copy(self) -> None:
        if self._new is not None and self._new.full_key:
            self.app.copy_to_clipboard(self._new.full_key)
            # The console cannot know whether the terminal took it: many ignore OSC 52 (or ask).
            self.notify("Sent to the terminal's clipboard (if it allows OSC 52): check it pastes before "
                        "relying on it.", title="Copy sent")

    @on(Checkbox.Changed, "#stored")
    def _stored(self, event: Checkbox.Changed) -> None:
        close = self.query_one("#close", Button)
        close.disabled = not event.value
        if event.value:
            self.show_problem("")
            close.focus()

    @property
    def confirmed(self) -> bool:
        return self.query_one("#stored", Checkbox).value

    @on(Button.Pressed, "#close")
    def action_cancel(self) -> None:
        if not self.confirmed:
            self.show_problem("Store the key first, then tick \"I have stored the key\": it cannot be shown again.")
            self.query_one("#stored", Checkbox).focus()
            return
        self.forget()
        self.dismiss(None)

    def forget(self) -> None:
        """Blank the shown key and drop every reference this console holds to it."""
        new, self._new = self._new, None
        self.query_one("#secret", Static).update("")
        if new is None:
            return
        if getattr(self.app, "_clipboard", None) == new.full_key:
            # Textual keeps the last copied text for in-app paste: a later paste (or screen)
            # must not bring the key back. The terminal's clipboard keeps it (OSC 52).
            self.app._clipboard = ""
        new.forget()


class GenerateKey(EditModal[AppKey | None]):
    """Generate a key for an app (optionally owned by a user); dismissed with the stored key
    (which holds only the hash) after it was shown once, or None."""

    DEFAULT_CSS = """
    GenerateKey #fields { height: auto; max-height: 14; }
    GenerateKey .field Input, GenerateKey .field Select { width: 1fr; }
    GenerateKey .error { color: $error; height: auto; padding-left: 16; }
    GenerateKey .error:disabled { display: none; }
    """
    BINDINGS = [Binding("ctrl+s", "generate", "Generate", id="key.generate")]

    def __init__(self, tenant_id: str, app_id: str, *, user_id: str | None = None) -> None:
        super().__init__()
        self.tenant_id = tenant_id
        self.app_id = app_id
        self.user_id = user_id

    def compose(self) -> ComposeResult:
        with dialog():
            yield Static(plain(f"New API key for app {self.tenant_id}/{self.app_id}"), id="title")
            with VerticalScroll(id="fields"):
                yield from self._row("key_type", Select([(t, t) for t in KEY_TYPES], value=KEY_TYPES[0],
                                                        allow_blank=False, id="f-key_type", compact=True))
                yield from self._row("environment", Select([(e, e) for e in KEY_ENVIRONMENTS],
                                                           value=KEY_ENVIRONMENTS[0], allow_blank=False,
                                                           id="f-environment", compact=True))
                yield from self._row("name *", Input(id="f-name", max_length=255, placeholder="what uses it",
                                                     compact=True), "name")
                yield from self._row("scopes", Input(id="f-scopes", placeholder="read, write (comma list)",
                                                     compact=True))
                yield from self._row("expires", Input(id="f-expires", placeholder="days (90), 12h or a date; "
                                                      "empty: never", compact=True))
                owner = (Static(plain(self.user_id), id="f-owner") if self.user_id is not None else
                         Lookup(self.find_users, placeholder="username, or empty: the app owns it", id="f-owner"))
                yield from self._row("owner", owner)
            yield Static("", id="problem", classes="problem", disabled=True)
            yield from buttons(Button("Generate (ctrl+s)", id="generate", variant="primary", compact=True),
                               Button("Cancel (esc)", id="cancel", compact=True))

    def _row(self, label: str, widget: Any, name: str | None = None) -> ComposeResult:
        name = name or label
        with Horizontal(classes="field row"):
            yield Label(plain(label), classes="label")
            yield widget
        yield Static("", id=f"e-{name}", classes="error", disabled=True)

    def on_mount(self) -> None:
        self.query_one("#f-name", Input).focus()

    def _clock(self) -> Clock:
        stores = self.console.stores
        return stores.engine.clock if stores is not None else UTC_CLOCK

    async def find_users(self, prefix: str) -> list[tuple[str, str]]:
        stores = self.console.stores
        if stores is None:
            return []
        page = await stores.users.page(self.tenant_id, filter={"username_prefix": prefix}, limit=MATCHES)
        return [(f"{user.username}  {user.email}", user.username) for user in page.rows]

    def show_errors(self, problems: dict[str, str]) -> None:
        for name in ("key_type", "environment", "name", "scopes", "expires", "owner"):
            error = self.query_one(f"#e-{name}", Static)
            error.update(plain(problems.get(name, "")))
            error.disabled = name not in problems

    @on(Button.Pressed, "#generate")
    def action_generate(self) -> None:
        if self.busy():
            return
        problems: dict[str, str] = {}
        name = self.query_one("#f-name", Input).value
        if not name.strip():
            problems["name"] = "give the key a name (what uses it)"
        scopes = parse_scopes(self.query_one("#f-scopes", Input).value)
        try:
            expires_at = parse_expiry(self.query_one("#f-expires", Input).value, clock=self._clock())
        except ValueError as exc:
            problems["expires"] = str(exc)
            expires_at = None
        self.show_errors(problems)
        if problems:
            self.show_problem("Not generated: fix the marked fields.")
            return
        owner = self.user_id
        typed_owner = self.query_one("#f-owner", Lookup).value.strip() if owner is None else ""
        key_type = str(self.query_one("#f-key_type", Select).value)
        environment = str(self.query_one("#f-environment", Select).value)
        tenant_id, app_id = self.tenant_id, self.app_id

        async def perform(admin: Admin) -> NewKey:
            user_id = owner
            if user_id is None and typed_owner:
                try:
                    user_id = (await admin.stores.users.get_by_username(tenant_id, typed_owner)).id
                except NotFound:
                    raise ValidationFailed("API key", {"user_id": f"no user {typed_owner!r} in {tenant_id}"}) from None
            return await admin.generate_key(tenant_id=tenant_id, app_id=app_id, key_type=key_type,
                                            environment=environment, name=name, scopes=scopes,
                                            expires_at=expires_at, user_id=user_id)

        self.show_problem("")
        self.write(perform)

    @on(EditModal.Done)
    def _generated(self, message: EditModal.Done) -> None:
        new: NewKey = message.value
        message.value = None  # the message must not keep the key alive
        stored = new.key

        def closed(_: None) -> None:
            self.dismiss(stored)

        self.app.push_screen(KeyShownOnce(new), closed)

    @on(EditModal.Failed)
    def _failed(self, message: EditModal.Failed) -> None:
        problems = field_problems(message.error)
        placed = {FIELD_OF_PROBLEM[name]: text for name, text in problems.items() if name in FIELD_OF_PROBLEM}
        self.show_errors(placed)
        self.show_problem("Not generated." if placed else f"Not generated: {message.error}")


class RevokeKey(EditModal[AppKey | None]):
    """Revoke a key at once; the reason is required (it goes into the audit and the key's
    metadata). Dismissed with the revoked key, or None."""

    DEFAULT_CSS = "RevokeKey > #dialog { border: round $error; }"

    def __init__(self, key: AppKey) -> None:
        super().__init__()
        self.key = key

    def compose(self) -> ComposeResult:
        key = self.key
        with dialog():
            yield Static(plain(f"Revoke key {key.name!r} ({key.prefix}…{key.key_id}) of {key.tenant_id}/{key.app_id}?"),
                         id="title")
            yield Static("It stops working at once; this cannot be undone (generate a new key instead).",
                         classes="note")
            with Horizontal(classes="row"):
                yield Label("reason *", classes="label")
                yield Input(id="reason", placeholder="why (goes into the audit)", max_length=500, compact=True)
            yield Static("", id="problem", classes="problem", disabled=True)
            yield from buttons(Button("Cancel", id="cancel", variant="primary", compact=True),
                               Button("Revoke", id="revoke", variant="error", disabled=True, compact=True))

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    @on(Input.Changed, "#reason")
    def _typed(self, event: Input.Changed) -> None:
        self.query_one("#revoke", Button).disabled = not event.value.strip()

    @on(Input.Submitted, "#reason")
    @on(Button.Pressed, "#revoke")
    def _revoke(self) -> None:
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            self.show_problem("Say why the key is revoked.")
            return
        if not self.busy():
            self.write(lambda admin: admin.revoke_key(self.key, reason=reason))

    @on(EditModal.Done)
    def _done(self, message: EditModal.Done) -> None:
        self.dismiss(message.value)

    @on(EditModal.Failed)
    def _failed(self, message: EditModal.Failed) -> None:
        self.show_problem(f"Not revoked: {message.error}")


def expiry_text(when: datetime | None) -> str:
    """A moment as the expiry inputs take it back (``parse_expiry``); empty for never."""
    return f"{when:%Y-%m-%d %H:%M}" if when is not None else ""


def rotation_expiry_note(key: AppKey, now: datetime, zone: str = "UTC") -> tuple[str, str]:
    """(what the expiry input starts with, what the dialog says will happen) for rotating ``key``;
    ``now`` and ``zone``: the wall clock the key's times are on (``stores.clock``)."""
    try:
        default = rotated_expiry(key, now)
    except ValidationFailed:
        return "", f"The old key expired on {key.expires_at:%Y-%m-%d %H:%M} ({zone}): say when the new one expires."
    if default is None:
        return "", "The new key never expires, like the old one (or give days, 12h or a date)."
    if key.expires_at is not None and key.expires_at <= now:
        return expiry_text(default), (f"The old key expired on {key.expires_at:%Y-%m-%d}: the new one gets its "
                                      f"lifetime again, until {default:%Y-%m-%d %H:%M} ({zone}) (change it below).")
    return expiry_text(default), (f"The new key expires {default:%Y-%m-%d %H:%M} ({zone}), when the old one would "
                                  "(change it below; empty: never).")


class RotateKey(EditModal[AppKey | None]):
    """A new key like this one, valid at once; this one expires after the grace period
    (one transaction). The new key keeps the old one's expiry (``stores.admin.rotated_expiry``)
    unless the operator changes it here; the dialog says which. The new key is shown once;
    dismissed with it (hash only), or None."""

    DEFAULT_CSS = """
    RotateKey #custom { display: none; width: 1fr; }
    RotateKey.-custom #custom { display: block; }
    RotateKey #grace { width: 1fr; }
    """
    BINDINGS = [Binding("ctrl+s", "rotate", "Rotate", id="key.rotate")]

    def __init__(self, key: AppKey) -> None:
        super().__init__()
        self.key = key
        self.default_expiry, self.expiry_note = "", ""

    def _clock(self) -> Clock:
        stores = self.console.stores
        return stores.engine.clock if stores is not None else UTC_CLOCK

    def compose(self) -> ComposeResult:
        key = self.key
        clock = self._clock()
        self.default_expiry, self.expiry_note = rotation_expiry_note(key, clock.now(), clock.zone)
        with dialog():
            yield Static(plain(f"Rotate key {key.name!r} ({key.key_id}) of {key.tenant_id}/{key.app_id}"), id="title")
            yield Static("A new key with the same type, environment, name, scopes and owner is valid at once; "
                         "the old one keeps working for the grace period, then expires.", classes="note")
            with Horizontal(classes="row"):
                yield Label("grace period", classes="label")
                yield Select([(label, value) for label, value in GRACE_CHOICES], value="24h", allow_blank=False,
                             id="grace", compact=True)
            with Horizontal(classes="row"):
                yield Label("", classes="label")
                yield Input(id="custom", placeholder="e.g. 90m, 12h, 3d, 2w", compact=True)
            with Horizontal(classes="row"):
                yield Label("new key expires", classes="label")
                yield Input(self.default_expiry, id="expires", placeholder="days (90), 12h or a date; empty: never",
                            compact=True)
            yield Static(plain(self.expiry_note), id="expiry-note", classes="note")
            yield Static("", id="problem", classes="problem", disabled=True)
            yield from buttons(Button("Rotate (ctrl+s)", id="rotate", variant="warning", compact=True),
                               Button("Cancel (esc)", id="cancel", compact=True))

    def on_mount(self) -> None:
        self.query_one("#grace", Select).focus()

    @on(Select.Changed, "#grace")
    def _grace_chosen(self, event: Select.Changed) -> None:
        self.set_class(event.value == "custom", "-custom")
        if event.value == "custom":
            self.query_one("#custom", Input).focus()

    def grace(self) -> timedelta:
        choice = str(self.query_one("#grace", Select).value)
        text = self.query_one("#custom", Input).value if choice == "custom" else choice
        return parse_duration(text)

    def expires_at(self) -> datetime | None | Literal["keep"]:
        """The new key's expiry: "keep" while the input holds what it started with."""
        text = self.query_one("#expires", Input).value.strip()
        return "keep" if text == self.default_expiry else parse_expiry(text, clock=self._clock())

    @on(Input.Submitted, "#custom")
    @on(Input.Submitted, "#expires")
    @on(Button.Pressed, "#rotate")
    def action_rotate(self) -> None:
        if self.busy():
            return
        try:
            grace = self.grace()
        except ValueError as exc:
            self.show_problem(f"Grace period: {exc}")
            return
        try:
            expires_at = self.expires_at()
        except ValueError as exc:
            self.show_problem(f"New key expires: {exc}")
            return
        key = self.key

        async def perform(admin: Admin) -> tuple[NewKey, AppKey]:
            new = await admin.rotate_key(key, grace=grace, expires_at=expires_at)
            return new, await admin.stores.app_keys.get_by_id(key.id)

        self.show_problem("")
        self.write(perform)

    @on(EditModal.Done)
    def _rotated(self, message: EditModal.Done) -> None:
        new, old = message.value
        message.value = None  # the message must not keep the key alive
        stored = new.key
        stores = self.console.stores
        zone = stores.engine.clock.zone if stores is not None else "UTC"
        until = f"{old.expires_at:%Y-%m-%d %H:%M} ({zone})" if old.expires_at else "its expiry"
        expires = f"{stored.expires_at:%Y-%m-%d %H:%M} ({zone})" if stored.expires_at else "never"
        note = f"The old key {old.key_id} keeps working until {until}.\nThe new key expires: {expires}."

        def closed(_: None) -> None:
            self.dismiss(stored)

        self.app.push_screen(KeyShownOnce(new, note=note), closed)

    @on(EditModal.Failed)
    def _failed(self, message: EditModal.Failed) -> None:
        self.show_problem(f"Not rotated: {message.error}")
