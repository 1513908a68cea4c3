"""Test one PostgreSQL target the way an operator asks about it before using it.

``probe`` connects once and reads: the server version, a ``SELECT 1`` round trip, whether
the session uses SSL, the current role and whether it can see the slow-query statistics
(``pg_stat_statements`` and other roles' query text), whether lokstra's data schema exists, and
the migration state (through ``MigrationRunner``, on a connection of its own).

It never raises for a problem of the target: a failure is diagnosed (``diagnose``: refused,
bad password, no database, SSL, timeout …) and stored in the result with what was read
before it, so the screen can show the reason and the fix. Findings that are not failures
(not migrated, slow round trips, no statistics) come with their fix too. No text in the
result ever contains the password.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from migrations import MigrationRunner, Overall, pooler
from migrations.jsonable import to_jsonable
from stores.layouts import UNSUPPORTED_NOTE, LayoutReport, by_name
from stores.postgres import facts
from stores.postgres.diagnose import MIGRATE_HINT, diagnose
from stores.secrets import scrub
from stores.settings import ConnectionTarget

SLOW_RTT_MS = 50.0  # a round trip slower than this makes every query of the console slow
RTT_SAMPLES = 3
EXTENSION = "pg_stat_statements"

_SESSION_SQL = """
SELECT current_setting('server_version') AS server_version,
       current_setting('server_version_num')::int AS server_version_num,
       current_user::text AS role,
       current_database()::text AS database,
       coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false) AS superuser,
       pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS read_all_stats,  -- inherited, as the server checks
       pg_has_role(current_user, 'pg_monitor', 'USAGE') AS monitor,
       to_regnamespace($1) IS NOT NULL AS schema_exists
"""
_SSL_SQL = "SELECT ssl, version, cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
_EXTENSION_SQL = """
SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = $1) AS available,
       (SELECT quote_ident(n.nspname) FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
         WHERE e.extname = $1) AS schema
"""


@dataclass
class Finding:
    """Something the operator should know, with what to do about it, in plain words.

    ``cause`` is a short code (the ``BackendUnavailable`` causes for failures, and
    ``not_migrated``, ``pending``, ``schema_drift``, ``slow``, ``no_statistics``,
    ``own_queries_only``, ``no_ssl`` for the rest)."""

    cause: str
    reason: str
    fix: str


@dataclass
class StatementsAccess:
    """What this role can learn about slow queries on this database."""

    available: bool = False  # the server has the extension's files
    schema: str | None = None  # CREATE EXTENSION was run here (in this schema)
    readable: bool = False  # a SELECT on the view works (the library is preloaded)
    all_query_text: bool = False  # superuser or pg_read_all_stats: other roles' query text is visible
    error: str | None = None  # why the view cannot be read

    @property
    def created(self) -> bool:
        return self.schema is not None


@dataclass
class ProbeResult:
    target: str  # user@host:port/db, never the password
    connect_ms: float | None = None
    rtt_ms: float | None = None
    server_version: str | None = None
    server_version_num: int | None = None
    ssl: bool | None = None
    ssl_version: str | None = None
    ssl_cipher: str | None = None
    role: str | None = None
    database: str | None = None
    superuser: bool | None = None
    read_all_stats: bool | None = None  # member (directly or not) of pg_read_all_stats
    monitor: bool | None = None  # member of pg_monitor
    statements: StatementsAccess = field(default_factory=StatementsAccess)
    schema_exists: bool | None = None
    layout: LayoutReport | None = None
    migration_overall: str | None = None  # migrations.Overall value
    migration_headline: str | None = None
    migration_error: str | None = None
    problem: Finding | None = None  # the failure that stopped the probe
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def connected(self) -> bool:
        return self.server_version is not None

    def to_json(self) -> dict[str, Any]:
        data = to_jsonable(self)
        data["ok"] = self.ok
        data["statements"]["created"] = self.statements.created
        data["layout"] = self.layout.to_json() if self.layout else None
        return data


async def probe(target: ConnectionTarget, *, slow_rtt_ms: float = SLOW_RTT_MS) -> ProbeResult:
    """Connect once to ``target`` and report what an operator needs before using it."""
    result = ProbeResult(target=target.display())
    secrets = target.secrets()
    started = time.perf_counter()
    try:
        conn = await pooler.connect(**target.connect_kwargs())
    except Exception as exc:  # every failure becomes a diagnosis, never a traceback
        result.problem = _failure(exc, target, "cannot connect")
        return result
    result.connect_ms = _ms_since(started)
    try:
        await _read_session(conn, result, target.schema)
        await _read_statements(conn, result, secrets)
    except Exception as exc:
        result.problem = _failure(exc, target, "the server refused a check")
        return result
    finally:
        await _close(conn)
    await _read_migrations(target, result)
    result.findings = _findings(result, target, slow_rtt_ms)
    return result


async def _read_session(conn: asyncpg.Connection, result: ProbeResult, schema: str) -> None:
    samples = []
    for _ in range(RTT_SAMPLES):  # simple-protocol round trips: no prepare in the way
        started = time.perf_counter()
        await conn.execute("SELECT 1")
        samples.append(_ms_since(started))
    result.rtt_ms = statistics.median(samples)
    row = await conn.fetchrow(_SESSION_SQL, schema)
    result.server_version = row["server_version"]
    result.server_version_num = row["server_version_num"]
    result.role = row["role"]
    result.database = row["database"]
    result.superuser = row["superuser"]
    result.read_all_stats = row["read_all_stats"]
    result.monitor = row["monitor"]
    result.schema_exists = row["schema_exists"]
    result.layout = await facts.layout(conn, schema)
    ssl = await conn.fetchrow(_SSL_SQL)
    result.ssl = bool(ssl and ssl["ssl"])
    if ssl and ssl["ssl"]:
        result.ssl_version, result.ssl_cipher = ssl["version"], ssl["cipher"]


async def _read_statements(conn: asyncpg.Connection, result: ProbeResult, secrets: list[str]) -> None:
    access = result.statements
    row = await conn.fetchrow(_EXTENSION_SQL, EXTENSION)
    access.available, access.schema = row["available"], row["schema"]
    access.all_query_text = bool(result.superuser or result.read_all_stats)
    if access.schema is None:
        return
    try:  # outside a transaction: a failing SELECT leaves the session usable
        await conn.fetchval(f"SELECT 1 FROM {access.schema}.{EXTENSION} LIMIT 1")
    except asyncpg.PostgresError as exc:
        access.error = scrub(str(exc), secrets)
        return
    access.readable = True


async def _read_migrations(target: ConnectionTarget, result: ProbeResult) -> None:
    try:
        status = await MigrationRunner.from_kwargs(target.connect_kwargs(), data_schema=target.schema).status()
    except Exception as exc:
        found = diagnose(exc, None, target.secrets())
        text = found.reason if found is not None else f"{type(exc).__name__}: {exc}"
        result.migration_error = scrub(text, target.secrets())
        return
    result.migration_overall = status.overall.value
    result.migration_headline = status.headline


def _findings(result: ProbeResult, target: ConnectionTarget, slow_rtt_ms: float) -> list[Finding]:
    found: list[Finding] = []
    overall = result.migration_overall
    layout = result.layout
    if layout is not None and layout.name == "current":
        found.append(Finding("layout_unsupported", f"{target.schema} holds {by_name('current').title}: {UNSUPPORTED_NOTE}",
                             "Use this console on a core-layout database; `lokstra-console check` lists what it "
                             "lacks here (nothing is written)"))
        overall = None  # its tracking is upstream's: adopting the core migrations would be refused
    elif layout is not None and layout.name == "unknown":
        found.append(Finding("layout_unknown", f"{target.schema} holds neither of lokstra-auth's layouts: {layout.headline}",
                             "`lokstra-console check` lists every difference; `migrate status` compares the schema "
                             "with the console's migrations"))
    if overall == Overall.NOT_INITIALISED:
        found.append(Finding("not_migrated", f"{target.schema} has not been migrated here (lokstra-auth "
                             "would fail with: relation \"tenants\" does not exist)", MIGRATE_HINT))
    elif overall == Overall.PENDING:
        found.append(Finding("pending", f"Migrations are pending: {result.migration_headline}", MIGRATE_HINT))
    elif overall in (Overall.DRIFT, Overall.FAILED, Overall.UNTRACKED):
        found.append(Finding("schema_drift", f"The schema needs attention: {result.migration_headline}",
                             "Open the migration status (`lokstra-console migrate status`) before using this database"))
    elif result.migration_error is not None:
        found.append(Finding("migration_unknown", f"The migration state cannot be read: {result.migration_error}",
                             f"Check that this role may read {target.schema} and the migration tracking tables"))
    if result.rtt_ms is not None and result.rtt_ms > slow_rtt_ms:
        found.append(Finding("slow", f"Round trips take {result.rtt_ms:.0f} ms: every query pays this",
                             "Check the network and server load; for slow queries look at the indexes, "
                             "EXPLAIN ANALYZE and the pool size (DB_POOL_MAX_SIZE)"))
    statements = result.statements
    if not statements.readable:
        if not statements.available:
            reason, fix = (f"{EXTENSION} is not installed on the server, so slow queries cannot be listed",
                           "Install the PostgreSQL contrib package and add it to shared_preload_libraries")
        elif not statements.created:
            reason, fix = (f"{EXTENSION} is not enabled in this database, so slow queries cannot be listed",
                           f"Run CREATE EXTENSION {EXTENSION}; as a superuser (it must also be in shared_preload_libraries)")
        else:
            reason, fix = (f"{EXTENSION} cannot be read: {statements.error}",
                           f"Add {EXTENSION} to shared_preload_libraries and restart the server")
        found.append(Finding("no_statistics", reason, fix))
    elif not statements.all_query_text:
        found.append(Finding("own_queries_only", f"Role {result.role} sees only its own query text in {EXTENSION}",
                             f"GRANT pg_read_all_stats (or pg_monitor) TO {result.role}; to see every role's slow queries"))
    if result.ssl is False and target.host not in ("localhost", "127.0.0.1", "::1") and not target.host.startswith("/"):
        found.append(Finding("no_ssl", "The connection is not encrypted",
                             "Set sslmode to require (or verify-full with the server's CA) for a remote server"))
    return found


def _failure(exc: BaseException, target: ConnectionTarget, what: str) -> Finding:
    secrets = target.secrets()
    found = diagnose(exc, target.display(), secrets)
    if found is not None:
        return Finding(found.cause, found.reason, found.fix)
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    missing_file = isinstance(exc, (FileNotFoundError, PermissionError)) and target.sslmode in ("verify-ca", "verify-full")
    if missing_file or (isinstance(exc, asyncpg.ClientConfigurationError) and "certificate" in first_line.lower()):
        detail = "a certificate file cannot be read" if missing_file else first_line
        return Finding("ssl_config", scrub(f"The SSL settings cannot be used: {detail}", secrets),
                       "verify-ca and verify-full need the server's CA certificate in ~/.postgresql/root.crt "
                       "(or PGSSLROOTCERT); or use sslmode require")
    if isinstance(exc, asyncpg.PostgresError):
        text = f"{what}: {first_line} [{exc.sqlstate}]"
    else:
        text = f"{what}: {type(exc).__name__}: {first_line}"
    return Finding("error", scrub(text, secrets), "Check the settings and the server log")


async def _close(conn: asyncpg.Connection) -> None:
    try:
        await conn.close(timeout=5)
    except Exception:  # a broken connection: drop it
        conn.terminate()


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
