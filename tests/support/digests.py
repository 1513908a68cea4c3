"""What a database holds, as (rows, digest) per table: to compare two sides or before / after."""
from __future__ import annotations

from typing import Any

from stores import open_stores
from stores.transfer.copy import table_digests
from tests.support.databases import pg_settings


async def engine_digests(engine: Any) -> dict[str, tuple[int, str]]:
    """(rows, digest in hex) per table of ``engine`` (either backend)."""
    return {name: (d.rows, d.hex) for name, d in (await table_digests(engine)).items()}


async def direct_digests(dsn: str) -> dict[str, tuple[int, str]]:
    """(rows, digest) per table, read through a connection of its own (never through a proxy)."""
    stores = await open_stores(pg_settings(dsn, pool_max_size=1))
    try:
        return await engine_digests(stores.engine)
    finally:
        await stores.close()
