"""The rollback drill (stores/transfer/drill.py) on a real PostgreSQL."""
from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from stores import Stores
from stores.demo import DemoSpec, load_into_memory
from stores.memory.engine import MemoryEngine
from stores.postgres.engine import PostgresEngine
from stores.transfer.copy import copy_tables, table_digests
from stores.transfer.drill import DrillRefused, Workload, check_workload, run_drill
from stores.transfer.switch import switchable_stores
from tests.support.databases import pg_settings, truncate_all
from tests.support.factories import tenant

SECRET = "s3cret-pw-in-a-tenant-dsn"

STEPS = [
    "preflight",
    "baseline: read postgres",
    "switch postgres → memory",
    "verify memory = postgres baseline",
    "workload on memory",
    "check postgres untouched while on memory",
    "switch memory → postgres (replace)",
    "verify postgres = memory",
    "workload rows in postgres",
    "remove workload",
    "compare postgres with baseline",
]


async def digests(engine: object) -> dict[str, tuple[int, str]]:
    return {name: (d.rows, d.hex) for name, d in (await table_digests(engine)).items()}


@pytest.fixture
async def pg(migrated_db: str) -> AsyncIterator[PostgresEngine]:
    """The migrated database holding the demo data and a tenant whose db_dsn has a password."""
    engine = await PostgresEngine.open(pg_settings(migrated_db))
    await truncate_all(Stores(engine))
    memory = MemoryEngine()
    load_into_memory(memory, DemoSpec(users=60))
    await Stores(memory).tenants.create(tenant("secretive", db_dsn=f"postgres://app:{SECRET}@db/app"))
    await copy_tables(memory, engine)
    try:
        yield engine
    finally:
        await engine.close()


async def test_the_drill_round_trip_leaves_postgres_as_it_was(pg: PostgresEngine, migrated_db: str,
                                                               tmp_path: Path) -> None:
    before = await digests(pg)
    seen: list[tuple[str, str]] = []
    finished: list[str] = []
    report = await run_drill(pg_settings(migrated_db), workload=5, environment="staging", run_id="e2e",
                             progress=lambda step, table, done, expected: seen.append((step, table)),
                             on_step=lambda step: finished.append(step.name))
    assert report.ok, report.failure
    assert [s.name for s in report.steps] == STEPS == finished
    assert report.active_backend == "postgres" and report.workload_tenant == "drill-e2e"
    assert report.workload_writes == 1 + 2 + 1 + 5 * 2 + 1 + 1 + 1 + 1 + 1
    assert len(report.write_pauses) == 2 and all(p > 0 for p in report.write_pauses)
    assert ("switch postgres → memory", "users") in seen and ("switch memory → postgres (replace)", "app_keys") in seen
    steps = {s.name: s for s in report.steps}
    assert steps["baseline: read postgres"].digests == steps["verify memory = postgres baseline"].digests
    assert steps["baseline: read postgres"].rows == sum(rows for rows, _ in before.values())
    assert steps["verify postgres = memory"].rows == steps["baseline: read postgres"].rows + 1 + 2 + 1 + 4 + 5 + 1
    assert steps["switch memory → postgres (replace)"].switch["replace"] is True
    assert await digests(pg) == before, "the workload is gone and nothing else changed"
    assert not await Stores(pg).tenants.exists("drill-e2e")

    saved = json.loads(report.save(tmp_path / "drill.json").read_text())
    assert saved == json.loads(json.dumps(report.to_json()))
    assert saved["ok"] is True and saved["write_pauses_seconds"] and saved["steps"][2]["switch"]["outcome"] == "switched"
    assert SECRET not in json.dumps(saved)


async def test_kept_workload_is_in_postgres_and_a_changed_row_is_noticed(pg: PostgresEngine) -> None:
    stores = switchable_stores(pg)  # the console's stores, on PostgreSQL: they end up there again
    report = await run_drill(stores, workload=4, keep_workload=True, run_id="kept")
    assert report.ok, report.failure
    assert report.steps[-1].name == "workload rows in postgres"
    assert stores.backend == "postgres" and stores.engine.current is pg
    plain = Stores(pg)
    workload = Workload("drill-kept", 4)
    assert await check_workload(plain, workload) == []
    assert sorted(u.id for u in await plain.users.list("drill-kept")) == ["d0000", "d0001", "d0002"]
    await plain.user_apps.grant_access("drill-kept", "api", "d0000")  # undo the revoke
    assert await check_workload(plain, workload) == ["api grants: found [('d0000', 'active')], expected [('d0000', 'revoked')]"]
    await plain.tenants.delete("drill-kept")
    assert await check_workload(plain, workload) == ["tenant drill-kept is missing"]


async def test_production_is_refused_unless_allowed(pg: PostgresEngine, migrated_db: str) -> None:
    unreachable = pg_settings("postgresql://nobody@127.0.0.1:1/nothing")
    for name in ("production", "Production", "prod"):
        with pytest.raises(DrillRefused) as err:  # refused before any connection is tried
            await run_drill(unreachable, environment=name)
        assert err.value.cause == "production" and "--allow-production" in str(err.value)
    before = await digests(pg)
    report = await run_drill(pg_settings(migrated_db), workload=0, environment="production", allow_production=True)
    assert report.ok and [s.name for s in report.steps] == [STEPS[i] for i in (0, 1, 2, 3, 5, 6, 7)]
    assert await digests(pg) == before
    with pytest.raises(DrillRefused, match="read-only"):
        await run_drill(pg_settings(migrated_db, read_only=True))


async def test_a_write_to_postgres_while_on_memory_stops_the_drill_before_it_truncates(
        pg: PostgresEngine, migrated_db: str) -> None:
    async def other_writer(stores: Stores) -> None:  # lokstra-auth writing to the database meanwhile
        conn = await asyncpg.connect(migrated_db)
        try:
            await conn.execute("UPDATE lokstra_auth.users SET full_name = 'written elsewhere' WHERE id = 'u00000002'")
        finally:
            await conn.close()

    report = await run_drill(pg_settings(migrated_db), workload=3, script=other_writer, run_id="stop")
    assert not report.ok and report.active_backend == "memory"
    assert report.steps[-1].name == "check postgres untouched while on memory" and not report.steps[-1].ok
    assert "written by someone else" in report.failure and "has not written to PostgreSQL" in report.failure
    assert (await Stores(pg).users.get("acme-corp", "u00000002")).full_name == "written elsewhere"
    assert not await Stores(pg).tenants.exists("drill-stop")


async def test_a_switch_that_fails_ends_the_drill_with_the_switch_report(pg: PostgresEngine, migrated_db: str) -> None:
    before = await digests(pg)
    report = await run_drill(pg_settings(migrated_db), workload=3, switch_timeout=1e-6)
    failed = report.steps[-1]
    assert not report.ok and failed.name == "switch postgres → memory" and not failed.ok
    assert failed.switch is not None and failed.switch["outcome"] == "timed_out"
    assert report.active_backend == "postgres" and "longer than" in report.failure
    assert await digests(pg) == before
