"""The console's own settings: named connection profiles, key bindings, preferences.

Read with pydantic-settings from a TOML file (``~/.config/lokstra-console/config.toml``, or
the path in ``LOKSTRA_CONSOLE_CONFIG``) and ``LOKSTRA_CONSOLE_*`` environment variables
(nested with ``__``). The file is written with 0600 permissions, and a profile stores a
password only when the operator explicitly chooses to.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import (
    BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource,
)

from console.paths import default_files_directory, private_directory
from stores.settings import SslMode, Settings

Environment = Literal["development", "staging", "production"]
CONFIG_ENV = "LOKSTRA_CONSOLE_CONFIG"


def config_path() -> Path:
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "lokstra-console" / "config.toml"


class Profile(BaseModel):
    """One PostgreSQL target the operator named."""

    model_config = ConfigDict(extra="forbid")

    host: str = "localhost"
    port: int = Field(5432, ge=1, le=65535)
    user: str = "postgres"
    database: str = "postgres"
    sslmode: SslMode = "prefer"
    password: SecretStr | None = Field(None, description="saved only when the operator chose to")
    environment: Environment = "development"
    read_only: bool = False
    pool_min_size: int = Field(1, ge=0)
    pool_max_size: int = Field(10, ge=1)
    connect_timeout: float = Field(10.0, gt=0)
    command_timeout: float = Field(30.0, gt=0)
    statement_cache_size: int = Field(100, ge=0)

    def display(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.database}"

    def store_settings(self, password: SecretStr | None = None, read_only: bool = False) -> Settings:
        """Settings for ``open_stores``; ``password`` (typed in this session) wins over a saved one."""
        return Settings(
            use_postgres=True, db_host=self.host, db_port=self.port, db_user=self.user, db_name=self.database,
            db_ssl_mode=self.sslmode, db_password=password or self.password,
            pool_min_size=self.pool_min_size, pool_max_size=self.pool_max_size,
            connect_timeout=self.connect_timeout, command_timeout=self.command_timeout,
            statement_cache_size=self.statement_cache_size, read_only=read_only or self.read_only,
        )


class ConsoleConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOKSTRA_CONSOLE_", env_nested_delimiter="__", extra="ignore")

    active_profile: str | None = None
    profiles: dict[str, Profile] = Field(default_factory=dict)
    keymap: dict[str, str] = Field(default_factory=dict, description="binding id -> keys, e.g. 'app.quit' = 'ctrl+q'")
    animations: bool = False
    health_interval: float = Field(5.0, ge=0.5, le=300)
    write_wait: float = Field(30.0, gt=0, description="seconds a write waits for a live switch to finish")
    allow_hard_delete: bool = Field(False, description="offer hard deletes (with cascade); off: only status changes")
    report_dir: Path | None = Field(None, description="where exports, memory snapshots and drill reports go by "
                                    "default (unset: $XDG_STATE_HOME/lokstra-console/files)")
    read_only: bool = Field(False, description="every entry point read-only, whatever the profile (console/target.py)")

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=config_path()))

    def files_directory(self) -> Path:
        """The folder for exports, snapshots and drill reports (``report_dir`` or the state
        directory's), created 0700. The console's own default folder is tightened to 0700 if it
        is wider; a folder the operator named keeps its permissions. Raises OSError when it
        cannot be created (the dialogs then offer the current directory)."""
        if self.report_dir is not None:
            return private_directory(Path(self.report_dir).expanduser(), tighten=False)
        return private_directory(default_files_directory())

    def files_directory_or_here(self) -> Path:
        """``files_directory()``, or the current directory when it cannot be created."""
        try:
            return self.files_directory()
        except OSError:
            return Path.cwd()

    def profile(self, name: str | None = None) -> Profile | None:
        chosen = name or self.active_profile
        return self.profiles.get(chosen) if chosen else None

    def save(self, path: Path | None = None, keep_passwords: frozenset[str] = frozenset()) -> Path:
        """Write the file atomically with 0600. Passwords are written only for the profiles
        named in ``keep_passwords`` (the operator ticked "save password" for them)."""
        target = path or config_path()
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        text = to_toml(self, keep_passwords)
        handle, temp = tempfile.mkstemp(dir=target.parent, prefix=".config-", suffix=".toml")
        try:
            os.fchmod(handle, 0o600)
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return target


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a valid TOML basic string


def to_toml(config: ConsoleConfig, keep_passwords: frozenset[str] = frozenset()) -> str:
    lines: list[str] = []
    for key in ("active_profile", "animations", "health_interval", "write_wait", "allow_hard_delete", "report_dir",
                "read_only"):
        value = getattr(config, key)
        if key == "read_only" and not value:
            continue
        if value is not None:
            lines.append(f"{key} = {_toml_value(value)}")
    if config.keymap:
        lines += ["", "[keymap]"] + [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in sorted(config.keymap.items())]
    for name, profile in sorted(config.profiles.items()):
        lines += ["", f"[profiles.{json.dumps(name)}]"]
        for key, value in profile.model_dump(exclude={"password"}).items():
            lines.append(f"{key} = {_toml_value(value)}")
        if name in keep_passwords and profile.password is not None:
            lines.append(f"password = {_toml_value(profile.password.get_secret_value())}")
    return "\n".join(lines) + "\n"
