"""The values extractors enter: what a browser posts, cleaned into stored values or refused with
a message; figures that are possible but implausible; what a template still requires."""

from __future__ import annotations

import datetime as dt
import decimal
import math
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from extraction.schema._common import (
    Number,
    _as_text,
    _format_number,
    _format_scalar,
    _is_empty,
    _is_number,
    _quoted,
    _row_has_values,
    _rows,
)
from extraction.schema.definition import (
    _COMMA_NUMBER_PATTERN,
    _DATE_PATTERN,
    _INTEGER_PATTERN,
    _NUMBER_PATTERN,
    LARGEST_NUMBER,
    SHORT_TEXT_MAX,
    SMALLEST_NUMBER,
    Condition,
    Field,
    Template,
)

# --- Cleaning what a browser posts -----------------------------------------------------------


class ValueProblem(ValueError):
    """A value an extractor must correct. `message` is shown beside the field; `code` lets
    code and tests tell problems apart: not_text, too_long, not_a_number, not_whole,
    not_positive, absurd, below_min, above_max, unit_missing, unknown_unit, unknown_choice,
    bad_date, bad_table."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def clean_value(field: Field, raw: Any) -> Any:
    """Turn what a form posts into the stored value (see the module docstring), or None for
    empty; raises `ValueProblem`.

    `raw` is a string for most fields, a list of strings for a multiple choice, and a mapping
    {"value": ..., "unit": ...} for a decimal with units. Numbers, booleans and dates are
    accepted too, so stored values (from JSON or a restore) clean to themselves. `min`, `max`
    and `positive` apply to the number whichever unit is chosen. Requiredness is
    not checked here: autosave must accept a half-filled form; `missing_required` checks it.
    """
    if raw is None:
        return None
    return _CLEANERS[field.type](field, raw)


def clean_row(
    table: Field, raw_row: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, ValueProblem]]:
    """Clean every column present in a posted row: the cleaned row holds the valid, non-empty
    cells; problems are keyed by column. Keys that are not columns are ignored."""
    if table.type != "table":
        raise ValueError(f"{table.path} is a {table.type} field, not a table")
    cleaned: dict[str, Any] = {}
    problems: dict[str, ValueProblem] = {}
    for column in table.columns:
        if column.key not in raw_row:
            continue
        try:
            value = clean_value(column, raw_row[column.key])
        except ValueProblem as problem:
            problems[column.key] = problem
            continue
        if value is not None:
            cleaned[column.key] = value
    return cleaned, problems


def _clean_text(field: Field, raw: Any) -> str | None:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise ValueProblem(f"{field.label} must be text.", "not_text")
    text = raw if isinstance(raw, str) else _format_number(raw)
    if field.type == "short_text":
        text = " ".join(text.split())
        if len(text) > SHORT_TEXT_MAX:
            raise ValueProblem(
                f"{field.label} is {len(text)} characters long; shorten it to "
                f"{SHORT_TEXT_MAX} at most.",
                "too_long",
            )
    else:
        # Browsers post CRLF; JSON restores bring LF. Both must read as the same text.
        text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    return text or None


def _clean_number(field: Field, raw: Any) -> Number | dict[str, Any] | None:
    unit = ""
    if isinstance(raw, Mapping):
        unit = _as_text(raw.get("unit"))
        raw = raw.get("value")
    number = _parse_integer(raw) if field.type == "integer" else _parse_decimal(raw)
    if number is None:
        return None
    if field.units:
        if not unit:
            raise ValueProblem(f"Choose a unit for {field.label}.", "unit_missing")
        offered = _matching_unit(unit, field.units)
        if offered is None:
            raise ValueProblem(
                f"'{unit}' is not a unit offered for {field.label} "
                f"(choose {', '.join(field.units)}).",
                "unknown_unit",
            )
        _check_range(field, number)
        return {"value": number, "unit": offered}
    if unit and _matching_unit(unit, (field.unit,)) is None:
        expected = f"is recorded in {field.unit}" if field.unit else "takes no unit"
        raise ValueProblem(f"{field.label} {expected}, not '{unit}'.", "unknown_unit")
    _check_range(field, number)
    return number


def _check_magnitude(number: Number) -> Number:
    if abs(number) > LARGEST_NUMBER or 0 < abs(number) < SMALLEST_NUMBER:
        raise ValueProblem(
            f"{_format_number(number)} is not a plausible value: enter a number between "
            "10⁻¹² and 10¹² in size (or 0).",
            "absurd",
        )
    return number


def _parse_integer(raw: Any) -> int | None:
    number = _parse_whole(raw)
    return None if number is None else _check_magnitude(number)


def _parse_whole(raw: Any) -> int | None:
    if isinstance(raw, bool):
        raise ValueProblem(f"Enter a whole number, not '{raw}'.", "not_a_number")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float | decimal.Decimal):
        if not math.isfinite(raw):
            raise ValueProblem(f"Enter a whole number, not '{raw}'.", "not_a_number")
        if raw != int(raw):
            raise ValueProblem(f"Enter a whole number, not '{_format_number(raw)}'.", "not_whole")
        return int(raw)
    if not isinstance(raw, str):
        raise ValueProblem("Enter a whole number.", "not_a_number")
    text = raw.strip()
    if not text:
        return None
    if _INTEGER_PATTERN.fullmatch(text):
        try:
            return int(text)
        except ValueError:  # beyond Python's digit limit for int()
            raise ValueProblem("Enter a smaller whole number.", "not_a_number") from None
    if _NUMBER_PATTERN.fullmatch(text):
        number = float(text)
        if math.isfinite(number) and number.is_integer():
            return int(number)
        code = "not_whole" if math.isfinite(number) else "not_a_number"
        raise ValueProblem(f"Enter a whole number, not '{text}'.", code)
    raise ValueProblem(f"Enter a whole number, not '{text}'.", "not_a_number")


def _parse_decimal(raw: Any) -> float | None:
    if isinstance(raw, bool):
        raise ValueProblem(f"Enter a number, not '{raw}'.", "not_a_number")
    if isinstance(raw, int | float | decimal.Decimal):
        number = float(raw)
    elif isinstance(raw, str):
        text = raw.strip()
        if not text:
            return None
        if not _NUMBER_PATTERN.fullmatch(text):
            if _COMMA_NUMBER_PATTERN.fullmatch(text):
                raise ValueProblem(
                    f"Enter a number with a point for decimals and no thousands separator, "
                    f"not '{text}'.",
                    "not_a_number",
                )
            raise ValueProblem(f"Enter a number, not '{text}'.", "not_a_number")
        number = float(text)
    else:
        raise ValueProblem("Enter a number.", "not_a_number")
    if not math.isfinite(number):
        raise ValueProblem("Enter a finite number.", "not_a_number")
    return _check_magnitude(number)


def _check_range(field: Field, number: Number) -> None:
    if field.positive and number <= 0:
        raise ValueProblem(f"{field.label} must be greater than 0.", "not_positive")
    if field.min is not None and number < field.min:
        raise ValueProblem(
            f"{field.label} must be at least {_format_number(field.min)}.", "below_min"
        )
    if field.max is not None and number > field.max:
        raise ValueProblem(
            f"{field.label} must be at most {_format_number(field.max)}.", "above_max"
        )


def _matching_unit(unit: str, offered: Sequence[str]) -> str | None:
    """The offered spelling of a unit. NFKC makes the micro sign and the Greek mu, which look
    identical, the same unit."""
    wanted = unicodedata.normalize("NFKC", unit).strip()
    for option in offered:
        if unicodedata.normalize("NFKC", option) == wanted:
            return option
    return None


def _clean_single_choice(field: Field, raw: Any) -> str | None:
    if field.type == "yes_no_unclear" and isinstance(raw, bool):
        return "yes" if raw else "no"
    if not isinstance(raw, str):
        raise ValueProblem(f"Choose one of the choices for {field.label}.", "unknown_choice")
    value = raw.strip()
    if not value:
        return None
    offered = [option for option, _ in field.options]
    if value in offered:
        return value
    if field.type == "yes_no_unclear" and value.lower() in offered:
        return value.lower()
    raise ValueProblem(f"'{value}' is not one of the choices for {field.label}.", "unknown_choice")


def _clean_multiple_choice(field: Field, raw: Any) -> list[str] | None:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list | tuple | set | frozenset) or not all(
        isinstance(value, str) for value in raw
    ):
        raise ValueProblem(f"Choose from the choices for {field.label}.", "unknown_choice")
    chosen = {value.strip() for value in raw} - {""}
    offered = [option for option, _ in field.options]
    unknown = sorted(chosen.difference(offered))
    if unknown:
        listed = ", ".join(f"'{value}'" for value in unknown)
        verb = "is not one of the" if len(unknown) == 1 else "are not"
        raise ValueProblem(f"{listed} {verb} choices for {field.label}.", "unknown_choice")
    return [option for option in offered if option in chosen] or None


def _clean_date(field: Field, raw: Any) -> str | None:
    if isinstance(raw, dt.datetime):
        raw = raw.date()
    if isinstance(raw, dt.date):
        return raw.isoformat()
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str):
        raise ValueProblem(f"Enter {field.label} as yyyy-mm-dd, yyyy-mm or yyyy.", "bad_date")
    text = raw.strip()
    if not text:
        return None
    match = _DATE_PATTERN.fullmatch(text)
    if match is None:
        raise ValueProblem(
            f"Enter {field.label} as yyyy-mm-dd, yyyy-mm or yyyy, not '{text}'.", "bad_date"
        )
    year_text, month_text, day_text = match.groups()
    year, month = int(year_text), int(month_text or 1)
    if year < 1000 or not 1 <= month <= 12:
        raise ValueProblem(f"'{text}' is not a real date.", "bad_date")
    if day_text:
        try:
            return dt.date(year, month, int(day_text)).isoformat()
        except ValueError:
            raise ValueProblem(f"'{text}' is not a real date.", "bad_date") from None
    return f"{year:04d}-{month:02d}" if month_text else f"{year:04d}"


def _clean_table(field: Field, raw: Any) -> list[dict[str, Any]] | None:
    if isinstance(raw, str | Mapping) or not isinstance(raw, Sequence):
        raise ValueProblem(f"{field.label} must be a list of rows.", "bad_table")
    rows = []
    for index, raw_row in enumerate(raw):
        if not isinstance(raw_row, Mapping):
            raise ValueProblem(f"Row {index + 1} of {field.label} is not a row.", "bad_table")
        row, problems = clean_row(field, raw_row)
        for problem in problems.values():
            raise ValueProblem(f"Row {index + 1}: {problem.message}", problem.code)
        rows.append(row)
    return rows or None


_CLEANERS = {
    "short_text": _clean_text,
    "long_text": _clean_text,
    "integer": _clean_number,
    "decimal": _clean_number,
    "single_choice": _clean_single_choice,
    "yes_no_unclear": _clean_single_choice,
    "multiple_choice": _clean_multiple_choice,
    "date": _clean_date,
    "table": _clean_table,
}


# --- Implausible figures ---------------------------------------------------------------------

IMPLAUSIBLE_N = 1_000_000
"""More participants or animals than this in one group is almost surely a slip."""
SD_TO_MEAN = 10
"""An SD over ten times the mean's size is possible (values near zero) but usually an SE or a
variance typed as an SD, or a misplaced decimal point."""


@dataclass(frozen=True, slots=True)
class FigureWarning:
    """A figure that can be stored but deserves a second look: `column` names the cell."""

    column: str
    message: str


def implausible(row: Mapping[str, Any]) -> list[FigureWarning]:
    """Warnings about one table row's summary statistics: SD more than ten times the mean's
    size, a confidence interval or quartiles in the wrong order, a range that does not contain
    the median, more events than participants, n over a million. Looks only at the columns the
    row has, so it serves any table with these column keys."""

    def number(key: str) -> float | None:
        value = row.get(key)
        if isinstance(value, Mapping):
            value = value.get("value")
        return float(value) if _is_number(value) and math.isfinite(value) else None

    warnings: list[FigureWarning] = []
    n, mean, sd = number("n"), number("mean"), number("sd")
    if n is not None and n > IMPLAUSIBLE_N:
        text = f"n = {_format_number(n)} is more than a million; check it."
        warnings.append(FigureWarning("n", text))
    if sd is not None and mean is not None and sd > SD_TO_MEAN * abs(mean):
        warnings.append(
            FigureWarning(
                "sd",
                f"The SD ({_format_number(sd)}) is more than {SD_TO_MEAN} times the mean "
                f"({_format_number(mean)}): is it an SE, a variance or a misplaced point?",
            )
        )
    pairs = (
        ("ci_lower", "ci_upper", "The CI's lower bound is above its upper bound"),
        ("q1", "q3", "Q1 is above Q3"),
        ("minimum", "maximum", "The minimum is above the maximum"),
    )
    for low_key, high_key, text in pairs:
        low, high = number(low_key), number(high_key)
        if low is not None and high is not None and low > high:
            warnings.append(
                FigureWarning(low_key, f"{text} ({_format_number(low)} > {_format_number(high)}).")
            )
    events = number("events")
    if events is not None and n is not None and events > n:
        warnings.append(
            FigureWarning(
                "events",
                f"More events ({_format_number(events)}) than participants ({_format_number(n)}).",
            )
        )
    return warnings


def table_warnings(
    template: Template, values: Mapping[str, Any]
) -> list[tuple[str, int, FigureWarning]]:
    """Every implausible figure in an extraction's tables: (table path, row index, warning)."""
    found = []
    for field in template.fields():
        if field.type == "table":
            for index, row in enumerate(_rows(values.get(field.path))):
                found.extend((field.path, index, warning) for warning in implausible(row))
    return found


# --- Completeness ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """A required answer that is missing. `row` (0-based) and `column` locate a table cell;
    the message counts rows from 1, as people do."""

    path: str
    row: int | None
    column: str | None
    message: str


def missing_required(template: Template, values: Mapping[str, Any]) -> list[Problem]:
    """What must be filled before an extraction can be marked complete: required fields,
    fields whose `required_when` holds on these values, at least one row in a required table,
    and required cells in every row that exists."""
    problems: list[Problem] = []
    for field in template.fields():
        value = values.get(field.path)
        if field.type == "table":
            rows = _rows(value)
            if not any(_row_has_values(row) for row in rows):
                message = _requirement(template, field, values, None, None)
                if message:
                    problems.append(Problem(field.path, None, None, message))
            for index, row in enumerate(rows):
                for column in field.columns:
                    if not _is_empty(row.get(column.key)):
                        continue
                    message = _requirement(template, column, values, row, field)
                    if message:
                        where = f"{field.label}, row {index + 1}"
                        problems.append(
                            Problem(field.path, index, column.key, f"{where}: {message}")
                        )
        elif _is_empty(value):
            message = _requirement(template, field, values, None, None)
            if message:
                problems.append(Problem(field.path, None, None, message))
    return problems


def _requirement(
    template: Template,
    field: Field,
    values: Mapping[str, Any],
    row: Mapping[str, Any] | None,
    table: Field | None,
) -> str | None:
    """Why an empty field must be filled, or None when it may stay empty."""
    if field.type == "table":
        demand = f"Add at least one row to {field.label}"
    else:
        demand = f"{field.label} is required"
    if field.required:
        return f"{demand}."
    condition = field.required_when
    if condition is None:
        return None
    if condition.is_sibling:
        trigger = row.get(condition.field) if row is not None else None
    else:
        trigger = values.get(condition.field)
    if not condition.holds(trigger):
        return None
    target = _condition_target(template, condition, table)
    if target is None:
        return f"{demand} when {condition.field} is {_quoted(condition.values)}."
    shown = " or ".join(
        target.choice_label(value) if target.options else _format_scalar(value)
        for value in condition.values
    )
    verb = "includes" if target.type == "multiple_choice" else "is"
    joiner = ": it is required when" if field.type == "table" else " when"
    return f"{demand}{joiner} {target.label} {verb} {shown}."


def _condition_target(
    template: Template, condition: Condition, table: Field | None
) -> Field | None:
    if condition.is_sibling:
        if table is None:
            return None
        try:
            return table.column(condition.field)
        except KeyError:
            return None
    return template._by_path.get(condition.field)
