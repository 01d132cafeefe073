"""Extraction templates: their definitions, the values extractors enter, and how both compare.

A template version stores its definition as JSON and each extraction stores its values as a
JSON dict keyed by field path. The form builder, the autosaving form, the comparison page,
the exports and the statistics all read those two documents, so what they mean is decided
once, here. Nothing in this module knows about Django; it is tested without a database.

Paths: a field is "section_key.field_key"; a table column is "section_key.table_key.column_key",
and a table cell is addressed as (table path, row index, column key).

Stored values, as `clean_value` returns them and as `values` holds them:

- short_text, long_text: the text, stripped. Short text is one line (runs of whitespace,
  including line breaks pasted from a PDF, become one space); long text keeps its line breaks.
- integer: an int.
- decimal: a float. With a `units` list the extractor picks the unit, so the value is
  {"value": float, "unit": str}; with a fixed `unit`, or no unit, it is a plain float, because
  the unit belongs to the field and storing it in every value would only let them disagree.
- single_choice, yes_no_unclear: the choice value ("yes", "no" or "unclear" for the latter).
- multiple_choice: a list of choice values, in the template's order, without repeats.
- date: an ISO string, "yyyy-mm-dd", "yyyy-mm" or "yyyy". Papers often give only a month or a
  year ("recruited in March 2019"), and a made-up day would be false precision.
- table: a list of rows, each a dict of column key -> stored value of that cell. Rows are kept
  in order, even a blank one, so row numbers stay stable while two people edit.
- Empty is an absent key or None; `clean_value` never returns "", [] or {}.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import json
import math
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extraction import rowmatch

FIELD_TYPES: tuple[str, ...] = (
    "short_text",
    "long_text",
    "integer",
    "decimal",
    "single_choice",
    "multiple_choice",
    "yes_no_unclear",
    "date",
    "table",
)
TEXT_TYPES = ("short_text", "long_text")
NUMBER_TYPES = ("integer", "decimal")
CHOICE_TYPES = ("single_choice", "multiple_choice")
CATEGORICAL_TYPES = ("single_choice", "multiple_choice", "yes_no_unclear")

YES_NO_UNCLEAR: tuple[tuple[str, str], ...] = (("yes", "Yes"), ("no", "No"), ("unclear", "Unclear"))

SHORT_TEXT_MAX = 500
"""Longer text belongs in a long-text field; the limit keeps one-line cells readable."""

LARGEST_NUMBER = 1e12
"""No measured quantity in a review comes near 10¹² in the unit it is typed in; a bigger number
is a typing slip (or '1e200'), and statistics on it overflow."""
SMALLEST_NUMBER = 1e-12
"""A number closer to zero than this, but not zero, is as surely a slip; squared, it underflows."""

RELATIVE_TOLERANCE = 1e-9
"""Two numbers agree within this relative difference, so 0.1 + 0.2 and 0.3 do not disagree."""

BUILTIN_TEMPLATES_DIR = Path(__file__).resolve().parent / "templates_builtin"

KEY_PATTERN = re.compile(r"[a-z0-9_]+")
TEMPLATE_KEY_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]*")
_INTEGER_PATTERN = re.compile(r"[+-]?\d+")
_NUMBER_PATTERN = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_COMMA_NUMBER_PATTERN = re.compile(r"[+-]?[\d.]*,[\d.,]*")
_DATE_PATTERN = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")

_TEMPLATE_ATTRIBUTES = ("key", "name", "description", "sections")
_SECTION_ATTRIBUTES = ("key", "title", "help", "fields")
_FIELD_ATTRIBUTES = (
    "key",
    "label",
    "type",
    "required",
    "help",
    "choices",
    "unit",
    "units",
    "min",
    "max",
    "positive",
    "required_when",
    "columns",
    "row_key",
)
_CONDITION_ATTRIBUTES = ("field", "equals", "in")

type Scalar = str | int | float | bool
type Number = int | float


# --- The definition --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Condition:
    """When a field becomes required: another field's value is one of `values`.

    `field` is kept as written in the definition: a "section.field" path, or, for a table
    column, the bare key of another column, which means the cell in the same row.
    """

    field: str
    equals: Scalar | None = None
    any_of: tuple[Scalar, ...] = ()

    @property
    def values(self) -> tuple[Scalar, ...]:
        return self.any_of or (self.equals,)  # type: ignore[return-value]

    @property
    def is_sibling(self) -> bool:
        """True when the condition looks at another column of the same table row."""
        return "." not in self.field

    def holds(self, value: Any) -> bool:
        """Whether a stored value triggers the condition; any selected choice of a multiple
        choice counts, so "required when route includes other" needs no extra syntax."""
        if isinstance(value, Mapping):
            value = value.get("value")
        candidates = value if isinstance(value, list | tuple) else [value]
        return any(candidate is not None and candidate in self.values for candidate in candidates)

    def to_dict(self) -> dict[str, Any]:
        if self.any_of:
            return {"field": self.field, "in": list(self.any_of)}
        return {"field": self.field, "equals": self.equals}


@dataclass(frozen=True, slots=True)
class Field:
    """One question of a form, or one column of a table.

    `choices` holds the defined (value, label) pairs; `options` adds the fixed triple of a
    yes/no/unclear field, so forms and labels treat every categorical field alike.
    """

    key: str
    label: str
    type: str
    path: str
    required: bool = False
    help: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    unit: str = ""
    units: tuple[str, ...] = ()
    min: Number | None = None
    max: Number | None = None
    positive: bool = False
    required_when: Condition | None = None
    columns: tuple[Field, ...] = ()
    row_key: tuple[str, ...] = ()
    """For a table: the columns that say which row is which (group, analyte, time...), so that
    two extractions are compared row by row whatever order their rows were entered in."""

    @property
    def heading(self) -> str:
        """The label with its fixed unit, as a column heading: 'Dose (mL)'. A label that
        already names its unit, e.g. 'Time point (days)', is not given it twice."""
        if not self.unit or self.label.endswith(f"({self.unit})"):
            return self.label
        return f"{self.label} ({self.unit})"

    @property
    def options(self) -> tuple[tuple[str, str], ...]:
        """The (value, label) pairs a form offers for this field; empty for free entry."""
        return YES_NO_UNCLEAR if self.type == "yes_no_unclear" else self.choices

    def choice_label(self, value: Any) -> str:
        """The label of a choice value; a value the template no longer offers shows as itself,
        so an old extraction still reads sensibly after the lead edits the choices."""
        for option, label in self.options:
            if option == value:
                return label
        return "" if value is None else str(value)

    def column(self, key: str) -> Field:
        """A column of this table by its key; KeyError if there is none."""
        for column in self.columns:
            if column.key == key:
                return column
        raise KeyError(f"{self.path}.{key}")

    def to_dict(self) -> dict[str, Any]:
        """The definition of this field, leaving out attributes at their defaults."""
        data: dict[str, Any] = {"key": self.key, "label": self.label, "type": self.type}
        if self.required:
            data["required"] = True
        if self.help:
            data["help"] = self.help
        if self.choices:
            data["choices"] = [[value, label] for value, label in self.choices]
        if self.unit:
            data["unit"] = self.unit
        if self.units:
            data["units"] = list(self.units)
        if self.min is not None:
            data["min"] = self.min
        if self.max is not None:
            data["max"] = self.max
        if self.positive:
            data["positive"] = True
        if self.required_when is not None:
            data["required_when"] = self.required_when.to_dict()
        if self.columns:
            data["columns"] = [column.to_dict() for column in self.columns]
        if self.row_key:
            data["row_key"] = list(self.row_key)
        return data


@dataclass(frozen=True, slots=True)
class Section:
    """A titled group of fields; its key is the first part of every path inside it."""

    key: str
    title: str
    help: str = ""
    fields: tuple[Field, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"key": self.key, "title": self.title}
        if self.help:
            data["help"] = self.help
        data["fields"] = [field.to_dict() for field in self.fields]
        return data


@dataclass(frozen=True, slots=True)
class Template:
    """A loaded, validated template definition. Build one with `load_template`."""

    key: str
    name: str
    description: str = ""
    sections: tuple[Section, ...] = ()
    _by_path: dict[str, Field] = dataclasses.field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        by_path: dict[str, Field] = {}
        for section in self.sections:
            for field in section.fields:
                by_path.setdefault(field.path, field)
                for column in field.columns:
                    by_path.setdefault(column.path, column)
        object.__setattr__(self, "_by_path", by_path)

    def fields(self) -> Iterator[Field]:
        """Top-level fields in form order; table columns are reached through their table."""
        for section in self.sections:
            yield from section.fields

    def field(self, path: str) -> Field:
        """A field by its path, or a table column by "section.table.column"; KeyError if
        the template has no such field."""
        return self._by_path[path]

    def to_dict(self) -> dict[str, Any]:
        """The JSON definition; `load_template(t.to_dict()) == t`."""
        data: dict[str, Any] = {"key": self.key, "name": self.name}
        if self.description:
            data["description"] = self.description
        data["sections"] = [section.to_dict() for section in self.sections]
        return data


class TemplateError(ValueError):
    """A definition cannot be used. `.problems` lists every problem found, each located as
    "sections[2].fields[4] (prp.spins): ...", so the lead can fix them all in one go."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        heading = f"The template has {count} problem{'' if count == 1 else 's'}:"
        super().__init__("\n".join([heading, *self.problems]))


def load_template(definition: Mapping[str, Any]) -> Template:
    """Validate a definition and build the `Template`; raises `TemplateError` listing every
    problem, because a builder that reports one mistake at a time wastes the lead's time."""
    loader = _Loader()
    template = loader.template(definition)
    loader.check_conditions(template)
    if loader.problems:
        raise TemplateError(loader.problems)
    return template


def load_once(cache: dict[Any, Template], key: Any, definition: Mapping[str, Any]) -> Template:
    """`load_template(definition)`, kept in `cache` under `key` (a template version's id):
    an export or a meta-analysis over hundreds of studies loads each version once."""
    template = cache.get(key)
    if template is None:
        template = cache[key] = load_template(definition)
    return template


def key_from(text: str, *, limit: int = 60) -> str:
    """A key for a field, choice, section or template made from its label ("IL-1β level" ->
    "il_1_level"), as the builder does when a lead types a label."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")[:limit] or "field"


def builtin_definitions() -> dict[str, dict[str, Any]]:
    """The definitions shipped in `templates_builtin/`, keyed by template key. Reads files."""
    definitions: dict[str, dict[str, Any]] = {}
    for path in sorted(BUILTIN_TEMPLATES_DIR.glob("*.json")):
        definition = json.loads(path.read_text(encoding="utf-8"))
        definitions[definition["key"]] = definition
    return definitions


class _Loader:
    """Walks a definition once, building what it can and noting every problem on the way."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self._conditional: list[tuple[str, Field, str | None]] = []

    def report(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def template(self, raw: Any) -> Template:
        where = "definition"
        if not isinstance(raw, Mapping):
            self.report(where, "expected an object with key, name and sections")
            return Template(key="", name="")
        self._unknown_attributes(raw, _TEMPLATE_ATTRIBUTES, where)
        key = raw.get("key")
        if not isinstance(key, str) or not TEMPLATE_KEY_PATTERN.fullmatch(key):
            self.report(where, f"key {key!r} must be lower-case letters, digits, '-' and '_'")
            key = ""
        name = self._text(raw, "name", where, required=True)
        description = self._text(raw, "description", where)
        raw_sections = raw.get("sections")
        if not isinstance(raw_sections, list) or not raw_sections:
            self.report(where, "sections must be a list with at least one section")
            raw_sections = []
        seen: set[str] = set()
        sections = []
        for index, raw_section in enumerate(raw_sections):
            section = self.section(raw_section, index, seen)
            if section is not None:
                sections.append(section)
        return Template(key=key, name=name, description=description, sections=tuple(sections))

    def section(self, raw: Any, index: int, seen: set[str]) -> Section | None:
        base = f"sections[{index}]"
        if not isinstance(raw, Mapping):
            self.report(base, "expected an object with key, title and fields")
            return None
        raw_key = raw.get("key")
        where = f"{base} ({raw_key})" if isinstance(raw_key, str) and raw_key else base
        self._unknown_attributes(raw, _SECTION_ATTRIBUTES, where)
        key = self._key(raw, where, seen, "template")
        title = self._text(raw, "title", where, required=True)
        help_text = self._text(raw, "help", where)
        raw_fields = raw.get("fields", [])
        if not isinstance(raw_fields, list):
            self.report(where, "fields must be a list")
            raw_fields = []
        seen_fields: set[str] = set()
        fields = []
        for position, raw_field in enumerate(raw_fields):
            field = self.field(raw_field, f"{base}.fields[{position}]", key, seen_fields)
            if field is not None:
                fields.append(field)
        return Section(key=key, title=title, help=help_text, fields=tuple(fields))

    def field(
        self, raw: Any, base: str, prefix: str, seen: set[str], *, table: str | None = None
    ) -> Field | None:
        if not isinstance(raw, Mapping):
            self.report(base, "expected an object with key, label and type")
            return None
        raw_key = raw.get("key")
        where = f"{base} ({prefix}.{raw_key})" if isinstance(raw_key, str) and raw_key else base
        self._unknown_attributes(raw, _FIELD_ATTRIBUTES, where)
        key = self._key(raw, where, seen, "table" if table else "section")
        path = f"{prefix}.{key}"
        label = self._text(raw, "label", where, required=True)
        help_text = self._text(raw, "help", where)
        required = self._flag(raw, "required", where)
        type_ = raw.get("type")
        if not isinstance(type_, str) or type_ not in FIELD_TYPES:
            self.report(where, f"type {type_!r} is not one of {', '.join(FIELD_TYPES)}")
            type_ = str(type_)
        if table and type_ == "table":
            self.report(where, "a table cannot contain another table")

        choices: tuple[tuple[str, str], ...] = ()
        if type_ in CHOICE_TYPES:
            choices = self._choices(raw.get("choices"), where)
        elif "choices" in raw:
            if type_ == "yes_no_unclear":
                self.report(where, "a yes_no_unclear field has fixed choices; remove 'choices'")
            else:
                self._not_applicable(where, "choices", type_)

        unit = ""
        if "unit" in raw:
            if type_ in NUMBER_TYPES:
                unit = self._text(raw, "unit", where, required=True)
            else:
                self._not_applicable(where, "unit", type_)
        units: tuple[str, ...] = ()
        if "units" in raw:
            if type_ == "decimal":
                units = self._units(raw["units"], where)
            else:
                self._not_applicable(where, "units", type_)
        if unit and units:
            self.report(where, "give either a fixed 'unit' or a list of 'units', not both")

        limits: dict[str, Number | None] = {"min": None, "max": None}
        for name in limits:
            if name in raw:
                if type_ in NUMBER_TYPES:
                    limits[name] = self._limit(raw[name], name, where, whole=type_ == "integer")
                else:
                    self._not_applicable(where, name, type_)
        low, high = limits["min"], limits["max"]
        if low is not None and high is not None and low > high:
            self.report(
                where, f"min {_format_number(low)} is greater than max {_format_number(high)}"
            )
        positive = False
        if "positive" in raw:
            if type_ in NUMBER_TYPES:
                positive = self._flag(raw, "positive", where)
            else:
                self._not_applicable(where, "positive", type_)
        if positive and high is not None and high <= 0:
            self.report(where, f"positive, yet max is {_format_number(high)}")

        condition = None
        if "required_when" in raw:
            condition = self._condition(raw["required_when"], where)

        columns: tuple[Field, ...] = ()
        if type_ == "table" and not table:
            columns = self._columns(raw.get("columns"), base, where, path)
        elif "columns" in raw and type_ != "table":
            self._not_applicable(where, "columns", type_)
        row_key: tuple[str, ...] = ()
        if "row_key" in raw:
            if type_ == "table" and not table:
                row_key = self._row_key(raw["row_key"], columns, where)
            else:
                self._not_applicable(where, "row_key", type_)

        field = Field(
            key=key,
            label=label,
            type=type_,
            path=path,
            required=required,
            help=help_text,
            choices=choices,
            unit=unit,
            units=units,
            min=low,
            max=high,
            positive=positive,
            required_when=condition,
            columns=columns,
            row_key=row_key,
        )
        if condition is not None:
            self._conditional.append((where, field, table))
        return field

    def check_conditions(self, template: Template) -> None:
        """Second pass: a condition may name a field defined further down the form."""
        for where, field, table_path in self._conditional:
            condition = field.required_when
            assert condition is not None
            target = self._condition_target(template, condition, table_path, where)
            if target is None:
                continue
            if target.path == field.path:
                self.report(where, "required_when cannot refer to the field itself")
            elif target.type == "table":
                self.report(where, f"required_when cannot refer to the table {target.path}")
            elif target.type in CATEGORICAL_TYPES:
                offered = {value for value, _ in target.options}
                for value in condition.values:
                    if value not in offered:
                        self.report(
                            where, f"required_when value {value!r} is not a choice of {target.path}"
                        )

    def _condition_target(
        self, template: Template, condition: Condition, table_path: str | None, where: str
    ) -> Field | None:
        if condition.is_sibling:
            if table_path is None:
                self.report(
                    where,
                    f"required_when field {condition.field!r} must be a 'section.field' path",
                )
                return None
            table = template._by_path.get(table_path)
            for column in table.columns if table else ():
                if column.key == condition.field:
                    return column
            self.report(
                where,
                f"required_when refers to {condition.field!r}, which is not a column of this table",
            )
            return None
        target = template._by_path.get(condition.field)
        if target is None:
            self.report(
                where,
                f"required_when refers to {condition.field!r}, which is not a field of this "
                "template",
            )
            return None
        if target.path.count(".") > 1:
            self.report(
                where,
                f"required_when refers to the table column {condition.field!r}; a column can "
                "only be referred to from its own table, by its bare key",
            )
            return None
        return target

    def _columns(self, raw: Any, base: str, where: str, table_path: str) -> tuple[Field, ...]:
        if not isinstance(raw, list) or not raw:
            self.report(where, "a table needs a non-empty list of columns")
            return ()
        seen: set[str] = set()
        columns = []
        for index, raw_column in enumerate(raw):
            column = self.field(
                raw_column, f"{base}.columns[{index}]", table_path, seen, table=table_path
            )
            if column is not None:
                columns.append(column)
        return tuple(columns)

    def _row_key(self, raw: Any, columns: tuple[Field, ...], where: str) -> tuple[str, ...]:
        if not isinstance(raw, list) or not raw or not all(isinstance(k, str) for k in raw):
            self.report(where, "row_key must be a non-empty list of column keys")
            return ()
        keys = {column.key for column in columns}
        for key in raw:
            if key not in keys:
                self.report(where, f"row_key names {key!r}, which is not a column of this table")
        if len(set(raw)) != len(raw):
            self.report(where, "row_key lists a column more than once")
        return tuple(raw)

    def _choices(self, raw: Any, where: str) -> tuple[tuple[str, str], ...]:
        if not isinstance(raw, list) or not raw:
            self.report(where, "choices must be a non-empty list of [value, label] pairs")
            return ()
        choices: list[tuple[str, str]] = []
        values: set[str] = set()
        labels: set[str] = set()
        for index, pair in enumerate(raw):
            if not (
                isinstance(pair, list | tuple)
                and len(pair) == 2
                and all(isinstance(part, str) and part.strip() for part in pair)
            ):
                self.report(
                    where, f"choices[{index}] must be a [value, label] pair of non-empty text"
                )
                continue
            value, label = pair
            if value != value.strip():
                self.report(where, f"choice value {value!r} has spaces around it")
            if value in values:
                self.report(where, f"choice value {value!r} appears more than once")
            if label.casefold() in labels:
                self.report(where, f"choice label {label!r} appears more than once")
            values.add(value)
            labels.add(label.casefold())
            choices.append((value, label))
        return tuple(choices)

    def _units(self, raw: Any, where: str) -> tuple[str, ...]:
        if (
            not isinstance(raw, list)
            or not raw
            or not all(isinstance(unit, str) and unit.strip() for unit in raw)
        ):
            self.report(where, "units must be a non-empty list of unit names")
            return ()
        if len(set(raw)) != len(raw):
            self.report(where, "units lists a unit more than once")
        return tuple(raw)

    def _limit(self, raw: Any, name: str, where: str, *, whole: bool) -> Number | None:
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
            self.report(where, f"{name} must be a number, not {raw!r}")
            return None
        if whole and not float(raw).is_integer():
            self.report(where, f"{name} of an integer field must be a whole number, not {raw!r}")
            return None
        return raw

    def _condition(self, raw: Any, where: str) -> Condition | None:
        example = "{'field': 'study.subject', 'equals': 'animal'}"
        if not isinstance(raw, Mapping):
            self.report(where, f"required_when must be an object such as {example}")
            return None
        self._unknown_attributes(raw, _CONDITION_ATTRIBUTES, f"{where} required_when")
        target = raw.get("field")
        if not isinstance(target, str) or not target.strip():
            self.report(where, f"required_when needs the field it depends on, e.g. {example}")
            return None
        if ("equals" in raw) == ("in" in raw):
            self.report(where, "required_when needs exactly one of 'equals' or 'in'")
            return None
        if "equals" in raw:
            value = raw["equals"]
            if not _is_scalar(value):
                self.report(where, f"required_when equals must be a single value, not {value!r}")
                return None
            return Condition(field=target, equals=value)
        values = raw["in"]
        if not isinstance(values, list) or not values or not all(map(_is_scalar, values)):
            self.report(where, "required_when 'in' must be a non-empty list of values")
            return None
        return Condition(field=target, any_of=tuple(values))

    def _key(self, raw: Mapping[str, Any], where: str, seen: set[str], scope: str) -> str:
        key = raw.get("key")
        if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
            self.report(where, f"key {key!r} must be lower-case letters, digits and '_'")
            return str(key)
        if key in seen:
            self.report(where, f"key {key!r} is used more than once in this {scope}")
        seen.add(key)
        return key

    def _text(
        self, raw: Mapping[str, Any], name: str, where: str, *, required: bool = False
    ) -> str:
        value = raw.get(name, "")
        if not isinstance(value, str):
            self.report(where, f"{name} must be text, not {value!r}")
            return ""
        if required and not value.strip():
            self.report(where, f"{name} is required")
        return value

    def _flag(self, raw: Mapping[str, Any], name: str, where: str) -> bool:
        value = raw.get(name, False)
        if not isinstance(value, bool):
            self.report(where, f"{name} must be true or false, not {value!r}")
            return False
        return value

    def _not_applicable(self, where: str, name: str, type_: str) -> None:
        if type_ not in FIELD_TYPES:
            return  # the unknown type is reported already; its attributes cannot be judged
        self.report(where, f"'{name}' does not apply to a {type_} field")

    def _unknown_attributes(
        self, raw: Mapping[str, Any], allowed: Sequence[str], where: str
    ) -> None:
        for name in raw:
            if name not in allowed:
                self.report(where, f"unknown attribute {name!r} (expected {', '.join(allowed)})")


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


# --- Small helpers ---------------------------------------------------------------------------


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
