"""Which backend and database the console works on, and whether it may write: one answer for
every entry point (each subcommand and the TUI's start).

``resolve`` looks, in this order, at ``--dsn`` (source ``flag``), ``--profile NAME``
(``profile``), the settings file's ``active_profile`` (``config``), the environment and
``.env`` (``env``: ``USE_POSTGRES``, ``DATABASE_URL`` or ``DB_HOST`` / ``DB_NAME``), and
else nothing (``none``: the memory demo). libpq's ``PG*`` variables and defaults only fill
in fields of a target configured one of these ways: with none of them, a command that
needs PostgreSQL says so instead of reaching whatever ``localhost:5432`` is.

Read-only is decided here too, once: ``--read-only``, ``LOKSTRA_READ_ONLY`` (environment or
``.env``), the chosen profile's ``read_only``, or ``read_only = true`` in the settings
file; ``read_only_why`` names which. Every session the settings open is then read-only
(``default_transaction_read_only``), and every writing command refuses before it starts.

Errors are ``TargetError``: one plain line that names the setting or file and the rule,
never the value given (a mistyped variable may be a password).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from console.config import ConsoleConfig, config_path
from stores.settings import ConnectionTarget, Settings

Source = Literal["flag", "profile", "config", "env", "none"]
ENVIRONMENT_VARIABLE = "LOKSTRA_ENVIRONMENT"
_DB_FIELDS = ("db_host", "db_port", "db_user", "db_password", "db_name", "db_ssl_mode")


class TargetError(ValueError):
    """The target cannot be resolved: bad settings, an unreadable settings file, an unknown
    profile, no PostgreSQL configured. ``str`` is safe to show; exit code 2 (usage)."""

    def __init__(self, message: str, fix: str = "", cause: str = "bad_connection_settings") -> None:
        super().__init__(message)
        self.fix = fix
        self.cause = cause


@dataclass(frozen=True)
class Resolved:
    """The answer of ``resolve``: what to open, where that came from, and whether to write."""

    backend: Literal["memory", "postgres"]
    settings: Settings
    """Settings for ``open_stores`` (``use_postgres`` and ``read_only`` already decided)."""
    source: Source
    source_detail: str
    """Where the target came from, in words (``--dsn``, ``profile staging`` …)."""
    read_only: bool
    read_only_why: str | None
    environment: str | None
    profile: str | None
    config: ConsoleConfig

    @property
    def connection(self) -> ConnectionTarget | None:
        return self.settings.connection() if self.backend == "postgres" else None

    @property
    def display(self) -> str:
        """``user@host:port/db`` or ``memory``: never a password."""
        connection = self.connection
        return connection.display() if connection is not None else "memory"

    @property
    def explicit(self) -> bool:
        """Named on this command line (``--dsn`` / ``--profile``): a write need not ask."""
        return self.source in ("flag", "profile")

    def describe(self) -> str:
        """``postgres user@host:port/db (from --dsn)``: what a write names before it starts."""
        if self.backend == "memory":
            return "memory (demo data)"
        environment = f", environment {self.environment}" if self.environment else ""
        return f"postgres {self.display} (from {self.source_detail}{environment})"


class _ReadOnlyEnv(BaseSettings):
    """``LOKSTRA_READ_ONLY`` alone, from the environment or ``.env``: it must hold also when
    the connection comes from ``--dsn`` or a profile, whose settings are built in code."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      case_sensitive=False)
    lokstra_read_only: bool = False


def settings_problem(exc: ValidationError, where: str = "environment, .env or the settings file") -> str:
    """A validation error as one line per setting, naming the setting and the rule, never the value."""
    parts = []
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"]) or "value"
        parts.append(f"{_setting_name(name)}: {error['msg'].removeprefix('Value error, ')}")
    return f"bad settings ({where}): " + "; ".join(parts)


def _setting_name(field: str) -> str:
    """The variable an operator sets for ``field`` (``db_port`` → ``DB_PORT``)."""
    alias = Settings.model_fields.get(field)
    choices = getattr(alias.validation_alias, "choices", None) if alias is not None else None
    return str(choices[0]) if choices else field


def load_config() -> ConsoleConfig:
    """The settings file, or a ``TargetError`` naming it (unreadable, not TOML, not UTF-8, bad values)."""
    path = config_path()
    if path.exists() and not path.is_file():  # pydantic-settings would skip it without a word
        raise TargetError(f"cannot read the settings file {path}: it is not a regular file",
                          "Point LOKSTRA_CONSOLE_CONFIG at a TOML file, or remove what is there") from None
    try:
        return ConsoleConfig()
    except ValidationError as exc:
        raise TargetError(settings_problem(exc, f"settings file {path}"), "Fix the settings file") from None
    except UnicodeDecodeError as exc:
        raise TargetError(f"the settings file {path} is not UTF-8 text (byte {exc.start})",
                          "Save it as UTF-8") from None
    except OSError as exc:
        raise TargetError(f"cannot read the settings file {path}: {exc.strerror or type(exc).__name__}",
                          "Check its permissions, or point LOKSTRA_CONSOLE_CONFIG at another file") from None
    except ValueError as exc:  # tomllib.TOMLDecodeError is one
        raise TargetError(f"the settings file {path} is not valid TOML: {exc}", "Fix the settings file") from None


def _env_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise TargetError(settings_problem(exc, "environment or .env"), "Fix the setting named") from None
    except UnicodeDecodeError:
        raise TargetError("the .env file in the current directory is not UTF-8 text", "Save it as UTF-8") from None
    except ValueError as exc:
        raise TargetError(f"bad settings (environment or .env): {exc}", "Fix the setting named") from None


def _dsn_settings(dsn: str) -> Settings:
    """The connection from ``dsn`` alone (DB_* in the environment outrank DATABASE_URL and
    must not mix in), everything else (pool, zone, schema) from the environment."""
    parts = urlsplit(dsn)
    if parts.scheme not in ("postgres", "postgresql"):
        raise TargetError("--dsn must be a postgresql://user@host:port/db URL", "Check --dsn")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is not None and not 1 <= port <= 65535:
        raise TargetError("--dsn has an invalid port: the port must be 1-65535", "Check --dsn")
    try:
        return Settings(use_postgres=True, database_url=SecretStr(dsn), **{name: None for name in _DB_FIELDS})
    except ValidationError as exc:
        raise TargetError(settings_problem(exc, "--dsn or the environment"), "Check --dsn") from None


def _postgres_in_env(settings: Settings) -> bool:
    return settings.use_postgres or bool(settings.database_url or settings.db_host or settings.db_name)


def resolve(*, dsn: str | None = None, profile: str | None = None, read_only: bool = False,
            password: SecretStr | None = None, need_postgres: bool = False,
            config: ConsoleConfig | None = None) -> Resolved:
    """The one resolution of the console's target. ``need_postgres``: a command that only
    works on PostgreSQL; with none configured it raises (instead of libpq's defaults)."""
    config = config if config is not None else load_config()
    if profile is not None and config.profile(profile) is None:
        known = ", ".join(sorted(config.profiles)) or "none"
        raise TargetError(f"no profile named {profile!r} in {config_path()} (profiles: {known})",
                          "Pick a profile from the settings file, or save one on the Connection screen",
                          cause="unknown_profile")
    environment = os.environ.get(ENVIRONMENT_VARIABLE) or None
    chosen_name = profile or (config.active_profile if config.profile(config.active_profile) else None)
    chosen = config.profile(chosen_name) if chosen_name else None
    if dsn:
        settings, source, detail, chosen_name, chosen = _dsn_settings(dsn), "flag", "--dsn", None, None
    elif chosen is not None:
        try:
            settings = chosen.store_settings(password)
        except ValidationError as exc:
            raise TargetError(settings_problem(exc, f"profile {chosen_name}"), "Fix the profile") from None
        source = "profile" if profile else "config"
        detail = f"--profile {chosen_name}" if profile else f"active_profile {chosen_name} in {config_path()}"
        environment = environment or chosen.environment
    else:
        settings = _env_settings()
        if _postgres_in_env(settings) and (need_postgres or settings.use_postgres):
            settings = settings.model_copy(update={"use_postgres": True})
            source, detail = "env", "USE_POSTGRES / DATABASE_URL / DB_* (environment or .env)"
        else:
            if need_postgres:
                raise TargetError(
                    "no PostgreSQL database is configured (the console is on the memory demo)",
                    "Pass --dsn postgresql://user@host:port/db or --profile NAME, or set USE_POSTGRES=true "
                    "with DATABASE_URL or DB_HOST / DB_NAME", cause="no_postgres")
            settings = settings.model_copy(update={"use_postgres": False})
            source, detail = "none", "nothing configured"
    why = _read_only_why(read_only, chosen_name if chosen is not None else None, chosen.read_only if chosen else False,
                         config)
    settings = settings.model_copy(update={"read_only": why is not None})
    if settings.use_postgres:
        _check_port(settings)
    return Resolved(backend="postgres" if settings.use_postgres else "memory", settings=settings, source=source,
                    source_detail=detail, read_only=why is not None, read_only_why=why, environment=environment,
                    profile=chosen_name if chosen is not None else None, config=config)


def _check_port(settings: Settings) -> None:
    port = settings.connection().port
    if not 1 <= port <= 65535:
        raise TargetError("the database port must be 1-65535 (DB_PORT, DATABASE_URL or PGPORT)", "Fix the port")


def _read_only_why(flag: bool, profile: str | None, profile_read_only: bool, config: ConsoleConfig) -> str | None:
    """Why the console is read-only, or None: the first of the four ways of asking that holds."""
    if flag:
        return "--read-only"
    try:
        if _ReadOnlyEnv().lokstra_read_only:
            return "LOKSTRA_READ_ONLY"
    except ValidationError:
        raise TargetError("bad settings (environment or .env): LOKSTRA_READ_ONLY: must be true or false",
                          "Fix the setting named") from None
    if profile_read_only:
        return f"profile {profile} is read_only"
    if config.read_only:
        return f"read_only = true in {config_path()}"
    return None
