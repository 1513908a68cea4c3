"""The tracking tables: the console's own, and lokstra's ``schema_migrations``, read only.

The console records its migrations in its own schema, ``lokstra_console``, which also holds
the audit log: ``lokstra_console.migrations`` (what is applied, with the checksum) and
``lokstra_console.migration_history`` (every apply, revert, failure, baseline, accepted
drift and relocation: who, when, how long).

lokstra's runner (primadi/lokstra ``lokstra_init/migration_runner/migration.go``) keeps
``schema_migrations(version, applied_at, description)`` and applies only the files whose
version is above ``MAX(version)``. Its version space is upstream's: a row the console wrote
there would make upstream skip its own migration of that number forever. So the console
never writes upstream's table; it finds it, reads it and shows it. The current runner uses
``lokstra_core.schema_migrations``; older ones used an unqualified name, which landed in the
pool's schema (the data schema) or in ``public``: all three places are looked at.

Consoles before this one did write their rows 1-3 into upstream's table, with their history
in ``console_migration_history`` beside it. ``legacy_rows`` recognises those rows (by our
own descriptions, with the history as evidence); ``runner.relocate`` moves them, on purpose.

Schema names in SQL are quoted; every value is a parameter.
"""
from __future__ import annotations

import getpass
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

CONSOLE_SCHEMA = "lokstra_console"
APPLIED_TABLE = "migrations"
HISTORY_TABLE = "migration_history"

CORE_SCHEMA = "lokstra_core"
"""Where lokstra's current runner keeps its tracking table."""
LEGACY_SCHEMA = "public"
LOKSTRA_TABLE = "schema_migrations"
LEGACY_HISTORY_TABLE = "console_migration_history"
"""Where consoles before the relocation kept their history (beside upstream's table)."""

EVENTS = ("apply", "revert", "fail", "baseline", "accept", "relocate")


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def lokstra_table(schema: str) -> str:
    return f"{quote_ident(schema)}.{LOKSTRA_TABLE}"


APPLIED = f"{quote_ident(CONSOLE_SCHEMA)}.{APPLIED_TABLE}"
HISTORY = f"{quote_ident(CONSOLE_SCHEMA)}.{HISTORY_TABLE}"


def upstream_candidates(data_schema: str) -> tuple[str, ...]:
    """Where a lokstra runner may have put ``schema_migrations``, most current first: the
    current runner's ``lokstra_core``, then the pool schema (older runners, unqualified name
    under the pool's ``search_path``), then ``public`` (a pool without a schema)."""
    return tuple(dict.fromkeys((CORE_SCHEMA, data_schema, LEGACY_SCHEMA)))


@dataclass(frozen=True)
class UpstreamRow:
    version: int
    description: str | None
    applied_at: datetime | None


@dataclass
class UpstreamTable:
    """One lokstra tracking table as lokstra's runner sees it."""

    schema: str
    rows: list[UpstreamRow]
    read_by: str
    """Which runner reads it: "current runner" (lokstra_core) or "older runners"."""

    @property
    def name(self) -> str:
        return f"{self.schema}.{LOKSTRA_TABLE}"

    @property
    def highest(self) -> int:
        """``MAX(version)``, 0 when empty, as lokstra's runner computes it."""
        return max((row.version for row in self.rows), default=0)

    def pending_by_upstream_rule(self, versions: list[int]) -> list[int]:
        """Which of upstream's file ``versions`` its runner would apply next: only those above
        ``MAX(version)`` (gaps below it, and version 0, never run)."""
        return sorted(v for v in versions if v > self.highest)

    def describe(self) -> str:
        listed = ", ".join(f"{row.version} {row.description or '?'}" for row in self.rows) or "no rows"
        return f"{self.name} ({self.read_by}): {listed}; next run applies versions above {self.highest}"


@dataclass
class LegacyRows:
    """The console's own rows that an older console wrote into upstream's table."""

    schema: str
    rows: list[UpstreamRow]
    history_table: bool
    """Whether that console's ``console_migration_history`` is beside them."""

    @property
    def versions(self) -> list[int]:
        return [row.version for row in self.rows]

    def describe(self) -> str:
        labels = ", ".join(f"{row.version:03d}_{row.description}" for row in self.rows)
        return (f"{self.schema}.{LOKSTRA_TABLE} holds the console's own rows ({labels}), written by an older "
                "console: lokstra's runner skips its own migrations up to that version because of them; "
                "`migrate relocate` moves them into lokstra_console")


@dataclass
class TrackingInfo:
    """The console's tracking (``exists``: ``lokstra_console.migrations`` is there) and every
    lokstra tracking table found (``upstream``), current runner's first."""

    exists: bool = False
    history_exists: bool = False
    upstream: list[UpstreamTable] = field(default_factory=list)
    foreign: dict[str, str] = field(default_factory=dict)
    legacy: LegacyRows | None = None

    @property
    def table(self) -> str:
        return f"{CONSOLE_SCHEMA}.{APPLIED_TABLE}"

    def warnings(self) -> list[str]:
        notes = [f"{schema}.{LOKSTRA_TABLE} is not lokstra's tracking table ({why}); ignored"
                 for schema, why in self.foreign.items()]
        if len([table for table in self.upstream if table.rows]) > 1:
            listed = "; ".join(table.describe() for table in self.upstream)
            notes.append(f"more than one lokstra tracking table holds rows: {listed}")
        if self.legacy is not None:
            notes.append(self.legacy.describe())
        return notes


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


async def _exists(conn: asyncpg.Connection, relation: str) -> bool:
    return bool(await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", relation))


async def locate(conn: asyncpg.Connection, data_schema: str,
                 console_descriptions: dict[int, str] | None = None) -> TrackingInfo:
    """Find the console's tracking and lokstra's tracking tables.

    A ``schema_migrations`` without lokstra's columns belongs to another tool (golang-migrate,
    Rails…) and is reported, not used. ``console_descriptions`` (version → description of
    the console's own files) lets the console's rows in an upstream table be recognised.
    """
    candidates = upstream_candidates(data_schema)
    info = TrackingInfo(exists=await _exists(conn, APPLIED), history_exists=await _exists(conn, HISTORY))
    rows = await conn.fetch(_FIND_TABLES, LOKSTRA_TABLE, list(candidates))
    for row in sorted(rows, key=lambda r: candidates.index(r["schema"])):
        schema = row["schema"]
        if not (row["has_version"] and row["has_description"] and row["has_applied_at"]):
            info.foreign[schema] = "no integer version, description and applied_at columns"
            continue
        found = await conn.fetch(f"SELECT version, description, applied_at FROM {lokstra_table(schema)} ORDER BY version")
        info.upstream.append(UpstreamTable(
            schema, [UpstreamRow(r["version"], r["description"], r["applied_at"]) for r in found],
            "current runner" if schema == CORE_SCHEMA else "older runners"))
    if console_descriptions:
        info.legacy = await _legacy_rows(conn, info.upstream, console_descriptions)
    return info


async def _legacy_rows(conn: asyncpg.Connection, tables: list[UpstreamTable],
                       console_descriptions: dict[int, str]) -> LegacyRows | None:
    """Rows in an upstream table whose (version, description) are one of the console's own
    files. Upstream's files have other names (``auth``, ``auth_core``…), so the description
    tells them apart; the older console's history table beside them confirms it."""
    for table in tables:
        ours = [row for row in table.rows if console_descriptions.get(row.version) == row.description]
        if ours:
            history = await _exists(conn, f"{quote_ident(table.schema)}.{LEGACY_HISTORY_TABLE}")
            return LegacyRows(table.schema, ours, history)
    return None


async def ensure(conn: asyncpg.Connection) -> None:
    """Create the console's schema and tracking tables where absent."""
    await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(CONSOLE_SCHEMA)}")
    await conn.execute(
        f"""CREATE TABLE IF NOT EXISTS {APPLIED} (
    version integer PRIMARY KEY,
    description text NOT NULL,
    checksum text,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""
    )
    await conn.execute(
        f"""CREATE TABLE IF NOT EXISTS {HISTORY} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    version integer NOT NULL,
    description text NOT NULL,
    event text NOT NULL CHECK (event IN ('apply', 'revert', 'fail', 'baseline', 'accept', 'relocate')),
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
    checksum: str | None = None


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


_HISTORY_COLUMNS = ("version, description, event, direction, checksum, db_role, os_user, client_host, "
                    "started_at, duration_ms, success, error, note")


async def applied(conn: asyncpg.Connection, info: TrackingInfo) -> dict[int, AppliedRow]:
    if not info.exists:
        return {}
    rows = await conn.fetch(f"SELECT version, description, applied_at, checksum FROM {APPLIED} ORDER BY version")
    return {row["version"]: AppliedRow(row["version"], row["description"], row["applied_at"], row["checksum"])
            for row in rows}


async def history(conn: asyncpg.Connection, info: TrackingInfo) -> list[HistoryRow]:
    """Every history event, oldest first."""
    if not info.history_exists:
        return []
    rows = await conn.fetch(f"SELECT id, {_HISTORY_COLUMNS} FROM {HISTORY} ORDER BY id")
    return [HistoryRow(**dict(row)) for row in rows]


async def legacy_history(conn: asyncpg.Connection, schema: str) -> list[asyncpg.Record]:
    """An older console's history rows (``console_migration_history`` in ``schema``), oldest first."""
    rows: list[asyncpg.Record] = await conn.fetch(
        f"SELECT {_HISTORY_COLUMNS} FROM {quote_ident(schema)}.{LEGACY_HISTORY_TABLE} ORDER BY id")
    return rows


async def copy_history(conn: asyncpg.Connection, rows: list[asyncpg.Record]) -> None:
    """Append an older console's history to ours, keeping its order and every field."""
    await conn.executemany(
        f"INSERT INTO {HISTORY} ({_HISTORY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        [tuple(row) for row in rows])


async def insert_applied(conn: asyncpg.Connection, version: int, description: str, checksum: str | None,
                         applied_at: datetime | None = None) -> None:
    if applied_at is None:
        await conn.execute(f"INSERT INTO {APPLIED} (version, description, checksum) VALUES ($1, $2, $3)",
                           version, description, checksum)
    else:
        await conn.execute(f"INSERT INTO {APPLIED} (version, description, checksum, applied_at) VALUES ($1, $2, $3, $4)",
                           version, description, checksum, applied_at)


async def update_checksum(conn: asyncpg.Connection, version: int, checksum: str | None) -> None:
    """An accepted change of an applied file: the applied row now stands for the new text."""
    await conn.execute(f"UPDATE {APPLIED} SET checksum = $2 WHERE version = $1", version, checksum)


async def delete_applied(conn: asyncpg.Connection, version: int) -> None:
    await conn.execute(f"DELETE FROM {APPLIED} WHERE version = $1", version)


async def delete_upstream_rows(conn: asyncpg.Connection, schema: str, versions: list[int]) -> None:
    """Remove the console's own rows from an upstream table (relocation only)."""
    await conn.execute(f"DELETE FROM {lokstra_table(schema)} WHERE version = ANY($1::int[])", versions)


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


async def record(conn: asyncpg.Connection, actor: Actor, event: HistoryEvent) -> None:
    await conn.execute(
        f"""INSERT INTO {HISTORY} ({_HISTORY_COLUMNS})
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)""",
        event.version, event.description, event.event, event.direction, event.checksum,
        actor.db_role, actor.os_user, actor.client_host,
        event.started_at, event.duration_ms, event.success, event.error, event.note,
    )
