"""What each PostgreSQL column accepts, read from the models: one rule for every way in.

A row that does not come through a store (a snapshot file being loaded) is checked against
these rules whichever the target is, so that a value PostgreSQL would refuse is refused by
the memory backend's trial load too, before anything is written, with the column named.

The rules are PostgreSQL's, not the models' vocabularies: a database lokstra-auth wrote
may hold a status or an email the console's forms would refuse, and a snapshot of it must
load back. From each model field: its kind (``stores.transfer.digest.column_kinds``), its
``varchar`` length (the model's ``max_length``; ``VOCABULARY_LENGTH`` for a field that takes
one of lokstra's words), whether it may be NULL (``X | None``, or marked ``UpstreamNotNull``:
nullable in the database, though the console writes ``''`` there; not the creation and
update times the stores fill in, which are ``NOT NULL DEFAULT now()``). A test compares the
rules with the live catalog of migration 001.
"""
from __future__ import annotations

import types
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from annotated_types import MaxLen

from stores.models import check_json, check_text, json_storable, upstream_not_null
from stores.tables import TableSpec
from stores.transfer.digest import BOOL, JSON, TEXT, TIMESTAMP, column_kinds

VOCABULARY_LENGTH = 50
"""lokstra's schema makes every column of a vocabulary (status, type, key_type, environment) varchar(50)."""


def unwrap(annotation: Any) -> tuple[Any, bool, list[Any]]:
    """(inner type, optional?, metadata) of ``X``, ``X | None`` and ``Annotated[X, ...]``."""
    optional = False
    metadata: list[Any] = []
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        optional = len(args) < len(get_args(annotation))
        annotation = args[0]
    if get_origin(annotation) is Annotated:
        annotation, *metadata = get_args(annotation)
    return annotation, optional, metadata


def max_length(metadata: list[Any]) -> int | None:
    """The ``max_length`` a field's constraints give, if any."""
    for item in metadata:
        limit = item.max_length if isinstance(item, MaxLen) else getattr(item, "max_length", None)
        if isinstance(limit, int):
            return limit
    return None


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    """``stores.transfer.digest``'s TEXT, BOOL, TIMESTAMP or JSON."""
    nullable: bool
    max_length: int | None = None

    def accepts(self, value: Any) -> bool:
        """The quick answer for the usual value (a copy asks once per value); False means
        ask ``problem``, which is slower and says why."""
        if value is None:
            return self.nullable
        if self.kind == TEXT:
            return (type(value) is str and (self.max_length is None or len(value) <= self.max_length)
                    and "\x00" not in value and value.isascii())
        if self.kind == BOOL:
            return type(value) is bool
        if self.kind == TIMESTAMP:
            return type(value) is datetime and value.tzinfo is None
        return json_storable(value)

    def problem(self, value: Any) -> str | None:
        """Why PostgreSQL would refuse ``value`` here (as the snapshot reader holds it:
        timestamps already parsed), or None."""
        if value is None:
            return None if self.nullable else "is null, and the column is NOT NULL"
        try:
            if self.kind == JSON:
                check_json(value)
            elif self.kind == BOOL:
                if not isinstance(value, bool):
                    return f"must be true or false, not {_what(value)}"
            elif self.kind == TIMESTAMP:
                if not isinstance(value, datetime):
                    return f"must be a timestamp, not {_what(value)}"
                if value.tzinfo is not None:
                    return "must be a timestamp without time zone (as stored: naive UTC)"
            elif not isinstance(value, str):
                return f"must be text, not {_what(value)}"
            else:
                check_text(value)
                if self.max_length is not None and len(value) > self.max_length:
                    return f"is {len(value):,} characters long; the column holds at most {self.max_length}"
        except ValueError as exc:
            return str(exc)
        return None


def _what(value: Any) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", str: "text", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)


@cache
def columns(spec: TableSpec) -> tuple[Column, ...]:
    """The rules of every column of ``spec``, in ``spec.columns`` order."""
    filled = {spec.created_column, spec.touch_column} - {None}
    written_not_null = upstream_not_null(spec.model)  # nullable columns the console never leaves NULL
    found = []
    for name, kind in zip(spec.columns, column_kinds(spec)):
        inner, optional, metadata = unwrap(spec.model.model_fields[name].annotation)
        limit = None
        if kind == TEXT:
            limit = VOCABULARY_LENGTH if get_origin(inner) is Literal else max_length(
                [*spec.model.model_fields[name].metadata, *metadata])
        nullable = (optional or name in written_not_null) and name not in filled
        found.append(Column(name, kind, nullable, limit))
    return tuple(found)
