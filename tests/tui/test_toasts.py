"""Issue 16 item 12: a notification never covers a dialog's buttons (a toast hid the
migrations' "Yes, apply" for ~6 s): toasts are shown at the top right, under the header,
and take at most half of the screen; dialogs keep their buttons at their bottom."""
from __future__ import annotations

import pytest
from textual.widgets import Button
from textual.widgets._toast import Toast

from console.app import LokstraConsole
from console.config import ConsoleConfig
from console.screens.confirm import ConfirmModal
from stores import Settings
from tests.support.tui import until

BODY = "\n".join(f"line {n}: what the migration changes, in words" for n in range(1, 13))


@pytest.mark.parametrize("size", [(80, 24), (60, 20)], ids=["80x24", "60x20"])
async def test_toasts_do_not_cover_the_buttons_of_a_dialog(size: tuple[int, int]) -> None:
    app = LokstraConsole(Settings(), config=ConsoleConfig())
    async with app.run_test(size=size, notifications=True) as pilot:
        await until(pilot, lambda: app.stores is not None, "the stores")
        app.push_screen(ConfirmModal("Apply 3 pending migration(s)?", BODY, yes="Yes, apply"))
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirmation")
        app.notify("The backend answers again.", title="Reconnected")
        app.notify("connection refused: is the server running on 127.0.0.1:5432 and accepting TCP/IP "
                   "connections? (three lines of diagnosis)", title="Backend unavailable", severity="error")
        app.notify("a third one", title="Note")
        await until(pilot, lambda: len(app.screen.query(Toast)) == 3 and all(t.region.area for t in app.screen.query(Toast)),
                    "three toasts on screen")
        buttons = [button.region for button in app.screen.query(Button)]
        assert buttons and all(region.area for region in buttons)
        shown = [toast.region for toast in app.screen.query(Toast)]
        assert all(region.y >= 1 for region in shown), "the header line stays visible"
        for toast in shown:
            for region in buttons:
                assert not toast.overlaps(region), f"a toast at {toast} covers a button at {region}"


async def test_y_and_n_answer_a_confirmation_but_are_letters_where_a_name_is_typed() -> None:
    """The console's ConfirmModal (migrations, backend) answers y / n like the edit dialogs'."""
    app = LokstraConsole(Settings(), config=ConsoleConfig())
    answers: list[bool] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.stores is not None, "the stores")
        for key, expected in (("y", True), ("n", False)):
            app.push_screen(ConfirmModal("Apply?", yes="Yes, apply"), answers.append)
            await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirmation")
            await pilot.press(key)
            await until(pilot, lambda: len(answers) == (1 if expected else 2), f"{key} to answer")
            assert answers[-1] is expected
        typed = ConfirmModal("Drill production?", yes="Run", type_to_confirm="my-prod")
        app.push_screen(typed, answers.append)
        await until(pilot, lambda: app.screen is typed, "the typed confirmation")
        await pilot.press(*"my-pro", "n", "y")
        assert app.screen is typed and typed.query_one("#typed").value == "my-prony"
