"""Which of lokstra-auth's layouts a database holds, and what the console does on each.

The current layout's facts come from primadi/lokstra-auth
``cmd/lokstra-auth/migrations/lokstra_auth/001_auth.up.sql``: ``branches`` has no ``code``
(its CREATE TABLE, "Branches Table"), ``users`` gains ``password_hash`` and the lockout
columns ("Users Table"), and thirteen more tables follow (RBAC, policies, identities,
credential providers, ownership history, ``audit_logs``, ``sessions``, ``refresh_tokens``).
"""
from __future__ import annotations

import asyncio
import io
from pathlib import Path

import asyncpg
import pytest

from console.cli import main
from stores import open_stores
from stores.demo import DemoSpec, write_demo
from stores.errors import LayoutUnsupported, StillReferenced
from stores.layouts import CORE, CORE_COLUMNS, CURRENT, recognise
from stores.postgres import facts
from stores.tables import BRANCHES, USERS
from stores.transfer.copy import table_digests
from tests.support.databases import pg_settings
from tests.support.current_layout import create_current_layout
from tests.support.environment import isolate_settings

pytestmark = pytest.mark.postgres


# ----- recognition (no server) ------------------------------------------------------------

def test_the_two_layouts_are_recognised_and_told_apart() -> None:
    core = recognise(CORE.tables)
    assert (core.name, core.supported, core.missing, core.unusable) == ("core", True, (), ())
    current = recognise(CURRENT.tables)
    assert current.name == "current" and not current.supported
    assert dict(current.unusable) == {"branches": "lokstra-auth's current layout has no branches.code, "
                                                  "which the console reads and writes"}
    assert len(CURRENT.tables) == 19 and "administers the core layout only" in current.headline


def test_runner_tables_and_nothing_at_all() -> None:
    assert recognise({}).name == "empty"
    assert recognise({"schema_migrations": {"version", "description"}}).name == "empty"
    with_runner = {**CORE.tables, "schema_migrations": frozenset({"version"})}
    assert recognise(with_runner).name == "core" and recognise(with_runner).extra == ()


def test_a_deployments_own_column_is_listed_not_a_reason_to_refuse() -> None:
    found = {**CORE.tables, "users": CORE.tables["users"] | {"nickname"}}
    report = recognise(found)
    assert report.name == "core" and report.supported and report.extra == ("column users.nickname",)
    assert "1 extra" in report.headline


def test_a_schema_of_neither_layout_names_the_nearest_and_every_difference() -> None:
    found = {name: columns for name, columns in CORE.tables.items() if name != "app_keys"}
    found["users"] = found["users"] - {"full_name"}
    report = recognise(found)
    assert report.name == "unknown" and report.nearest == "core" and not report.supported
    assert set(report.missing) == {"table app_keys", "column users.full_name"}
    assert report.headline.startswith("unknown: nearest is core, 2 difference(s)")
    assert ("users", "this schema has no users.full_name, which the console reads and writes") in report.unusable


# ----- on a server -------------------------------------------------------------------------

@pytest.fixture
def current_db(fresh_db: str) -> str:
    """A database in the current layout, with a few rows as upstream's Go writes them."""
    asyncio.run(create_current_layout(fresh_db))
    return fresh_db


async def _count(dsn: str, table: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(f"SELECT count(*) FROM lokstra_auth.{table}")
    finally:
        await conn.close()


async def test_the_server_side_reading_agrees_with_both_descriptions(migrated_db: str, current_db: str) -> None:
    for dsn, expected in ((migrated_db, "core"), (current_db, "current")):
        conn = await asyncpg.connect(dsn)
        try:
            found = await facts.table_columns(conn, "lokstra_auth")
            assert (await facts.layout(conn, "lokstra_auth")).name == expected
        finally:
            await conn.close()
        described = CORE_COLUMNS if expected == "core" else CURRENT.tables
        assert {name: found[name] for name in described} == dict(described)


async def test_on_the_current_layout_the_shared_tables_work_and_branches_refuse_plainly(current_db: str) -> None:
    stores = await open_stores(pg_settings(current_db))
    try:
        assert stores.engine.layout.name == "current"
        page = await stores.users.page("acme")
        assert [user.username for user in page.rows] == ["alice"]
        with pytest.raises(LayoutUnsupported, match="branches is not available on this database: .*branches.code"):
            await stores.engine.estimate(BRANCHES, (), ())
        assert (await stores.engine.estimate(USERS, (), ())).value == 1
    finally:
        await stores.close()


async def test_a_delete_that_upstreams_restrict_key_refuses_says_why(current_db: str) -> None:
    """``tenant_ownership_history`` references users ON DELETE RESTRICT (upstream's "Tenant
    Ownership and History"): the message names that table, not a missing parent."""
    conn = await asyncpg.connect(current_db)
    try:
        await conn.execute("INSERT INTO lokstra_auth.users (id, tenant_id, username, email) VALUES ('u2', 'acme', 'bob', 'b@x')")
        await conn.execute("INSERT INTO lokstra_auth.tenant_ownership_history VALUES ('h1', 'acme', 'u1', 'u2', 'u1', 'acme', "
                           "'handover', now())")
    finally:
        await conn.close()
    stores = await open_stores(pg_settings(current_db))
    try:
        with pytest.raises(StillReferenced, match="cannot delete user acme/u1: rows in tenant_ownership_history still refer"):
            await stores.users.delete("acme", "u1")
    finally:
        await stores.close()
    assert await _count(current_db, "users") == 2


async def test_whole_database_operations_refuse_before_writing_anything(current_db: str) -> None:
    """A replace would have to truncate into roles and sessions: copy, load and demo refuse."""
    stores = await open_stores(pg_settings(current_db))
    try:
        with pytest.raises(LayoutUnsupported, match="copying this database"):
            await table_digests(stores.engine)
        with pytest.raises(LayoutUnsupported, match="loading into this database.*current layout"):
            async with stores.engine.loader(replace=True):
                pass
    finally:
        await stores.close()
    conn = await asyncpg.connect(current_db)
    try:
        await conn.execute("SET search_path TO lokstra_auth")
        with pytest.raises(LayoutUnsupported, match="writing demo data"):
            await write_demo(conn, DemoSpec(users=10), replace=True)
    finally:
        await conn.close()
    assert [await _count(current_db, table) for table in ("users", "roles", "user_roles", "sessions")] == [1, 1, 1, 1]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    isolate_settings(monkeypatch, tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))

    def run(*argv: str) -> tuple[int, str]:
        code = main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out + captured.err
    return run


def test_status_check_and_migrate_status_name_the_layout(current_db: str, migrated_db: str, cli) -> None:
    code, out = cli("status", "--dsn", current_db)
    assert "layout:   lokstra-auth's current layout (19 tables): this console version administers" in out
    assert "branches" in out and "n/a" in out and code != 0
    code, out = cli("check", "--dsn", current_db)
    assert code == 1 and "FAIL     layout" in out and "cannot use branches" in out
    code, out = cli("migrate", "status", "--dsn", current_db)
    assert "layout:   lokstra-auth's current layout (19 tables)" in out and "`migrate adopt` compares" in out
    code, out = cli("status", "--dsn", migrated_db)
    assert code == 0 and "layout:   lokstra-auth's core layout (6 tables)" in out
    code, out = cli("copy", "--from", "postgres", "--dsn", current_db, "--to", "memory")
    assert code != 0 and "not available on this database" in out and "Traceback" not in out


async def test_the_console_on_the_current_layout_says_what_it_lacks(current_db: str, monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path) -> None:
    """At 80x24: the header names the layout, the users list works, branches say why they cannot."""
    from console.app import LokstraConsole
    from console.config import ConsoleConfig
    from tests.browse.conftest import crumbs, first_cells, started, type_prompt
    from tests.support.tui import screen_text, until

    isolate_settings(monkeypatch, tmp_path)
    app = LokstraConsole(pg_settings(current_db), config=ConsoleConfig())
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        assert first_cells(app) == ["acme"]
        await until(pilot, lambda: "[current layout: limited]" in screen_text(app).splitlines()[0], "the layout in the header")
        await pilot.press("colon")
        await type_prompt(pilot, "users acme")
        await until(pilot, lambda: crumbs(app).endswith("users") and first_cells(app) == ["alice"], "the users")
        await pilot.press("colon")
        await type_prompt(pilot, "app acme/web")  # an app opens on its branches
        await until(pilot, lambda: "not available on this database" in screen_text(app)
                    or "not available on this database" in " ".join(str(n.message) for n in app._notifications),
                    "the reason branches cannot be listed")
        assert app.is_running
