"""The monitoring SQL, picked for the server version (read once, at the capability probe).

pg_stat_statements renamed its columns over the versions this console supports:
PostgreSQL 13 split ``total_time`` into ``total_exec_time`` / ``total_plan_time`` (and
``mean_time``… likewise), 14 added ``toplevel`` and ``pg_stat_statements_info``, 17 renamed
``blk_read_time`` / ``blk_write_time`` to ``shared_blk_read_time`` / ``shared_blk_write_time``
and added ``stats_since`` (when the entry was created: a change means it started again).
``StatementColumns.for_version`` names the columns of one version; ``statements_sql`` builds
the query from them. Every statement carries ``MARKER`` so the monitor can leave its own
queries out of what it shows.
"""
from __future__ import annotations

from dataclasses import dataclass

MARKER = "/* lokstra-console:monitor */"
"""Follows the first keyword of every monitoring statement (``SELECT /* … */ …``); its
pg_stat_statements entries are hidden by default. Not in front: PostgreSQL 18's
pg_stat_statements keeps the text from the statement's first token, without the comments
before it (seen on 18.6), so a leading marker vanished and the monitor showed its own queries."""

LOKSTRA_TABLES: tuple[str, ...] = ("tenants", "apps", "branches", "users", "user_apps", "app_keys")


@dataclass(frozen=True)
class StatementColumns:
    """Column names (or SQL expressions) of pg_stat_statements on one server version."""

    total: str
    mean: str
    stddev: str
    toplevel: str
    plan_total: str | None
    blk_read: str
    blk_write: str
    has_info: bool
    stats_since: str | None = None

    @classmethod
    def for_version(cls, version_num: int) -> StatementColumns:
        exec_names = version_num >= 130000
        return cls(
            total="total_exec_time" if exec_names else "total_time",
            mean="mean_exec_time" if exec_names else "mean_time",
            stddev="stddev_exec_time" if exec_names else "stddev_time",
            toplevel="toplevel" if version_num >= 140000 else "true",
            plan_total="total_plan_time" if exec_names else None,
            blk_read="shared_blk_read_time" if version_num >= 170000 else "blk_read_time",
            blk_write="shared_blk_write_time" if version_num >= 170000 else "blk_write_time",
            has_info=version_num >= 140000,
            stats_since="stats_since" if version_num >= 170000 else None,
        )

    def required(self) -> set[str]:
        """The view columns this version's query reads (checked against the view at the probe)."""
        names = {self.total, self.mean, self.stddev, self.blk_read, self.blk_write,
                 "calls", "rows", "shared_blks_hit", "shared_blks_read", "queryid", "userid", "dbid"}
        if self.toplevel != "true":
            names.add(self.toplevel)
        if self.plan_total:
            names.add(self.plan_total)
        if self.stats_since:
            names.add(self.stats_since)
        return names


def statements_sql(columns: StatementColumns, schema: str) -> str:
    """Every entry without its text (``showtext => false``: the texts file is not read each
    sample); names of database and role joined in. ``schema`` is quoted already."""
    plan = f"s.{columns.plan_total}" if columns.plan_total else "NULL::float8"
    toplevel = f"s.{columns.toplevel}" if columns.toplevel != "true" else "true"
    since = f"s.{columns.stats_since}" if columns.stats_since else "NULL::timestamptz"
    return f"""SELECT {MARKER}
       s.dbid, s.userid, s.queryid, {toplevel} AS toplevel,
       d.datname::text AS database, r.rolname::text AS role,
       s.calls, s.{columns.total} AS total_ms, s.{columns.mean} AS mean_ms, s.{columns.stddev} AS stddev_ms,
       s.rows, s.shared_blks_hit AS blks_hit, s.shared_blks_read AS blks_read,
       s.{columns.blk_read} + s.{columns.blk_write} AS io_ms, {plan} AS plan_ms, {since} AS stats_since
FROM {schema}.pg_stat_statements(false) s
LEFT JOIN pg_database d ON d.oid = s.dbid
LEFT JOIN pg_roles r ON r.oid = s.userid"""


def texts_sql(columns: StatementColumns, schema: str) -> str:
    """The texts of the given query ids (read only for entries not seen before)."""
    toplevel = f"s.{columns.toplevel}" if columns.toplevel != "true" else "true"
    return f"""SELECT {MARKER}
       s.dbid, s.userid, s.queryid, {toplevel} AS toplevel, s.query
FROM {schema}.pg_stat_statements(true) s WHERE s.queryid = ANY($1::bigint[])"""


def info_sql(schema: str) -> str:
    return f"SELECT {MARKER} dealloc, stats_reset FROM {schema}.pg_stat_statements_info"


def reset_sql(schema: str) -> str:
    return f"SELECT {MARKER} {schema}.pg_stat_statements_reset()"


SESSION_SQL = f"""SELECT {MARKER}
       current_setting('server_version') AS server_version,
       current_setting('server_version_num')::int AS server_version_num,
       current_user::text AS role, current_database()::text AS database,
       coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false) AS superuser,
       pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS read_all_stats,
       pg_has_role(current_user, 'pg_monitor', 'USAGE') AS monitor,
       pg_has_role(current_user, 'pg_signal_backend', 'USAGE') AS signal_backend,
       (pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER')
        OR pg_has_role(current_user, 'pg_signal_backend', 'MEMBER')) AS member_not_inheriting,
       EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements') AS available,
       (SELECT quote_ident(n.nspname) FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
         WHERE e.extname = 'pg_stat_statements') AS schema,
       (SELECT e.extversion FROM pg_extension e WHERE e.extname = 'pg_stat_statements') AS extension_version"""
"""'USAGE', not 'MEMBER': the server checks stats visibility and signalling with the privileges
the role inherits, so a NOINHERIT member of pg_read_all_stats still sees only its own queries."""

SETTINGS_SQL = f"""SELECT {MARKER}
       name, setting FROM pg_settings
WHERE name IN ('shared_preload_libraries', 'track_io_timing', 'compute_query_id',
               'pg_stat_statements.track_planning', 'pg_stat_statements.max', 'track_activity_query_size')"""
"""pg_settings hides superuser-only settings (shared_preload_libraries) from other roles: no error."""

VIEW_COLUMNS_SQL = f"""SELECT {MARKER}
       array_agg(attname::text) FROM pg_attribute
WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped"""

RESET_ALLOWED_SQL = f"""SELECT {MARKER}
       coalesce(bool_or(has_function_privilege(p.oid, 'EXECUTE')), false)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE p.proname = 'pg_stat_statements_reset' AND quote_ident(n.nspname) = $1"""

DATABASE_SQL = f"""SELECT {MARKER}
       blks_hit, blks_read, stats_reset FROM pg_stat_database WHERE datname = current_database()"""

TABLES_SQL = f"""SELECT {MARKER}
       c.relname::text AS name,
       pg_total_relation_size(c.oid) AS total_bytes, pg_relation_size(c.oid) AS heap_bytes,
       pg_indexes_size(c.oid) AS index_bytes,
       CASE WHEN c.reltoastrelid <> 0 THEN pg_total_relation_size(c.reltoastrelid) ELSE 0 END AS toast_bytes,
       s.n_live_tup AS live_rows, s.n_dead_tup AS dead_rows, s.seq_scan, s.seq_tup_read, s.idx_scan,
       greatest(s.last_vacuum, s.last_autovacuum) AS last_vacuum,
       greatest(s.last_analyze, s.last_autoanalyze) AS last_analyze,
       io.heap_blks_hit, io.heap_blks_read
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
LEFT JOIN pg_statio_user_tables io ON io.relid = c.oid
WHERE n.nspname = $2 AND c.relkind IN ('r', 'p') AND c.relname = ANY($1::text[])
ORDER BY pg_total_relation_size(c.oid) DESC"""

INDEXES_SQL = f"""SELECT {MARKER}
       s.relname::text AS table_name, s.indexrelname::text AS name, pg_relation_size(s.indexrelid) AS bytes,
       s.idx_scan, s.idx_tup_read, i.indisunique AS is_unique, i.indisprimary AS is_primary
FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
WHERE s.schemaname = $2 AND s.relname = ANY($1::text[])
ORDER BY s.relname, s.indexrelname"""

ACTIVITY_SQL = f"""SELECT {MARKER}
       a.pid, a.usename::text AS role, a.datname::text AS database, a.application_name, a.client_addr::text AS client,
       a.state, a.wait_event_type, a.wait_event,
       extract(epoch FROM now() - a.xact_start)::float8 AS xact_seconds,
       extract(epoch FROM now() - a.query_start)::float8 AS query_seconds,
       CASE WHEN a.wait_event_type = 'Lock' THEN pg_blocking_pids(a.pid) END AS blocked_by,
       a.query
FROM pg_stat_activity a
WHERE a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()
  AND a.application_name IS DISTINCT FROM $1
ORDER BY a.query_start NULLS LAST"""
"""``pg_blocking_pids`` only for sessions waiting on a lock: it takes the lock manager's locks."""

CANCEL_SQL = f"SELECT {MARKER} pg_cancel_backend($1)"
TERMINATE_SQL = f"SELECT {MARKER} pg_terminate_backend($1)"
