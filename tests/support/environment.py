"""A test's settings come from the test alone: not from the machine's DB_* / PG* variables,
the operator's settings file, or a stray .env in the working directory."""
from __future__ import annotations

from pathlib import Path

import pytest

SETTINGS_VARIABLES = (
    "USE_POSTGRES", "DATABASE_URL", "DB_HOST", "DB_PORT", "DB_USER", "DB_PASSWORD", "DB_NAME", "DB_SSL_MODE",
    "PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSSLMODE",
    "LOKSTRA_DEMO_DATA", "LOKSTRA_READ_ONLY", "LOKSTRA_ENVIRONMENT", "LOKSTRA_CONSOLE_ALLOW_HARD_DELETE",
)


def isolate_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Remove every settings variable, point the settings file at a missing one, and run
    in ``tmp_path`` (no .env; files the test writes land there)."""
    for name in SETTINGS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOKSTRA_CONSOLE_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.chdir(tmp_path)


async def assert_pool_healthy(engine: object) -> None:
    """Every connection the pool can hand out is idle and answers (none is a broken one)."""
    pool = engine.pool  # type: ignore[attr-defined]
    held = [await pool.acquire() for _ in range(pool.get_max_size())]
    try:
        for conn in held:
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT 1") == 1
    finally:
        for conn in held:
            await pool.release(conn)


def in_ci() -> bool:
    """CI=true: a test that cannot run for want of a tool is a failure, not a skip."""
    import os

    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def requires(what: str, reason: str, install: str) -> None:
    """Skip loudly (the reason and how to install ``what``), or fail under CI=true."""
    message = f"{what} tests cannot run: {reason}. {install}"
    if in_ci():
        pytest.fail(message + f" (CI=true: a skipped {what} test is a failure)", pytrace=False)
    pytest.skip(message)
