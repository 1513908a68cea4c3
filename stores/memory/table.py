"""One in-memory table, kept compactly: rows as tuples, indexes as nested dicts and sorted lists.

A stored row is a tuple of its values in ``TableSpec.columns`` order; a model is built only
for what a caller reads (``model``). Values of low-cardinality columns (vocabularies such
as status and type) and of foreign-key columns are shared with the first equal string seen
(or the parent row's), so a million grants hold one ``"acme-corp"`` and their users' id
strings, not a copy each.

Every unique constraint (the primary key included) is a dict nested by its leading
columns, keyed by its last column: ``{tenant_id: {id: row}}``. Keying the innermost dict by
one string instead of a tuple of the whole key saves the key tuple and makes the dict a
compact all-string one (≈ 40 B an entry instead of ≈ 100 B). A keyset order (``OrderIndex``)
is, per scope (nested the same way), a sorted ``list`` of the order column's values; the
row of a value is found through a unique constraint whose columns are the scope's and the
order column's (every order of ``stores.tables`` has one). A write inserts into that list
(a ``memmove`` of the list's tail: ≈ 1 ms in a scope of a million rows); a load builds
every list with one sort.

Python compares strings by code point, which is the order of PostgreSQL's
``COLLATE "C"`` on UTF-8, so pages come out in the same order on both backends.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from itertools import groupby
from operator import itemgetter
from typing import Any, Literal, get_origin

from stores.models import Record
from stores.query import Before, Condition, Eq, IsNull, Prefix, prefix_upper_bound
from stores.tables import OrderIndex, TableSpec, Unique

Key = tuple[str, ...]
Row = tuple[Any, ...]
Nested = dict[Any, Any]


def json_copy(value: Any) -> Any:
    """A JSON value with its own containers (stored rows never share a mutable one with a caller)."""
    if isinstance(value, dict):
        return {key: json_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_copy(item) for item in value]
    if isinstance(value, tuple):
        return tuple(json_copy(item) for item in value)
    return value


def _vocabulary(spec: TableSpec, column: str) -> bool:
    """A column whose values come from a small set (a ``Literal``), worth sharing."""
    annotation = spec.model.model_fields[column].annotation
    return get_origin(annotation) is Literal


def _getter(positions: tuple[int, ...]) -> Callable[[Row], tuple]:
    if len(positions) == 1:
        only = positions[0]
        return lambda row: (row[only],)
    return itemgetter(*positions)


def _find(root: Nested, path: Iterable[Any]) -> Any:
    """The innermost container under ``path``, or None."""
    node: Any = root
    for value in path:
        node = node.get(value)
        if node is None:
            return None
    return node


def _make(root: Nested, path: tuple, leaf: Callable[[], Any]) -> Any:
    node = root
    last = len(path) - 1
    for depth, value in enumerate(path):
        child = node.get(value)
        if child is None:
            child = node[value] = leaf() if depth == last else {}
        node = child
    return node


def _prune(root: Nested, path: tuple) -> None:
    """Drop the empty containers along ``path`` (a scope whose last row went)."""
    nodes = [root]
    for value in path:
        nodes.append(nodes[-1][value])
    for depth in range(len(path), 0, -1):
        if nodes[depth]:
            return
        del nodes[depth - 1][path[depth - 1]]


def _leaves(node: Any, depth: int) -> Iterator[Any]:
    if depth == 0:
        yield node
        return
    for child in node.values():
        yield from _leaves(child, depth - 1)


def _grouped(rows: list[Row], positions: tuple[int, ...]) -> Iterator[tuple[tuple, list[Row]]]:
    """``rows`` by the values at ``positions``, each group once. Rows arrive in runs
    (grouped by tenant, app…): a long run costs one C loop, not a Python step per row."""
    if not positions:
        yield (), rows
        return
    groups: dict[tuple, list[Row]] = {}
    for values, run in groupby(rows, _getter(positions)):
        known = groups.get(values)
        if known is None:
            groups[values] = list(run)
        else:
            known.extend(run)
    yield from groups.items()


class UniqueIndex:
    """One unique constraint: rows nested by ``columns[:-1]``, keyed by ``columns[-1]``."""

    def __init__(self, table: MemoryTable, unique: Unique) -> None:
        self.unique = unique
        positions = tuple(table.position[c] for c in unique.columns)
        self.path_positions, self.last = positions[:-1], positions[-1]
        self.path = _getter(self.path_positions) if self.path_positions else (lambda row: ())
        self.root: Nested = {}

    def get(self, values: tuple) -> Row | None:
        leaf = _find(self.root, values[:-1])
        return None if leaf is None else leaf.get(values[-1])

    def owner(self, row: Row) -> Row | None:
        leaf = _find(self.root, self.path(row))
        return None if leaf is None else leaf.get(row[self.last])

    def put(self, row: Row) -> bool:
        """Index ``row``; False when its key was not there before."""
        leaf = _make(self.root, self.path(row), dict)
        value = row[self.last]
        known = value in leaf
        leaf[value] = row
        return known

    def drop(self, row: Row) -> bool:
        path = self.path(row)
        leaf = _find(self.root, path)
        if leaf is None or leaf.pop(row[self.last], None) is None:
            return False
        if not leaf:
            _prune(self.root, path)
        return True

    def rows(self) -> Iterator[Row]:
        for leaf in _leaves(self.root, len(self.path_positions)):
            yield from leaf.values()

    def build(self, rows: list[Row]) -> bool:
        """The index of ``rows`` in one go; False (index unusable) when two rows share a key."""
        root: Nested = {}
        last = itemgetter(self.last)
        count = 0
        for path, run in _grouped(rows, self.path_positions):
            leaf = _make(root, path, dict) if path else root
            leaf.update(zip(map(last, run), run))
            count += len(leaf)
        self.root = root
        return count == len(rows)


class OrderList:
    """One keyset order: per scope (nested by the scope's columns) the sorted order values."""

    def __init__(self, table: MemoryTable, index: OrderIndex) -> None:
        self.index = index
        self.scope_positions = tuple(table.position[c] for c in index.scope)
        self.column = table.position[index.column]
        self.scope = _getter(self.scope_positions) if self.scope_positions else (lambda row: ())
        self.root: Nested | list = [] if not index.scope else {}
        self.lookup = self._lookup(table)

    def _lookup(self, table: MemoryTable) -> Callable[[tuple, Any], Row | None]:
        """``(scope values, order value) -> row`` through a unique constraint covering them."""
        names = (*self.index.scope, self.index.column)
        for unique in table.spec.all_uniques():
            if self.index.column in unique.columns and set(unique.columns) <= set(names):
                get = table.uniques[unique.constraint].get
                pick = _getter(tuple(names.index(c) for c in unique.columns))
                return lambda scope, value: get(pick((*scope, value)))
        raise ValueError(f"{table.spec.name}: no unique constraint covers the order {self.index}")

    def values(self, scope: tuple) -> list:
        if not scope:
            return self.root  # type: ignore[return-value]
        found = _find(self.root, scope)  # type: ignore[arg-type]
        return found if found is not None else []

    def put(self, row: Row) -> None:
        scope = self.scope(row)
        target = self.root if not scope else _make(self.root, scope, list)  # type: ignore[arg-type]
        insort(target, row[self.column])  # type: ignore[arg-type]

    def drop(self, row: Row) -> None:
        scope = self.scope(row)
        values = self.values(scope)
        value = row[self.column]
        at = bisect_left(values, value)
        if at < len(values) and values[at] == value:
            del values[at]
            if scope and not values:
                _prune(self.root, scope)  # type: ignore[arg-type]

    def clear(self) -> None:
        self.root = [] if not self.scope_positions else {}

    def build(self, rows: list[Row]) -> None:
        column = itemgetter(self.column)
        if not self.scope_positions:
            self.root = sorted(map(column, rows))
            return
        root: Nested = {}
        for scope, run in _grouped(rows, self.scope_positions):
            _make(root, scope, list).extend(sorted(map(column, run)))
        self.root = root


class ProbeOrder(OrderList):
    """An order answered by a unique constraint's nested dicts instead of lists of its own:
    the order column is a middle column of the constraint (``app_id`` of the grants' key
    ``tenant_id, app_id, user_id``, ordered within a user). Its values in a scope are the
    keys of one level of that constraint's dicts that hold a row for the scope, tried in
    sorted order: a walk costs one lookup per app of the tenant, and the table keeps no
    list per user (≈ 70 B a grant at a million users)."""

    def __init__(self, table: MemoryTable, index: OrderIndex, unique: Unique) -> None:
        super().__init__(table, index)
        depth = unique.columns.index(index.column)
        self.unique = table.uniques[unique.constraint]
        self.prefix = tuple(index.scope.index(c) for c in unique.columns[:depth])

    def values(self, scope: tuple) -> list:
        level = _find(self.unique.root, tuple(scope[i] for i in self.prefix))
        if not level:
            return []
        lookup = self.lookup
        return [value for value in sorted(level) if lookup(scope, value) is not None]

    def put(self, row: Row) -> None:
        return None

    def drop(self, row: Row) -> None:
        return None

    def clear(self) -> None:
        return None

    def build(self, rows: list[Row]) -> None:
        return None


def _order(table: MemoryTable, index: OrderIndex) -> OrderList:
    """A list order, or a probe of the key's dicts where the order column is a middle column
    of a unique constraint made of exactly the scope and that column."""
    wanted = {*index.scope, index.column}
    for unique in table.spec.all_uniques():
        if set(unique.columns) == wanted and index.column in unique.columns[:-1]:
            return ProbeOrder(table, index, unique)
    return OrderList(table, index)


class RowsView(MutableMapping):
    """The table's rows by primary key, as models (built when read). Writing through it
    (``rows[key] = model``) sets the primary key only, going around every other index and
    check: tests use it to plant a row no store would write."""

    def __init__(self, table: MemoryTable) -> None:
        self.table = table

    def __getitem__(self, key: Key) -> Record:
        row = self.table.get(key)
        if row is None:
            raise KeyError(key)
        return self.table.model(row)

    def __setitem__(self, key: Key, model: Record) -> None:
        table = self.table
        if not table.primary.put(table.row_of(model)):
            table.size += 1
        table.changed()

    def __delitem__(self, key: Key) -> None:
        row = self.table.get(key)
        if row is None:
            raise KeyError(key)
        self.table.discard(row)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, tuple) and self.table.get(key) is not None

    def __iter__(self) -> Iterator[Key]:
        key = self.table.key
        return (key(row) for row in self.table.all_rows())

    def __len__(self) -> int:
        return self.table.size


class MemoryTable:
    """Rows plus the indexes every lookup of the contract needs (see the module docstring)."""

    def __init__(self, spec: TableSpec) -> None:
        self.spec = spec
        self.columns = spec.columns
        self.position = {column: i for i, column in enumerate(spec.columns)}
        self.key = _getter(tuple(self.position[c] for c in spec.key_columns))
        self.json = tuple(self.position[c] for c in spec.columns if c in spec.json_columns)
        scopes = {c for fk in spec.foreign_keys for c in fk.columns[:-1]}
        self.shared = {self.position[c]: {} for c in spec.columns if _vocabulary(spec, c) or c in scopes}
        """Vocabulary columns and the leading columns of foreign keys (a grant's tenant_id):
        position -> the one string kept of each value."""
        self.same_time = ((self.position[spec.created_column], self.position[spec.touch_column])
                          if spec.created_column in self.position and spec.touch_column in self.position else None)
        """(created, updated) positions: a row never updated holds one timestamp object for both."""
        self.uniques = {u.constraint: UniqueIndex(self, u) for u in spec.all_uniques()}
        self.primary = self.uniques[spec.primary.constraint]
        self.orders = {index: _order(self, index) for index in spec.orders}
        self.size = 0
        self.rows = RowsView(self)
        self.version = 0
        """Grows with every change of the rows (a snapshot knows whether the table moved since)."""
        self._digest: int | None = None
        """XOR of the row hashes once asked for (``digest``), kept up to date by every write after."""

    # -- the digest (stores.transfer.digest), kept as rows come and go ---------------------------
    def digest(self) -> tuple[int, int]:
        """Rows and the XOR of their hashes: computed over the stored tuples the first time,
        then kept by ``add``/``discard`` (one row hash a write), so verifying an unchanged
        table again costs nothing."""
        if self._digest is None:
            from stores.transfer.digest import encoder_for, fold

            self._digest = fold(encoder_for(self.spec.name).hashes(self.all_rows()))
        return self.size, self._digest

    def _rehash(self, row: Row) -> None:
        if self._digest is not None:
            from stores.transfer.digest import encoder_for

            self._digest ^= int.from_bytes(encoder_for(self.spec.name).hashes((row,))[0], "big")

    def changed(self) -> None:
        """Rows were changed around ``add``/``discard``: the kept digest no longer holds."""
        self.version += 1
        self._digest = None

    # -- rows and models ----------------------------------------------------------------------
    def row_of(self, model: Record, json_owned: bool = False) -> Row:
        """A model as a stored row: its own JSON containers (unless the caller hands them
        over), vocabulary strings shared."""
        values = model.__dict__
        row = [values[column] if column in values else getattr(model, column) for column in self.columns]
        if not json_owned:
            for i in self.json:
                if row[i] is not None:
                    row[i] = json_copy(row[i])
        for i, known in self.shared.items():
            value = row[i]
            if isinstance(value, str):
                row[i] = known.setdefault(value, value)
        return tuple(row)

    def model(self, row: Row) -> Record:
        """A fresh model of a stored row (its JSON values copied: the caller may change them)."""
        values = dict(zip(self.columns, row))
        for i in self.json:
            if row[i] is not None:
                name = self.columns[i]
                values[name] = json_copy(values[name])
        return self.spec.model.from_row(values)

    def value(self, row: Row, column: str) -> Any:
        return row[self.position[column]]

    def values(self, row: Row, columns: tuple[str, ...]) -> tuple:
        position = self.position
        return tuple(row[position[c]] for c in columns)

    def with_changes(self, row: Row, changes: dict[str, Any]) -> Row:
        """``row`` with some columns replaced (their JSON copied, vocabularies shared)."""
        updated = list(row)
        for column, value in changes.items():
            i = self.position[column]
            if i in self.json and value is not None:
                value = json_copy(value)
            elif i in self.shared and isinstance(value, str):
                value = self.shared[i].setdefault(value, value)
            updated[i] = value
        return tuple(updated)

    def share(self, rows: list[Row]) -> list[Row]:
        """``rows`` with their vocabulary strings replaced by the table's one copy each."""
        if not self.shared:
            return rows
        shared = list(self.shared.items())

        def one(row: Row) -> Row:
            values = list(row)
            for i, known in shared:
                value = values[i]
                if isinstance(value, str):
                    values[i] = known.setdefault(value, value)
            return tuple(values)

        return list(map(one, rows))

    # -- lookups ------------------------------------------------------------------------------
    def get(self, key: tuple) -> Row | None:
        return self.primary.get(key)

    def all_rows(self) -> Iterator[Row]:
        return self.primary.rows()

    def clash(self, row: Row, unique: Unique) -> bool:
        """Would ``row`` break ``unique`` (ignoring the row itself on update)?"""
        owner = self.uniques[unique.constraint].owner(row)
        if unique is self.spec.primary:
            return owner is not None
        return owner is not None and self.key(owner) != self.key(row)

    # -- writes -------------------------------------------------------------------------------
    def add(self, row: Row | Record) -> None:
        """Index a row (a model is turned into one); no checks (``MemoryEngine._check`` does them)."""
        if isinstance(row, Record):
            row = self.row_of(row)
        self.version += 1
        if self.primary.put(row):
            self._digest = None  # replaced a row it does not know the hash of (only around the stores)
        else:
            self.size += 1
            self._rehash(row)
        for unique in self.uniques.values():
            if unique is not self.primary:
                unique.put(row)
        for order in self.orders.values():
            order.put(row)

    def discard(self, row: Row) -> None:
        self.version += 1
        if self.primary.drop(row):
            self.size -= 1
            self._rehash(row)
        for unique in self.uniques.values():
            if unique is not self.primary:
                unique.drop(row)
        for order in self.orders.values():
            order.drop(row)

    def install(self, rows: list[Row]) -> bool:
        """Build every index from ``rows`` at once (an empty table); False, and the table
        left empty, when a unique constraint is broken somewhere."""
        for unique in self.uniques.values():
            if not unique.build(rows):
                self.clear()
                return False
        for order in self.orders.values():
            order.build(rows)
        self.size = len(rows)
        self.changed()
        return True

    def clear(self) -> None:
        for unique in self.uniques.values():
            unique.root = {}
        for order in self.orders.values():
            order.clear()
        self.size = 0
        self.changed()

    # -- walks --------------------------------------------------------------------------------
    def index_for(self, order: str, scope: tuple[str, ...]) -> OrderIndex:
        return self.spec.order(order, scope)

    def matches(self, row: Row, conditions: tuple[Condition, ...]) -> bool:
        position = self.position
        for condition in conditions:
            value = row[position[condition.column]]
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

    def walk(self, index: OrderIndex, scope_values: tuple, after: str | None = None,
             span: tuple[str, str | None] | None = None, reverse: bool = False) -> Iterator[Row]:
        """Rows of one scope in index order, strictly after ``after``; with ``span`` (a range
        of the order column, ``Prefix.span``) start at its low end and stop at its high end
        instead of scanning the scope (a folded prefix's own test is the caller's
        ``matches``). ``reverse`` walks backwards from the end of the scope (or strictly
        before ``after``)."""
        order = self.orders[index]
        values = order.values(scope_values)
        lookup = order.lookup
        low, high = span if span is not None else (None, None)
        if reverse:
            end = len(values) if high is None else bisect_left(values, high)
            if after is not None:
                end = min(end, bisect_left(values, after))
            for at in range(end - 1, -1, -1):
                value = values[at]
                if low is not None and value < low:
                    return
                yield lookup(scope_values, value)  # type: ignore[misc]
            return
        start = 0 if after is None else bisect_right(values, after)
        if low is not None and (after is None or low > after):
            start = bisect_left(values, low)
        for at in range(start, len(values)):
            value = values[at]
            if high is not None and value >= high:
                return
            yield lookup(scope_values, value)  # type: ignore[misc]

    def range_size(self, index: OrderIndex, scope_values: tuple, prefix: str | None = None) -> int:
        """Rows in a scope (whose order column starts with ``prefix``) without visiting them:
        two bisections of the scope's sorted values."""
        values = self.orders[index].values(scope_values)
        if prefix is None:
            return len(values)
        bound = prefix_upper_bound(prefix)
        upper = len(values) if bound is None else bisect_left(values, bound)
        return upper - bisect_left(values, prefix)
