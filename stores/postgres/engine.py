"""The PostgreSQL engine on an asyncpg pool (lokstra's tables in the data schema, ``lokstra_auth`` by default)."""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from migrations import pooler
from migrations.pooler import Pooler
from stores.clock import UTC_CLOCK, Clock
from stores.errors import (
    AlreadyExists,
    BackendUnavailable,
    LayoutUnsupported,
    ReadOnly,
    ReferenceMissing,
    StillReferenced,
    StoreError,
    ValidationFailed,
)
from stores.layouts import LayoutReport
from stores.models import Record, User, UserApp
from stores.postgres import facts
from stores.postgres.diagnose import MIGRATE_HINT, diagnose
from stores.secrets import scrub
from stores.postgres.sql import Params, column_list, key_clause, page_sql, q, select_sql
from stores.query import Condition, Eq, PageRequest, RowCount
from stores.settings import ConnectionTarget, Settings
from stores.tables import ALL_TABLES, PARENT_LABEL, USER_APPS, USERS, ForeignKey, TableSpec, Unique

log = logging.getLogger("lokstra.stores")

_bound: ContextVar[tuple[object, asyncpg.Connection, asyncio.Task | None] | None] = ContextVar(
    "postgres_atomic", default=None)
"""(engine, connection, task) of the ``atomic()`` block the current task is in. A task
started inside a block inherits the variable; the task check keeps it off that connection."""

AUDIT_MISSING = ("the console's audit table (lokstra_console.audit_log) does not exist: apply migration 003 "
                 "(Migrations screen, or `lokstra-console migrate up`); nothing was changed")

EXACT_COUNT_BELOW = 10_000
"""Below this planner estimate, ``estimate`` runs an exact ``count(*)`` (cheap at that size)."""


def _jsonb_encode(value: Any) -> bytes:
    return b"\x01" + json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")


def _jsonb_decode(data: bytes) -> Any:
    return json.loads(data[1:])  # binary jsonb is a version byte (1) and the text


async def init_connection(conn: asyncpg.Connection) -> None:
    """jsonb in and out as Python values (SQL NULL stays None), in binary format so that
    COPY (``copy_records_to_table``) can send it too."""
    await conn.set_type_codec("jsonb", encoder=_jsonb_encode, decoder=_jsonb_decode, schema="pg_catalog", format="binary")


async def reset_connection(conn: asyncpg.Connection) -> None:
    """What a connection needs before it goes back to the pool.

    asyncpg's default reset sends ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL`` on every release: one more round trip per store call. The store never
    changes session state (no SET, LISTEN, session advisory locks or cursors outside a
    transaction; read-only mode is a startup parameter), so only an unfinished transaction,
    left by a cancelled call, has to be undone.
    """
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


def session_clock(zone: str, offset_seconds: float) -> Clock:
    """The clock of a session whose TimeZone is ``zone`` (now ``offset_seconds`` from UTC):
    by name where Python knows it, else as a fixed offset (e.g. a POSIX ``<+07>-07``)."""
    try:
        return Clock(zone)
    except ValueError:
        return Clock.fixed(zone, timedelta(seconds=round(offset_seconds)))


def row_model(spec: TableSpec, record: asyncpg.Record) -> Record:
    # Rows from the database are shown as they are, even if our input rules would refuse them.
    # Queries select exactly ``spec.columns`` (never *), so a database with extra columns works.
    return spec.model.from_row(dict(zip(spec.columns, record)))


class PostgresEngine:
    backend = "postgres"

    def __init__(self, pool: asyncpg.Pool, target: ConnectionTarget, settings: Settings | None = None,
                 pooler: Pooler | None = None) -> None:
        self.pool = pool
        self.target = target
        self.settings = settings
        """The settings this engine was opened with (the console shows and reuses them)."""
        self.pooler = pooler
        """The connection pooler found in front of the server at open (then the pool's
        connections have no statement cache, whatever ``statement_cache_size`` says)."""
        self.schema = target.schema
        """Where lokstra's tables are (``DB_AUTH_SCHEMA``)."""
        self.clock = Clock(target.time_zone) if target.time_zone else UTC_CLOCK
        """The wall clock of the sessions (``stores.clock``); read from the server at open."""
        self.layout: LayoutReport | None = None
        """Which of lokstra-auth's layouts the data schema holds (``stores.layouts``); read at open."""
        self._lacking: dict[str, str] = {}
        """Table -> why the console cannot use it on this layout (columns it describes are missing)."""

    @classmethod
    async def open(cls, settings: Settings) -> PostgresEngine:
        target = settings.connection()
        connect_kwargs = target.connect_kwargs()
        try:
            found = await pooler.probe(connect_kwargs)
            if found is not None:
                connect_kwargs["statement_cache_size"] = 0
                log.info("%s: %s", target.display(), found.describe())
            pool = await asyncpg.create_pool(
                min_size=settings.pool_min_size,
                max_size=settings.pool_max_size,
                max_inactive_connection_lifetime=settings.pool_max_inactive_lifetime,
                init=init_connection,
                reset=reset_connection,
                **connect_kwargs,
            )
        except Exception as exc:
            raise cls._unavailable(exc, target) from None
        engine = cls(pool, target, settings, found)
        try:
            await engine.check_schema()
        except BaseException:
            await pool.close()
            raise
        return engine

    @staticmethod
    def _unavailable(exc: BaseException, target: ConnectionTarget) -> StoreError:
        found = diagnose(exc, target.display(), target.secrets())
        if found is not None:
            return found
        if isinstance(exc, asyncpg.PostgresError):
            detail = f"{exc.message} (SQLSTATE {exc.sqlstate})"
            return StoreError(scrub(f"the database refused the operation: {detail}", target.secrets()))
        return StoreError(scrub(f"cannot use {target.display()}: {exc}", target.secrets()))

    async def check_schema(self) -> None:
        async with self.connection() as conn:
            zone, offset = await conn.fetchrow(
                "SELECT current_setting('TimeZone'), "
                "extract(epoch FROM now()::timestamp - (now() AT TIME ZONE 'UTC'))::float8")
            self.clock = session_clock(zone, offset)
            self.layout = await facts.layout(conn, self.schema)
            self._lacking = dict(self.layout.unusable)
            missing = await conn.fetchval(
                "SELECT array_agg(t) FROM unnest($1::text[]) AS t WHERE to_regclass(t) IS NULL",
                [spec.relation(self.schema) for spec in ALL_TABLES],
            )
        if missing:
            raise BackendUnavailable(
                "not_migrated",
                f"The {self.schema} schema has not been migrated (relation {missing[0]} does not exist)",
                MIGRATE_HINT, self.target.display())

    def _bound_connection(self) -> asyncpg.Connection | None:
        bound = _bound.get()
        if bound is not None and bound[0] is self and bound[2] is asyncio.current_task():
            return bound[1]
        return None

    @asynccontextmanager
    async def atomic(self) -> AsyncIterator[None]:
        """Every engine call inside the block runs on one connection in one transaction,
        committed when the block ends, rolled back if it raises (or the task is cancelled,
        or the connection drops: the server then rolls back). A nested block is a
        savepoint: if it raises, only its own writes are undone.

        Only a connection lost during COMMIT leaves the outcome unknown, and says so."""
        bound = self._bound_connection()
        if bound is not None:
            async with self.connection(write=True) as conn, conn.transaction():  # a savepoint
                yield
            return
        async with self.connection(write=True) as conn:
            transaction = conn.transaction()
            await transaction.start()
            token = _bound.set((self, conn, asyncio.current_task()))
            try:
                yield
            except BaseException:
                _bound.reset(token)
                try:
                    await transaction.rollback()
                except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                    pass  # the connection is gone: the server has rolled back already
                raise
            _bound.reset(token)
            await transaction.commit()

    @asynccontextmanager
    async def connection(self, spec: TableSpec | None = None, row: Record | None = None,
                         write: bool = False) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection (the ``atomic()`` block's one inside it); database errors
        leave as the store layer's errors. ``write``: a connection lost mid-call leaves the
        outcome unknown (the server may have committed before the answer was lost), which
        the error says, so nobody retries blindly."""
        if spec is not None and spec.name in self._lacking:
            raise LayoutUnsupported(spec.name, self.layout.name if self.layout else "unknown", self._lacking[spec.name])
        bound = self._bound_connection()
        try:
            if bound is not None:
                yield bound
                return
            async with asyncio.timeout(self.target.connect_timeout):
                conn = await self.pool.acquire()  # cheaper than acquire(timeout=): no wait_for per call
            try:
                yield conn
            finally:
                await self.pool.release(conn)
        except StoreError:
            raise
        except asyncpg.UndefinedTableError as exc:
            if "audit_log" in str(exc):
                raise StoreError(AUDIT_MISSING) from None
            raise self._unavailable(exc, self.target) from None
        except asyncpg.UniqueViolationError as exc:
            raise self._duplicate(spec, row, exc) from None
        except asyncpg.ForeignKeyViolationError as exc:
            raise self._missing_parent(spec, row, exc) from None
        except asyncpg.ReadOnlySQLTransactionError as exc:
            raise ReadOnly(exc.message) from None
        except (asyncpg.DataError, UnicodeEncodeError) as exc:
            entity = spec.entity if spec else "value"
            raise ValidationFailed(entity, {"value": scrub(str(exc), self.target.secrets())}) from None
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
            found = self._unavailable(exc, self.target)
            if write and bound is None and isinstance(found, BackendUnavailable) and found.cause == "connection_lost":
                found = BackendUnavailable("outcome_unknown", "The connection was lost while a change was being "
                                           "committed: it may have been applied or not",
                                           "Reload and check the current state before retrying", self.target.display())
            raise found from None

    def _duplicate(self, spec: TableSpec | None, row: Record | None, exc: asyncpg.UniqueViolationError) -> StoreError:
        found = spec.constraint(exc.constraint_name or "") if spec else None
        if isinstance(found, Unique):
            value = str(getattr(row, found.field)) if row is not None else ""
            return AlreadyExists(spec.entity, found.rule, value, found.field)  # type: ignore[union-attr]
        return AlreadyExists(spec.entity if spec else "row", exc.constraint_name or "unique constraint", "", "")

    def _missing_parent(self, spec: TableSpec | None, row: Record | None, exc: asyncpg.ForeignKeyViolationError) -> StoreError:
        referencing = getattr(exc, "table_name", None)
        if spec is not None and referencing and referencing != spec.name and "still referenced" in (exc.detail or ""):
            key = (exc.detail or "").split("=(", 1)[-1].split(")", 1)[0].replace(", ", "/")
            return StillReferenced(spec.entity, key, referencing)
        found = spec.constraint(exc.constraint_name or "") if spec else None
        if isinstance(found, ForeignKey):
            key = "/".join(str(getattr(row, c)) for c in found.columns) if row is not None else ""
            return ReferenceMissing(spec.entity, PARENT_LABEL[found.parent], key, found.field)  # type: ignore[union-attr]
        return ReferenceMissing(spec.entity if spec else "row", "parent", exc.constraint_name or "", "")

    # -- single rows --------------------------------------------------------------------------
    async def insert(self, spec: TableSpec, row: Record) -> Record:
        params = Params()
        placeholders = ", ".join(params.add(getattr(row, c)) for c in spec.columns)
        columns = ", ".join(q(c) for c in spec.columns)
        sql = f"INSERT INTO {spec.relation(self.schema)} ({columns}) VALUES ({placeholders}) RETURNING {columns}"
        async with self.connection(spec, row, write=True) as conn:
            return row_model(spec, await conn.fetchrow(sql, *params.values))

    async def fetch(self, spec: TableSpec, key: tuple[str, ...], lock: bool = False) -> Record | None:
        params = Params()
        sql = f"SELECT {column_list(spec)} FROM {spec.relation(self.schema)} WHERE {key_clause(spec, key, params)}"
        if lock:
            sql += " FOR UPDATE"
        async with self.connection(spec) as conn:
            record = await conn.fetchrow(sql, *params.values)
        return row_model(spec, record) if record is not None else None

    async def fetch_unique(self, spec: TableSpec, columns: tuple[str, ...], values: tuple[Any, ...]) -> Record | None:
        sql, args = select_sql(spec, self.schema, tuple(Eq(c, v) for c, v in zip(columns, values)), (), None)
        async with self.connection(spec) as conn:
            record = await conn.fetchrow(sql, *args)
        return row_model(spec, record) if record is not None else None

    async def _update(self, spec: TableSpec, key: tuple[str, ...], assignments: list[str], params: Params,
                      row: Record | None, expected_updated_at: datetime | None = None) -> Record | None:
        if spec.touch_column:
            # The upstream trigger sets it too; saying so here keeps adopted databases
            # without the trigger correct.
            assignments.append(f"{q(spec.touch_column)} = now()")
        sql = f"UPDATE {spec.relation(self.schema)} SET {', '.join(assignments)} WHERE {key_clause(spec, key, params)}"
        if expected_updated_at is not None and spec.touch_column:
            sql += f" AND {q(spec.touch_column)} = {params.add(expected_updated_at)}"
        async with self.connection(spec, row, write=True) as conn:
            record = await conn.fetchrow(f"{sql} RETURNING {column_list(spec)}", *params.values)
        return row_model(spec, record) if record is not None else None

    async def replace(self, spec: TableSpec, row: Record, expected_updated_at: datetime | None) -> Record | None:
        params = Params()
        assignments = [f"{q(c)} = {params.add(getattr(row, c))}" for c in spec.columns
                       if c not in spec.key_columns and c not in (spec.created_column, spec.touch_column)]
        return await self._update(spec, row.key(), assignments, params, row, expected_updated_at)

    async def patch(self, spec: TableSpec, key: tuple[str, ...], values: Mapping[str, Any],
                    keep_if_set: frozenset[str] = frozenset()) -> Record | None:
        params = Params()
        assignments = [
            f"{q(c)} = COALESCE({q(c)}, {params.add(v)})" if c in keep_if_set else f"{q(c)} = {params.add(v)}"
            for c, v in values.items()
        ]
        return await self._update(spec, key, assignments, params, None)

    async def remove(self, spec: TableSpec, key: tuple[str, ...]) -> bool:
        params = Params()
        sql = f"DELETE FROM {spec.relation(self.schema)} WHERE {key_clause(spec, key, params)}"
        async with self.connection(spec, write=True) as conn:
            status = await conn.execute(sql, *params.values)
        return status != "DELETE 0"

    # -- many rows ------------------------------------------------------------------------------
    async def page(self, spec: TableSpec, request: PageRequest) -> list[Record]:
        sql, args = page_sql(spec, self.schema, request)
        async with self.connection(spec) as conn:
            return [row_model(spec, r) for r in await conn.fetch(sql, *args)]

    async def select(self, spec: TableSpec, scope: tuple[Eq, ...], conditions: tuple[Condition, ...],
                     order: str) -> list[Record]:
        sql, args = select_sql(spec, self.schema, scope, conditions, order)
        async with self.connection(spec) as conn:
            return [row_model(spec, r) for r in await conn.fetch(sql, *args)]

    async def count(self, spec: TableSpec, scope: tuple[Eq, ...], conditions: tuple[Condition, ...]) -> int:
        sql, args = select_sql(spec, self.schema, scope, conditions, None, what="count(*)")
        async with self.connection(spec) as conn:
            return int(await conn.fetchval(sql, *args))

    async def estimate(self, spec: TableSpec, scope: tuple[Eq, ...], conditions: tuple[Condition, ...]) -> RowCount:
        """The planner's row estimate (no scan); exact when the estimate says the scope is small."""
        sql, args = select_sql(spec, self.schema, scope, conditions, None, what="1")
        async with self.connection(spec) as conn:
            plan = json.loads(await conn.fetchval("EXPLAIN (FORMAT JSON) " + sql, *args))
            estimate = int(plan[0]["Plan"]["Plan Rows"])
            if estimate < EXACT_COUNT_BELOW:
                count_sql, count_args = select_sql(spec, self.schema, scope, conditions, None, what="count(*)")
                return RowCount(int(await conn.fetchval(count_sql, *count_args)), exact=True)
        return RowCount(estimate, exact=False)

    # -- grants -----------------------------------------------------------------------------
    async def upsert_grant(self, grant: UserApp) -> UserApp:
        sql = f"""
            INSERT INTO {USER_APPS.relation(self.schema)} AS g (tenant_id, app_id, user_id, status, granted_at, revoked_at)
            VALUES ($1, $2, $3, 'active', $4, NULL)
            ON CONFLICT (tenant_id, app_id, user_id) DO UPDATE SET
                status = 'active',
                granted_at = CASE WHEN g.status = 'active' THEN g.granted_at ELSE EXCLUDED.granted_at END,
                revoked_at = CASE WHEN g.status = 'active' THEN g.revoked_at ELSE NULL END
            RETURNING {column_list(USER_APPS)}"""
        async with self.connection(USER_APPS, grant, write=True) as conn:
            record = await conn.fetchrow(sql, grant.tenant_id, grant.app_id, grant.user_id, grant.granted_at)
        return row_model(USER_APPS, record)  # type: ignore[return-value]

    async def users_with_grant(self, tenant_id: str, app_id: str) -> list[User]:
        sql = f"""
            SELECT {column_list(USERS, "u")} FROM {USERS.relation(self.schema)} u
            JOIN {USER_APPS.relation(self.schema)} g ON g.tenant_id = u.tenant_id AND g.user_id = u.id
            WHERE g.tenant_id = $1 AND g.app_id = $2 AND g.status = 'active'
            ORDER BY u.username COLLATE "C" """
        async with self.connection(USERS) as conn:
            return [row_model(USERS, r) for r in await conn.fetch(sql, tenant_id, app_id)]  # type: ignore[misc]

    async def ping(self) -> float:
        """One ``SELECT 1`` through the pool; raises the diagnosis when the server is down."""
        started = time.perf_counter()
        async with self.connection() as conn:
            await conn.fetchval("SELECT 1")
        return time.perf_counter() - started

    async def close(self) -> None:
        await self.pool.close()

    # -- copy between backends (stores.transfer) -------------------------------------------------
    def snapshot(self):  # noqa: ANN201 - an async context manager of PostgresSnapshot
        from stores.postgres.bulk import snapshot

        return snapshot(self)

    def loader(self, replace: bool = False):  # noqa: ANN201 - an async context manager of PostgresLoader
        from stores.postgres.bulk import loader

        return loader(self, replace)
