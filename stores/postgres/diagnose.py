"""Turn a failed connection or query into a ``BackendUnavailable`` an operator can act on.

Covers the troubleshooting cases of the lokstra-auth migration guide (refused, bad password,
schema not migrated) and the other usual suspects (no such database or role, SSL, timeouts,
lost connections, server starting or shutting down, too many connections).
"""
from __future__ import annotations

import asyncio
import errno
import socket
import ssl

from stores.errors import BackendUnavailable
from stores.secrets import scrub

MIGRATE_HINT = "Run `lokstra-console migrate up` (or check DB_NAME points at the right database)"


def diagnose(exc: BaseException, target: str | None = None, secrets: list[str] | None = None) -> BackendUnavailable | None:
    """The diagnosis for ``exc``, or None when it is not a backend availability problem."""
    found = _classify(exc)
    if found is None:
        return None
    cause, reason, fix = found
    return BackendUnavailable(cause, scrub(reason, secrets or []), fix, target)


def _classify(exc: BaseException) -> tuple[str, str, str] | None:
    import asyncpg  # here, not at the top: the log filter uses ``scrub`` and the console starts without asyncpg

    message = str(exc)
    lowered = message.lower()
    if isinstance(exc, asyncpg.InvalidPasswordError) or "password authentication failed" in lowered:
        return ("auth_failed", "Password authentication failed",
                "The user or password is wrong: check DB_USER / DB_PASSWORD (or the profile) and that the role exists with that password")
    if isinstance(exc, (asyncpg.InvalidSQLStatementNameError, asyncpg.DuplicatePreparedStatementError)) \
            and "__asyncpg_" in lowered:
        # asyncpg's own statement names: prepared on one server session, used on another.
        return ("pooler_prepared_statements",
                "A connection pooler in transaction or statement mode (PgBouncer or similar) is in front of the "
                "server, and the console's prepared statements do not survive it",
                "Set DB_STATEMENT_CACHE_SIZE=0 (statement_cache_size = 0 in a saved profile), or connect to "
                "PostgreSQL directly")
    if "unsupported startup parameter" in lowered:  # PgBouncer's answer to a session setting it does not pass on
        parameter = message.rsplit(":", 1)[-1].strip()
        if parameter == "default_transaction_read_only":
            return ("pooler_read_only", "The connection pooler in front of the server (PgBouncer) refuses the "
                    "setting --read-only sends (default_transaction_read_only)",
                    "Connect to PostgreSQL directly for --read-only, or log in as a role that may only SELECT; "
                    "adding it to PgBouncer's ignore_startup_parameters would drop read-only mode silently")
        return ("pooler_startup_parameter", f"The connection pooler in front of the server (PgBouncer) refuses the "
                f"session setting {parameter}", "Add it to PgBouncer's ignore_startup_parameters, or connect to "
                "PostgreSQL directly")
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return ("no_database", "The database does not exist",
                "Create it (CREATE DATABASE …) or set DB_NAME to an existing database")
    if isinstance(exc, (asyncpg.UndefinedTableError, asyncpg.InvalidSchemaNameError)):
        return ("not_migrated", f"lokstra-auth's schema has not been migrated ({message})", MIGRATE_HINT)
    if isinstance(exc, asyncpg.InsufficientPrivilegeError):
        return ("insufficient_privilege", f"The database role may not do this: {message}",
                "Grant the role the missing privilege, or use a role that has it: the stores need USAGE on "
                "lokstra's data schema (DB_AUTH_SCHEMA, lokstra_auth by default) and SELECT, INSERT, UPDATE, DELETE "
                "on its tables (SELECT alone for read-only use); migrations need the owner of that schema and of "
                "lokstra_console")
    if "pg_hba.conf" in lowered and "no encryption" in lowered:
        return ("ssl_required", "The server requires SSL for this connection",
                "Set DB_SSL_MODE=require (or verify-full with the server's CA)")
    if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError):
        if "does not exist" in lowered and "role" in lowered:
            return ("no_role", "The database role does not exist", "Check DB_USER, or create the role on the server")
        return ("not_allowed", "The server does not allow this connection (pg_hba.conf)",
                "Ask the DBA to add a pg_hba.conf entry for this host, user and database")
    if "ssl" in lowered and ("not support" in lowered or "rejected" in lowered or "not enabled" in lowered):
        return ("ssl_refused", "The server does not accept SSL connections",
                "Set DB_SSL_MODE=disable or prefer, or enable ssl on the server")
    if isinstance(exc, ssl.SSLError):
        return ("ssl_error", "The SSL handshake failed (certificate or protocol)",
                "Check DB_SSL_MODE and the server certificate; verify-ca / verify-full need the CA in ~/.postgresql/root.crt")
    if isinstance(exc, asyncpg.TooManyConnectionsError):
        return ("too_many_connections", "The server has no free connection slots",
                "Lower the pool size (DB_POOL_MAX_SIZE) or raise max_connections on the server")
    if isinstance(exc, asyncpg.CannotConnectNowError):
        return ("starting", "The server is starting up or shutting down", "Wait a moment and retry")
    if isinstance(exc, (asyncpg.AdminShutdownError, asyncpg.CrashShutdownError)):
        return ("server_shutdown", "The server shut down this connection", "Check that the server is running, then retry")
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return ("timeout", "The server did not answer in time",
                "Check the host, port and firewall; raise DB_CONNECT_TIMEOUT / DB_COMMAND_TIMEOUT if the server is only slow")
    if isinstance(exc, socket.gaierror):
        return ("unknown_host", "The database host name cannot be resolved", "Check DB_HOST for typos and the DNS")
    if isinstance(exc, ConnectionRefusedError) or (isinstance(exc, OSError) and exc.errno == errno.ECONNREFUSED) \
            or "connection refused" in lowered or "connect call failed" in lowered:
        return ("refused", "Connection refused: the server is not running or a firewall blocks the port",
                "Start PostgreSQL (or check DB_HOST / DB_PORT) and make sure the port is open")
    # asyncpg detaches a pooled connection whose socket closed under it; the next call on it
    # says "released back to the pool" (e.g. a digest read when every connection was cut).
    if isinstance(exc, (asyncpg.ConnectionDoesNotExistError, ConnectionResetError, asyncpg.InternalClientError)) or (
        isinstance(exc, asyncpg.InterfaceError) and "connection" in lowered
        and ("closed" in lowered or "released back to the pool" in lowered)
    ):
        return ("connection_lost", "The connection to the server was lost",
                "Nothing it was writing was committed (the server rolls back a transaction whose connection "
                "ends); check the network and the server, then retry")
    if isinstance(exc, OSError) and exc.errno in {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ETIMEDOUT}:
        return ("unreachable", "The database host is unreachable", "Check the network route and firewall to DB_HOST")
    return None
