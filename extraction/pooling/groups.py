"""A study's groups and the comparisons between them: confirmed, proposed, or read from an
older form's rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from extraction.pooling.values import (
    CONTINUOUS_TABLES,
    DICHOTOMOUS_TABLES,
    finite,
    table_rows,
    whole,
)

GROUPS = "arms.groups"
COMPARISONS = "arms.comparisons"
ROLE_CLASS = {
    "prp": "PRP",
    "intervention": "PRP",  # older forms' row role
    "vehicle": "Injured or diseased control",
    "untreated": "Injured or diseased control",
    "comparator": "Control (older form's 'Comparator')",
    "sham": "Sham",
    "naive": "Naive or healthy",
    "anti_cytokine": "Anti-cytokine biotherapy",
    "growth_factor": "Growth-factor treatment",
    "active_other": "Other active treatment",
    "baseline": "Baseline",
    "other": "Other group",
}
PROPOSED_CONTROLS = ("vehicle", "untreated", "comparator")
ACTIVE_ROLES = ("anti_cytokine", "growth_factor", "active_other")


@dataclass(frozen=True, slots=True)
class Group:
    label: str
    role: str
    n: int | None = None
    protocol: str = ""
    treatment_day: float | None = None
    agent: str = ""

    @property
    def role_class(self) -> str:
        return ROLE_CLASS.get(self.role, "Other group")


@dataclass(frozen=True, slots=True)
class Comparison:
    treatment: Group
    control: Group
    how: str  # "confirmed by the extractors" or why it was inferred

    @property
    def label(self) -> str:
        return f"{self.treatment.label} vs {self.control.label}"

    @property
    def contrast(self) -> str:
        return f"{self.treatment.role_class} vs {self.control.role_class}"


# --- Groups and comparisons of one study -----------------------------------------------------


def normalised_label(text: Any) -> str:
    return " ".join(str(text).split()).casefold() if text is not None else ""


def study_groups(values: Mapping[str, Any]) -> tuple[dict[str, Group], bool]:
    """The study's groups by normalised label, and whether they come from the Groups table
    (False: read from the rows of an older form)."""
    groups: dict[str, Group] = {}
    for row in table_rows(values.get(GROUPS)):
        label = " ".join(str(row.get("label") or "").split())
        if not label or not row.get("role"):
            continue
        groups.setdefault(
            normalised_label(label),
            Group(
                label=label,
                role=str(row["role"]),
                n=whole(row.get("n")),
                protocol=str(row.get("protocol") or ""),
                treatment_day=finite(row.get("treatment_day")),
                agent=str(row.get("agent") or ""),
            ),
        )
    if groups:
        return groups, True
    for table in (*CONTINUOUS_TABLES, *DICHOTOMOUS_TABLES):
        for row in table_rows(values.get(table)):
            role = row.get("group_role")
            if not role:
                continue
            label = " ".join(str(row.get("group") or "").split()) or ROLE_CLASS.get(role, role)
            groups.setdefault(normalised_label(label), Group(label=label, role=str(role)))
    return groups, False


def propose_comparisons(groups: Iterable[Group]) -> list[tuple[str, str]]:
    """The comparisons the form proposes, as (treatment label, control label): each PRP group
    against the injured or diseased control given vehicle or saline (else the untreated one);
    each PRP group against each active comparator; each active comparator against that same
    control. Sham and naive groups are never proposed: an extractor may still pick them."""
    groups = list(groups)
    prp = [g for g in groups if g.role in ("prp", "intervention")]
    active = [g for g in groups if g.role in ACTIVE_ROLES]
    control = next(
        (g for role in PROPOSED_CONTROLS for g in groups if g.role == role),
        None,
    )
    proposed: list[tuple[str, str]] = []
    for treated in prp:
        if control is not None:
            proposed.append((treated.label, control.label))
        proposed.extend((treated.label, other.label) for other in active)
    if control is not None:
        proposed.extend((other.label, control.label) for other in active)
    return proposed


def study_comparisons(
    values: Mapping[str, Any],
) -> tuple[list[Comparison], list[str], dict[str, Group]]:
    """The comparisons a study contributes, the problems found on the way, and its groups."""
    groups, from_table = study_groups(values)
    problems: list[str] = []
    confirmed = [
        (row.get("treatment"), row.get("control")) for row in table_rows(values.get(COMPARISONS))
    ]
    confirmed = [(t, c) for t, c in confirmed if t or c]
    if not confirmed:
        proposal = propose_comparisons(groups.values())
        if from_table:
            shown = "; ".join(f"{t} vs {c}" for t, c in proposal) or "none"
            problems.append(
                f"no comparison confirmed under Groups and comparisons (the form proposes: {shown})"
            )
            return [], problems, groups
        how = "inferred from the group roles of an older form (PRP vs comparator)"
        pairs, confirmed_how = proposal, how
    else:
        pairs, confirmed_how = confirmed, "confirmed by the extractors"
    comparisons = []
    for treatment, control in pairs:
        t, c = groups.get(normalised_label(treatment)), groups.get(normalised_label(control))
        if t is None or c is None:
            missing = treatment if t is None else control
            problems.append(
                f"the comparison {treatment} vs {control} names '{missing}', "
                "which is not a group of this study"
            )
            continue
        if t.label == c.label:
            problems.append(f"the comparison {t.label} vs {c.label} compares a group with itself")
            continue
        comparisons.append(Comparison(t, c, confirmed_how))
    if not comparisons and not problems:
        problems.append("no PRP group with a vehicle or untreated control to compare")
    return comparisons, problems, groups
