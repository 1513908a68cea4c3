"""What every store does the same way: validation, timestamps, errors, paging."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar, cast

from pydantic import ValidationError

from stores.engine import Engine
from stores.errors import Conflict, NotFound, ValidationFailed
from stores.models import Record, check_text
from stores.query import (
    Condition, Eq, Filter, Page, PageRequest, RowCount, check_limit, decode_cursor, encode_cursor,
    validation_failed,
)
from stores.tables import TableSpec

R = TypeVar("R", bound=Record)


def check_keys(entity: str, **values: str | None) -> None:
    """Key arguments go into queries: refuse what the database could not even compare."""
    problems: dict[str, str] = {}
    for name, value in values.items():
        if value is None:
            continue
        if not isinstance(value, str):
            problems[name] = "must be text"
            continue
        try:
            check_text(value)
        except ValueError as exc:
            problems[name] = str(exc)
    if problems:
        raise ValidationFailed(entity, problems)


class TableStore(Generic[R]):
    """Base of the six stores: ``spec`` says which table, ``engine`` which backend."""

    spec: TableSpec

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- input -------------------------------------------------------------------------
    def validated(self, row: R) -> R:
        """Re-validate a row (it may have been built with ``model_construct`` or mutated)."""
        if not isinstance(row, self.spec.model):
            raise ValidationFailed(self.spec.entity, {"row": f"must be a {self.spec.model.__name__}"})
        try:
            return cast(R, self.spec.model.model_validate(row.model_dump()))
        except ValidationError as exc:
            raise validation_failed(self.spec.entity, exc) from None

    def stamped(self, row: R) -> R:
        """Fill the creation / update times the caller left empty (a copy keeps given ones)."""
        now = self.engine.clock.now()
        changes: dict[str, Any] = {}
        for column in (self.spec.created_column, self.spec.touch_column):
            if column and getattr(row, column) is None:
                changes[column] = now
        return cast(R, row.model_copy(update=changes)) if changes else row

    def key_text(self, key: tuple[str, ...]) -> str:
        return "/".join(key)

    # -- single rows -------------------------------------------------------------------
    async def _create(self, row: R) -> R:
        return cast(R, await self.engine.insert(self.spec, self.stamped(self.validated(row))))

    async def _get(self, key: tuple[str, ...]) -> R:
        check_keys(self.spec.entity, **dict(zip(self.spec.key_columns, key)))
        row = await self.engine.fetch(self.spec, key)
        if row is None:
            raise NotFound(self.spec.entity, self.key_text(key))
        return cast(R, row)

    async def _exists(self, key: tuple[str, ...]) -> bool:
        check_keys(self.spec.entity, **dict(zip(self.spec.key_columns, key)))
        return await self.engine.fetch(self.spec, key) is not None

    async def _get_unique(self, columns: tuple[str, ...], values: tuple[str, ...], label: str) -> R:
        check_keys(self.spec.entity, **dict(zip(columns, values)))
        row = await self.engine.fetch_unique(self.spec, columns, values)
        if row is None:
            raise NotFound(self.spec.entity, label)
        return cast(R, row)

    async def _update(self, row: R, expected_updated_at: datetime | None = None) -> R:
        row = self.validated(row)
        updated = await self.engine.replace(self.spec, row, expected_updated_at)
        if updated is not None:
            return cast(R, updated)
        current = await self.engine.fetch(self.spec, row.key())
        if current is None:
            raise NotFound(self.spec.entity, row.key_text())
        raise Conflict(self.spec.entity, row.key_text(), current)

    async def _patch(self, key: tuple[str, ...], values: dict[str, Any], keep_if_set: frozenset[str] = frozenset()) -> R:
        check_keys(self.spec.entity, **dict(zip(self.spec.key_columns, key)))
        row = await self.engine.patch(self.spec, key, values, keep_if_set)
        if row is None:
            raise NotFound(self.spec.entity, self.key_text(key))
        return cast(R, row)

    async def _set_status(self, key: tuple[str, ...], status: str, allowed: tuple[str, ...]) -> R:
        """Change ``status``; where the table has ``deleted_at`` it follows (soft delete / restore)."""
        if status not in allowed:
            raise ValidationFailed(self.spec.entity, {"status": f"must be one of {', '.join(allowed)}"})
        values: dict[str, Any] = {"status": status}
        if "deleted_at" in self.spec.columns:
            values["deleted_at"] = self.engine.clock.now() if status == "deleted" else None
        keep = frozenset({"deleted_at"}) if status == "deleted" else frozenset()
        return await self._patch(key, values, keep)

    async def _delete(self, key: tuple[str, ...]) -> None:
        check_keys(self.spec.entity, **dict(zip(self.spec.key_columns, key)))
        if not await self.engine.remove(self.spec, key):
            raise NotFound(self.spec.entity, self.key_text(key))

    # -- many rows ---------------------------------------------------------------------
    @staticmethod
    def scope(**values: str) -> tuple[Eq, ...]:
        return tuple(Eq(column, value) for column, value in values.items())

    def _checked_scope(self, scope: tuple[Eq, ...]) -> tuple[Eq, ...]:
        check_keys(self.spec.entity, **{eq.column: eq.value for eq in scope})
        return scope

    async def _select(self, scope: tuple[Eq, ...], order: str, conditions: tuple[Condition, ...] = ()) -> list[R]:
        return cast(list[R], await self.engine.select(self.spec, self._checked_scope(scope), conditions, order))

    async def _page(self, scope: tuple[Eq, ...], order: str, filter: Filter, after: str | None, limit: int,
                    before: str | None = None, last: bool = False) -> Page[R]:
        """One keyset page. ``after``: the page following a cursor; ``before``: the page
        preceding one; ``last``: the final page; none of them: the first page. Backward
        pages walk the index from the other end (no scan of what comes before them)."""
        if (after is not None) + (before is not None) + bool(last) > 1:
            raise ValidationFailed("page request", {"before": "give at most one of after, before and last"})
        limit = check_limit(limit)
        backward = before is not None or bool(last)
        cursor = decode_cursor(before if backward else after, order)
        if cursor is not None:
            check_keys("page request", after=cursor)
        request = PageRequest(self.spec.name, self._checked_scope(scope), order, filter.conditions(), cursor, limit,
                              descending=backward)
        rows = cast(list[R], await self.engine.page(self.spec, request))
        more = len(rows) > limit
        rows = rows[:limit]
        if backward:
            rows.reverse()
            prev_cursor = encode_cursor(order, getattr(rows[0], order)) if more else None
            next_cursor = encode_cursor(order, getattr(rows[-1], order)) if before is not None and rows else None
            return Page(rows, next_cursor, prev_cursor)
        next_cursor = encode_cursor(order, getattr(rows[-1], order)) if more else None
        prev_cursor = encode_cursor(order, getattr(rows[0], order)) if after is not None and rows else None
        return Page(rows, next_cursor, prev_cursor)

    async def _count(self, scope: tuple[Eq, ...], filter: Filter) -> int:
        return await self.engine.count(self.spec, self._checked_scope(scope), filter.conditions())

    async def _estimate(self, scope: tuple[Eq, ...], filter: Filter) -> RowCount:
        return await self.engine.estimate(self.spec, self._checked_scope(scope), filter.conditions())
