"""One in-memory table: rows by primary key, unique indexes, and sorted keyset indexes."""
from __future__ import annotations

from collections.abc import Iterator

from sortedcontainers import SortedDict

from stores.models import Record
from stores.query import Before, Condition, Eq, IsNull, Prefix, prefix_upper_bound
from stores.tables import OrderIndex, TableSpec, Unique

Key = tuple[str, ...]


def matches(row: Record, conditions: tuple[Condition, ...]) -> bool:
    for condition in conditions:
        value = getattr(row, condition.column)
        if isinstance(condition, Eq):
            if value != condition.value:
                return False
        elif isinstance(condition, Prefix):
            if not isinstance(value, str) or not condition.matches(value):
                return False
        elif isinstance(condition, Before):
            if value is None or not value < condition.value:
                return False
        elif isinstance(condition, IsNull):
            if (value is not None) != condition.set:
                return False
    return True


class MemoryTable:
    """Rows plus the indexes every lookup of the contract needs.

    Sorted indexes map ``(*scope values, order value)`` to the primary key. Python compares
    strings by code point, which is the order of PostgreSQL's ``COLLATE "C"`` on UTF-8, so
    pages come out in the same order on both backends.
    """

    def __init__(self, spec: TableSpec) -> None:
        self.spec = spec
        self.rows: dict[Key, Record] = {}
        self.unique: dict[str, dict[tuple, Key]] = {u.constraint: {} for u in spec.uniques}
        self.sorted: dict[OrderIndex, SortedDict] = {index: SortedDict() for index in spec.orders}

    @staticmethod
    def values(row: Record, columns: tuple[str, ...]) -> tuple:
        return tuple(getattr(row, column) for column in columns)

    def sort_key(self, index: OrderIndex, row: Record) -> tuple:
        return (*self.values(row, index.scope), getattr(row, index.column))

    def clash(self, row: Record, unique: Unique) -> bool:
        """Would ``row`` break ``unique`` (ignoring the row itself on update)?"""
        if unique is self.spec.primary:
            return row.key() in self.rows
        owner = self.unique[unique.constraint].get(self.values(row, unique.columns))
        return owner is not None and owner != row.key()

    def add(self, row: Record) -> None:
        key = row.key()
        self.rows[key] = row
        for unique in self.spec.uniques:
            self.unique[unique.constraint][self.values(row, unique.columns)] = key
        for index, tree in self.sorted.items():
            tree[self.sort_key(index, row)] = key

    def discard(self, row: Record) -> None:
        key = row.key()
        self.rows.pop(key, None)
        for unique in self.spec.uniques:
            self.unique[unique.constraint].pop(self.values(row, unique.columns), None)
        for index, tree in self.sorted.items():
            tree.pop(self.sort_key(index, row), None)

    def index_for(self, order: str, scope: tuple[str, ...]) -> OrderIndex:
        return self.spec.order(order, scope)

    def walk(self, index: OrderIndex, scope_values: tuple, after: str | None = None,
             span: tuple[str, str | None] | None = None, reverse: bool = False) -> Iterator[Record]:
        """Rows of one scope in index order, strictly after ``after``; with ``span`` (a range
        of the order column, ``Prefix.span``) start at its low end and stop at its high end
        instead of scanning the scope. ``reverse`` walks backwards from the end of the scope
        (or strictly before ``after``)."""
        if reverse:
            yield from self._walk_back(index, scope_values, after, span)
            return
        tree = self.sorted[index]
        start: tuple = scope_values
        inclusive = True
        if after is not None:
            start, inclusive = (*scope_values, after), False
        low, high = span if span is not None else (None, None)
        if low is not None and (after is None or low > after):
            start, inclusive = (*scope_values, low), True
        width = len(scope_values)
        for sort_key in tree.irange(minimum=start, inclusive=(inclusive, True)):
            if sort_key[:width] != scope_values:
                return
            if high is not None and sort_key[width] >= high:
                return
            yield self.rows[tree[sort_key]]

    def _walk_back(self, index: OrderIndex, scope_values: tuple, before: str | None,
                   span: tuple[str, str | None] | None) -> Iterator[Record]:
        tree = self.sorted[index]
        upper: tuple | None = _after_scope(scope_values)
        low, high = span if span is not None else (None, None)
        if high is not None:
            upper = (*scope_values, high)
        if before is not None and (upper is None or (*scope_values, before) < upper):
            upper = (*scope_values, before)
        width = len(scope_values)
        for sort_key in tree.irange(maximum=upper, inclusive=(True, False), reverse=True):
            if sort_key[:width] != scope_values:
                return
            if low is not None and sort_key[width] < low:
                return
            yield self.rows[tree[sort_key]]

    def range_size(self, index: OrderIndex, scope_values: tuple, prefix: str | None = None) -> int:
        """Rows in a scope (whose order column starts with ``prefix``) without visiting them:
        two bisections of the sorted index."""
        tree = self.sorted[index]
        if prefix is not None:
            lower = (*scope_values, prefix)
            bound = prefix_upper_bound(prefix)
            upper = (*scope_values, bound) if bound is not None else _after_scope(scope_values)
        elif scope_values:
            lower, upper = scope_values, _after_scope(scope_values)
        else:
            return len(tree)
        if upper is None:
            return len(tree) - tree.bisect_left(lower)
        return tree.bisect_left(upper) - tree.bisect_left(lower)


def _after_scope(scope_values: tuple) -> tuple | None:
    """The smallest key above every key of the scope (None: the scope runs to the end)."""
    if not scope_values:
        return None
    return (*scope_values[:-1], scope_values[-1] + "\x00")
