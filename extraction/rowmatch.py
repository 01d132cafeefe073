"""Pairing the rows of two tables that list the same things, possibly in another order.

Two extractors enter a paper's results table by table, rarely in the same order: one goes
group by group, the other analyte by analyte. Rows are paired by their key (the cells that
say which row it is, e.g. group × analyte × compartment × day), not by position. Rows whose
key appears more than once on a side (two "other" analytes for one group and day) are paired
among themselves by how many cells they share, so a slip in a key cell never pairs a row with
an unrelated one. Without a key, rows pair by position.

Pure: rows are mappings; how cells agree is passed in, so this module knows nothing of forms.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

type Row = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class RowPair:
    """One row of the comparison: its index in the first table and in the second (None when
    the row is only on one side). `shared` is True when the key of this row is given to more
    than one row on a side, so the pairing among those rows was made by their other cells."""

    a: int | None
    b: int | None
    key: tuple[Hashable, ...] | None = None
    shared: bool = False


def as_rows(value: Any) -> list[Row]:
    """A stored table as its list of rows; anything that is not a row counts as an empty one,
    so that row numbers stay those the extractor saw."""
    if not isinstance(value, list):
        return []
    return [row if isinstance(row, Mapping) else {} for row in value]


def normalised(value: Any) -> Hashable:
    """A cell as a key part: text without case or spacing differences, 14 and 14.0 alike,
    a number with its unit, a set of choices in any order; empty is None."""
    if value is None:
        return None
    if isinstance(value, str):
        text = " ".join(value.split()).casefold()
        return text or None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, Mapping):
        number = normalised(value.get("value"))
        return None if number is None else (number, normalised(value.get("unit")))
    if isinstance(value, list | tuple):
        items = sorted(str(normalised(item)) for item in value if item is not None)
        return tuple(items) or None
    return str(value)


def key_of(row: Row, key_columns: Sequence[str]) -> tuple[Hashable, ...]:
    return tuple(normalised(row.get(column)) for column in key_columns)


def match_rows(
    rows_a: Sequence[Row],
    rows_b: Sequence[Row],
    key_columns: Sequence[str],
    *,
    similarity: Callable[[Row, Row], int],
) -> list[RowPair]:
    """Pairs in the first table's order; each key's rows found only in the second table come
    right after that key's pairs, and keys the first table lacks come last, in the second
    table's order. Every row of both tables is in exactly one pair."""
    if not key_columns:
        return [
            RowPair(index if index < len(rows_a) else None, index if index < len(rows_b) else None)
            for index in range(max(len(rows_a), len(rows_b)))
        ]
    groups_a = _by_key(rows_a, key_columns)
    groups_b = _by_key(rows_b, key_columns)
    pairs: list[RowPair] = []
    for key, indices_a in groups_a.items():
        indices_b = groups_b.get(key, [])
        shared = len(indices_a) > 1 or len(indices_b) > 1
        matched = _pair_within(indices_a, indices_b, rows_a, rows_b, similarity)
        for index in indices_a:
            pairs.append(RowPair(index, matched.get(index), key, shared))
        taken = set(matched.values())
        pairs.extend(RowPair(None, index, key, shared) for index in indices_b if index not in taken)
    for key, indices_b in groups_b.items():
        if key not in groups_a:
            pairs.extend(RowPair(None, index, key, len(indices_b) > 1) for index in indices_b)
    return pairs


def _by_key(rows: Sequence[Row], key_columns: Sequence[str]) -> dict[tuple, list[int]]:
    groups: dict[tuple, list[int]] = {}
    for index, row in enumerate(rows):
        groups.setdefault(key_of(row, key_columns), []).append(index)
    return groups


def _pair_within(
    indices_a: list[int],
    indices_b: list[int],
    rows_a: Sequence[Row],
    rows_b: Sequence[Row],
    similarity: Callable[[Row, Row], int],
) -> dict[int, int]:
    """Rows sharing one key, paired most alike first (ties in order of entry)."""
    if len(indices_a) == 1 and len(indices_b) == 1:
        return {indices_a[0]: indices_b[0]}
    scored = sorted(
        (
            (-similarity(rows_a[i], rows_b[j]), abs(pos_a - pos_b), pos_a, pos_b)
            for pos_a, i in enumerate(indices_a)
            for pos_b, j in enumerate(indices_b)
        )
    )
    matched: dict[int, int] = {}
    used_b: set[int] = set()
    for _, _, pos_a, pos_b in scored:
        i, j = indices_a[pos_a], indices_b[pos_b]
        if i in matched or j in used_b:
            continue
        matched[i] = j
        used_b.add(j)
    return matched
