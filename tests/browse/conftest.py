"""The browser's TUI tests run on both backends over the same 100,000-user demo data,
built once per module: a memory engine filled by ``load_into_memory``, a PostgreSQL
database filled by COPY (``write_demo``, as ``lokstra-console demo`` does)."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import asyncpg
import pytest

from console.app import LokstraConsole
from console.config import ConsoleConfig
from console.screens.browse import BrowseScreen
from console.screens.browse.table import BrowseTable
from console.widgets.crumbs import Crumbs
from stores import Settings, Stores
from stores.demo import DemoSpec, load_into_memory, write_demo
from stores.memory.engine import MemoryEngine
from stores.postgres.engine import init_connection
from stores.transfer.switch import switchable_stores
from tests.support.databases import pg_settings
from tests.support.server import run_sync
from tests.support.tui import until

BIG = 100_000
SIZE = (80, 24)


@dataclass
class Backend:
    name: str
    memory: MemoryEngine | None = None
    dsn: str | None = None

    def app(self, *, read_only: bool = False) -> LokstraConsole:
        if self.memory is not None:
            return MemoryConsole(self.memory, read_only=read_only)
        assert self.dsn is not None
        return LokstraConsole(pg_settings(self.dsn), config=ConsoleConfig(), read_only=read_only)


class MemoryConsole(LokstraConsole):
    """The console over a memory engine the test filled (the demo loader makes only 400 users)."""

    def __init__(self, engine: MemoryEngine, *, read_only: bool = False) -> None:
        super().__init__(Settings(use_postgres=False, demo_data=False), config=ConsoleConfig(), read_only=read_only)
        self.engine = engine

    async def _open(self) -> Stores:
        return switchable_stores(Stores(self.engine))


async def _fill_postgres(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await init_connection(conn)
        await write_demo(conn, DemoSpec(users=BIG), replace=True)
    finally:
        await conn.close()


@pytest.fixture(scope="module", params=["memory", "postgres"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "memory":
        engine = MemoryEngine()
        load_into_memory(engine, DemoSpec(users=BIG))
        yield Backend("memory", memory=engine)
        return
    dsn = request.getfixturevalue("migrated_db")
    run_sync(lambda: _fill_postgres(dsn))
    yield Backend("postgres", dsn=dsn)


@pytest.fixture(autouse=True)
def _no_config(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # noqa: ANN001 - pytest's tmp_path
    monkeypatch.setenv("LOKSTRA_CONSOLE_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.chdir(tmp_path)


def browse(app: LokstraConsole) -> BrowseScreen:
    screen = app.screen
    assert isinstance(screen, BrowseScreen), f"the screen is {type(screen).__name__}"
    return screen


def crumbs(app: LokstraConsole) -> str:
    return browse(app).query_one(Crumbs).text


def title(app: LokstraConsole) -> str:
    return browse(app).query_one(Crumbs).right


def table(app: LokstraConsole) -> BrowseTable:
    return browse(app).query_one("#list", BrowseTable)


def first_cells(app: LokstraConsole) -> list[str]:
    t = table(app)
    return [str(t.get_row_at(i)[0]) for i in range(t.row_count)]


def cursor_id(app: LokstraConsole) -> str | None:
    """The id of the row under the cursor."""
    row = browse(app).current_row()
    return getattr(row, "id", None)


async def started(pilot, app: LokstraConsole) -> None:  # noqa: ANN001 - textual's Pilot
    await until(pilot, lambda: app.stores is not None and isinstance(app.screen, BrowseScreen)
                and table(app).row_count > 0 and browse(app).page_kind == "tenants", "the tenant list")


async def settled(pilot, app: LokstraConsole, crumb: str, what: str = "") -> None:  # noqa: ANN001
    """Wait until the browser stands at ``crumb`` with its page on screen."""
    await until(pilot, lambda: crumbs(app) == crumb and browse(app).page_kind == browse(app).frame.tab
                and browse(app).painted_generation == browse(app).generation, what or crumb)


async def type_prompt(pilot, text: str) -> None:  # noqa: ANN001
    """Fill the open / or : prompt and press Enter (typing key by key costs ~0.1 s a key;
    the first characters are typed, so the keys still reach the prompt and not the list)."""
    from textual.widgets import Input

    prompt = browse(pilot.app).query_one("#prompt", Input)
    assert prompt.has_focus, "the prompt is open and focused"
    await pilot.press(*text[:2])
    assert prompt.value.endswith(text[:2])
    prompt.value = prompt.value[: len(prompt.value) - 2] + text
    await pilot.press("enter")
