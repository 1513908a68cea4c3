"""A throwaway PostgreSQL cluster for the test session.

initdb into a temporary directory, start it with pg_ctl on a free loopback port with
pg_stat_statements preloaded, stop and delete it at the end. initdb and pg_ctl refuse to
run as root, so as root the binaries run as the ``postgres`` OS user and the directory is
chowned to it.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


class ClusterUnavailable(RuntimeError):
    """No PostgreSQL server binaries (or no way to run them) on this machine."""


PG_BIN_VARIABLE = "LOKSTRA_TEST_PG_BIN"


def find_bindir() -> Path:
    """The server binaries the session's clusters use.

    ``$LOKSTRA_TEST_PG_BIN`` (or the older ``PG_BINDIR``) names a directory with initdb and
    pg_ctl, e.g. another major version's; without it, the newest ``/usr/lib/postgresql/*/bin``.
    A named directory that does not work is an error, never a silent fall-back to the default.
    """
    override = os.environ.get(PG_BIN_VARIABLE) or os.environ.get("PG_BINDIR")
    if override:
        if not ((Path(override) / "initdb").exists() and (Path(override) / "pg_ctl").exists()):
            raise ClusterUnavailable(f"{PG_BIN_VARIABLE}={override} has no initdb and pg_ctl")
        return Path(override)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True)
    for candidate in candidates:
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    raise ClusterUnavailable("no PostgreSQL server binaries (initdb, pg_ctl) in /usr/lib/postgresql/*/bin")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Cluster:
    """A running throwaway cluster: superuser ``postgres``, trust auth on 127.0.0.1."""

    bindir: Path
    datadir: Path
    port: int
    run_as: str | None

    host: str = "127.0.0.1"
    user: str = "postgres"

    def dsn(self, database: str = "postgres", user: str | None = None, password: str | None = None) -> str:
        auth = user or self.user
        if password:
            auth = f"{auth}:{password}"
        return f"postgresql://{auth}@{self.host}:{self.port}/{database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        kwargs: dict = {"capture_output": True, "text": True, "check": False}
        if self.run_as:
            kwargs["user"] = self.run_as
        result = subprocess.run([str(a) for a in args], **kwargs)
        if check and result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}")
        return result

    def start(self) -> None:
        options = f"-p {self.port} -k {self.datadir} -c listen_addresses=127.0.0.1"
        self._run(self.bindir / "pg_ctl", "-D", self.datadir, "-o", options, "-l", self.datadir / "server.log", "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(self.bindir / "pg_ctl", "-D", self.datadir, "-m", mode, "-w", "stop", check=False)

    def restart(self) -> None:
        self.stop()
        self.start()

    def append_conf(self, text: str) -> None:
        with open(self.datadir / "postgresql.conf", "a") as conf:
            conf.write(text)

    def set_hba(self, lines: str) -> None:
        """Replace pg_hba.conf (e.g. to require a password for one role) and reload."""
        (self.datadir / "pg_hba.conf").write_text(lines)
        self._run(self.bindir / "pg_ctl", "-D", self.datadir, "reload")

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


def has_library(bindir: Path, name: str) -> bool:
    """Whether the server in ``bindir`` ships the loadable module ``name`` (pg_config --pkglibdir)."""
    result = subprocess.run([str(bindir / "pg_config"), "--pkglibdir"], capture_output=True, text=True, check=False)
    return result.returncode == 0 and (Path(result.stdout.strip()) / f"{name}.so").exists()


def describe_server() -> str:
    """``PostgreSQL 18.6 in DIR (pg_stat_statements: yes)``, or why there is none."""
    try:
        bindir = find_bindir()
        output = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True,
                                check=True).stdout
        version = output.split("(PostgreSQL)")[-1].split()[0]
    except (ClusterUnavailable, OSError, subprocess.CalledProcessError) as exc:
        return f"none ({exc})"
    statements = "yes" if has_library(bindir, "pg_stat_statements") else "no"
    return f"{version} in {bindir} (pg_stat_statements: {statements})"


def server_user(program: str, unavailable: type[RuntimeError] = ClusterUnavailable) -> str | None:
    """The OS user to run ``program`` as: ``postgres`` when we are root (initdb, pg_ctl and
    pgbouncer refuse to run as root), else None (ourselves). Raises ``unavailable`` without one."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise unavailable(f"running as root and there is no 'postgres' OS user to run {program} as") from exc
    return "postgres"


def create_cluster(preload: str = "pg_stat_statements") -> Cluster:
    """A started cluster; ``preload`` is left out where the server does not ship it (the
    pg_stat_statements tests then skip, naming the server)."""
    bindir = find_bindir()
    if preload and not has_library(bindir, preload):
        preload = ""
    run_as = server_user("initdb")
    base = Path(tempfile.mkdtemp(prefix="lokstra-pg-"))
    datadir = base / "data"
    datadir.mkdir()
    if run_as:
        shutil.chown(base, run_as)
        shutil.chown(datadir, run_as)
    cluster = Cluster(bindir=bindir, datadir=datadir, port=free_port(), run_as=run_as)
    try:
        cluster._run(bindir / "initdb", "-D", datadir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        conf = "\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
        if preload:
            conf += f"shared_preload_libraries = '{preload}'\n"
        cluster.append_conf(conf)
        cluster.start()
    except Exception:
        cluster.destroy()
        raise
    return cluster
