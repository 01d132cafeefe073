"""Importing a file into a review: parse it (reviewmgr.importers), store its records as one
batch in one transaction, search them for duplicates, and everything a batch goes through
after (queued, mapped, retried, failed when its worker died, deleted, marked as a new search
or the previous version). reviewmgr.services hands these on under the same names."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from reviewmgr import audit, bulk, importers, liveness, signals
from reviewmgr.duplicates import detach_records, find_duplicates_in_review, search_keys
from reviewmgr.importers import ImportFileError, ParsedRecord, ParseResult
from reviewmgr.importers.base import check_not_empty_or_binary
from reviewmgr.models import ImportBatch, Record, Review, User
from reviewmgr.signals import records_imported

RECORD_WRITE_CHUNK = 5000
ANALYZE_AFTER = 5000  # records; below that the planner's old figures are close enough
MAX_REPORTED_PROBLEMS = 20


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


def _insert_records(batch: ImportBatch, records: list[ParsedRecord]) -> None:
    """Insert one chunk of records through reviewmgr.bulk (see there why not bulk_create).

    Columns come from the model's metadata, so they follow the model; the database's
    constraints still check every row.
    """
    fields = [field for field in Record._meta.concrete_fields if not field.primary_key]
    json_columns = {field.attname for field in fields if field.get_internal_type() == "JSONField"}
    now = timezone.now()
    adapt_json = bulk.json_adapter()
    rows = []
    for parsed in records:
        values = _record_values(batch.review, batch, parsed)
        values |= search_keys(values)
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
    _log_import(batch)


def _batch_target(batch: ImportBatch) -> audit.Target:
    return audit.Target(f"Import {batch.pk}: {batch.file_name or 'batch'}", "importbatch", batch.pk)


def _log_import(batch: ImportBatch) -> None:
    """The outcome of an import, in the transaction that stores (or fails) it."""
    source = batch.get_source_display()
    if batch.status == ImportBatch.Status.DONE:
        action = audit.Action.IMPORT_DONE
        outcome = {
            "status": batch.status,
            "records": batch.record_count,
            "skipped": len(batch.skipped),
            "warnings": len(batch.warnings),
        }
        skipped = f"; {len(batch.skipped)} skipped" if batch.skipped else ""
        summary = (
            f"Imported {batch.record_count} records from {batch.file_name} ({source}){skipped}."
        )
    else:
        action = audit.Action.IMPORT_FAILED
        outcome = {"status": batch.status, "error": batch.error, "problems": len(batch.skipped)}
        summary = f"The import of {batch.file_name} ({source}) failed: {batch.error}"
    audit.log(
        review=batch.review,
        actor=batch.created_by,
        action=action,
        target=_batch_target(batch),
        after={"file": batch.file_name, "source": batch.source, "format": batch.format, **outcome},
        summary=summary,
    )


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
    user: User | None = None,
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
            created_by=user,
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
    user: User,
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
        created_by=user,
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


TABULAR_FORMATS = {"csv", "xlsx"}


def queue_upload(
    *,
    review: Review,
    data: bytes,
    file_name: str,
    user: User,
    provenance: Provenance,
    format: str = "auto",
    lenient: bool = False,
    column_map: Mapping[str, str] | None = None,
) -> ImportBatch:
    """An uploaded file, its format detected (or the chosen one checked), queued for import.

    A spreadsheet whose title column is not recognised, and for which no `column_map` was
    given, waits (status "mapping") for the lead to say which column holds what. A file that
    is not an export at all raises ImportFileError before anything is kept.
    """
    detected = importers.detect_format(data, file_name) if format == "auto" else format
    if format != "auto":
        _check_chosen_format(data, format)
    hold = not column_map and _needs_mapping(data, detected, file_name)
    return queue_import(
        review=review,
        data=data,
        file_name=file_name,
        user=user,
        provenance=provenance,
        format=detected,
        lenient=lenient,
        column_map=column_map,
        hold=hold,
    )


def _check_chosen_format(data: bytes, fmt: str) -> None:
    """A format chosen by hand skips detection, not the check that the file is a text export
    (or a workbook): a binary file is refused here rather than kept for an import to fail."""
    if fmt in TABULAR_FORMATS and importers.is_xlsx(data):
        return
    if fmt == "xlsx":
        raise ImportFileError("This is not an Excel workbook (.xlsx); import it as CSV instead.")
    check_not_empty_or_binary(data)


def _needs_mapping(data: bytes, fmt: str, file_name: str) -> bool:
    """A spreadsheet whose title column is not recognised waits for the lead to map it."""
    if fmt not in TABULAR_FORMATS:
        return False
    try:
        columns = importers.read_columns(data, filename=file_name)
    except ImportFileError:
        return False  # the import itself will report what is wrong
    return "title" not in importers.suggest_column_map(columns).values()


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
    if batch.status == ImportBatch.Status.RUNNING and liveness.alive(heartbeat_key(batch.pk)):
        return batch  # delivered twice: another process is importing it right now
    with liveness.Heartbeat(heartbeat_key(batch.pk)):
        _run_import(batch)
    if batch.status == ImportBatch.Status.DONE:
        ids = list(batch.records.order_by("position").values_list("pk", flat=True))
        records_imported.send(Review, review=batch.review, record_ids=ids)
        find_duplicates_in_review(review=batch.review, new_record_ids=ids)
    return batch


def heartbeat_key(batch_id: int) -> str:
    return f"reviewmgr:import-alive:{batch_id}"


def _run_import(batch: ImportBatch) -> None:
    """The all-or-nothing part of an import, while its heartbeat shows it is alive."""
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportBatch.Status.RUNNING, error="")
    batch.status = ImportBatch.Status.RUNNING
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
            _store_records(batch, result)
            _finish(batch, result)
    except ImportFileError as error:
        _fail(batch, error)
    except Exception as error:
        _fail(batch, ImportFileError(f"The import stopped on an unexpected error ({error})."))
        raise
    finally:
        cache.delete(progress_key(batch.pk))


STALE_IMPORT_ERROR = (
    "The import stopped before it finished: the background process running it ended "
    "(it was stopped, restarted or ran out of memory). Nothing from this file was stored. "
    "Retry it."
)


def fail_stale_batches(*, review: Review | None = None) -> int:
    """Mark as failed the imports whose process died while they ran; returns how many.

    A running import beats a heartbeat; when the beats stop, its transaction died with its
    process, so none of its records were stored and the batch can safely be retried.
    """
    running = ImportBatch.objects.filter(status=ImportBatch.Status.RUNNING)
    if review is not None:
        running = running.filter(review=review)

    def fail(batch: ImportBatch) -> None:
        batch.status = ImportBatch.Status.FAILED
        batch.error = STALE_IMPORT_ERROR
        batch.finished_at = timezone.now()
        batch.save(update_fields=["status", "error", "finished_at"])
        _log_import(batch)

    return liveness.fail_dead(running.select_related("review", "created_by"), heartbeat_key, fail)


@transaction.atomic
def _fail(batch: ImportBatch, error: ImportFileError) -> None:
    batch.status = ImportBatch.Status.FAILED
    batch.error = str(error)
    batch.skipped = [str(problem) for problem in error.problems[:MAX_REPORTED_PROBLEMS]]
    batch.finished_at = timezone.now()
    batch.save(update_fields=["status", "error", "skipped", "finished_at"])
    _log_import(batch)


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
def delete_batch(*, batch: ImportBatch, user: User | None = None) -> dict[str, int]:
    summary = deletion_summary(batch)
    audit.log(
        review=batch.review,
        actor=user,
        action=audit.Action.IMPORT_DELETED,
        target=_batch_target(batch),
        before={
            "file": batch.file_name,
            "source": batch.source,
            "status": batch.status,
            "imported_at": batch.created_at,
            **summary,
        },
        summary=f"{audit.name_of(user)} deleted import {batch.pk} ({batch.file_name}) with its "
        f"{summary['records']} records.",
    )
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


@transaction.atomic
def mark_batch_version(
    *, batch: ImportBatch, version_role: str, search_date: date | None, user: User
):
    """Mark a batch as a new search or as the studies the previous version of the review
    included (PRISMA 2020's template for updated reviews), with the date of the search or of
    the previous version. The previous version's records are not screened again; screening
    refuses the change (`signals.batch_version_changed`) once they were screened."""
    if version_role not in ImportBatch.Version.values:
        raise ValidationError(
            f"'{version_role}' is neither a new search nor the previous version.",
            code="bad_version",
        )
    before = {"version_role": batch.version_role, "search_date": batch.search_date}
    batch.version_role = version_role
    batch.search_date = search_date
    batch.save(update_fields=["version_role", "search_date"])
    signals.batch_version_changed.send(ImportBatch, batch=batch)
    audit.log(
        review=batch.review,
        actor=user,
        action=audit.Action.IMPORT_VERSION,
        target=_batch_target(batch),
        before=before,
        after={"version_role": version_role, "search_date": search_date},
        summary=f"{audit.name_of(user)} marked {batch.file_name or 'a batch'} as "
        f"{batch.get_version_role_display().lower()}"
        + (f" ({search_date:%Y-%m-%d})." if search_date else "."),
    )
    return batch
