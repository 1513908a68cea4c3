"""The migration runner against a real PostgreSQL: apply, track, lock, fail, revert, adopt."""
from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg
import pytest

from migrations import AdoptionOutcome, MigrationRunner, Outcome, Overall, Progress, RelocationOutcome, State
from migrations.lock import lock_key
from tests.support.waits import eventually
from tests.support.migrations_helpers import (
    SQL_DIR,
    build_like_db_schema_sql,
    catalog_of,
    console_rows,
    copy_migrations,
    execute,
    fetch,
    fetchval,
    file_sha256,
    history_rows,
    lokstra_rows,
    schema_exists,
    write_migration,
)

pytestmark = pytest.mark.postgres

APP_TABLES = {"tenants", "apps", "branches", "users", "user_apps", "app_keys"}
PACKAGED = [(int(p.name[:3]), p.name[4:].removesuffix(".up.sql")) for p in sorted(SQL_DIR.glob("*.up.sql"))]


def runner(dsn: str, source: Path | None = None, **options: float) -> MigrationRunner:
    return MigrationRunner.from_dsn(dsn, source=source, **options)


# ----- apply and track -------------------------------------------------------------------

async def test_fresh_apply_records_the_consoles_rows_and_history_then_reapply_is_a_no_op(fresh_db: str) -> None:
    before = await runner(fresh_db).status()
    assert before.overall is Overall.NOT_INITIALISED
    assert [(m.version, m.state) for m in before.migrations] == [(v, State.PENDING) for v, _ in PACKAGED]

    events: list[Progress] = []
    result = await runner(fresh_db).up(on_progress=events.append)
    assert result.outcome is Outcome.DONE
    assert [(s.version, s.success) for s in result.steps] == [(v, True) for v, _ in PACKAGED]
    assert [e.kind for e in events] == ["started", "finished"] * len(PACKAGED)
    assert result.status.overall is Overall.CURRENT
    assert result.status.tracking_table == "lokstra_console.migrations"

    assert await console_rows(fresh_db) == PACKAGED
    checksums = [row["checksum"] for row in await fetch(fresh_db, "SELECT checksum FROM lokstra_console.migrations ORDER BY version")]
    assert checksums == [file_sha256(p) for p in sorted(SQL_DIR.glob("*.up.sql"))]
    history = await history_rows(fresh_db)
    assert [(h["version"], h["event"], h["success"]) for h in history] == [(v, "apply", True) for v, _ in PACKAGED]
    assert [h["checksum"] for h in history] == checksums
    assert {h["db_role"] for h in history} == {await fetchval(fresh_db, "SELECT current_user")}
    tables = await fetch(fresh_db, "SELECT tablename FROM pg_tables WHERE schemaname = 'lokstra_auth'")
    assert {t["tablename"] for t in tables} == APP_TABLES
    # lokstra's own version space is not the console's: nothing is written there.
    assert not await schema_exists(fresh_db, "lokstra_core")

    again = await runner(fresh_db).up()
    assert again.outcome is Outcome.NOTHING_TO_DO and again.steps == []
    assert len(await history_rows(fresh_db)) == len(history)


UPSTREAM_TRACKING = """
    CREATE SCHEMA IF NOT EXISTS lokstra_core;
    CREATE TABLE IF NOT EXISTS lokstra_core.schema_migrations (version INTEGER PRIMARY KEY,
        applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, description TEXT);"""
"""What lokstra's runner creates (primadi/lokstra lokstra_init/migration_runner/lokstra_core.sql L1-L9)."""


async def upstream_pending(dsn: str, upstream_versions: list[int]) -> list[int]:
    """lokstra's rule, replayed: its runner reads ``SELECT COALESCE(MAX(version), 0) FROM
    lokstra_core.schema_migrations`` and applies only its files with a higher version
    (primadi/lokstra@a07c9676 lokstra_init/migration_runner/migration.go L336-L370, MAX at L375)."""
    highest = await fetchval(dsn, "SELECT COALESCE(MAX(version), 0) FROM lokstra_core.schema_migrations")
    return [version for version in upstream_versions if version > highest]


@pytest.mark.parametrize("upstream_applied", [[], [1]])
async def test_upstreams_pending_migrations_stay_pending_after_the_consoles_up(
        fresh_db: str, upstream_applied: list[int]) -> None:
    """lokstra-auth's runner has recorded nothing yet (its table exists, empty) or its own
    ``001_auth`` (cmd/lokstra-auth/migrations/lokstra_auth/001_auth.up.sql → (1, 'auth')), and
    has more files to apply (1 and 2, or 2). The console's own migrations must not move
    upstream's MAX(version): consoles that wrote 1, 2, 3 there hid upstream's 001-003 forever."""
    await execute(fresh_db, UPSTREAM_TRACKING + "".join(
        f"INSERT INTO lokstra_core.schema_migrations (version, description) VALUES ({v}, 'auth');" for v in upstream_applied))
    upstream_files = [1, 2]
    before = await upstream_pending(fresh_db, upstream_files)

    result = await runner(fresh_db).up()
    assert result.outcome is Outcome.DONE and result.status.overall is Overall.CURRENT
    assert await upstream_pending(fresh_db, upstream_files) == before == [v for v in upstream_files if v not in upstream_applied]
    assert await lokstra_rows(fresh_db) == [(v, "auth") for v in upstream_applied]
    # ... and the status shows upstream's table as upstream's.
    shown = result.status.upstream
    assert [(t.name, t.highest, t.read_by) for t in shown] == [
        ("lokstra_core.schema_migrations", max(upstream_applied, default=0), "current runner")]


async def test_upstreams_version_1_is_not_taken_for_the_consoles_001(fresh_db: str) -> None:
    """lokstra's runner records (1, 'auth') for its ``001_auth.up.sql``. Earlier consoles took
    any row 1 as their own 001, so ``down 1`` would have run the console's down file against
    upstream's schema. Now the row is shown as upstream's and nothing of the console's is applied."""
    await build_like_db_schema_sql(fresh_db)
    await execute(fresh_db, UPSTREAM_TRACKING + "INSERT INTO lokstra_core.schema_migrations (version, description) VALUES (1, 'auth');")
    status = await runner(fresh_db).status()
    assert status.overall is Overall.UNTRACKED and not any(m.is_applied for m in status.migrations)
    assert "lokstra_core.schema_migrations (current runner): 1 auth" in status.upstream[0].describe()
    down = await runner(fresh_db).down(1)
    assert down.outcome is Outcome.NOTHING_TO_DO
    assert await lokstra_rows(fresh_db) == [(1, "auth")]
    assert set((await catalog_of(fresh_db)).tables) == APP_TABLES


async def test_the_data_schema_can_be_lokstra_core(fresh_db: str) -> None:
    """Upstream's deployment example keeps its data tables in lokstra_core, beside the runner's
    own tables (examples/01_deployment/migrations/01_lokstra_auth/001_auth_core.up.sql L8-L10,
    lokstra_init/migration_runner/lokstra_core.sql): the console migrates, adopts and reads
    there when DB_AUTH_SCHEMA says so, and leaves the runner's tables alone."""
    await execute(fresh_db, UPSTREAM_TRACKING + "INSERT INTO lokstra_core.schema_migrations (version, description) VALUES (1, 'auth_core');")
    core = MigrationRunner.from_dsn(fresh_db, data_schema="lokstra_core")
    result = await core.up()
    assert result.outcome is Outcome.DONE, result.reasons
    tables = {t["tablename"] for t in await fetch(fresh_db, "SELECT tablename FROM pg_tables WHERE schemaname = 'lokstra_core'")}
    assert tables == APP_TABLES | {"schema_migrations"}
    assert not await schema_exists(fresh_db, "lokstra_auth")
    assert await lokstra_rows(fresh_db) == [(1, "auth_core")]
    assert (await core.status()).overall is Overall.CURRENT

    # Reverted down to nothing and adopted back: the runner's table is not a difference.
    await core.down(2)
    await execute(fresh_db, "DELETE FROM lokstra_console.migrations")
    assert (await core.status()).overall is Overall.UNTRACKED
    report = await core.adopt(record=True)
    assert report.outcome is AdoptionOutcome.RECORDED, [str(d) for d in report.differences]


# ----- drift -----------------------------------------------------------------------------

async def test_changed_file_is_reported_and_blocks_up_until_accepted(fresh_db: str, tmp_path: Path) -> None:
    source = copy_migrations(tmp_path / "sql", (1, 2))
    await runner(fresh_db, source).up()

    baseline = source / "001_lokstra_auth_schema.up.sql"
    baseline.write_bytes(baseline.read_bytes().replace(b"\n", b"\r\n"))  # a Windows checkout: not a change
    changed = source / "002_keyset_indexes.up.sql"
    changed.write_text(changed.read_text() + "-- tuned later\n")
    write_migration(source, 3, "extra", "CREATE TABLE lokstra_auth.extra (id int);", "DROP TABLE lokstra_auth.extra;")

    status = await runner(fresh_db, source).status()
    assert status.get(1).state is State.APPLIED
    assert status.get(2).state is State.CHANGED
    assert status.get(2).recorded_checksum == file_sha256(SQL_DIR / "002_keyset_indexes.up.sql")
    assert status.get(2).checksum == file_sha256(changed)
    assert status.get(3).state is State.PENDING
    assert status.overall is Overall.DRIFT and "1 changed (002)" in status.headline

    refused = await runner(fresh_db, source).up()
    assert refused.outcome is Outcome.REFUSED
    assert len(refused.reasons) == 1 and refused.reasons[0].startswith("002_keyset_indexes changed")
    assert await console_rows(fresh_db) == PACKAGED[:2]

    accepted = await runner(fresh_db, source).up(accept=True)
    assert accepted.outcome is Outcome.DONE and accepted.accepted == [2]
    assert [s.version for s in accepted.steps] == [3]
    assert accepted.status.overall is Overall.CURRENT
    history = await history_rows(fresh_db)
    accept = [h for h in history if h["event"] == "accept"]
    assert [(h["version"], h["checksum"]) for h in accept] == [(2, file_sha256(changed))]


async def test_a_lower_unapplied_version_is_out_of_order_not_pending(fresh_db: str, tmp_path: Path) -> None:
    source = copy_migrations(tmp_path / "sql", (1, 2))
    write_migration(source, 4, "four", "CREATE TABLE lokstra_auth.four (id int);", "DROP TABLE lokstra_auth.four;")
    await runner(fresh_db, source).up()
    write_migration(source, 3, "three", "CREATE TABLE lokstra_auth.three (id int);", "DROP TABLE lokstra_auth.three;")

    status = await runner(fresh_db, source).status()
    assert status.get(3).state is State.OUT_OF_ORDER
    assert status.overall is Overall.DRIFT

    refused = await runner(fresh_db, source).up()
    assert refused.outcome is Outcome.REFUSED and "out of order" in refused.reasons[0]
    assert await fetchval(fresh_db, "SELECT to_regclass('lokstra_auth.three')") is None

    done = await runner(fresh_db, source).up(accept=True)
    assert [s.version for s in done.steps] == [3] and done.status.overall is Overall.CURRENT


# ----- the lock --------------------------------------------------------------------------

async def test_a_held_lock_makes_the_runner_wait_then_name_the_holder(fresh_db: str) -> None:
    holder = await asyncpg.connect(fresh_db, server_settings={"application_name": "someone-else"})
    try:
        database = await holder.fetchval("SELECT current_database()")
        assert await holder.fetchval("SELECT pg_try_advisory_lock($1)", lock_key(database))
        events: list[Progress] = []
        started = time.monotonic()
        result = await runner(fresh_db, lock_timeout=0.6, lock_poll_interval=0.1).up(on_progress=events.append)
        assert time.monotonic() - started >= 0.6
        assert result.outcome is Outcome.LOCKED and result.lock_waited >= 0.6
        assert result.lock_holder.pid == holder.get_server_pid()
        assert result.lock_holder.application_name == "someone-else"
        assert f"pid {holder.get_server_pid()} (someone-else" in result.reasons[0]
        assert [e.kind for e in events] == ["waiting_for_lock"] and events[0].holder.pid == holder.get_server_pid()
        assert not await schema_exists(fresh_db, "lokstra_console")

        # Released while the runner waits: it goes ahead.
        waiting = asyncio.Event()

        async def release_once_it_waits() -> None:
            await waiting.wait()
            await asyncio.sleep(0.3)  # held this long after the runner started waiting
            await holder.execute("SELECT pg_advisory_unlock_all()")

        def heard(event: Progress) -> None:
            if event.kind == "waiting_for_lock":
                waiting.set()

        release = asyncio.create_task(release_once_it_waits())
        result = await runner(fresh_db, lock_timeout=60, lock_poll_interval=0.05).up(on_progress=heard)
        await release
        assert result.outcome is Outcome.DONE and result.lock_waited >= 0.3
    finally:
        await holder.close()


GATE = 7_301_443
"""An advisory lock the test holds to keep the first runner inside its migration (so holding the
migration lock) for as long as the test needs, however slow the machine."""


async def test_two_runners_one_applies_the_other_reports_it(fresh_db: str, tmp_path: Path) -> None:
    source = copy_migrations(tmp_path / "sql", versions=(1,))
    write_migration(source, 2, "gated", f"SELECT pg_advisory_xact_lock({GATE});", "SELECT 1;")
    gate = await asyncpg.connect(fresh_db)
    try:
        await gate.execute(f"SELECT pg_advisory_lock({GATE})")
        first = asyncio.create_task(runner(fresh_db, source).up())
        waiting_at_gate = """SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = $1
                             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"""

        async def first_at_gate() -> bool:
            return bool(await fetch(fresh_db, waiting_at_gate, GATE))

        await eventually(first_at_gate, "the first runner inside its migration, holding the lock")
        holder_pid = (await fetch(fresh_db, waiting_at_gate, GATE))[0]["pid"]
        second = await runner(fresh_db, source, lock_timeout=0.3, lock_poll_interval=0.05).up()
    finally:
        await gate.close()
    assert second.outcome is Outcome.LOCKED
    assert second.lock_holder.pid == holder_pid
    assert second.lock_holder.application_name == "lokstra-console migrate"
    assert (await first).outcome is Outcome.DONE
    assert (await runner(fresh_db, source).up()).outcome is Outcome.NOTHING_TO_DO


# ----- failure ---------------------------------------------------------------------------

async def test_a_migration_failing_half_way_leaves_the_schema_as_it_was(fresh_db: str, tmp_path: Path) -> None:
    source = copy_migrations(tmp_path / "sql", (1, 2))
    await runner(fresh_db, source).up()
    before = await catalog_of(fresh_db)
    write_migration(source, 3, "broken", (
        "CREATE TABLE lokstra_auth.half_done (id int);\n"
        "ALTER TABLE lokstra_auth.tenants ADD COLUMN half_done int;\n"
        "SELECT * FROM lokstra_auth.no_such_table;\n"
    ), "DROP TABLE lokstra_auth.half_done;")

    result = await runner(fresh_db, source).up()
    assert result.outcome is Outcome.FAILED
    failed = result.failed_step
    assert failed.version == 3 and failed.sqlstate == "42P01" and failed.error_line == 3
    assert 'relation "lokstra_auth.no_such_table" does not exist' in failed.error
    assert await catalog_of(fresh_db) == before
    assert [v for v, _ in await console_rows(fresh_db)] == [1, 2]

    fail = (await history_rows(fresh_db))[-1]
    assert (fail["version"], fail["event"], fail["success"]) == (3, "fail", False)
    assert fail["error"] == failed.error and fail["checksum"] == file_sha256(source / "003_broken.up.sql")

    status = await runner(fresh_db, source).status()
    assert status.get(3).state is State.FAILED and status.get(3).error == failed.error
    assert status.overall is Overall.FAILED and "003_broken failed" in status.headline

    write_migration(source, 3, "broken", "CREATE TABLE lokstra_auth.half_done (id int);", "DROP TABLE lokstra_auth.half_done;")
    fixed = await runner(fresh_db, source).up()
    assert fixed.outcome is Outcome.DONE and fixed.status.overall is Overall.CURRENT


# ----- down ------------------------------------------------------------------------------

async def test_up_down_up_leaves_an_identical_catalog(fresh_db: str) -> None:
    await runner(fresh_db).up()
    first = await catalog_of(fresh_db)
    assert set(first.tables) == APP_TABLES
    assert sum(len(t.indexes) for t in first.tables.values()) > 30

    one = await runner(fresh_db).down(1)
    assert one.outcome is Outcome.DONE and [s.version for s in one.steps] == [PACKAGED[-1][0]]
    assert not await fetchval(fresh_db, "SELECT to_regclass('lokstra_console.audit_log') IS NOT NULL")  # 003 reverted
    assert await console_rows(fresh_db) == PACKAGED[:-1]
    two = await runner(fresh_db).down(1)
    assert two.outcome is Outcome.DONE and [s.version for s in two.steps] == [2]
    assert "idx_tenants_name_c" not in (await catalog_of(fresh_db)).tables["tenants"].indexes

    rest = await runner(fresh_db).down(len(PACKAGED) - 2)
    assert rest.outcome is Outcome.DONE
    assert (await catalog_of(fresh_db)).empty and not await schema_exists(fresh_db, "lokstra_auth")
    assert await console_rows(fresh_db) == []
    reverts = [h["version"] for h in await history_rows(fresh_db) if h["event"] == "revert"]
    assert reverts == [v for v, _ in reversed(PACKAGED)]

    await runner(fresh_db).up()
    assert await catalog_of(fresh_db) == first


async def test_down_refuses_an_irreversible_migration(fresh_db: str, tmp_path: Path) -> None:
    source = copy_migrations(tmp_path / "sql", (1, 2))
    write_migration(source, 3, "drop_domain", "-- lokstra:irreversible\nALTER TABLE lokstra_auth.tenants DROP COLUMN domain;")
    await runner(fresh_db, source).up()
    status = await runner(fresh_db, source).status()
    assert status.get(3).reversible is False

    result = await runner(fresh_db, source).down(2)
    assert result.outcome is Outcome.REFUSED and result.steps == []
    assert result.reasons == ["003_drop_domain is irreversible (-- lokstra:irreversible): it has no .down.sql"]
    assert [v for v, _ in await console_rows(fresh_db)] == [1, 2, 3]


# ----- dry run ---------------------------------------------------------------------------

async def test_dry_run_applies_and_rolls_everything_back(fresh_db: str, tmp_path: Path) -> None:
    result = await runner(fresh_db).up(dry_run=True)
    assert result.outcome is Outcome.DONE and result.dry_run
    assert [s.version for s in result.steps] == [v for v, _ in PACKAGED]
    statements = result.steps[0].statements
    assert statements[0].startswith("SET LOCAL search_path")
    assert any(s.startswith("CREATE TABLE lokstra_auth.tenants") for s in statements)
    assert not await schema_exists(fresh_db, "lokstra_auth")
    assert not await schema_exists(fresh_db, "lokstra_console")
    assert (await runner(fresh_db).status()).overall is Overall.NOT_INITIALISED

    # 001's SET LOCAL search_path must not reach 003 in a dry run any more than in a real one.
    source = copy_migrations(tmp_path / "sql", (1, 2))
    write_migration(source, 3, "unqualified", (
        "CREATE TABLE probe (id int);\n"
        "SELECT 1 / (SELECT count(*) FROM pg_tables WHERE tablename = 'probe' AND schemaname = 'public')::int;\n"
    ), "DROP TABLE probe;")
    assert (await runner(fresh_db, source).up(dry_run=True)).outcome is Outcome.DONE

    write_migration(source, 4, "bad", "SELECT 1/0;", "SELECT 1;")
    failing = await runner(fresh_db, source).up(dry_run=True)
    assert failing.outcome is Outcome.FAILED and failing.failed_step.version == 4
    assert "division by zero" in failing.failed_step.error
    assert not await schema_exists(fresh_db, "lokstra_console")  # no history row either


# ----- adoption --------------------------------------------------------------------------

async def test_adopting_a_database_built_with_db_schema_sql(fresh_db: str) -> None:
    await build_like_db_schema_sql(fresh_db)
    status = await runner(fresh_db).status()
    assert status.overall is Overall.UNTRACKED
    refused = await runner(fresh_db).up()
    assert refused.outcome is Outcome.REFUSED and "migrate adopt" in refused.reasons[0]

    report = await runner(fresh_db).adopt()
    assert report.outcome is AdoptionOutcome.MATCHES and report.differences == []
    assert not await schema_exists(fresh_db, "lokstra_console")
    leftovers = await fetch(fresh_db, "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'lokstra_adopt%'")
    assert leftovers == []

    recorded = await runner(fresh_db).adopt(record=True)
    assert recorded.outcome is AdoptionOutcome.RECORDED
    assert await console_rows(fresh_db) == PACKAGED[:1]
    history = await history_rows(fresh_db)
    assert [(h["version"], h["event"], h["checksum"]) for h in history] == [
        (1, "baseline", file_sha256(SQL_DIR / "001_lokstra_auth_schema.up.sql"))
    ]
    status = await runner(fresh_db).status()
    assert status.get(1).state is State.BASELINE and status.baseline_version == 1
    assert status.overall is Overall.PENDING and "adopted baseline 001" in status.headline

    assert (await runner(fresh_db).adopt()).outcome is AdoptionOutcome.ALREADY_TRACKED
    done = await runner(fresh_db).up()
    assert [s.version for s in done.steps] == [v for v, _ in PACKAGED[1:]]
    assert done.status.overall is Overall.CURRENT


UPSTREAM_TRIGGER_FUNCTION = """
-- Function to automatically update updated_at timestamp
CREATE OR REPLACE FUNCTION lokstra_auth.update_updated_at_column()
RETURNS TRIGGER AS $$
begin
        -- keep the row's update time current
        NEW.updated_at = now( ) ;   /* as lokstra's newer files spell it */
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""


@pytest.mark.parametrize("spelling", ["upper case", "lower case with comments and spacing"])
async def test_adoption_compares_function_bodies_by_meaning_not_letter_case(fresh_db: str, spelling: str) -> None:
    """lokstra's files differ from migration 001 only in how the trigger function is typed:
    ``db_schema.sql`` (primadi/lokstra-auth 00_core/infrastructure/repository/postgres/db_schema.sql,
    "Functions and Triggers" section) writes ``NOW()`` with four-space indentation and a comment
    line above, other upstream files write ``now()``. The server keeps a PL/pgSQL body as typed,
    so comparing it as text refused ``adopt`` and ``migrate up`` on a database lokstra built."""
    await build_like_db_schema_sql(fresh_db)
    if spelling != "upper case":
        await execute(fresh_db, UPSTREAM_TRIGGER_FUNCTION)
    report = await runner(fresh_db).adopt()
    assert report.outcome is AdoptionOutcome.MATCHES, [str(d) for d in report.differences]


async def test_adoption_still_sees_a_function_that_does_something_else(fresh_db: str) -> None:
    """Normalising a body must not hide a real change: a different expression, or different
    text inside a string literal, is a difference."""
    await build_like_db_schema_sql(fresh_db)
    await execute(fresh_db, UPSTREAM_TRIGGER_FUNCTION.replace("now( )", "clock_timestamp()"))
    report = await runner(fresh_db).adopt()
    assert report.outcome is AdoptionOutcome.DIFFERS
    assert [d.kind for d in report.differences] == ["function"]


async def test_adoption_is_refused_with_each_difference_listed(fresh_db: str) -> None:
    await build_like_db_schema_sql(fresh_db)
    await execute(fresh_db, """
        DROP INDEX lokstra_auth.idx_users_email;
        ALTER TABLE lokstra_auth.tenants ALTER COLUMN domain TYPE varchar(100);""")

    report = await runner(fresh_db).adopt(record=True)
    assert report.outcome is AdoptionOutcome.DIFFERS
    assert [str(d) for d in report.differences] == [
        "tenants: column domain type is character varying(100), expected character varying(255)",
        "users: index idx_users_email is missing (CREATE INDEX idx_users_email ON users USING btree (tenant_id, email))",
    ]
    assert not await schema_exists(fresh_db, "lokstra_console")


async def test_adopt_on_an_empty_database_has_nothing_to_adopt(fresh_db: str) -> None:
    report = await runner(fresh_db).adopt(record=True)
    assert report.outcome is AdoptionOutcome.NOTHING_TO_ADOPT
    assert not await schema_exists(fresh_db, "lokstra_console")


# ----- lokstra's tracking tables, and the console's rows an older console left there ---------

LOKSTRA_DDL = """CREATE TABLE {schema}.schema_migrations (version INTEGER PRIMARY KEY,
    applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, description TEXT);"""

OLD_CONSOLE_HISTORY = """CREATE TABLE {schema}.console_migration_history (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, version integer NOT NULL, description text NOT NULL,
    event text NOT NULL, direction text NOT NULL, checksum text, db_role text NOT NULL, os_user text,
    client_host text, started_at timestamptz NOT NULL, duration_ms integer, success boolean NOT NULL,
    error text, note text);"""


async def build_like_an_older_console(dsn: str, schema: str = "lokstra_core") -> None:
    """What consoles before the relocation left: every packaged migration applied, its row in
    lokstra's ``schema_migrations`` and its history in ``console_migration_history`` beside it."""
    create = "CREATE SCHEMA IF NOT EXISTS lokstra_core;" if schema == "lokstra_core" else ""
    await execute(dsn, create + LOKSTRA_DDL.format(schema=schema) + OLD_CONSOLE_HISTORY.format(schema=schema))
    for path in sorted(SQL_DIR.glob("*.up.sql")):
        version, description = int(path.name[:3]), path.name[4:].removesuffix(".up.sql")
        await execute(dsn, path.read_text())
        await execute(dsn, f"""
            INSERT INTO {schema}.schema_migrations (version, description) VALUES ({version}, '{description}');
            INSERT INTO {schema}.console_migration_history (version, description, event, direction, checksum, db_role,
                os_user, client_host, started_at, duration_ms, success)
            VALUES ({version}, '{description}', 'apply', 'up', '{file_sha256(path)}', current_user, 'ops', 'box',
                now(), 5, true);""")


@pytest.mark.parametrize("schema", ["lokstra_core", "public"])
async def test_an_older_consoles_rows_are_recognised_and_relocated_on_purpose(fresh_db: str, schema: str) -> None:
    await build_like_an_older_console(fresh_db, schema)
    await execute(fresh_db, f"INSERT INTO {schema}.schema_migrations (version, description) VALUES (7, 'auth_extra');")
    status = await runner(fresh_db).status()
    assert status.overall is Overall.RELOCATE and "migrate relocate" in status.headline
    assert status.legacy is not None and status.legacy.versions == [v for v, _ in PACKAGED]
    refused = await runner(fresh_db).up()
    assert refused.outcome is Outcome.REFUSED and "migrate relocate" in refused.reasons[0]
    assert (await runner(fresh_db).adopt(record=True)).outcome is AdoptionOutcome.ALREADY_TRACKED

    plan = await runner(fresh_db).relocate()
    assert plan.outcome is RelocationOutcome.PLANNED and "nothing was written" in plan.message
    assert plan.upstream_highest_before == 7 and plan.upstream_highest_after == 7
    assert not await fetchval(fresh_db, "SELECT to_regclass('lokstra_console.migrations') IS NOT NULL")

    done = await runner(fresh_db).relocate(record=True)
    assert done.outcome is RelocationOutcome.RELOCATED, done.message
    assert await console_rows(fresh_db) == PACKAGED
    assert await lokstra_rows(fresh_db, schema) == [(7, "auth_extra")]  # upstream's own row stays
    assert not await fetchval(fresh_db, f"SELECT to_regclass('{schema}.console_migration_history') IS NOT NULL")
    events = [(h["version"], h["event"]) for h in await history_rows(fresh_db)]
    assert events == [(v, "apply") for v, _ in PACKAGED] + [(v, "relocate") for v, _ in PACKAGED]
    after = await runner(fresh_db).status()
    assert after.overall is Overall.CURRENT and all(m.state is State.APPLIED for m in after.migrations)
    assert after.legacy is None
    assert (await runner(fresh_db).relocate(record=True)).outcome is RelocationOutcome.NOTHING_TO_DO


async def test_relocation_hands_upstreams_version_space_back(fresh_db: str) -> None:
    """After relocation lokstra's runner sees MAX(version) without the console's 1-3, so its own
    001_auth is pending again by its rule (the report says so)."""
    await build_like_an_older_console(fresh_db)
    assert await upstream_pending(fresh_db, [1, 2]) == []  # hidden by the console's rows 1-3
    done = await runner(fresh_db).relocate(record=True)
    assert done.upstream_highest_before == 3 and done.upstream_highest_after == 0
    assert "apply its own migrations above 0" in done.message
    assert await upstream_pending(fresh_db, [1, 2]) == [1, 2]


async def test_another_tools_schema_migrations_in_public_is_ignored(fresh_db: str) -> None:
    await execute(fresh_db, "CREATE TABLE public.schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL);"
                            "INSERT INTO public.schema_migrations VALUES (7, false);")
    status = await runner(fresh_db).status()
    assert status.overall is Overall.NOT_INITIALISED
    assert status.warnings == ["public.schema_migrations is not lokstra's tracking table "
                               "(no integer version, description and applied_at columns); ignored"]
    assert status.upstream == []


async def test_reverting_the_audit_trail_is_refused_while_it_holds_records(fresh_db: str) -> None:
    await runner(fresh_db).up()
    await execute(fresh_db, """INSERT INTO lokstra_console.audit_log
        (id, at, tenant_id, entity, entity_key, action, os_user, backend)
        VALUES ('1', now(), 'acme', 'tenant', 'acme', 'create', 'ops', 'postgres')""")
    refused = await runner(fresh_db).down(1)
    assert refused.outcome is Outcome.FAILED and "holds audit records" in refused.failed_step.error
    assert await fetchval(fresh_db, "SELECT count(*) FROM lokstra_console.audit_log") == 1
