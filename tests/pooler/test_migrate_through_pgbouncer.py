"""``migrate`` through PgBouncer with the console's default settings (statement cache 100).

Without pooler detection, ``migrate up`` through PgBouncer in transaction mode failed with
asyncpg's prepared-statement note ("prepared statement __asyncpg_stmt_N__ does not exist"),
and the runner's session advisory lock stayed on whichever server session took it (its
unlock ran on another one), held for the next client of that session.
"""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import asyncpg
import pytest

from migrations import MigrationRunner, Overall, pooler
from stores.postgres.diagnose import diagnose
from tests.pooler.helpers import assert_transactions_move, cli_json, db_name, migration_locks_held
from tests.support.migrations_helpers import console_rows, copy_migrations, history_rows, write_migration
from tests.support.pgbouncer import PgBouncer

pytestmark = pytest.mark.postgres

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def pooled(fresh_db: str, pgbouncer: PgBouncer) -> str:
    """``fresh_db`` through PgBouncer in transaction mode, with server sessions to move between."""
    asyncio.run(pgbouncer.spread(db_name(fresh_db)))
    dsn = pgbouncer.via(fresh_db)
    assert_transactions_move(dsn)
    return dsn


def test_the_pooler_is_detected_through_pgbouncer_and_not_on_a_direct_connection(
        fresh_db: str, pooled: str, pgbouncer_session_mode: PgBouncer) -> None:
    async def found(dsn: str) -> pooler.Pooler | None:
        conn = await asyncpg.connect(dsn, statement_cache_size=0)
        try:
            return await pooler.detect(conn)
        finally:
            await conn.close()

    assert asyncio.run(found(fresh_db)) is None
    through_transaction_mode = asyncio.run(found(pooled))
    assert through_transaction_mode is not None and through_transaction_mode.announced_pid != through_transaction_mode.server_pid
    assert asyncio.run(found(pgbouncer_session_mode.via(fresh_db))) is not None


def test_detecting_leaves_no_prepared_statement_on_a_pooled_server_session(fresh_db: str, pgbouncer: PgBouncer) -> None:
    """A new database has one server session in PgBouncer's pool, serving each client in turn.
    A named statement left there by the detection would collide with the next process's own
    (asyncpg numbers them from 1 in every process): "prepared statement __asyncpg_stmt_1__
    already exists" on the next ``status``."""
    async def left_on_the_server_session() -> list[str]:
        conn = await pooler.connect(pgbouncer.via(fresh_db))  # statement cache on, as by default
        await conn.close()
        reader = await asyncpg.connect(pgbouncer.via(fresh_db), statement_cache_size=0)
        try:
            assert await reader.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = $1",
                                         db_name(fresh_db)) == 1, "one server session, the one the first client used"
            return [row["name"] for row in await reader.fetch("SELECT name FROM pg_prepared_statements")]
        finally:
            await reader.close()

    assert asyncio.run(left_on_the_server_session()) == []


def test_migrate_up_and_status_through_transaction_mode_with_the_default_settings(
        fresh_db: str, pooled: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = cli_json(capsys, "migrate", "up", "--dsn", pooled)
    assert code == 0, document
    assert document["result"]["outcome"] == "done"
    code, document = cli_json(capsys, "migrate", "status", "--dsn", pooled)
    assert (code, document["status"]["overall"]) == (0, "current"), document
    assert asyncio.run(migration_locks_held(fresh_db)) == [], "no server session kept the migration lock"
    versions = [version for version, _ in asyncio.run(console_rows(fresh_db))]
    assert versions and versions == sorted(set(versions))


def test_migrate_up_through_the_settings_and_session_mode_too(
        fresh_db: str, pgbouncer_session_mode: PgBouncer, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """DATABASE_URL (the settings path, pool options and all) through PgBouncer in session mode."""
    monkeypatch.setenv("DATABASE_URL", pgbouncer_session_mode.via(fresh_db))
    code, document = cli_json(capsys, "migrate", "up", "--yes")
    assert code == 0 and document["result"]["outcome"] == "done", document
    assert asyncio.run(migration_locks_held(fresh_db)) == []


def test_a_failed_migration_keeps_the_ones_before_it_and_its_record_through_a_pooler(
        fresh_db: str, pooled: str, tmp_path: Path) -> None:
    """Behind a pooler the run is one transaction with a savepoint per migration: a failure
    undoes only its own migration, as it does on a direct connection."""
    source = copy_migrations(tmp_path / "sql")
    top = max(int(path.name[:3]) for path in source.glob("*.up.sql"))
    write_migration(source, top + 1, "broken", "SELECT no_such_function();", "SELECT 1;")
    result = asyncio.run(MigrationRunner.from_dsn(pooled, source=source).up())
    assert result.outcome.value == "failed"
    assert [step.success for step in result.steps] == [True] * top + [False]
    assert [version for version, _ in asyncio.run(console_rows(fresh_db))] == list(range(1, top + 1))
    failures = [row["version"] for row in asyncio.run(history_rows(fresh_db)) if row["event"] == "fail"]
    assert failures == [top + 1]
    assert asyncio.run(migration_locks_held(fresh_db)) == []


def test_a_dry_run_through_a_pooler_leaves_nothing(fresh_db: str, pooled: str) -> None:
    result = asyncio.run(MigrationRunner.from_dsn(pooled).up(dry_run=True))
    assert result.outcome.value == "done" and all(step.success for step in result.steps)
    status = asyncio.run(MigrationRunner.from_dsn(fresh_db).status())
    assert status.overall is Overall.NOT_INITIALISED


# ----- two runners at once --------------------------------------------------------------------

GATE = 7_301_442
"""An advisory lock key the test holds to keep the last migration (and so the migration lock) busy."""


@pytest.fixture
def gated_source(tmp_path: Path) -> Path:
    """The packaged migrations plus one that waits for the test's gate: the runner holding the
    migration lock keeps it until the test opens the gate, however slow the machine is."""
    source = copy_migrations(tmp_path / "sql")
    top = max(int(path.name[:3]) for path in source.glob("*.up.sql"))
    write_migration(source, top + 1, "wait_for_the_gate", f"SELECT pg_advisory_xact_lock({GATE});", "SELECT 1;")
    return source


async def _gate(direct_dsn: str) -> asyncpg.Connection:
    """A direct session holding the gate (advisory locks are per database: the same database)."""
    conn = await asyncpg.connect(direct_dsn)
    await conn.execute(f"SELECT pg_advisory_lock({GATE})")
    return conn


async def _waiting_at_gate(direct_dsn: str) -> None:
    """Until a session waits for the gate: the runner holding the migration lock has reached it."""
    conn = await asyncpg.connect(direct_dsn)
    try:
        while not await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = $1)", GATE):
            await asyncio.sleep(0.02)
    finally:
        await conn.close()


async def _migrate_process(dsn: str, source: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "console", "migrate", "up", "--dsn", dsn, "--source", str(source), "--lock-timeout", "120",
        cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def _line_with(process: asyncio.subprocess.Process, text: str) -> list[str]:
    """Read ``process``'s output until a line contains ``text`` (or it ends)."""
    assert process.stdout is not None
    lines = []
    while line := (await process.stdout.readline()).decode():
        lines.append(line)
        if text in line:
            return lines
    raise AssertionError(f"the process ended without saying {text!r}: {lines}")


@pytest.mark.parametrize("second", ["pooled", "direct"])
async def test_two_runners_at_once_through_transaction_mode_apply_each_migration_once(
        fresh_db: str, pooled: str, gated_source: Path, second: str) -> None:
    """Two ``migrate up`` processes through PgBouncer in transaction mode (or the second one
    connected directly): the second waits for the first's lock, then has nothing to do."""
    gate = await _gate(fresh_db)
    try:
        first = await _migrate_process(pooled, gated_source)
        await asyncio.wait_for(_waiting_at_gate(fresh_db), 60)
        assert await migration_locks_held(fresh_db), "the first runner holds the migration lock"
        other = await _migrate_process(pooled if second == "pooled" else fresh_db, gated_source)
        await asyncio.wait_for(_line_with(other, "waiting for the migration lock"), 60)
    finally:
        await gate.close()
    outputs = [await process.communicate() for process in (first, other)]
    assert [process.returncode for process in (first, other)] == [0, 0], outputs
    assert all(b"Traceback" not in err for _, err in outputs), outputs
    versions = [version for version, _ in await console_rows(fresh_db)]
    applies = [row["version"] for row in await history_rows(fresh_db) if row["event"] == "apply"]
    assert applies == versions == sorted(set(versions)), "every migration applied exactly once"
    assert await migration_locks_held(fresh_db) == []


async def test_a_runner_giving_up_behind_a_pooler_names_the_holder(fresh_db: str, pooled: str, gated_source: Path) -> None:
    gate = await _gate(fresh_db)
    try:
        first = asyncio.ensure_future(MigrationRunner.from_dsn(pooled, source=gated_source).up())
        await asyncio.wait_for(_waiting_at_gate(fresh_db), 60)
        locked = await MigrationRunner.from_dsn(pooled, source=gated_source, lock_timeout=0.3).up()
    finally:
        await gate.close()
    assert locked.outcome.value == "locked"
    assert locked.lock_holder is not None and locked.lock_holder.application_name == "lokstra-console migrate"
    assert (await first).outcome.value == "done"
    assert await migration_locks_held(fresh_db) == []


# ----- a pooler the console did not see --------------------------------------------------------

def test_the_prepared_statement_error_of_an_unseen_pooler_says_which_setting_to_change(pooled: str) -> None:
    """A connection opened past the detection (statement cache on) fails as asyncpg fails; the
    diagnosis names the setting instead of "check the connection settings"."""
    async def fail() -> BaseException:
        conn = await asyncpg.connect(pooled)  # statement cache on, as before the detection
        try:
            for n in range(20):
                await conn.fetchval("SELECT $1::int", n)
        except asyncpg.PostgresError as exc:
            return exc
        finally:
            await conn.close()
        raise AssertionError("twenty prepared statements across server sessions all worked")

    found = diagnose(asyncio.run(fail()), "postgres@127.0.0.1/db")
    assert found is not None and found.cause == "pooler_prepared_statements"
    assert "DB_STATEMENT_CACHE_SIZE=0" in found.fix
