"""Helpers for tests on a PostgreSQL database: its settings, emptying it between tests.

Here, not in tests/conftest.py: a conftest is pytest's (fixtures, hooks), and importing
from it makes every test module depend on the root conftest being importable as a module."""
from __future__ import annotations

from stores import Settings, Stores


def pg_settings(dsn: str, **extra: object) -> Settings:
    options: dict[str, object] = {"pool_min_size": 1, "pool_max_size": 4, **extra}
    return Settings(use_postgres=True, database_url=dsn, **options)


async def truncate_all(stores: Stores) -> None:
    async with stores.engine.connection() as conn:  # type: ignore[attr-defined]  # the PostgreSQL engine's own
        await conn.execute("TRUNCATE lokstra_auth.tenants, lokstra_auth.apps, lokstra_auth.branches, "
                           "lokstra_auth.users, lokstra_auth.user_apps, lokstra_auth.app_keys")
        if await conn.fetchval("SELECT to_regclass('lokstra_console.audit_log') IS NOT NULL"):
            await conn.execute("TRUNCATE lokstra_console.audit_log")
