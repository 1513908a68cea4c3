"""Bring a test database to the newest schema."""
from __future__ import annotations

from importlib import resources

import asyncpg


async def migrate(dsn: str) -> None:
    files = sorted(p for p in resources.files("migrations").joinpath("sql").iterdir() if p.name.endswith(".up.sql"))
    conn = await asyncpg.connect(dsn)
    try:
        for path in files:
            async with conn.transaction():
                await conn.execute(path.read_text())
    finally:
        await conn.close()
