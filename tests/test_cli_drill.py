"""``lokstra-console drill``: exit codes, JSON and text output, the saved report, refusals."""
from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import pytest

from console.cli import main
from migrations import MigrationRunner
from stores import Stores
from stores.demo import DemoSpec, load_into_memory
from stores.memory.engine import MemoryEngine
from stores.postgres.engine import PostgresEngine
from stores.transfer.copy import copy_tables, table_digests
from tests.support.databases import pg_settings, truncate_all

PASSWORD = "hunter2-never-printed"


def with_password(dsn: str) -> str:
    """The same DSN with a password (the test cluster trusts local connections and ignores it)."""
    return dsn.replace("://postgres@", f"://postgres:{PASSWORD}@", 1)


def fill(dsn: str) -> dict[str, tuple[int, str]]:
    """Put the demo data (small) into the database; returns its digests."""
    async def go() -> dict[str, tuple[int, str]]:
        engine = await PostgresEngine.open(pg_settings(dsn))
        try:
            await truncate_all(Stores(engine))
            memory = MemoryEngine()
            load_into_memory(memory, DemoSpec(users=40))
            await copy_tables(memory, engine)
            return {name: (d.rows, d.hex) for name, d in (await table_digests(engine)).items()}
        finally:
            await engine.close()

    return asyncio.run(go())


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    """Run ``lokstra-console drill``: the exit code, and the parsed document with ``--json``
    (else the captured output). The password never shows."""
    code = main(["drill", *argv])
    captured = capsys.readouterr()
    assert PASSWORD not in captured.out + captured.err
    if "--json" not in argv:
        return code, captured
    document = json.loads(captured.out)
    assert document["exit_code"] == code
    return code, document


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(autouse=True)
def no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOKSTRA_ENVIRONMENT", raising=False)


def test_json_document_and_saved_report(migrated_db: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    before = fill(migrated_db)
    report_path = tmp_path / "drill.json"
    code, document = cli(capsys, "--dsn", with_password(migrated_db), "--report", str(report_path),
                         "--workload", "3", "--environment", "staging", "--json")
    assert code == 0, document
    drill = document["drill"]
    assert drill["ok"] is True and drill["environment"] == "staging" and drill["workload"]["users"] == 3
    assert document["report_path"] == str(report_path)
    assert json.loads(report_path.read_text()) == drill
    assert PASSWORD not in report_path.read_text()
    assert len(drill["write_pauses_seconds"]) == 2
    states = {step["name"]: step.get("state") for step in drill["steps"]}
    assert states["baseline: read postgres"] == states["switch postgres → memory"] \
        == states["verify memory = postgres baseline"] == states["compare postgres with baseline"]
    assert states["switch memory → postgres (replace)"] == states["verify postgres = memory"] \
        != states["baseline: read postgres"]
    assert fill(migrated_db) == before  # refilled the same: the drill left the same content


def test_text_table_and_plain_progress_lines(migrated_db: str, capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    fill(migrated_db)
    code, captured = cli(capsys, "--dsn", with_password(migrated_db), "--report", str(tmp_path / "r.json"),
                         "--workload", "0")
    out, err = captured.out, captured.err
    assert code == 0, out + err
    assert "passed" in out.splitlines()[0]
    table = [line for line in out.splitlines() if line.startswith(("STEP", "switch", "verify"))]
    assert table[0].split() == ["STEP", "RESULT", "TIME", "ROWS", "STATE", "WRITE", "PAUSE"]
    assert any(line.startswith("switch memory → postgres (replace)") and " ok " in line for line in table)
    assert "ok     switch postgres → memory" in err  # stderr is not a terminal: plain lines
    assert f"report: {tmp_path / 'r.json'}" in out


def test_production_is_refused_without_the_flag(migrated_db: str, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    unreachable = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{closed_port()}/nothing"
    code, document = cli(capsys, "--dsn", unreachable, "--environment", "production", "--json")
    assert code == 2 and document["error"]["cause"] == "production"
    monkeypatch.setenv("LOKSTRA_ENVIRONMENT", "production")
    code, captured = cli(capsys, "--dsn", unreachable)
    assert code == 2 and "--allow-production" in captured.err
    fill(migrated_db)
    code, document = cli(capsys, "--dsn", migrated_db, "--allow-production", "--workload", "0",
                         "--report", str(tmp_path / "prod.json"), "--json")
    assert code == 0 and document["drill"]["environment"] == "production"


def test_exit_codes_for_unusable_targets_and_bad_usage(fresh_db: str, capsys: pytest.CaptureFixture[str],
                                                       tmp_path: Path) -> None:
    report = str(tmp_path / "r.json")
    code, document = cli(capsys, "--dsn", f"postgresql://postgres:{PASSWORD}@127.0.0.1:{closed_port()}/x",
                         "--report", report, "--json")
    assert code == 3 and document["error"]["cause"] == "refused"
    code, document = cli(capsys, "--dsn", with_password(fresh_db), "--report", report, "--json")
    assert code == 3 and document["error"]["cause"] == "not_migrated"

    async def one_pending() -> None:
        runner = MigrationRunner.from_dsn(fresh_db)
        await runner.up()
        await runner.down(1)

    asyncio.run(one_pending())
    code, document = cli(capsys, "--dsn", fresh_db, "--report", report, "--json")
    assert code == 1 and document["error"]["cause"] == "schema_pending"
    assert "migrate up" in document["error"]["fix"]
    assert not Path(report).exists()

    code, document = cli(capsys, "--dsn", fresh_db, "--report", str(tmp_path / "missing" / "r.json"), "--json")
    assert code == 2 and document["error"]["cause"] == "report_path"
    code = main(["--read-only", "drill", "--dsn", fresh_db, "--report", report])
    assert code == 2 and "read-only" in capsys.readouterr().err
    code, document = cli(capsys, "--dsn", "mysql://nope", "--report", report, "--json")
    assert code == 2 and document["error"]["cause"] == "bad_connection_settings"
    with pytest.raises(SystemExit) as exit_:
        main(["drill", "--workload", "-1"])
    assert exit_.value.code == 2
