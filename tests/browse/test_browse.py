"""The entity browser driven with Pilot at 80x24, on memory and on PostgreSQL, over a
tenant of 100,000 users."""
from __future__ import annotations

import time
from pathlib import Path

from console.paths import default_files_directory
from console.screens.browse.actions import WRITE_IDS
from tests.browse.conftest import (
    BIG, SIZE, Backend, browse, crumbs, cursor_id, first_cells, settled, started, table, title, type_prompt,
)
from tests.support.tui import notifications, screen_text, until


async def test_drill_down_to_an_apps_keys_and_back_keeps_the_cursor(backend: Backend) -> None:
    app = backend.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        assert first_cells(app) == ["acme-corp", "globex", "initech"]
        await pilot.press("down")  # globex
        await pilot.press("enter")
        await settled(pilot, app, "tenants ▸ globex ▸ apps")
        assert first_cells(app) == ["api-app", "mobile-app", "web-app"]  # by name: Globex Api, Mobile, Web
        await pilot.press("down", "down")
        await pilot.press("enter")
        await settled(pilot, app, "tenants ▸ globex ▸ apps ▸ web-app ▸ branches")
        await pilot.press("tab")
        await settled(pilot, app, "tenants ▸ globex ▸ apps ▸ web-app ▸ keys")
        assert table(app).row_count == 3 and "sk_live_" in screen_text(app)
        assert title(app) == "1–3 of 3"
        await pilot.press("escape")
        await settled(pilot, app, "tenants ▸ globex ▸ apps")
        assert cursor_id(app) == "web-app", "the cursor is back on the app we opened"
        await pilot.press("escape")
        await settled(pilot, app, "tenants")
        assert cursor_id(app) == "globex"
        await pilot.press("escape")  # at the top Escape does nothing: it neither quits nor switches screens
        await pilot.pause(0.1)
        assert app.is_running and app.current_mode == "browse" and crumbs(app) == "tenants"


async def test_filters_ignore_letter_case_and_escape_clears_one_first(backend: Backend) -> None:
    """Issue 16 item 11: ``Alice`` finds alice (and ``OLIVIA.SMITH12@`` her email) on both
    backends; Escape clears an active filter first and leaves the level only after that."""
    app = backend.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("colon")
        await type_prompt(pilot, "users acme-corp")
        await settled(pilot, app, "tenants ▸ acme-corp ▸ users")
        for typed, column in (("Olivia.Smith12", "username"), ("OLIVIA.SMITH12@", "email")):
            await pilot.press("slash")
            await pilot.press(*["backspace"] * 20)
            await type_prompt(pilot, typed)
            await until(pilot, lambda: browse(app).frame.state.filter_text == typed and browse(app).rows
                        and browse(app).painted_generation == browse(app).generation, f"the rows for {typed}")
            shown = [getattr(browse(app).rows[key], column) for key in browse(app).rows]
            assert shown and all(value.lower().startswith(typed.lower()) for value in shown), shown
            assert "olivia.smith12" in first_cells(app)
        await pilot.press("escape")
        await settled(pilot, app, "tenants ▸ acme-corp ▸ users", "the unfiltered list, same level")
        assert browse(app).frame.state.filter_text == "" and "/ " not in str(browse(app).query_one("#tabs").render())
        assert len(first_cells(app)) == table(app).row_count and not all(c.startswith("olivia") for c in first_cells(app))
        await pilot.press("escape")
        await settled(pilot, app, "tenants", "one level up")


async def test_filter_by_email_prefix_stays_when_going_in_and_back(backend: Backend) -> None:
    app = backend.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("colon")
        await type_prompt(pilot, "users acme-corp")
        await settled(pilot, app, "tenants ▸ acme-corp ▸ users")
        await pilot.press("slash")
        await type_prompt(pilot, "olivia.smith12@")
        await until(pilot, lambda: "/ olivia.smith12@" in str(browse(app).query_one("#tabs").render())
                    and browse(app).painted_generation == browse(app).generation, "the filtered page")
        store = app.stores
        expected = await store.users.page("acme-corp", limit=19, filter={"email_prefix": "olivia.smith12@"})
        assert [u.username for u in expected.rows] == first_cells(app) == ["olivia.smith12"]
        # a prefix shared by many: ordered by email, every row matches
        await pilot.press("slash")
        await pilot.press(*["backspace"] * 20)
        await type_prompt(pilot, "email:olivia.smith1")
        await until(pilot, lambda: browse(app).frame.state.filter_text == "email:olivia.smith1"
                    and browse(app).painted_generation == browse(app).generation, "the second filter")
        total = await store.users.count("acme-corp", filter={"email_prefix": "olivia.smith1"})
        await until(pilot, lambda: title(app) == f"1–19 of {total:,}", f"the exact count {total}")
        rows = [browse(app).rows[key] for key in browse(app).rows]
        assert len(rows) == 19 and all(u.email.startswith("olivia.smith1") for u in rows)
        assert [u.email for u in rows] == sorted(u.email for u in rows)
        await pilot.press("down", "enter")
        await until(pilot, lambda: crumbs(app).startswith("tenants ▸ acme-corp ▸ users ▸ olivia.smith1"), "the user")
        await pilot.press("escape")
        await settled(pilot, app, "tenants ▸ acme-corp ▸ users")
        assert browse(app).frame.state.filter_text == "email:olivia.smith1", "the filter stays"
        assert cursor_id(app) == rows[1].id
        # a bad filter says what the list understands and changes nothing
        await pilot.press("slash")
        await type_prompt(pilot, "colour:red")
        await until(pilot, lambda: "Filter not applied colour: is not understood here; users understand: a word" in notifications(app),
                    "the filter error")
        assert browse(app).frame.state.filter_text == "email:olivia.smith1"


async def test_paging_to_the_end_of_a_100k_tenant(backend: Backend) -> None:
    app = backend.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("colon")
        await type_prompt(pilot, "users acme-corp")
        await settled(pilot, app, "tenants ▸ acme-corp ▸ users")
        size = browse(app).page_size()
        assert size == table(app).row_count == 19, "the page is what fits at 80x24"
        await until(pilot, lambda: title(app) == f"1–19 of {BIG:,}", "the exact count after the page")
        # three PageDowns in a row: one request walks from the page on screen (none is queued)
        await pilot.press("pagedown", "pagedown", "pagedown")
        await until(pilot, lambda: title(app) == f"58–76 of {BIG:,}" and browse(app).painted_generation
                    == browse(app).generation, "page 4")
        store = app.stores
        started_at = time.perf_counter()
        await pilot.press("end")
        await until(pilot, lambda: title(app) == f"{BIG - 18:,}–{BIG:,} of {BIG:,}", "the last page")
        took = time.perf_counter() - started_at
        last = await store.users.page("acme-corp", last=True, limit=size)
        assert first_cells(app) == [u.username for u in last.rows]
        assert cursor_id(app) == last.rows[-1].id, "End puts the cursor on the last row"
        assert took < 2.0, f"End took {took:.2f} s"
        await pilot.press("pageup")
        await until(pilot, lambda: title(app) == f"{BIG - 37:,}–{BIG - 19:,} of {BIG:,}", "the page before the last")
        await pilot.press("down")  # past the page's last row: the next page (the last again)
        await until(pilot, lambda: title(app) == f"{BIG - 18:,}–{BIG:,} of {BIG:,}", "the last page again")
        await pilot.press("home")
        await until(pilot, lambda: title(app) == f"1–19 of {BIG:,}", "the first page")


async def test_jumps_go_there_or_say_what_exists(backend: Backend) -> None:
    app = backend.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("colon")
        await type_prompt(pilot, "keys acme/web")
        await settled(pilot, app, "tenants ▸ acme-corp ▸ apps ▸ web-app ▸ keys")
        await pilot.press("colon")
        await type_prompt(pilot, "tenant nope")
        await until(pilot, lambda: "no tenant 'nope'; tenants: acme-corp, globex, initech" in notifications(app), "the error")
        assert crumbs(app) == "tenants ▸ acme-corp ▸ apps ▸ web-app ▸ keys"
        await pilot.press("colon")
        await type_prompt(pilot, "user acme-corp/bob.smith23")
        await until(pilot, lambda: "'bob.smith23' matches more than one user of acme-corp: bob.smith23001, bob.smith2301" in notifications(app),
                    "the ambiguity")
        await pilot.press("colon")
        await type_prompt(pilot, "user acme-corp/bob.smith1")  # the username exists as such
        await settled(pilot, app, "tenants ▸ acme-corp ▸ users ▸ bob.smith1 ▸ grants")
        assert first_cells(app) == ["mobile-app", "web-app"]


async def test_read_only_shows_no_edit_action(backend: Backend) -> None:
    def bound(app) -> set[str]:  # noqa: ANN001
        return {binding.id for _, binding, enabled, _ in app.active_bindings.values() if binding.id and enabled}

    for read_only in (True, False):
        app = backend.app(read_only=read_only)
        async with app.run_test(size=SIZE) as pilot:
            await started(pilot, app)
            seen: set[str] = set(bound(app))
            for jump, crumb in (("users acme-corp", "tenants ▸ acme-corp ▸ users"),
                                ("keys acme-corp/web", "tenants ▸ acme-corp ▸ apps ▸ web-app ▸ keys")):
                await pilot.press("colon")
                await type_prompt(pilot, jump)
                await settled(pilot, app, crumb)
                seen |= bound(app)
            if read_only:
                assert not seen & WRITE_IDS, f"read-only binds {seen & WRITE_IDS}"
                await pilot.press("f1")
                await pilot.pause(0.2)
                assert "Rotate key" not in screen_text(app) and "Generate key" not in screen_text(app)
            else:
                assert {"browse.edit", "browse.new_key", "browse.rotate_key", "browse.revoke_key", "browse.reveal"} <= seen


async def test_the_detail_pane_never_shows_the_dsn_password_until_x(backend: Backend) -> None:
    password = "demo-acme-corp-pw"
    app = backend.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        assert password not in screen_text(app)
        await pilot.press("i")
        await until(pilot, lambda: "db_dsn" in screen_text(app), "the detail pane")
        text = screen_text(app)
        assert "acme-corp_app:****@db.internal" in text and password not in text
        assert table(app).row_count == 3 and browse(app).page_size() >= 6, "the list keeps rows beside the pane"
        await pilot.press("x")
        await until(pilot, lambda: password in screen_text(app), "the reveal")
        audit = await app.stores.audit.page(tenant_id="acme-corp", last=True, limit=5, filter={"action": "reveal"})
        assert audit.rows and password not in str(audit.rows[-1].model_dump())
        await pilot.press("down")  # the selection moves: the reveal ends
        await until(pilot, lambda: password not in screen_text(app), "the reveal to end")
        await pilot.press("up")
        await until(pilot, lambda: "acme-corp_app:****@" in screen_text(app), "acme again")
        assert password not in screen_text(app)
        await pilot.press("x")
        await until(pilot, lambda: password in screen_text(app), "the second reveal")
        await pilot.press("escape")  # Escape ends it too, and the list stays where it is
        await until(pilot, lambda: password not in screen_text(app), "the reveal to end on Escape")
        assert crumbs(app) == "tenants"
        assert browse(app).revealed is None and password not in notifications(app)
        await pilot.press("colon")
        await type_prompt(pilot, "audit acme-corp")  # the reveals are in the tenant's audit tab, newest last
        await settled(pilot, app, "tenants ▸ acme-corp ▸ audit")
        shown = [browse(app).rows[key] for key in browse(app).rows]
        assert [entry.action for entry in shown[-2:]] == ["reveal", "reveal"] and cursor_id(app) == shown[-1].id
        assert password not in screen_text(app)


async def test_export_writes_every_matching_row_not_only_the_page(backend: Backend, tmp_path) -> None:  # noqa: ANN001
    import csv

    app = backend.app()
    target = tmp_path / "suspended.csv"
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("colon")
        await type_prompt(pilot, "users acme-corp")
        await settled(pilot, app, "tenants ▸ acme-corp ▸ users")
        await pilot.press("slash")
        await type_prompt(pilot, "status:suspended")
        await until(pilot, lambda: browse(app).frame.state.filter_text == "status:suspended"
                    and browse(app).painted_generation == browse(app).generation, "the filter")
        await pilot.press("ctrl+e")
        await until(pilot, lambda: type(app.screen).__name__ == "ExportPrompt", "the export prompt")
        path_input = app.screen.query_one("#export-path")
        default = Path(path_input.value)  # the console's files folder, made 0700 (issue 16 item 19)
        assert default.parent == default_files_directory() and default.name.startswith("acme-corp-users-")
        assert default.suffix == ".csv" and default.parent.stat().st_mode & 0o777 == 0o700
        path_input.value = str(target)
        await pilot.press("enter")
        await until(pilot, lambda: "Exported" in notifications(app), "the export", timeout=30)
        expected = await app.stores.users.count("acme-corp", filter={"status": "suspended"})
    assert expected > 1000, "more than one export page (500 rows)"
    with target.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == expected and f"{expected:,} rows written to {target}" in notifications(app)
    assert {row["status"] for row in rows} == {"suspended"} and len({row["id"] for row in rows}) == expected
    assert not list(tmp_path.glob("*.part")), "no temporary file is left"


async def test_a_reveal_ends_when_the_screen_is_left_and_export_asks_before_overwriting(backend: Backend,
                                                                                        tmp_path) -> None:  # noqa: ANN001
    password = "demo-acme-corp-pw"
    existing = tmp_path / "tenants.csv"
    existing.write_text("keep me\n")
    app = backend.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("i", "x")
        await until(pilot, lambda: password in screen_text(app), "the reveal")
        await pilot.press("4")  # another screen: the reveal ends, and is not back on return
        await pilot.press("3")
        await until(pilot, lambda: "acme-corp_app:****@" in screen_text(app), "the masked DSN again")
        assert password not in screen_text(app) and browse(app).revealed is None

        await pilot.press("ctrl+e")
        await until(pilot, lambda: type(app.screen).__name__ == "ExportPrompt", "the export prompt")
        app.screen.query_one("#export-path").value = str(existing)
        await pilot.press("enter")
        await until(pilot, lambda: "exists: Enter again replaces it" in screen_text(app), "the overwrite question")
        assert existing.read_text() == "keep me\n"
        await pilot.press("enter")
        await until(pilot, lambda: "Exported" in notifications(app), "the export")
    assert existing.read_text().startswith("id,")
