"""A copy that fails part-way leaves the target as it was, says what happened, and can be retried.

Faults are real: a TCP proxy (tests/support/faultproxy.py) between the engine and PostgreSQL
cuts, stalls or refuses connections; cancellations are ``task.cancel()``; verification
failures are injected by test-only loaders. The target is always checked through a direct
connection, never through the engine that failed.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from stores import open_stores
from stores.demo import DemoSpec, load_into_memory
from stores.memory.bulk import MemoryLoader
from stores.memory.engine import MemoryEngine
from stores.postgres import bulk as postgres_bulk
from stores.tables import TableSpec
from stores.transfer.copy import CopyFailed, Row, copy_tables
from tests.support.databases import pg_settings, truncate_all
from tests.support.digests import direct_digests, engine_digests
from tests.support.faultproxy import FaultProxy
from tests.support.waits import cut_noticed
from tests.support.environment import assert_pool_healthy

PASSWORD = "s3cret-Pa55word"


def with_password(dsn: str) -> tuple[str, str]:
    """``dsn`` with a password (the cluster trusts local connections, so any will do), and the password."""
    parts = urlsplit(dsn)
    if parts.password:
        return dsn, parts.password
    user, host = parts.netloc.rsplit("@", 1)
    return urlunsplit((parts.scheme, f"{user}:{PASSWORD}@{host}", parts.path, parts.query, parts.fragment)), PASSWORD


def upstream(dsn: str) -> tuple[str, int]:
    parts = urlsplit(dsn)
    return parts.hostname or "127.0.0.1", parts.port or 5432


async def constraints(dsn: str) -> list[tuple[str, str, str]]:
    """Every constraint of the six tables, as PostgreSQL defines it (the load drops and re-adds
    the foreign keys: a failure must leave them all as they were)."""
    conn = await asyncpg.connect(dsn)
    try:
        return [tuple(r) for r in await conn.fetch(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) || CASE WHEN convalidated THEN '' "
            "ELSE ' (not validated)' END FROM pg_constraint WHERE connamespace = 'lokstra_auth'::regnamespace "
            "ORDER BY 1, 2")]
    finally:
        await conn.close()


def demo(users: int) -> MemoryEngine:
    engine = MemoryEngine()
    load_into_memory(engine, DemoSpec(users=users))
    return engine


async def sessions_in_transaction(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        for _ in range(300):  # a backend notices its client is gone when it next reads: up to 30 s
            count = await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                        "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()")
            if count == 0:
                return 0
            await asyncio.sleep(0.1)
        return count
    finally:
        await conn.close()


def assert_clear(message: str, table: str, secret: str) -> None:
    assert table in message, message
    assert "The target is unchanged" in message, message
    assert "Traceback" not in message and "File \"" not in message, message
    assert secret not in message, message


@pytest.fixture
async def seeded(migrated_db: str) -> AsyncIterator[str]:
    """The migrated database holding a small copy of the demo data (what "unchanged" must keep)."""
    stores = await open_stores(pg_settings(migrated_db))
    try:
        await truncate_all(stores)
        await copy_tables(demo(40), stores.engine)
    finally:
        await stores.close()
    yield migrated_db


# ----- a lost connection -------------------------------------------------------------------------

async def test_a_connection_cut_half_way_through_a_copy_into_postgres(seeded: str) -> None:
    before, defined = await direct_digests(seeded), await constraints(seeded)
    assert len([c for c in defined if "FOREIGN KEY" in c[2]]) == 6
    source = demo(3000)
    async with FaultProxy(*upstream(seeded)) as proxy:
        dsn, secret = with_password(proxy.dsn(seeded))
        stores = await open_stores(pg_settings(dsn, pool_max_size=3))
        try:
            proxy.drop_after(150_000)  # about a third of the way into the users table
            with pytest.raises(CopyFailed) as failed:
                await copy_tables(source, stores.engine, replace=True)
            assert proxy.stats.cut >= 1
            assert failed.value.table == "users"
            assert_clear(str(failed.value), "users", secret)
            assert "lost" in str(failed.value).lower() or "closed" in str(failed.value).lower()
            assert await direct_digests(seeded) == before
            assert await sessions_in_transaction(seeded) == 0
            assert await constraints(seeded) == defined

            proxy.heal()
            report = await copy_tables(source, stores.engine, replace=True)
            assert report.rows == sum(rows for rows, _ in (await engine_digests(source)).values())
            assert await direct_digests(seeded) == await engine_digests(source)
            assert await constraints(seeded) == defined
            await assert_pool_healthy(stores.engine)
            assert (await stores.users.get("acme-corp", "u00002999")).username.endswith("2999")
        finally:
            await stores.close()


async def test_cancelling_a_copy_into_postgres_leaves_the_target_unchanged(seeded: str) -> None:
    before, defined = await direct_digests(seeded), await constraints(seeded)
    source = demo(3000)
    stores = await open_stores(pg_settings(seeded, pool_max_size=3))
    try:
        half_way = asyncio.Event()

        def progress(table: str, done: int, expected: int) -> None:
            if table == "users" and done >= expected // 2:
                half_way.set()

        task = asyncio.ensure_future(copy_tables(source, stores.engine, replace=True, progress=progress, batch_size=200))
        await asyncio.wait_for(half_way.wait(), 30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await direct_digests(seeded) == before
        assert await constraints(seeded) == defined
        assert await sessions_in_transaction(seeded) == 0
        await assert_pool_healthy(stores.engine)
        await copy_tables(source, stores.engine, replace=True)  # and the engine still copies
        assert await direct_digests(seeded) == await engine_digests(source)
    finally:
        await stores.close()


async def test_a_stalled_connection_fails_the_copy_after_the_command_timeout(migrated_db: str) -> None:
    cleaner = await open_stores(pg_settings(migrated_db))
    await truncate_all(cleaner)
    await cleaner.close()
    before = await constraints(migrated_db)
    source = demo(3000)
    async with FaultProxy(*upstream(migrated_db)) as proxy:
        dsn, secret = with_password(proxy.dsn(migrated_db))
        stores = await open_stores(pg_settings(dsn, pool_max_size=3, command_timeout=1.5))
        try:
            def progress(table: str, done: int, expected: int) -> None:
                if table == "users" and done >= 1000 and proxy.mode == "pass":
                    proxy.stall()

            started = time.monotonic()
            with pytest.raises(CopyFailed) as failed:
                await copy_tables(source, stores.engine, progress=progress, batch_size=250)
            assert time.monotonic() - started < 20
            assert_clear(str(failed.value), "users", secret)
            assert "a stalled connection" in str(failed.value) and "the COPY was abandoned" in str(failed.value)
            # The server-side session still waits for the rest of the COPY (the proxy acknowledges
            # everything and forwards nothing): only when the link is healed does it hear that its
            # client gave up, roll back and release its locks.
            proxy.heal()
            assert await sessions_in_transaction(migrated_db) == 0
            assert all(rows == 0 for rows, _ in (await direct_digests(migrated_db)).values())
            assert await constraints(migrated_db) == before
            await assert_pool_healthy(stores.engine)
        finally:
            await stores.close()
        retry = await open_stores(pg_settings(dsn, pool_max_size=3))
        try:
            await copy_tables(source, retry.engine)
            assert await direct_digests(migrated_db) == await engine_digests(source)
        finally:
            await retry.close()


async def test_a_refused_connection_is_reported_without_a_traceback(seeded: str) -> None:
    before = await direct_digests(seeded)
    async with FaultProxy(*upstream(seeded)) as proxy:
        dsn, secret = with_password(proxy.dsn(seeded))
        stores = await open_stores(pg_settings(dsn, pool_max_size=2, connect_timeout=3))
        try:
            proxy.refuse()
            await proxy.settled()
            await cut_noticed(stores.engine)
            with pytest.raises(CopyFailed) as failed:
                await copy_tables(demo(30), stores.engine, replace=True)
            message = str(failed.value)
            assert "refused" in message.lower() and "unchanged" in message and secret not in message, message
            await proxy.healed()
            await copy_tables(demo(30), stores.engine, replace=True)
            await assert_pool_healthy(stores.engine)
        finally:
            await stores.close()
    assert await direct_digests(seeded) != before  # the retry did land


async def test_a_postgres_source_cut_half_way_leaves_the_memory_target_unchanged(seeded: str) -> None:
    target = demo(7)
    before = await engine_digests(target)
    async with FaultProxy(*upstream(seeded)) as proxy:
        dsn, secret = with_password(proxy.dsn(seeded))
        stores = await open_stores(pg_settings(dsn, pool_max_size=3))
        try:
            def progress(table: str, done: int, expected: int) -> None:
                if table == "users" and 0 < done < expected and proxy.stats.cut == 0:
                    proxy.cut_all()

            with pytest.raises(CopyFailed) as failed:
                await copy_tables(stores.engine, target, replace=True, progress=progress, batch_size=10)
            assert_clear(str(failed.value), "users", secret)
            assert "reading the postgres source failed" in str(failed.value)
            assert await engine_digests(target) == before
            await copy_tables(stores.engine, target, replace=True)
            assert await engine_digests(target) == await direct_digests(seeded)
        finally:
            await stores.close()


async def test_a_connection_lost_during_the_commit_says_the_outcome_is_unknown(migrated_db: str, monkeypatch) -> None:
    """The one moment a copy cannot promise "unchanged": the commit was sent, no answer came."""
    stores = await open_stores(pg_settings(migrated_db))
    await truncate_all(stores)
    commit = asyncpg.transaction.Transaction.commit

    async def commit_then_lose_the_answer(self) -> None:
        if self._connection._top_xact is self:  # the loader's transaction, not a savepoint
            await commit(self)
            raise asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")
        await commit(self)

    try:
        monkeypatch.setattr(asyncpg.transaction.Transaction, "commit", commit_then_lose_the_answer)
        with pytest.raises(CopyFailed) as failed:
            await copy_tables(demo(20), stores.engine)
        monkeypatch.undo()
        message = str(failed.value)
        assert "may hold the whole copy or none of it" in message and "unchanged" not in message, message
        assert (await direct_digests(migrated_db))["users"][0] > 0  # here it did land: check, as the message says
    finally:
        monkeypatch.undo()
        await stores.close()


# ----- the target refuses the rows ----------------------------------------------------------------

async def test_a_constraint_failure_in_postgres_names_the_table_and_leaves_the_target_unchanged(seeded: str) -> None:
    before = await direct_digests(seeded)
    source = demo(30)
    grant = next(iter(source.tables["user_apps"].rows.values()))
    orphan = grant.model_copy(update={"user_id": "ghost"})
    source.tables["user_apps"].add(orphan)  # only possible by going around the stores
    stores = await open_stores(pg_settings(seeded))
    try:
        with pytest.raises(CopyFailed) as failed:
            await copy_tables(source, stores.engine, replace=True)
        message = str(failed.value)
        assert failed.value.table == "user_apps"
        assert "fk_user_apps_user" in message and "ghost" in message and "unchanged" in message, message
        assert await direct_digests(seeded) == before
        await assert_pool_healthy(stores.engine)
    finally:
        await stores.close()


# ----- verification -------------------------------------------------------------------------------

class DroppingLoader(MemoryLoader):
    """Loses one user on the way in (test only)."""

    async def load_batches(self, spec: TableSpec, batches: AsyncIterator[list[Row]]) -> None:
        async def without() -> AsyncIterator[list[Row]]:
            async for batch in batches:
                yield [row for row in batch if not (spec.name == "users" and row[:2] == ("u00000007", "acme-corp"))]

        await super().load_batches(spec, without())


class LossyMemoryEngine(MemoryEngine):
    def loader(self, replace: bool = False):  # noqa: ANN201
        @asynccontextmanager
        async def opened() -> AsyncIterator[DroppingLoader]:
            staging = DroppingLoader()
            yield staging
            self.tables = staging.staging.tables

        return opened()


async def test_a_row_lost_by_the_loader_fails_verification_naming_the_table_and_key() -> None:
    target = LossyMemoryEngine()
    with pytest.raises(CopyFailed) as failed:
        await copy_tables(demo(30), target)
    assert failed.value.table == "users"
    assert failed.value.differing_keys == ["acme-corp/u00000007"]
    message = str(failed.value)
    assert "verification failed for users" in message and "acme-corp/u00000007" in message and "unchanged" in message
    assert not any(table.rows for table in target.tables.values())


class AlteringLoader(postgres_bulk.PostgresLoader):
    """Changes one value of one user on its way into PostgreSQL (test only)."""

    async def load_batches(self, spec: TableSpec, batches: AsyncIterator[list[Row]]) -> None:
        async def altered() -> AsyncIterator[list[Row]]:
            position = spec.columns.index("full_name") if spec.name == "users" else None
            async for batch in batches:
                yield [row[:position] + ("Mallory",) + row[position + 1:]
                       if position is not None and row[:2] == ("u00000011", "acme-corp") else row for row in batch]

        await super().load_batches(spec, altered())


async def test_a_value_altered_on_the_way_into_postgres_fails_verification(seeded: str, monkeypatch) -> None:
    before = await direct_digests(seeded)
    monkeypatch.setattr(postgres_bulk, "PostgresLoader", AlteringLoader)
    stores = await open_stores(pg_settings(seeded))
    try:
        with pytest.raises(CopyFailed) as failed:
            await copy_tables(demo(30), stores.engine, replace=True)
        assert failed.value.table == "users" and failed.value.differing_keys == ["acme-corp/u00000011"]
        assert "verification failed for users" in str(failed.value) and "unchanged" in str(failed.value)
        assert await direct_digests(seeded) == before
    finally:
        await stores.close()


async def test_a_mismatch_on_a_big_table_names_a_sorted_sample_of_keys(seeded: str) -> None:
    class Shuffled(MemoryLoader):
        async def load_batches(self, spec: TableSpec, batches: AsyncIterator[list[Row]]) -> None:
            async def changed() -> AsyncIterator[list[Row]]:
                status = spec.columns.index("status") if spec.name == "user_apps" else None
                async for batch in batches:
                    yield [row[:status] + ("revoked" if row[status] == "active" else "active",) + row[status + 1:]
                           if status is not None else row for row in batch]

            await super().load_batches(spec, changed())

    class Target(MemoryEngine):
        def loader(self, replace: bool = False):  # noqa: ANN201
            @asynccontextmanager
            async def opened() -> AsyncIterator[Shuffled]:
                yield Shuffled()

            return opened()

    stores = await open_stores(pg_settings(seeded))
    try:
        with pytest.raises(CopyFailed) as failed:
            await copy_tables(stores.engine, Target())
        keys = failed.value.differing_keys
        assert failed.value.table == "user_apps" and len(keys) == 5, str(failed.value)
        assert keys == sorted(keys)
    finally:
        await stores.close()


# ----- the proxy itself ---------------------------------------------------------------------------

@asynccontextmanager
async def echo_server(received: list[int] | None = None) -> AsyncIterator[int]:
    """An echo server on a free port; ``received`` gets the byte count of each finished connection."""
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        total = 0
        try:
            while data := await reader.read(65536):
                total += len(data)
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            if received is not None:
                received.append(total)
            writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def exchange(port: int, payload: bytes, timeout: float = 2.0) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(payload)
        await writer.drain()
        received = b""
        async with asyncio.timeout(timeout):
            while len(received) < len(payload):
                chunk = await reader.read(65536)
                if not chunk:
                    break
                received += chunk
        return received
    finally:
        writer.close()


async def test_the_fault_proxy_modes() -> None:
    received: list[int] = []
    async with echo_server(received) as port, FaultProxy("127.0.0.1", port, lifetime=30) as proxy:
        assert await exchange(proxy.port, b"hello" * 1000) == b"hello" * 1000

        proxy.drop_after(100)
        assert len(await exchange(proxy.port, b"x" * 1000)) < 1000  # the link is cut before the echo is all back
        for _ in range(100):
            if len(received) == 2:
                break
            await asyncio.sleep(0.01)
        assert received[1] == 100 and proxy.stats.cut == 1  # exactly 100 bytes reached the server

        proxy.stall()
        with pytest.raises(TimeoutError):
            await exchange(proxy.port, b"ping", timeout=0.3)

        proxy.slow(0.05, chunk=2)
        started = time.monotonic()
        assert await exchange(proxy.port, b"abcdef") == b"abcdef"
        assert time.monotonic() - started >= 0.15  # 3 pieces up, 50 ms each (the way back overlaps)

        proxy.refuse()
        await proxy.settled()
        with pytest.raises(OSError):
            await exchange(proxy.port, b"anyone?")
        await proxy.healed()
        assert await exchange(proxy.port, b"back") == b"back"


async def test_the_fault_proxy_stops_itself() -> None:
    async with echo_server() as port:
        proxy = await FaultProxy("127.0.0.1", port, lifetime=0.2).start()
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        proxy.stall()
        await asyncio.sleep(0.5)
        assert await asyncio.wait_for(reader.read(10), 2) == b""  # the link was cut when the proxy stopped
        writer.close()
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", proxy.port)
        await proxy.stop()
