"""The analyses: the pooling key, the lead's windows, and why each study is in or out."""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from extraction import schema
from extraction.pooling.groups import Comparison, Group, normalised_label, study_comparisons
from extraction.pooling.rows import (
    DIRECTION_TEXT,
    Entry,
    MeasuredRow,
    binary_arm,
    continuous_arm,
    days_on,
    read_row,
    study_species,
)
from extraction.pooling.shared import shared_controls
from extraction.pooling.values import (
    CONTINUOUS_TABLES,
    DICHOTOMOUS_TABLES,
    Basis,
    Kind,
    MultiArm,
    days_text,
    table_rows,
)

# --- What the lead chooses -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Window:
    """An analysis window: days `centre` ± `half_width` since the injury (or onset) or since
    PRP. A window of half-width 0 takes one exact day."""

    centre: float
    half_width: float = 0.0
    basis: Basis = "injury"
    label: str = ""

    @property
    def title(self) -> str:
        since = "since injury" if self.basis == "injury" else "since PRP"
        day = days_text(self.centre)
        width = f" ± {days_text(self.half_width)}" if self.half_width else ""
        name = f"{self.label}: " if self.label else ""
        return f"{name}day {day}{width} {since}"

    def contains(self, days: float) -> bool:
        return abs(days - self.centre) <= self.half_width + 1e-9


@dataclass(frozen=True, slots=True)
class Choices:
    """The lead's settings for the synthesis of one review."""

    windows: tuple[Window, ...] = ()
    multi_arm: MultiArm = "split"
    multi_arm_by_analysis: Mapping[str, MultiArm] = field(default_factory=dict)

    def multi_arm_for(self, slug: str) -> MultiArm:
        return self.multi_arm_by_analysis.get(slug, self.multi_arm)


# --- What comes in ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StudyData:
    label: str  # "Rossi 2021"
    template: schema.Template
    values: Mapping[str, Any]


# --- What comes out --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Key:
    """Everything that must be equal for two studies' comparisons to be pooled."""

    kind: Kind
    table: str
    outcome: str  # "IL-6", "VAS pain", "Any adverse event"
    compartment: str  # "Serum"; "" for pain outcomes and events
    species: str  # "Human", "Rat", "Mouse"
    assay_class: str  # "concentration", "relative mRNA expression"; "" for outcomes
    values: str  # "final values" / "change from baseline", with ", log scale" when logged
    direction: str  # "lower is better"
    contrast: str  # "PRP vs Injured or diseased control"
    window: Window

    @property
    def title(self) -> str:
        where = f" in {self.compartment.lower()}" if self.compartment else ""
        return f"{self.outcome}{where}, {self.species.lower()}, {self.window.title}"

    @property
    def details(self) -> tuple[tuple[str, str], ...]:
        rows = [
            ("Outcome", self.outcome),
            ("Compartment", self.compartment),
            ("Species", self.species),
            ("Assay class", self.assay_class),
            ("Values", self.values),
            ("Direction", self.direction),
            ("Comparison", self.contrast),
            ("Time window", self.window.title),
        ]
        return tuple((name, value) for name, value in rows if value)

    @property
    def slug(self) -> str:
        """A stable address for the analysis (its forest plot, the lead's shared-control
        choice): readable words, and a short digest so that two keys never share one."""
        parts = [
            self.kind,
            self.table,
            self.outcome,
            self.compartment,
            self.species,
            self.assay_class,
            self.values,
            self.direction,
            self.contrast,
            self.window.basis,
            days_text(self.window.centre),
            days_text(self.window.half_width),
        ]
        joined = "~".join(parts)
        digest = hashlib.sha256(joined.encode()).hexdigest()[:8]
        words = re.sub(
            r"[^a-z0-9]+", "-", f"{self.outcome} {self.compartment} {self.species}".lower()
        )
        return f"{words.strip('-')}-{digest}"

    @property
    def higher_is_better(self) -> bool:
        return self.direction == DIRECTION_TEXT["higher_better"]


@dataclass(frozen=True, slots=True)
class Decision:
    study: str
    included: bool
    reason: str


@dataclass(slots=True)
class Analysis:
    key: Key
    entries: list[Entry] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    multi_arm: MultiArm = "split"
    notes: list[str] = field(default_factory=list)

    @property
    def k(self) -> int:
        return len({entry.study for entry in self.entries})


# --- The analyses ----------------------------------------------------------------------------


def build_analyses(studies: Sequence[StudyData], choices: Choices) -> list[Analysis]:
    """Every analysis the data allow, in a stable order, with each study's entries and the
    log of why studies are in or out. An analysis with one study is kept: it is shown, with
    the reason it cannot be pooled."""
    candidates: dict[Key, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    log: dict[Key, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    study_problems: dict[str, list[str]] = {}
    bases_seen: dict[tuple, set[str]] = defaultdict(set)  # base key -> studies measuring it

    for study in studies:
        species = study_species(study.template, study.values)
        comparisons, problems, groups = study_comparisons(study.values)
        if species is None:
            subject = study.values.get("study.subject")
            problems = [
                "in vitro studies are not pooled"
                if subject == "in_vitro"
                else "the species (or that the subjects were people) is not recorded",
                *problems,
            ]
        study_problems[study.label] = problems
        for table in (*CONTINUOUS_TABLES, *DICHOTOMOUS_TABLES):
            kind: Kind = "continuous" if table in CONTINUOUS_TABLES else "dichotomous"
            read = [
                read_row(study.template, table, row) for row in table_rows(study.values.get(table))
            ]
            rows = [r for r in read if isinstance(r, MeasuredRow)]
            for r in rows:
                bases_seen[r.base].add(study.label)
            if species is None or not comparisons:
                continue
            for comparison in comparisons:
                t_key = normalised_label(comparison.treatment.label)
                c_key = normalised_label(comparison.control.label)
                for base in {r.base for r in rows}:
                    treated = [r for r in rows if r.base == base and r.group == t_key]
                    controls = [r for r in rows if r.base == base and r.group == c_key]
                    if not treated or not controls:
                        continue
                    for window in _windows(choices, treated, comparison.treatment):
                        key = _key(kind, base, species, comparison.contrast, window)
                        picked = _pick(window, comparison, treated, controls)
                        if isinstance(picked, str):
                            log[key][study.label].append(picked)
                            continue
                        t_row, c_row, t_days, c_days = picked
                        maker = continuous_arm if kind == "continuous" else binary_arm
                        t_arm = maker(comparison.treatment, t_row, t_days)
                        c_arm = maker(comparison.control, c_row, c_days)
                        bad = [arm for arm in (t_arm, c_arm) if isinstance(arm, str)]
                        if bad:
                            log[key][study.label].append(f"{comparison.label}: {'; '.join(bad)}")
                            continue
                        if kind == "continuous" and t_row.unit != c_row.unit:
                            log[key][study.label].append(
                                f"{comparison.label}: the groups' units differ "
                                f"('{t_row.unit}' and '{c_row.unit}')"
                            )
                            continue
                        note = comparison.how
                        if t_row.days_text:
                            note += f"; {t_row.days_text}"
                        candidates[key][study.label].append((comparison, t_arm, c_arm, note))

    analyses = []
    for key in sorted(set(candidates) | set(log), key=_order):
        analysis = Analysis(key=key, multi_arm=choices.multi_arm_for(key.slug))
        for study in studies:
            label = study.label
            found = candidates[key].get(label, [])
            if found:
                analysis.entries.extend(
                    shared_controls(analysis.multi_arm, analysis.notes, label, found)
                )
                analysis.decisions.append(
                    Decision(label, True, "; ".join(sorted({f[0].how for f in found})))
                )
            elif label in log[key]:
                analysis.decisions.append(Decision(label, False, "; ".join(log[key][label])))
            elif study_problems.get(label) and _measures(bases_seen, key, label):
                analysis.decisions.append(Decision(label, False, "; ".join(study_problems[label])))
            elif _measures(bases_seen, key, label):
                analysis.decisions.append(
                    Decision(label, False, _why_elsewhere(studies, study, key, choices))
                )
        analyses.append(analysis)
    return analyses


def unused_rows(studies: Sequence[StudyData]) -> list[tuple[str, str, int, str]]:
    """Outcome rows that no analysis can place (no outcome, no time in days, no direction):
    (study, table label, row number from 1, reason), so the lead can have them fixed."""
    found = []
    for study in studies:
        for table in (*CONTINUOUS_TABLES, *DICHOTOMOUS_TABLES):
            try:
                name = study.template.field(table).label
            except KeyError:
                name = table
            for index, row in enumerate(table_rows(study.values.get(table)), 1):
                read = read_row(study.template, table, row)
                if isinstance(read, str) and any(v not in (None, "") for v in row.values()):
                    found.append((study.label, name, index, read))
    return found


def _measures(bases_seen, key: Key, label: str) -> bool:
    return label in bases_seen.get(_base_of(key), ())


def _base_of(key: Key) -> tuple:
    return (key.table, key.outcome, key.compartment, key.assay_class, key.values, key.direction)


def _why_elsewhere(studies, study: StudyData, key: Key, choices: Choices) -> str:
    species = study_species(study.template, study.values)
    if species != key.species:
        return f"a different species ({species}); species are never pooled together"
    comparisons, _, _ = study_comparisons(study.values)
    if comparisons and key.contrast not in {c.contrast for c in comparisons}:
        return "a different comparison: " + "; ".join(sorted({c.contrast for c in comparisons}))
    return "no measurement of both compared groups in this time window"


def _windows(choices: Choices, treated: list[MeasuredRow], group: Group) -> list[Window]:
    """The lead's windows that hold a row of the treatment group; without windows, each exact
    day (since injury when the row gives it, else since PRP)."""
    if choices.windows:
        found = []
        for window in choices.windows:
            for row in treated:
                days = days_on(row, window.basis, group)
                if days is not None and window.contains(days):
                    found.append(window)
                    break
        return found
    exact = set()
    for row in treated:
        if row.days_injury is not None:
            exact.add(Window(centre=row.days_injury, basis="injury"))
        elif row.days_prp is not None:
            exact.add(Window(centre=row.days_prp, basis="prp"))
    return sorted(exact, key=lambda w: (w.basis, w.centre))


def _pick(
    window: Window, comparison: Comparison, treated: list[MeasuredRow], controls: list[MeasuredRow]
):
    """The treatment row nearest the window's centre and the control row nearest to it in
    time (both inside the window)."""

    def inside(rows, group):
        timed = [(r, days_on(r, window.basis, group)) for r in rows]
        return [(r, d) for r, d in timed if d is not None and window.contains(d)]

    t_rows = inside(treated, comparison.treatment)
    c_rows = inside(controls, comparison.control)
    if not t_rows:
        return f"{comparison.label}: no {comparison.treatment.label} row in the window"
    if not c_rows:
        return f"{comparison.label}: no {comparison.control.label} row in {window.title}"
    t_row, t_days = min(t_rows, key=lambda item: (abs(item[1] - window.centre), item[1]))
    c_row, c_days = min(c_rows, key=lambda item: (abs(item[1] - t_days), item[1]))
    return t_row, c_row, t_days, c_days


def _key(kind: Kind, base: tuple, species: str, contrast: str, window: Window) -> Key:
    table, outcome, compartment, assay_class, values_text, direction = base
    return Key(
        kind,
        table,
        outcome,
        compartment,
        species,
        assay_class,
        values_text,
        direction,
        contrast,
        window,
    )


def _order(key: Key) -> tuple:
    return (
        key.kind,
        key.table,
        key.outcome,
        key.compartment,
        key.species != "Human",
        key.species,
        key.assay_class,
        key.values,
        key.direction,
        key.contrast,
        key.window.basis,
        key.window.centre,
        key.window.half_width,
    )
