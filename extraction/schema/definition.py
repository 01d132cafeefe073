"""What a template is: its fields, sections and conditions, loaded and checked from its JSON
definition, and the constants every part of the schema shares."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extraction.schema._common import Number, _format_number, _is_scalar

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

BUILTIN_TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates_builtin"

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
