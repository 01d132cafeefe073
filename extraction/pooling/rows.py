"""Outcome rows: what each measures, when (in days), and the figures of its group."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from extraction import conversions, schema
from extraction.pooling.groups import ROLE_CLASS, Group, normalised_label
from extraction.pooling.values import CONTINUOUS_TABLES, DICHOTOMOUS_TABLES, Basis, finite, whole

ASSAY_CLASS = {
    "elisa": "concentration",
    "multiplex": "concentration",
    "qpcr": "relative mRNA expression",
    "western_blot": "relative protein level",
    "ihc": "relative protein level (tissue staining)",
    "flow_cytometry": "cells (flow cytometry)",
    "other": "other assay",
}
HIGHER_IS_BETTER_ANALYTES = {
    "il10",
    "il4",
    "tgfb1",
    "pdgf",
    "pdgf_aa",
    "pdgf_ab",
    "pdgf_bb",
    "vegf",
    "igf1",
    "gdnf",
    "nt3",
}
HIGHER_IS_BETTER_EVENTS = {"responders"}
DIRECTION_TEXT = {"lower_better": "lower is better", "higher_better": "higher is better"}


@dataclass(frozen=True, slots=True)
class ContinuousArm:
    group: str
    n: int
    mean: float
    sd: float
    how: str  # "reported" or the conversion used, e.g. "SD from SE"
    source: str  # where in the paper, as the extractor wrote it
    days: float
    n_reported: int | None = None  # before a shared control was split, or arms combined

    @property
    def figures(self) -> str:
        """ "n 8 (of 16), mean 25, SD 6.32": as a reader checks them against the paper."""
        of = f" (of {self.n_reported})" if self.n_reported else ""
        return f"n {self.n}{of}, mean {self.mean:.4g}, SD {self.sd:.4g}"


@dataclass(frozen=True, slots=True)
class BinaryArm:
    group: str
    events: int
    n: int
    source: str
    days: float
    n_reported: int | None = None
    events_reported: int | None = None

    @property
    def figures(self) -> str:
        of = f" (of {self.events_reported}/{self.n_reported})" if self.n_reported else ""
        return f"{self.events}/{self.n}{of}"


@dataclass(frozen=True, slots=True)
class Entry:
    """One study's contribution to one analysis."""

    study: str
    comparison: str  # "CCI + PRP vs CCI + saline"
    treatment: ContinuousArm | BinaryArm
    control: ContinuousArm | BinaryArm
    note: str = ""  # how the comparison was chosen, split or combined

    @property
    def label(self) -> str:
        return f"{self.study} ({self.comparison})"

    @property
    def arms(self) -> tuple:
        return (self.treatment, self.control)


# --- Rows: what they measure, when ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MeasuredRow:
    group: str  # normalised label
    base: tuple  # the key without species, contrast and window
    unit: str
    days_injury: float | None
    days_prp: float | None
    days_text: str  # how the time was read, for the log
    row: Mapping[str, Any]


_TIME_WORDS = {
    "day": 1,
    "days": 1,
    "d": 1,
    "week": 7,
    "weeks": 7,
    "wk": 7,
    "wks": 7,
    "w": 7,
    "month": 30,
    "months": 30,
    "mo": 30,
}
_TIME_PATTERNS = (
    re.compile(r"^(?:at\s+)?(day|week|month|d|w)\s*(\d+(?:\.\d+)?)\b"),
    re.compile(r"^(\d+(?:\.\d+)?)\s*(days?|weeks?|wks?|wk|w|months?|mo|d)\b"),
)


def days_from_label(text: Any) -> float | None:
    """Days read from an older form's text label: 'day 14', '2 weeks', '6 months', 'baseline'.
    Used only for rows that have no number of days; never to compare labels as text."""
    if not isinstance(text, str):
        return None
    words = text.strip().casefold()
    if words in ("baseline", "pre-treatment", "before treatment"):
        return 0.0
    for pattern in _TIME_PATTERNS:
        match = pattern.match(words)
        if match:
            first, second = match.groups()
            unit, number = (first, second) if first[0].isalpha() else (second, first)
            return float(number) * _TIME_WORDS[unit]
    return None


def _choice(template: schema.Template, path: str, value: Any, other: Any = None) -> str:
    if value == "other" and other:
        return " ".join(str(other).split())
    try:
        return schema.display_value(template.field(path), value)
    except KeyError:
        return str(value or "")


def _direction(table: str, row: Mapping[str, Any], outcome_value: Any) -> str:
    chosen = row.get("direction")
    if chosen in DIRECTION_TEXT:
        return DIRECTION_TEXT[chosen]
    if table == "cytokines.measurements":
        better = "higher_better" if outcome_value in HIGHER_IS_BETTER_ANALYTES else "lower_better"
        return DIRECTION_TEXT[better]
    if table in DICHOTOMOUS_TABLES:
        better = "higher_better" if outcome_value in HIGHER_IS_BETTER_EVENTS else "lower_better"
        return DIRECTION_TEXT[better]
    return ""


def read_row(template: schema.Template, table: str, row: Mapping[str, Any]) -> MeasuredRow | str:
    """The row's place in the key, or why it cannot have one."""
    outcome_column, compartment_column = (CONTINUOUS_TABLES | DICHOTOMOUS_TABLES)[table]
    outcome_value = row.get(outcome_column)
    if not outcome_value:
        return "a row has no outcome"
    outcome = _choice(
        template, f"{table}.{outcome_column}", outcome_value, row.get(f"{outcome_column}_other")
    )
    compartment = ""
    if compartment_column:
        compartment = _choice(
            template,
            f"{table}.{compartment_column}",
            row.get(compartment_column),
            row.get(f"{compartment_column}_other"),
        )
    assay_class = ""
    if table == "cytokines.measurements":
        assay_class = ASSAY_CLASS.get(row.get("assay") or "", "assay not stated")
    values_text = "change from baseline" if row.get("value_type") == "change" else "final values"
    if row.get("log_scale") == "log":
        values_text += ", log scale"
    direction = _direction(table, row, outcome_value)
    if not direction:
        return f"{outcome}: the row does not say which direction is better"
    days_prp = finite(row.get("time_point_days"))
    days_injury = finite(row.get("days_since_injury"))
    days_text = ""
    if days_prp is None and days_injury is None:
        days_prp = days_from_label(row.get("time_point"))
        if days_prp is None:
            label = row.get("time_point") or "no time point"
            return f"{outcome}: no time in days (the row says '{label}')"
        days_text = f"days read from the label '{row.get('time_point')}'"
    base = (table, outcome, compartment, assay_class, values_text, direction)
    group = normalised_label(row.get("group") or ROLE_CLASS.get(row.get("group_role") or "", ""))
    unit = " ".join(str(row.get("unit") or "").split())
    return MeasuredRow(group, base, unit, days_injury, days_prp, days_text, row)


def days_on(row: MeasuredRow, basis: Basis, group: Group) -> float | None:
    """The row's time on a basis, derived through the day the group was treated if needed."""
    if basis == "injury":
        if row.days_injury is not None:
            return row.days_injury
        if row.days_prp is not None and group.treatment_day is not None:
            return row.days_prp + group.treatment_day
        return None
    if row.days_prp is not None:
        return row.days_prp
    if row.days_injury is not None and group.treatment_day is not None:
        return row.days_injury - group.treatment_day
    return None


# --- Arm figures -----------------------------------------------------------------------------


def continuous_figures(
    row: Mapping[str, Any],
) -> tuple[int | None, float | None, float | None, str]:
    """n, mean and SD of one group's row: as reported, or converted (SE, CI, median with IQR
    or range) with the method named; the text says why when they cannot be used. Figures that
    are not finite, or beyond any measured size, are refused here whatever old data holds."""
    figures: dict[str, Any] = {}
    for key in (
        "n",
        "mean",
        "sd",
        "se",
        "ci_lower",
        "ci_upper",
        "median",
        "q1",
        "q3",
        "minimum",
        "maximum",
    ):
        raw = row.get(key)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        number = whole(raw) if key == "n" else finite(raw)
        if number is None and not (key != "n" and _is_zero(raw)):
            return None, None, None, f"not used: {key} = {_shown(raw)} is not a usable number"
        figures[key] = number if number is not None else 0.0
    try:
        estimate = conversions.estimate(**figures)
    except conversions.ConversionError as error:
        return figures.get("n"), figures.get("mean"), None, f"not converted: {error}"
    except (ArithmeticError, ValueError) as error:
        return figures.get("n"), figures.get("mean"), None, f"not converted: {error}"
    if estimate is None:
        return figures.get("n"), figures.get("mean"), None, ""
    mean, sd = estimate.mean, estimate.sd
    if mean is not None and not math.isfinite(mean) or sd is not None and not math.isfinite(sd):
        return figures.get("n"), None, None, "not converted: the result is not a finite number"
    return figures.get("n"), mean, sd, estimate.method


def _is_zero(value: Any) -> bool:
    if isinstance(value, Mapping):
        value = value.get("value")
    return isinstance(value, int | float) and not isinstance(value, bool) and value == 0


def _shown(value: Any) -> str:
    if isinstance(value, Mapping):
        value = value.get("value")
    return repr(value) if isinstance(value, str) else str(value)


def continuous_arm(group: Group, row: MeasuredRow, days: float) -> ContinuousArm | str:
    n, mean, sd, how = continuous_figures(row.row)
    if how.startswith("not "):
        return f"{group.label}: {how}"
    if n is None:
        return f"{group.label}: no n"
    if n < 2:
        return f"{group.label}: n = {n} (an arm of one has no spread)"
    if mean is None or sd is None:
        return f"{group.label}: no mean and SD (nor figures to convert)"
    if sd <= 0:
        return f"{group.label}: SD is 0"
    source = " ".join(str(row.row.get("source") or "").split())
    return ContinuousArm(group.label, n, mean, sd, how or "reported", source, days)


def binary_arm(group: Group, row: MeasuredRow, days: float) -> BinaryArm | str:
    events, n = whole(row.row.get("events")), whole(row.row.get("n"))
    if events is None or n is None:
        return f"{group.label}: events and n are both needed"
    if n < 1 or events < 0 or events > n:
        return f"{group.label}: {events} events in {n} cannot be right"
    source = " ".join(str(row.row.get("source") or "").split())
    return BinaryArm(group.label, events, n, source, days)


# --- Species ---------------------------------------------------------------------------------


def study_species(template: schema.Template, values: Mapping[str, Any]) -> str | None:
    subject = values.get("study.subject")
    species = values.get("animal.species")
    if subject == "human":
        return "Human"
    if subject == "in_vitro":
        return None
    if species:
        return _choice(template, "animal.species", species, values.get("animal.species_other"))
    return None
