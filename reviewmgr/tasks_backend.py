"""A django.tasks backend for the embedded default: tasks run on a background thread.

The web request that enqueues an import returns at once and the browser polls the batch's
progress, as it would with a real queue. Results are not kept by the backend: the work's own
rows (e.g. ImportBatch.status) carry progress and outcome, so the same code runs unchanged
on a worker queue. Work still queued when the process stops is lost; such batches are marked
failed and can be retried (see reviewmgr.services.fail_stale_batches).
"""

from __future__ import annotations

import atexit

# A task still running as the process stops may import a library (the ranking's) that loads
# concurrent.futures.process, whose import registers an exit hook, refused once shutdown has
# begun. Loaded here, at start-up, it is already registered (a few milliseconds).
import concurrent.futures.process  # noqa: F401
from concurrent.futures import ThreadPoolExecutor

from django.db import close_old_connections, connections
from django.tasks.backends.immediate import ImmediateBackend
from django.tasks.base import TaskResult, TaskResultStatus
from django.utils.crypto import get_random_string


class ThreadBackend(ImmediateBackend):
    supports_async_task = False

    def __init__(self, alias, params):
        super().__init__(alias, params)
        workers = int(self.options.get("WORKERS", 1))
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="task")
        atexit.register(self._executor.shutdown, wait=False, cancel_futures=True)

    def _run(self, task_result) -> None:
        close_old_connections()
        try:
            self._execute_task(task_result)
        finally:
            connections.close_all()

    def enqueue(self, task, args, kwargs):
        self.validate_task(task)
        task_result = TaskResult(
            task=task,
            id=get_random_string(32),
            status=TaskResultStatus.READY,
            enqueued_at=None,
            started_at=None,
            last_attempted_at=None,
            finished_at=None,
            args=args,
            kwargs=kwargs,
            backend=self.alias,
            errors=[],
            worker_ids=[],
        )
        try:
            self._executor.submit(self._run, task_result)
            return task_result
        except RuntimeError:
            pass
        # The process is stopping and its thread pool takes no more work (e.g. a command ends
        # while the ranking it started asks for another): run the task here, as the immediate
        # backend does, rather than lose it with a traceback. (Outside the `except`, so that
        # the task's own log lines carry no stale exception.)
        self._execute_task(task_result)
        return task_result
