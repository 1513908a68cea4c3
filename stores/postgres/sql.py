"""Render backend-neutral conditions and page requests as parameterised SQL.

Identifiers come only from ``stores.tables`` (our own constants), never from input;
every value is a ``$n`` parameter.
"""
from __future__ import annotations

from typing import Any

from stores.query import Before, Condition, Eq, IsNull, PageRequest, Prefix
from stores.tables import TableSpec


def q(column: str) -> str:
    return f'"{column}"'


def column_list(spec: TableSpec, alias: str | None = None) -> str:
    """The model's columns, in order: queries never select * (an adopted database may have more)."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + q(c) for c in spec.columns)


class Params:
    """Collects parameter values and hands out their ``$n`` placeholders."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def where(conditions: tuple[Condition, ...], params: Params) -> list[str]:
    clauses: list[str] = []
    for condition in conditions:
        column = q(condition.column)
        if isinstance(condition, Eq):
            clauses.append(f"{column} = {params.add(condition.value)}")
        elif isinstance(condition, Prefix):
            low, bound = condition.span()  # an index range; folded, the pattern filters it
            clauses.append(f'{column} COLLATE "C" >= {params.add(low)}')
            if bound is not None:
                clauses.append(f'{column} COLLATE "C" < {params.add(bound)}')
            if condition.fold:
                # inside CASE, so the planner takes its default selectivity: ``~``'s own estimate
                # of a pattern with no fixed prefix is a handful of rows, and the planner then
                # sorts a sequential scan instead of walking the index range in page order. The
                # cost: a folded prefix walks the range between its all-upper and all-lower forms
                # (``ALICE`` … ``alicf``) until a page is full (tests/test_postgres_backend.py)
                clauses.append(f'(CASE WHEN {column} COLLATE "C" ~ {params.add(condition.pattern())} THEN true END)')
        elif isinstance(condition, Before):
            clauses.append(f"{column} < {params.add(condition.value)}")
        elif isinstance(condition, IsNull):
            null = f"({column} IS NULL OR {column} = 'null'::jsonb)" if condition.json else f"{column} IS NULL"
            clauses.append(f"NOT {null}" if condition.set else null)
    return clauses


def select_sql(spec: TableSpec, schema: str, scope: tuple[Eq, ...], conditions: tuple[Condition, ...],
               order: str | None, after: str | None = None, limit: int | None = None, what: str | None = None,
               descending: bool = False) -> tuple[str, list[Any]]:
    """``schema``: where lokstra's tables are (the data schema setting)."""
    params = Params()
    what = what or column_list(spec)
    clauses = where((*scope, *conditions), params)
    if after is not None and order is not None:
        clauses.append(f'{q(order)} COLLATE "C" {"<" if descending else ">"} {params.add(after)}')
    sql = f"SELECT {what} FROM {spec.relation(schema)}"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    if order is not None:
        sql += f' ORDER BY {q(order)} COLLATE "C"' + (" DESC" if descending else "")
    if limit is not None:
        sql += f" LIMIT {params.add(limit)}"
    return sql, params.values


def page_sql(spec: TableSpec, schema: str, request: PageRequest) -> tuple[str, list[Any]]:
    return select_sql(spec, schema, request.scope, request.conditions, request.order, request.after, request.limit + 1,
                      descending=request.descending)


def key_clause(spec: TableSpec, key: tuple[str, ...], params: Params) -> str:
    return " AND ".join(f"{q(c)} = {params.add(v)}" for c, v in zip(spec.key_columns, key))
