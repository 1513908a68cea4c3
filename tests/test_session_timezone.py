"""The console writes timestamps on the wall clock lokstra-auth writes them on (stores/clock.py).

lokstra-auth's timestamp columns have no time zone. Its current stores leave created_at and
updated_at to NOW() (docs/upstream.md C: pkg/store/postgres/tenant_store.go L18-L22, L33),
a wall clock in the session's TimeZone, which pgx leaves at the server's default for the
database and role. The console used to force its sessions to UTC: in a database whose
default is Asia/Tokyo its rows were 9 hours behind upstream's in the same column.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from stores import Settings, open_stores
from tests.support.databases import pg_settings
from tests.support import factories as f
from tests.support.server import PgServer


@pytest.fixture
def tokyo_db(pg_server: PgServer, migrated_template: str) -> Iterator[str]:
    dsn = pg_server.create_database("tokyo", template=migrated_template)
    name = dsn.rsplit("/", 1)[1]
    pg_server.execute(f"ALTER DATABASE {name} SET timezone = 'Asia/Tokyo'")
    yield dsn
    pg_server.drop_database(dsn)


def wall_clock(zone: str) -> datetime:
    return datetime.now(ZoneInfo(zone)).replace(tzinfo=None)


async def upstream_insert(dsn: str) -> datetime:
    """A tenant written the way lokstra-auth's store writes one: created_at from NOW()."""
    conn = await asyncpg.connect(dsn)  # no TimeZone of its own, like pgx
    try:
        return await conn.fetchval("INSERT INTO lokstra_auth.tenants (id, name, domain, db_dsn, db_schema) "
                                   "VALUES ('upstream', 'Upstream', '', '', 'u') RETURNING created_at")
    finally:
        await conn.close()


async def test_the_console_writes_the_wall_clock_lokstra_auth_writes(tokyo_db: str) -> None:
    upstream_created = await upstream_insert(tokyo_db)
    stores = await open_stores(pg_settings(tokyo_db))
    try:
        assert stores.engine.clock.zone == "Asia/Tokyo"
        created = await stores.tenants.create(f.tenant("acme"))
        updated = await stores.tenants.update(created.model_copy(update={"name": "Acme 2"}))  # NOW() on the server
        assert created.created_at is not None and updated.updated_at is not None
        assert abs(created.created_at - upstream_created) < timedelta(minutes=1)
        assert abs(created.created_at - wall_clock("Asia/Tokyo")) < timedelta(minutes=1)
        assert timedelta(0) <= updated.updated_at - created.created_at < timedelta(minutes=1)
        async with stores.engine.connection() as conn:  # type: ignore[attr-defined]
            assert await conn.fetchval("SHOW timezone") == "Asia/Tokyo"
    finally:
        await stores.close()


async def test_db_time_zone_names_the_clock_when_upstream_wrote_another(tokyo_db: str) -> None:
    """Older upstream builds passed Go's time.Now() (the app host's local time; pgx drops the
    zone: jackc/pgx pgtype/timestamp.go L25, L186-L192): the operator names that zone."""
    stores = await open_stores(pg_settings(tokyo_db, db_time_zone="Europe/Berlin"))
    try:
        assert stores.engine.clock.zone == "Europe/Berlin"
        created = await stores.tenants.create(f.tenant("acme"))
        assert abs(created.created_at - wall_clock("Europe/Berlin")) < timedelta(minutes=1)
        async with stores.engine.connection() as conn:  # type: ignore[attr-defined]
            assert await conn.fetchval("SHOW timezone") == "Europe/Berlin"
    finally:
        await stores.close()


async def test_the_memory_backend_keeps_db_time_zone_too() -> None:
    stores = await open_stores(Settings(demo_data=False, db_time_zone="Asia/Jakarta"))
    created = await stores.tenants.create(f.tenant("acme"))
    assert stores.engine.clock.zone == "Asia/Jakarta"
    assert abs(created.created_at - wall_clock("Asia/Jakarta")) < timedelta(minutes=1)


def test_a_time_zone_that_does_not_exist_is_a_settings_error() -> None:
    with pytest.raises(ValueError, match="not a time zone"):
        Settings(db_time_zone="Mars/Olympus")
