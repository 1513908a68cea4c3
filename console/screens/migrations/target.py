"""Which PostgreSQL database the Migrations screen shows, and its failures in words (headless)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from console.config import ConsoleConfig
from console.postgres_target import postgres_target
from console.problems import in_words
from migrations import MigrationRunner
from migrations.runner import SourceArg
from stores.settings import Settings


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
        """``exc`` in words for the screen (``console.problems.in_words``); never a secret."""
        return in_words(exc, where=self.display, secrets=self.secrets)


def configured_target(config: ConsoleConfig, settings: Settings) -> SchemaTarget | None:
    """The PostgreSQL target the screen shows (``console.postgres_target``): ``settings`` when they
    are PostgreSQL's, else the one configured; None when none is."""
    found = postgres_target(settings, config)
    return SchemaTarget.of(found.settings, found.label) if found is not None else None
