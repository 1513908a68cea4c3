"""Faults a CLI run meets end in one plain message, never a traceback (issue 18 item 4, 16 item 20):
a session killed mid-COPY, a reader of our output that goes away, python-dotenv's warnings.
Subprocesses get an environment without any PG*/DB_*/LOKSTRA_* variable."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import pytest



def wait_until(condition, timeout: float, message: str) -> None:  # noqa: ANN001
    """Poll ``condition`` (a subprocess's progress) until it holds; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(message)
        time.sleep(0.05)

ROOT = Path(__file__).resolve().parents[1]


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PG", "DB_", "LOKSTRA_", "DATABASE_URL", "USE_POSTGRES"))}
    env.update(PYTHONPATH=str(ROOT), LOKSTRA_CONSOLE_CONFIG=str(tmp_path / "none.toml"),
               LOKSTRA_CONSOLE_LOG=str(tmp_path / "console.log"), **extra)
    return env


async def _rows(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT (SELECT count(*) FROM lokstra_auth.users) + "
                                   "(SELECT count(*) FROM lokstra_auth.tenants)")
    finally:
        await conn.close()


def test_a_closed_stdout_does_not_stop_a_copy_half_way(migrated_db: str, tmp_path: Path) -> None:
    """``copy … | head -0``: the reader is gone before the first line; the copy still ends,
    verified and committed, and the command leaves without a BrokenPipeError."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run([sys.executable, "-m", "console", "copy", "--from", "memory", "--to", "postgres",
                               "--replace", "--dsn", migrated_db], cwd=tmp_path, env=clean_env(tmp_path),
                              stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=180)
    finally:
        os.close(write_end)
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
    assert done.returncode == 0
    assert asyncio.run(_rows(migrated_db)) > 0  # the copy committed


def test_piping_to_head_exits_quietly(migrated_db: str, tmp_path: Path) -> None:
    process = subprocess.Popen([sys.executable, "-m", "console", "migrate", "status", "--dsn", migrated_db],
                               cwd=tmp_path, env=clean_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()
    process.stdout.close()  # what head does after its lines
    err = process.stderr.read().decode()
    assert process.wait(timeout=60) in (0, 1)
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_dotenv_warnings_do_not_reach_the_terminal(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("this line is not a setting\nDB_HOST 'unterminated\n")
    for argv in (["status"], ["--profile", "nosuch"]):  # a subcommand, and the TUI's start
        done = subprocess.run([sys.executable, "-m", "console", *argv], cwd=tmp_path, env=clean_env(tmp_path),
                              capture_output=True, text=True, timeout=60)
        assert "python-dotenv" not in done.stderr and "could not parse" not in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
        assert "could not parse" in (tmp_path / "console.log").read_text()  # said, in the log


def test_a_session_killed_mid_copy_is_reported_at_once(migrated_db: str, tmp_path: Path) -> None:
    """pg_terminate_backend on the console's COPY: a plain "connection lost, nothing committed"
    within seconds (not the 30 s stall timeout, not asyncpg's traceback); the target unchanged."""
    async def empty() -> None:
        conn = await asyncpg.connect(migrated_db)
        try:
            await conn.execute("TRUNCATE lokstra_auth.tenants, lokstra_auth.apps, lokstra_auth.branches, "
                               "lokstra_auth.users, lokstra_auth.user_apps, lokstra_auth.app_keys")
        finally:
            await conn.close()

    async def copying() -> list[int]:
        conn = await asyncpg.connect(migrated_db)
        try:
            return [r["pid"] for r in await conn.fetch(
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'lokstra-console' "
                "AND query ILIKE 'COPY%' AND pid <> pg_backend_pid()")]
        finally:
            await conn.close()

    async def terminate(pids: list[int]) -> None:
        conn = await asyncpg.connect(migrated_db)
        try:
            for pid in pids:
                await conn.execute("SELECT pg_terminate_backend($1)", pid)
        finally:
            await conn.close()

    asyncio.run(empty())
    # A big enough source that the COPY runs for a while: the demo command's own data, in a file.
    snapshot = tmp_path / "big.jsonl"
    subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, '.'); import asyncio;"
                    "from stores.demo import DemoSpec, load_into_memory; from stores.memory.engine import MemoryEngine;"
                    "from stores.transfer.copy import copy_tables; from stores.transfer.snapshot_file import SnapshotFile;"
                    "e = MemoryEngine(); load_into_memory(e, DemoSpec(users=60000));"
                    f"asyncio.run(copy_tables(e, SnapshotFile(__import__('pathlib').Path({str(snapshot)!r}))))"],
                   cwd=ROOT, env=clean_env(tmp_path), check=True, timeout=300)
    process = subprocess.Popen([sys.executable, "-m", "console", "copy", "--from", str(snapshot), "--to", "postgres",
                                "--dsn", migrated_db, "--batch-size", "200"], cwd=tmp_path, env=clean_env(tmp_path),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        pids: list[int] = []

        def found() -> bool:
            pids[:] = asyncio.run(copying())
            return bool(pids) or process.poll() is not None

        wait_until(found, timeout=120, message="the console's COPY never started")
        assert process.poll() is None, process.communicate()
        killed_at = time.monotonic()
        asyncio.run(terminate(pids))
        out, err = process.communicate(timeout=60)
        seconds = time.monotonic() - killed_at
    finally:
        if process.poll() is None:
            process.kill()
    assert "Traceback" not in err, err
    assert process.returncode == 3, (out, err)
    assert "connection to the server was lost" in err and "committed" in err
    assert seconds < 15, f"took {seconds:.1f} s to notice"
    assert asyncio.run(_rows(migrated_db)) == 0  # nothing committed
