"""A SIGKILL during ``copy --to FILE`` (issue 18 item 5): the hidden partial file it leaves
holds tenants' DSNs. It is written 0600 and locked while a copy writes it; the next run
removes a partial whose writer is gone, says so, and never touches one a live copy holds."""
from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

from stores import Stores
from stores.demo import DemoSpec, load_into_memory
from stores.memory.engine import MemoryEngine
from stores.transfer.snapshot_file import export_memory, partials, remove_stale_partials
from tests.support import factories as f

PASSWORD = "Kill-Pw-Zq8814"


async def source_snapshot(folder: Path) -> Path:
    """A snapshot big enough that copying it takes a while, with a DSN password in it."""
    engine = MemoryEngine()
    load_into_memory(engine, DemoSpec(users=15_000))
    await Stores(engine).tenants.create(f.tenant("aaa-first", db_dsn=f"postgres://app:{PASSWORD}@db/aaa"))
    path = folder / "source.snapshot"
    await export_memory(engine, path)
    return path


def copy_command(source: Path, target: Path) -> list[str]:
    return [sys.executable, "-m", "console", "copy", "--from", str(source), "--to", str(target)]


def wait_for(condition, what: str, process: subprocess.Popen | None = None, timeout: float = 60) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        assert process is None or process.poll() is None, f"the copy ended before {what}"
        assert time.monotonic() < deadline, f"{what} never happened"
        time.sleep(0.005)


def _partial_written(folder: Path, target: Path) -> bool:
    """The partial holds more than the tenants by now (they come first): 256 kB on disk."""
    return any(p.stat().st_size > 256_000 for p in partials(target) if p.exists())


async def test_a_killed_copy_leaves_only_a_private_partial_that_the_next_run_removes(tmp_path: Path) -> None:
    source = await source_snapshot(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    target = out / "backup.snapshot"
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    process = subprocess.Popen(copy_command(source, target), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: _partial_written(out, target), "the partial file growing", process)
        [partial] = partials(target)
        assert remove_stale_partials(target) == [] and partial.exists(), "a live copy's partial is left alone"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL and not target.exists()
    assert [p.name for p in out.iterdir()] == [partial.name], "nothing but the partial is left"
    assert stat.S_IMODE(partial.stat().st_mode) == 0o600, "and it is private"
    assert PASSWORD.encode() in partial.read_bytes(), "the test killed it after the DSN was written"

    again = subprocess.run(copy_command(source, target), env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"removed {partial.name}, a partial snapshot an interrupted copy left" in again.stdout
    assert [p.name for p in out.iterdir()] == [target.name] and stat.S_IMODE(target.stat().st_mode) == 0o600
