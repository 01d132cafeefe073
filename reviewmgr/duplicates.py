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
from django.db.models import Count
from django.utils import timezone

from reviewmgr import audit, bulk, dedup, studies
from reviewmgr.models import DuplicateGroup, Record, Review, User
from reviewmgr.signals import duplicates_merged, duplicates_unmerged

DEDUP_FIELDS = (
    "id", "title", "authors", "year", "journal", "volume", "issue", "pages", "doi", "pmid",
    "pmcid", "type", "abstract", "duplicate_group_id",
)  # fmt: skip
ORDER_FIELDS = ("batch_id", "position")  # the order the engine sees records in
LOOKUP_CHUNK = 2000  # values per IN (...) list
ANALYZE_AFTER = 20_000  # keys written: let PostgreSQL's planner see them
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


def search_keys(values: dict) -> dict:
    """The key columns and prepared form of a record about to be stored (`values` holds its
    fields by name), so that an import writes them with the record and the search that follows
    reads them back instead of preparing every new record again."""
    prepared = dedup.prepare(_dedup_record({"id": 0, **values}))
    return dedup.key_columns(prepared) | {
        "dedup_prepared": dedup.stored(prepared),
        "keys_written": True,
    }


def find_duplicates_in_review(
    *, review: Review, new_record_ids: Collection[int] | None = None
) -> DedupOutcome:
    """Look for duplicates of `new_record_ids` (or among all records) and record the groups.

    Only the records that can matter are read: the new ones, those not yet seen by a search,
    and those sharing a block key with a new one (looked up in the indexed key columns, and
    read back in the form the engine compares), so that an import into a large review costs
    about what the same file costs alone. New groups are written in bulk, since at 100k
    records queries per group would cost minutes.
    """
    records = Record.objects.filter(review=review)
    unkeyed = set(records.unkeyed().values_list("id", flat=True))
    if new_record_ids is None:
        rows = list(records.values(*DEDUP_FIELDS, *ORDER_FIELDS))
    else:
        rows = _rows(unkeyed)  # new records are keyed as they are stored (search_keys)
    prepared = {row["id"]: dedup.prepare(_dedup_record(row)) for row in rows}
    _write_keys([prepared[pk] for pk in unkeyed if pk in prepared])
    order = {row["id"]: (row["batch_id"], row["position"]) for row in rows}
    oversized: set[str] = set()
    if new_record_ids is not None:
        _read_stored(set(new_record_ids) - prepared.keys(), prepared, order)
        new = [prepared[pk] for pk in new_record_ids if pk in prepared]
        # after a first import every record is at hand already: nothing to look up
        everything = records.count() == len(prepared)
        sharing, oversized = (set(), set()) if everything else _sharing_keys(records, new)
        _read_stored(sharing - prepared.keys(), prepared, order)
    candidates = dedup.find_duplicates_prepared(
        [prepared[pk] for pk in sorted(order, key=order.__getitem__)],
        new_ids=new_record_ids,
        oversized=oversized,
    )
    by_id = {row["id"]: row for row in rows}
    in_groups = {pk for candidate in candidates for pk in candidate.record_ids}
    by_id.update((row["id"], row) for row in _rows(in_groups - by_id.keys()))
    grouped = {pk for pk in in_groups if by_id[pk]["duplicate_group_id"]}
    fresh = [c for c in candidates if grouped.isdisjoint(c.record_ids)]
    joining = [c for c in candidates if not grouped.isdisjoint(c.record_ids)]
    outcome = DedupOutcome()
    with transaction.atomic():
        hidden_before = Record.objects.filter(review=review).removed_duplicates().count()
        for group in _create_groups(review, fresh, by_id):
            outcome.add(group)
        merges: list[tuple[int, list[int]]] = []
        for group in _join_existing(joining, by_id, merges):
            outcome.add(group)
        _announce(review, merges)
        if outcome.merged:
            _log_automatic_merges(review, outcome, hidden_before)
    return outcome


def _read_stored(ids: Collection[int], prepared: dict, order: dict) -> None:
    """Add the records `ids` to `prepared` in the form their search keys were written from;
    a record whose stored form cannot be read (kept by another version, or damaged) is
    prepared again from its fields and its keys written anew."""
    unreadable = []
    for row in _stored_rows(ids):
        order[row["id"]] = (row["batch_id"], row["position"])
        try:
            prepared[row["id"]] = dedup.from_stored(row["id"], row["dedup_prepared"])
        except (TypeError, ValueError, KeyError):
            unreadable.append(row["id"])
    for row in _rows(unreadable):
        prepared[row["id"]] = dedup.prepare(_dedup_record(row))
    _write_keys([prepared[pk] for pk in unreadable])


def _chunks(ids: Collection[int]):
    ordered = sorted(ids)
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        yield ordered[start : start + LOOKUP_CHUNK]


def _rows(ids: Collection[int]) -> list[dict]:
    """The matching fields of the records `ids`."""
    rows = []
    for chunk in _chunks(ids):
        rows += Record.objects.filter(id__in=chunk).values(*DEDUP_FIELDS, *ORDER_FIELDS)
    return rows


def _stored_rows(ids: Collection[int]) -> list[dict]:
    """The stored prepared form of the records `ids` (their keys are written)."""
    rows = []
    for chunk in _chunks(ids):
        rows += Record.objects.filter(id__in=chunk).values("id", "dedup_prepared", *ORDER_FIELDS)
    return rows


def _write_keys(prepared: list) -> None:
    """Write the keys and prepared form of records seen for the first time (or since a
    change to their fields)."""
    columns = [*dedup.KEY_COLUMNS.values(), "dedup_prepared", "keys_written"]
    fields = [Record._meta.get_field(column) for column in columns]
    adapt_json = bulk.json_adapter()
    rows = []
    for record in prepared:
        values = dedup.key_columns(record)
        values["dedup_prepared"] = adapt_json(dedup.stored(record), None)
        values["keys_written"] = True
        rows.append([values[column] for column in columns] + [record.id])
    with transaction.atomic():
        bulk.update_rows(Record, fields, rows)
    if len(rows) >= ANALYZE_AFTER:
        bulk.refresh_statistics(Record)


def _sharing_keys(records, new: list) -> tuple[set[int], set[str]]:
    """Ids of the records sharing a block key with one of `new`, and the backup keys whose
    blocks are too large to compare (their members are not read: the engine drops them)."""
    ids: set[int] = set()
    oversized: set[str] = set()
    keys = [dedup.key_columns(record) for record in new]
    for kind, column in dedup.KEY_COLUMNS.items():
        values = sorted({record_keys[column] for record_keys in keys} - {""})
        for start in range(0, len(values), LOOKUP_CHUNK):
            chunk = values[start : start + LOOKUP_CHUNK]
            matching = records.filter(**{f"{column}__in": chunk})
            if kind in dedup.LOOSE_KINDS:
                large = set(
                    matching.values(column)
                    .annotate(size=Count("id"))
                    .filter(size__gt=dedup.MAX_BLOCK_SIZE)
                    .values_list(column, flat=True)
                )
                oversized.update(f"{kind}:{value}" for value in large)
                matching = matching.exclude(**{f"{column}__in": large})
            ids.update(matching.values_list("id", flat=True))
    return ids, oversized


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
    Record.objects.filter(pk__in=[fill[-1] for fill in fills]).forget_dedup_keys()
    _announce(review, merges)
    return groups


GROUP_FIELDS = ("reasons", "score", "status", "primary", "filled_fields")  # a join changes
_PREFERENCE = [
    DuplicateGroup.Status.MERGED,
    DuplicateGroup.Status.PENDING,
    DuplicateGroup.Status.REJECTED,
]


def _join_existing(
    candidates: list[dedup.CandidateGroup], by_id: dict[int, dict], merges: list
) -> list[DuplicateGroup]:
    """Candidates that reach records already grouped: their loose records join that group
    (merged again when the group was merged and the match is certain). Worked out in memory
    and written in a few statements, since a new search into a large review brings thousands;
    the merges made are added to `merges`, announced once for all of them."""
    targets = {by_id[pk]["duplicate_group_id"] for c in candidates for pk in c.record_ids}
    groups = DuplicateGroup.objects.in_bulk(targets - {None})
    members: dict[int, list[dict]] = {pk: [] for pk in groups}
    for chunk in _chunks(groups):
        for row in Record.objects.filter(duplicate_group_id__in=chunk).values(*DEDUP_FIELDS):
            members[row["duplicate_group_id"]].append(by_id.get(row["id"], row))
    joined: dict[int, DuplicateGroup] = {}
    merged_again: set[int] = set()
    for candidate in candidates:
        loose = [pk for pk in candidate.record_ids if not by_id[pk]["duplicate_group_id"]]
        if not loose:
            continue  # nothing new: these records' groups were already settled
        existing = {by_id[pk]["duplicate_group_id"] for pk in candidate.record_ids} - {None}
        group = min(
            (groups[pk] for pk in existing), key=lambda g: (_PREFERENCE.index(g.status), g.pk)
        )
        group.reasons = [*group.reasons, *[r for r in candidate.reasons if r not in group.reasons]]
        group.score = min(group.score, candidate.score)
        for pk in loose:
            by_id[pk]["duplicate_group_id"] = group.pk
            members[group.pk].append(by_id[pk])
        joined[group.pk] = group
        if group.status == DuplicateGroup.Status.MERGED and candidate.automatic:
            merged_again.add(group.pk)
        else:
            group.status = DuplicateGroup.Status.PENDING
            merged_again.discard(group.pk)
            if group.primary_id is None:
                group.primary_id = min(members[group.pk], key=_richness)["id"]
    loose_rows, filled, copies = [], {}, []
    for group in joined.values():
        rows = members[group.pk]
        loose_rows += [[group.pk, row["id"]] for row in rows if row["id"] in by_id]
        if group.pk not in merged_again:
            continue
        primary, copy_ids = _merge_rows(group, rows, filled)
        copies += [[primary["id"], pk] for pk in copy_ids] + [[None, primary["id"]]]
        merges.append((primary["id"], copy_ids))
    meta = Record._meta
    bulk.update_rows(Record, [meta.get_field("duplicate_group")], loose_rows)
    bulk.update_rows(Record, [meta.get_field("duplicate_of")], copies)
    bulk.update_rows(
        Record,
        [meta.get_field(name) for name in FILLABLE_FIELDS],
        [[row[name] for name in FILLABLE_FIELDS] + [pk] for pk, row in filled.items()],
    )
    Record.objects.filter(pk__in=list(filled)).forget_dedup_keys()
    adapt_json = bulk.json_adapter()
    bulk.update_rows(
        DuplicateGroup,
        [DuplicateGroup._meta.get_field(name) for name in GROUP_FIELDS],
        [
            [
                adapt_json(group.reasons, None),
                group.score,
                group.status,
                group.primary_id,
                adapt_json(group.filled_fields, None),
                group.pk,
            ]
            for group in joined.values()
        ],
    )
    return list(joined.values())


def _merge_rows(group: DuplicateGroup, rows: list[dict], filled: dict) -> tuple[dict, list[int]]:
    """A merged group's primary filled anew from all its members, as _merge does, in memory:
    the rows whose fields change are put in `filled` (by id)."""
    previous = group.filled_fields or {}
    restored = next((row for row in rows if row["id"] == previous.get("record")), None)
    if previous.get("original") and restored is not None:
        restored.update(previous["original"])
        filled[restored["id"]] = restored
    primary = next((row for row in rows if row["id"] == group.primary_id), None)
    if primary is None:
        primary = min(rows, key=_richness)
    values, original = _fill(primary, rows)
    if values:
        primary.update(values)
        filled[primary["id"]] = primary
    group.primary_id = primary["id"]
    group.filled_fields = {"record": primary["id"], "original": original} if original else {}
    return primary, [row["id"] for row in rows if row["id"] != primary["id"]]


def _merge(
    group: DuplicateGroup, *, primary_id: int | None, user: User, merges: list | None = None
) -> DuplicateGroup:
    """Merge `group` behind a primary; the merge is announced now, or added to `merges` for
    the caller to announce with others."""
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
        Record.objects.filter(pk=primary["id"]).forget_dedup_keys()
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
    if merges is None:
        _announce(group.review, [(primary["id"], copy_ids)])
    else:
        merges.append((primary["id"], copy_ids))
    return group


def _announce(review: Review, merges: list[tuple[int, list[int]]]) -> None:
    """Reports and screening follow the merges: each (primary id, copy ids)."""
    if merges:
        studies.carry_links_to_primary(review=review, merges=merges)
        duplicates_merged.send(DuplicateGroup, review=review, merges=merges)


def _restore_primary(group: DuplicateGroup) -> None:
    """Give the primary back the values it had before the last merge filled them."""
    original = (group.filled_fields or {}).get("original")
    record_id = (group.filled_fields or {}).get("record")
    if original and record_id:
        Record.objects.filter(pk=record_id).update(**original)
        Record.objects.filter(pk=record_id).forget_dedup_keys()
    group.filled_fields = {}


def _group_target(group: DuplicateGroup) -> audit.Target:
    return audit.Target(f"Duplicate group {group.pk}", "duplicategroup", group.pk)


@transaction.atomic
def merge_group(
    *, group: DuplicateGroup, user: User, primary: Record | None = None
) -> DuplicateGroup:
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
def reject_group(*, group: DuplicateGroup, user: User) -> DuplicateGroup:
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
