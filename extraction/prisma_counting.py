"""Every box of the PRISMA 2020 flow diagram, counted from the live database in one place.

Each record of a finished import is followed down its column (databases and registers on the
left, other methods on the right) and counted in exactly one box of each step, so every box
balances at every moment (records in = records that left + records that went on):

- identified -> removed before screening (a merged duplicate; a record not entered into
  screening) | awaiting screening (no final title/abstract decision yet) | not screened
  after stopping (no decision at all, and the team stopped by its stopping rule) | screened
- screened -> excluded (resolved without going on to full text) | sought for retrieval
- sought -> not retrieved (the lead marked the full text so; never counted again below) |
  awaiting assessment | not assessed after stopping | assessed for eligibility
- assessed -> excluded with its reason | included

Studies are counted apart from reports: the reports of one study (`reviewmgr.ReportLink`)
count once as a study. In an updated review, the batches marked as the previous version's
included studies fill the "previous studies" column and are never screened again.

Reads a handful of indexed queries and follows records in Python (0.2 s at 20k records,
0.7 s at 60k on SQLite: benches/prisma_bench.py); the Reports page and the diagram download
each call it once.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from extraction.prisma import PrismaCounts
from reviewmgr.models import ImportBatch, Record, Review
from reviewmgr.studies import study_keys
from screening.models import (
    Decision,
    FullText,
    RecordScreening,
    Resolution,
    Stage,
    StoppingDecision,
    Verdict,
)

REGISTERS = {ImportBatch.Source.REGISTER}
NO_REASON = "No reason given"
UNCLEAR = "Eligibility unclear (all reviewers said maybe)"
RESOLVED = RecordScreening.Status.RESOLVED


def full_text_reasons(review: Review) -> dict[int, str]:
    """The exclusion reason of each record excluded at full text: the lead's resolution
    reason, else the reason most reviewers gave (ties: alphabetical)."""
    excluded = RecordScreening.objects.filter(
        review=review, stage=Stage.FULL_TEXT, status=RESOLVED, outcome=Verdict.EXCLUDE
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


def stop_in_force(review: Review, stage: str) -> StoppingDecision | None:
    """The stop in force at a stage: the lead's last word there was to stop."""
    last = StoppingDecision.objects.filter(review=review, stage=stage).last()
    return last if last is not None and last.kind == StoppingDecision.Kind.STOPPED else None


def _stop_label(stop: StoppingDecision | None) -> str:
    if stop is None:
        return ""
    rule = stop.rule or "the team's stopping rule"
    return f"{rule}; stopped {stop.decided_at:%Y-%m-%d}"


@dataclass
class _Column:
    """One column's boxes while records are followed down it."""

    sources: Counter = field(default_factory=Counter)
    duplicates: int = 0
    removed: int = 0
    awaiting_screening: int = 0
    stopped_screening: int = 0
    screened: int = 0
    excluded: int = 0
    sought: int = 0
    not_retrieved: int = 0
    awaiting_assessment: int = 0
    stopped_assessment: int = 0
    assessed: int = 0
    reasons: Counter = field(default_factory=Counter)
    included: list[int] = field(default_factory=list)

    def reason_pairs(self) -> tuple[tuple[str, int], ...]:
        return tuple(sorted(self.reasons.items(), key=lambda item: (-item[1], item[0])))


def _states(review: Review, stage: str) -> dict[int, tuple[str, str, int]]:
    rows = RecordScreening.objects.filter(review=review, stage=stage)
    return {
        pk: (status, outcome, n)
        for pk, status, outcome, n in rows.values_list(
            "record_id", "status", "outcome", "decision_count"
        )
    }


def _count_unsettled(column, step: str, decisions: int, stop) -> None:
    """A record not yet settled at `step` (screening or assessment): one nobody decided after
    the stopping rule stopped that step is "not screened after stopping"; any other awaits."""
    name = f"stopped_{step}" if decisions == 0 and stop is not None else f"awaiting_{step}"
    setattr(column, name, getattr(column, name) + 1)


def prisma_counts(review: Review) -> PrismaCounts:
    """Every number of the PRISMA 2020 flow diagram, counted from the database."""
    records = Record.objects.filter(review=review, batch__status=ImportBatch.Status.DONE)
    title_abstract = _states(review, Stage.TITLE_ABSTRACT)
    full_text = _states(review, Stage.FULL_TEXT)
    not_retrieved = set(
        FullText.objects.filter(record__review=review, not_retrieved=True).values_list(
            "record_id", flat=True
        )
    )
    reasons = full_text_reasons(review)
    screening_stop = stop_in_force(review, Stage.TITLE_ABSTRACT)
    assessment_stop = stop_in_force(review, Stage.FULL_TEXT)
    databases, other = _Column(), _Column()
    registers: Counter = Counter()
    previous: list[int] = []
    rows = records.values_list("pk", "batch__source", "batch__version_role", "duplicate_of_id")
    for pk, source, version_role, duplicate_of in rows.order_by("pk").iterator(chunk_size=5000):
        if version_role == ImportBatch.Version.PREVIOUS:
            if duplicate_of is None:
                previous.append(pk)
            continue
        column = other if source in ImportBatch.OTHER_METHODS else databases
        label = ImportBatch.Source(source).label
        (registers if source in REGISTERS else column.sources)[label] += 1
        if duplicate_of is not None:
            column.duplicates += 1
            continue
        state = title_abstract.get(pk)
        if state is None:
            column.removed += 1
            continue
        status, _, decisions = state
        if status != RESOLVED:
            _count_unsettled(column, "screening", decisions, screening_stop)
            continue
        column.screened += 1
        state = full_text.get(pk)
        if state is None:
            column.excluded += 1
            continue
        column.sought += 1
        if pk in not_retrieved:
            column.not_retrieved += 1
            continue
        status, outcome, decisions = state
        if status != RESOLVED:
            _count_unsettled(column, "assessment", decisions, assessment_stop)
            continue
        column.assessed += 1
        if outcome == Verdict.INCLUDE:
            column.included.append(pk)
        else:
            column.reasons[reasons.get(pk, UNCLEAR)] += 1

    keys = study_keys(review)
    previous_studies = {keys.get(pk, pk) for pk in previous}
    new_reports = databases.included + other.included
    new_studies = {keys.get(pk, pk) for pk in new_reports} - previous_studies
    return PrismaCounts(
        databases=tuple(sorted(databases.sources.items())),
        registers=tuple(sorted(registers.items())),
        other_sources=tuple(sorted(other.sources.items())),
        duplicates_removed=databases.duplicates,
        other_removed=databases.removed,
        awaiting_screening=databases.awaiting_screening,
        not_screened_after_stopping=databases.stopped_screening,
        screened=databases.screened,
        excluded_screening=databases.excluded,
        sought=databases.sought,
        not_retrieved=databases.not_retrieved,
        awaiting_assessment=databases.awaiting_assessment,
        not_assessed_after_stopping=databases.stopped_assessment,
        assessed=databases.assessed,
        excluded_reasons=databases.reason_pairs(),
        reports_included=len(databases.included),
        other_duplicates_removed=other.duplicates,
        other_removed_other_reasons=other.removed,
        other_awaiting_screening=other.awaiting_screening,
        other_not_screened_after_stopping=other.stopped_screening,
        other_screened=other.screened,
        other_excluded_screening=other.excluded,
        other_sought=other.sought,
        other_not_retrieved=other.not_retrieved,
        other_awaiting_assessment=other.awaiting_assessment,
        other_not_assessed_after_stopping=other.stopped_assessment,
        other_assessed=other.assessed,
        other_excluded_reasons=other.reason_pairs(),
        other_reports_included=len(other.included),
        screening_stop=_stop_label(screening_stop),
        assessment_stop=_stop_label(assessment_stop),
        updated=ImportBatch.objects.filter(
            review=review,
            status=ImportBatch.Status.DONE,
            version_role=ImportBatch.Version.PREVIOUS,
        ).exists(),
        previous_studies=len(previous_studies),
        previous_reports=len(previous),
        new_studies=len(new_studies),
        new_reports=len(new_reports),
        included_studies=len(previous_studies) + len(new_studies),
        included_reports=len(previous) + len(new_reports),
    )
