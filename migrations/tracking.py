"""The tracking tables: lokstra's ``schema_migrations`` and the console's history beside it.

lokstra's runner keeps ``schema_migrations(version, applied_at, description)`` in schema
``lokstra_core`` (older deployments: ``public``) and trusts it alone. The console writes the
same row in the same transaction as the migration, so either tool sees the other's work.
Everything lokstra's table cannot say (checksums, who, how long, failures, baselines,
accepted drift) goes into ``console_migration_history`` in the same schema.

Schema names in SQL come only from ``CANDIDATE_SCHEMAS``, quoted; every value is a parameter.
"""
from __future__ import annotations

import getpass
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

CORE_SCHEMA = "lokstra_core"
LEGACY_SCHEMA = "public"
CANDIDATE_SCHEMAS = (CORE_SCHEMA, LEGACY_SCHEMA)
LOKSTRA_TABLE = "schema_migrations"
HISTORY_TABLE = "console_migration_history"

EVENTS = ("apply", "revert", "fail", "baseline", "accept")


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def lokstra_table(schema: str) -> str:
    return f"{quote_ident(schema)}.{LOKSTRA_TABLE}"


def history_table(schema: str) -> str:
    return f"{quote_ident(schema)}.{HISTORY_TABLE}"


@dataclass
class TrackingInfo:
    """Where the tracking lives. ``schema`` is used for reads and writes even before it exists."""

    schema: str
    found: dict[str, list[int]] = field(default_factory=dict)
    foreign: dict[str, str] = field(default_factory=dict)
    history_exists: bool = False

    @property
    def exists(self) -> bool:
        return self.schema in self.found

    @property
    def table(self) -> str:
        return f"{self.schema}.{LOKSTRA_TABLE}"

    def warnings(self) -> list[str]:
        notes = [f"{schema}.{LOKSTRA_TABLE} is not lokstra's tracking table ({why}); ignored"
                 for schema, why in self.foreign.items()]
        if len(self.found) > 1:
            listed = "; ".join(f"{schema}.{LOKSTRA_TABLE} has {_versions(found)}" for schema, found in self.found.items())
            notes.append(f"two lokstra tracking tables exist, using {self.table}: {listed}")
        return notes


def _versions(versions: list[int]) -> str:
    return "versions " + ", ".join(str(v) for v in versions) if versions else "no versions"


_FIND_TABLES = """
SELECT n.nspname AS schema,
       bool_or(a.attname = 'version' AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)) AS has_version,
       bool_or(a.attname = 'description') AS has_description,
       bool_or(a.attname = 'applied_at') AS has_applied_at
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relname = $1 AND n.nspname = ANY($2::text[]) AND c.relkind IN ('r', 'p')
GROUP BY n.nspname
"""


async def locate(conn: asyncpg.Connection) -> TrackingInfo:
    """Find lokstra tracking tables in ``lokstra_core`` and ``public``, and pick the one to use.

    A ``public.schema_migrations`` without lokstra's columns belongs to another tool
    (golang-migrate, Rails…) and is reported, not used.
    """
    rows = await conn.fetch(_FIND_TABLES, LOKSTRA_TABLE, list(CANDIDATE_SCHEMAS))
    found: dict[str, list[int]] = {}
    foreign: dict[str, str] = {}
    for row in sorted(rows, key=lambda r: CANDIDATE_SCHEMAS.index(r["schema"])):
        if row["has_version"] and row["has_description"] and row["has_applied_at"]:
            versions = await conn.fetch(f"SELECT version FROM {lokstra_table(row['schema'])} ORDER BY version")
            found[row["schema"]] = [r["version"] for r in versions]
        else:
            foreign[row["schema"]] = "no integer version, description and applied_at columns"
    # lokstra_core wins, unless it is empty while public has rows (an old deployment where a
    # newer lokstra created the empty table): then public is where the truth is.
    with_rows = [name for name, versions in found.items() if versions]
    schema = (with_rows or list(found) or [CORE_SCHEMA])[0]
    history_exists = await conn.fetchval(
        "SELECT to_regclass($1) IS NOT NULL", f"{quote_ident(schema)}.{HISTORY_TABLE}"
    )
    return TrackingInfo(schema=schema, found=found, foreign=foreign, history_exists=history_exists)


async def ensure(conn: asyncpg.Connection, schema: str) -> None:
    """Create the tracking tables where absent. lokstra's table is created exactly as lokstra does."""
    if schema == CORE_SCHEMA:
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}")
    await conn.execute(
        f"""CREATE TABLE IF NOT EXISTS {lokstra_table(schema)} (
    version INTEGER PRIMARY KEY,
    applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    description TEXT
)"""
    )
    await conn.execute(
        f"""CREATE TABLE IF NOT EXISTS {history_table(schema)} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    version integer NOT NULL,
    description text NOT NULL,
    event text NOT NULL CHECK (event IN ('apply', 'revert', 'fail', 'baseline', 'accept')),
    direction text NOT NULL CHECK (direction IN ('up', 'down')),
    checksum text,
    db_role text NOT NULL,
    os_user text,
    client_host text,
    started_at timestamptz NOT NULL,
    duration_ms integer,
    success boolean NOT NULL,
    error text,
    note text
)"""
    )


@dataclass(frozen=True)
class AppliedRow:
    version: int
    description: str | None
    applied_at: datetime | None


@dataclass(frozen=True)
class HistoryRow:
    id: int
    version: int
    description: str
    event: str
    direction: str
    checksum: str | None
    db_role: str
    os_user: str | None
    client_host: str | None
    started_at: datetime
    duration_ms: int | None
    success: bool
    error: str | None
    note: str | None


async def applied(conn: asyncpg.Connection, info: TrackingInfo) -> dict[int, AppliedRow]:
    if not info.exists:
        return {}
    rows = await conn.fetch(f"SELECT version, description, applied_at FROM {lokstra_table(info.schema)} ORDER BY version")
    return {row["version"]: AppliedRow(row["version"], row["description"], row["applied_at"]) for row in rows}


async def history(conn: asyncpg.Connection, info: TrackingInfo) -> list[HistoryRow]:
    """Every history event, oldest first."""
    if not info.history_exists:
        return []
    rows = await conn.fetch(
        f"""SELECT id, version, description, event, direction, checksum, db_role, os_user, client_host,
                  started_at, duration_ms, success, error, note
           FROM {history_table(info.schema)} ORDER BY id"""
    )
    return [HistoryRow(**dict(row)) for row in rows]


async def insert_applied(conn: asyncpg.Connection, schema: str, version: int, description: str) -> None:
    """lokstra's own insert: applied_at comes from the column default, as in its runner."""
    await conn.execute(f"INSERT INTO {lokstra_table(schema)} (version, description) VALUES ($1, $2)", version, description)


async def delete_applied(conn: asyncpg.Connection, schema: str, version: int) -> None:
    await conn.execute(f"DELETE FROM {lokstra_table(schema)} WHERE version = $1", version)


@dataclass(frozen=True)
class Actor:
    """Who runs the console: the database role and the person at the keyboard."""

    db_role: str
    os_user: str
    client_host: str


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return os.environ.get("USER") or f"uid {os.getuid()}"


async def current_actor(conn: asyncpg.Connection) -> Actor:
    role = await conn.fetchval("SELECT current_user")
    return Actor(db_role=role, os_user=_os_user(), client_host=socket.gethostname())


@dataclass(frozen=True)
class HistoryEvent:
    version: int
    description: str
    event: str
    direction: str
    checksum: str | None
    started_at: datetime
    duration_ms: int | None
    success: bool = True
    error: str | None = None
    note: str | None = None


async def record(conn: asyncpg.Connection, schema: str, actor: Actor, event: HistoryEvent) -> None:
    await conn.execute(
        f"""INSERT INTO {history_table(schema)}
               (version, description, event, direction, checksum, db_role, os_user, client_host,
                started_at, duration_ms, success, error, note)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)""",
        event.version, event.description, event.event, event.direction, event.checksum,
        actor.db_role, actor.os_user, actor.client_host,
        event.started_at, event.duration_ms, event.success, event.error, event.note,
    )
