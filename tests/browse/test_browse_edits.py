"""The browser's edit keys wired to the edit dialogs (issue 6), driven with Pilot at 80x24 on
memory and on PostgreSQL over a small seeded tenant: what each key opens from the list it is
pressed on, what the store holds afterwards, what the list shows once the dialog closed (the
cursor on the same row) and the audit of each write. The dialogs themselves are tested on
their own in tests/edit; here it is the browser around them."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from textual.widgets import Input

from console.app import LokstraConsole
from console.config import ConsoleConfig
from console.edit import EntityForm, GenerateKey, GrantAccess, HardDelete, RevokeKey, RotateKey
from console.edit.common import EditModal
from console.screens.browse import BrowseScreen
from console.screens.browse.actions import BROWSE_ACTIONS, WRITE_IDS
from console.screens.browse.prompts import AppPicker
from console.screens.confirm import ConfirmModal
from console.screens.help import HelpScreen
from stores import Settings, Stores, open_stores
from stores.keys import verify_secret
from stores.memory.engine import MemoryEngine
from stores.models import utcnow
from stores.transfer.switch import switchable_stores
from tests.browse.conftest import (
    browse, crumbs, cursor_id, first_cells, settled, started, table, type_prompt,
)
from tests.support.databases import pg_settings, truncate_all
from tests.edit.test_form import error_at, type_into
from tests.edit.test_keys import confirm_stored_and_close, everything_in_audit, shown_key
from tests.support.factories import app as app_row
from tests.support.factories import branch, key, seed_basic, tenant, user
from tests.support.tui import notifications, screen_lines, screen_text, until

SIZE = (80, 24)
EDIT_KEYS = tuple(spec.keys for spec in BROWSE_ACTIONS if spec.writes)
"""n e s a d D g v k R X, and x (a reveal is audited, so it writes too)."""


async def seed(stores: Stores) -> None:
    """Tenants acme and beta. acme: apps api and web; web has branches hq and b2, grants for
    u1 and u3, keys acme-k1 (owned by u1) and acme-k2; users u1, u2 (no grant), u3."""
    await seed_basic(stores, "acme")
    await stores.tenants.create(tenant("beta"))
    await stores.apps.create(app_row("acme", "api", name="api app", type="api"))
    await stores.branches.create(branch("acme", "web", "b2"))
    await stores.users.create(user("acme", "u3"))
    await stores.user_apps.grant_access("acme", "web", "u3")
    await stores.app_keys.store(key("acme", "web", "acme-k2"))


class SeededMemory(LokstraConsole):
    """The console over a memory engine the test seeded (instead of the demo data)."""

    def __init__(self, engine: MemoryEngine, config: ConsoleConfig, read_only: bool) -> None:
        super().__init__(Settings(use_postgres=False, demo_data=False), config=config, read_only=read_only)
        self.engine = engine

    async def _open(self) -> Stores:
        return switchable_stores(Stores(self.engine))


@dataclass
class Seeded:
    name: str
    engine: MemoryEngine | None = None
    dsn: str | None = None

    def app(self, *, read_only: bool = False, **config: Any) -> LokstraConsole:
        chosen = ConsoleConfig(**config)
        if self.engine is not None:
            return SeededMemory(self.engine, chosen, read_only)
        assert self.dsn is not None
        return LokstraConsole(pg_settings(self.dsn), config=chosen, read_only=read_only)


@pytest.fixture(autouse=True)
def _quiet_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("LOKSTRA_READ_ONLY", "LOKSTRA_CONSOLE_ALLOW_HARD_DELETE"):
        monkeypatch.delenv(name, raising=False)
    yield


@pytest.fixture(params=["memory", "postgres"])
async def seeded(request: pytest.FixtureRequest) -> Seeded:
    if request.param == "memory":
        engine = MemoryEngine()
        await seed(Stores(engine))
        return Seeded("memory", engine=engine)
    dsn = request.getfixturevalue("migrated_db")
    stores = await open_stores(pg_settings(dsn))
    try:
        await truncate_all(stores)
        await seed(stores)
    finally:
        await stores.close()
    return Seeded("postgres", dsn=dsn)


# -- helpers -------------------------------------------------------------------------------------
async def jump(pilot: Any, command: str, crumb: str) -> None:
    """``:command`` and wait until the browser stands at ``crumb`` with its page shown."""
    await pilot.press("colon")
    await type_prompt(pilot, command)
    await settled(pilot, pilot.app, crumb)


async def cursor_to(pilot: Any, app: LokstraConsole, row_key: str) -> None:
    """Move the cursor with the arrow keys onto the row ``row_key`` of the page on screen."""
    keys = list(browse(app).rows)
    assert row_key in keys, f"{row_key} is not on the page: {keys}"
    step = keys.index(row_key) - table(app).cursor_row
    await pilot.press(*(["down"] * step if step > 0 else ["up"] * -step))
    await until(pilot, lambda: browse(app).frame.state.row_key == row_key, f"the cursor on {row_key}")


def row_cells(app: LokstraConsole, row_key: str) -> list[str]:
    return [str(value) for value in table(app).get_row(row_key)]


async def back_on_list(pilot: Any, app: LokstraConsole, what: str) -> None:
    """The dialog closed and the page the browser reloaded after it is on screen."""
    await until(pilot, lambda: isinstance(app.screen, BrowseScreen)
                and browse(app).painted_generation == browse(app).generation, what)


async def retype(pilot: Any, field: Input, text: str) -> None:
    """Replace a field's text by typing: End, ctrl+u (delete all to the left), the text."""
    field.focus()
    await pilot.pause()
    await pilot.press("end", "ctrl+u")
    assert field.value == ""
    await type_into(pilot, field, text)


def shows_secret(app: LokstraConsole, secret: str, window: int = 12) -> bool:
    """Whether any ``window`` characters of ``secret`` in a row are on the screen (a secret
    wrapped over lines, in a narrow box, is found too) or in a live notification (a toast
    raised on a dialog is not redrawn on the screen under it, but it is still there)."""
    lines = [line.replace(" ", "") for line in screen_lines(app)] + [notifications(app)]
    pieces = {secret[i:i + window] for i in range(len(secret) - window + 1)}
    return any(piece in line for line in lines for piece in pieces)


# -- 1. create a user from the users list --------------------------------------------------------
async def test_a_new_user_with_a_taken_email_is_refused_at_the_field_then_saved_and_audited(seeded: Seeded) -> None:
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        assert first_cells(app) == ["acme", "beta"]
        await pilot.press("enter")
        await settled(pilot, app, "tenants ▸ acme ▸ apps")
        await pilot.press("tab")
        await settled(pilot, app, "tenants ▸ acme ▸ users")
        assert first_cells(app) == ["user-u1", "user-u2", "user-u3"]
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, EntityForm), "the new user form")
        form = app.screen
        assert "New user" in screen_text(app)
        assert form.query_one("#f-tenant_id", Input).value == "acme" and form.query_one("#f-tenant_id").disabled
        await type_into(pilot, form.query_one("#f-id", Input), "u9")
        await type_into(pilot, form.query_one("#f-username", Input), "carol")
        await type_into(pilot, form.query_one("#f-email", Input), "u2@example.com")  # u2's
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "taken" in error_at(form, "email"), "the duplicate email at the email field")
        assert error_at(form, "username") == "" and error_at(form, "id") == ""
        assert app.screen is form and app.focused is form.query_one("#f-email")
        assert not await app.stores.users.exists("acme", "u9") and await app.stores.users.count("acme") == 3
        assert not (await app.stores.audit.page("acme", filter={"action": "create"})).rows
        await retype(pilot, form.query_one("#f-email", Input), "carol@example.com")
        await pilot.press("ctrl+s")
        await back_on_list(pilot, app, "the list after the save")
        await until(pilot, lambda: first_cells(app) == ["carol", "user-u1", "user-u2", "user-u3"], "the new user listed")
        assert cursor_id(app) == "u9", "the cursor is on the created row"
        stored = await app.stores.users.get("acme", "u9")
        assert (stored.username, stored.email, stored.status) == ("carol", "carol@example.com", "active")
        created = (await app.stores.audit.page("acme", filter={"action": "create"})).rows
        assert [(e.entity, e.entity_key) for e in created] == [("user", "acme/u9")]
        assert created[0].after is not None and created[0].after["email"] == "carol@example.com"
        await pilot.press("tab", "tab")  # users -> keys -> audit
        await settled(pilot, app, "tenants ▸ acme ▸ audit")
        audit_rows = [row_cells(app, k) for k in browse(app).rows]
        assert any(cells[1:4] == ["create", "user", "acme/u9"] for cells in audit_rows), audit_rows


# -- 2. edit: diff, save, the row shows it --------------------------------------------------------
async def test_an_edit_shows_the_diff_and_the_row_shows_the_new_value_with_the_cursor_kept(seeded: Seeded) -> None:
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await jump(pilot, "users acme", "tenants ▸ acme ▸ users")
        await cursor_to(pilot, app, "acme/u2")
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, EntityForm), "the edit form")
        form = app.screen
        assert "Edit user acme/u2" in screen_text(app) and form.query_one("#f-id").disabled
        await type_into(pilot, form.query_one("#f-full_name", Input), "Zed Two")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the diff")
        await until(pilot, lambda: 'full_name: "" → Zed Two' in screen_text(app), "the diff from blank to the new name")
        await pilot.press("right", "enter")
        await back_on_list(pilot, app, "the list after the save")
        await until(pilot, lambda: "Zed Two" in row_cells(app, "acme/u2"), "the new value in the row")
        assert cursor_id(app) == "u2" and table(app).cursor_row == 1, "the cursor stays on the edited row"
        assert "Zed Two" in screen_text(app)
        assert (await app.stores.users.get("acme", "u2")).full_name == "Zed Two"
        updates = (await app.stores.audit.page("acme", filter={"action": "update"})).rows
        assert len(updates) == 1 and updates[0].after == {"full_name": "Zed Two"}


# -- 3. suspend / activate / soft delete -----------------------------------------------------------
async def test_suspend_activate_and_soft_delete_ask_with_no_first(seeded: Seeded) -> None:
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await jump(pilot, "users acme", "tenants ▸ acme ▸ users")
        await cursor_to(pilot, app, "acme/u3")

        async def status_on_screen(expected: str) -> None:
            await back_on_list(pilot, app, "the list")
            await until(pilot, lambda: row_cells(app, "acme/u3")[2] == expected, f"status {expected} in the row")
            assert cursor_id(app) == "u3"
            assert (await app.stores.users.get("acme", "u3")).status == expected

        await pilot.press("s")
        await until(pilot, lambda: "Suspend user acme/u3?" in screen_text(app), "the question")
        assert app.focused is not None and app.focused.id == "no"
        await pilot.press("enter")  # Enter alone is No
        await status_on_screen("active")
        assert not (await app.stores.audit.page("acme", filter={"action": "status"})).rows
        await pilot.press("s")
        await until(pilot, lambda: "Suspend user acme/u3?" in screen_text(app), "the question again")
        await pilot.press("y")
        await status_on_screen("suspended")
        await pilot.press("a")
        await until(pilot, lambda: "Activate user acme/u3?" in screen_text(app), "the activate question")
        await pilot.press("right", "enter")
        await status_on_screen("active")
        await pilot.press("d")
        await until(pilot, lambda: "Soft-delete user acme/u3?" in screen_text(app), "the soft delete question")
        await pilot.press("y")
        await status_on_screen("deleted")
        assert (await app.stores.users.get("acme", "u3")).deleted_at is not None
        changes = (await app.stores.audit.page("acme", filter={"action": "status"})).rows
        assert [(e.before["status"], e.after["status"]) for e in changes] == \
            [("active", "suspended"), ("suspended", "active"), ("active", "deleted")]


# -- 4. keys: generate (shown once), rotate with overlap, revoke -------------------------------------
async def test_keys_generated_rotated_and_revoked_from_an_apps_keys_tab(seeded: Seeded) -> None:
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("enter")
        await settled(pilot, app, "tenants ▸ acme ▸ apps")
        assert first_cells(app) == ["api", "web"]
        await pilot.press("down", "enter")
        await settled(pilot, app, "tenants ▸ acme ▸ apps ▸ web ▸ branches")
        await pilot.press("tab")
        await settled(pilot, app, "tenants ▸ acme ▸ apps ▸ web ▸ keys")
        before = set(browse(app).rows)
        assert before == {"acme-k1", "acme-k2"}

        await pilot.press("k")
        await until(pilot, lambda: isinstance(app.screen, GenerateKey), "the generate dialog")
        assert "New API key for app acme/web" in screen_text(app)
        await pilot.press(*"deploy", "ctrl+s")
        key_id, secret = await shown_key(pilot, app)
        assert shows_secret(app, secret), "the check below finds the secret where it is shown"
        stored = await app.stores.app_keys.get_by_key_id("acme", "web", key_id)
        assert verify_secret(secret, stored.secret_hash) and not verify_secret(secret + "x", stored.secret_hash)
        assert secret not in stored.model_dump_json()
        await confirm_stored_and_close(pilot, app)
        await back_on_list(pilot, app, "the keys after the generate dialog")
        await until(pilot, lambda: set(browse(app).rows) == before | {stored.id}, "the new key listed")
        assert cursor_id(app) == stored.id and "deploy" in row_cells(app, stored.id)
        assert not shows_secret(app, secret) and secret not in await everything_in_audit(app)

        await cursor_to(pilot, app, "acme-k2")
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, RotateKey), "the rotate dialog")
        await pilot.press("enter", "down", "enter")  # grace: 24 hours -> 7 days
        await pilot.press("ctrl+s")
        rotated_id, rotated_secret = await shown_key(pilot, app)
        assert "The old key kid-acme-k2 keeps working until" in screen_text(app)
        await confirm_stored_and_close(pilot, app)
        await back_on_list(pilot, app, "the keys after the rotation")
        new = await app.stores.app_keys.get_by_key_id("acme", "web", rotated_id)
        old = await app.stores.app_keys.get_by_id("acme-k2")
        await until(pilot, lambda: {"acme-k2", new.id} <= set(browse(app).rows), "both keys listed")
        assert old.expires_at is not None and abs(old.expires_at - (utcnow() + timedelta(days=7))) < timedelta(minutes=1)
        assert not old.revoked and verify_secret(rotated_secret, new.secret_hash)
        assert row_cells(app, "acme-k2")[3] == "active" and row_cells(app, "acme-k2")[4] == f"{old.expires_at:%Y-%m-%d}"
        assert not shows_secret(app, rotated_secret) and rotated_secret not in await everything_in_audit(app)

        await cursor_to(pilot, app, "acme-k1")
        await pilot.press("X")
        await until(pilot, lambda: isinstance(app.screen, RevokeKey), "the revoke dialog")
        await pilot.press(*"leaked", "enter")
        await back_on_list(pilot, app, "the keys after the revoke")
        await until(pilot, lambda: row_cells(app, "acme-k1")[3] == "revoked", "the revoked state in the row")
        assert cursor_id(app) == "acme-k1"
        revoked = await app.stores.app_keys.get_by_id("acme-k1")
        assert revoked.revoked and revoked.metadata["revoked_reason"] == "leaked"
        audited = [(e.action, e.entity_key, e.note) for e in (await app.stores.audit.page("acme", filter={"entity": "key"})).rows]
        assert audited == [("key.generate", stored.id, None), ("key.rotate", new.id, audited[1][2]),
                           ("key.revoke", "acme-k1", "leaked")], audited
        assert not shows_secret(app, secret) and not shows_secret(app, rotated_secret)


async def test_a_key_owned_by_a_user_is_generated_for_an_app_the_user_may_use(seeded: Seeded) -> None:
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await jump(pilot, "user acme/user-u2", "tenants ▸ acme ▸ users ▸ user-u2 ▸ grants")
        await pilot.press("tab")
        await settled(pilot, app, "tenants ▸ acme ▸ users ▸ user-u2 ▸ keys")
        await pilot.press("k")  # u2 has no grant: nothing to pick from
        await until(pilot, lambda: "The user has access to no app" in notifications(app), "the explanation")
        assert isinstance(app.screen, BrowseScreen)
        await jump(pilot, "user acme/user-u1", "tenants ▸ acme ▸ users ▸ user-u1 ▸ grants")
        await pilot.press("tab")
        await settled(pilot, app, "tenants ▸ acme ▸ users ▸ user-u1 ▸ keys")
        assert set(browse(app).rows) == {"acme-k1"}, "the keys the user owns"
        await pilot.press("k")
        await until(pilot, lambda: isinstance(app.screen, AppPicker) and "web  granted" in screen_text(app), "the app picker")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, GenerateKey), "the generate dialog")
        assert "New API key for app acme/web" in screen_text(app)
        await pilot.press(*"owned", "ctrl+s")
        key_id, secret = await shown_key(pilot, app)
        await confirm_stored_and_close(pilot, app)
        await back_on_list(pilot, app, "the user's keys after the generate dialog")
        stored = await app.stores.app_keys.get_by_key_id("acme", "web", key_id)
        assert stored.user_id == "u1" and verify_secret(secret, stored.secret_hash)
        await until(pilot, lambda: set(browse(app).rows) == {"acme-k1", stored.id}, "the owned key listed")
        assert cursor_id(app) == stored.id
        assert not shows_secret(app, secret)


# -- 5. hard delete --------------------------------------------------------------------------------
async def test_hard_delete_of_an_app_counts_the_cascade_and_is_off_by_default(seeded: Seeded) -> None:
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await jump(pilot, "tenant acme", "tenants ▸ acme ▸ apps")
        await cursor_to(pilot, app, "acme/web")
        await pilot.press("D")
        await until(pilot, lambda: "Hard delete is off" in screen_text(app), "the explanation")
        await pilot.press("enter")
        await back_on_list(pilot, app, "the list after the refusal")
        assert await app.stores.apps.exists("acme", "web") and first_cells(app) == ["api", "web"]

    app = seeded.app(allow_hard_delete=True)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        store = app.stores
        expected = (await store.branches.count("acme", "web"), await store.user_apps.count_app_users("acme", "web"),
                    await store.app_keys.count("acme", "web"))
        assert expected == (2, 2, 2)
        await jump(pilot, "tenant acme", "tenants ▸ acme ▸ apps")
        await cursor_to(pilot, app, "acme/web")
        await pilot.press("D")
        await until(pilot, lambda: isinstance(app.screen, HardDelete), "the hard delete dialog")
        await until(pilot, lambda: "acme/web: 1 app, 2 branches, 2 grants, 2 keys" in screen_text(app),
                    "the counted blast radius")
        await pilot.press(*"we", "enter")
        await until(pilot, lambda: "Type web exactly" in screen_text(app), "the refusal of a wrong id")
        assert await store.apps.exists("acme", "web")
        await pilot.press("b", "enter")
        await back_on_list(pilot, app, "the list after the delete")
        await until(pilot, lambda: first_cells(app) == ["api"], "the app gone from the list")
        assert not await store.apps.exists("acme", "web")
        assert (await store.branches.count("acme", "web"), await store.user_apps.count_app_users("acme", "web"),
                await store.app_keys.count("acme", "web")) == (0, 0, 0)
        assert await store.users.count("acme") == 3, "users are not part of an app's cascade"
        deleted = (await store.audit.page("acme", filter={"action": "delete"})).rows
        assert len(deleted) == 1 and deleted[0].entity_key == "acme/web" and "2 branches" in (deleted[0].note or "")


# -- 6. grant and revoke on a user's grants tab ---------------------------------------------------
async def test_grant_an_app_by_prefix_and_revoke_it_on_a_users_grants(seeded: Seeded) -> None:
    app = seeded.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await jump(pilot, "user acme/user-u2", "tenants ▸ acme ▸ users ▸ user-u2 ▸ grants")
        assert table(app).row_count == 0
        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, GrantAccess), "the grant dialog")
        await pilot.press(*"ap")
        await until(pilot, lambda: "api app  (api, api)" in screen_text(app), "the app suggestions")
        assert "web app" not in screen_text(app)
        await pilot.press("down", "enter")
        await until(pilot, lambda: app.screen.query_one("#app").value == "api app", "the picked app")
        await pilot.press("enter")
        await back_on_list(pilot, app, "the grants after the grant")
        await until(pilot, lambda: first_cells(app) == ["api"], "the grant listed")
        assert row_cells(app, "api")[1] == "active" and await app.stores.user_apps.has_access("acme", "api", "u2")
        await pilot.press("v")
        await until(pilot, lambda: "Revoke u2's access to app api?" in screen_text(app), "the question")
        assert app.focused is not None and app.focused.id == "no"
        await pilot.press("right", "enter")
        await back_on_list(pilot, app, "the grants after the revoke")
        await until(pilot, lambda: row_cells(app, "api")[1] == "revoked", "the revoked grant")
        assert browse(app).frame.state.row_key == "api"
        assert not await app.stores.user_apps.has_access("acme", "api", "u2")
        actions = [(e.action, e.entity_key) for e in (await app.stores.audit.page("acme", filter={"entity": "grant"})).rows]
        assert actions == [("grant", "acme/api/u2"), ("revoke", "acme/api/u2")]


# -- 7. read-only ----------------------------------------------------------------------------------
async def test_read_only_edit_keys_do_nothing_and_are_listed_nowhere(seeded: Seeded) -> None:
    write_labels = {spec.description for spec in BROWSE_ACTIONS if spec.writes}
    app = seeded.app(read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        before = {name: await getattr(app.stores, name).count("acme") for name in ("users", "app_keys")}
        for command, crumb in (("tenants", "tenants"), ("users acme", "tenants ▸ acme ▸ users"),
                               ("keys acme/web", "tenants ▸ acme ▸ apps ▸ web ▸ keys"),
                               ("user acme/user-u1", "tenants ▸ acme ▸ users ▸ user-u1 ▸ grants")):
            await jump(pilot, command, crumb)
            assert table(app).row_count > 0
            await pilot.press(*EDIT_KEYS)  # a dialog opened by one of them would still be open after the rest
            await pilot.pause(0.1)
            assert isinstance(app.screen, BrowseScreen), f"{type(app.screen).__name__} opened on {crumb}"
            assert crumbs(app) == crumb
            bound = {binding.id for _, binding, enabled, _ in app.active_bindings.values() if enabled}
            assert not bound & WRITE_IDS, f"read-only binds {bound & WRITE_IDS}"
            footer = screen_text(app).splitlines()[-1]
            assert not any(label in footer for label in write_labels), footer
            await pilot.press("f1")
            await until(pilot, lambda: isinstance(app.screen, HelpScreen), "F1 help")
            listed = {binding_id for _, _, binding_id in app.screen.keys}  # every row, also those scrolled off
            assert {"browse.filter", "browse.jump", "app.quit"} <= listed
            assert not listed & WRITE_IDS, f"F1 lists {listed & WRITE_IDS}"
            assert not {description for _, description, _ in app.screen.keys} & write_labels
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, BrowseScreen), "help closed")
        assert not any(isinstance(screen, EditModal) for screen in app.screen_stack)
        assert before == {name: await getattr(app.stores, name).count("acme") for name in ("users", "app_keys")}
        assert (await app.stores.users.get("acme", "u1")).status == "active"
        assert not (await app.stores.audit.page(limit=10)).rows, "nothing was written, not even a reveal"
    assert app.settings.read_only
