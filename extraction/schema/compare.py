"""Two extractions side by side: which values agree, table rows paired by their key, and a
value as the comparison and the exports show it."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from extraction import rowmatch
from extraction.schema._common import _as_text, _format_number, _is_empty, _is_number, _rows
from extraction.schema.definition import (
    CATEGORICAL_TYPES,
    NUMBER_TYPES,
    RELATIVE_TOLERANCE,
    TEXT_TYPES,
    Field,
    Template,
)

# --- Comparing two extractions ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Comparison:
    """Two extractors' values for one field or one table cell. For a cell, `path` is the
    table's path, `column` the column key, `label` the column's label and `row` the 0-based
    place of the row pair in the comparison; `row_a` and `row_b` are the row's index in each
    extraction (None for a row only one of them entered). `row_key` names the row as a person
    reads it ("PRP, IL-6, Serum, 14"), and `shared_key` says that more than one row on a side
    has that key, so those rows were paired by their other cells."""

    path: str
    label: str
    row: int | None
    column: str | None
    a: Any
    b: Any
    agree: bool
    row_a: int | None = None
    row_b: int | None = None
    row_key: str = ""
    shared_key: bool = False

    @property
    def only_in(self) -> str:
        """ "a" or "b" for a row only one extraction has, "" otherwise."""
        if self.row is None or (self.row_a is not None and self.row_b is not None):
            return ""
        return "a" if self.row_a is not None else "b"


def compare_values(
    template: Template, a: Mapping[str, Any], b: Mapping[str, Any]
) -> list[Comparison]:
    """Field-by-field and cell-by-cell comparison in form order: one item per top-level field,
    and for tables one per cell, rows paired by the table's `row_key` (by position for a
    table without one); a row only one side has compares against empty cells."""
    comparisons: list[Comparison] = []
    for field in template.fields():
        value_a, value_b = a.get(field.path), b.get(field.path)
        if field.type != "table":
            agree = values_agree(field, value_a, value_b)
            comparisons.append(
                Comparison(field.path, field.label, None, None, value_a, value_b, agree)
            )
            continue
        rows_a, rows_b = _rows(value_a), _rows(value_b)
        for place, pair in enumerate(pair_rows(field, rows_a, rows_b)):
            row_a = rows_a[pair.a] if pair.a is not None else {}
            row_b = rows_b[pair.b] if pair.b is not None else {}
            named = row_key_text(field, row_a if pair.a is not None else row_b)
            for column in field.columns:
                cell_a, cell_b = row_a.get(column.key), row_b.get(column.key)
                comparisons.append(
                    Comparison(
                        field.path,
                        column.label,
                        place,
                        column.key,
                        cell_a,
                        cell_b,
                        values_agree(column, cell_a, cell_b),
                        pair.a,
                        pair.b,
                        named,
                        pair.shared,
                    )
                )
    return comparisons


def pair_rows(
    table: Field, rows_a: Sequence[Mapping[str, Any]], rows_b: Sequence[Mapping[str, Any]]
) -> list[rowmatch.RowPair]:
    """The rows of two versions of one table, paired by the table's `row_key` (see
    `rowmatch.match_rows`); the comparison, the consensus and "take this answer" all pair
    rows through here, so they always agree on which row is which."""

    def similarity(row_a: Mapping[str, Any], row_b: Mapping[str, Any]) -> int:
        return sum(
            1
            for column in table.columns
            if not _is_empty(row_a.get(column.key))
            and values_agree(column, row_a.get(column.key), row_b.get(column.key))
        )

    return rowmatch.match_rows(rows_a, rows_b, table.row_key, similarity=similarity)


def row_key_text(table: Field, row: Mapping[str, Any]) -> str:
    """A row's key cells as a person reads them, "" for a table without a key."""
    parts = []
    for key in table.row_key:
        shown = display_value(table.column(key), row.get(key))
        parts.append(shown or "—")
    return ", ".join(parts)


def values_agree(field: Field, a: Any, b: Any) -> bool:
    """Whether two stored values say the same thing: both empty agree; numbers agree within a
    relative 1e-9; multiple choices regardless of order; text regardless of spacing."""
    if _is_empty(a) or _is_empty(b):
        return _is_empty(a) and _is_empty(b)
    if field.type == "multiple_choice" and isinstance(a, list) and isinstance(b, list):
        return set(a) == set(b)
    if field.type in NUMBER_TYPES:
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            return a.get("unit") == b.get("unit") and _numbers_agree(a.get("value"), b.get("value"))
        return _numbers_agree(a, b)
    if field.type in TEXT_TYPES and isinstance(a, str) and isinstance(b, str):
        return " ".join(a.split()) == " ".join(b.split())
    return a == b


def _numbers_agree(a: Any, b: Any) -> bool:
    if _is_number(a) and _is_number(b):
        return math.isclose(a, b, rel_tol=RELATIVE_TOLERANCE, abs_tol=0.0)
    return a == b


# --- Showing values --------------------------------------------------------------------------


def display_value(field: Field, value: Any) -> str:
    """A stored value as a person reads it: choice labels, numbers with their unit, "" for
    empty. Used by the comparison page and exports, so both show the same text."""
    if _is_empty(value):
        return ""
    if field.type in ("single_choice", "yes_no_unclear"):
        return field.choice_label(value)
    if field.type == "multiple_choice":
        items = value if isinstance(value, list) else [value]
        return ", ".join(field.choice_label(item) for item in items)
    if field.type in NUMBER_TYPES:
        unit = field.unit
        if isinstance(value, Mapping):
            unit = _as_text(value.get("unit"))
            value = value.get("value")
        text = _format_number(value) if _is_number(value) else str(value)
        if not unit:
            return text
        return f"{text}{unit}" if unit == "%" else f"{text} {unit}"
    if field.type == "table":
        count = len(value) if isinstance(value, list) else 0
        return f"{count} row" if count == 1 else f"{count} rows"
    return str(value)


def is_categorical(field: Field) -> bool:
    """Fields whose agreement is measured with kappa rather than by numeric closeness."""
    return field.type in CATEGORICAL_TYPES
