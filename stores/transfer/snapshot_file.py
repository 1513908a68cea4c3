"""Snapshot files: every table in one JSON-lines file, a source and a target for ``copy_tables``.

``SnapshotFile(path)`` has ``backend = "file"``, ``snapshot()`` and ``loader(replace)``, so
memory → file, file → memory, PostgreSQL → file and file → PostgreSQL are all
``copy_tables(source, target)``, verified the same way as any other copy.
``export_memory`` / ``import_memory`` add the memory engine's ``changes`` counter, for the
console's "unsaved changes" warning.

**The file holds secrets.** Tenants' ``db_dsn`` values may contain database passwords,
and app keys' secret hashes are in it too. It is created with mode 0600 (owner only) and
must be kept like a password file: not mailed, not committed, not left on shared disks.

Format (version 1): UTF-8 text, one JSON value per line.

- Header: ``{"format": "lokstra-console-snapshot", "version": 1, "created_at": …,
  "counts": {table: rows}, "columns": {table: [column, …]}}``, padded with spaces.
- One line per row: ``["users", value, value, …]``: the table, then every column in
  ``TableSpec.columns`` order. Timestamps are ISO 8601 with microseconds (naive UTC, as
  stored), JSON columns are JSON values, NULL is ``null``. Tables come in dependency order
  (tenants, apps, branches, users, user_apps, app_keys), each table's rows together.
- Trailer: ``{"end": "lokstra-console-snapshot", "counts": {…}, "digests": {table: hex}}``
  with ``stores.transfer.digest.TableDigest`` of each table.

Reading refuses, with a ``SnapshotFileError`` saying what is wrong, a file that is not a
snapshot, of a newer version or with other columns, cut short (no trailer, a last line
without its newline), or whose rows disagree with the counts (before any row is read) or
with the digests (when the table has been read: the copy then fails and rolls back, so the
target is unchanged either way). Memory use is bounded by the batch size.

Writing goes to a hidden partial file beside the real one (``.NAME.XXXX.partial``, mode
0600, locked with ``flock`` while written), which is flushed, fsynced and renamed over the
real name only when the copy has been verified: a crash or a failure never leaves a
half-written file under the real name. A failure removes the partial; a SIGKILL cannot, so
the next write to the same name removes a partial no live copy holds
(``remove_stale_partials``; ``copy`` says so). An unnamed ``O_TMPFILE`` linked in at the end
would leave nothing at all, but linking it needs ``/proc/self/fd`` to cross into the file
system, which fails (EXDEV) on kernels and sandboxes the console runs on. An existing file
is refused unless ``replace``.

Reading refuses what is no regular file (a FIFO would block the reader forever, a device
or a directory is no snapshot) and checks the whole file before the first row goes to the
target: the structure, the header's and trailer's fields and their types, and every value
against what its PostgreSQL column accepts (``stores.columns``: lengths, NOT NULL, types,
NUL, lone surrogates, finite JSON numbers, JSON depth), so the memory trial load refuses
what PostgreSQL would, with the file, line, table and column named.
"""
from __future__ import annotations

import errno
import fcntl
import glob
import json
import logging
import os
import stat
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, get_args

from stores.columns import columns
from stores.models import MAX_JSON_DEPTH
from stores.tables import ALL_TABLES, TableSpec
from stores.transfer.copy import CopyFailed, CopyReport, ProgressCallback, Row, copy_tables
from stores.transfer.digest import TableDigest

if TYPE_CHECKING:
    from stores.memory.engine import MemoryEngine

log = logging.getLogger("lokstra.snapshot")

FORMAT = "lokstra-console-snapshot"
VERSION = 1
HEADER_LIMIT = 1 << 16
"""A first line longer than this is not a snapshot header (nor read whole into memory)."""

ORDER = [spec.name for spec in ALL_TABLES]
SPECS = {spec.name: spec for spec in ALL_TABLES}


class SnapshotFileError(CopyFailed):
    """A snapshot file cannot be read or written. ``cause`` is a short code: reading
    ``missing``, ``not_a_file``, ``foreign``, ``version``, ``columns``, ``truncated``, ``corrupted``,
    ``invalid`` (a value PostgreSQL refuses), ``digest``; writing ``no_directory``, ``exists``, ``order``, ``unwritable``; both ``io``.
    ``usage`` tells a wrong path (an operator's typo) from a bad file or a refusal."""

    USAGE_CAUSES = frozenset({"missing", "not_a_file", "no_directory"})

    def __init__(self, cause: str, message: str, fix: str = "", table: str | None = None) -> None:
        self.cause = cause
        self.fix = fix or "Use another file, or write a new snapshot from the source"
        super().__init__(message, table)

    @property
    def usage(self) -> bool:
        return self.cause in self.USAGE_CAUSES


# ----- rows as lines ---------------------------------------------------------------------

def _time_columns(spec: TableSpec) -> list[int]:
    """Positions of the timestamp columns (stored as ISO text in the file)."""
    fields = spec.model.model_fields
    return [i for i, c in enumerate(spec.columns) if datetime in (fields[c].annotation, *get_args(fields[c].annotation))]


def _line_encoder(spec: TableSpec) -> Callable[[Row], bytes]:
    times = _time_columns(spec)
    dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode

    def encode(row: Row) -> bytes:
        values: list[Any] = [spec.name, *row]
        for i in times:
            if values[i + 1] is not None:
                values[i + 1] = values[i + 1].isoformat(timespec="microseconds")
        return dumps(values).encode("utf-8") + b"\n"

    return encode


def _line_decoder(spec: TableSpec, path: Path, check: bool = False) -> Callable[[bytes, int], Row]:
    """``decode(line, number)``: the row a line holds. With ``check``, every value is held to
    what its PostgreSQL column accepts (``stores.columns``), whichever the target."""
    times = _time_columns(spec)
    width = len(spec.columns) + 1
    loads = json.JSONDecoder().decode
    rules = columns(spec)

    def refuse(number: int, column: str | None, problem: str) -> SnapshotFileError:
        where = f"{spec.name}.{column}" if column else f"the {spec.name} row"
        return SnapshotFileError("invalid", f"{path}: line {number}: {where} {problem}; "
                                 "PostgreSQL would refuse it, so nothing was loaded", table=spec.name)

    def decode(line: bytes, number: int) -> Row:
        try:
            values = loads(line.decode("utf-8"))
        except RecursionError:
            raise refuse(number, None, f"nests JSON deeper than {MAX_JSON_DEPTH} levels") from None
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise SnapshotFileError("corrupted", f"{path}: line {number} is damaged ({exc})", table=spec.name) from None
        if not isinstance(values, list) or len(values) != width or values[0] != spec.name:
            raise SnapshotFileError("corrupted", f"{path}: line {number} is damaged (not a {spec.name} row of "
                                    f"{width - 1} values)", table=spec.name)
        for i in times:
            value = values[i + 1]
            if isinstance(value, str):
                try:
                    values[i + 1] = datetime.fromisoformat(value)
                except ValueError:
                    raise refuse(number, spec.columns[i], f"is not a timestamp ({value[:40]!r})") from None
        if check:
            for rule, value in zip(rules, values[1:]):
                if not rule.accepts(value) and (problem := rule.problem(value)) is not None:
                    raise refuse(number, rule.name, problem)
        return tuple(values[1:])

    return decode


# ----- reading ---------------------------------------------------------------------------

@dataclass
class _Section:
    """Where one table's rows are: byte offset and line number of the first, and how many."""

    offset: int
    line: int
    rows: int = 0


@dataclass
class _Index:
    header: dict[str, Any]
    trailer: dict[str, Any]
    sections: dict[str, _Section]


def _refuse(cause: str, path: Path, problem: str, fix: str = "") -> SnapshotFileError:
    return SnapshotFileError(cause, f"{path} {problem}", fix)


def _json_line(line: bytes) -> Any:
    """The JSON value of a header or trailer line, or None when it is none (damaged, cut,
    nested past what the parser takes)."""
    try:
        return json.loads(line.decode("utf-8")) if line.endswith(b"\n") else None
    except (ValueError, RecursionError):
        return None


def _counts(found: Any) -> dict[str, int] | None:
    """A header's or trailer's ``counts``: a row count (a whole number, not a boolean) per table."""
    if not isinstance(found, dict):
        return None
    counts = {name: found.get(name, 0) for name in ORDER}
    return counts if all(type(count) is int and count >= 0 for count in counts.values()) else None


def _read_header(line: bytes, path: Path) -> dict[str, Any]:
    if not line:
        raise _refuse("foreign", path, "is empty: it is not a lokstra-console snapshot")
    header = _json_line(line)
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise _refuse("foreign", path, "is not a lokstra-console snapshot (its first line is not a snapshot header)",
                      "Give the path of a file written by `lokstra-console copy --to FILE` or the console's export")
    version = header.get("version")
    if type(version) is not int or version != VERSION:
        raise _refuse("version", path, f"is a snapshot of format version {json.dumps(version)[:20]}; "
                      f"this console reads version {VERSION}", "Import it with the console version that wrote it")
    if _counts(header.get("counts")) is None or not isinstance(header.get("created_at", ""), str):
        raise _refuse("corrupted", path, "has a damaged header (its counts or creation time are not what a "
                      "snapshot writes)")
    columns = header.get("columns")
    for spec in ALL_TABLES:
        found = columns.get(spec.name) if isinstance(columns, dict) else None
        if found != list(spec.columns):
            raise _refuse("columns", path, f"has other {spec.name} columns than this console "
                          f"(file: {found}, console: {list(spec.columns)})",
                          "Import it with the console version that wrote it")
    return header


def _index(file: IO[bytes], path: Path) -> _Index:
    """Check the whole file before a row is handed to a target: header, contiguous sections
    in dependency order, complete lines, every value one its PostgreSQL column accepts, the
    trailer last, and agreeing row counts."""
    header = _read_header(file.readline(HEADER_LIMIT), path)
    checks = {spec.name: _line_decoder(spec, path, check=True) for spec in ALL_TABLES}
    offset, number = file.tell(), 1
    sections: dict[str, _Section] = {}
    current: str | None = None
    trailer: dict[str, Any] | None = None
    for line in file:
        number += 1
        if not line.endswith(b"\n"):
            raise _refuse("truncated", path, f"is cut short: line {number} is incomplete (no trailer)",
                          "The file was not written completely; use another copy")
        if trailer is not None:
            raise _refuse("corrupted", path, f"has data after its trailer (line {number})")
        if line.startswith(b'["'):
            table = line[2:line.find(b'"', 2)].decode("utf-8", "replace")
            if table != current:
                if table not in SPECS or table in sections or (current and ORDER.index(table) < ORDER.index(current)):
                    raise _refuse("corrupted", path, f"has a row of {table!r} out of place (line {number})")
                sections[table] = _Section(offset, number)
                current = table
            checks[table](line, number)
            sections[table].rows += 1
        elif line.startswith(b"{"):
            trailer = _json_line(line)
            if not isinstance(trailer, dict) or trailer.get("end") != FORMAT or _counts(trailer.get("counts")) is None \
                    or not isinstance(trailer.get("digests"), dict):
                raise _refuse("corrupted", path, f"has a damaged line {number} (not a snapshot trailer)")
        else:
            raise _refuse("corrupted", path, f"has a damaged line {number}")
        offset += len(line)
    if trailer is None:
        raise _refuse("truncated", path, f"is cut short after line {number}: its trailer is missing",
                      "The file was not written completely; use another copy")
    said = {"header": _counts(header["counts"]) or {}, "trailer": _counts(trailer["counts"]) or {}}
    for name in ORDER:
        held = sections[name].rows if name in sections else 0
        for where, counts in said.items():
            if counts.get(name) != held:
                raise SnapshotFileError("corrupted", f"{path}: {name} has {held} rows but the {where} says "
                                        f"{counts.get(name)} (the file was edited or damaged)", table=name)
        digest = trailer["digests"].get(name)
        if not (isinstance(digest, str) and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)):
            raise SnapshotFileError("corrupted", f"{path}: the trailer has no digest for {name}", table=name)
    return _Index(header, trailer, sections)


class SnapshotFileReader:
    """``SnapshotReader`` over a checked file: rows are decoded as they are read, and each
    table's digest is compared with the trailer's when its last row has been read."""

    def __init__(self, file: IO[bytes], path: Path, index: _Index) -> None:
        self.file = file
        self.path = path
        self.index = index

    @property
    def created_at(self) -> str | None:
        return self.index.header.get("created_at")

    async def count(self, spec: TableSpec) -> int:
        section = self.index.sections.get(spec.name)
        return section.rows if section else 0

    async def batches(self, spec: TableSpec, size: int) -> AsyncIterator[list[Row]]:
        section = self.index.sections.get(spec.name)
        if section is None:
            return
        decode = _line_decoder(spec, self.path)
        digest = TableDigest(spec.name)
        position, number, left = section.offset, section.line, section.rows
        while left:
            batch = []
            try:
                self.file.seek(position)  # the handle is shared: another table may have moved it
                for _ in range(min(size, left)):
                    row = decode(self.file.readline(), number)
                    digest.add(row)
                    batch.append(row)
                    number += 1
                position, left = self.file.tell(), left - len(batch)
            except OSError as exc:
                raise _refuse("io", self.path, f"cannot be read: {exc.strerror}") from None
            if not left:
                self._verify(spec, digest)
            yield batch

    def _verify(self, spec: TableSpec, digest: TableDigest) -> None:
        expected = self.index.trailer["digests"][spec.name]
        if digest.hex != expected:
            raise SnapshotFileError(
                "digest", f"{self.path}: the {spec.name} rows do not match the digest in the file's trailer "
                f"(file {digest.hex[:12]}, trailer {expected[:12]}): the file was edited or damaged after it was written",
                table=spec.name)


def _not_regular(mode: int) -> str | None:
    """What a path that is no regular file is, in words (None for a regular file)."""
    for test, what in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return what
    return None if stat.S_ISREG(mode) else "not a regular file"


def _open_regular(path: Path) -> IO[bytes]:
    """``path`` opened for reading if it is a regular file. Opened without blocking (a FIFO
    would wait for a writer forever) and checked on the open file, not the name (which could
    be swapped in between)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except FileNotFoundError:
        raise _refuse("missing", path, "does not exist", "Check the path of the snapshot file") from None
    except IsADirectoryError:
        raise _refuse("not_a_file", path, "is a directory, not a snapshot file", "Give the path of the file") from None
    except OSError as exc:
        raise _refuse("io", path, f"cannot be read: {exc.strerror}") from None
    what = _not_regular(os.fstat(fd).st_mode)
    if what is not None:
        os.close(fd)
        raise _refuse("not_a_file", path, f"is {what}, not a snapshot file", "Give the path of a regular file")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


@asynccontextmanager
async def _reading(path: Path) -> AsyncIterator[SnapshotFileReader]:
    file = _open_regular(path)
    with file:
        try:
            index = _index(file, path)
        except OSError as exc:
            raise _refuse("io", path, f"cannot be read: {exc.strerror}") from None
        yield SnapshotFileReader(file, path, index)


# ----- writing ---------------------------------------------------------------------------

class SnapshotFileWriter:
    """``Loader`` into the temporary file. Each row is written, read back through the
    decoder and digested, so the digest is of what a reader of the file will get."""

    def __init__(self, file: IO[bytes], path: Path) -> None:
        self.file = file
        self.path = path
        self.created_at = datetime.now(UTC).isoformat(timespec="seconds")
        self.digests: dict[str, TableDigest] = {}
        self.sections: dict[str, _Section] = {}
        self.header_size = len(self._header({name: 10**19 - 1 for name in ORDER}))
        file.write(b" " * (self.header_size - 1) + b"\n")  # room for the header, written at the end

    def _header(self, counts: dict[str, int]) -> bytes:
        header = {"format": FORMAT, "version": VERSION, "created_at": self.created_at, "counts": counts,
                  "columns": {spec.name: list(spec.columns) for spec in ALL_TABLES}}
        return json.dumps(header, ensure_ascii=False).encode("utf-8") + b"\n"

    async def load(self, spec: TableSpec, rows: AsyncIterator[Row]) -> None:
        done = [ORDER.index(name) for name in self.digests]
        if spec.name in self.digests or (done and max(done) > ORDER.index(spec.name)):
            raise SnapshotFileError("order", f"{self.path}: {spec.name} must be written once, in dependency order",
                                    table=spec.name)
        encode, decode = _line_encoder(spec), _line_decoder(spec, self.path)
        digest = self.digests[spec.name] = TableDigest(spec.name)
        section = self.sections[spec.name] = _Section(self.file.tell(), 0)
        write = self.file.write
        async for row in rows:
            try:
                line = encode(row)
            except (TypeError, ValueError) as exc:  # a value JSON cannot hold (it never came from a store)
                raise SnapshotFileError("unwritable", f"{self.path}: a {spec.name} row cannot be written: {exc}",
                                        table=spec.name) from None
            digest.add(decode(line, 0))
            try:
                write(line)
            except OSError as exc:
                raise _write_failed(self.path, exc) from None
        section.rows = digest.rows

    async def digest(self, spec: TableSpec, keyed: bool = False) -> TableDigest:
        if not keyed:
            return self.digests.get(spec.name, TableDigest(spec.name))
        # Only after a mismatch: read the table back from the file, remembering each key.
        found = TableDigest(spec.name).keep_keys()
        section = self.sections.get(spec.name)
        if section is not None:
            decode = _line_decoder(spec, self.path)
            positions = [spec.columns.index(c) for c in spec.key_columns]
            self.file.flush()
            self.file.seek(section.offset)
            for _ in range(section.rows):
                row = decode(self.file.readline(), 0)
                found.add(row, tuple(row[i] for i in positions))
            self.file.seek(0, os.SEEK_END)
        return found

    def finish(self) -> None:
        """Write the trailer and the header, and make it all durable."""
        counts = {name: self.digests[name].rows if name in self.digests else 0 for name in ORDER}
        digests = {name: (self.digests.get(name) or TableDigest(name)).hex for name in ORDER}
        self.file.write(json.dumps({"end": FORMAT, "counts": counts, "digests": digests}).encode("utf-8") + b"\n")
        header = self._header(counts)
        self.file.seek(0)
        self.file.write(header[:-1].ljust(self.header_size - 1) + b"\n")
        self.file.flush()
        os.fsync(self.file.fileno())


def _check_destination(path: Path, replace: bool) -> None:
    if not path.parent.is_dir():
        raise _refuse("no_directory", path, f"cannot be written: the directory {path.parent} does not exist",
                      "Create the directory first, or choose another path")
    if path.exists() and not replace:
        raise _refuse("exists", path, "already exists; refusing to overwrite it",
                      "Choose replace (--replace) to overwrite it, or another path")
    if path.exists() and not path.is_file():
        raise _refuse("exists", path, "exists and is not a regular file", "Choose another path")


def _publish(temporary: str, path: Path, replace: bool) -> None:
    """Move the finished file to its real name in one step (refusing an existing file
    without ``replace``, even one that appeared during the copy), then sync the directory."""
    if replace:
        os.replace(temporary, path)
    else:
        try:
            os.link(temporary, path)  # fails if the name exists: no window for a race
        except FileExistsError:
            raise _refuse("exists", path, "appeared while the snapshot was written; refusing to overwrite it",
                          "Choose replace (--replace) to overwrite it, or another path") from None
        except OSError as exc:
            if exc.errno not in {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV}:
                raise
            _check_destination(path, replace)  # a file system without hard links
            os.replace(temporary, path)
        else:
            os.unlink(temporary)
    try:
        directory = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(directory)
    except OSError:
        pass  # not every file system syncs directories; the file itself is synced
    finally:
        os.close(directory)


def _write_failed(path: Path, exc: OSError) -> SnapshotFileError:
    return _refuse("io", path, f"cannot be written: {exc.strerror or exc}", "Check the disk space and permissions")


def partials(path: Path) -> list[Path]:
    """The partial files of snapshots being written to ``path`` (or left by a killed copy)."""
    return sorted(path.parent.glob(f".{glob.escape(path.name)}.*.partial"))


def remove_stale_partials(path: Path) -> list[Path]:
    """Remove the partial files of ``path`` that no copy is writing any more (a SIGKILL, a
    power cut: nothing could clean up); the ones removed. A partial holds the copy's data so
    far, DSN passwords included. A copy holds an exclusive ``flock`` on its partial until it
    ends, and the kernel drops it when the process dies, so a partial whose lock can be taken
    is stale; only regular files of this user are touched."""
    removed = []
    for candidate in partials(path):
        try:
            fd = os.open(candidate, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a copy is writing it now
            os.unlink(candidate)
            removed.append(candidate)
        except OSError:
            continue
        finally:
            os.close(fd)
    for stale in removed:
        log.warning("removed %s, a partial snapshot an interrupted copy left", stale)
    return removed


@asynccontextmanager
async def _writing(path: Path, replace: bool) -> AsyncIterator[SnapshotFileWriter]:
    # Only our own file operations are turned into SnapshotFileError here: an OSError the
    # source raises inside the body (a lost connection) must reach the source's handler as it is.
    _check_destination(path, replace)
    remove_stale_partials(path)
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)  # mode 0600
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held until the file is closed or the process dies
    except OSError as exc:
        raise _write_failed(path, exc) from None
    try:
        with os.fdopen(handle, "w+b") as file:
            try:
                writer = SnapshotFileWriter(file, path)
            except OSError as exc:
                raise _write_failed(path, exc) from None
            yield writer
            try:
                writer.finish()
            except OSError as exc:
                raise _write_failed(path, exc) from None
        try:
            _publish(temporary, path, replace)
        except OSError as exc:
            raise _write_failed(path, exc) from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


# ----- the endpoint ----------------------------------------------------------------------

class SnapshotFile:
    """A snapshot file as a ``copy_tables`` source (``snapshot()``) or target (``loader()``)."""

    backend = "file"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def snapshot(self):  # noqa: ANN201 - an async context manager of SnapshotFileReader
        return _reading(self.path)

    def loader(self, replace: bool = False):  # noqa: ANN201 - an async context manager of SnapshotFileWriter
        return _writing(self.path, replace)

    def __repr__(self) -> str:
        return f"SnapshotFile({str(self.path)!r})"


@dataclass
class MemoryTransfer:
    """A memory export or import: the copy's report, and the engine's ``changes`` counter
    that the file matches (compare it with ``engine.changes`` for "unsaved changes")."""

    report: CopyReport
    changes: int


class _CountedMemory:
    """A memory engine as copy source, noting its ``changes`` at the moment of the snapshot."""

    backend = "memory"

    def __init__(self, engine: MemoryEngine) -> None:
        self.engine = engine
        self.changes: int | None = None

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Any]:
        async with self.engine.snapshot() as reader:
            self.changes = self.engine.changes  # no await between the snapshot and this line
            yield reader


async def export_memory(engine: MemoryEngine, path: str | os.PathLike[str], *, replace: bool = False,
                        progress: ProgressCallback | None = None) -> MemoryTransfer:
    """Write the memory engine's tables to a snapshot file; ``changes`` is the counter the file holds."""
    source = _CountedMemory(engine)
    report = await copy_tables(source, SnapshotFile(path), replace=replace, progress=progress)
    return MemoryTransfer(report, source.changes if source.changes is not None else engine.changes)


async def import_memory(engine: MemoryEngine, path: str | os.PathLike[str], *, replace: bool = False,
                        progress: ProgressCallback | None = None) -> MemoryTransfer:
    """Replace the memory engine's (empty, or with ``replace`` any) tables by a snapshot
    file's; ``changes`` is the counter right after, when memory and file agree."""
    report = await copy_tables(SnapshotFile(path), engine, replace=replace, progress=progress)
    return MemoryTransfer(report, engine.changes)
