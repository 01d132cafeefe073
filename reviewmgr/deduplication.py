"""Duplicate groups of a review: finding them after imports, merging, rejecting and undoing.

The scoring lives in the pure `reviewmgr.dedup`; this module persists its answers. Nothing is
ever deleted: a merge points every copy at the primary record and fills the primary's empty
fields from its copies, remembering what it filled so that an undo restores it exactly.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from reviewmgr import audit, bulk, dedup
from reviewmgr.models import DuplicateGroup, Record, Review
from reviewmgr.signals import duplicates_merged, duplicates_unmerged

DEDUP_FIELDS = (
    "id", "title", "authors", "year", "journal", "volume", "issue", "pages", "doi", "pmid",
    "pmcid", "type", "abstract", "duplicate_group_id",
)  # fmt: skip
# Fields a merge may copy into the primary when the primary lacks them.
FILLABLE_FIELDS = (
    "abstract", "doi", "pmid", "pmcid", "journal", "volume", "issue", "pages", "year",
)  # fmt: skip


@dataclass
class DedupOutcome:
    merged: list[DuplicateGroup] = field(default_factory=list)
    pending: list[DuplicateGroup] = field(default_factory=list)

    def add(self, group: DuplicateGroup) -> None:
        merged = group.status == DuplicateGroup.Status.MERGED
        (self.merged if merged else self.pending).append(group)


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


def _richness(row: dict) -> tuple:
    """Which copy makes the best primary: identifiers, then the fullest abstract, then age."""
    identifiers = sum(bool(row[name]) for name in ("doi", "pmid", "pmcid"))
    return (-identifiers, -len(row["abstract"] or ""), -len(row["authors"] or ()), row["id"])


def _fill(primary: dict, members: list[dict]) -> tuple[dict, dict]:
    """The primary's empty fields (and a shorter abstract) taken from its copies.

    Returns the new values and the values they replace, both by field name.
    """
    values, original = {}, {}
    for name in FILLABLE_FIELDS:
        best = primary[name]
        for member in members:
            value = member[name]
            longer_abstract = name == "abstract" and len(value or "") > len(best or "")
            if (not best and value) or longer_abstract:
                best = value
        if best != primary[name]:
            values[name], original[name] = best, primary[name]
    return values, original


def find_duplicates_in_review(
    *, review: Review, new_record_ids: Collection[int] | None = None
) -> DedupOutcome:
    """Look for duplicates of `new_record_ids` (or among all records) and record the groups.

    One read of every record's matching fields; new groups are then written in bulk, since at
    100k records with a third of them duplicates, queries per group would cost minutes.
    """
    rows = list(Record.objects.filter(review=review).values(*DEDUP_FIELDS))
    by_id = {row["id"]: row for row in rows}
    candidates = dedup.find_duplicates((_dedup_record(row) for row in rows), new_ids=new_record_ids)
    grouped = {pk for pk, row in by_id.items() if row["duplicate_group_id"]}
    fresh = [c for c in candidates if grouped.isdisjoint(c.record_ids)]
    joining = [c for c in candidates if not grouped.isdisjoint(c.record_ids)]
    outcome = DedupOutcome()
    with transaction.atomic():
        hidden_before = Record.objects.filter(review=review).removed_duplicates().count()
        for group in _create_groups(review, fresh, by_id):
            outcome.add(group)
        for candidate in joining:
            group = _join_existing(candidate, by_id)
            if group is not None:
                outcome.add(group)
        if outcome.merged:
            _log_automatic_merges(review, outcome, hidden_before)
    return outcome


def _log_automatic_merges(review: Review, outcome: DedupOutcome, hidden_before: int) -> None:
    """One event for all the groups merged without a lead: after a large import there can be
    thousands, which a lead reads better as one line with counts (the groups stay listed
    under Duplicates, merged automatically)."""
    hidden = Record.objects.filter(review=review).removed_duplicates().count()
    merged = len(outcome.merged)
    waiting = f"; {len(outcome.pending)} groups wait for a lead" if outcome.pending else ""
    audit.log(
        review=review,
        actor=None,
        action=audit.Action.DUPLICATES_AUTO_MERGED,
        target=audit.Target(f"{merged} duplicate group{'s' if merged != 1 else ''}"),
        before={"duplicates_removed": hidden_before},
        after={
            "duplicates_removed": hidden,
            "groups_merged": merged,
            "groups_waiting": len(outcome.pending),
            "groups": [group.pk for group in outcome.merged[: audit.MAX_LISTED_IDS]],
        },
        summary=f"Merged {merged} group{'s' if merged != 1 else ''} of duplicates automatically "
        f"({hidden - hidden_before} records now hidden behind their primary){waiting}.",
    )


def _create_groups(
    review: Review, candidates: list[dedup.CandidateGroup], by_id: dict[int, dict]
) -> list[DuplicateGroup]:
    """Groups of records that belonged to none: created, linked and merged in a few statements."""
    plans = []
    for candidate in candidates:
        members = [by_id[pk] for pk in candidate.record_ids]
        primary = min(members, key=_richness)
        values, original = _fill(primary, members) if candidate.automatic else ({}, {})
        plans.append((candidate, primary, values, original))
    groups = DuplicateGroup.objects.bulk_create(
        [
            DuplicateGroup(
                review=review,
                score=candidate.score,
                reasons=candidate.reasons,
                automatic=candidate.automatic,
                status=DuplicateGroup.Status.MERGED
                if candidate.automatic
                else DuplicateGroup.Status.PENDING,
                primary_id=primary["id"],
                filled_fields={"record": primary["id"], "original": original} if original else {},
            )
            for candidate, primary, _, original in plans
        ],
        batch_size=1000,
    )
    links, fills, merges = [], [], []
    for group, (candidate, primary, values, _) in zip(groups, plans, strict=True):
        merged = candidate.automatic
        for pk in candidate.record_ids:
            copy_of = primary["id"] if merged and pk != primary["id"] else None
            links.append([group.pk, copy_of, pk])
            by_id[pk]["duplicate_group_id"] = group.pk
        if values:
            fills.append(
                [values.get(name, primary[name]) for name in FILLABLE_FIELDS] + [primary["id"]]
            )
        if merged:
            merges.append(
                (primary["id"], [pk for pk in candidate.record_ids if pk != primary["id"]])
            )
    meta = Record._meta
    bulk.update_rows(
        Record, [meta.get_field("duplicate_group"), meta.get_field("duplicate_of")], links
    )
    bulk.update_rows(Record, [meta.get_field(name) for name in FILLABLE_FIELDS], fills)
    if merges:
        duplicates_merged.send(DuplicateGroup, review=review, merges=merges)
    return groups


def _join_existing(
    candidate: dedup.CandidateGroup, by_id: dict[int, dict]
) -> DuplicateGroup | None:
    """A candidate that reaches records already grouped: its loose records join that group."""
    existing_ids = {by_id[pk]["duplicate_group_id"] for pk in candidate.record_ids} - {None}
    loose = [pk for pk in candidate.record_ids if not by_id[pk]["duplicate_group_id"]]
    if not loose:
        return None  # nothing new: these records' groups were already settled
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
        by_id[pk]["duplicate_group_id"] = group.pk
    if group.status == DuplicateGroup.Status.MERGED and candidate.automatic:
        group.save(update_fields=["reasons", "score"])
        return _merge(group, primary_id=group.primary_id, user=None)
    group.status = DuplicateGroup.Status.PENDING
    if group.primary_id is None:
        group.primary_id = min(group.records.values(*DEDUP_FIELDS), key=_richness)["id"]
    group.save(update_fields=["reasons", "score", "status", "primary"])
    return group


def _merge(group: DuplicateGroup, *, primary_id: int | None, user) -> DuplicateGroup:
    members = list(group.records.values(*DEDUP_FIELDS))
    if len(members) < 2:
        raise ValidationError("This group has fewer than two records left.", code="too_small")
    _restore_primary(group)
    primary = next((m for m in members if m["id"] == primary_id), None)
    if primary is None:
        primary = min(members, key=_richness)
    values, original = _fill(primary, members)
    if values:
        Record.objects.filter(pk=primary["id"]).update(**values)
    copy_ids = [m["id"] for m in members if m["id"] != primary["id"]]
    Record.objects.filter(pk__in=copy_ids).update(duplicate_of=primary["id"])
    Record.objects.filter(pk=primary["id"]).update(duplicate_of=None)
    group.primary_id = primary["id"]
    group.filled_fields = {"record": primary["id"], "original": original} if original else {}
    group.status = DuplicateGroup.Status.MERGED
    if user is not None:
        group.decided_by = user
        group.decided_at = timezone.now()
    group.save()
    duplicates_merged.send(DuplicateGroup, review=group.review, merges=[(primary["id"], copy_ids)])
    return group


def _restore_primary(group: DuplicateGroup) -> None:
    """Give the primary back the values it had before the last merge filled them."""
    original = (group.filled_fields or {}).get("original")
    record_id = (group.filled_fields or {}).get("record")
    if original and record_id:
        Record.objects.filter(pk=record_id).update(**original)
    group.filled_fields = {}


def _group_target(group: DuplicateGroup) -> audit.Target:
    return audit.Target(f"Duplicate group {group.pk}", "duplicategroup", group.pk)


@transaction.atomic
def merge_group(*, group: DuplicateGroup, user, primary: Record | None = None) -> DuplicateGroup:
    """A lead confirms a group (optionally choosing its primary)."""
    before = {"status": group.status, "primary": group.primary_id}
    group = _merge(group, primary_id=primary.pk if primary else None, user=user)
    copies = list(
        group.records.exclude(pk=group.primary_id).order_by("pk").values_list("pk", flat=True)
    )
    filled = sorted((group.filled_fields or {}).get("original", {}))
    audit.log(
        review=group.review,
        actor=user,
        action=audit.Action.DUPLICATES_MERGED,
        target=_group_target(group),
        before=before,
        after={"status": group.status, "primary": group.primary_id, "copies": copies},
        summary=f"{audit.name_of(user)} merged duplicate group {group.pk}: record "
        f"{group.primary_id} is the primary, {len(copies)} cop{'y' if len(copies) == 1 else 'ies'} "
        f"hidden behind it" + (f"; filled in its {', '.join(filled)}." if filled else "."),
    )
    return group


@transaction.atomic
def reject_group(*, group: DuplicateGroup, user) -> DuplicateGroup:
    """Not duplicates after all (also undoes a merge): every record stands alone again."""
    was_merged = group.status == DuplicateGroup.Status.MERGED
    _restore_primary(group)
    group.records.update(duplicate_of=None)
    if was_merged:
        record_ids = list(group.records.values_list("pk", flat=True))
        duplicates_unmerged.send(DuplicateGroup, group=group, record_ids=record_ids)
    before = {"status": group.status, "primary": group.primary_id}
    group.status = DuplicateGroup.Status.REJECTED
    group.primary = None
    group.decided_by = user
    group.decided_at = timezone.now()
    group.save()
    audit.log(
        review=group.review,
        actor=user,
        action=audit.Action.DUPLICATES_UNMERGED if was_merged else audit.Action.DUPLICATES_REJECTED,
        target=_group_target(group),
        before=before,
        after={"status": group.status, "primary": None},
        summary=f"{audit.name_of(user)} "
        + ("undid the merge of" if was_merged else "kept apart the records of")
        + f" duplicate group {group.pk}: each record stands on its own.",
    )
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
            keep = group.primary_id if group.primary_id not in record_ids else None
            _merge(group, primary_id=keep, user=None)
        else:
            group.records.filter(pk__in=record_ids).update(duplicate_group=None)
