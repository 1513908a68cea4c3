"""Which PostgreSQL database the Migrations screen shows, and its failures in words (headless)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import asyncpg

from console.config import ConsoleConfig
from migrations import MigrationRunner
from migrations.runner import SourceArg
from stores.postgres.diagnose import diagnose, scrub
from stores.settings import Settings


class HasConfig(Protocol):
    """What ``configured_target`` needs of the console."""

    @property
    def config(self) -> ConsoleConfig: ...


# ----- what the screen talks to ------------------------------------------------------------

@dataclass(frozen=True)
class SchemaTarget:
    """One PostgreSQL database whose migrations the screen shows; ``display`` is safe to show."""

    settings: Settings = field(repr=False)
    label: str
    display: str
    secrets: tuple[str, ...] = field(repr=False, default=())

    @classmethod
    def of(cls, settings: Settings, label: str) -> SchemaTarget:
        connection = settings.connection()
        return cls(settings, label, connection.display(), tuple(connection.secrets()))

    def runner(self, source: SourceArg, lock_timeout: float, *, long_commands: bool = False) -> MigrationRunner:
        """A runner on this target (``long_commands``: no command timeout, an index build may take a while)."""
        kwargs: dict[str, Any] = self.settings.connection().connect_kwargs()
        if long_commands:
            kwargs["command_timeout"] = None
        return MigrationRunner.from_kwargs(kwargs, source=source, lock_timeout=lock_timeout,
                                           data_schema=self.settings.auth_schema)

    def failure(self, exc: BaseException) -> str:
        """``exc`` in words for the screen: the diagnosis, or the database's message; never a secret."""
        secrets = list(self.secrets)
        found = diagnose(exc, self.display, secrets)
        if found is not None:
            return str(found)
        if isinstance(exc, asyncpg.PostgresError):
            return scrub(f"{exc.sqlstate}: {exc}", secrets)
        return scrub(f"{type(exc).__name__}: {exc}", secrets)


def configured_target(app: HasConfig) -> SchemaTarget | None:
    """The PostgreSQL target to show while the console runs on memory: the active profile, or
    the DB_* / DATABASE_URL settings of the environment and .env; None when neither is set."""
    profile = app.config.profile()
    if profile is not None:
        return SchemaTarget.of(profile.store_settings(), f"profile {app.config.active_profile}")
    env = Settings()
    if env.use_postgres or env.database_url or env.db_host or env.db_name:
        return SchemaTarget.of(env.model_copy(update={"use_postgres": True}), "the DB_* settings")
    return None


