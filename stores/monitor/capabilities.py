"""What this role can monitor on this server, probed once per connection, with the exact fix
for each gap (the capability panel shows them)."""
from __future__ import annotations

from dataclasses import dataclass, field

from stores.monitor.sql import StatementColumns

EXTENSION = "pg_stat_statements"


@dataclass(frozen=True)
class Gap:
    """Something that limits the monitor, and the exact statement or setting that fixes it."""

    what: str
    fix: str
    serious: bool = True
    """False for an optional improvement (e.g. I/O timing)."""


@dataclass
class Capabilities:
    server_version: str
    server_version_num: int
    role: str
    database: str
    superuser: bool
    read_all_stats: bool
    monitor: bool
    signal_backend: bool
    available: bool
    """The server has the extension's files (pg_available_extensions)."""
    schema: str | None
    """Where CREATE EXTENSION put it (quoted), None when it was not created in this database."""
    extension_version: str | None
    member_not_inheriting: bool = False
    """Granted pg_read_all_stats or pg_signal_backend without inheriting it (a NOINHERIT role,
    or PostgreSQL 16's GRANT … WITH INHERIT FALSE): another GRANT would change nothing."""
    readable: bool = False
    """A ``LIMIT 1`` select on the view worked (the library is preloaded)."""
    read_error: str | None = None
    read_error_code: str | None = None
    can_reset: bool = False
    settings: dict[str, str | None] = field(default_factory=dict)
    """pg_settings values; None where the role may not see the setting."""
    columns: StatementColumns | None = None
    """The pg_stat_statements columns the monitor reads (picked for the version)."""
    upstream: list[Gap] = field(default_factory=list)
    """What lokstra-auth itself cannot read or verify in these stores (stores/compat.py)."""

    @property
    def created(self) -> bool:
        return self.schema is not None

    @property
    def preload(self) -> str | None:
        return self.settings.get("shared_preload_libraries")

    @property
    def preloaded(self) -> bool | None:
        """Whether shared_preload_libraries lists the extension; None when the role cannot see it."""
        if self.preload is None:
            return True if self.readable else None
        return EXTENSION in [lib.strip().strip('"') for lib in self.preload.split(",")]

    @property
    def all_stats(self) -> bool:
        """Other roles' query text and activity are visible."""
        return self.superuser or self.read_all_stats

    @property
    def may_signal_others(self) -> bool:
        return self.superuser or self.signal_backend

    @property
    def has_info(self) -> bool:
        return bool(self.columns and self.columns.has_info)

    def setting_on(self, name: str) -> bool | None:
        value = self.settings.get(name)
        if value is None:
            return None
        return value not in ("off", "false", "0")

    def preload_line(self) -> str:
        """The postgresql.conf line that loads the extension, keeping what is loaded already."""
        libraries = [lib.strip() for lib in (self.preload or "").split(",") if lib.strip()]
        if EXTENSION not in libraries:
            libraries.append(EXTENSION)
        return f"shared_preload_libraries = '{','.join(libraries)}'"

    def gaps(self) -> list[Gap]:
        """Every gap with its fix, the most serious first."""
        found: list[Gap] = []
        restart = "then restart the server (a reload is not enough)"
        if not self.available:
            found.append(Gap(f"{EXTENSION} is not installed on the server: no slow-query statistics",
                             f"Install the PostgreSQL contrib package, add to postgresql.conf: "
                             f"{self.preload_line()} ; {restart}; then in database {self.database}: "
                             f"CREATE EXTENSION {EXTENSION};"))
        else:
            if self.preloaded is False or self.read_error_code == "55000":
                found.append(Gap(f"{EXTENSION} is not loaded (not in shared_preload_libraries): no statistics "
                                 "are collected", f"Add to postgresql.conf: {self.preload_line()} ; {restart}"))
            if not self.created:
                found.append(Gap(f"{EXTENSION} is not created in database {self.database}",
                                 f"As a superuser, in database {self.database}: CREATE EXTENSION {EXTENSION};"))
            elif not self.readable and self.read_error_code != "55000":
                found.append(Gap(f"{EXTENSION} cannot be read: {self.read_error}",
                                 f"GRANT EXECUTE ON FUNCTION {self.schema}.{EXTENSION}(boolean) TO {self.role}; "
                                 f"GRANT SELECT ON {self.schema}.{EXTENSION} TO {self.role};"))
        inherit = (f"ALTER ROLE {self.role} INHERIT;  (PostgreSQL 16+: GRANT … TO {self.role} WITH INHERIT TRUE;)"
                   if self.member_not_inheriting else None)
        if not self.all_stats:
            found.append(Gap(f"Role {self.role} sees only its own queries' text and sessions",
                             inherit or f"GRANT pg_monitor TO {self.role};  (or GRANT pg_read_all_stats TO {self.role};)"))
        if not self.may_signal_others:
            found.append(Gap(f"Role {self.role} may cancel or terminate only its own sessions",
                             inherit or f"GRANT pg_signal_backend TO {self.role};"))
        if self.created and self.readable and not self.can_reset:
            found.append(Gap(f"Role {self.role} may not reset the statistics",
                             f"GRANT EXECUTE ON FUNCTION {self.schema}.pg_stat_statements_reset TO {self.role};",
                             serious=False))
        if self.setting_on("track_io_timing") is False:
            found.append(Gap("track_io_timing is off: no I/O time per query (shown as n/a)",
                             "ALTER SYSTEM SET track_io_timing = on; SELECT pg_reload_conf();", serious=False))
        if self.server_version_num >= 140000 and self.settings.get("compute_query_id") == "off":
            found.append(Gap("compute_query_id is off: pg_stat_statements records nothing",
                             "ALTER SYSTEM SET compute_query_id = auto; SELECT pg_reload_conf();"))
        if self.readable and self.setting_on("pg_stat_statements.track_planning") is False:
            found.append(Gap("pg_stat_statements.track_planning is off: no planning time (n/a)",
                             "ALTER SYSTEM SET pg_stat_statements.track_planning = on; SELECT pg_reload_conf();",
                             serious=False))
        found.extend(self.upstream)
        found.sort(key=lambda gap: not gap.serious)
        return found
