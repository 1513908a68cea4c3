"""Migration files without a database: loading, checksums, the irreversible marker, SQL splitting."""
from __future__ import annotations

from pathlib import Path

import pytest

from migrations import source
from migrations.sqltext import line_of, session_search_path_lines, split_statements
from tests.support.migrations_helpers import SQL_DIR, file_sha256, write_migration


def test_packaged_migrations_load_through_importlib_resources() -> None:
    loaded = source.load()
    on_disk = sorted(p.name for p in SQL_DIR.glob("*.up.sql"))
    assert [m.up.name for m in loaded.migrations] == on_disk
    assert loaded.versions == sorted(int(name.split("_")[0]) for name in on_disk)
    for migration in loaded.migrations:
        assert migration.reversible and not migration.irreversible
        assert migration.checksum == file_sha256(SQL_DIR / migration.up.name)
        assert migration.description == migration.up.name.split("_", 1)[1].removesuffix(".up.sql")


def test_checksum_ignores_crlf_and_bom_but_not_edits(tmp_path: Path) -> None:
    text = (SQL_DIR / "002_keyset_indexes.up.sql").read_text()
    plain = source.checksum(source.normalise(text.encode()))
    assert source.checksum(source.normalise(text.replace("\n", "\r\n").encode())) == plain
    assert source.checksum(source.normalise(b"\xef\xbb\xbf" + text.encode())) == plain
    assert source.checksum(source.normalise((text + "-- a comment\n").encode())) != plain


def test_irreversible_marker_and_missing_down(tmp_path: Path) -> None:
    write_migration(tmp_path, 1, "one", "CREATE TABLE a (id int);", "DROP TABLE a;")
    write_migration(tmp_path, 2, "two", "-- lokstra:irreversible: drops data\nALTER TABLE a DROP COLUMN id;")
    loaded = source.load(tmp_path)
    assert [(m.version, m.reversible, m.irreversible) for m in loaded.migrations] == [(1, True, False), (2, False, True)]

    write_migration(tmp_path, 3, "three", "CREATE TABLE c (id int);")
    with pytest.raises(source.SourceError) as caught:
        source.load(tmp_path)
    assert caught.value.problems == [
        f"003_three.up.sql has no .down.sql and is not marked irreversible ({source.IRREVERSIBLE_MARKER})"
    ]


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        ({"001_a.up.sql": "-- lokstra:irreversible\nSELECT 1;", "001_a.down.sql": "SELECT 1;"},
         "001_a.up.sql is marked irreversible but 001_a.down.sql exists"),
        ({"001_a.down.sql": "SELECT 1;"}, "001_a.down.sql has no matching .up.sql"),
        ({"001_a.up.sql": "SELECT 1;", "001_a.down.sql": "SELECT 1;", "1_b.up.sql": "SELECT 1;"},
         "both version 1 up"),
        ({"001_a.up.sql": "SET search_path TO x;\nSELECT 1;", "001_a.down.sql": "SELECT 1;"},
         "001_a.up.sql sets search_path for the whole session: use SET LOCAL"),
        ({"001_a.up.sql": "SELECT 1;", "001_b.down.sql": "SELECT 1;"}, "have the same version but different descriptions"),
        ({"README.md": "no migrations here"}, "it has no NNN_name.up.sql file"),
    ],
)
def test_inconsistent_sources_are_refused(tmp_path: Path, files: dict[str, str], problem: str) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(source.SourceError) as caught:
        source.load(tmp_path)
    assert any(problem in found for found in caught.value.problems), caught.value.problems


def test_files_not_named_like_lokstra_are_ignored_and_listed(tmp_path: Path) -> None:
    write_migration(tmp_path, 1, "one", "SELECT 1;", "SELECT 1;")
    (tmp_path / "002_AddThing.up.sql").write_text("SELECT 2;")
    (tmp_path / "notes.txt").write_text("not sql")
    loaded = source.load(tmp_path)
    assert loaded.versions == [1]
    assert loaded.ignored == ["002_AddThing.up.sql"]


def test_split_statements_keeps_quoted_and_dollar_quoted_semicolons() -> None:
    sql = (
        "-- leading comment; not a statement\n"
        "SET LOCAL search_path TO x;\n"
        "INSERT INTO t VALUES ('a;b', \"odd;name\");\n"
        "/* block; comment */ CREATE FUNCTION f() RETURNS trigger AS $body$\n"
        "BEGIN NEW.x = 1; RETURN NEW; END;\n"
        "$body$ LANGUAGE plpgsql;\n"
        "SELECT $$;$$"
    )
    statements = split_statements(sql)
    assert statements == [
        "SET LOCAL search_path TO x",
        "INSERT INTO t VALUES ('a;b', \"odd;name\")",
        "CREATE FUNCTION f() RETURNS trigger AS $body$\nBEGIN NEW.x = 1; RETURN NEW; END;\n$body$ LANGUAGE plpgsql",
        "SELECT $$;$$",
    ]
    assert session_search_path_lines(sql) == []
    assert session_search_path_lines("set session search_path = a; SET LOCAL search_path = b") == ["set session search_path = a"]


def test_split_of_the_baseline_finds_every_create() -> None:
    text = (SQL_DIR / "001_lokstra_auth_schema.up.sql").read_text()
    statements = split_statements(text)
    creates = sum(line.startswith("CREATE ") for line in text.splitlines())
    assert sum(s.startswith("CREATE ") for s in statements) == creates
    function = next(s for s in statements if s.startswith("CREATE FUNCTION"))
    assert function.endswith("LANGUAGE plpgsql") and "RETURN NEW;" in function


def test_line_of_error_position() -> None:
    sql = "SELECT 1;\nSELECT 2;\nSELECT * FROM nope;\n"
    assert line_of(sql, sql.index("nope") + 1) == 3
    assert line_of(sql, "1") == 1
    assert line_of(sql, None) is None
