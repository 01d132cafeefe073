"""Ranking a whole screening queue through the product: read, train, score, store priorities.

    .venv/bin/python benches/queue_ranking_bench.py [--records 100000] [--decisions 1000]
        [--database-url postgres://postgres@127.0.0.1:5432/postgres]

Creates a fresh database (reviewmgr_bench_ranking_<pid>; SQLite under a temporary directory when
--database-url is "sqlite"), imports synthetic records through the product's import path,
then times `screening.prioritisation.rank_queue`:

- first ranking: fits the TF-IDF space (once per set of records), cold start by keywords;
- retrain: after --decisions decisions, the path every few decisions takes while people
  screen (feature space reused, model retrained, every awaiting row's priority rewritten);
  with blind screening (the default) that is one reviewer's own model and own places;
- the queue read: the first 40 records waiting for a reviewer (`screening.queue.in_order`),
  median of 50 reads, from the reviewer's own places (blind) and from the shared order.

Baseline in the same run: the ranker alone on the same texts and labels, in memory
(train + score + order), so the ratio is what reading and writing the database costs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benches.environment import add_bench_arguments, bench_environment  # noqa: E402


def child(records: int, decisions: int) -> None:
    import django

    django.setup()
    import numpy as np
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from reviewmgr import services
    from reviewmgr.models import User
    from screening import prioritisation, queue
    from screening.models import Decision, RecordScreening, ReviewerPriority, Stage
    from screening.ranking import order_queue
    from screening.services import config_for, sync_screening_rows
    from seeds.synthetic import generate_records, write_ris

    lead = User.objects.create_user("bench-lead")
    review = services.create_review(title="Bench", slug="bench", user=lead)
    review.inclusion_keywords = ["platelet-rich plasma", "neuropathic pain", "cytokine"]
    review.save()
    path = Path(os.environ["REVIEWMGR_VAR_DIR"]) / "bench.ris"
    write_ris(generate_records(records, seed=5), path)
    services.import_records(
        review=review, data=path.read_bytes(), file_name="bench.ris", find_duplicates=False
    )
    sync_screening_rows(review=review)
    config_for(review)
    n = RecordScreening.objects.filter(review=review).count()
    print(f"records in the queue: {n}", flush=True)

    started = time.perf_counter()
    prioritisation.rank_queue(review=review)
    first = time.perf_counter() - started

    # decisions: 5% of them include, on records spread over the queue
    rng = np.random.default_rng(1)
    ids = list(RecordScreening.objects.filter(review=review).values_list("record_id", flat=True))
    picked = rng.choice(ids, size=decisions, replace=False)
    relevant = rng.random(decisions) < 0.05
    Decision.objects.bulk_create(
        Decision(
            record_id=int(pk),
            stage=Stage.TITLE_ABSTRACT,
            reviewer=lead,
            verdict="include" if inc else "exclude",
        )
        for pk, inc in zip(picked, relevant, strict=True)
    )
    started = time.perf_counter()
    prioritisation.rank_queue(review=review, reviewer_ids=[lead.pk])
    retrain = time.perf_counter() - started
    places = ReviewerPriority.objects.filter(review=review, reviewer=lead).count()
    assert places, "blind screening ranks the reviewer's own queue"
    # the next retrain rewrites the places that moved (the first one created them)
    more = rng.choice(sorted(set(ids) - {int(pk) for pk in picked}), size=100, replace=False)
    Decision.objects.bulk_create(
        Decision(record_id=int(pk), stage=Stage.TITLE_ABSTRACT, reviewer=lead, verdict="exclude")
        for pk in more
    )
    started = time.perf_counter()
    prioritisation.rank_queue(review=review, reviewer_ids=[lead.pk])
    personal_again = time.perf_counter() - started

    def queue_read() -> float:
        times = []
        for _ in range(50):
            started = time.perf_counter()
            assert len(queue.in_order(review, lead, Stage.TITLE_ABSTRACT, 40)) == 40
            times.append(time.perf_counter() - started)
        return sorted(times)[len(times) // 2] * 1000

    personal_read = queue_read()
    config = config_for(review)
    config.blind = False
    config.save()
    started = time.perf_counter()
    prioritisation.rank_queue(review=review)
    shared_retrain = time.perf_counter() - started
    shared_read = queue_read()

    # baseline: the ranker alone, in memory, on the same texts and labels
    ranker, record_ids = prioritisation._fitted_ranker(review)
    position = {int(pk): i for i, pk in enumerate(record_ids)}
    started = time.perf_counter()
    ranker.train([position[int(pk)] for pk in picked], relevant.tolist())
    order_queue(ranker.scores(), exploration=0.05, seed=1)
    bare = time.perf_counter() - started

    print(f"first ranking (fit + cold start + store): {first:8.2f} s")
    print(f"retrain after {decisions} decisions + store:   {retrain:8.2f} s  ({places} own places)")
    print(f"next retrain, own places rewritten:     {personal_again:8.2f} s")
    print(f"retrain, shared order (not blind):      {shared_retrain:8.2f} s")
    print(f"queue read, blind (own places):         {personal_read:8.2f} ms (median of 50)")
    print(f"queue read, shared order:               {shared_read:8.2f} ms (median of 50)")
    print(f"ranker alone, in memory (baseline):     {bare:8.2f} s")
    print(f"ratio retrain / baseline:               {retrain / bare:8.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--decisions", type=int, default=1000)
    add_bench_arguments(parser)
    args = parser.parse_args()
    if args.child:
        child(args.records, args.decisions)
        return

    with bench_environment(args.database_url, name="ranking") as env:
        subprocess.run(
            [sys.executable, __file__, "--child", "--records", str(args.records),
             "--decisions", str(args.decisions)],
            env=env, cwd=ROOT, check=True,
        )  # fmt: skip

if __name__ == "__main__":
    main()
