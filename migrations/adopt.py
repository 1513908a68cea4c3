"""Adopting a database built with lokstra-auth's ``db_schema.sql`` (tables, no tracking).

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
from datetime import datetime, timezone

import asyncpg

from migrations import catalog, tracking
from migrations.source import Migration

APP_SCHEMA = "lokstra_auth"


class CannotCompare(Exception):
    """The expected catalog could not be built on this server (usually a missing privilege)."""


async def app_schema_present(conn: asyncpg.Connection) -> bool:
    """Whether ``lokstra_auth`` has any table."""
    return await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                          WHERE n.nspname = $1 AND c.relkind IN ('r', 'p'))""",
        APP_SCHEMA,
    )


async def expected_catalog(conn: asyncpg.Connection, baseline: Migration) -> catalog.Catalog:
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
    expected.schema = APP_SCHEMA
    return expected


async def differences(conn: asyncpg.Connection, baseline: Migration) -> list[catalog.Difference]:
    expected = await expected_catalog(conn, baseline)
    actual = await catalog.snapshot(conn, APP_SCHEMA)
    return catalog.diff(expected, actual)


async def record_baseline(conn: asyncpg.Connection, schema: str, actor: tracking.Actor, baseline: Migration) -> None:
    """Create the tracking tables if needed and record ``baseline`` as applied, in one transaction."""
    started = time.monotonic()
    started_at = datetime.now(timezone.utc)
    async with conn.transaction():
        await tracking.ensure(conn, schema)
        await tracking.insert_applied(conn, schema, baseline.version, baseline.description)
        await tracking.record(conn, schema, actor, tracking.HistoryEvent(
            version=baseline.version,
            description=baseline.description,
            event="baseline",
            direction="up",
            checksum=baseline.checksum,
            started_at=started_at,
            duration_ms=int((time.monotonic() - started) * 1000),
            note=f"adopted an existing {APP_SCHEMA} schema whose catalog matches {baseline.up.name}",
        ))
