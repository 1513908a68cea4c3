"""Adopting a database built with lokstra-auth's ``db_schema.sql`` (tables, no console tracking).

The expected catalog is not kept as a hand-written description that could fall behind the
SQL: it is computed on the target server itself by running the baseline migration's SQL,
with the schema renamed to a random scratch name, inside a transaction that is always
rolled back. The server renders both sides with the same version's ``pg_get_*`` functions,
so formatting differences between PostgreSQL versions cannot show up as drift. Nothing
outlives that transaction, and the real ``lokstra_auth`` is only read. (It needs the
CREATE privilege on the database, which whoever migrates has anyway.)
"""
from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import asyncpg

from migrations import catalog, tracking
from migrations.source import Migration

APP_SCHEMA = "lokstra_auth"
"""The schema the migration files name; the data schema setting renames it."""

LOKSTRA_TABLES = ("tenants", "apps", "branches", "users", "user_apps", "app_keys")
"""The tables whose presence says lokstra's schema has been built (the data schema may also
hold lokstra's runner tables, as ``lokstra_core`` does in upstream's deployment example)."""


class CannotCompare(Exception):
    """The expected catalog could not be built on this server (usually a missing privilege)."""


async def app_schema_present(conn: asyncpg.Connection, schema: str = APP_SCHEMA) -> bool:
    """Whether ``schema`` holds any of lokstra's tables."""
    present: bool = await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                          WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname = ANY($2::text[]))""",
        schema, list(LOKSTRA_TABLES),
    )
    return present


async def expected_catalog(conn: asyncpg.Connection, baseline: Migration, schema: str = APP_SCHEMA) -> catalog.Catalog:
    """The catalog ``baseline`` creates, built in a scratch schema and rolled back."""
    scratch = f"lokstra_adopt_{uuid.uuid4().hex[:12]}"
    transaction = conn.transaction()
    await transaction.start()
    try:
        await conn.execute(catalog.rename_schema(baseline.up.text, APP_SCHEMA, scratch))
        expected = await catalog.snapshot(conn, scratch)
    except asyncpg.PostgresError as exc:
        raise CannotCompare(f"building the expected catalog from {baseline.up.name} failed: {exc}") from exc
    finally:
        await transaction.rollback()
    expected.schema = schema
    return expected


async def differences(conn: asyncpg.Connection, baseline: Migration, schema: str = APP_SCHEMA) -> list[catalog.Difference]:
    expected = await expected_catalog(conn, baseline, schema)
    actual = catalog.without_runner_objects(await catalog.snapshot(conn, schema))
    return catalog.diff(expected, actual)


async def record_baseline(conn: asyncpg.Connection, actor: tracking.Actor, baseline: Migration,
                          schema: str = APP_SCHEMA) -> None:
    """Create the console's tracking tables if needed and record ``baseline`` as applied, in
    one transaction. lokstra's own tracking tables are not touched."""
    started = time.monotonic()
    started_at = datetime.now(UTC)
    async with conn.transaction():
        await tracking.ensure(conn)
        await tracking.insert_applied(conn, baseline.version, baseline.description, baseline.checksum)
        await tracking.record(conn, actor, tracking.HistoryEvent(
            version=baseline.version,
            description=baseline.description,
            event="baseline",
            direction="up",
            checksum=baseline.checksum,
            started_at=started_at,
            duration_ms=int((time.monotonic() - started) * 1000),
            note=f"adopted an existing {schema} schema whose catalog matches {baseline.up.name}",
        ))
