"""Hostile snapshot files (issue 18 item 5): wrongly-typed header and trailer fields, deep
JSON, a FIFO or a device where a file should be, and values PostgreSQL refuses with digests
that match (an edited file whose trailer was recomputed). Each is refused with a message
naming the file (and for a value: the line, table and column) before any row reaches the
target, the same way for the memory trial load and for PostgreSQL; the target is unchanged."""
from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stores import Settings, open_stores
from stores.columns import columns
from stores.memory.engine import MemoryEngine
from stores.models import MAX_JSON_DEPTH, check_json, json_storable
from stores.tables import ALL_TABLES, BY_NAME
from stores.transfer.copy import CopyFailed, copy_tables, table_digests
from stores.transfer.digest import TableDigest
from stores.transfer.snapshot_file import SnapshotFile, SnapshotFileError, _line_decoder, export_memory
from tests.support.databases import pg_settings, truncate_all


async def snapshot(tmp_path: Path) -> Path:
    demo = await open_stores(Settings(use_postgres=False))
    path = tmp_path / "x.snapshot"
    await export_memory(demo.engine, path)  # type: ignore[arg-type]
    return path


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def rewrite(path: Path, index: int, change: Callable[[dict[str, Any]], None]) -> None:
    """Change the JSON object on line ``index`` (0: the header, -1: the trailer)."""
    found = lines(path)
    value = json.loads(found[index])
    change(value)
    found[index] = json.dumps(value).encode() + b"\n"
    path.write_bytes(b"".join(found))


def edit_row(path: Path, table: str, column: str, value_json: str) -> int:
    """Set ``column`` of the first ``table`` row to the JSON text ``value_json`` and recompute
    that table's digest in the trailer, as a careful forger would; the line number edited."""
    found = lines(path)
    spec = BY_NAME[table]
    position = 1 + spec.columns.index(column)
    edited = None
    for number, line in enumerate(found):
        if line.startswith(f'["{table}"'.encode()) and edited is None:
            values = [json.dumps(v, ensure_ascii=False) for v in json.loads(line)]
            values[position] = value_json
            found[number] = ("[" + ",".join(values) + "]\n").encode()
            edited = number
    assert edited is not None
    decode = _line_decoder(spec, path)  # no checks: the forger's digest of what the file says
    digest = TableDigest(table)
    for line in found:
        if line.startswith(f'["{table}"'.encode()):
            try:
                digest.add(decode(line, 0))
            except SnapshotFileError:  # a timestamp that is none: digested as the text it is
                digest.add(tuple(json.loads(line)[1:]))
    trailer = json.loads(found[-1])
    trailer["digests"][table] = digest.hex
    found[-1] = json.dumps(trailer).encode() + b"\n"
    path.write_bytes(b"".join(found))
    return edited + 1


class Spy:
    """A target that records whether any row reached it."""

    backend = "spy"

    def __init__(self) -> None:
        self.engine = MemoryEngine()
        self.rows = 0

    @asynccontextmanager
    async def loader(self, replace: bool = False) -> AsyncIterator[Any]:
        async with self.engine.loader(replace=replace) as inner:
            spy = self

            class Counting:
                async def load_batches(self, spec: Any, batches: AsyncIterator[list[Any]]) -> None:
                    async def counted() -> AsyncIterator[list[Any]]:
                        async for batch in batches:
                            spy.rows += len(batch)
                            yield batch

                    await inner.load_batches(spec, counted())

                async def digest(self, spec: Any, keyed: bool = False) -> Any:
                    return await inner.digest(spec, keyed)

            yield Counting()


async def refused(path: Path) -> str:
    """Load ``path`` into a fresh memory engine (through the spy): the refusal's text; no row may have arrived."""
    target = Spy()
    with pytest.raises(CopyFailed) as err:
        await asyncio.wait_for(copy_tables(SnapshotFile(path), target), timeout=30)
    assert isinstance(err.value.__context__, SnapshotFileError), repr(err.value.__context__)
    assert target.rows == 0, "a row reached the target before the refusal"
    assert all(not table.rows for table in target.engine.tables.values())
    assert str(path) in str(err.value) and "unchanged" in str(err.value)
    return str(err.value)


# ----- header and trailer fields of the wrong type ---------------------------------------------

HEADERS: dict[str, Callable[[dict[str, Any]], None]] = {
    "counts a list": lambda h: h.update(counts=[]),
    "counts a string": lambda h: h.update(counts="480"),
    "a count a string": lambda h: h["counts"].update(users="480"),
    "a count a boolean": lambda h: h["counts"].update(tenants=True),
    "a count negative": lambda h: h["counts"].update(tenants=-1),
    "version true": lambda h: h.update(version=True),
    "version a string": lambda h: h.update(version="1"),
    "version a list": lambda h: h.update(version=[1]),
    "columns a list": lambda h: h.update(columns=[]),
    "created_at a number": lambda h: h.update(created_at=5),
    "format a number": lambda h: h.update(format=1),
    "counts deeply nested": lambda h: h.update(counts=json.loads("[" * 900 + "]" * 900)),
}


async def test_a_header_nested_past_what_the_parser_takes_is_refused(tmp_path: Path) -> None:
    path = await snapshot(tmp_path)
    found = lines(path)
    path.write_bytes(b'{"format": "lokstra-console-snapshot", "x": ' + b"[" * 30_000 + b"]" * 30_000 + b"}\n"
                     + b"".join(found[1:]))
    assert "not a lokstra-console snapshot" in await refused(path)


TRAILERS: dict[str, Callable[[dict[str, Any]], None]] = {
    "counts a list": lambda t: t.update(counts=[1, 2]),
    "a count a float": lambda t: t["counts"].update(users=480.0),
    "digests a list": lambda t: t.update(digests=["a"]),
    "a digest a number": lambda t: t["digests"].update(users=7),
    "a digest not hex": lambda t: t["digests"].update(users="z" * 64),
    "digests missing": lambda t: t.pop("digests"),
    "deep nesting": lambda t: t.update(digests=json.loads("[" * 900 + "]" * 900)),
}


REFUSALS = ("damaged header", "format version", "not a lokstra-console", "columns than this console",
            "not a snapshot trailer", "no digest for")


@pytest.mark.parametrize(("index", "how"), [(0, how) for how in HEADERS] + [(-1, how) for how in TRAILERS],
                         ids=[f"header: {how}" for how in HEADERS] + [f"trailer: {how}" for how in TRAILERS])
async def test_a_header_or_trailer_field_of_the_wrong_type_is_refused(tmp_path: Path, index: int, how: str) -> None:
    path = await snapshot(tmp_path)
    rewrite(path, index, (HEADERS if index == 0 else TRAILERS)[how])
    text = await refused(path)
    assert any(words in text for words in REFUSALS), text


async def test_a_row_nested_past_what_the_parser_takes_is_refused(tmp_path: Path) -> None:
    path = await snapshot(tmp_path)
    found = lines(path)
    number = next(i for i, line in enumerate(found) if line.startswith(b'["users"'))
    found[number] = found[number][:-2] + b"," + b"[" * 30_000 + b"]" * 30_000 + b"]\n"
    path.write_bytes(b"".join(found))
    text = await refused(path)
    assert f"line {number + 1}" in text and ("nests JSON deeper" in text or "damaged" in text), text


# ----- not a regular file ----------------------------------------------------------------------

def _unblock(fifo: Path) -> None:
    """Open the FIFO's writing end and close it: a reader blocked in open() then reads nothing."""
    try:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:  # no reader waiting (ENXIO): nothing to unblock
        pass


async def test_a_fifo_a_device_and_a_directory_are_refused_without_waiting(tmp_path: Path) -> None:
    """A FIFO used to hang the reader: open() waits for a writer that never comes."""
    fifo = tmp_path / "pipe.snapshot"
    os.mkfifo(fifo)
    watchdog = threading.Timer(10, _unblock, (fifo,))  # a reader stuck in open() fails the test instead of hanging it
    watchdog.start()
    try:
        assert "is a named pipe (FIFO), not a snapshot file" in await refused(fifo)
    finally:
        watchdog.cancel()
    assert "is a character device, not a snapshot file" in await refused(Path("/dev/null"))
    assert "is a directory, not a snapshot file" in await refused(tmp_path)
    link = tmp_path / "link.snapshot"
    link.symlink_to(fifo)
    assert "named pipe" in await refused(link)


# ----- values PostgreSQL refuses, digests recomputed ---------------------------------------------

VALUES = {  # (table, column, JSON text in the file, what the refusal says)
    "256 characters in a varchar(255)": ("tenants", "name", json.dumps("n" * 256), "is 256 characters long"),
    "5 MB in a varchar(255)": ("users", "username", json.dumps("u" * 5_000_000), "is 5,000,000 characters long"),
    "51 characters in a varchar(50)": ("users", "status", json.dumps("s" * 51), "at most 50"),
    "NaN in jsonb": ("tenants", "settings", '{"quota": NaN}', "must be finite"),
    "Infinity in jsonb": ("apps", "config", "[Infinity]", "must be finite"),
    "a string in a boolean": ("app_keys", "revoked", '"yes"', "must be true or false"),
    "a number in text": ("users", "email", "42", "must be text, not a number"),
    "null in NOT NULL": ("tenants", "db_dsn", "null", "is null, and the column is NOT NULL"),
    "null created_at": ("apps", "created_at", "null", "NOT NULL"),
    "NUL in text": ("users", "full_name", '"a\\u0000b"', "NUL"),
    "a lone surrogate": ("branches", "name", '"\\ud800"', "lone surrogate"),
    "a lone surrogate in a jsonb key": ("users", "metadata", '{"\\udc00": 1}', "lone surrogate"),
    "a time zone": ("users", "created_at", '"2026-01-01T00:00:00+05:00"', "without time zone"),
    "not a timestamp": ("user_apps", "granted_at", '"yesterday"', "is not a timestamp"),
    "a number for a timestamp": ("user_apps", "granted_at", "5", "must be a timestamp"),
    "jsonb too deep": ("users", "metadata", "[" * (MAX_JSON_DEPTH + 2) + "]" * (MAX_JSON_DEPTH + 2), "nest deeper"),
}


@pytest.mark.parametrize("how", list(VALUES))
async def test_a_value_postgresql_refuses_is_refused_before_any_write(tmp_path: Path, how: str) -> None:
    table, column, value, says = VALUES[how]
    path = await snapshot(tmp_path)
    number = edit_row(path, table, column, value)
    text = await refused(path)
    assert f"line {number}: {table}.{column} " in text and says in text and "PostgreSQL would refuse it" in text, text


async def test_postgresql_gets_the_same_refusal_before_any_row(migrated_db: str, tmp_path: Path) -> None:
    """The same edited file against PostgreSQL: our refusal (line, table, column), not the
    server's, and the database untouched."""
    settings = pg_settings(migrated_db)
    stores = await open_stores(settings)
    try:
        await truncate_all(stores)
        before = {name: (d.rows, d.hex) for name, d in (await table_digests(stores.engine)).items()}
        for how in ("a string in a boolean", "NaN in jsonb", "256 characters in a varchar(255)"):
            table, column, value, says = VALUES[how]
            path = await snapshot(tmp_path)
            number = edit_row(path, table, column, value)
            memory = await refused(path)
            with pytest.raises(CopyFailed) as err:
                await copy_tables(SnapshotFile(path), stores.engine, replace=True)
            assert isinstance(err.value.__context__, SnapshotFileError) and err.value.__context__.cause == "invalid"
            assert str(err.value).split(" failed: ")[1] == memory.split(" failed: ")[1], "one validation"
            assert f"line {number}: {table}.{column}" in str(err.value) and says in str(err.value)
            path.unlink()
        after = {name: (d.rows, d.hex) for name, d in (await table_digests(stores.engine)).items()}
        assert after == before
    finally:
        await stores.close()


def test_the_column_rules_are_the_catalogs(pg_catalog_columns: dict[tuple[str, str], tuple[str, int | None, bool]]) -> None:
    """The rules read from the models equal migration 001's columns: type, length, NULL."""
    kinds = {"text": {"character varying", "text"}, "bool": {"boolean"}, "timestamp": {"timestamp without time zone"},
             "json": {"jsonb"}}
    for spec in ALL_TABLES:
        for rule in columns(spec):
            data_type, length, nullable = pg_catalog_columns[(spec.name, rule.name)]
            assert data_type in kinds[rule.kind], (spec.name, rule.name, data_type)
            assert (length, nullable) == (rule.max_length, rule.nullable), (spec.name, rule.name)


@pytest.fixture
async def pg_catalog_columns(migrated_db: str) -> dict[tuple[str, str], tuple[str, int | None, bool]]:
    import asyncpg

    conn = await asyncpg.connect(migrated_db)
    try:
        rows = await conn.fetch("SELECT table_name, column_name, data_type, character_maximum_length, is_nullable "
                                "FROM information_schema.columns WHERE table_schema = 'lokstra_auth'")
    finally:
        await conn.close()
    return {(r["table_name"], r["column_name"]): (r["data_type"], r["character_maximum_length"], r["is_nullable"] == "YES")
            for r in rows}


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(st.characters(codec=None, exclude_categories=())),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=30)


@settings(max_examples=500, deadline=None, database=None)
@given(JSON_VALUES)
def test_the_quick_json_check_agrees_with_the_full_one(value: Any) -> None:
    try:
        check_json(value)
        storable = True
    except ValueError:
        storable = False
    assert json_storable(value) is storable
