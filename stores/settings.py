"""Where the stores come from: backend choice, the PostgreSQL connection and the pool.

Read with pydantic-settings from the environment and a ``.env`` file, using the seed's
names (``DB_HOST`` … ``DB_SSL_MODE``, ``USE_POSTGRES``), a full DSN (``DATABASE_URL``), and
libpq's ``PG*`` variables as fall-backs, resolved field by field in that order. When no
password is given anywhere, asyncpg reads ``~/.pgpass`` (or ``PGPASSFILE``) itself.

Passwords are ``SecretStr``: they never appear in ``repr``, logs or error messages.
"""
from __future__ import annotations

import getpass
import re
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from stores.clock import zone_named
from stores.tables import DEFAULT_DATA_SCHEMA

SslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
SSL_MODES: tuple[str, ...] = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")

APPLICATION_NAME = "lokstra-console"
SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
"""A schema name as an unquoted identifier (what upstream's ``search_path`` setting takes)."""


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    """Everything ``open_stores`` needs. Construct with keyword names in code and tests."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        case_sensitive=False,
    )

    use_postgres: bool = Field(False, validation_alias=_env("USE_POSTGRES", "use_postgres"))
    demo_data: bool = Field(True, validation_alias=_env("LOKSTRA_DEMO_DATA", "demo_data"),
                            description="load the deterministic demo data into the memory backend")

    database_url: SecretStr | None = Field(None, validation_alias=_env("DATABASE_URL", "database_url"))
    db_host: str | None = Field(None, validation_alias=_env("DB_HOST", "db_host"))
    db_port: int | None = Field(None, validation_alias=_env("DB_PORT", "db_port"))
    db_user: str | None = Field(None, validation_alias=_env("DB_USER", "db_user"))
    db_password: SecretStr | None = Field(None, validation_alias=_env("DB_PASSWORD", "db_password"))
    db_name: str | None = Field(None, validation_alias=_env("DB_NAME", "db_name"))
    db_ssl_mode: SslMode | None = Field(None, validation_alias=_env("DB_SSL_MODE", "db_ssl_mode"))

    pg_host: str | None = Field(None, validation_alias=_env("PGHOST", "pg_host"))
    pg_port: int | None = Field(None, validation_alias=_env("PGPORT", "pg_port"))
    pg_user: str | None = Field(None, validation_alias=_env("PGUSER", "pg_user"))
    pg_password: SecretStr | None = Field(None, validation_alias=_env("PGPASSWORD", "pg_password"))
    pg_database: str | None = Field(None, validation_alias=_env("PGDATABASE", "pg_database"))
    pg_ssl_mode: SslMode | None = Field(None, validation_alias=_env("PGSSLMODE", "pg_ssl_mode"))

    pool_min_size: int = Field(1, ge=0, validation_alias=_env("DB_POOL_MIN_SIZE", "pool_min_size"))
    pool_max_size: int = Field(10, ge=1, validation_alias=_env("DB_POOL_MAX_SIZE", "pool_max_size"))
    pool_max_inactive_lifetime: float = Field(300.0, ge=0, validation_alias=_env("DB_POOL_MAX_IDLE_SECONDS", "pool_max_inactive_lifetime"))
    connect_timeout: float = Field(10.0, gt=0, validation_alias=_env("DB_CONNECT_TIMEOUT", "connect_timeout"))
    command_timeout: float = Field(30.0, gt=0, validation_alias=_env("DB_COMMAND_TIMEOUT", "command_timeout"))
    statement_cache_size: int = Field(100, ge=0, validation_alias=_env("DB_STATEMENT_CACHE_SIZE", "statement_cache_size"),
                                      description="0 for PgBouncer in transaction mode")
    read_only: bool = Field(False, validation_alias=_env("LOKSTRA_READ_ONLY", "read_only"))
    auth_schema: str = Field(DEFAULT_DATA_SCHEMA, validation_alias=_env("DB_AUTH_SCHEMA", "auth_schema"),
                             description="the schema of lokstra-auth's tables (upstream's DB_AUTH_SCHEMA)")

    db_time_zone: str | None = Field(None, validation_alias=_env("DB_TIME_ZONE", "db_time_zone"),
                                     description="the zone of lokstra-auth's wall-clock timestamps "
                                                 "(default: the server's TimeZone for this database and role)")

    @field_validator("db_time_zone", mode="before")
    @classmethod
    def _zone_name(cls, value: Any) -> Any:
        if value is None or value == "":
            return None
        zone_named(str(value))  # ValueError: not a zone
        return str(value)

    @field_validator("auth_schema", mode="before")
    @classmethod
    def _schema_name(cls, value: Any) -> Any:
        if value is None or value == "":
            return DEFAULT_DATA_SCHEMA
        if not isinstance(value, str) or not SCHEMA_NAME.fullmatch(value):
            raise ValueError("must be a schema name: letters, digits and _, starting with a letter or _, "
                             "at most 63 characters")
        return value

    @field_validator("db_port", "pg_port")
    @classmethod
    def _port_range(cls, value: int | None) -> int | None:
        if value is not None and not 1 <= value <= 65535:
            raise ValueError("the port must be 1-65535")  # 0 must not quietly become 5432
        return value

    @field_validator("db_ssl_mode", "pg_ssl_mode", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("database_url")
    @classmethod
    def _url_parses(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value():
            _parse_url(value.get_secret_value())  # refuse a malformed URL when settings load
        return value or None

    @field_validator("pool_max_size")
    @classmethod
    def _max_not_below_min(cls, value: int, info: Any) -> int:
        minimum = info.data.get("pool_min_size", 1)
        if value < minimum:
            raise ValueError(f"pool_max_size ({value}) must be at least pool_min_size ({minimum})")
        return value

    @property
    def backend(self) -> str:
        return "postgres" if self.use_postgres else "memory"

    def connection(self) -> ConnectionTarget:
        """Resolve the PostgreSQL target field by field: DB_*, then DATABASE_URL, then PG*, then libpq defaults."""
        url = _parse_url(self.database_url.get_secret_value()) if self.database_url else _UrlParts()
        user = self.db_user or url.user or self.pg_user or getpass.getuser()
        password = self.db_password or (SecretStr(url.password) if url.password else None) or self.pg_password
        return ConnectionTarget(
            host=self.db_host or url.host or self.pg_host or "localhost",
            port=self.db_port or url.port or self.pg_port or 5432,
            user=user,
            password=password,
            database=self.db_name or url.database or self.pg_database or user,
            sslmode=self.db_ssl_mode or url.sslmode or self.pg_ssl_mode or "prefer",
            connect_timeout=self.connect_timeout,
            command_timeout=self.command_timeout,
            statement_cache_size=self.statement_cache_size,
            read_only=self.read_only,
            schema=self.auth_schema,
            time_zone=self.db_time_zone,
        )


@dataclass
class _UrlParts:
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = None
    database: str | None = None
    sslmode: str | None = None


def _parse_url(dsn: str) -> _UrlParts:
    """Split a ``postgres://`` / ``postgresql://`` URL; anything else is a usage error."""
    parts = urlsplit(dsn)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise ValueError("DATABASE_URL must start with postgres:// or postgresql://")
    query = parse_qs(parts.query)
    sslmode = query.get("sslmode", [None])[0]
    if sslmode is not None and sslmode not in SSL_MODES:
        raise ValueError(f"DATABASE_URL has sslmode={sslmode!r}; use one of {', '.join(SSL_MODES)}")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError("DATABASE_URL has an invalid port: the port must be 1-65535") from exc
    if port == 0:
        raise ValueError("DATABASE_URL has an invalid port: the port must be 1-65535")
    return _UrlParts(
        host=unquote(parts.hostname) if parts.hostname else None,
        port=port,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        database=unquote(parts.path.lstrip("/")) or None,
        sslmode=sslmode,
    )


@dataclass
class ConnectionTarget:
    """One resolved PostgreSQL target. ``repr`` and ``display`` never include the password."""

    host: str
    port: int
    user: str
    database: str
    sslmode: str = "prefer"
    password: SecretStr | None = field(default=None, repr=False)
    connect_timeout: float = 10.0
    command_timeout: float = 30.0
    statement_cache_size: int = 100
    read_only: bool = False
    schema: str = DEFAULT_DATA_SCHEMA
    """Where lokstra's tables are (``DB_AUTH_SCHEMA``); not a connection parameter."""
    time_zone: str | None = None
    """``DB_TIME_ZONE``: the session's TimeZone; None leaves the server's default, the one
    lokstra-auth's own sessions get (stores/clock.py)."""

    def display(self) -> str:
        """``user@host:port/db``: safe to show on screen and in logs."""
        return f"{self.user}@{self.host}:{self.port}/{self.database}"

    def server_settings(self) -> dict[str, str]:
        """Session settings sent at connect. ``timezone`` only when ``DB_TIME_ZONE`` says: the
        schema's timestamps have no time zone, and ``NOW()`` in its defaults and triggers must
        write the wall clock lokstra-auth's own sessions write (the server's default), which
        the console's Python-side stamps then follow (``stores.clock``)."""
        settings = {"application_name": APPLICATION_NAME}
        if self.time_zone:
            settings["timezone"] = self.time_zone
        if self.read_only:
            settings["default_transaction_read_only"] = "on"
        return settings

    def connect_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``asyncpg.connect`` / ``asyncpg.create_pool``."""
        kwargs: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "database": self.database,
            "ssl": self.sslmode,
            "timeout": self.connect_timeout,
            "command_timeout": self.command_timeout,
            "statement_cache_size": self.statement_cache_size,
            "server_settings": self.server_settings(),
        }
        if self.password is not None:
            kwargs["password"] = self.password.get_secret_value()
        return kwargs

    def secrets(self) -> list[str]:
        """Values that must be scrubbed from any text shown or logged."""
        return [self.password.get_secret_value()] if self.password and self.password.get_secret_value() else []
