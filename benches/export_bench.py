"""The whole evidence workbook of a large review, against bare openpyxl writing the same cells.

    .venv/bin/python benches/export_bench.py [--records 100000] [--studies 500]
        [--database-url sqlite|postgres://postgres@127.0.0.1:5432/postgres]

Builds a review with --records screened records (two reviewers at title/abstract, two at
full text for the records that reach it) and --studies studies with final consensus
extractions (cytokine and pain tables of eight rows each). Setup writes rows in bulk; it is
not what is measured. Then, each in its own process so peak memory is its own:

1. the product: `extraction.exports.export_workbook` (reads the database, computes, writes);
2. the baseline: the same cells, collected beforehand into a pickle, written with bare
   openpyxl in write-only mode (no styles, widths, links or filters).

Prints seconds and peak resident memory of both and the ratio.
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benches.environment import bench_environment  # noqa: E402


def setup(records: int, studies: int) -> None:
    import django

    django.setup()
    import numpy as np
    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from extraction import services as extraction_services
    from extraction.models import Extraction, Study
    from reviewmgr import bulk, services
    from reviewmgr.models import User
    from screening.models import Decision, RecordScreening, Stage
    from screening.services import sync_screening_rows
    from seeds.synthetic import generate_records, write_ris

    lead = User.objects.create_user("bench-lead")
    a, b = User.objects.create_user("bench-a"), User.objects.create_user("bench-b")
    review = services.create_review(title="Bench", slug="bench", user=lead)
    path = Path(os.environ["REVIEWMGR_VAR_DIR"]) / "bench.ris"
    write_ris(generate_records(records, seed=7), path)
    services.import_records(
        review=review, data=path.read_bytes(), file_name="bench.ris", find_duplicates=False
    )
    sync_screening_rows(review=review)
    rng = np.random.default_rng(3)
    ids = list(RecordScreening.objects.filter(review=review).values_list("record_id", flat=True))
    now = timezone.now()
    advance = set(rng.choice(ids, size=min(len(ids), studies * 4), replace=False).tolist())
    included = sorted(advance)[:studies]
    decision_fields = [f for f in Decision._meta.concrete_fields if not f.primary_key]
    rows = []
    for stage, pool in ((Stage.TITLE_ABSTRACT, ids), (Stage.FULL_TEXT, sorted(advance))):
        for record_id in pool:
            verdict = "include" if record_id in advance else "exclude"
            if stage == Stage.FULL_TEXT:
                verdict = "include" if record_id in set(included) else "exclude"
            reason = "Wrong population" if verdict == "exclude" and stage == "ft" else ""
            for reviewer in (a, b):
                values = {
                    "record": record_id,
                    "stage": stage,
                    "reviewer": reviewer.pk,
                    "verdict": verdict,
                    "reason": reason,
                    "note": "",
                    "tags": "[]",
                    "created_at": now,
                    "updated_at": now,
                }
                rows.append([values[f.name] for f in decision_fields])
    bulk.insert_rows(Decision, decision_fields, rows)
    RecordScreening.objects.filter(review=review).update(
        status="resolved", outcome="exclude", decision_count=2
    )
    RecordScreening.objects.filter(review=review, record_id__in=advance).update(outcome="include")
    RecordScreening.objects.bulk_create(
        RecordScreening(
            review=review,
            record_id=pk,
            stage=Stage.FULL_TEXT,
            status="resolved",
            outcome="include" if pk in set(included) else "exclude",
            decision_count=2,
        )
        for pk in sorted(advance)
    )
    extraction_services.sync_studies(review=review)
    version = extraction_services.config_for(review).template.current
    extractions = []
    for n, study in enumerate(Study.objects.filter(review=review)):
        values = {
            "study.design": "animal",
            "study.subject": "animal",
            "study.country": "Italy",
            "study.sample_size": 24,
            "animal.species": "rat",
            "animal.strain": "Wistar",
            "animal.sex": "male",
            "prp.platelet_concentration": 1100.0 + n,
            "prp.platelet_baseline": 250.0,
            "prp.activation": "calcium",
        }
        values["cytokines.measurements"] = [
            {
                "analyte": an,
                "compartment": "serum",
                "time_point": f"day {t}",
                "unit": "pg/mL",
                "group": role,
                "group_role": role,
                "n": 12,
                "mean": 20.0 + n % 7,
                "sd": 4.0,
            }
            for an in ("il6", "tnfa")
            for t in (7, 14)
            for role in ("intervention", "comparator")
        ]
        values["outcomes.results"] = [
            {
                "measure": "von_frey",
                "direction": "higher_better",
                "time_point": f"day {t}",
                "group": role,
                "group_role": role,
                "n": 12,
                "median": 8.0,
                "q1": 6.0,
                "q3": 11.0,
            }
            for t in (3, 7, 14, 21)
            for role in ("intervention", "comparator")
        ]
        extractions.append(
            Extraction(
                study=study,
                kind="consensus",
                template_version=version,
                values=values,
                complete=True,
                final=True,
            )
        )
    Extraction.objects.bulk_create(extractions)
    Study.objects.filter(review=review).update(status="final")
    print(
        f"prepared {len(ids)} records, {len(rows)} decisions, {len(extractions)} studies",
        flush=True,
    )


def product(target: str) -> None:
    import django

    django.setup()
    from extraction import exports
    from reviewmgr.models import Review

    review = Review.objects.get(slug="bench")
    started = time.perf_counter()
    exports.export_workbook(review, target)
    seconds = time.perf_counter() - started
    print(f"RESULT {seconds:.2f} {peak_mb():.0f}", flush=True)


def collect(target: str) -> None:
    """The cells the product writes, gathered once for the baseline (not timed)."""
    import django

    django.setup()
    from extraction import exports
    from reviewmgr.models import Review

    sheets = exports.review_sheets(Review.objects.get(slug="bench"))
    with open(target, "wb") as handle:
        for sheet in sheets:
            rows = [[c.header for c in sheet.columns], *map(list, sheet.rows)]
            pickle.dump((sheet.name, rows), handle)


def baseline(cells: str, target: str) -> None:
    from openpyxl import Workbook

    started = time.perf_counter()
    book = Workbook(write_only=True)
    with open(cells, "rb") as handle:
        while True:
            try:
                name, rows = pickle.load(handle)
            except EOFError:
                break
            sheet = book.create_sheet(name[:31])
            for row in rows:
                sheet.append(row)
            del rows
    book.save(target)
    seconds = time.perf_counter() - started
    print(f"RESULT {seconds:.2f} {peak_mb():.0f}", flush=True)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(mode: str, env: dict, *extra: str) -> tuple[float, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, *extra],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    line = next(line for line in out.stdout.splitlines() if line.startswith("RESULT"))
    _, seconds, mb = line.split()
    return float(seconds), float(mb)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--studies", type=int, default=500)
    parser.add_argument("--database-url", default="sqlite")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, *rest = args.child
        {
            "setup": lambda: setup(args.records, args.studies),
            "product": lambda: product(*rest),
            "collect": lambda: collect(*rest),
            "baseline": lambda: baseline(*rest),
        }[mode]()
        return
    with bench_environment(args.database_url, name="export") as env:
        var = env["var"]
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--records",
                str(args.records),
                "--studies",
                str(args.studies),
                "--child",
                "setup",
            ],
            env=env,
            cwd=ROOT,
            check=True,
        )
        ours = run("product", env, f"{var}/product.xlsx")
        subprocess.run(
            [sys.executable, __file__, "--child", "collect", f"{var}/cells.pickle"],
            env=env,
            cwd=ROOT,
            check=True,
        )
        bare = run("baseline", env, f"{var}/cells.pickle", f"{var}/bare.xlsx")
        size = Path(f"{var}/product.xlsx").stat().st_size / 2**20
        print(f"workbook: {size:.1f} MB")
        print(f"reviewmgr export_workbook: {ours[0]:7.2f} s, peak {ours[1]:6.0f} MB")
        print(f"bare openpyxl write-only:  {bare[0]:7.2f} s, peak {bare[1]:6.0f} MB")
        print(f"ratio: {ours[0] / bare[0]:.2f}x")


if __name__ == "__main__":
    main()
