"""Background work of extraction and reports through django.tasks (a thread, or a queue)."""

from django.tasks import task

from extraction import export_jobs
from extraction.models import ExportJob


@task
def export_task(job_id: int) -> int:
    """Build a download; returns its size in bytes."""
    job = ExportJob.objects.select_related("review").filter(pk=job_id).first()
    if job is None:  # deleted while it waited
        return 0
    return export_jobs.run_export(job).file_size
