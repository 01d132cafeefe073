"""Small helpers the parts of the schema share."""

from __future__ import annotations

import decimal
import math
from collections.abc import Mapping, Sequence
from typing import Any

type Number = int | float


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple):
        return not value
    if isinstance(value, Mapping):
        return _is_empty(value.get("value"))
    return False


def _rows(value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        return []
    return [row if isinstance(row, Mapping) else {} for row in value]


def _row_has_values(row: Mapping[str, Any]) -> bool:
    return any(not _is_empty(cell) for cell in row.values())


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not (
        isinstance(value, float) and not math.isfinite(value)
    )


def _as_text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _format_number(number: Number | decimal.Decimal) -> str:
    """1500.0 as "1500" and 2.5 as "2.5": what a person typed, not Python's float spelling."""
    if isinstance(number, bool):
        return str(number)
    if isinstance(number, int):
        return str(number)
    number = float(number)
    if number.is_integer() and abs(number) < 1e16:
        return str(int(number))
    return repr(number)


def _format_scalar(value: Any) -> str:
    return _format_number(value) if _is_number(value) else f"'{value}'"


def _quoted(values: Sequence[Any]) -> str:
    return " or ".join(_format_scalar(value) for value in values)
