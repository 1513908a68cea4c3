"""The entity form at 80x24 on both backends: validation as you type, database rules at
their field, the before/after diff, conflicts that overwrite nothing, secrets kept masked."""
from __future__ import annotations

from textual.widgets import Input, TextArea

from console.edit import EntityForm
from console.screens.confirm import ConfirmModal
from stores.models import User
from tests.edit.conftest import Results, Run
from tests.support.tui import screen_text, until


async def type_into(pilot, field: Input, text: str) -> None:  # noqa: ANN001
    field.focus()
    await pilot.pause()
    await pilot.press("end")  # focus selects the text: append instead
    for key in text:
        await pilot.press(key if key not in " .@:/" else {" ": "space", ".": "full_stop", "@": "at",
                                                          ":": "colon", "/": "slash"}[key])


def error_at(form: EntityForm, field: str) -> str:
    error = form.query_one(f"#e-{field}")
    return "" if error.disabled else str(error.render())


async def test_a_duplicate_email_is_shown_at_the_email_field_and_nothing_is_stored(console: Run) -> None:
    async with console() as (app, pilot):
        results = Results()
        form = results.push(app, EntityForm("user", parent={"tenant_id": "acme"}))
        await pilot.pause()
        assert app.focused is form.query_one("#f-id"), "the first editable field has focus (tenant_id is given)"
        assert form.query_one("#f-tenant_id").disabled
        await type_into(pilot, form.query_one("#f-id", Input), "u3")
        await type_into(pilot, form.query_one("#f-username", Input), "carol")
        await type_into(pilot, form.query_one("#f-email", Input), "u1@example")
        assert "must look like" in error_at(form, "email"), "validation as you type"
        await type_into(pilot, form.query_one("#f-email", Input), ".com")
        assert error_at(form, "email") == ""
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "taken" in error_at(form, "email"), "the duplicate email at the email field")
        assert error_at(form, "username") == "" and app.screen is form and not results
        assert "u1@example.com" in screen_text(app)
        assert await app.stores.users.count("acme") == 2
        assert not await app.stores.users.exists("acme", "u3")
        await type_into(pilot, form.query_one("#f-email", Input), "x")  # u1@example.comx: fine, unique
        await pilot.press("ctrl+s")
        await until(pilot, lambda: bool(results), "the form to close after the save")
        saved = results[0]
        assert isinstance(saved, User) and saved.email == "u1@example.comx"
        assert (await app.stores.users.get("acme", "u3")).username == "carol"


async def test_json_errors_name_line_and_column_and_escape_cancels(console: Run) -> None:
    async with console() as (app, pilot):
        results = Results()
        form = results.push(app, EntityForm("app", parent={"tenant_id": "acme"}))
        await pilot.pause()
        await type_into(pilot, form.query_one("#f-id", Input), "api")
        await type_into(pilot, form.query_one("#f-name", Input), "API")
        form.query_one("#f-metadata", TextArea).load_text('{\n  "a": 1,\n  oops\n}')
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "line 3, column 3" in error_at(form, "metadata"), "the JSON error's position")
        assert not await app.stores.apps.exists("acme", "api")
        # Escape in a half-edited form asks first (issue 16 item 12): n keeps it as it was, y discards
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the question before discarding")
        assert "Discard your changes?" in screen_text(app) and "id, name, metadata" in screen_text(app)
        assert app.focused is not None and app.focused.id == "no", "the safe answer first"
        await pilot.press("n")
        await until(pilot, lambda: app.screen is form, "back in the form")
        assert form.query_one("#f-name", Input).value == "API" and results == []
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the question again")
        await pilot.press("y")
        await until(pilot, lambda: results == [None], "y to discard and close the form")
        assert app.screen is not form and len(app.screen_stack) == 1, "Escape closed the modal only"
        untouched = results.push(app, EntityForm("app", parent={"tenant_id": "acme"}))
        await until(pilot, lambda: app.screen is untouched, "a fresh form")
        await pilot.press("escape")
        await until(pilot, lambda: results == [None, None], "an unchanged form to close at once")


async def test_an_edit_shows_the_diff_with_the_dsn_masked_and_saves(console: Run) -> None:
    async with console() as (app, pilot):
        tenant = await app.stores.tenants.get("acme")
        results = Results()
        form = results.push(app, EntityForm("tenant", row=tenant))
        await pilot.pause()
        assert form.query_one("#f-id").disabled, "ids are read-only on edit"
        assert form.query_one("#f-db_dsn", Input).value == "", "the DSN is never prefilled"
        await type_into(pilot, form.query_one("#f-name", Input), " 2")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "Save 1 change" in screen_text(app), "the diff to confirm")
        text = screen_text(app)
        assert isinstance(app.screen, ConfirmModal)
        assert "name: acme Inc → acme Inc 2" in text and "db_dsn:" not in text
        assert app.focused is not None and app.focused.id == "no"
        await pilot.press("enter")  # No: back to the form, nothing stored
        await until(pilot, lambda: app.screen is form, "back in the form")
        assert (await app.stores.tenants.get("acme")).name == "acme Inc"
        await type_into(pilot, form.query_one("#f-db_dsn", Input), "postgres://app:s3cr3t@db/acme")
        assert "s3cr3t" not in screen_text(app)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "Save 2 change" in screen_text(app), "the diff to confirm")
        text = screen_text(app)
        assert "postgres://app:****@db/acme" in text and "s3cr3t" not in text
        await pilot.press("right", "enter")
        await until(pilot, lambda: bool(results), "the save")
        stored = await app.stores.tenants.get("acme")
        assert stored.name == "acme Inc 2" and stored.db_dsn == "postgres://app:s3cr3t@db/acme"
        assert "s3cr3t" not in app.export_screenshot()
        page = await app.stores.audit.page("acme", last=True, filter={"action": "update"})
        assert page.rows and "s3cr3t" not in page.rows[-1].model_dump_json()


async def test_an_empty_dsn_keeps_the_stored_one(console: Run) -> None:
    async with console() as (app, pilot):
        await app.stores.tenants.update((await app.stores.tenants.get("acme")).model_copy(
            update={"db_dsn": "host=db password=hunter2"}))
        results = Results()
        form = results.push(app, EntityForm("tenant", row=await app.stores.tenants.get("acme")))
        await pilot.pause()
        await type_into(pilot, form.query_one("#f-db_schema", Input), "_x")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "Save 1 change" in screen_text(app), "the diff")
        assert "db_dsn:" not in screen_text(app) and "hunter2" not in screen_text(app)
        await pilot.press("right", "enter")
        await until(pilot, lambda: bool(results), "the save")
        stored = await app.stores.tenants.get("acme")
        assert stored.db_dsn == "host=db password=hunter2" and stored.db_schema == "acme_x"


async def test_a_concurrent_update_is_shown_and_not_overwritten(console: Run) -> None:
    async with console() as (app, pilot):
        opened = await app.stores.users.get("acme", "u1")
        results = Results()
        form = results.push(app, EntityForm("user", row=opened))
        await pilot.pause()
        await app.stores.users.update(opened.model_copy(update={"full_name": "Theirs"}))
        await type_into(pilot, form.query_one("#f-full_name", Input), "Mine")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the diff")
        await pilot.press("right", "enter")
        await until(pilot, lambda: "changed since you opened it" in screen_text(app), "the conflict")
        assert "now: Theirs" in error_at(form, "full_name") and not results
        assert (await app.stores.users.get("acme", "u1")).full_name == "Theirs"
        await pilot.press("ctrl+r")
        await until(pilot, lambda: form.query_one("#f-full_name", Input).value == "Theirs", "the reload")
        await type_into(pilot, form.query_one("#f-full_name", Input), " and mine")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the diff")
        await pilot.press("right", "enter")
        await until(pilot, lambda: bool(results), "the save after the reload")
        assert (await app.stores.users.get("acme", "u1")).full_name == "Theirs and mine"


CLIENT_SECRET = "Cs-Form-Zq7731"
CONFIG = {"oauth2_config": {"providers": [{"name": "google", "client_id": "cid-1", "client_secret": CLIENT_SECRET}]},
          "token_secret": "Ts-Form-Zq7732"}


async def edit_config(app, pilot) -> tuple[Results, TextArea]:  # noqa: ANN001
    """The tenant's config set to ``CONFIG`` and its form open: (results, the config's text area)."""
    await app.stores.tenants.update((await app.stores.tenants.get("acme")).model_copy(update={"config": CONFIG}))
    results = Results()
    form = results.push(app, EntityForm("tenant", row=await app.stores.tenants.get("acme")))
    await pilot.pause()
    return results, form.query_one("#f-config", TextArea)


async def test_json_secrets_stay_masked_in_the_form_and_survive_a_save(console: Run) -> None:
    """Issue 17: a JSON ``client_secret`` is masked in the text area, the diff and the audit,
    and saving the form with the masked text keeps the stored secret (not ``****``)."""
    async with console() as (app, pilot):
        results, area = await edit_config(app, pilot)
        assert '"client_secret": "****"' in area.text and CLIENT_SECRET not in area.text
        assert CLIENT_SECRET not in screen_text(app) and "Ts-Form-Zq7732" not in app.export_screenshot()
        area.load_text(area.text.replace('"cid-1"', '"cid-2"'))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "Save 1 change" in screen_text(app), "the diff to confirm")
        text = screen_text(app)
        assert "cid-2" in text and '"client_secret":"***' in text and CLIENT_SECRET not in text
        await pilot.press("right", "enter")
        await until(pilot, lambda: bool(results), "the save")
        stored = (await app.stores.tenants.get("acme")).config
        assert stored["oauth2_config"]["providers"][0] == {"name": "google", "client_id": "cid-2",
                                                          "client_secret": CLIENT_SECRET}
        assert stored["token_secret"] == "Ts-Form-Zq7732"
        page = await app.stores.audit.page("acme", last=True, filter={"action": "update"})
        record = page.rows[-1].model_dump_json()
        assert "cid-2" in record and CLIENT_SECRET not in record and "Ts-Form-Zq7732" not in record


async def test_a_changed_json_secret_is_saved_and_shown_as_changed(console: Run) -> None:
    async with console() as (app, pilot):
        results, area = await edit_config(app, pilot)
        area.load_text(area.text.replace('"token_secret": "****"', '"token_secret": "New-Ts-Zq7733"'))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "Save 1 change" in screen_text(app), "the diff to confirm")
        assert "(changed)" in screen_text(app) and "New-Ts-Zq7733" not in screen_text(app)
        await pilot.press("right", "enter")
        await until(pilot, lambda: bool(results), "the save")
        stored = (await app.stores.tenants.get("acme")).config
        assert stored["token_secret"] == "New-Ts-Zq7733" and stored["oauth2_config"] == CONFIG["oauth2_config"]
        record = (await app.stores.audit.page("acme", last=True, filter={"action": "update"})).rows[-1]
        assert record.before == {"config": "(changed)"} and record.after == {"config": "(changed)"}
