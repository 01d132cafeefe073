"""Duplicate groups of a review: finding them after imports, merging, rejecting and undoing.

The scoring lives in the pure `reviewmgr.dedup`; this module persists its answers. Nothing is
ever deleted: a merge points every copy at the primary record and fills the primary's empty
fields from its copies, remembering what it filled so that an undo restores it exactly.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from reviewmgr import dedup
from reviewmgr.models import DuplicateGroup, Record, Review
from reviewmgr.signals import duplicates_merged, duplicates_unmerged

DEDUP_FIELDS = (
    "id",
    "title",
    "authors",
    "year",
    "journal",
    "volume",
    "issue",
    "pages",
    "doi",
    "pmid",
    "pmcid",
    "type",
    "abstract",
    "duplicate_group_id",
)
# Fields a merge may copy into the primary when the primary lacks them.
FILLABLE_FIELDS = (
    "abstract",
    "doi",
    "pmid",
    "pmcid",
    "journal",
    "volume",
    "issue",
    "pages",
    "year",
)


@dataclass
class DedupOutcome:
    merged: list[DuplicateGroup] = field(default_factory=list)
    pending: list[DuplicateGroup] = field(default_factory=list)


def _dedup_record(row: dict) -> dedup.DedupRecord:
    return dedup.DedupRecord(
        id=row["id"],
        title=row["title"],
        authors=tuple(row["authors"] or ()),
        year=row["year"],
        journal=row["journal"],
        volume=row["volume"],
        issue=row["issue"],
        pages=row["pages"],
        doi=row["doi"],
        pmid=row["pmid"],
        pmcid=row["pmcid"],
        type=row["type"],
        abstract=row["abstract"],
    )


def _richness(record: Record) -> tuple:
    """Which copy makes the best primary: identifiers, then the fullest abstract, then age."""
    identifiers = sum(bool(getattr(record, name)) for name in ("doi", "pmid", "pmcid"))
    return (-identifiers, -len(record.abstract), -len(record.authors), record.pk)


def find_duplicates_in_review(
    *, review: Review, new_record_ids: Collection[int] | None = None
) -> DedupOutcome:
    """Look for duplicates of `new_record_ids` (or among all records) and record the groups.

    Costs one read of every record's matching fields and a few writes per group found.
    """
    rows = list(Record.objects.filter(review=review).values(*DEDUP_FIELDS))
    group_of = {row["id"]: row["duplicate_group_id"] for row in rows}
    candidates = dedup.find_duplicates((_dedup_record(row) for row in rows), new_ids=new_record_ids)
    outcome = DedupOutcome()
    with transaction.atomic():
        for candidate in candidates:
            group = _record_candidate(review, candidate, group_of)
            if group is None:
                continue
            if group.status == DuplicateGroup.Status.MERGED:
                outcome.merged.append(group)
            else:
                outcome.pending.append(group)
    return outcome


def _record_candidate(
    review: Review, candidate: dedup.CandidateGroup, group_of: dict[int, int | None]
) -> DuplicateGroup | None:
    existing_ids = {group_of[pk] for pk in candidate.record_ids if group_of.get(pk)}
    loose = [pk for pk in candidate.record_ids if not group_of.get(pk)]
    if existing_ids and not loose:
        return None  # nothing new: these records' groups were already settled
    if existing_ids:
        preference = [
            DuplicateGroup.Status.MERGED,
            DuplicateGroup.Status.PENDING,
            DuplicateGroup.Status.REJECTED,
        ]
        group = min(
            DuplicateGroup.objects.filter(pk__in=existing_ids),
            key=lambda g: (preference.index(g.status), g.pk),
        )
        group.reasons = [*group.reasons, *[r for r in candidate.reasons if r not in group.reasons]]
        group.score = min(group.score, candidate.score)
        Record.objects.filter(pk__in=loose).update(duplicate_group=group)
        for pk in loose:
            group_of[pk] = group.pk
        if group.status == DuplicateGroup.Status.MERGED and candidate.automatic:
            group.save(update_fields=["reasons", "score"])
            _merge(group, primary=group.primary, user=None)
        else:
            group.status = DuplicateGroup.Status.PENDING
            group.primary = group.primary or min(group.records.all(), key=_richness)
            group.save(update_fields=["reasons", "score", "status", "primary"])
        return group
    group = DuplicateGroup.objects.create(
        review=review,
        score=candidate.score,
        reasons=candidate.reasons,
        automatic=candidate.automatic,
    )
    Record.objects.filter(pk__in=candidate.record_ids).update(duplicate_group=group)
    for pk in candidate.record_ids:
        group_of[pk] = group.pk
    if candidate.automatic:
        _merge(group, primary=None, user=None)
    else:
        group.primary = min(group.records.all(), key=_richness)  # the suggestion a lead sees
        group.save(update_fields=["primary"])
    return group


def _merge(group: DuplicateGroup, *, primary: Record | None, user) -> DuplicateGroup:
    _restore_primary(group)
    records = list(group.records.all())
    by_pk = {record.pk: record for record in records}
    primary = by_pk.get(primary.pk) if primary is not None else None
    if primary is None:
        primary = min(records, key=_richness)
    filled: dict[str, object] = {}
    for name in FILLABLE_FIELDS:
        current = getattr(primary, name)
        best = current
        for copy in records:
            value = getattr(copy, name)
            longer_abstract = name == "abstract" and len(value or "") > len(best or "")
            if (not best and value) or longer_abstract:
                best = value
        if best != current:
            filled[name] = current
            setattr(primary, name, best)
    if filled:
        primary.save(update_fields=list(filled))
    group.records.exclude(pk=primary.pk).update(duplicate_of=primary)
    group.records.filter(pk=primary.pk).update(duplicate_of=None)
    group.primary = primary
    group.filled_fields = {"record": primary.pk, "original": filled}
    group.status = DuplicateGroup.Status.MERGED
    if user is not None:
        group.decided_by = user
        group.decided_at = timezone.now()
    group.save()
    copy_ids = [record.pk for record in records if record.pk != primary.pk]
    duplicates_merged.send(DuplicateGroup, group=group, primary_id=primary.pk, copy_ids=copy_ids)
    return group


def _restore_primary(group: DuplicateGroup) -> None:
    """Give the primary back the values it had before the last merge filled them."""
    original = (group.filled_fields or {}).get("original")
    record_id = (group.filled_fields or {}).get("record")
    if original and record_id:
        Record.objects.filter(pk=record_id).update(**original)
    group.filled_fields = {}


@transaction.atomic
def merge_group(*, group: DuplicateGroup, user, primary: Record | None = None) -> DuplicateGroup:
    """A lead confirms a group (optionally choosing its primary)."""
    return _merge(group, primary=primary, user=user)


@transaction.atomic
def reject_group(*, group: DuplicateGroup, user) -> DuplicateGroup:
    """Not duplicates after all (also undoes a merge): every record stands alone again."""
    was_merged = group.status == DuplicateGroup.Status.MERGED
    _restore_primary(group)
    group.records.update(duplicate_of=None)
    if was_merged:
        record_ids = list(group.records.values_list("pk", flat=True))
        duplicates_unmerged.send(DuplicateGroup, group=group, record_ids=record_ids)
    group.status = DuplicateGroup.Status.REJECTED
    group.primary = None
    group.decided_by = user
    group.decided_at = timezone.now()
    group.save()
    return group


@transaction.atomic
def detach_records(*, record_ids: Collection[int]) -> None:
    """Before records are deleted (a batch goes): keep their groups sound without them."""
    groups = DuplicateGroup.objects.filter(records__pk__in=record_ids).distinct()
    for group in groups:
        remaining = list(group.records.exclude(pk__in=record_ids))
        if len(remaining) < 2:
            _restore_primary(group)
            group.records.update(duplicate_of=None, duplicate_group=None)
            if group.status == DuplicateGroup.Status.MERGED:
                kept = [record.pk for record in remaining]
                duplicates_unmerged.send(DuplicateGroup, group=group, record_ids=kept)
            group.delete()
        elif group.status == DuplicateGroup.Status.MERGED:
            group.records.filter(pk__in=record_ids).update(duplicate_group=None)
            keep = group.primary if group.primary_id not in record_ids else None
            _merge(group, primary=keep, user=None)
        else:
            group.records.filter(pk__in=record_ids).update(duplicate_group=None)
