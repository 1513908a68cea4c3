"""Fixtures of the edit dialogs' tests: the console at 80x24 on memory and on PostgreSQL,
with a small seeded tenant (tests/support/factories.py ``seed_basic``)."""
from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.screen import Screen

from console.app import LokstraConsole
from console.config import ConsoleConfig
from console.screens.base import ConsoleScreen
from stores import Settings
from tests.support.factories import seed_basic
from tests.support.tui import until

SIZE = (80, 24)

Run = Callable[..., Any]


class Underneath(ConsoleScreen):
    """An empty screen under the dialogs: they are tested on their own here (the browser,
    which pushes them, has its own tests), so a browser in progress cannot disturb these."""

    def compose(self):  # noqa: ANN201
        yield self.compose_header()
        yield self.compose_footer()


class EditConsole(LokstraConsole):
    MODES = {**LokstraConsole.MODES, "browse": Underneath}


@pytest.fixture(autouse=True)
def _quiet_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No user config file and no DB_* of the machine."""
    monkeypatch.setenv("LOKSTRA_CONSOLE_CONFIG", str(tmp_path / "no-config.toml"))
    for name in ("USE_POSTGRES", "DATABASE_URL", "DB_HOST", "DB_PORT", "DB_USER", "DB_PASSWORD", "DB_NAME",
                 "PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "LOKSTRA_READ_ONLY",
                 "LOKSTRA_CONSOLE_ALLOW_HARD_DELETE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def backend(empty_settings: Settings) -> Settings:
    """Settings of an empty backend: memory, or the module's PostgreSQL database truncated."""
    return empty_settings


@pytest.fixture
def console(backend: Settings) -> Run:
    """``async with console(**config) as (app, pilot)``: the console open on ``backend``
    with ``seed_basic`` loaded (tenant acme, app web, branch hq, users u1 u2, a grant, a key)."""

    @asynccontextmanager
    async def run(**config: Any) -> AsyncIterator[tuple[LokstraConsole, Pilot]]:
        app = EditConsole(backend, config=ConsoleConfig(**config))
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.stores is not None, "the stores opening")
            assert app.stores is not None
            await seed_basic(app.stores)
            yield app, pilot

    return run


class Results(list):
    """What pushed dialogs were dismissed with, in order."""

    def push(self, app: LokstraConsole, screen: Screen) -> Screen:
        app.push_screen(screen, self.append)
        return screen
