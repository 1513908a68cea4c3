"""``status``, ``check``, ``copy``, ``drill`` and the console itself through PgBouncer in
transaction mode, with the default settings (statement cache 100): each works, says that a
pooler is in front, and leaves the data as a direct connection would."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from console.app import LokstraConsole
from console.config import ConsoleConfig
from stores import Settings, open_stores
from stores.transfer.copy import table_digests
from tests.browse.conftest import started, table
from tests.support.databases import pg_settings, truncate_all
from tests.pooler.helpers import assert_transactions_move, cli_json, db_name
from tests.support.factories import seed_basic
from tests.support.pgbouncer import PgBouncer
from tests.support.tui import screen_text, until

pytestmark = pytest.mark.postgres


@pytest.fixture
def pooled(migrated_db: str, pgbouncer: PgBouncer) -> str:
    """The module's migrated database, emptied, through PgBouncer in transaction mode."""
    async def empty() -> None:
        stores = await open_stores(pg_settings(migrated_db))
        try:
            await truncate_all(stores)
        finally:
            await stores.close()

    asyncio.run(empty())
    asyncio.run(pgbouncer.spread(db_name(migrated_db)))
    dsn = pgbouncer.via(migrated_db)
    assert_transactions_move(dsn)
    return dsn


async def digests(dsn: str) -> dict[str, tuple[int, str]]:
    """Every table's rows and digest, read over a direct connection."""
    stores = await open_stores(pg_settings(dsn))
    try:
        return {name: (d.rows, d.hex) for name, d in (await table_digests(stores.engine)).items()}
    finally:
        await stores.close()


async def demo_digests() -> dict[str, tuple[int, str]]:
    stores = await open_stores(Settings(use_postgres=False))
    return {name: (d.rows, d.hex) for name, d in (await table_digests(stores.engine)).items()}


def test_status_and_check_say_a_pooler_is_in_front(pooled: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = cli_json(capsys, "status", "--dsn", pooled)
    assert code == 0 and document["pooler"] is True, document
    code, document = cli_json(capsys, "check", "--dsn", pooled)
    pool = next(item for item in document["checks"] if item["name"] == "pool settings")
    assert pool["state"] == "ok" and "pooler" in pool["detail"] and "statement cache off" in pool["detail"], pool


def test_status_on_a_direct_connection_names_no_pooler(migrated_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = cli_json(capsys, "status", "--dsn", migrated_db)
    assert code == 0 and document["pooler"] is False


def test_copy_in_out_and_back_with_replace_through_transaction_mode(
        pooled: str, migrated_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    demo = asyncio.run(demo_digests())
    snapshot = tmp_path / "through-the-pooler.snapshot"
    for source, target, extra in [("memory", "postgres", []), ("postgres", str(snapshot), []),
                                  (str(snapshot), "postgres", ["--replace"])]:
        code, document = cli_json(capsys, "copy", "--from", source, "--to", target, "--dsn", pooled, *extra)
        assert code == 0, (source, target, document)
        assert {t["table"]: (t["rows"], t["digest"]) for t in document["copy"]["tables"]} == demo
    assert asyncio.run(digests(migrated_db)) == demo


def test_the_drill_runs_through_transaction_mode(pooled: str, migrated_db: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_json(capsys, "copy", "--from", "memory", "--to", "postgres", "--dsn", pooled)[0] == 0
    before = asyncio.run(digests(migrated_db))
    code, document = cli_json(capsys, "drill", "--dsn", pooled, "--environment", "staging")
    assert code == 0, document
    assert asyncio.run(digests(migrated_db)) == before, "the drill removed its workload and left the data as it was"


async def test_the_console_opens_browses_and_writes_audited_through_transaction_mode(
        pooled: str, migrated_db: str) -> None:
    direct = await open_stores(pg_settings(migrated_db))
    try:
        await seed_basic(direct, "acme")
    finally:
        await direct.close()
    app = LokstraConsole(Settings(use_postgres=True, database_url=pooled), config=ConsoleConfig())
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        assert "acme" in screen_text(app) and table(app).row_count == 1
        await pilot.press("s")
        await until(pilot, lambda: "Suspend tenant acme?" in screen_text(app), "the question")
        await pilot.press("y")
        await until(pilot, lambda: "suspended" in screen_text(app), "the suspended tenant in the list")
        assert "via pooler" in screen_text(app).splitlines()[0], "the header says a pooler is in front"
    check = await open_stores(pg_settings(migrated_db))
    try:
        assert (await check.tenants.get("acme")).status == "suspended"
        changes = (await check.audit.page("acme", filter={"action": "status"})).rows
        assert [(e.before["status"], e.after["status"]) for e in changes] == [("active", "suspended")]
    finally:
        await check.close()


def test_read_only_through_pgbouncer_is_refused_with_what_to_do_instead(
        pooled: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--read-only is a session setting sent at start-up, which a stock PgBouncer refuses
    ("unsupported startup parameter"); ignoring it there would make the console writable."""
    code, document = cli_json(capsys, "--read-only", "status", "--dsn", pooled)
    assert code == 3, document
    assert document["error"]["cause"] == "pooler_read_only"
    assert "directly" in document["error"]["fix"] and "SELECT" in document["error"]["fix"]
