from django.apps import apps
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from reviewmgr import signals
from reviewmgr.services import fail_stale_batches


class Command(BaseCommand):
    help = (
        "Run a background worker that takes tasks (imports, deduplication, ranking) from the "
        "Redis queue named by TASKS_REDIS_URL. Start as many as the machine has cores to spare."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--burst", action="store_true", help="Stop once the queue is empty (for scripts)."
        )
        parser.add_argument("--name", default=None, help="The worker's name in logs.")

    def handle(self, *args, burst: bool, name: str | None, **options):
        if not apps.is_installed("django_rq"):
            raise CommandError(
                "No task queue is configured: set TASKS_REDIS_URL (e.g. redis://127.0.0.1:6379/0) "
                "for the web processes and the workers. Without it, tasks run inside the web "
                "process and no worker is needed."
            )
        # the core's own imports, then what the apps above it left (exports, ...)
        imports = fail_stale_batches()
        marked = [f"{imports} import(s)"] if imports else []
        marked += [said for _, said in signals.worker_starting.send(sender=self.__class__) if said]
        if marked:
            self.stderr.write(
                f"Marked failed what a stopped worker left running: {', '.join(marked)}."
            )
        call_command(
            "rqworker",
            "default",
            job_class="django_tasks_rq.backend.Job",
            burst=burst,
            name=name,
            verbosity=options["verbosity"],
        )
