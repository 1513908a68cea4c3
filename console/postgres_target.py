"""Which PostgreSQL database the console means when it is asked about one (headless).

The Backend screen switches to it, the Migrations screen shows its schema: both use this
one rule, so on the memory backend they always talk about the same database."""
from __future__ import annotations

from dataclasses import dataclass

from console.config import ConsoleConfig
from stores.settings import Settings


@dataclass(frozen=True)
class PostgresTarget:
    settings: Settings
    label: str
    """Where it was found, in words ("profile prod", "the DB_* settings", ...)."""


def postgres_target(settings: Settings, config: ConsoleConfig) -> PostgresTarget | None:
    """``settings`` themselves when they are PostgreSQL's (the console runs on it), else the
    active profile, else DB_* / DATABASE_URL of the environment and .env; None when none is
    set. A read-only console reads it read-only. Raises pydantic's ``ValidationError`` for
    malformed settings."""
    if settings.use_postgres:
        return PostgresTarget(settings, "the console's connection")
    profile = config.profile()
    if profile is not None:
        return PostgresTarget(profile.store_settings(read_only=settings.read_only), f"profile {config.active_profile}")
    found = Settings()
    if not (found.use_postgres or found.database_url or found.db_host or found.db_name):
        return None
    return PostgresTarget(found.model_copy(update={"use_postgres": True, "read_only": found.read_only or settings.read_only}),
                          "the DB_* settings")
