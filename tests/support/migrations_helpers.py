"""Helpers for the migration tests: temp migration directories and direct database reads."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import asyncpg

from migrations import catalog
from migrations.source import packaged_sql

SQL_DIR = Path(__file__).resolve().parents[2] / "migrations" / "sql"


def copy_migrations(target: Path, versions: tuple[int, ...] | None = None) -> Path:
    """A writable copy of the packaged migrations (only ``versions`` if given)."""
    target.mkdir(parents=True, exist_ok=True)
    for entry in packaged_sql().iterdir():
        if entry.name.endswith(".sql") and (versions is None or int(entry.name.split("_")[0]) in versions):
            (target / entry.name).write_bytes(entry.read_bytes())
    return target


def write_migration(directory: Path, version: int, name: str, up: str, down: str | None = None) -> None:
    (directory / f"{version:03d}_{name}.up.sql").write_text(up)
    if down is not None:
        (directory / f"{version:03d}_{name}.down.sql").write_text(down)


def file_sha256(path: Path) -> str:
    """The checksum the runner should record, computed independently of migrations.source."""
    text = path.read_bytes().decode("utf-8").lstrip("\ufeff").replace("\r\n", "\n")
    return hashlib.sha256(text.encode()).hexdigest()


async def fetch(dsn: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def fetchval(dsn: str, sql: str, *args: Any) -> Any:
    rows = await fetch(dsn, sql, *args)
    return rows[0][0] if rows else None


async def execute(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def catalog_of(dsn: str, schema: str = "lokstra_auth") -> catalog.Catalog:
    conn = await asyncpg.connect(dsn)
    try:
        return await catalog.snapshot(conn, schema)
    finally:
        await conn.close()


async def build_like_db_schema_sql(dsn: str) -> None:
    """What `psql -f db_schema.sql` leaves: lokstra-auth's tables and no tracking table."""
    await execute(dsn, (SQL_DIR / "001_lokstra_auth_schema.up.sql").read_text())


async def lokstra_rows(dsn: str, schema: str = "lokstra_core") -> list[tuple[int, str]]:
    """Upstream's tracking rows (lokstra's runner's ``schema_migrations``)."""
    rows = await fetch(dsn, f"SELECT version, description FROM {schema}.schema_migrations ORDER BY version")
    return [(row["version"], row["description"]) for row in rows]


async def console_rows(dsn: str) -> list[tuple[int, str]]:
    """What the console records as applied (``lokstra_console.migrations``)."""
    rows = await fetch(dsn, "SELECT version, description FROM lokstra_console.migrations ORDER BY version")
    return [(row["version"], row["description"]) for row in rows]


async def history_rows(dsn: str) -> list[asyncpg.Record]:
    return await fetch(dsn, "SELECT * FROM lokstra_console.migration_history ORDER BY id")


async def schema_exists(dsn: str, schema: str) -> bool:
    return await fetchval(dsn, "SELECT to_regnamespace($1) IS NOT NULL", schema)
