"""Drive the console at 80x24 on both backends and read what the screen shows."""
from __future__ import annotations

import pytest
from textual.widgets import DataTable, Static

from console.app import LokstraConsole
from stores import Settings, open_stores
from stores.demo import DemoSpec, copy_to_postgres
from stores.postgres.engine import init_connection
from tests.conftest import pg_settings, truncate_all

SIZE = (80, 24)


async def _wait_for_rows(pilot, app: LokstraConsole) -> DataTable:
    table = app.query_one("#tenants", DataTable)
    for _ in range(100):
        await pilot.pause(0.05)
        if table.row_count or app.query_one("#problem", Static).display:
            break
    return table


async def test_starts_on_memory_demo_data() -> None:
    app = LokstraConsole(Settings())
    async with app.run_test(size=SIZE) as pilot:
        table = await _wait_for_rows(pilot, app)
        assert str(app.query_one("#status", Static).render()).startswith("MEMORY")
        assert [str(table.get_row_at(i)[0]) for i in range(table.row_count)] == ["acme-corp", "globex", "initech"]
        assert table.get_row_at(0)[4] == "400"
        assert app.sub_title == "3 of 3 tenants"
        assert app.animation_level == "none"
        await pilot.press("q")
    assert not app.is_running


async def test_shows_postgres_data_and_never_the_dsn_password(migrated_db: str) -> None:
    import asyncpg

    stores = await open_stores(pg_settings(migrated_db))
    await truncate_all(stores)
    await stores.close()
    conn = await asyncpg.connect(migrated_db)
    await init_connection(conn)
    await copy_to_postgres(conn, DemoSpec(users=50))
    await conn.close()

    app = LokstraConsole(pg_settings(migrated_db))
    async with app.run_test(size=SIZE) as pilot:
        table = await _wait_for_rows(pilot, app)
        status = str(app.query_one("#status", Static).render())
        assert status.startswith("POSTGRES postgres@127.0.0.1")
        assert table.row_count == 3 and table.get_row_at(0)[4] == "50"
        assert "acme-corp" in app.export_screenshot()
        assert "demo-acme-corp-pw" not in app.export_screenshot(), "tenant DSN passwords stay off screen"


async def test_a_refused_backend_shows_the_diagnosis_not_a_traceback() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = LokstraConsole(Settings(use_postgres=True, db_host="127.0.0.1", db_port=port, db_user="x", db_password="pw-xyz"))
    async with app.run_test(size=SIZE) as pilot:
        await _wait_for_rows(pilot, app)
        problem = app.query_one("#problem", Static)
        assert problem.display
        text = str(problem.render())
        assert "Connection refused" in text and "Traceback" not in text and "pw-xyz" not in text
