"""Every console session runs in UTC, whatever time zone the database or role defaults to.

The schema's timestamps have no time zone: created_at comes from Python (UTC) while the
PostgreSQL engine sets ``updated_at = now()``, which the server turns into a naive timestamp
in the session's TimeZone. In a database set to Asia/Tokyo that was 9 hours ahead."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from stores import open_stores
from tests.conftest import pg_settings
from tests.support import factories as f
from tests.support.server import PgServer


@pytest.fixture
def tokyo_db(pg_server: PgServer, migrated_template: str) -> Iterator[str]:
    dsn = pg_server.create_database("tokyo", template=migrated_template)
    name = dsn.rsplit("/", 1)[1]
    pg_server.execute(f"ALTER DATABASE {name} SET timezone = 'Asia/Tokyo'")
    yield dsn
    pg_server.drop_database(dsn)


async def test_updated_at_is_utc_in_a_database_set_to_tokyo(tokyo_db: str) -> None:
    stores = await open_stores(pg_settings(tokyo_db))
    try:
        created = await stores.tenants.create(f.tenant("acme"))
        updated = await stores.tenants.update(created.model_copy(update={"name": "Acme 2"}))
        assert created.created_at is not None and updated.updated_at is not None
        now = datetime.now(UTC).replace(tzinfo=None)
        assert abs(now - created.created_at) < timedelta(minutes=1)
        assert timedelta(0) <= updated.updated_at - created.created_at < timedelta(minutes=1), \
            (created.created_at, updated.updated_at)
        async with stores.engine.connection() as conn:  # type: ignore[attr-defined]
            assert await conn.fetchval("SHOW timezone") == "UTC"
    finally:
        await stores.close()
