"""Whether a piece of background work is still alive: a heartbeat kept in the shared cache.

A task that runs for long (an import) beats every few seconds from a thread of its own. If its
process dies (a worker killed, a machine restarted) the beats stop and the key expires, so the
web side can tell a running task from a dead one whatever the queue backend.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import models, transaction


def beat_seconds() -> float:
    return float(getattr(settings, "REVIEWMGR_HEARTBEAT_SECONDS", 5))


def stale_after_seconds() -> float:
    """A task is taken for dead once this long has passed without a beat."""
    return beat_seconds() * 6


class Heartbeat:
    """Keep `key` alive in the cache while the `with` block runs."""

    def __init__(self, key: str):
        self.key = key
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _beat(self) -> None:
        cache.set(self.key, time.time(), timeout=stale_after_seconds())

    def _run(self) -> None:
        while not self._stop.wait(beat_seconds()):
            self._beat()

    def __enter__(self) -> Heartbeat:
        self._beat()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat {self.key}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        cache.delete(self.key)


def alive(key: str) -> bool:
    return cache.get(key) is not None


def dead(ids, key) -> list[int]:
    """Of the running tasks `ids` (with heartbeat keys `key(id)`), those whose beats stopped."""
    ids = list(ids)
    beating = cache.get_many([key(pk) for pk in ids])
    return [pk for pk in ids if key(pk) not in beating]


def fail_dead(running: models.QuerySet, key, fail: Callable[[models.Model], None]) -> int:
    """Call `fail` on each object of `running` (a queryset of running tasks) whose beats
    stopped, each in a transaction of its own with the row locked and re-read, so that a task
    that finished meanwhile is left alone. Returns how many were failed."""
    failed = 0
    for pk in dead(running.values_list("pk", flat=True), key):
        with transaction.atomic():
            task = running.select_for_update(of=("self",)).filter(pk=pk).first()
            if task is not None:
                fail(task)
                failed += 1
    return failed
