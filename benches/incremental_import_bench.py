"""Upload to first screen, and a new search into a large review (a living review's update).

    .venv/bin/python benches/incremental_import_bench.py [--base 100000] [--update 10000]
        [--database-url postgres://postgres@127.0.0.1:5432/postgres]

One realistic set of base + update records (benches/synthetic.py, 30% planted duplicates,
shuffled, so that some of the update's records duplicate records of the base) is written as
two RIS files. Measured, each in a fresh process so that its peak memory is its own:

- a bare `rispy.load` of each file (the baseline of the same run);
- "alone": the update file imported into an empty review, then its duplicate search;
- "base": the base file imported into an empty review, then its duplicate search;
- "into base": in that same process, the update file imported into the base review, then its
  duplicate search. Upload to first screen is import + duplicate search; the ranking that
  follows is queued for background workers and not run in the measured process.

Incremental means "into base" costs about what "alone" costs, not what base + update cost.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benches.import_bench import (  # noqa: E402
    peak_rss_mb,
    postgres_database,
    run_child,
)


def _import_and_search(review, path: Path) -> dict:
    from reviewmgr import services
    from reviewmgr.duplicates import find_duplicates_in_review

    start = time.perf_counter()
    batch, ids = services.import_records(
        review=review, data=path.read_bytes(), file_name=path.name, find_duplicates=False
    )
    imported = time.perf_counter() - start
    start = time.perf_counter()
    find_duplicates_in_review(review=review, new_record_ids=ids)
    searched = time.perf_counter() - start
    return {"records": batch.record_count, "import_s": imported, "dedup_s": searched}


def measure(paths: list[Path], database_url: str, var_dir: str) -> dict:
    """Import each file in turn into one review; figures per file, peak memory overall."""
    import os

    os.environ["DATABASE_URL"] = database_url
    os.environ["REVIEWMGR_VAR_DIR"] = var_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewmgr.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    # Ranking is queued for the background, as on a deployment where workers rank: not run
    # here, so that the figures are the reviewer's wait, not the ranking's CPU.
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    call_command("migrate", verbosity=0)
    from reviewmgr import services
    from reviewmgr.models import User

    lead = User.objects.create(username="bench")
    review = services.create_review(title="Bench", slug="bench", user=lead)
    steps = []
    for path in paths:
        steps.append(_import_and_search(review, path) | {"peak_mb": peak_rss_mb()})
    steps[-1]["removed"] = review.records.removed_duplicates().count()
    return {"steps": steps}


def _database(base_url: str, tmp: str, name: str) -> str:
    if base_url:
        return postgres_database(base_url, f"reviewmgr_bench_{name}")
    return f"sqlite:///{Path(tmp) / f'{name}.sqlite3'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=int, default=100_000)
    parser.add_argument("--update", type=int, default=10_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    from seeds.synthetic import generate_records, write_ris

    engine = "PostgreSQL" if args.database_url else "SQLite"
    records = generate_records(args.base + args.update, seed=args.seed, duplicate_fraction=0.3)
    with tempfile.TemporaryDirectory() as tmp:
        base, update = Path(tmp) / "base.ris", Path(tmp) / "update.ris"
        write_ris(records[: args.base], base)
        write_ris(records[args.base :], update)
        bare_base = run_child("bare", base)["seconds"]
        bare_update = run_child("bare", update)["seconds"]
        alone = _child([update], _database(args.database_url, tmp, "alone"), tmp)["steps"][0]
        both = _child([base, update], _database(args.database_url, tmp, "both"), tmp)["steps"]

    print(f"Upload to first screen on {engine} (import + duplicate search), seconds; peak RSS MB")
    print(f"{'':<34} {'records':>8} {'rispy':>6} {'import':>7} {'dedup':>7} {'total':>7} "
          f"{'x rispy':>8} {'peak MB':>8}")  # fmt: skip
    for label, step, bare in (
        ("update alone, empty review", alone, bare_update),
        ("base, empty review", both[0], bare_base),
        (f"update into the {args.base:,}-record review", both[1], bare_update),
    ):
        total = step["import_s"] + step["dedup_s"]
        print(
            f"{label:<34} {step['records']:>8} {bare:>6.2f} {step['import_s']:>7.2f} "
            f"{step['dedup_s']:>7.2f} {total:>7.2f} {total / bare:>8.1f} {step['peak_mb']:>8.0f}"
        )
    into = both[1]["import_s"] + both[1]["dedup_s"]
    by_itself = alone["import_s"] + alone["dedup_s"]
    print(f"update into the review / update alone: {into / by_itself:.2f}x; "
          f"records merged away in the end: {both[1]['removed']}")  # fmt: skip


def _child(paths: list[Path], database_url: str, var_dir: str) -> dict:
    import subprocess

    out = subprocess.run(
        [sys.executable, __file__, "--child", database_url, var_dir, *map(str, paths)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(measure([Path(p) for p in sys.argv[4:]], sys.argv[2], sys.argv[3])))
    else:
        main()
