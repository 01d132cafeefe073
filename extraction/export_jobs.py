"""Downloads built in the background: the workbook, the CSV tables, the analysis data for R
and the backup of a review.

The same builders serve the direct downloads of the reports page; a job runs them on a worker
(or the in-process thread), keeps the file under MEDIA_ROOT and shows its state on a page that
polls. A job whose process died is shown as failed (its heartbeat stopped) and can be retried.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path
from typing import BinaryIO

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from extraction import backup, exports, r_export
from extraction.models import ExportJob
from reviewmgr import audit, liveness
from reviewmgr.models import Review, User

SUFFIXES = {
    ExportJob.Kind.WORKBOOK: "evidence.xlsx",
    ExportJob.Kind.CSV: "tables-csv.zip",
    ExportJob.Kind.BACKUP: "backup.json",
    ExportJob.Kind.R: "analyses-r.zip",
}


def file_name(review: Review, kind: str, extractor=None) -> str:
    suffix = SUFFIXES[kind]
    if extractor is not None and kind != ExportJob.Kind.BACKUP:
        stem, ext = suffix.rsplit(".", 1)
        suffix = f"{stem}-{extractor.username}.{ext}"
    return f"{review.slug}-{suffix}"


def build(review: Review, kind: str, handle: BinaryIO, *, extractor=None) -> None:
    """Write the download of `kind` into the binary file `handle`."""
    if kind == ExportJob.Kind.WORKBOOK:
        exports.export_workbook(review, handle, extractor=extractor)
    elif kind == ExportJob.Kind.CSV:
        with tempfile.TemporaryDirectory() as directory:
            paths = exports.export_csv(review, Path(directory), extractor=extractor)
            with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
                for path in paths:
                    archive.write(path, path.name)
    elif kind == ExportJob.Kind.R:
        r_export.write_r_export(review, handle, extractor=extractor)
    elif kind == ExportJob.Kind.BACKUP:
        text = io.TextIOWrapper(handle, encoding="utf-8", write_through=True)
        backup.write_backup(review, text)
        text.detach()  # the caller keeps (and closes) the binary file
    else:
        raise ValueError(f"Unknown export {kind!r}")


def log_export(
    *, review: Review, user: User, kind: str, name: str = "", job: ExportJob | None = None, error=""
) -> None:
    """Data leaving the review is in its audit log: who took which export, or why it failed."""
    what = ExportJob.Kind(kind).label if kind in ExportJob.Kind.values else kind
    target = audit.Target(what, "exportjob", job.pk) if job else audit.Target(what, "export")
    if error:
        audit.log(
            review=review,
            actor=user,
            action=audit.Action.EXPORT_FAILED,
            target=target,
            after={"kind": kind, "error": error},
            summary=f"The export of {what} failed: {error}",
        )
    else:
        audit.log(
            review=review,
            actor=user,
            action=audit.Action.EXPORTED,
            target=target,
            after={"kind": kind, "file": name},
            summary=f"Exported {what} as {name}.",
        )


def heartbeat_key(job_id: int) -> str:
    return f"reviewmgr:export-alive:{job_id}"


@transaction.atomic
def start_export(*, review: Review, kind: str, user: User) -> ExportJob:
    from extraction.tasks import export_task

    if kind not in ExportJob.Kind.values:
        raise ValidationError(f"There is no export called {kind!r}.", code="unknown_kind")
    job = ExportJob.objects.create(review=review, kind=kind, created_by=user)
    transaction.on_commit(lambda: export_task.enqueue(job.pk))
    return job


@transaction.atomic
def retry_export(*, job: ExportJob) -> ExportJob:
    from extraction.tasks import export_task

    if job.status != ExportJob.Status.FAILED:
        raise ValidationError("Only a failed export can be built again.", code="not_failed")
    job.status, job.error, job.started_at, job.finished_at = ExportJob.Status.QUEUED, "", None, None
    job.save(update_fields=["status", "error", "started_at", "finished_at"])
    transaction.on_commit(lambda: export_task.enqueue(job.pk))
    return job


def run_export(job: ExportJob) -> ExportJob:
    if job.status == ExportJob.Status.DONE:
        return job
    if job.status == ExportJob.Status.RUNNING and liveness.alive(heartbeat_key(job.pk)):
        return job  # delivered twice
    with liveness.Heartbeat(heartbeat_key(job.pk)):
        job.status, job.started_at = ExportJob.Status.RUNNING, timezone.now()
        job.save(update_fields=["status", "started_at"])
        try:
            with tempfile.TemporaryFile() as handle:
                build(job.review, job.kind, handle)
                handle.seek(0)
                name = file_name(job.review, job.kind)
                job.file.save(name, File(handle), save=False)
                job.file_name, job.file_size = name, job.file.size
        except Exception as error:
            _finish(job, ExportJob.Status.FAILED, f"The export stopped on an error: {error}")
            raise
        _finish(job, ExportJob.Status.DONE, "")
    return job


@transaction.atomic
def _finish(job: ExportJob, status: str, error: str) -> None:
    job.status, job.error, job.finished_at = status, error, timezone.now()
    job.save(update_fields=["status", "error", "finished_at", "file", "file_name", "file_size"])
    log_export(
        review=job.review,
        user=job.created_by,
        kind=job.kind,
        name=job.file_name,
        job=job,
        error=error,
    )


STALE_EXPORT_ERROR = (
    "The export stopped before it finished: the background process building it ended "
    "(stopped, restarted or out of memory). Build it again."
)
MISSING_FILE_ERROR = (
    "The file of this export is no longer on the server (it was removed, or the server's "
    "files were restored without it). Build it again."
)


def fail_stale_exports(*, review: Review | None = None) -> int:
    """Mark as failed the exports whose process died while they ran; returns how many."""
    running = ExportJob.objects.filter(status=ExportJob.Status.RUNNING)
    if review is not None:
        running = running.filter(review=review)

    def fail(job: ExportJob) -> None:
        _finish(job, ExportJob.Status.FAILED, STALE_EXPORT_ERROR)

    return liveness.fail_dead(running.select_related("review", "created_by"), heartbeat_key, fail)


def file_is_kept(job: ExportJob) -> bool:
    """Whether a finished export's file can still be read; if it is gone, the job is marked
    failed with a message that says so, so that it can be built again."""
    if job.file and job.file.storage.exists(job.file.name):
        return True
    with transaction.atomic():
        locked = ExportJob.objects.select_for_update().get(pk=job.pk)
        if locked.status == ExportJob.Status.DONE:
            _finish(locked, ExportJob.Status.FAILED, MISSING_FILE_ERROR)
    job.refresh_from_db()
    return False
