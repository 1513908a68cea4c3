"""Status changes, grants and hard deletes at 80x24 on both backends."""
from __future__ import annotations

from console.edit import GrantAccess, HardDelete, RevokeAccess, StatusChange
from stores.models import UserApp
from tests.edit.conftest import Results, Run
from tests.support.factories import user
from tests.support.tui import screen_text, until


async def test_a_status_change_asks_with_focus_on_no(console: Run) -> None:
    async with console() as (app, pilot):
        u1 = await app.stores.users.get("acme", "u1")
        results = Results()
        results.push(app, StatusChange(u1, "suspended"))
        await until(pilot, lambda: "Suspend user acme/u1?" in screen_text(app), "the question")
        assert app.focused is not None and app.focused.id == "no"
        await pilot.press("enter")
        await until(pilot, lambda: results == [None], "No to close the dialog")
        assert (await app.stores.users.get("acme", "u1")).status == "active"
        results.push(app, StatusChange(u1, "deleted"))
        await until(pilot, lambda: "Soft-delete user acme/u1?" in screen_text(app), "the question")
        await pilot.press("y")
        await until(pilot, lambda: len(results) == 2, "the soft delete")
        stored = await app.stores.users.get("acme", "u1")
        assert results[1].status == stored.status == "deleted" and stored.deleted_at is not None


async def test_grant_by_username_prefix_and_revoke(console: Run) -> None:
    async with console() as (app, pilot):
        await app.stores.users.create(user("acme", "u3", username="bob"))
        results = Results()
        results.push(app, GrantAccess("acme", app_id="web"))
        await pilot.pause()
        await pilot.press(*"user-")
        await until(pilot, lambda: "user-u1" in screen_text(app) and "user-u2" in screen_text(app), "the suggestions")
        assert "bob" not in screen_text(app)
        await pilot.press("down", "down", "enter")
        await until(pilot, lambda: app.screen.query_one("#user").value == "user-u2", "the picked username")
        await pilot.press("enter")
        await until(pilot, lambda: bool(results), "the grant")
        assert isinstance(results[0], UserApp) and results[0].user_id == "u2"
        assert await app.stores.user_apps.has_access("acme", "web", "u2")
        results.push(app, GrantAccess("acme", user_id="u3"))
        await pilot.pause()
        await pilot.press(*"nope", "enter")
        await until(pilot, lambda: "no app named 'nope'" in screen_text(app), "the unknown app at its field")
        results.push(app, RevokeAccess(results[0]))
        await until(pilot, lambda: "Revoke u2's access" in screen_text(app), "the question")
        assert app.focused is not None and app.focused.id == "no"
        await pilot.press("right", "enter")
        await until(pilot, lambda: len(results) == 2, "the revoke")
        assert results[1].status == "revoked" and not await app.stores.user_apps.has_access("acme", "web", "u2")


async def test_hard_delete_is_refused_when_disabled(console: Run) -> None:
    async with console() as (app, pilot):
        results = Results()
        results.push(app, HardDelete(await app.stores.tenants.get("acme")))
        await until(pilot, lambda: "Hard delete is off" in screen_text(app), "the explanation")
        assert "allow_hard_delete = true" in screen_text(app)
        await pilot.press("enter")
        await until(pilot, lambda: results == [False], "the dialog to close")
        assert await app.stores.tenants.exists("acme")


async def test_hard_delete_counts_the_cascade_and_needs_the_typed_id(console: Run) -> None:
    async with console(allow_hard_delete=True) as (app, pilot):
        for n in range(3, 6):
            await app.stores.users.create(user("acme", f"u{n}"))
            await app.stores.user_apps.grant_access("acme", "web", f"u{n}")
        results = Results()
        dialog = results.push(app, HardDelete(await app.stores.tenants.get("acme")))
        await until(pilot, lambda: "acme: 1 tenant, 1 app, 1 branch, 5 users, 4 grants, 1 key" in screen_text(app),
                    "the counted blast radius")
        await pilot.press(*"acm", "enter")
        await until(pilot, lambda: "Type acme exactly" in screen_text(app), "the refusal of a wrong id")
        assert dialog.query_one("#delete").disabled and await app.stores.tenants.exists("acme")
        await pilot.press("e", "enter")
        await until(pilot, lambda: results == [True], "the delete")
        assert not await app.stores.tenants.exists("acme")
        assert await app.stores.users.count("acme") == 0 and await app.stores.app_keys.count("acme") == 0
        assert await app.stores.apps.count("acme") == 0
        page = await app.stores.audit.page("acme", last=True, filter={"action": "delete"})
        assert page.rows and "5 users" in (page.rows[-1].note or "")


async def test_escape_in_the_matches_goes_back_to_typing_and_a_second_escape_cancels(console: Run) -> None:
    async with console() as (app, pilot):
        results = Results()
        dialog = results.push(app, GrantAccess("acme", app_id="web"))
        await pilot.pause()
        await pilot.press(*"user-")
        await until(pilot, lambda: "user-u1" in screen_text(app), "the suggestions")
        await pilot.press("down", "escape")
        await pilot.pause(0.1)
        assert app.screen is dialog and app.screen.query_one("#user").value == "user-"
        assert "user-u1" not in screen_text(app), "the matches are closed"
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is not dialog, "the dialog to close")
        assert results == [None]


async def test_every_dialogs_cancel_button_closes_it_and_writes_nothing(console: Run) -> None:
    from textual.widgets import Button

    from console.edit import EntityForm, GenerateKey, RevokeKey, RotateKey

    async with console() as (app, pilot):
        key = await app.stores.app_keys.get_by_id("acme-k1")
        dialogs = [EntityForm("user", parent={"tenant_id": "acme"}), GrantAccess("acme", app_id="web"),
                   GenerateKey("acme", "web"), RevokeKey(key), RotateKey(key)]
        for dialog in dialogs:
            results = Results()
            results.push(app, dialog)
            await until(pilot, lambda d=dialog: app.screen is d and bool(d.query("#cancel")),
                        f"{type(dialog).__name__} to open")
            await pilot.pause()
            dialog.query_one("#cancel", Button).press()
            await until(pilot, lambda: bool(results), f"{type(dialog).__name__} to close")
            assert results == [None], type(dialog).__name__
        assert (await app.stores.audit.page(limit=10)).rows == []
        assert await app.stores.app_keys.count("acme") == 1


async def test_the_grant_lookup_finds_an_app_by_the_start_of_its_id_in_any_case(console: Run) -> None:
    """Issue 16 item 10: the hint says "the start of its name or id": ``web`` finds the app
    ``web-app`` named "Acme Web", ``ACME w`` by its name; an error shown before a pick is gone
    once a match is picked from the list."""
    from tests.support.factories import app as new_app

    async with console() as (app, pilot):
        await app.stores.apps.create(new_app("acme", "web-app", name="Acme Web"))
        results = Results()
        dialog = results.push(app, GrantAccess("acme", user_id="u1"))
        await pilot.pause()
        await pilot.press(*"nope", "enter")
        await until(pilot, lambda: "no app named 'nope'" in screen_text(app), "the unknown app at its field")
        await pilot.press(*["backspace"] * 4, *"WEB")
        await until(pilot, lambda: "Acme Web  (web-app" in screen_text(app), "the app found by its id, any case")
        await pilot.press(*["backspace"] * 3, *"acme w")
        await until(pilot, lambda: "Acme Web  (web-app" in screen_text(app), "the app found by its name, any case")
        await pilot.press("down", "enter")
        await until(pilot, lambda: dialog.query_one("#app").value == "Acme Web", "the picked name")
        assert "no app named" not in screen_text(app) and dialog.query_one("#e-app").disabled, "the stale error is gone"
        assert dialog.query_one("#problem").disabled
        await pilot.press("enter")
        await until(pilot, lambda: bool(results), "the grant")
        assert results[0].app_id == "web-app" and await app.stores.user_apps.has_access("acme", "web-app", "u1")
