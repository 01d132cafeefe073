"""Background work on a real Redis queue, consumed by real worker processes."""

import random
import signal

from tests.conftest import corpus_path

SETUP = """
from reviewmgr import services
from reviewmgr.models import User
lead = User.objects.create_user("lead", password="a-long-test-password")
review = services.create_review(title="Queue review", slug="queue-review", user=lead)
out["review"] = review.pk
"""


def queue_file(stack, path, *, file_name: str) -> int:
    """Upload a file as the import page does: the batch is stored and its task enqueued."""
    code = f"""
from pathlib import Path
from django.db import transaction
from reviewmgr import services
from reviewmgr.models import Review, User
review = Review.objects.get(slug="queue-review")
with transaction.atomic():
    batch = services.queue_import(
        review=review, data=Path({str(path)!r}).read_bytes(), file_name={file_name!r},
        user=User.objects.get(username="lead"), provenance=services.Provenance(),
    )
out["batch"] = batch.pk
"""
    return stack.python(code)["batch"]


def batch_row(stack, batch_id: int) -> tuple[str, int, str]:
    status, count, error = stack.sql(
        "select status, record_count, error from reviewmgr_importbatch where id = ?", (batch_id,)
    )[0]
    return status, count, error


def stored_records(stack, batch_id: int) -> int:
    return stack.sql("select count(*) from reviewmgr_record where batch_id = ?", (batch_id,))[0][0]


def synthetic_ris(path, records: int) -> None:
    """Distinct records (random titles, one DOI each), so that deduplication finds none."""
    rng = random.Random(7)
    words = [
        f"{a}{b}"
        for a in ("neuro", "cyto", "plate", "inter", "myel", "glia", "axo")
        for b in ("pathy", "kine", "let", "leukin", "in", "osis", "nal", "gen")
    ]
    lines = []
    for n in range(records):
        title = " ".join(rng.choice(words) for _ in range(9))
        lines += [
            "TY  - JOUR",
            f"TI  - {title.capitalize()} {n}",
            f"AU  - Author{rng.randrange(10_000)}, A.",
            f"PY  - {rng.randrange(1990, 2026)}",
            f"DO  - 10.5555/synthetic.{n}",
            "ER  - ",
        ]
    path.write_text("\n".join(lines) + "\n")


def test_an_import_goes_through_the_queue_to_a_worker(stack):
    stack.python(SETUP)
    batch = queue_file(
        stack, corpus_path("import", "ris", "asreview___baseline.ris"), file_name="baseline.ris"
    )
    # Nothing consumes the queue yet: the batch waits, and its task is in Redis.
    assert batch_row(stack, batch)[0] == "queued"
    assert stack.redis.llen("rq:queue:default") == 1

    worker = stack.start_worker("--burst")
    output, _ = worker.communicate(timeout=180)
    assert worker.returncode == 0, output

    assert batch_row(stack, batch) == ("done", 100, "")
    assert stored_records(stack, batch) == 100
    assert stack.redis.llen("rq:queue:default") == 0
    assert "import_batch_task" in output


def test_a_worker_killed_mid_import_leaves_nothing_and_the_batch_can_be_retried(stack, tmp_path):
    stack.python(SETUP)
    big = tmp_path / "big.ris"
    synthetic_ris(big, 20_000)
    batch = queue_file(stack, big, file_name="big.ris")

    # Beats every 0.2 s, so a worker silent for 1.2 s is taken for dead.
    beats = {"REVIEWMGR_HEARTBEAT_SECONDS": "0.2"}
    stack.env.update(beats)
    worker = stack.start_worker()
    progress_key = f"{stack.prefix}:1:reviewmgr:import-progress:{batch}"

    def storing():
        raw = stack.redis.get(progress_key)
        return raw is not None and 50 < int(raw) < 100  # the cache keeps integers as plain text

    # Kill it while it writes the records: after parsing, before the batch commits.
    stack.wait_for(storing, timeout=120, what="the worker to start storing records")
    stack.kill(worker)
    assert worker.returncode == -signal.SIGKILL

    assert batch_row(stack, batch)[0] == "running"
    assert stored_records(stack, batch) == 0, "a killed import must leave none of its records"

    # A page or a new worker finds the dead import and says why it failed.
    stack.wait_for(
        lambda: not stack.redis.exists(f"{stack.prefix}:1:reviewmgr:import-alive:{batch}"),
        timeout=10,
        what="the heartbeat to expire",
    )
    restarted = stack.start_worker("--burst")
    output, _ = restarted.communicate(timeout=120)
    assert restarted.returncode == 0, output
    status, count, error = batch_row(stack, batch)
    assert (status, count) == ("failed", 0)
    assert "Nothing from this file was stored" in error
    assert stored_records(stack, batch) == 0

    # Retried, it imports whole.
    stack.python(
        "from reviewmgr import services\nfrom reviewmgr.models import ImportBatch\n"
        f"services.retry_import_batch(batch=ImportBatch.objects.get(pk={batch}))"
    )
    retried = stack.start_worker("--burst")
    output, _ = retried.communicate(timeout=300)
    assert retried.returncode == 0, output
    assert batch_row(stack, batch) == ("done", 20_000, "")
    assert stored_records(stack, batch) == 20_000
