"""Issue 18 item 7: a 10,000-character paste does not block the console.

A paste arrives as one Paste event (bracketed paste) or, from a terminal without it (or
``tmux send-keys``), as one key per character. Textual's Input does work in proportion to its
length for each key it inserts, and every change re-runs what watches the field (a form's
validation, a lookup's or the palette's search): 10,000 keys took ~15 s in a bare Input,
2,000 took 10 s in the command palette. console/keystrokes.py folds a burst of keys into one
insertion. These tests count the work, not the seconds: how many times a field's value
changed (each change is one validation and one re-render) for 10,000 keys, with the order of
everything else kept, the field's limits kept, and the next key answered.
"""
from __future__ import annotations

from textual import events
from textual.command import CommandPalette
from textual.message import Message
from textual.widgets import Input, TextArea

from console.app import LokstraConsole
from console.config import ConsoleConfig
from console.edit import EntityForm
from stores import Settings
from tests.browse.conftest import browse, started
from tests.support.tui import typed_keys, until

SIZE = (80, 24)
KEYS = 10_000
MOST_CHANGES = 10
"""A burst is handed over when the keys already queued are processed: a few insertions, not one per key."""


class Changes:
    """Counts the value changes of the fields (every Input.Changed / TextArea.Changed message)."""

    def __init__(self) -> None:
        self.inputs = 0
        self.text_areas = 0

    def __call__(self, message: Message) -> None:
        if isinstance(message, Input.Changed):
            self.inputs += 1
        elif isinstance(message, TextArea.Changed):
            self.text_areas += 1


LETTERS = "".join("abcdefghij"[i % 10] for i in range(KEYS))


def _type(app: LokstraConsole, text: str) -> None:
    """``text`` as the terminal sends it without bracketed paste: one key per character, all
    queued at once."""
    for key in typed_keys(text):
        app.post_message(key)


def _demo() -> LokstraConsole:
    return LokstraConsole(Settings(), config=ConsoleConfig())


async def test_ten_thousand_keys_into_the_filter_are_one_change_and_the_next_key_is_answered() -> None:
    changes = Changes()
    app = _demo()
    async with app.run_test(size=SIZE, message_hook=changes) as pilot:
        await started(pilot, app)
        await pilot.press("slash")
        prompt = browse(app).query_one("#prompt", Input)
        changes.inputs = 0
        typed = LETTERS
        _type(app, typed)
        await until(pilot, lambda: len(prompt.value) == KEYS, "the 10,000 keys in the prompt", timeout=60)
        assert prompt.value == typed and prompt.cursor_position == KEYS
        assert changes.inputs <= MOST_CHANGES, f"{changes.inputs} changes for {KEYS:,} keys"
        await pilot.press("escape")  # the next key: the prompt closes
        await until(pilot, lambda: browse(app).prompt_mode is None, "Escape closing the prompt")
    print(f"{KEYS:,} keys into the filter: {changes.inputs} change(s), {app.typing.bursts} burst(s)")


SEQUENCE: list[tuple[str, str | None]] = [
    *((c, c) for c in "abcd"), ("left", None), ("left", None), *((c, c) for c in "XY"), ("home", None),
    ("<", "<"), ("end", None), ("backspace", None), *((c, c) for c in "!?"), ("shift+left", None), ("Z", "Z"),
]


async def _field_after(sequence: list[tuple[str, str | None]], *, bursts: bool, queued: bool) -> tuple[str, int]:
    app = _demo()
    if not bursts:
        app.typing.take = lambda event: False  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("slash")
        prompt = browse(app).query_one("#prompt", Input)
        for key, character in sequence:
            app.post_message(events.Key(key, character))
            if not queued:
                await pilot.pause()
        await pilot.pause(0.3)
        await until(pilot, lambda: app.typing.burst is None, "the burst handed over")
        return prompt.value, prompt.cursor_position


async def test_a_burst_changes_nothing_in_what_the_field_ends_with() -> None:
    """Keys, cursor moves, a deletion and a selection, all queued at once (as a terminal sends
    them) and one at a time: the field ends as it does without the folding of bursts."""
    for queued in (True, False):
        folded = await _field_after(SEQUENCE, bursts=True, queued=queued)
        key_by_key = await _field_after(SEQUENCE, bursts=False, queued=queued)
        assert folded == key_by_key, f"queued={queued}: {folded} != {key_by_key}"
    assert key_by_key == ("<abXYc!Z", 8)


async def test_a_burst_past_a_fields_limit_keeps_what_fits_as_keys_would() -> None:
    """A form's id field holds 255 characters: of 10,000 keys the first 255 go in, as they
    would key by key (Textual refuses a whole paste that does not fit)."""
    changes = Changes()
    app = _demo()
    async with app.run_test(size=SIZE, message_hook=changes) as pilot:
        await started(pilot, app)
        await pilot.press("n")  # a new tenant: its id field has the focus
        await until(pilot, lambda: isinstance(app.screen, EntityForm) and isinstance(app.focused, Input), "the form")
        field = app.focused
        assert isinstance(field, Input) and field.max_length == 255
        changes.inputs = 0
        typed = LETTERS
        _type(app, typed)
        await until(pilot, lambda: len(field.value) == 255, "the first 255 keys", timeout=60)
        await pilot.pause()
        assert field.value == typed[:255] and changes.inputs <= MOST_CHANGES, changes.inputs


async def test_ten_thousand_keys_into_a_json_field_are_one_change_and_save_answers() -> None:
    changes = Changes()
    app = _demo()
    async with app.run_test(size=SIZE, message_hook=changes) as pilot:
        await started(pilot, app)
        await pilot.press("e")  # edit the first tenant
        await until(pilot, lambda: isinstance(app.screen, EntityForm), "the form")
        area = app.screen.query_one("#f-metadata", TextArea)
        area.load_text("")
        area.focus()
        await pilot.pause()
        changes.text_areas = 0
        typed = '{"note": "' + "x" * (KEYS - 12) + '"}'
        _type(app, typed)
        await until(pilot, lambda: len(area.text) >= KEYS, f"the keys in the text area ({len(area.text)})", timeout=60)
        assert area.text == typed
        assert changes.text_areas <= MOST_CHANGES, f"{changes.text_areas} changes for {KEYS:,} keys"
        await pilot.press("ctrl+s")  # the next key: the diff to confirm
        await until(pilot, lambda: "Save 1 change(s)" in str(app.screen.query_one("#question").render())
                    if app.screen.query("#question") else False, "the save's question")


async def test_two_thousand_keys_into_the_palette_are_one_search() -> None:
    changes = Changes()
    app = _demo()
    async with app.run_test(size=SIZE, message_hook=changes) as pilot:
        await started(pilot, app)
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
        field = app.screen.query_one(Input)
        changes.inputs = 0
        _type(app, "acme" + "z" * 1996)
        await until(pilot, lambda: len(field.value) == 2000, "the keys in the palette", timeout=60)
        assert changes.inputs <= MOST_CHANGES, f"{changes.inputs} searches for 2,000 keys"
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, CommandPalette), "Escape closing the palette")


async def test_a_paste_brings_no_control_character_in() -> None:
    """Typing cannot enter ESC or BEL; a paste cannot either (a copied value holding a terminal
    escape would be stored with it)."""
    app = _demo()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("slash")
        prompt = browse(app).query_one("#prompt", Input)
        app.post_message(events.Paste("a\x1b[2Jb\x07c\x9b\x7fd"))
        await until(pilot, lambda: prompt.value == "a[2Jbcd", f"the paste (got {prompt.value!r})")


async def test_a_printable_key_bound_with_priority_still_acts_first() -> None:
    """The keymap may bind a letter to a priority action (app.quit is one): Textual gives it
    the key before any field, and the burst must not swallow it."""
    app = LokstraConsole(Settings(), config=ConsoleConfig(keymap={"app.quit": "x"}))
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("slash")
        _type(app, "ab")
        app.post_message(events.Key("x", "x"))
        await until(pilot, lambda: not app.is_running, "x quitting")
