"""Migration files: finding them, pairing up and down, checksums, the irreversible marker.

Files follow lokstra's runner: ``NNN_description.up.sql`` / ``NNN_description.down.sql``.
The packaged migrations are read with ``importlib.resources`` so an installed wheel can
migrate; a directory may be given instead (tests, or an operator's own copy).

A migration without a ``.down.sql`` must say so with a line ``-- lokstra:irreversible`` in
its up file; anything else is a mistake the runner refuses to run.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from migrations.sqltext import session_search_path_lines

FILENAME = re.compile(r"^(\d+)_([a-z0-9_]+)\.(up|down)\.sql$")
IRREVERSIBLE_MARKER = "-- lokstra:irreversible"
_MARKER_LINE = re.compile(r"^\s*--\s*lokstra:irreversible\b", re.MULTILINE)
_BOM = "\ufeff"


class SourceError(Exception):
    """The migration files are inconsistent; ``problems`` lists each one in plain words."""

    def __init__(self, location: str, problems: list[str]) -> None:
        self.location = location
        self.problems = problems
        super().__init__(f"the migrations in {location} cannot be used: " + "; ".join(problems))


def normalise(raw: bytes) -> str:
    """The text the runner executes and checksums: UTF-8, BOM stripped, line ends as LF.

    Normalising first means a checkout with CRLF line endings does not look "changed"
    (Flyway #253), while any real edit, comments included, does.
    """
    text = raw.decode("utf-8")
    if text.startswith(_BOM):
        text = text[len(_BOM):]
    return text.replace("\r\n", "\n").replace("\r", "\n")


def checksum(text: str) -> str:
    """SHA-256 (hex) of normalised migration text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SqlFile:
    name: str
    text: str
    checksum: str


@dataclass(frozen=True)
class Migration:
    """One version: its up file, its down file (or the irreversible marker)."""

    version: int
    description: str
    up: SqlFile
    down: SqlFile | None

    @property
    def irreversible(self) -> bool:
        return bool(_MARKER_LINE.search(self.up.text))

    @property
    def reversible(self) -> bool:
        return self.down is not None

    @property
    def checksum(self) -> str:
        return self.up.checksum

    @property
    def label(self) -> str:
        return f"{self.version:03d}_{self.description}"


@dataclass
class MigrationSet:
    """The migrations of one source, in version order."""

    location: str
    migrations: list[Migration]
    ignored: list[str] = field(default_factory=list)

    def get(self, version: int) -> Migration | None:
        for migration in self.migrations:
            if migration.version == version:
                return migration
        return None

    @property
    def versions(self) -> list[int]:
        return [migration.version for migration in self.migrations]


def packaged_sql() -> Traversable:
    """The ``migrations/sql`` directory shipped as package data."""
    return resources.files("migrations") / "sql"


def load(source: str | Path | Traversable | None = None) -> MigrationSet:
    """Read and check every migration in ``source`` (default: the packaged ones).

    Raises ``SourceError`` listing every problem found, not only the first.
    """
    root: Traversable = packaged_sql() if source is None else (Path(source) if isinstance(source, str) else source)
    location = str(root)
    if not root.is_dir():
        raise SourceError(location, ["it is not a directory"])
    problems: list[str] = []
    ignored: list[str] = []
    ups: dict[int, tuple[str, SqlFile]] = {}
    downs: dict[int, tuple[str, SqlFile]] = {}
    for entry in sorted(root.iterdir(), key=lambda item: item.name):
        if not entry.is_file() or not entry.name.endswith(".sql"):
            continue
        match = FILENAME.match(entry.name)
        if not match:
            ignored.append(entry.name)
            continue
        version, description, direction = int(match.group(1)), match.group(2), match.group(3)
        try:
            text = normalise(entry.read_bytes())
        except UnicodeDecodeError:
            problems.append(f"{entry.name} is not UTF-8 text")
            continue
        target = ups if direction == "up" else downs
        if version in target:
            problems.append(f"{entry.name} and {target[version][1].name} are both version {version} {direction}")
            continue
        target[version] = (description, SqlFile(entry.name, text, checksum(text)))
    migrations = [_pair(version, ups, downs, problems) for version in sorted(ups)]
    problems.extend(f"{down.name} has no matching .up.sql" for version, (_, down) in sorted(downs.items()) if version not in ups)
    if not ups and not problems:
        problems.append("it has no NNN_name.up.sql file")
    if problems:
        raise SourceError(location, problems)
    return MigrationSet(location=location, migrations=[m for m in migrations if m is not None], ignored=ignored)


def _pair(version: int, ups: dict[int, tuple[str, SqlFile]], downs: dict[int, tuple[str, SqlFile]],
          problems: list[str]) -> Migration | None:
    description, up = ups[version]
    down_entry = downs.get(version)
    if down_entry and down_entry[0] != description:
        problems.append(f"{up.name} and {down_entry[1].name} have the same version but different descriptions")
        return None
    migration = Migration(version, description, up, down_entry[1] if down_entry else None)
    if migration.down is None and not migration.irreversible:
        problems.append(f"{up.name} has no .down.sql and is not marked irreversible ({IRREVERSIBLE_MARKER})")
    if migration.down is not None and migration.irreversible:
        problems.append(f"{up.name} is marked irreversible but {migration.down.name} exists")
    for sql_file in (up, migration.down):
        if sql_file is not None and session_search_path_lines(sql_file.text):
            problems.append(f"{sql_file.name} sets search_path for the whole session: use SET LOCAL")
    return migration
