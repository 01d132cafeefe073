"""Background work of the core through django.tasks: a thread by default, a queue at scale."""

from django.tasks import task

from reviewmgr import importing
from reviewmgr.models import ImportBatch


@task
def import_batch_task(batch_id: int) -> int:
    batch = ImportBatch.objects.select_related("review").filter(pk=batch_id).first()
    if batch is None:  # deleted while it waited in the queue
        return 0
    return importing.run_import_batch(batch=batch).record_count
