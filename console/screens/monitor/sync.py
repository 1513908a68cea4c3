"""Updating a DataTable cell by cell, keyed by row id, keeping the cursor on the same row and the sort."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from console.screens.monitor.cells import Cell


def selected_key(table: DataTable) -> str | None:
    if not table.row_count:
        return None
    try:
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
    except Exception:  # the cursor is outside the rows
        return None


def sync_table(table: DataTable, rows: Sequence[tuple[str, Sequence[Cell]]], sort_column: str,
               descending: bool = True, *, resort: bool = False) -> bool:
    """Make ``table`` show ``rows`` (id, cells in column order): changed cells are updated in
    place, new rows added, gone rows removed, the rows sorted by ``sort_column`` again only
    when something changed (or ``resort``: the sort itself changed), and the cursor put back
    on the row it was on.
    Returns whether anything changed."""
    keep = selected_key(table)
    columns = list(table.columns.keys())
    current: dict[str, RowKey] = {key.value: key for key in table.rows if key.value is not None}
    wanted = {row_id for row_id, _ in rows}
    changed = False
    for row_id in [row_id for row_id in current if row_id not in wanted]:
        table.remove_row(current.pop(row_id))
        changed = True
    for row_id, cells in rows:
        if row_id in current:
            for column, before, after in zip(columns, table.get_row(row_id), cells):
                if before != after:
                    table.update_cell(row_id, column, after)
                    changed = True
        else:
            table.add_row(*cells, key=row_id)
            changed = True
    if changed or resort:
        table.sort(sort_column, key=lambda cell: cell.key(descending), reverse=descending)
    if keep is not None and keep in wanted:
        index = table.get_row_index(keep)
        if index != table.cursor_row:
            table.move_cursor(row=index, animate=False)
    elif table.row_count and table.cursor_row >= table.row_count:
        table.move_cursor(row=table.row_count - 1, animate=False)
    return changed


def keyed_table(table_id: str, columns: tuple[tuple[str, str, int], ...]) -> DataTable[Any]:
    """A row-cursor table with its keyed columns (every table of this screen)."""
    table: DataTable[Any] = DataTable(id=table_id, cursor_type="row", zebra_stripes=True)
    for key, label, width in columns:
        table.add_column(label, width=width, key=key)
    return table
