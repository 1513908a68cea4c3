"""A normalised description of one schema from pg_catalog, and the differences between two.

Tables, columns (type, nullability, default, identity, generated, collation), constraints,
indexes, triggers and functions. Definitions come from the server's own ``pg_get_*``
functions with ``search_path`` set to ``pg_catalog`` alone, so every name is qualified the
same way, and then the schema's own name is removed: the same objects in two schemas (the
real one and a scratch copy) describe identically. Column order is deliberately ignored.
Function bodies are kept by the server as written, so they are compared normalised
(``sqltext.normalise_body``: no comments, white space and letter case of unquoted words
folded): lokstra's files say ``now()`` where ours say ``NOW()``, and that is no drift.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import asyncpg

from migrations.sqltext import normalise_body


@dataclass(frozen=True)
class Column:
    type: str
    not_null: bool
    default: str | None
    identity: str = ""
    generated: str = ""
    collation: str | None = None

    def describe(self) -> str:
        text = self.type + (" not null" if self.not_null else " null")
        if self.default is not None:
            text += f" default {self.default}"
        if self.identity:
            text += " identity " + ("always" if self.identity == "a" else "by default")
        if self.generated:
            text += " generated"
        if self.collation:
            text += f' collate "{self.collation}"'
        return text


@dataclass
class Table:
    columns: dict[str, Column] = field(default_factory=dict)
    constraints: dict[str, str] = field(default_factory=dict)
    indexes: dict[str, str] = field(default_factory=dict)
    triggers: dict[str, str] = field(default_factory=dict)


@dataclass
class Catalog:
    schema: str
    tables: dict[str, Table] = field(default_factory=dict)
    functions: dict[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.tables and not self.functions

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


_COLUMNS = """
SELECT c.relname AS table_name, a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS type,
       a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS default_expr,
       a.attidentity AS identity, a.attgenerated AS generated,
       CASE WHEN a.attcollation <> t.typcollation THEN co.collname END AS collation
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_collation co ON co.oid = a.attcollation
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
"""

# Constraints, indexes and triggers of the schema's tables; ``kind`` names the Table field.
# PostgreSQL 18 records NOT NULL as constraints too (contype 'n', named TABLE_COLUMN_not_null):
# left out, since the columns' nullability is compared already and older servers have none.
_DEFINITIONS = """
WITH tables AS (
    SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
)
SELECT 'constraints' AS kind, t.relname AS table_name, k.conname AS name, pg_get_constraintdef(k.oid) AS definition
FROM pg_constraint k JOIN tables t ON t.oid = k.conrelid
WHERE k.contype <> 'n'
UNION ALL
SELECT 'indexes', t.relname, i.relname, pg_get_indexdef(x.indexrelid)
FROM pg_index x JOIN tables t ON t.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
UNION ALL
SELECT 'triggers', t.relname, g.tgname, pg_get_triggerdef(g.oid)
FROM pg_trigger g JOIN tables t ON t.oid = g.tgrelid
WHERE NOT g.tgisinternal
"""

_TABLES = """
SELECT c.relname AS table_name
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
"""

_FUNCTIONS = """
SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS signature,
       pg_get_function_result(p.oid) AS result, l.lanname AS language, p.prosrc AS body
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE n.nspname = $1
"""


async def snapshot(conn: asyncpg.Connection, schema: str) -> Catalog:
    """Describe ``schema`` as it is now (an empty Catalog when it does not exist)."""
    async with conn.transaction():
        previous = await conn.fetchval("SELECT current_setting('search_path')")
        await conn.execute("SET LOCAL search_path TO pg_catalog")
        prefix = await conn.fetchval("SELECT quote_ident($1) || '.'", schema)
        catalog = Catalog(schema=schema)
        for row in await conn.fetch(_TABLES, schema):
            catalog.tables[row["table_name"]] = Table()
        for row in await conn.fetch(_COLUMNS, schema):
            catalog.tables[row["table_name"]].columns[row["column_name"]] = Column(
                type=_strip(row["type"], prefix),
                not_null=row["not_null"],
                default=_strip(row["default_expr"], prefix) if row["default_expr"] is not None else None,
                identity=row["identity"],
                generated=row["generated"],
                collation=row["collation"],
            )
        for row in await conn.fetch(_DEFINITIONS, schema):
            getattr(catalog.tables[row["table_name"]], row["kind"])[row["name"]] = _strip(row["definition"], prefix)
        for row in await conn.fetch(_FUNCTIONS, schema):
            body = normalise_body(row["body"]).replace(normalise_body(prefix) + " ", "")
            catalog.functions[_strip(row["signature"], prefix)] = (
                f"RETURNS {_strip(row['result'], prefix)} LANGUAGE {row['language']} AS {body}"
            )
        # Restore for a caller whose transaction goes on (SET LOCAL outlives a savepoint).
        await conn.execute("SELECT set_config('search_path', $1, true)", previous)
    return catalog


RUNNER_TABLES = frozenset({"schema_migrations", "sync_config", "console_migration_history"})
"""Tables lokstra's runner (and older consoles) keep beside the data when the data schema is
``lokstra_core`` (primadi/lokstra ``lokstra_init/migration_runner/lokstra_core.sql``): not
part of lokstra-auth's schema, so a comparison leaves them out."""
RUNNER_FUNCTIONS = frozenset({"sync_config_notify()"})


def without_runner_objects(found: Catalog) -> Catalog:
    """``found`` without lokstra's runner tables and functions."""
    return Catalog(schema=found.schema,
                   tables={name: table for name, table in found.tables.items() if name not in RUNNER_TABLES},
                   functions={name: text for name, text in found.functions.items() if name not in RUNNER_FUNCTIONS})


def _strip(text: str, prefix: str) -> str:
    return text.replace(prefix, "")


@dataclass(frozen=True)
class Difference:
    """One way ``actual`` differs from ``expected``; ``str()`` is the line an operator reads."""

    table: str
    kind: str  # table, column, constraint, index, trigger, function
    name: str
    problem: str  # missing, unexpected, differs
    attribute: str | None = None
    expected: str | None = None
    actual: str | None = None

    def __str__(self) -> str:
        where = f"{self.table}: " if self.table else ""
        if self.problem == "missing":
            detail = f" ({self.expected})" if self.expected and self.kind != "table" else ""
            return f"{where}{self.kind} {self.name} is missing{detail}"
        if self.problem == "unexpected":
            detail = f" ({self.actual})" if self.actual and self.kind != "table" else ""
            return f"{where}unexpected {self.kind} {self.name}{detail}"
        attribute = f" {self.attribute}" if self.attribute else ""
        return f"{where}{self.kind} {self.name}{attribute} is {self.actual}, expected {self.expected}"

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "text": str(self)}


# (Column field, the word an operator reads)
_COLUMN_ATTRIBUTES = (("type", "type"), ("not_null", "nullability"), ("default", "default"),
                      ("identity", "identity"), ("generated", "generated"), ("collation", "collation"))


def diff(expected: Catalog, actual: Catalog) -> list[Difference]:
    """Every difference, table by table (tables sorted by name), then functions."""
    found: list[Difference] = []
    for table in sorted(set(expected.tables) | set(actual.tables)):
        want, have = expected.tables.get(table), actual.tables.get(table)
        if want is None:
            found.append(Difference(table, "table", table, "unexpected"))
        elif have is None:
            found.append(Difference(table, "table", table, "missing"))
        else:
            found.extend(_column_differences(table, want.columns, have.columns))
            for kind, attribute in (("constraint", "constraints"), ("index", "indexes"), ("trigger", "triggers")):
                found.extend(_named_differences(table, kind, getattr(want, attribute), getattr(have, attribute)))
    found.extend(_named_differences("", "function", expected.functions, actual.functions))
    return found


def _column_differences(table: str, want: dict[str, Column], have: dict[str, Column]) -> list[Difference]:
    found: list[Difference] = []
    for name in sorted(set(want) | set(have)):
        if name not in have:
            found.append(Difference(table, "column", name, "missing", expected=want[name].describe()))
        elif name not in want:
            found.append(Difference(table, "column", name, "unexpected", actual=have[name].describe()))
        else:
            for attribute, word in _COLUMN_ATTRIBUTES:
                expected_value, actual_value = getattr(want[name], attribute), getattr(have[name], attribute)
                if expected_value != actual_value:
                    found.append(Difference(table, "column", name, "differs", word,
                                            _show(attribute, expected_value), _show(attribute, actual_value)))
    return found


def _show(attribute: str, value: Any) -> str:
    if attribute == "not_null":
        return "not null" if value else "nullable"
    if value in (None, ""):
        return "none"
    return str(value)


def _named_differences(table: str, kind: str, want: dict[str, str], have: dict[str, str]) -> list[Difference]:
    found: list[Difference] = []
    for name in sorted(set(want) | set(have)):
        if name not in have:
            found.append(Difference(table, kind, name, "missing", expected=want[name]))
        elif name not in want:
            found.append(Difference(table, kind, name, "unexpected", actual=have[name]))
        elif want[name] != have[name]:
            found.append(Difference(table, kind, name, "differs", "definition", want[name], have[name]))
    return found


_WORD = r"\b{}\b"


def rename_schema(sql: str, old: str, new: str) -> str:
    """``sql`` with every whole-word ``old`` identifier replaced by ``new`` (for a scratch copy)."""
    return re.sub(_WORD.format(re.escape(old)), new, sql)
