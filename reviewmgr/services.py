"""Writes that matter for reviews, members and imports. Views, commands and tasks call these."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from reviewmgr import bulk, importers, signals
from reviewmgr.deduplication import detach_records, find_duplicates_in_review
from reviewmgr.importers import ImportFileError, ParsedRecord, ParseResult
from reviewmgr.models import ImportBatch, Membership, Record, RecordCorrection, Review
from reviewmgr.signals import records_imported

User = get_user_model()

RECORD_WRITE_CHUNK = 5000
ANALYZE_AFTER = 5000  # records; below that the planner's old figures are close enough
MAX_REPORTED_PROBLEMS = 20


# Reviews and members ---------------------------------------------------------------------------


@transaction.atomic
def create_review(
    *,
    title: str,
    slug: str,
    created_by,
    question: str = "",
    inclusion_criteria: str = "",
    exclusion_criteria: str = "",
    inclusion_keywords: Iterable[str] = (),
    exclusion_keywords: Iterable[str] = (),
) -> Review:
    """A new review whose creator is its first lead (and a reviewer, so a lead can screen)."""
    review = Review.objects.create(
        title=title,
        slug=slug,
        question=question,
        inclusion_criteria=inclusion_criteria,
        exclusion_criteria=exclusion_criteria,
        inclusion_keywords=list(inclusion_keywords),
        exclusion_keywords=list(exclusion_keywords),
        created_by=created_by,
    )
    Membership.objects.create(review=review, user=created_by, is_lead=True, is_reviewer=True)
    return review


def _role_flags(roles: Iterable[str]) -> dict[str, bool]:
    roles = set(roles)
    unknown = roles - set(Membership.Role.values)
    if unknown:
        raise ValidationError(f"Unknown role: {', '.join(sorted(unknown))}.", code="unknown_role")
    if not roles:
        raise ValidationError("Give the member at least one role.", code="no_role")
    return {f"is_{role}": role in roles for role in Membership.Role.values}


@transaction.atomic
def add_member(*, review: Review, username: str, roles: Iterable[str]) -> Membership:
    user = User.objects.filter(username__iexact=username.strip()).first()
    if user is None:
        raise ValidationError(f"There is no user called '{username}'.", code="unknown_user")
    if review.memberships.filter(user=user).exists():
        raise ValidationError(
            f"{user.username} is already a member of this review.", code="already_member"
        )
    return Membership.objects.create(review=review, user=user, **_role_flags(roles))


def _ensure_another_lead(membership: Membership) -> None:
    other_leads = membership.review.memberships.filter(is_lead=True).exclude(pk=membership.pk)
    if membership.is_lead and not other_leads.exists():
        raise ValidationError(
            "A review needs at least one lead: make someone else lead first.", code="last_lead"
        )


@transaction.atomic
def set_member_roles(*, membership: Membership, roles: Iterable[str]) -> Membership:
    flags = _role_flags(roles)
    if not flags["is_lead"]:
        _ensure_another_lead(membership)
    for name, value in flags.items():
        setattr(membership, name, value)
    membership.save(update_fields=list(flags))
    return membership


@transaction.atomic
def remove_member(*, membership: Membership) -> None:
    _ensure_another_lead(membership)
    membership.delete()


# Records ---------------------------------------------------------------------------------------

CORRECTABLE_FIELDS = (
    "title",
    "abstract",
    "authors",
    "year",
    "journal",
    "volume",
    "issue",
    "pages",
    "doi",
    "pmid",
    "url",
    "keywords",
    "type",
    "language",
)


@transaction.atomic
def correct_record(*, record: Record, user, **fields) -> RecordCorrection | None:
    """Change a record's metadata, keeping what it was; the source record stays untouched."""
    unknown = set(fields) - set(CORRECTABLE_FIELDS)
    if unknown:
        raise ValidationError(
            f"These fields cannot be corrected: {', '.join(sorted(unknown))}.",
            code="not_correctable",
        )
    changes = {}
    for name, value in fields.items():
        before = getattr(record, name)
        if before != value:
            changes[name] = [before, value]
            setattr(record, name, value)
    if not changes:
        return None
    record.save(update_fields=list(changes))
    return RecordCorrection.objects.create(record=record, changed_by=user, changes=changes)


@transaction.atomic
def mark_known_relevant(*, review: Review, record_ids: Iterable[int], known: bool = True) -> int:
    """Mark records the lead already knows are relevant; prioritisation starts from them."""
    changed = (
        review.records.filter(pk__in=list(record_ids))
        .exclude(known_relevant=known)
        .update(known_relevant=known)
    )
    if changed:
        transaction.on_commit(
            lambda: signals.known_relevant_changed.send(sender=Review, review=review)
        )
    return changed


# Imports ---------------------------------------------------------------------------------------


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _record_values(review: Review, batch: ImportBatch, parsed: ParsedRecord) -> dict:
    return {
        "review_id": review.pk,
        "batch_id": batch.pk,
        "position": parsed.position,
        "title": parsed.title,
        "abstract": parsed.abstract,
        "authors": parsed.authors,
        "year": parsed.year,
        "journal": parsed.journal[:500],
        "volume": parsed.volume[:50],
        "issue": parsed.issue[:50],
        "pages": parsed.pages[:50],
        "doi": parsed.doi[:255],
        "pmid": parsed.pmid[:20],
        "pmcid": parsed.pmcid[:20],
        "url": parsed.url[:2000],
        "keywords": parsed.keywords,
        "type": parsed.type,
        "language": parsed.language[:50],
        "source_record": parsed.raw,
        "duplicate_group_id": None,
        "duplicate_of_id": None,
        "known_relevant": False,
    }


def _json_adapter():
    """JSON for a raw insert: compact UTF-8 text on SQLite (a third faster to encode than the
    default escaped form), the driver's own JSON type elsewhere."""
    if connection.vendor == "sqlite":
        encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        return lambda value, encoder: encode(value)
    return connection.ops.adapt_json_value


def _insert_records(batch: ImportBatch, records: list[ParsedRecord]) -> None:
    """Insert one chunk of records through reviewmgr.bulk (see there why not bulk_create).

    Columns come from the model's metadata, so they follow the model; the database's
    constraints still check every row.
    """
    fields = [field for field in Record._meta.concrete_fields if not field.primary_key]
    json_columns = {field.attname for field in fields if field.get_internal_type() == "JSONField"}
    now = timezone.now()
    adapt_json = _json_adapter()
    rows = []
    for parsed in records:
        values = _record_values(batch.review, batch, parsed)
        values["created_at"] = now
        rows.append(
            [
                adapt_json(values[field.attname], None)
                if field.attname in json_columns
                else values[field.attname]
                for field in fields
            ]
        )
    bulk.insert_rows(Record, fields, rows)


def progress_key(batch_id: int) -> str:
    return f"reviewmgr:import-progress:{batch_id}"


def batch_progress(batch: ImportBatch) -> int:
    """Percent done, from the cache while the batch's own row is inside a transaction."""
    if batch.is_finished:
        return 100 if batch.status == ImportBatch.Status.DONE else batch.progress
    return int(cache.get(progress_key(batch.pk), batch.progress))


def _report_progress(batch: ImportBatch, percent: int) -> None:
    cache.set(progress_key(batch.pk), percent, timeout=24 * 3600)


def _repeat_warning(batch: ImportBatch) -> list[str]:
    earlier = (
        ImportBatch.objects.filter(
            review=batch.review, sha256=batch.sha256, status=ImportBatch.Status.DONE
        )
        .exclude(pk=batch.pk)
        .order_by("created_at")
        .first()
    )
    if earlier is None:
        return []
    when = timezone.localtime(earlier.created_at).strftime("%d %b %Y %H:%M")
    return [
        f"This file was already imported on {when} (batch #{earlier.pk}); "
        "its records will be flagged as duplicates of the earlier ones."
    ]


def _store_records(batch: ImportBatch, result: ParseResult) -> list[int]:
    """Write every parsed record of the batch; the caller holds the transaction."""
    total = len(result.records) or 1
    for start in range(0, len(result.records), RECORD_WRITE_CHUNK):
        chunk = result.records[start : start + RECORD_WRITE_CHUNK]
        _insert_records(batch, chunk)
        _report_progress(batch, 50 + int(50 * (start + len(chunk)) / total))
    if len(result.records) >= ANALYZE_AFTER:
        bulk.refresh_statistics(Record)
    return list(batch.records.order_by("position").values_list("pk", flat=True))


def _finish(batch: ImportBatch, result: ParseResult) -> None:
    batch.format = result.format
    batch.record_count = len(result.records)
    batch.warnings = _repeat_warning(batch) + list(result.warnings)
    batch.skipped = [str(problem) for problem in result.skipped]
    batch.status = ImportBatch.Status.DONE
    batch.progress = 100
    batch.error = ""
    batch.finished_at = timezone.now()
    batch.save()


@dataclass(frozen=True)
class Provenance:
    """Where a file came from, as PRISMA reports it."""

    source: str = ImportBatch.Source.OTHER_DATABASE
    source_detail: str = ""
    search_date: date | None = None
    search_string: str = ""


def _new_batch(
    *,
    review: Review,
    data: bytes,
    file_name: str,
    provenance: Provenance,
    created_by,
    format: str,
    lenient: bool,
    column_map: Mapping[str, str] | None,
    status: str,
) -> ImportBatch:
    return ImportBatch(
        review=review,
        source=provenance.source,
        source_detail=provenance.source_detail,
        search_date=provenance.search_date,
        search_string=provenance.search_string,
        file_name=file_name[:255],
        file_size=len(data),
        sha256=sha256_of(data),
        format="" if format == "auto" else format,
        lenient=lenient,
        column_map=dict(column_map or {}),
        created_by=created_by,
        status=status,
    )


def import_records(
    *,
    review: Review,
    data: bytes,
    file_name: str,
    provenance: Provenance = Provenance(),
    created_by=None,
    format: str = "auto",
    lenient: bool = False,
    column_map: Mapping[str, str] | None = None,
    find_duplicates: bool = True,
) -> tuple[ImportBatch, list[int]]:
    """Parse a whole file, then store it as one batch in one transaction.

    Raises ImportFileError (nothing stored) when the file cannot be imported. Returns the
    batch and the new records' ids in the order of the file. Duplicates of the new records
    are then looked for (in a transaction of their own) unless `find_duplicates` is off.
    """
    result = importers.parse(
        data, format=format, filename=file_name, lenient=lenient, column_map=column_map
    )
    with transaction.atomic():
        batch = _new_batch(
            review=review,
            data=data,
            file_name=file_name,
            provenance=provenance,
            created_by=created_by,
            format=format,
            lenient=lenient,
            column_map=column_map,
            status=ImportBatch.Status.RUNNING,
        )
        batch.save()
        ids = _store_records(batch, result)
        _finish(batch, result)
    records_imported.send(Review, review=review, record_ids=ids)
    if find_duplicates:
        find_duplicates_in_review(review=review, new_record_ids=ids)
    return batch, ids


def queue_import(
    *,
    review: Review,
    data: bytes,
    file_name: str,
    created_by,
    provenance: Provenance,
    format: str = "auto",
    lenient: bool = False,
    column_map: Mapping[str, str] | None = None,
    hold: bool = False,
) -> ImportBatch:
    """Keep the upload and hand the parsing to a background task; the batch page shows progress.

    With `hold`, the batch waits for the lead to map a spreadsheet's columns first.
    """
    from reviewmgr.tasks import import_batch_task

    batch = _new_batch(
        review=review,
        data=data,
        file_name=file_name,
        provenance=provenance,
        created_by=created_by,
        format=format,
        lenient=lenient,
        column_map=column_map,
        status=ImportBatch.Status.MAPPING if hold else ImportBatch.Status.QUEUED,
    )
    batch.file.save(file_name, ContentFile(data), save=False)
    batch.save()
    if not hold:
        transaction.on_commit(lambda: import_batch_task.enqueue(batch.pk))
    return batch


@transaction.atomic
def start_mapped_import(*, batch: ImportBatch, column_map: Mapping[str, str]) -> ImportBatch:
    """Queue a spreadsheet batch once the lead has said which column holds what."""
    from reviewmgr.tasks import import_batch_task

    batch.column_map = dict(column_map)
    batch.status = ImportBatch.Status.QUEUED
    batch.error = ""
    batch.skipped = []
    batch.save(update_fields=["column_map", "status", "error", "skipped"])
    transaction.on_commit(lambda: import_batch_task.enqueue(batch.pk))
    return batch


def run_import_batch(*, batch: ImportBatch) -> ImportBatch:
    """Parse and store a queued batch: all of its records or none, the outcome on the batch."""
    if batch.status == ImportBatch.Status.DONE:
        return batch
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportBatch.Status.RUNNING, error="")
    _report_progress(batch, 5)
    try:
        with batch.file.open("rb") as handle:
            data = handle.read()
        result = importers.parse(
            data,
            format=batch.format or "auto",
            filename=batch.file_name,
            lenient=batch.lenient,
            column_map=batch.column_map or None,
        )
        _report_progress(batch, 50)
        with transaction.atomic():
            ids = _store_records(batch, result)
            _finish(batch, result)
    except ImportFileError as error:
        _fail(batch, error)
    except Exception as error:
        _fail(batch, ImportFileError(f"The import stopped on an unexpected error ({error})."))
        raise
    finally:
        cache.delete(progress_key(batch.pk))
    if batch.status == ImportBatch.Status.DONE:
        records_imported.send(Review, review=batch.review, record_ids=ids)
        find_duplicates_in_review(review=batch.review, new_record_ids=ids)
    return batch


def _fail(batch: ImportBatch, error: ImportFileError) -> None:
    batch.status = ImportBatch.Status.FAILED
    batch.error = str(error)
    batch.skipped = [str(problem) for problem in error.problems[:MAX_REPORTED_PROBLEMS]]
    batch.finished_at = timezone.now()
    batch.save(update_fields=["status", "error", "skipped", "finished_at"])


@transaction.atomic
def retry_import_batch(*, batch: ImportBatch, lenient: bool | None = None) -> ImportBatch:
    from reviewmgr.tasks import import_batch_task

    if batch.status != ImportBatch.Status.FAILED:
        raise ValidationError("Only a failed import can be retried.", code="not_failed")
    if not batch.file:
        raise ValidationError("The uploaded file of this batch is gone.", code="no_file")
    if lenient is not None:
        batch.lenient = lenient
    batch.status = ImportBatch.Status.QUEUED
    batch.progress = 0
    batch.error = ""
    batch.skipped = []
    batch.finished_at = None
    batch.save()
    transaction.on_commit(lambda: import_batch_task.enqueue(batch.pk))
    return batch


def deletion_summary(batch: ImportBatch) -> dict[str, int]:
    """What deleting a batch takes with it, for the confirmation page."""
    return {"records": batch.records.count()}


@transaction.atomic
def delete_batch(*, batch: ImportBatch) -> dict[str, int]:
    summary = deletion_summary(batch)
    detach_records(record_ids=list(batch.records.values_list("pk", flat=True)))
    if batch.file:
        stored = batch.file.name
        transaction.on_commit(lambda: batch.file.storage.delete(stored))
    batch.delete()
    return summary


def source_counts(review: Review) -> list[dict]:
    """Records identified per source, for the review page and PRISMA."""
    rows = (
        review.batches.filter(status=ImportBatch.Status.DONE)
        .values("source")
        .annotate(records=Count("records"))
        .order_by("source")
    )
    return [
        {
            **row,
            "label": ImportBatch.Source(row["source"]).label,
            "other_methods": row["source"] in ImportBatch.OTHER_METHODS,
        }
        for row in rows
    ]
