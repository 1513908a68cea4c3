"""Issue 13 item 3: the TUI is fuzzed like the stores are (tests/reliability/test_fuzz.py).

Hypothesis drives the console at 80x24 on each backend with random sequences of keys and
random text: the browser's keys (moving, paging, opening levels and tabs, the detail pane,
every edit action: new, edit, suspend, activate, delete, grant, revoke, generate / rotate /
revoke a key, the key report), the ``/`` filter, the ``:`` jump, the command palette, and
text of every kind (brackets and markup tags, ``%s``, ``{0}``, escape sequences, RTL, emoji,
1,000 characters, anything hypothesis makes) typed key by key or pasted into whatever field
has the focus, then Enter, Escape, ctrl+s, ``y`` and so on. The data it meets is the hostile
set of tests/support/hostile.py beside an ordinary tenant whose DSN holds a password.

After every step the console still runs and its screen holds no secret (the tenant's DSN
password, a generated key's secret: both appear only while the key is shown once, the moment
the operator asked for). At the end, the stores hold exactly what the accepted actions
explain: every write goes through ``stores.admin.Admin``, whose calls are recorded as they
succeed; with none the table digests are unchanged, and otherwise every row that differs
from the start is one a recorded write names, holding what that write returned.

Not in the sequences: screen keys 1–5 (the other screens migrate and switch backends, which
their own tests cover), ``x`` (a reveal shows a secret on purpose) and ``D`` (hard delete is
off by default). The default run is ``DEFAULT_TUI_FUZZ_EXAMPLES`` sequences per backend;
``LOKSTRA_TUI_FUZZ_EXAMPLES=N`` runs more. Each crash it found is a plain test in
tests/reliability/test_tui_fuzz_found.py.
"""
from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textual import events
from textual.widgets import Input, TextArea

from console.app import LokstraConsole
from console.config import ConsoleConfig
from console.edit import KeyShownOnce
from stores import Settings, Stores, open_stores
from stores.admin import Actor, Admin
from stores.models import Record
from stores.tables import ALL_TABLES
from stores.transfer.copy import table_digests
from tests.support.databases import pg_settings, truncate_all
from tests.support import factories as f
from tests.support.hostile import BRACKETS, ESCAPES, HOSTILE, seed_hostile
from tests.support.tui import key_event, screen_text, typed_keys, until

pytestmark = pytest.mark.postgres

SIZE = (80, 24)
FUZZ_ENV = "LOKSTRA_TUI_FUZZ_EXAMPLES"
DEFAULT_TUI_FUZZ_EXAMPLES = 6
DSN_PASSWORD = "Fuzz-Dsn-Pw-3141"

# ----- what the operator does ---------------------------------------------------------------------

MOVES = ("up", "down", "left", "right", "pageup", "pagedown", "home", "end", "enter", "escape", "tab",
         "shift+tab", "left_square_bracket", "right_square_bracket", "i", "r", "f1", "space", "backspace")
FIELD_ACTIONS = ("slash", "colon", "ctrl+p", "n", "e", "k", "g", "X", "ctrl+e")
"""Actions that open something to type into (a prompt, the palette, a form)."""
OTHER_ACTIONS = ("s", "a", "d", "v", "R", "K")
ACTION = st.one_of(st.sampled_from(FIELD_ACTIONS), st.sampled_from(FIELD_ACTIONS), st.sampled_from(OTHER_ACTIONS))
ANSWERS = ("enter", "escape", "ctrl+s", "ctrl+r", "y", "tab", "down", "space")
TEXTS = (
    "[/APP]", "[bold]", "[/]", "[link=https://e.test]l[/link]", "[@click=app.quit]q", "[@click=screen.dismiss]",
    "TENANT[/APP]", "%s", "%(name)s", "{0}", "{}", "\\", "[", "]", "[[", "\x1b[2J", "\x1b]52;c;UFdORUQ=\x07", "\x07",
    "\x9b6n", "\u202eRTL\u202c", "שלום", "مرحبا", "😀👍🏽", "e\u0301", "x" * 1000, "acme", "acme-corp", "users acme",
    "keys acme/web", "tenant " + HOSTILE.tenant_id, "status:suspended", "expires<30d", "env:test", "a@", "{\"a\": 1}",
    "[1, 2]", "null", "12h", "30", "2030-01-01", "read, write", "\t", " ", "", BRACKETS, ESCAPES,
)
TEXT = st.one_of(st.sampled_from(TEXTS), st.sampled_from(TEXTS), st.text(max_size=30),
                 st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=12))
Step = tuple[str, str]
MOVE: st.SearchStrategy[Step] = st.tuples(st.just("key"), st.sampled_from(MOVES))
TYPED: st.SearchStrategy[Step] = st.tuples(st.sampled_from(("type", "paste")), TEXT)
INPUT: st.SearchStrategy[Step] = st.one_of(TYPED, TYPED, MOVE, st.tuples(st.just("key"), st.sampled_from(ANSWERS)))
WRITE_ACTIONS = ("e", "n", "s", "a", "d", "g", "v", "k", "R", "X")
CONFIRMS: tuple[tuple[str, ...], ...] = (("y",), ("right", "enter"))
"""A status or key dialog's y; a form's "Save N change(s)?" (its No has the focus)."""
SAVE: st.SearchStrategy[list[Step]] = st.builds(
    lambda moves, action, texts, confirm: [*moves, ("key", action), *texts, ("key", "ctrl+s"),
                                           *(("key", key) for key in confirm), ("key", "enter")],
    st.lists(MOVE, max_size=2), st.sampled_from(WRITE_ACTIONS), st.lists(TYPED, max_size=2), st.sampled_from(CONFIRMS))
"""An edit carried through: the action, perhaps some text, save, confirm."""
EPISODE: st.SearchStrategy[list[Step]] = st.one_of(
    st.lists(MOVE, min_size=1, max_size=3), SAVE,
    st.builds(lambda action, text, inputs, answers: [("key", action), text, *inputs, *(("key", a) for a in answers)],
              ACTION, TYPED, st.lists(INPUT, max_size=3),
              st.lists(st.sampled_from(ANSWERS), min_size=1, max_size=2)),
)
"""Moving around, an edit carried through, or an action (a form, a prompt, the palette) with
what is typed into it and how it is answered."""
SEQUENCES: st.SearchStrategy[list[Step]] = st.lists(EPISODE, min_size=3, max_size=10).map(
    lambda episodes: [step for episode in episodes for step in episode])


# ----- what the console wrote -----------------------------------------------------------------------

WRITES = ("create", "update", "set_status", "grant", "revoke", "generate_key", "revoke_key", "rotate_key", "delete")


@dataclass
class Recorder:
    """Every Admin write that succeeded: the rows it names, with what it returned (None: a row
    it changed without returning it, the key a rotation shortens), and the secrets it made."""

    rows: dict[tuple[str, tuple[Any, ...]], tuple[Any, ...] | None] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    calls: int = 0

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in WRITES:
            monkeypatch.setattr(Admin, name, self._wrap(getattr(Admin, name)))

    def _wrap(self, method: Callable[..., Any]) -> Callable[..., Any]:
        recorder = self

        async def recorded(admin: Admin, *args: Any, **kwargs: Any) -> Any:
            result = await method(admin, *args, **kwargs)
            recorder.calls += 1
            recorder.note(method.__name__, args, kwargs, result)
            return result

        return recorded

    def note(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], result: Any) -> None:
        if name in ("generate_key", "rotate_key"):
            self.secrets.append(result.full_key.rsplit(".", 1)[-1])
            self._row(result.key)
            if name == "rotate_key":
                self._row(args[0] if args else kwargs["key"], known=False)
        elif name == "delete":
            self._row(args[0], known=False)  # off by default: would remove a cascade
        elif isinstance(result, Record):
            self._row(result)

    def _row(self, row: Record, *, known: bool = True) -> None:
        spec = next(spec for spec in ALL_TABLES if isinstance(row, spec.model))
        key = (spec.name, tuple(getattr(row, column) for column in spec.primary.columns))
        self.rows[key] = tuple(getattr(row, column) for column in spec.columns) if known else None


async def all_rows(stores: Stores) -> dict[tuple[str, tuple[Any, ...]], tuple[Any, ...]]:
    rows: dict[tuple[str, tuple[Any, ...]], tuple[Any, ...]] = {}
    async with stores.engine.snapshot() as reader:  # type: ignore[attr-defined]
        for spec in ALL_TABLES:
            positions = [spec.columns.index(column) for column in spec.primary.columns]
            async for batch in reader.batches(spec, 1000):
                for row in batch:
                    rows[(spec.name, tuple(row[i] for i in positions))] = tuple(row)
    return rows


async def digests(stores: Stores) -> dict[str, tuple[int, str]]:
    return {name: (d.rows, d.hex) for name, d in (await table_digests(stores.engine)).items()}


async def seed(stores: Stores) -> None:
    admin = Admin(stores, Actor("fuzz"))
    await admin.create(f.tenant("acme", db_dsn=f"postgres://app:{DSN_PASSWORD}@db.internal/acme"))
    await admin.create(f.app("acme", "web"))
    await admin.create(f.user("acme", "u1"))
    await admin.create(f.user("acme", "u2", status="suspended"))
    await admin.grant("acme", "web", "u1")
    await seed_hostile(stores)


# ----- one sequence ---------------------------------------------------------------------------------

@dataclass
class Tally:
    sequences: int = 0
    steps: int = 0
    keys: int = 0
    texts: int = 0
    texts_unfocused: int = 0
    """Texts not sent: no field had the focus."""
    writes: int = 0
    seconds: float = 0.0
    setup_seconds: float = 0.0


def _field_focused(app: LokstraConsole) -> bool:
    return isinstance(app.focused, (Input, TextArea))


async def _step(app: LokstraConsole, pilot: Any, step: Step, tally: Tally) -> None:
    """One step, then wait until the console is idle (not after each key: a terminal sends a
    text's keys at once)."""
    kind, value = step
    if kind == "key":
        app.post_message(key_event(value))
        tally.keys += 1
    elif _field_focused(app):  # text where no field takes it would be keys: screen switches, a reveal
        tally.texts += 1
        if kind == "paste":
            app.post_message(events.Paste(value))
            tally.keys += 1
        else:
            keys = typed_keys(value)
            for key in keys:
                app.post_message(key)
            tally.keys += len(keys)
    else:
        tally.texts_unfocused += 1
    await pilot.pause()


def _secret_free(app: LokstraConsole, recorder: Recorder, where: str) -> None:
    if any(isinstance(screen, KeyShownOnce) for screen in app.screen_stack):
        return  # the one showing the operator asked for
    text = screen_text(app) + "\n".join(str(n.message) for n in app._notifications)
    for secret in (DSN_PASSWORD, HOSTILE.dsn_password, *recorder.secrets):
        assert secret not in text, f"a secret on the screen after {where}:\n{text}"


async def run_sequence(settings_: Settings, steps: list[Step], monkeypatch: pytest.MonkeyPatch,
                       tally: Tally) -> None:
    started = time.perf_counter()
    recorder = Recorder()
    if settings_.use_postgres:
        fresh = await open_stores(settings_)
        try:
            await truncate_all(fresh)
        finally:
            await fresh.close()
    app = LokstraConsole(settings_, config=ConsoleConfig())
    with monkeypatch.context() as patch:
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await until(pilot, lambda: app.stores is not None, "the stores opening")
            stores = app.stores
            assert stores is not None
            await seed(stores)
            before_rows, before_digests = await all_rows(stores), await digests(stores)
            recorder.install(patch)
            await pilot.press("r")
            await until(pilot, lambda: "acme" in screen_text(app), "the tenant list")
            tally.setup_seconds += time.perf_counter() - started
            for number, step in enumerate(steps):
                await _step(app, pilot, step, tally)
                assert app.is_running and app._exception is None, f"the console stopped at step {number}: {step!r}"
                _secret_free(app, recorder, f"step {number} {step!r}")
            await until(pilot, lambda: not any(w.is_running and w.group == "edit-write" for w in app.workers)
                        and not any(w.is_running and w.group == "edit-write" for s in app.screen_stack
                                    for w in s.workers), "the writes to end")
            assert app.is_running
            after_rows, after_digests = await all_rows(stores), await digests(stores)
    tally.sequences += 1
    tally.steps += len(steps)
    tally.writes += recorder.calls
    tally.seconds += time.perf_counter() - started
    if not recorder.rows:
        assert after_digests == before_digests, "the stores changed without any write accepted"
    changed = {key for key in before_rows.keys() | after_rows.keys() if before_rows.get(key) != after_rows.get(key)}
    unexplained = changed - recorder.rows.keys()
    assert not unexplained, f"rows changed that no accepted write names: {sorted(map(str, unexplained))}"
    for key, written in recorder.rows.items():
        if written is not None:
            assert after_rows.get(key) == written, f"{key} does not hold what its write returned"


@pytest.fixture(params=["memory", "postgres"])
def backend_settings(request: pytest.FixtureRequest) -> Settings:
    if request.param == "memory":
        return Settings(use_postgres=False, demo_data=False)
    return pg_settings(request.getfixturevalue("migrated_db"))


@pytest.fixture(autouse=True)
def _no_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("LOKSTRA_CONSOLE_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.chdir(tmp_path)  # ctrl+e writes its export here


def test_random_keys_and_text_never_crash_leak_or_write_unasked(backend_settings: Settings,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    examples = int(os.environ.get(FUZZ_ENV) or DEFAULT_TUI_FUZZ_EXAMPLES)
    tally = Tally()
    loop = asyncio.new_event_loop()

    @settings(max_examples=examples, deadline=None, database=None, print_blob=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(SEQUENCES)
    def run(steps: list[Step]) -> None:
        loop.run_until_complete(run_sequence(backend_settings, steps, monkeypatch, tally))

    try:
        run()
    finally:
        loop.close()
    backend = "postgres" if backend_settings.use_postgres else "memory"
    print(f"TUI fuzz on {backend}: {tally.sequences} sequences, {tally.steps} steps, {tally.keys} keys, "
          f"{tally.texts} texts into fields ({tally.texts_unfocused} with no field focused), {tally.writes} accepted writes, {tally.seconds:.1f} s ({tally.setup_seconds:.1f} s starting)")
