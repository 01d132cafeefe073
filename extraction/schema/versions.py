"""A template's versions: what changed between two, and which stored values carry over."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from extraction.schema._common import _format_scalar, _is_empty, _quoted
from extraction.schema.compare import display_value
from extraction.schema.definition import (
    CATEGORICAL_TYPES,
    NUMBER_TYPES,
    TEXT_TYPES,
    Condition,
    Field,
    Template,
)
from extraction.schema.values import ValueProblem, _matching_unit, clean_value

# --- Template versions -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between two template versions. `path` is "" for the template itself,
    a section key, a field path, or a column path "section.table.column"."""

    path: str
    kind: str  # "added", "removed" or "changed"
    detail: str


def diff_templates(old: Template, new: Template) -> list[Change]:
    """What a new version changes, one `Change` per difference, so the lead sees what editing
    a template in use will do to extractions. Every field that appears or disappears is listed,
    including those inside an added or removed section or table. Order changes are ignored."""
    changes: list[Change] = []
    if old.name != new.name:
        changes.append(Change("", "changed", f"name '{old.name}' -> '{new.name}'"))
    if old.description != new.description:
        changes.append(Change("", "changed", "description changed"))
    old_sections = {section.key: section for section in old.sections}
    new_sections = {section.key: section for section in new.sections}
    for section in old.sections:
        if section.key not in new_sections:
            changes.append(Change(section.key, "removed", f"section '{section.title}'"))
            changes.extend(_diff_fields(section.fields, ()))
    for section in new.sections:
        before = old_sections.get(section.key)
        if before is None:
            changes.append(Change(section.key, "added", f"section '{section.title}'"))
            changes.extend(_diff_fields((), section.fields))
            continue
        if before.title != section.title:
            changes.append(
                Change(section.key, "changed", f"title '{before.title}' -> '{section.title}'")
            )
        if before.help != section.help:
            changes.append(Change(section.key, "changed", "help text changed"))
        changes.extend(_diff_fields(before.fields, section.fields))
    return changes


def _diff_fields(old_fields: Sequence[Field], new_fields: Sequence[Field]) -> list[Change]:
    changes: list[Change] = []
    old_by_key = {field.key: field for field in old_fields}
    new_keys = {field.key for field in new_fields}
    for field in old_fields:
        if field.key not in new_keys:
            changes.append(Change(field.path, "removed", f"'{field.label}' ({field.type})"))
            changes.extend(_diff_fields(field.columns, ()))
    for field in new_fields:
        before = old_by_key.get(field.key)
        if before is None:
            changes.append(Change(field.path, "added", f"'{field.label}' ({field.type})"))
            changes.extend(_diff_fields((), field.columns))
            continue
        changes.extend(
            Change(field.path, "changed", detail) for detail in _field_details(before, field)
        )
        changes.extend(_diff_fields(before.columns, field.columns))
    return changes


def _field_details(old: Field, new: Field) -> list[str]:
    details: list[str] = []
    if old.type != new.type:
        details.append(f"type {old.type} -> {new.type}")
    if old.label != new.label:
        details.append(f"label '{old.label}' -> '{new.label}'")
    if old.help != new.help:
        details.append("help text changed")
    if old.required != new.required:
        details.append("now required" if new.required else "no longer required")
    if old.required_when != new.required_when:
        if new.required_when is None:
            details.append("no longer conditionally required")
        elif old.required_when is None:
            details.append(f"now required when {_condition_text(new.required_when)}")
        else:
            details.append(
                f"required when {_condition_text(old.required_when)} -> "
                f"{_condition_text(new.required_when)}"
            )
    old_choices, new_choices = dict(old.choices), dict(new.choices)
    added = [label for value, label in new.choices if value not in old_choices]
    removed = [label for value, label in old.choices if value not in new_choices]
    if added:
        details.append(f"choices added: {', '.join(added)}")
    if removed:
        details.append(f"choices removed: {', '.join(removed)}")
    for value, label in new.choices:
        if value in old_choices and old_choices[value] != label:
            details.append(f"choice '{value}' label '{old_choices[value]}' -> '{label}'")
    if old.unit != new.unit:
        details.append(_setting_change("unit", old.unit or None, new.unit or None))
    added_units = [unit for unit in new.units if unit not in old.units]
    removed_units = [unit for unit in old.units if unit not in new.units]
    if added_units:
        details.append(f"units added: {', '.join(added_units)}")
    if removed_units:
        details.append(f"units removed: {', '.join(removed_units)}")
    for name in ("min", "max"):
        before, after = getattr(old, name), getattr(new, name)
        if before != after:
            details.append(_setting_change(name, before, after))
    if old.row_key != new.row_key:
        details.append(f"rows matched by {', '.join(new.row_key) or 'position'}")
    if old.positive != new.positive:
        details.append(
            "now must be greater than 0" if new.positive else "no longer must be greater than 0"
        )
    return details


def _setting_change(name: str, before: Any, after: Any) -> str:
    if before is None:
        return f"{name} set to {_format_scalar(after)}"
    if after is None:
        return f"{name} removed (was {_format_scalar(before)})"
    return f"{name} {_format_scalar(before)} -> {_format_scalar(after)}"


def _condition_text(condition: Condition) -> str:
    return f"{condition.field} is {_quoted(condition.values)}"


def values_retained(
    old: Template, new: Template, values: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Carry an extraction's values from one template version to the next: (kept, set aside).

    Nothing entered is ever dropped: what the new version can hold is kept, cleaned as the new
    version stores it; everything else is set aside under its old path for a person to re-enter
    or discard. A value moves across a type change when it cleans under the new type (40 into a
    decimal becomes 40.0, 2.5 into an integer is set aside; a number or a choice into a text
    field becomes its display text). A choice value the new version lacks moves to the choice
    with the same label, so renaming a value keeps answers; a removed choice is set aside. A
    number is set aside when its fixed unit changed, since the number would now mean something
    else. For tables, kept rows stay at their indices and the set-aside entry is a list of the
    same length, each item a dict of that row's cells that could not move.
    """
    kept: dict[str, Any] = {}
    set_aside: dict[str, Any] = {}
    for path, value in values.items():
        if _is_empty(value):
            continue
        target = _top_level_field(new, path)
        if target is None:
            set_aside[path] = value
            continue
        source = _top_level_field(old, path)
        try:
            if target.type == "table":
                rows, lost_rows = _carry_table(source, target, value)
                if any(rows):
                    kept[path] = rows
                if any(lost_rows):
                    set_aside[path] = lost_rows
            else:
                carried = _carry(source, target, value)
                if carried is not None:
                    kept[path] = carried
        except ValueProblem:
            set_aside[path] = value
    return kept, set_aside


def _top_level_field(template: Template, path: str) -> Field | None:
    field = template._by_path.get(path)
    return field if field is not None and path.count(".") == 1 else None


def _carry_table(
    old: Field | None, new: Field, value: Any
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    if (old is not None and old.type != "table") or not isinstance(value, list):
        raise ValueProblem(f"{new.label} was not a table.", "bad_table")
    if not all(isinstance(row, Mapping) for row in value):
        raise ValueProblem(f"{new.label} holds something that is not a row.", "bad_table")
    old_columns = {column.key: column for column in old.columns} if old else {}
    rows: list[dict[str, Any]] = []
    lost_rows: list[dict[str, Any]] = []
    for row in value:
        kept_row: dict[str, Any] = {}
        lost_row: dict[str, Any] = {}
        for key, cell in row.items():
            if _is_empty(cell):
                continue
            try:
                column = new.column(key)
                carried = _carry(old_columns.get(key), column, cell)
            except (KeyError, ValueProblem):
                lost_row[key] = cell
                continue
            if carried is not None:
                kept_row[key] = carried
        rows.append(kept_row)
        lost_rows.append(lost_row)
    return rows, lost_rows


def _carry(old: Field | None, new: Field, value: Any) -> Any:
    """A stored value of `old` as `new` stores it; raises ValueProblem when it cannot be."""
    if old is not None and old.type == "table":
        raise ValueProblem(f"{new.label} is no longer a table.", "bad_table")
    if new.type in TEXT_TYPES and old is not None and not isinstance(value, str):
        return clean_value(new, display_value(old, value))
    if new.type in CATEGORICAL_TYPES:
        return clean_value(new, _carry_choices(old, new, value))
    if new.type in NUMBER_TYPES and old is not None and old.type in NUMBER_TYPES:
        return clean_value(new, _carry_number(old, new, value))
    return clean_value(new, value)


def _carry_choices(old: Field | None, new: Field, value: Any) -> Any:
    offered = [option for option, _ in new.options]

    def match(item: Any) -> Any:
        if not isinstance(item, str) or item in offered:
            return item
        wanted = {item.casefold(), (old.choice_label(item) if old else item).casefold()}
        for option, label in new.options:
            if option.casefold() in wanted or label.casefold() in wanted:
                return option
        return item

    if new.type == "multiple_choice":
        items = value if isinstance(value, list) else [value]
        return [match(item) for item in items]
    if isinstance(value, list):
        if len(value) != 1:
            raise ValueProblem(f"{new.label} now takes a single choice.", "unknown_choice")
        value = value[0]
    return match(value)


def _carry_number(old: Field, new: Field, value: Any) -> Any:
    if isinstance(value, Mapping):
        return value  # clean_value accepts the unit only if the new field offers it
    if new.units:
        if old.unit and _matching_unit(old.unit, new.units):
            return {"value": value, "unit": old.unit}
        raise ValueProblem(f"Choose a unit for {new.label}.", "unit_missing")
    if old.unit and new.unit and _matching_unit(old.unit, (new.unit,)) is None:
        raise ValueProblem(
            f"{new.label} is now recorded in {new.unit}, not {old.unit}.", "unknown_unit"
        )
    return value
