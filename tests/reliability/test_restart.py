"""Guarantee 2, server restart: the console stays up while its PostgreSQL restarts, the header
goes to down and back to ok, and a write made while the server is down fails with a clear
message and is never applied later.

The restart happens on a cluster of this module's own (tests/support/pgcluster.py), never on
the session's cluster that other tests use.
"""
from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from textual.widgets import Input

from console.app import LokstraConsole
from console.config import ConsoleConfig
from console.edit import EntityForm
from console.widgets.header import ConsoleHeader
from migrations import MigrationRunner
from stores.errors import BackendUnavailable
from tests.support.databases import pg_settings
from tests.reliability.conftest import assert_plain, direct_fetch, with_password
from tests.support.factories import tenant, user
from tests.support.pgcluster import Cluster, ClusterUnavailable, create_cluster
from tests.support.server import PgServer, run_sync
from tests.support.tui import screen_text, until

pytestmark = pytest.mark.postgres

SIZE = (80, 24)


@pytest.fixture(scope="module")
def own_cluster() -> Iterator[Cluster]:
    try:
        cluster = create_cluster(preload="")
    except ClusterUnavailable as exc:
        pytest.skip(f"a cluster of its own is needed to restart it: {exc}")
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def restart_db(own_cluster: Cluster) -> Iterator[str]:
    server = PgServer(admin_dsn=own_cluster.dsn("postgres"), cluster=own_cluster)
    dsn = server.create_database("restart")
    run_sync(lambda: MigrationRunner.from_dsn(dsn).up())
    yield dsn
    server.close()


def header(app: LokstraConsole) -> str:
    return str(app.screen.query_one(ConsoleHeader).render())


async def test_the_console_survives_a_restart_and_a_write_while_down_is_never_applied(
        own_cluster: Cluster, restart_db: str) -> None:
    dsn = with_password(restart_db)
    config = ConsoleConfig(health_interval=0.5)
    app = LokstraConsole(pg_settings(dsn, pool_max_size=3, connect_timeout=2, command_timeout=5), config=config)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.stores is not None and "● ok" in header(app), "the header to say ok")
        assert "POSTGRES" in header(app)
        await app.stores.tenants.create(tenant("acme"))

        await asyncio.to_thread(own_cluster.stop, "fast")
        await until(pilot, lambda: "● down" in header(app), "the header to say down", timeout=20)
        assert app.is_running

        with pytest.raises(BackendUnavailable) as down:
            await app.stores.users.create(user("acme", "while-down"))
        assert down.value.cause in {"refused", "server_shutdown", "connection_lost", "starting"}, repr(down.value)
        assert_plain(str(down.value))
        assert "Traceback" not in (app.problem or "") and "Rel1ab" not in (app.problem or "")

        # The same through the screen: the form says so and stays open with what was typed.
        form = EntityForm("user", parent={"tenant_id": "acme"})
        app.push_screen(form)
        await pilot.pause()
        form.query_one("#f-id", Input).value = "form-down"
        form.query_one("#f-username", Input).value = "formdown"
        form.query_one("#f-email", Input).value = "form.down@example.com"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "Not saved: Connection refused" in screen_text(app),
                    "the form to say nothing was saved and why", timeout=20)
        assert app.screen is form and form.query_one("#f-username", Input).value == "formdown"
        assert "Traceback" not in screen_text(app) and "Rel1ab" not in screen_text(app)
        await pilot.press("escape")  # the form holds typed values: it asks before discarding them
        await until(pilot, lambda: app.screen is not form, "the question whether to discard the form")
        await pilot.press("y")
        await until(pilot, lambda: form not in app.screen_stack, "the form to close")

        await asyncio.to_thread(own_cluster.start)
        await until(pilot, lambda: "● ok" in header(app), "the header to say ok again", timeout=40)
        assert app.is_running
        await app.stores.users.create(user("acme", "after"))  # the first write after the restart works
        rtt = app.rtt
        await until(pilot, lambda: app.rtt != rtt, "another health check")  # time passes with the server up
        rows = await direct_fetch(restart_db, "SELECT id FROM lokstra_auth.users ORDER BY id")
        assert [row["id"] for row in rows] == ["after"], "a write made while down was applied later"
        await pilot.press("ctrl+q")
    assert not app.is_running
