"""Guarantee 4: a dropped SSH session. The console runs in a pseudo-terminal of its own
(``python3 -m console``, the README's command, with DATABASE_URL pointing at a database of
the throwaway cluster); keys start a write; the terminal hangs up at a seeded random point.

Afterwards the database holds what a completed or a never-started operation leaves — every
migration applied and recorded, or neither (one transaction each); a switch or copy target
with all of the data (digests equal to the source's) or none of it — a retry succeeds, and
the process (with its whole session) is gone within GRACE_SECONDS, having left cleanly
(the log says so) rather than being ended by the watchdog.

Hang-ups alternate between closing the pty's master side (what sshd does when the
connection drops: the kernel sends SIGHUP) and SIGHUP sent to the process group. Each
operation also gets one point chosen by what the terminal shows (mid-operation for sure).
"""
from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from migrations import MigrationRunner
from migrations.status import State
from stores import Settings, open_stores
from stores.transfer.copy import table_digests
from tests.support.databases import pg_settings
from tests.support.server import PgServer, run_sync
from tests.terminal.ptyconsole import PtyConsole, console_env

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pty and SIGHUP semantics of Linux")]

SEED = int(os.environ.get("LOKSTRA_SIGHUP_SEED") or 20260804)
"""Other seeds pick other moments: ``LOKSTRA_SIGHUP_SEED=$RANDOM pytest tests/terminal``."""
GRACE_SECONDS = 6.0
"""The console's watchdog ends it 3 s after the hang-up at the latest (console/cli.py)."""
HANGUP_EXIT = 129


def _points(rng: random.Random, spread: float, mid_text: str) -> list[tuple[str | None, float, str]]:
    """Two random moments within ``spread`` seconds of the start, one at ``mid_text``; the hang-up
    method alternates."""
    points: list[tuple[str | None, float, str]] = [(None, round(rng.uniform(0, spread), 3), how)
                                                  for how in ("close", "signal")]
    points.append((mid_text, round(rng.uniform(0, 0.02), 3), rng.choice(("close", "signal"))))
    return points


_rng = random.Random(SEED)
MIGRATION_POINTS = _points(_rng, 0.45, "[1/")     # applying three migrations takes ~0.35 s
SWITCH_POINTS = _points(_rng, 0.35, "Switching")   # the demo data (1,345 rows) switches in ~0.25 s
COPY_POINTS = _points(_rng, 0.25, "users ")         # the copy itself takes ~0.1 s
DELETE_POINTS = [(None, round(_rng.uniform(0, 0.05), 3), how) for how in ("close", "signal", "close")]
"""The delete (400 users with their grants, the audit record) takes tens of ms after Enter."""


def _ids(points: list[tuple[str | None, float, str]]) -> list[str]:
    return [f"{'at-' + text.strip('[/ ') + '-' if text else ''}{delay:.3f}s-{how}" for text, delay, how in points]


# ----- fixtures and checks ------------------------------------------------------------------------

@pytest.fixture
def migrated_copy(pg_server: PgServer, migrated_template: str) -> Iterator[str]:
    """A migrated, empty database of its own (a switch or copy target)."""
    dsn = pg_server.create_database("sighup", template=migrated_template)
    yield dsn
    pg_server.drop_database(dsn)


@pytest.fixture(scope="module")
def demo_digests() -> dict[str, tuple[int, str]]:
    """Row counts and digests of the demo data every console starts with on memory."""
    async def digests() -> dict[str, tuple[int, str]]:
        stores = await open_stores(Settings(use_postgres=False, demo_data=True))
        try:
            return {name: (d.rows, d.hex) for name, d in (await table_digests(stores.engine)).items()}
        finally:
            await stores.close()

    return run_sync(digests)


def _target_digests(dsn: str) -> dict[str, tuple[int, str]]:
    async def digests() -> dict[str, tuple[int, str]]:
        stores = await open_stores(pg_settings(dsn))
        try:
            return {name: (d.rows, d.hex) for name, d in (await table_digests(stores.engine)).items()}
        finally:
            await stores.close()

    return run_sync(digests)


def _all_or_nothing(dsn: str, expected: dict[str, tuple[int, str]]) -> bool:
    """True when the target holds all the data, False when it holds none; anything else fails."""
    found = _target_digests(dsn)
    if all(rows == 0 for rows, _ in found.values()):
        return False
    assert found == expected, f"a partial copy: {found} (expected all of {expected} or nothing)"
    return True


def _hang_up(console: PtyConsole, since: int, trigger: str | None, delay: float, how: str) -> None:
    if trigger:
        console.wait_for(trigger, since)
    time.sleep(delay)
    console.hang_up(how)


def _gone(console: PtyConsole, log: Path, tui: bool) -> None:
    took = console.gone_within(GRACE_SECONDS)
    assert took is not None, f"the process still runs {GRACE_SECONDS} s after the hang-up"
    assert not console.group_alive(), "a process of the console's session lingers"
    text = log.read_text(encoding="utf-8")
    assert "the terminal hung up (SIGHUP)" in text
    if tui:
        assert console.proc is not None and console.proc.returncode == HANGUP_EXIT
        # Usually the app exits the normal way; when Textual's output thread died on the gone
        # terminal first, restoring the terminal blocks and the watchdog ends the process.
        assert "console stopped (exit code 129)" in text or "ending the process" in text
        print(f"gone after {took:.2f} s, {'cleanly' if 'console stopped' in text else 'by the watchdog'}")


def _start_console(tmp_path: Path, extra: dict[str, str]) -> PtyConsole:
    console = PtyConsole([], console_env(tmp_path, extra), tmp_path).start()
    console.wait_for("f1 Help")  # the footer is drawn: the console takes keys
    return console


# ----- a migration (Migrations screen, key 2, then a) -------------------------------------------------

async def _schema_facts(dsn: str) -> dict[str, bool]:
    conn = await asyncpg.connect(dsn)
    try:
        return {
            "tenants": await conn.fetchval("SELECT to_regclass('lokstra_auth.tenants') IS NOT NULL"),
            "keyset_index": await conn.fetchval("SELECT to_regclass('lokstra_auth.idx_tenants_name_c') IS NOT NULL"),
        }
    finally:
        await conn.close()


@pytest.mark.parametrize(("trigger", "delay", "how"), MIGRATION_POINTS, ids=_ids(MIGRATION_POINTS))
def test_hangup_while_applying_migrations(fresh_db: str, tmp_path: Path, trigger: str | None, delay: float,
                                          how: str) -> None:
    console = _start_console(tmp_path, {"USE_POSTGRES": "true", "DATABASE_URL": fresh_db})
    try:
        mark = console.mark()
        console.press("2")
        # The status read (its summary line), not the footer's "a Apply pending", drawn before it:
        # "a" pressed before the status is read only says "press r".
        console.wait_for("not initialised:", mark)
        mark = console.mark()
        console.press("a")
        console.wait_for("One transaction each", mark)
        mark = console.mark()
        console.press("right", "enter")  # from "No" to "Yes, apply"
        _hang_up(console, mark, trigger, delay, how)
        _gone(console, tmp_path / "console.log", tui=True)
    finally:
        console.close()

    status = run_sync(lambda: MigrationRunner.from_dsn(fresh_db).status())
    states = {m.version: m.state for m in status.migrations}
    assert set(states.values()) <= {State.APPLIED, State.PENDING}, f"half-done migrations: {states}"
    versions = [m.version for m in status.migrations]
    applied = [v for v in versions if states[v] is State.APPLIED]
    assert applied == versions[:len(applied)], f"applied out of order: {states}"
    facts = run_sync(lambda: _schema_facts(fresh_db))
    assert facts == {"tenants": 1 in applied, "keyset_index": 2 in applied}, (facts, applied)
    print(f"hung up with {len(applied)} of {len(versions)} migrations applied")

    retry = run_sync(lambda: MigrationRunner.from_dsn(fresh_db, lock_timeout=10).up())
    assert retry.ok, retry.reasons
    assert all(m.state is State.APPLIED for m in run_sync(lambda: MigrationRunner.from_dsn(fresh_db).status()).migrations)


# ----- a live switch memory → PostgreSQL (Backend screen, key 5, then s) ------------------------------

@pytest.mark.parametrize(("trigger", "delay", "how"), SWITCH_POINTS, ids=_ids(SWITCH_POINTS))
def test_hangup_while_switching_to_postgres(migrated_copy: str, demo_digests: dict[str, Any], tmp_path: Path,
                                            trigger: str | None, delay: float, how: str) -> None:
    console = _start_console(tmp_path, {"DATABASE_URL": migrated_copy})  # memory active, PostgreSQL configured
    try:
        mark = console.mark()
        console.press("5")
        console.wait_for("s Switch", mark)  # the switch opens the configured PostgreSQL side if need be
        mark = console.mark()
        console.press("s")
        console.wait_for("Switch to PostgreSQL?", mark)
        mark = console.mark()
        console.press("right", "enter")  # from "No" to "Switch"
        _hang_up(console, mark, trigger, delay, how)
        _gone(console, tmp_path / "console.log", tui=True)
    finally:
        console.close()
    print(f"switch target after the hang-up: {'complete' if _all_or_nothing(migrated_copy, demo_digests) else 'untouched'}")


# ----- lokstra-console copy --from memory --to postgres -------------------------------------------

@pytest.mark.parametrize(("trigger", "delay", "how"), COPY_POINTS, ids=_ids(COPY_POINTS))
def test_hangup_during_cli_copy(migrated_copy: str, demo_digests: dict[str, Any], tmp_path: Path,
                                trigger: str | None, delay: float, how: str) -> None:
    env = console_env(tmp_path, {"DATABASE_URL": migrated_copy})
    console = PtyConsole(["copy", "--from", "memory", "--to", "postgres", "--yes"], env, tmp_path).start()
    try:
        mark = console.mark()
        console.wait_for("copy memory", mark)
        _hang_up(console, mark, trigger, delay, how)
        took = console.gone_within(GRACE_SECONDS)
        assert took is not None, f"the copy still runs {GRACE_SECONDS} s after the hang-up"
        assert not console.group_alive()
    finally:
        console.close()
    completed = _all_or_nothing(migrated_copy, demo_digests)
    print(f"copy target after the hang-up: {'complete' if completed else 'untouched'}")
    if not completed:  # a retry succeeds
        retry = subprocess.run([sys.executable, "-m", "console", "copy", "--from", "memory", "--to", "postgres", "--yes"],
                               env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
                               stdin=subprocess.DEVNULL)
        assert retry.returncode == 0, retry.stdout + retry.stderr
        assert _all_or_nothing(migrated_copy, demo_digests)


# ----- an audited hard delete from the browser (D on a tenant, the id typed, Enter) --------------------

def _tenant_facts(dsn: str) -> tuple[bool, int, int]:
    """(acme-corp exists, its users, audit records of its delete)."""
    async def facts() -> tuple[bool, int, int]:
        conn = await asyncpg.connect(dsn)
        try:
            return (await conn.fetchval("SELECT count(*) FROM lokstra_auth.tenants WHERE id = 'acme-corp'") == 1,
                    await conn.fetchval("SELECT count(*) FROM lokstra_auth.users WHERE tenant_id = 'acme-corp'"),
                    await conn.fetchval("SELECT count(*) FROM lokstra_console.audit_log "
                                        "WHERE tenant_id = 'acme-corp' AND action = 'delete'"))
        finally:
            await conn.close()

    return run_sync(facts)


@pytest.mark.parametrize(("trigger", "delay", "how"), DELETE_POINTS, ids=_ids(DELETE_POINTS))
def test_hangup_during_an_audited_hard_delete(migrated_copy: str, tmp_path: Path, trigger: str | None, delay: float,
                                              how: str) -> None:
    from stores.demo import DemoSpec, copy_to_postgres
    from stores.postgres.engine import init_connection

    async def fill() -> None:
        conn = await asyncpg.connect(migrated_copy)
        try:
            await init_connection(conn)
            await copy_to_postgres(conn, DemoSpec())
        finally:
            await conn.close()

    run_sync(fill)
    console = _start_console(tmp_path, {"USE_POSTGRES": "true", "DATABASE_URL": migrated_copy,
                                        "LOKSTRA_CONSOLE_ALLOW_HARD_DELETE": "true"})
    try:
        console.wait_for("acme-corp")
        mark = console.mark()
        console.press("D")
        console.wait_for("400 users", mark)  # the counted blast radius
        console.press(*"acme-corp")
        console.wait_for("acme-corp")
        assert console.master is not None
        os.write(console.master, b"\r")  # Enter, and the hang-up right behind it (press() would pause)
        time.sleep(delay)
        console.hang_up(how)
        _gone(console, tmp_path / "console.log", tui=True)
    finally:
        console.close()
    exists, users, recorded = _tenant_facts(migrated_copy)
    assert (exists, users, recorded) in ((True, 400, 0), (False, 0, 1)), (exists, users, recorded)
    print(f"after the hang-up the tenant is {'still there' if exists else 'deleted, with its audit record'}")
