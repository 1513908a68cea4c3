"""One call from settings to the six stores."""
from __future__ import annotations

from dataclasses import dataclass, field

from stores.audit import Audit
from stores.engine import Engine
from stores.entities import AppKeys, Apps, Branches, Tenants, UserApps, Users
from stores.settings import Settings
from stores.timing import Timings


@dataclass
class Stores:
    """The six stores over one engine; ``backend`` is "memory" or "postgres"."""

    engine: Engine
    tenants: Tenants = field(init=False)
    apps: Apps = field(init=False)
    branches: Branches = field(init=False)
    users: Users = field(init=False)
    user_apps: UserApps = field(init=False)
    app_keys: AppKeys = field(init=False)
    audit: Audit = field(init=False)
    """The console's audit trail (written by ``stores.admin.Admin``)."""
    timings: Timings = field(init=False, repr=False)
    """Client-side timings of every store operation called through these stores (stores/timing.py)."""

    def __post_init__(self) -> None:
        self.tenants = Tenants(self.engine)
        self.apps = Apps(self.engine)
        self.branches = Branches(self.engine)
        self.users = Users(self.engine)
        self.user_apps = UserApps(self.engine)
        self.app_keys = AppKeys(self.engine)
        self.audit = Audit(self.engine)
        self.timings = Timings()
        for name in ("tenants", "apps", "branches", "users", "user_apps", "app_keys"):
            self.timings.instrument(name, getattr(self, name))

    @property
    def backend(self) -> str:
        return self.engine.backend

    async def ping(self) -> float:
        return await self.engine.ping()

    async def close(self) -> None:
        await self.engine.close()


async def open_stores(settings: Settings | None = None) -> Stores:
    """Open the backend the settings choose. PostgreSQL problems raise ``BackendUnavailable``
    with the diagnosis (refused, bad password, no database, schema not migrated …)."""
    settings = settings or Settings()
    if settings.use_postgres:
        from stores.postgres.engine import PostgresEngine

        return Stores(await PostgresEngine.open(settings))
    from stores.memory.engine import MemoryEngine

    from stores.clock import UTC_CLOCK, Clock

    engine = MemoryEngine(Clock(settings.db_time_zone) if settings.db_time_zone else UTC_CLOCK)
    if settings.demo_data:
        from stores.demo import DemoSpec, load_into_memory

        load_into_memory(engine, DemoSpec())
    return Stores(engine)
