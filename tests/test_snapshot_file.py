"""Snapshot files (stores/transfer/snapshot_file.py): round trips, refusals, atomic writes, the changes counter."""
from __future__ import annotations

import json
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import pytest

from stores import Settings, Stores, open_stores
from stores.errors import AlreadyExists, StoreError
from stores.memory.engine import MemoryEngine
from stores.models import UserApp
from stores.tables import ALL_TABLES, TENANTS, USERS
from stores.transfer.copy import CopyFailed, copy_tables, table_digests
from stores.transfer.snapshot_file import FORMAT, SnapshotFile, SnapshotFileError, export_memory, import_memory
from tests.support.databases import pg_settings, truncate_all
from tests.support import factories as f

NESTED = {"ünïcode keys ✓": {"list": [1, 2.5, -0.0, 1e20, None, True, "", {"deep": [[["x"]]]}], "empty": {}},
          "quotes": "she said \"hi\"\n\ttab \\ backslash", "big": 12345678901234567890, "nul-free": "\u2028\u2029"}
AT = datetime(2026, 2, 3, 4, 5, 6, 789012)


async def add_edge_rows(stores: Stores) -> None:
    """Rows that stress the format: unicode, NULLs, nested JSON, microseconds, maximum
    lengths, a revoked key and grant, a soft-deleted user."""
    await stores.tenants.create(f.tenant("edge-ü", name="Ünïcødé 🚀 عربي " + "x" * 200, domain=None,
                                         db_dsn="postgres://edge:p@ss w\"rd@db:5432/edge", config=NESTED,
                                         settings=None, metadata={}, created_at=AT))
    await stores.apps.create(f.app("edge-ü", "a" * 255, name="n" * 255, metadata=NESTED, config=None))
    await stores.branches.create(f.branch("edge-ü", "a" * 255, "b1", code="C" * 100, address={"lines": ["1", "二"]},
                                          contact=None))
    # NULL where lokstra-auth wants '' (a row another program wrote): the snapshot keeps it as it is.
    await stores.engine.insert(USERS, stores.users.stamped(f.user("edge-ü", "u-null", metadata=None))
                               .model_copy(update={"full_name": None}))
    await stores.users.create(f.user("edge-ü", "u-gone", full_name="Zoë 'Gone' Ø", metadata={"n": [None]}))
    await stores.users.set_status("edge-ü", "u-gone", "deleted")
    await stores.user_apps.grant_access("edge-ü", "a" * 255, "u-gone")
    await stores.user_apps.revoke_access("edge-ü", "a" * 255, "u-gone")
    await stores.app_keys.store(f.key("edge-ü", "a" * 255, "k-revoked", prefix="p" * 50, user_id=None, scopes=[],
                                      expires_at=AT, metadata=NESTED))
    await stores.app_keys.revoke("k-revoked")


async def demo_with_edges() -> Stores:
    stores = await open_stores(Settings(use_postgres=False))
    await add_edge_rows(stores)
    return stores


async def digests(engine: object) -> dict[str, tuple[int, str]]:
    return {name: (d.rows, d.hex) for name, d in (await table_digests(engine)).items()}


def no_partial_files(directory: Path) -> bool:
    return not [p for p in directory.iterdir() if p.name.endswith(".partial")]


async def test_memory_file_memory_round_trip(tmp_path: Path) -> None:
    source = await demo_with_edges()
    path = tmp_path / "demo.snapshot"
    exported = await export_memory(source.engine, path)  # type: ignore[arg-type]
    assert exported.changes == source.engine.changes > 0  # type: ignore[attr-defined]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert no_partial_files(tmp_path)

    lines = path.read_bytes().splitlines()
    header, trailer = json.loads(lines[0]), json.loads(lines[-1])
    assert header["format"] == FORMAT and header["version"] == 1 and header["counts"]["tenants"] == 4
    assert header["columns"]["users"] == list(USERS.columns)
    assert set(trailer["digests"]) == {spec.name for spec in ALL_TABLES}
    assert any(b'"2026-02-03T04:05:06.789012"' in line for line in lines)  # timestamps with microseconds

    back = MemoryEngine()
    imported = await import_memory(back, path)
    assert imported.changes == back.changes == 1
    assert await digests(back) == await digests(source.engine)
    restored = Stores(back)
    assert await restored.tenants.get("edge-ü") == await source.tenants.get("edge-ü")
    assert (await restored.tenants.get("edge-ü")).config == NESTED
    gone = await restored.users.get("edge-ü", "u-gone")
    assert gone.status == "deleted" and gone.deleted_at is not None
    assert (await restored.users.get("edge-ü", "u-null")).full_name is None
    key = await restored.app_keys.get_by_id("k-revoked")
    assert key.revoked and key.revoked_at is not None and key.prefix == "p" * 50


async def test_postgres_file_postgres_round_trip(migrated_db: str, tmp_path: Path) -> None:
    source = await demo_with_edges()
    pg = await open_stores(pg_settings(migrated_db))
    try:
        await truncate_all(pg)
        await copy_tables(source.engine, pg.engine)
        path = tmp_path / "pg.snapshot"
        report = await copy_tables(pg.engine, SnapshotFile(path))
        assert report.source == "postgres" and report.target == "file"
        await truncate_all(pg)
        await copy_tables(SnapshotFile(path), pg.engine)
        assert await digests(pg.engine) == await digests(source.engine)
        assert await pg.tenants.get("edge-ü") == await source.tenants.get("edge-ü")
    finally:
        await pg.close()


def damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    lines = data.splitlines(keepends=True)
    if how == "cut_mid_line":
        path.write_bytes(data[: len(data) // 2])
    elif how == "no_trailer":
        path.write_bytes(b"".join(lines[:-1]))
    elif how == "edited_row":  # a plausible edit: another valid name, same length
        index = next(i for i, line in enumerate(lines) if line.startswith(b'["users",') and b"alice" in line)
        lines[index] = lines[index].replace(b"alice", b"alicf", 1)
        path.write_bytes(b"".join(lines))
    elif how == "dropped_row":
        index = next(i for i, line in enumerate(lines) if line.startswith(b'["users",'))
        path.write_bytes(b"".join(lines[:index] + lines[index + 1:]))
    elif how == "foreign_csv":
        path.write_text("id,name\n1,acme\n")
    elif how == "foreign_json":
        path.write_text('{"format": "something-else", "version": 1}\n')
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "newer_version":
        header = json.loads(lines[0])
        header["version"] = 2
        path.write_bytes(json.dumps(header).encode() + b"\n" + b"".join(lines[1:]))
    else:
        raise AssertionError(how)


REFUSALS = {
    "cut_mid_line": "cut short",
    "no_trailer": "trailer is missing",
    "edited_row": "do not match the digest",
    "dropped_row": "users has 479 rows but the header says 480",
    "foreign_csv": "is not a lokstra-console snapshot",
    "foreign_json": "is not a lokstra-console snapshot",
    "empty": "is empty",
    "newer_version": "format version 2",
}


@pytest.mark.parametrize("how", list(REFUSALS))
async def test_a_damaged_or_foreign_file_is_refused_and_the_memory_target_unchanged(tmp_path: Path, how: str) -> None:
    demo = await open_stores(Settings(use_postgres=False))
    path = tmp_path / "x.snapshot"
    await export_memory(demo.engine, path)  # type: ignore[arg-type]
    damage(path, how)
    target = MemoryEngine()
    from stores.demo import DemoSpec, load_into_memory

    load_into_memory(target, DemoSpec(users=25))
    before, changes = await digests(target), target.changes
    with pytest.raises(CopyFailed) as err:
        await import_memory(target, path, replace=True)
    assert REFUSALS[how] in str(err.value) and str(path) in str(err.value) and "unchanged" in str(err.value)
    assert isinstance(err.value.__context__, SnapshotFileError)
    assert await digests(target) == before and target.changes == changes


async def test_an_edited_file_is_refused_by_postgres_too(migrated_db: str, tmp_path: Path) -> None:
    demo = await open_stores(Settings(use_postgres=False))
    path = tmp_path / "edited.snapshot"
    await export_memory(demo.engine, path)  # type: ignore[arg-type]
    damage(path, "edited_row")
    pg = await open_stores(pg_settings(migrated_db))
    try:
        await truncate_all(pg)
        await pg.tenants.create(f.tenant("keep-me"))
        before = await digests(pg.engine)
        with pytest.raises(CopyFailed, match="do not match the digest"):
            await copy_tables(SnapshotFile(path), pg.engine, replace=True)
        assert await digests(pg.engine) == before  # the TRUNCATE rolled back with the COPY
    finally:
        await pg.close()


async def test_an_existing_file_is_not_overwritten_unless_replace(tmp_path: Path) -> None:
    demo = await open_stores(Settings(use_postgres=False))
    path = tmp_path / "precious.snapshot"
    path.write_text("precious")
    path.chmod(0o644)
    with pytest.raises(CopyFailed, match="already exists; refusing to overwrite"):
        await export_memory(demo.engine, path)  # type: ignore[arg-type]
    assert path.read_text() == "precious" and no_partial_files(tmp_path)
    await export_memory(demo.engine, path, replace=True)  # type: ignore[arg-type]
    assert path.read_bytes().startswith(b'{"format": "lokstra-console-snapshot"')
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


class BrokenSource:
    """A source whose users table fails half way through."""

    backend = "broken"

    def __init__(self, engine: MemoryEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[object]:
        async with self.engine.snapshot() as reader:
            inner = reader.batches

            async def batches(spec, size):  # noqa: ANN001, ANN202
                async for batch in inner(spec, 10):
                    yield batch
                    if spec is USERS:
                        raise StoreError("the source went away")

            reader.batches = batches
            yield reader


async def test_a_failed_write_leaves_no_file_under_the_real_name(tmp_path: Path) -> None:
    demo = await open_stores(Settings(use_postgres=False))
    path = tmp_path / "half.snapshot"
    with pytest.raises(CopyFailed, match="the source went away"):
        await copy_tables(BrokenSource(demo.engine), SnapshotFile(path))  # type: ignore[arg-type]
    assert not path.exists() and no_partial_files(tmp_path)

    path.write_text("old")
    with pytest.raises(CopyFailed):
        await copy_tables(BrokenSource(demo.engine), SnapshotFile(path), replace=True)  # type: ignore[arg-type]
    assert path.read_text() == "old" and no_partial_files(tmp_path)


async def test_a_missing_file_or_directory_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(CopyFailed, match="does not exist") as err:
        await import_memory(MemoryEngine(), tmp_path / "nope.snapshot")
    assert isinstance(err.value.__context__, SnapshotFileError) and err.value.__context__.usage
    demo = await open_stores(Settings(use_postgres=False))
    with pytest.raises(CopyFailed, match="directory .* does not exist"):
        await export_memory(demo.engine, tmp_path / "no" / "such.snapshot")  # type: ignore[arg-type]


async def test_changes_counts_every_successful_write() -> None:
    engine = MemoryEngine()
    stores = Stores(engine)
    assert engine.changes == 0
    await f.seed_basic(stores)  # tenant, app, branch, two users, a grant, a key: 7 writes
    assert engine.changes == 7
    with pytest.raises(AlreadyExists):
        await stores.users.create(f.user("acme", "u1"))
    assert engine.changes == 7, "a refused write changes nothing"
    await stores.users.update((await stores.users.get("acme", "u2")).model_copy(update={"full_name": "Two"}))  # replace
    await stores.users.set_status("acme", "u2", "suspended")  # patch
    assert engine.changes == 9
    await stores.user_apps.grant_access("acme", "web", "u1")  # already active: nothing changes
    assert engine.changes == 9
    await stores.user_apps.revoke_access("acme", "web", "u1")  # patch
    await stores.user_apps.grant_access("acme", "web", "u1")  # re-activated
    await engine.upsert_grant(UserApp(tenant_id="acme", app_id="web", user_id="u2", granted_at=AT))  # new
    assert engine.changes == 12
    assert not await engine.remove(USERS, ("acme", "ghost"))
    assert engine.changes == 12
    await stores.users.delete("acme", "u2")  # remove (cascades to its grant: one write)
    assert engine.changes == 13


async def test_export_remembers_the_counter_and_a_swapped_load_counts(tmp_path: Path) -> None:
    demo = await open_stores(Settings(use_postgres=False))
    engine: MemoryEngine = demo.engine  # type: ignore[assignment]
    assert engine.changes == 0, "the demo data is the starting point, not a change"
    await demo.tenants.create(f.tenant("new-one"))
    exported = await export_memory(engine, tmp_path / "a.snapshot")
    assert exported.changes == engine.changes == 1
    await demo.tenants.set_status("new-one", "suspended")
    assert engine.changes != exported.changes, "a write after the export is unsaved"

    target = MemoryEngine()
    with pytest.raises(CopyFailed):  # a failed load is not swapped in and does not count
        await copy_tables(BrokenSource(engine), target)  # type: ignore[arg-type]
    assert target.changes == 0
    imported = await import_memory(target, tmp_path / "a.snapshot")
    assert imported.changes == target.changes == 1
    assert (await Stores(target).tenants.get("new-one")).status == "active"
    assert len(target.tables[TENANTS.name].rows) == 4
