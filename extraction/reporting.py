"""What the lead reports: PRISMA 2020 counts from the live database, and the outcome data
the synthesis pools. Reads only; every stage is visible from here.

PRISMA columns: records from databases and registers on the left, records from other
methods (websites, organisations, citation searching) on the right. Both columns are
screened the same way in the product; the right column's "sought for retrieval" counts its
records that reached full text, as the PRISMA 2020 template has no screening box there.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from django.db.models import Count

from extraction import conversions, schema, synthesis
from extraction.models import Extraction
from extraction.prisma import PrismaCounts
from reviewmgr.models import ImportBatch, Record, Review
from screening.models import Decision, RecordScreening, Resolution, Stage, Verdict

REGISTERS = {ImportBatch.Source.REGISTER}
NO_REASON = "No reason given"


def _sources(review: Review) -> dict[str, list[tuple[str, int]]]:
    rows = (
        Record.objects.filter(review=review, batch__status=ImportBatch.Status.DONE)
        .values("batch__source")
        .annotate(n=Count("pk"))
        .order_by("batch__source")
    )
    columns: dict[str, list[tuple[str, int]]] = {"databases": [], "registers": [], "other": []}
    for row in rows:
        source = row["batch__source"]
        label = ImportBatch.Source(source).label
        if source in ImportBatch.OTHER_METHODS:
            columns["other"].append((label, row["n"]))
        elif source in REGISTERS:
            columns["registers"].append((label, row["n"]))
        else:
            columns["databases"].append((label, row["n"]))
    return columns


def full_text_reasons(review: Review) -> dict[int, str]:
    """The exclusion reason of each record excluded at full text: the lead's resolution
    reason, else the reason most reviewers gave (ties: alphabetical)."""
    excluded = RecordScreening.objects.filter(
        review=review,
        stage=Stage.FULL_TEXT,
        status=RecordScreening.Status.RESOLVED,
        outcome=Verdict.EXCLUDE,
    ).values_list("record_id", flat=True)
    excluded = set(excluded)
    reasons: dict[int, str] = {}
    for record_id, reason in Resolution.objects.filter(
        record_id__in=excluded, stage=Stage.FULL_TEXT
    ).values_list("record_id", "reason"):
        reasons[record_id] = reason or NO_REASON
    given: dict[int, Counter] = defaultdict(Counter)
    for record_id, reason in Decision.objects.filter(
        record_id__in=excluded - reasons.keys(), stage=Stage.FULL_TEXT
    ).values_list("record_id", "reason"):
        given[record_id][reason or NO_REASON] += 1
    for record_id, counter in given.items():
        reasons[record_id] = sorted(counter.items(), key=lambda item: (-item[1], item[0]))[0][0]
    for record_id in excluded - reasons.keys():
        reasons[record_id] = NO_REASON
    return reasons


def prisma_counts(review: Review) -> PrismaCounts:
    """Every number of the PRISMA 2020 flow diagram, counted from the database."""
    columns = _sources(review)
    other_ids = set(
        Record.objects.filter(
            review=review, batch__source__in=ImportBatch.OTHER_METHODS
        ).values_list("pk", flat=True)
    )
    ta = RecordScreening.objects.filter(review=review, stage=Stage.TITLE_ABSTRACT)
    ft = RecordScreening.objects.filter(review=review, stage=Stage.FULL_TEXT)
    ft_rows = list(ft.values_list("record_id", "status", "outcome"))
    not_retrieved = set(
        ft.filter(record__full_text__not_retrieved=True).values_list("record_id", flat=True)
    )
    reasons = full_text_reasons(review)

    def side(ids_on_side) -> dict:
        sought = [r for r in ft_rows if ids_on_side(r[0])]
        missing = [r for r in sought if r[0] in not_retrieved]
        per_reason = Counter(reasons[r[0]] for r in sought if r[0] in reasons)
        return {
            "sought": len(sought),
            "not_retrieved": len(missing),
            "assessed": len(sought) - len(missing),
            "reasons": tuple(sorted(per_reason.items(), key=lambda item: (-item[1], item[0]))),
        }

    left = side(lambda pk: pk not in other_ids)
    right = side(lambda pk: pk in other_ids)
    duplicates = Record.objects.filter(review=review, duplicate_of__isnull=False).exclude(
        pk__in=other_ids
    )
    screened = ta.exclude(record_id__in=other_ids)
    included = [r for r in ft_rows if r[1] == RecordScreening.Status.RESOLVED and r[2] == "include"]
    return PrismaCounts(
        databases=tuple(columns["databases"]),
        registers=tuple(columns["registers"]),
        other_sources=tuple(columns["other"]),
        duplicates_removed=duplicates.count(),
        screened=screened.count(),
        excluded_screening=screened.filter(
            status=RecordScreening.Status.RESOLVED, outcome=Verdict.EXCLUDE
        ).count(),
        sought=left["sought"],
        not_retrieved=left["not_retrieved"],
        assessed=left["assessed"],
        excluded_reasons=left["reasons"],
        other_sought=right["sought"],
        other_not_retrieved=right["not_retrieved"],
        other_assessed=right["assessed"],
        other_excluded_reasons=right["reasons"],
        included_studies=len(included),
        included_reports=len(included),
    )


# Outcome data for the synthesis ------------------------------------------------------------

OUTCOME_TABLES = {
    "cytokines.measurements": ("analyte", "compartment"),
    "outcomes.results": ("measure",),
}
TREATMENT_ROLES = {"intervention"}
CONTROL_ROLES = {"comparator", "sham"}


@dataclass(frozen=True, slots=True)
class OutcomeKey:
    table: str
    label: str  # e.g. "IL-6, Serum" or "VAS"
    time_point: str

    @property
    def slug(self) -> str:
        return "~".join([self.table, self.label, self.time_point])


def final_extractions(review: Review, *, extractor=None):
    """Consensus extractions that are final, or one extractor's, by study."""
    rows = Extraction.objects.filter(study__review=review).select_related(
        "study__record", "template_version", "extractor"
    )
    if extractor is None:
        rows = rows.filter(kind=Extraction.Kind.CONSENSUS, final=True)
    else:
        rows = rows.filter(kind=Extraction.Kind.INDEPENDENT, extractor=extractor)
    return rows.order_by("study__record__year", "study__record_id")


def arm_figures(row: dict) -> tuple[int | None, float | None, float | None, str]:
    """n, mean and SD of one group's row: as reported, or converted (SE, CI, median and
    IQR or range) with the method named."""
    number = {}
    for key in ("n", "mean", "sd", "se", "ci_lower", "ci_upper", "median", "q1", "q3"):
        value = row.get(key)
        number[key] = value.get("value") if isinstance(value, dict) else value
    number["minimum"], number["maximum"] = row.get("minimum"), row.get("maximum")
    try:
        estimate = conversions.estimate(**{k: v for k, v in number.items() if v is not None})
    except conversions.ConversionError as error:
        return number["n"], number["mean"], None, f"not converted: {error}"
    if estimate is None:
        return number["n"], number["mean"], None, ""
    return number["n"], estimate.mean, estimate.sd, estimate.method


def _label(template: schema.Template, table: str, row: dict) -> str:
    keys = OUTCOME_TABLES[table]
    parts = []
    for key in keys:
        try:
            column = template.field(f"{table}.{key}")
        except KeyError:
            continue
        value = row.get(key)
        other = row.get(f"{key}_other")
        parts.append(other if value == "other" and other else schema.display_value(column, value))
    return ", ".join(p for p in parts if p)


@dataclass(frozen=True, slots=True)
class Outcome:
    key: OutcomeKey
    comparisons: tuple[synthesis.StudyComparison, ...]
    # as the extractors entered it ("Lower is better" for VAS, "Higher is better" for a
    # withdrawal threshold); cytokines default to lower is better (less inflammation)
    higher_is_better: bool


def outcome_comparisons(review: Review) -> dict[OutcomeKey, Outcome]:
    """For each outcome and time point, the studies with a PRP group and a control group that
    both have n, mean and SD (converted where needed). One comparison per study."""
    found: dict[OutcomeKey, list[synthesis.StudyComparison]] = defaultdict(list)
    directions: dict[OutcomeKey, Counter] = defaultdict(Counter)
    templates: dict[int, schema.Template] = {}
    for extraction in final_extractions(review):
        version = extraction.template_version
        template = schema.load_once(templates, version.pk, version.definition)
        label = extraction.study.record.short_authors or f"Record {extraction.study.record_id}"
        year = extraction.study.record.year
        study_label = f"{label} {year}" if year else label
        for table in OUTCOME_TABLES:
            groups: dict[OutcomeKey, dict[str, synthesis.Arm]] = defaultdict(dict)
            for row in extraction.values.get(table) or []:
                role = row.get("group_role")
                side = (
                    "treatment"
                    if role in TREATMENT_ROLES
                    else "control"
                    if role in CONTROL_ROLES
                    else None
                )
                if side is None:
                    continue
                n, mean, sd, _ = arm_figures(row)
                if not n or n < 2 or mean is None or not sd:
                    continue  # an arm of one has no spread to compare
                key = OutcomeKey(table, _label(template, table, row), row.get("time_point") or "")
                if row.get("direction"):
                    directions[key][row["direction"] == "higher_better"] += 1
                groups[key].setdefault(
                    side, synthesis.Arm(n=int(n), mean=float(mean), sd=float(sd))
                )
            for key, arms in groups.items():
                if {"treatment", "control"} <= arms.keys():
                    found[key].append(
                        synthesis.StudyComparison(
                            label=study_label, treatment=arms["treatment"], control=arms["control"]
                        )
                    )
    return {
        key: Outcome(
            key=key,
            comparisons=tuple(comparisons),
            higher_is_better=bool(directions[key]) and directions[key].most_common(1)[0][0],
        )
        for key, comparisons in found.items()
    }


def poolable_outcomes(review: Review) -> dict[OutcomeKey, Outcome]:
    """Outcomes at a time point that at least two studies report for both groups."""
    return {k: o for k, o in outcome_comparisons(review).items() if len(o.comparisons) >= 2}


def meta_analysis(outcome: Outcome) -> synthesis.MetaAnalysis:
    title = f"{outcome.key.label}, {outcome.key.time_point}".strip(", ")
    return synthesis.meta_analyse(
        outcome.comparisons, outcome=title, higher_is_better=outcome.higher_is_better
    )
