"""What the pooling modules share: the built-in form's outcome tables, number checks on
stored values, and types."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from extraction import schema

Kind = Literal["continuous", "dichotomous"]
Basis = Literal["injury", "prp"]
MultiArm = Literal["split", "combine"]

CONTINUOUS_TABLES: dict[str, tuple[str, str]] = {
    # table -> (outcome column, compartment column or "")
    "cytokines.measurements": ("analyte", "compartment"),
    "outcomes.results": ("measure", ""),
}
DICHOTOMOUS_TABLES: dict[str, tuple[str, str]] = {"safety.events": ("outcome", "")}

# Summary figures beyond these cannot come from a measurement; old data may still hold them.
LARGEST = schema.LARGEST_NUMBER
SMALLEST = schema.SMALLEST_NUMBER


def whole(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return None
    return int(value) if abs(value) <= LARGEST else None


def finite(value: Any) -> float | None:
    if isinstance(value, Mapping):
        value = value.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    if not math.isfinite(number) or abs(number) > LARGEST or 0 < abs(number) < SMALLEST:
        return None
    return number


def table_rows(value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        return []
    return [row for row in value if isinstance(row, Mapping)]


def days_text(days: float) -> str:
    return f"{days:g}"
