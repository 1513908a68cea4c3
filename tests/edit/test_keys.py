"""API keys at 80x24 on both backends: shown once and only hashed in the store, gone from
the screen, clipboard and audit once the dialog closed; rotation with overlap; revoke with
a reason; the key report."""
from __future__ import annotations

import re
from datetime import timedelta

from textual.widgets import Checkbox, Input

from console.edit import GenerateKey, KeyReportScreen, KeyShownOnce, RevokeKey, RotateKey
from stores.keys import verify_secret
from stores.models import AppKey, utcnow
from stores.tables import APP_KEYS
from tests.edit.conftest import Results, Run
from tests.support.factories import key
from tests.support.tui import screen_text, until

FULL_KEY = re.compile(r"[sp]k_(?:live|test)_([0-9a-f]{16})\.([A-Za-z0-9_-]{43})")


async def shown_key(pilot, app) -> tuple[str, str]:  # noqa: ANN001
    """(key_id, secret) read off the screen of the open KeyShownOnce."""
    await until(pilot, lambda: isinstance(app.screen, KeyShownOnce) and FULL_KEY.search(screen_text(app)) is not None,
                "the new key on screen")
    match = FULL_KEY.search(screen_text(app))
    assert match is not None
    return match[1], match[2]


async def confirm_stored_and_close(pilot, app) -> None:  # noqa: ANN001
    """Escape alone does not close it; ticking "I stored it" and Close does."""
    shown = app.screen
    await pilot.press("escape")
    await until(pilot, lambda: "Store the key first" in screen_text(app), "the refusal to close")
    assert app.screen is shown
    assert app.focused is shown.query_one("#stored", Checkbox)
    await pilot.press("space")
    assert app.focused is shown.query_one("#close")
    await pilot.press("enter")
    await until(pilot, lambda: not isinstance(app.screen, KeyShownOnce), "the key dialog to close")


async def everything_in_audit(app) -> str:  # noqa: ANN001
    page = await app.stores.audit.page(limit=1000)
    return "\n".join(entry.model_dump_json() for entry in page.rows)


async def test_a_generated_key_is_shown_once_and_only_its_hash_is_stored(console: Run) -> None:
    async with console() as (app, pilot):
        results = Results()
        results.push(app, GenerateKey("acme", "web"))
        await pilot.pause()
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "give the key a name" in screen_text(app), "the missing name at its field")
        await pilot.press(*"ci", "tab")  # name "ci"; the next fields: scopes, expiry, owner
        await pilot.press(*"read", "comma", "space", *"write", "tab", *"30", "tab", *"user-u", "down")
        await until(pilot, lambda: "user-u2" in screen_text(app), "the owner's suggestions")
        await pilot.press("down", "enter", "ctrl+s")  # user-u2
        key_id, secret = await shown_key(pilot, app)
        app.screen.action_copy()
        assert app.clipboard.endswith(secret)
        stored = await app.stores.app_keys.get_by_key_id("acme", "web", key_id)
        assert verify_secret(secret, stored.secret_hash) and secret not in stored.model_dump_json()
        assert (stored.name, stored.scopes, stored.user_id, stored.key_type, stored.environment) == \
            ("ci", ["read", "write"], "u2", "secret", "live")
        assert stored.expires_at is not None and abs(stored.expires_at - (utcnow() + timedelta(days=30))) < timedelta(minutes=1)
        await confirm_stored_and_close(pilot, app)
        await until(pilot, lambda: bool(results), "the generate dialog to close")
        assert isinstance(results[0], AppKey) and results[0].key_id == key_id
        await pilot.pause()
        assert secret not in app.export_screenshot()
        assert secret not in app.clipboard
        assert secret not in await everything_in_audit(app)
        assert key_id in await everything_in_audit(app)


async def test_the_shown_key_starts_on_the_key_and_reads_without_colour(console: Run) -> None:
    """Issue 16 item 18: focus starts on the key (Enter there neither copies nor confirms);
    "I have stored it" shows [ ] / [x] in the text itself, the same on a monochrome terminal;
    copying says the key was sent to the terminal's clipboard, not that it is there."""
    async with console() as (app, pilot):
        results = Results()
        results.push(app, GenerateKey("acme", "web"))
        await pilot.pause()
        await pilot.press(*"mono", "ctrl+s")
        await shown_key(pilot, app)
        shown = app.screen
        assert app.focused is shown.query_one("#secret")
        await pilot.press("enter", "space")
        assert shown.query_one("#stored", Checkbox).value is False and app.clipboard == "", "nothing happened"
        assert "[ ] I have stored the key" in screen_text(app)
        await pilot.press("c")
        await until(pilot, lambda: "Sent to the terminal's clipboard (if it allows OSC 52)" in screen_text(app)
                    or any("if it allows OSC 52" in n.message for n in app._notifications), "the copy's words")
        assert not any("is on the clipboard" in n.message for n in app._notifications)
        shown.query_one("#stored", Checkbox).focus()
        await pilot.press("space")
        await until(pilot, lambda: "[x] I have stored the key" in screen_text(app), "the ticked box in words")
        await pilot.press("enter")
        await until(pilot, lambda: bool(results), "the dialog to close")


async def test_rotation_overlaps_and_shows_the_new_key_once(console: Run) -> None:
    async with console() as (app, pilot):
        old = (await app.stores.app_keys.list_by_app("acme", "web"))[0]
        results = Results()
        results.push(app, RotateKey(old))
        await pilot.pause()
        await pilot.press("enter", "down", "enter")  # grace: 24 hours -> 7 days
        await pilot.press("ctrl+s")
        key_id, secret = await shown_key(pilot, app)
        assert "The old key kid-acme-k1 keeps working until" in screen_text(app)
        new = await app.stores.app_keys.get_by_key_id("acme", "web", key_id)
        before = await app.stores.app_keys.get_by_id(old.id)
        assert verify_secret(secret, new.secret_hash) and not new.revoked and new.expires_at is None
        assert (new.name, new.scopes, new.user_id) == (old.name, old.scopes, old.user_id)
        assert not before.revoked and verify_secret("secret-acme-k1", before.secret_hash)
        assert before.expires_at is not None
        assert abs(before.expires_at - (utcnow() + timedelta(days=7))) < timedelta(minutes=1), "both valid now"
        await confirm_stored_and_close(pilot, app)
        await until(pilot, lambda: bool(results), "the rotate dialog to close")
        assert results[0].key_id == key_id
        await pilot.pause()
        assert secret not in app.export_screenshot() and secret not in await everything_in_audit(app)


async def key_expiring_in_30_days(app) -> AppKey:  # noqa: ANN001
    old = (await app.stores.app_keys.list_by_app("acme", "web"))[0]
    await app.stores.engine.patch(APP_KEYS, (old.id,), {"expires_at": utcnow() + timedelta(days=30)})
    return await app.stores.app_keys.get_by_id(old.id)


async def test_a_rotated_key_keeps_the_old_ones_expiry_and_the_dialog_says_so(console: Run) -> None:
    """Issue 16 item 3: a key 30 days from expiry came out of rotation with none."""
    async with console() as (app, pilot):
        old = await key_expiring_in_30_days(app)
        when = f"{old.expires_at:%Y-%m-%d %H:%M}"
        results = Results()
        dialog = results.push(app, RotateKey(old))
        await until(pilot, lambda: "Rotate (ctrl+s)" in screen_text(app), "the rotate dialog")
        text = screen_text(app)
        zone = app.stores.engine.clock.zone  # the wall clock of the data (UTC, or the server's, e.g. Etc/UTC)
        assert f"The new key expires {when} ({zone}), when the old one would" in text
        assert dialog.query_one("#expires", Input).value == when
        await pilot.press("ctrl+s")
        key_id, _secret = await shown_key(pilot, app)
        assert f"The new key expires: {when} ({zone})" in screen_text(app)
        new = await app.stores.app_keys.get_by_key_id("acme", "web", key_id)
        assert new.expires_at == old.expires_at, "the same moment, to the microsecond"
        await confirm_stored_and_close(pilot, app)
        await until(pilot, lambda: bool(results), "the rotate dialog to close")


async def test_the_operator_can_change_the_rotated_keys_expiry(console: Run) -> None:
    async with console() as (app, pilot):
        old = await key_expiring_in_30_days(app)
        results = Results()
        dialog = results.push(app, RotateKey(old))
        await pilot.pause()
        field = dialog.query_one("#expires", Input)
        field.focus()
        await pilot.press("ctrl+u", *"90", "enter")  # clear the line, type 90 days, Enter rotates
        key_id, _secret = await shown_key(pilot, app)
        new = await app.stores.app_keys.get_by_key_id("acme", "web", key_id)
        assert new.expires_at is not None and abs(new.expires_at - (utcnow() + timedelta(days=90))) < timedelta(minutes=1)
        await confirm_stored_and_close(pilot, app)
        await until(pilot, lambda: bool(results), "the rotate dialog to close")
        newer = Results()
        dialog = newer.push(app, RotateKey(new))
        await pilot.pause()
        dialog.query_one("#expires", Input).focus()
        await pilot.press("ctrl+u", "ctrl+s")  # empty: never
        key_id, _secret = await shown_key(pilot, app)
        assert "The new key expires: never" in screen_text(app)
        assert (await app.stores.app_keys.get_by_key_id("acme", "web", key_id)).expires_at is None
        await confirm_stored_and_close(pilot, app)


async def test_revoking_needs_a_reason(console: Run) -> None:
    async with console() as (app, pilot):
        target = (await app.stores.app_keys.list_by_app("acme", "web"))[0]
        results = Results()
        dialog = results.push(app, RevokeKey(target))
        await pilot.pause()
        assert dialog.query_one("#revoke").disabled
        await pilot.press("enter")
        await until(pilot, lambda: "Say why" in screen_text(app), "the missing reason")
        assert not (await app.stores.app_keys.get_by_id(target.id)).revoked
        await pilot.press(*"leaked", "enter")
        await until(pilot, lambda: bool(results), "the revoke")
        revoked = await app.stores.app_keys.get_by_id(target.id)
        assert revoked.revoked and revoked.metadata["revoked_reason"] == "leaked"


async def test_the_key_report_lists_expiring_expired_and_unused_keys(console: Run) -> None:
    async with console() as (app, pilot):
        now = utcnow()
        await app.stores.app_keys.store(key(key_pk="soon", expires_at=now + timedelta(days=5), last_used=now))
        await app.stores.app_keys.store(key(key_pk="later", expires_at=now + timedelta(days=50), last_used=now))
        await app.stores.app_keys.store(key(key_pk="gone", expires_at=now - timedelta(days=1), last_used=now))
        app.push_screen(KeyReportScreen("acme"))
        await until(pilot, lambda: "Expiring ≤30d (1)" in screen_text(app), "the report")
        text = screen_text(app)
        assert "Expired, not revoked (1)" in text and "Never used (1)" in text
        assert "kid-soon" in text and "kid-later" not in text
        field = app.screen.query_one("#days", Input)
        field.value = "60"
        await pilot.press("enter")
        await until(pilot, lambda: "Expiring ≤60d (2)" in screen_text(app), "the report over 60 days")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, KeyReportScreen), "Escape to close the report")


async def test_quitting_while_a_new_key_is_shown_is_refused_until_it_is_stored(console: Run) -> None:
    """ctrl+q is a priority binding: without the check it ended the console with a live key
    whose only copy of the secret was on screen."""
    async with console() as (app, pilot):
        app.push_screen(GenerateKey("acme", "web"))
        await pilot.pause()
        await pilot.press(*"ci", "ctrl+s")
        await shown_key(pilot, app)
        await pilot.press("ctrl+q")
        await until(pilot, lambda: "shown once and is live" in " ".join(str(n.message) for n in app._notifications),
                    "the refusal to quit")
        assert app.is_running and isinstance(app.screen, KeyShownOnce)
        await confirm_stored_and_close(pilot, app)
        await pilot.press("ctrl+q")  # now it quits (on memory, after asking about the unsaved changes)
        await until(pilot, lambda: not app.is_running or type(app.screen).__name__ == "QuitModal", "the quit")
