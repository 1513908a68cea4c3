"""Guarantee 3, races: two OS processes migrating one database, two sessions saving the same
user, and concurrent grants and revokes, on a real PostgreSQL (and the memory backend where
the stores run there too)."""
from __future__ import annotations

import asyncio
import itertools
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from migrations import MigrationRunner, Overall
from stores import Settings, Stores, open_stores
from stores.errors import Conflict
from stores.models import UserApp
from tests.support.databases import pg_settings, truncate_all
from tests.support.factories import app, tenant, user
from tests.support.migrations_helpers import copy_migrations, console_rows, history_rows, write_migration

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.postgres


# ----- two processes, one migration lock ----------------------------------------------------------

def _migrate_process(dsn: str, source: Path, lock_timeout: float) -> subprocess.Popen[str]:
    """``lokstra-console migrate up --json`` in a process of its own (the README's command)."""
    return subprocess.Popen(
        [sys.executable, "-m", "console", "migrate", "up", "--dsn", dsn, "--json", "--source", str(source),
         "--lock-timeout", str(lock_timeout)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _results(processes: list[subprocess.Popen[str]]) -> list[dict[str, Any]]:
    results = []
    for process in processes:
        out, err = process.communicate(timeout=60)
        assert "Traceback" not in err, err
        document = json.loads(out)
        document["exit"] = process.returncode
        results.append(document)
    return results


@pytest.fixture
def slow_source(tmp_path: Path) -> Path:
    """The packaged migrations plus one that holds the lock for 2 s: long enough for the
    second process to start (about 0.5 s of Python start-up) and find it taken."""
    source = copy_migrations(tmp_path / "sql")
    top = max(int(path.name[:3]) for path in source.glob("*.up.sql"))
    write_migration(source, top + 1, "hold_the_lock", "SELECT pg_sleep(2);", "SELECT 1;")
    return source


async def test_two_processes_migrating_at_once_apply_each_migration_exactly_once(fresh_db: str, slow_source: Path) -> None:
    processes = [_migrate_process(fresh_db, slow_source, 60) for _ in range(2)]
    results = await asyncio.to_thread(_results, processes)
    outcomes = sorted(result["result"]["outcome"] for result in results)
    assert outcomes == ["done", "nothing_to_do"], results
    waited = [result["result"]["lock_waited"] for result in results if result["result"]["outcome"] == "nothing_to_do"]
    assert waited[0] > 0.5, "the second process waited for the lock, it did not see a half-applied schema"
    versions = [version for version, _ in await console_rows(fresh_db)]
    applies = [row["version"] for row in await history_rows(fresh_db) if row["event"] == "apply"]
    assert applies == versions == sorted(set(versions)), "every migration applied exactly once"
    assert (await MigrationRunner.from_dsn(fresh_db, source=slow_source).status()).overall is Overall.CURRENT


async def test_a_process_that_gives_up_names_the_process_holding_the_lock(fresh_db: str, slow_source: Path) -> None:
    processes = [_migrate_process(fresh_db, slow_source, 0.5) for _ in range(2)]
    results = await asyncio.to_thread(_results, processes)
    by_outcome = {result["result"]["outcome"]: result for result in results}
    assert set(by_outcome) == {"done", "locked"}, results
    locked = by_outcome["locked"]
    assert locked["exit"] != 0
    holder = locked["result"]["lock_holder"]
    assert holder["application_name"] == "lokstra-console migrate" and holder["pid"] > 0
    assert f"pid {holder['pid']}" in " ".join(locked["result"]["reasons"])
    applies = [row["version"] for row in await history_rows(fresh_db) if row["event"] == "apply"]
    assert len(applies) == len(set(applies)) == len(await console_rows(fresh_db))


# ----- two sessions edit one user ---------------------------------------------------------------------

@pytest.fixture(params=["memory", "postgres"])
async def two_sessions(request: pytest.FixtureRequest) -> Any:
    """Two independent sessions on one database: two engines (two pools) on PostgreSQL; on
    memory, where two consoles cannot share data, two store sets over the one engine."""
    if request.param == "memory":
        first = await open_stores(Settings(use_postgres=False, demo_data=False))
        yield first, Stores(first.engine)
        await first.close()
        return
    dsn = request.getfixturevalue("migrated_db")
    first, second = await open_stores(pg_settings(dsn)), await open_stores(pg_settings(dsn))
    await truncate_all(first)
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


async def test_the_second_save_of_one_user_gets_a_conflict_with_the_new_values(two_sessions: Any) -> None:
    alice, bob = two_sessions
    await alice.tenants.create(tenant("acme"))
    await alice.users.create(user("acme", "u1", full_name="Original"))
    opened_by_alice = await alice.users.get("acme", "u1")
    opened_by_bob = await bob.users.get("acme", "u1")
    assert opened_by_alice == opened_by_bob

    saved = await alice.users.update(opened_by_alice.model_copy(update={"full_name": "Alice's edit"}),
                                     expected_updated_at=opened_by_alice.updated_at)
    with pytest.raises(Conflict) as conflict:
        await bob.users.update(opened_by_bob.model_copy(update={"full_name": "Bob's edit", "status": "suspended"}),
                               expected_updated_at=opened_by_bob.updated_at)
    assert "changed by someone else since you opened it" in str(conflict.value)
    current = conflict.value.current
    assert current.full_name == "Alice's edit" and current.status == "active"
    assert current.updated_at == saved.updated_at
    stored = await alice.users.get("acme", "u1")
    assert stored.full_name == "Alice's edit" and stored.status == "active", "the second save did not overwrite"
    # Bob saves again on top of what he was shown: that is his decision, and it works.
    again = await bob.users.update(current.model_copy(update={"status": "suspended"}), expected_updated_at=current.updated_at)
    assert again.full_name == "Alice's edit" and again.status == "suspended"


async def test_simultaneous_saves_of_one_user_exactly_one_wins(two_sessions: Any) -> None:
    """Many sessions save at the same moment, each from the same opened row: one wins, every
    other gets a Conflict, and the row holds the winner's values (no lost update)."""
    first, second = two_sessions
    await first.tenants.create(tenant("acme"))
    opened = await first.users.create(user("acme", "u1", full_name="Original"))
    sessions = [first, second] * 4

    async def save(index: int, stores: Stores) -> str | None:
        try:
            await stores.users.update(opened.model_copy(update={"full_name": f"edit {index}"}),
                                      expected_updated_at=opened.updated_at)
            return f"edit {index}"
        except Conflict:
            return None

    outcomes = await asyncio.gather(*(save(i, s) for i, s in enumerate(sessions)))
    winners = [o for o in outcomes if o is not None]
    assert len(winners) == 1, outcomes
    assert (await first.users.get("acme", "u1")).full_name == winners[0]


# ----- concurrent grants and revokes ----------------------------------------------------------------

def _final(grants: list[UserApp]) -> dict[tuple[str, str], str]:
    return {(g.app_id, g.user_id): g.status for g in grants}


def _serial_outcomes(ops: list[tuple[str, str, str]], start: dict[tuple[str, str], str]) -> set[frozenset]:
    """The final (pair → status) of every serial order of ``ops``. Ops on different pairs
    commute, and in a serial order a pair ends as its last op leaves it: "active" after a
    grant; after a revoke "revoked" if the grant existed by then (it did, in every order, if
    it existed at the start or any grant of the pair ran before), else no row."""
    per_pair: dict[tuple[str, str], set[str]] = {}
    for kind, app_id, user_id in ops:
        per_pair.setdefault((app_id, user_id), set()).add(kind)
    choices: list[list[tuple[tuple[str, str], str | None]]] = []
    for pair, kinds in per_pair.items():
        ends: set[tuple[tuple[str, str], str | None]] = set()
        if "grant" in kinds:
            ends.add((pair, "active"))
        if "revoke" in kinds:
            ends.add((pair, "revoked" if pair in start or "grant" in kinds else None))
        choices.append(sorted(ends, key=str))
    results = set()
    for combination in itertools.product(*choices):
        merged: dict[tuple[str, str], str] = dict(start)
        for pair, status in combination:
            if status is not None:
                merged[pair] = status
        results.add(frozenset(merged.items()))
    return results


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_concurrent_grants_and_revokes_end_as_some_serial_order(two_sessions: Any, seed: int) -> None:
    first, second = two_sessions
    await first.tenants.create(tenant("acme"))
    for app_id in ("web", "api"):
        await first.apps.create(app("acme", app_id))
    for user_id in ("u1", "u2", "u3"):
        await first.users.create(user("acme", user_id))
    await first.user_apps.grant_access("acme", "web", "u1")
    await first.user_apps.grant_access("acme", "api", "u2")
    await first.user_apps.revoke_access("acme", "api", "u2")
    start = _final([g for app_id in ("web", "api") for g in await first.user_apps.list_app_users("acme", app_id)])

    rng = random.Random(seed)
    pairs = [(a, u) for a in ("web", "api") for u in ("u1", "u2", "u3")]
    ops = [(rng.choice(["grant", "revoke"]), *rng.choice(pairs)) for _ in range(24)]

    async def run(index: int, kind: str, app_id: str, user_id: str) -> None:
        stores = (first, second)[index % 2]
        await asyncio.sleep(rng.random() * 0.005)
        try:
            if kind == "grant":
                await stores.user_apps.grant_access("acme", app_id, user_id)
            else:
                await stores.user_apps.revoke_access("acme", app_id, user_id)
        except Exception as exc:  # only revoking a grant that does not exist may fail
            assert kind == "revoke" and type(exc).__name__ == "NotFound", repr(exc)

    started = time.monotonic()
    await asyncio.gather(*(run(i, *op) for i, op in enumerate(ops)))
    assert time.monotonic() - started < 20
    grants = [g for app_id in ("web", "api") for g in await first.user_apps.list_app_users("acme", app_id)]
    final = _final(grants)
    assert frozenset(final.items()) in _serial_outcomes(ops, start), (ops, final)
    for grant in grants:  # and each row is consistent in itself
        assert (grant.status == "revoked") == (grant.revoked_at is not None), grant
        assert grant.granted_at is not None
