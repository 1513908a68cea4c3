"""Guarantee 7, least privilege: a role that may only read and write the six lokstra_auth
tables (USAGE on the schema, SELECT/INSERT/UPDATE/DELETE on the tables; no superuser, no
CREATE) runs every store operation; what needs more (migrations, the audit trail, a copy
that truncates) says what is missing instead of failing with a traceback; and read-only
mode works with a role that may only SELECT."""
from __future__ import annotations

import pytest
from textual.widgets import Static

from console.app import LokstraConsole
from console.config import ConsoleConfig
from console.screens.migrations import MigrationsScreen
from migrations import MigrationRunner
from stores import open_stores
from stores.demo import DemoSpec, load_into_memory
from stores.errors import BackendUnavailable, Conflict, ReadOnly, StoreError
from stores.memory.engine import MemoryEngine
from stores.postgres.diagnose import diagnose
from stores.postgres.probe import probe
from stores.transfer.copy import CopyFailed, copy_tables, table_digests
from tests.support.databases import pg_settings, truncate_all
from tests.reliability.conftest import assert_plain
from tests.support.factories import seed_basic, tenant, user
from tests.support.tui import screen_text, until

pytestmark = pytest.mark.postgres


@pytest.fixture
async def emptied(migrated_db: str, limited_roles: dict[str, str]) -> dict[str, str]:
    admin = await open_stores(pg_settings(migrated_db))
    try:
        await truncate_all(admin)
    finally:
        await admin.close()
    return limited_roles


async def test_the_stores_work_for_a_role_that_may_only_use_the_six_tables(emptied: dict[str, str]) -> None:
    stores = await open_stores(pg_settings(emptied["rw"]))
    try:
        await seed_basic(stores, "acme")
        assert [u.id for u in (await stores.users.page("acme", limit=1)).rows] == ["u1"]
        assert await stores.users.count("acme") == 2
        assert (await stores.users.estimate_count("acme")).value == 2  # EXPLAIN needs only SELECT
        opened = await stores.users.get("acme", "u2")
        saved = await stores.users.update(opened.model_copy(update={"full_name": "Two"}),
                                          expected_updated_at=opened.updated_at)
        with pytest.raises(Conflict):
            await stores.users.update(opened, expected_updated_at=opened.updated_at)
        assert saved.full_name == "Two"
        await stores.users.set_status("acme", "u2", "deleted")
        await stores.user_apps.grant_access("acme", "web", "u2")
        await stores.user_apps.revoke_access("acme", "web", "u1")
        await stores.app_keys.revoke("acme-k1")
        assert [u.id for u in await stores.users.list_by_app("acme", "web")] == ["u2"]
        digests = await table_digests(stores.engine)  # the snapshot export and digests need nothing more
        assert digests["users"].rows == 2
        await stores.tenants.delete("acme")  # the cascade runs with the table owner's foreign keys
        assert await stores.tenants.count() == 0 and await stores.users.count("acme") == 0
    finally:
        await stores.close()


async def test_a_copy_into_the_limited_role_works_and_replacing_says_what_is_missing(emptied: dict[str, str]) -> None:
    source = MemoryEngine()
    load_into_memory(source, DemoSpec(users=60))
    stores = await open_stores(pg_settings(emptied["rw"]))
    try:
        report = await copy_tables(source, stores.engine)  # not the owner: the keys are checked row by row
        users = (await table_digests(source))["users"].rows
        assert report.rows > users > 0
        with pytest.raises(CopyFailed) as refused:  # TRUNCATE is a privilege of its own
            await copy_tables(source, stores.engine, replace=True)
        message = str(refused.value)
        assert_plain(message)
        assert "permission denied for table" in message and "unchanged" in message, message
        assert (await table_digests(stores.engine))["users"].rows == users
    finally:
        await stores.close()


async def test_migrations_and_the_probe_say_what_the_limited_role_lacks(emptied: dict[str, str]) -> None:
    with pytest.raises(Exception) as denied:
        await MigrationRunner.from_dsn(emptied["rw"]).status()
    found = diagnose(denied.value, "the target")
    assert found is not None and found.cause == "insufficient_privilege", repr(denied.value)
    assert "permission denied for schema lokstra_console" in found.reason and "owner" in found.fix
    assert_plain(str(found))

    stores = await open_stores(pg_settings(emptied["rw"]))
    try:
        result = await probe(stores.engine.target)
    finally:
        await stores.close()
    assert result.ok and result.superuser is False and result.schema_exists
    unknown = [f for f in result.findings if f.cause == "migration_unknown"]
    assert unknown and "permission denied for schema lokstra_console" in unknown[0].reason, result.findings
    assert "Traceback" not in unknown[0].reason


async def test_the_migrations_screen_says_what_the_limited_role_lacks(emptied: dict[str, str]) -> None:
    app = LokstraConsole(pg_settings(emptied["rw"]), config=ConsoleConfig())
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.stores is not None, "the stores to open")
        app.switch_mode("migrations")
        await until(pilot, lambda: isinstance(app.screen, MigrationsScreen)
                    and "lokstra_console" in screen_text(app), "the screen to name what is missing")
        text = " ".join(screen_text(app).split())  # the message wraps at 80 columns
        assert "permission denied for schema lokstra_console" in text, text
        assert "Traceback" not in text
        assert app.is_running
        shown = " ".join(str(s.render()) for s in app.screen.query(Static))
        assert "may not do this" in shown or "Grant" in shown, shown


async def test_audited_writes_name_the_audit_table_the_limited_role_may_not_write(emptied: dict[str, str]) -> None:
    """The console records each of its writes in lokstra_console.audit_log (stores/admin.py):
    a role limited to the six tables gets a refusal that names it, and nothing is half-done."""
    from stores.admin import Admin

    stores = await open_stores(pg_settings(emptied["rw"]))
    try:
        with pytest.raises(StoreError) as refused:
            await Admin(stores).create(tenant("audited"))
        assert "lokstra_console" in str(refused.value) or "audit" in str(refused.value), str(refused.value)
        assert_plain(str(refused.value))
        assert not await stores.tenants.exists("audited"), "the change went in without its audit record"
    finally:
        await stores.close()


async def test_read_only_mode_works_with_a_role_that_may_only_read(emptied: dict[str, str], migrated_db: str) -> None:
    admin = await open_stores(pg_settings(migrated_db))
    try:
        await seed_basic(admin, "acme")
    finally:
        await admin.close()
    stores = await open_stores(pg_settings(emptied["ro"], read_only=True))
    try:
        assert [t.id for t in await stores.tenants.list()] == ["acme"]
        assert (await stores.users.page("acme")).rows[0].id == "u1"
        assert (await table_digests(stores.engine))["users"].rows == 2
        with pytest.raises(ReadOnly) as refused:
            await stores.users.create(user("acme", "u3"))
        assert "read-only" in str(refused.value)
    finally:
        await stores.close()
    # Without --read-only the role itself refuses, and the message says which privilege is missing.
    writable = await open_stores(pg_settings(emptied["ro"]))
    try:
        with pytest.raises(StoreError) as denied:
            await writable.users.create(user("acme", "u3"))
        assert isinstance(denied.value, (ReadOnly, BackendUnavailable)), repr(denied.value)
        assert "permission denied for table users" in str(denied.value)
        assert_plain(str(denied.value))
    finally:
        await writable.close()


async def test_the_console_runs_read_only_on_the_read_only_role(emptied: dict[str, str]) -> None:
    app = LokstraConsole(pg_settings(emptied["ro"]), config=ConsoleConfig(), read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.stores is not None and "● ok" in screen_text(app), "the header to say ok")
        assert "READ-ONLY" in screen_text(app)
        with pytest.raises(ReadOnly):
            await app.stores.tenants.create(tenant("ro"))
        assert app.is_running
