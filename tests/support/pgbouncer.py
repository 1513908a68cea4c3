"""A throwaway PgBouncer in front of the test server, started and stopped like the cluster.

Debian's ``pgbouncer`` binary, a config written into a temporary directory, a free loopback
port, trust authentication for the users listed, every database passed through to the test
server (``* = host=… port=…``). PgBouncer refuses to run as root, so as root it runs as the
``postgres`` OS user (the directory is chowned to it). The config keeps PgBouncer's defaults
where an operator would (no ``ignore_startup_parameters``, no prepared-statement tracking), so
what the tests see is what a stock PgBouncer in that pool mode does. One setting is not a
default: ``server_round_robin = 1`` hands out idle server sessions in turn instead of the
last one used, which is what a busy PgBouncer does anyway (the next transaction lands on
another server session); ``spread`` opens the server sessions to turn through.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from tests.support.pgcluster import free_port, server_user

PGBOUNCER = os.environ.get("LOKSTRA_TEST_PGBOUNCER", "/usr/sbin/pgbouncer")


class PgBouncerUnavailable(RuntimeError):
    """No pgbouncer binary (or no way to run it) on this machine."""


def find_pgbouncer() -> Path:
    for candidate in (PGBOUNCER, shutil.which("pgbouncer")):
        if candidate and Path(candidate).exists():
            return Path(candidate)
    raise PgBouncerUnavailable("no pgbouncer binary (apt-get install pgbouncer, or set LOKSTRA_TEST_PGBOUNCER)")


@dataclass
class PgBouncer:
    """A running PgBouncer: ``dsn(database)`` connects through it, ``admin()`` to its console."""

    binary: Path
    workdir: Path
    port: int
    server_host: str
    server_port: int
    pool_mode: str
    run_as: str | None
    users: list[str] = field(default_factory=lambda: ["postgres"])
    process: subprocess.Popen[bytes] | None = None

    host: str = "127.0.0.1"

    def dsn(self, database: str, user: str = "postgres") -> str:
        return f"postgresql://{user}@{self.host}:{self.port}/{database}"

    def via(self, server_dsn: str) -> str:
        """``server_dsn`` (a URL to the test server) rewritten to go through this PgBouncer."""
        parts = urlsplit(server_dsn)
        user = parts.username or "postgres"
        auth = f"{user}:{parts.password}@" if parts.password else f"{user}@"
        return urlunsplit((parts.scheme, f"{auth}{self.host}:{self.port}", parts.path, parts.query, ""))

    @property
    def config(self) -> Path:
        return self.workdir / "pgbouncer.ini"

    @property
    def log(self) -> Path:
        return self.workdir / "pgbouncer.log"

    def write_config(self) -> None:
        (self.workdir / "userlist.txt").write_text("".join(f'"{user}" ""\n' for user in self.users))
        self.config.write_text(f"""[databases]
* = host={self.server_host} port={self.server_port}

[pgbouncer]
listen_addr = {self.host}
listen_port = {self.port}
unix_socket_dir = {self.workdir}
pidfile = {self.workdir}/pgbouncer.pid
logfile = {self.log}
auth_type = trust
auth_file = {self.workdir}/userlist.txt
admin_users = postgres
pool_mode = {self.pool_mode}
default_pool_size = 20
max_client_conn = 200
server_round_robin = 1
""")
        if self.run_as:
            for path in self.workdir.iterdir():
                shutil.chown(path, self.run_as)

    async def spread(self, database: str, sessions: int = 3, user: str = "postgres") -> None:
        """Make PgBouncer open ``sessions`` server sessions for ``database``: that many clients
        each in a transaction at once. Afterwards a client's consecutive transactions run on
        different server sessions (round robin), as they do on a busy pooler."""
        clients = [await asyncpg.connect(self.dsn(database, user), statement_cache_size=0) for _ in range(sessions)]
        try:
            for client in clients:
                await client.execute("BEGIN; SELECT 1")
            pids = {await client.fetchval("SELECT pg_backend_pid()") for client in clients}
            assert len(pids) == sessions, f"PgBouncer gave {len(pids)} server sessions to {sessions} clients in a transaction"
            for client in clients:
                await client.execute("COMMIT")  # a client leaving mid-transaction costs PgBouncer its server session
        finally:
            for client in clients:
                await client.close()

    def start(self, timeout: float = 30.0) -> None:
        self.write_config()
        kwargs: dict = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        if self.run_as:
            kwargs["user"] = self.run_as
        self.process = subprocess.Popen([str(self.binary), str(self.config)], **kwargs)
        self.wait_listening(timeout)

    def wait_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited ({self.process.returncode}): {self.log_text()[-2000:]}")
            try:
                with socket.create_connection((self.host, self.port), timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"pgbouncer did not listen on {self.port} within {timeout:g}s") from None
                time.sleep(0.05)

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_pgbouncer(server_dsn: str, pool_mode: str = "transaction") -> PgBouncer:
    """A PgBouncer in ``pool_mode`` in front of the server that ``server_dsn`` reaches."""
    binary = find_pgbouncer()
    run_as = server_user("pgbouncer", PgBouncerUnavailable)
    parts = urlsplit(server_dsn)
    workdir = Path(tempfile.mkdtemp(prefix=f"lokstra-pgbouncer-{pool_mode}-"))
    if run_as:
        shutil.chown(workdir, run_as)
    bouncer = PgBouncer(binary=binary, workdir=workdir, port=free_port(), server_host=parts.hostname or "127.0.0.1",
                        server_port=parts.port or 5432, pool_mode=pool_mode, run_as=run_as)
    try:
        bouncer.start()
    except Exception:
        bouncer.destroy()
        raise
    return bouncer
