"""Deduplication benchmark: the engine against labelled real sets, and against bib-dedupe.

    .venv/bin/python -m benches.dedup_bench              # the six labelled sets
    .venv/bin/python -m benches.dedup_bench --speed      # synthetic 10k, 30k, 100k records
    .venv/bin/python -m benches.dedup_bench --no-bibdedupe --sets bibdedupe_stroke

Counting follows ../shared/corpus/dedup/SOURCES.md (bib-dedupe's convention): every
group keeps one record (its lowest id) and the rest are removed. A true singleton that
is removed is a false positive; in a true cluster all removed records are true
positives, every kept record beyond the first is a false negative, and a cluster with
nothing kept counts one false positive. Sensitivity = TP / (TP + FN) over the
duplicates to remove; specificity = TN / (TN + FP) over the distinct works.

bib-dedupe runs in its own virtual environment (benches/.envs/bibdedupe), created on
first use with `python -m venv` and `pip install bib-dedupe`; it is never a dependency
of the product.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from reviewmgr.dedup import CandidateGroup, DedupRecord, find_duplicates
from reviewmgr.dedup.evaluation import SETS, evaluate, id_number, load_set
from seeds.synthetic import dedup_records

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "dedup"
ENV_DIR = ROOT / "benches" / ".envs" / "bibdedupe"
RUNNER = ROOT / "benches" / "_bibdedupe_runner.py"
BIBDEDUPE_PYTHONS = (
    "/root/.pyenv/versions/3.13.0/bin/python3",
    "/root/.pyenv/versions/3.12.1/bin/python3",
    sys.executable,
)



# ---------------------------------------------------------------------- bib-dedupe


def ensure_bibdedupe_env() -> Path:
    """The bib-dedupe interpreter, creating its virtual environment on first use."""
    python = ENV_DIR / "bin" / "python"
    if python.exists():
        probe = subprocess.run(
            [str(python), "-c", "import bib_dedupe"], capture_output=True, check=False
        )
        if probe.returncode == 0:
            return python
    for base in BIBDEDUPE_PYTHONS:
        if not Path(base).exists():
            continue
        print(f"creating {ENV_DIR} with {base} and installing bib-dedupe ...", flush=True)
        subprocess.run([base, "-m", "venv", "--clear", str(ENV_DIR)], check=True)
        install = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "bib-dedupe"], check=False
        )
        if install.returncode == 0:
            return python
    raise RuntimeError("bib-dedupe could not be installed in benches/.envs/bibdedupe")


def _bibdedupe_csv(records: list[DedupRecord], path: Path) -> None:
    columns = [
        "ID",
        "ENTRYTYPE",
        "author",
        "title",
        "year",
        "journal",
        "booktitle",
        "volume",
        "number",
        "pages",
        "doi",
        "abstract",
    ]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for r in records:
            conference = r.type == "conference-paper"
            writer.writerow(
                {
                    "ID": f"id_{r.id:07d}",
                    "ENTRYTYPE": "inproceedings" if conference else "article",
                    "author": " and ".join(r.authors),
                    "title": r.title,
                    "year": r.year or "",
                    "journal": "" if conference else r.journal,
                    "booktitle": r.journal if conference else "",
                    "volume": r.volume,
                    "number": r.issue,
                    "pages": r.pages,
                    "doi": r.doi,
                    "abstract": r.abstract,
                }
            )


def run_bibdedupe(python: Path, records: list[DedupRecord]) -> tuple[list[set[int]], float]:
    """bib-dedupe's duplicate groups ("maybe" pairs left out) and its own run time."""
    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder, "records.csv"), Path(folder, "result.json")
        _bibdedupe_csv(records, source)
        subprocess.run(
            [str(python), str(RUNNER), str(source), str(target)],
            check=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
            stdout=subprocess.DEVNULL,
        )
        result = json.loads(target.read_text(encoding="utf-8"))
    groups = [{id_number(i) for i in group} for group in result["groups"]]
    return groups, result["seconds"]


# ------------------------------------------------------------------------ reports


def _row(label: str, m: dict[str, float], seconds: float | None) -> str:
    timing = f"{seconds:>9.2f}s" if seconds is not None else f"{'':>10}"
    return (
        f"  {label:<24}{m['TP']:>6}{m['FP']:>5}{m['FN']:>6}{m['TN']:>6}"
        f"{m['sensitivity']:>8.3f}{m['specificity']:>8.3f}{timing}"
    )


def bench_sets(names: list[str], with_bibdedupe: bool) -> None:
    python = ensure_bibdedupe_env() if with_bibdedupe else None
    header = f"  {'':<24}{'TP':>6}{'FP':>5}{'FN':>6}{'TN':>6}{'sens':>8}{'spec':>8}{'time':>10}"
    for name in names:
        labelled = load_set(CORPUS, name)
        ids = [r.id for r in labelled.records]
        started = time.perf_counter()
        groups: list[CandidateGroup] = find_duplicates(labelled.records)
        ours_seconds = time.perf_counter() - started
        automatic = [g.record_ids for g in groups if g.automatic]
        everything = [g.record_ids for g in groups]
        to_remove = sum(len(c) - 1 for c in labelled.clusters)
        print(f"\n{name}: {len(ids)} records, {to_remove} duplicates to remove")
        print(header)
        print(_row("ours, automatic", evaluate(automatic, ids, labelled.clusters), ours_seconds))
        print(_row("ours, auto + pending", evaluate(everything, ids, labelled.clusters), None))
        pending = len(groups) - len(automatic)
        print(f"  ({len(automatic)} automatic groups, {pending} pending groups)")
        if python is not None:
            theirs, seconds = run_bibdedupe(python, labelled.records)
            print(_row("bib-dedupe", evaluate(theirs, ids, labelled.clusters), seconds))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def speed_one(n: int) -> None:
    """One size in a fresh process, so the peak memory belongs to this size alone."""
    from seeds.synthetic import generate_records

    rows = generate_records(n, seed=1, duplicate_fraction=0.3)
    records = dedup_records(rows)
    originals: dict[int, set[int]] = {}
    for index, row in enumerate(rows):
        if "dup_of" in row:
            originals.setdefault(row["dup_of"] + 1, {row["dup_of"] + 1}).add(index + 1)
    clusters = list(originals.values())
    del rows
    before = _peak_rss_mb()
    started = time.perf_counter()
    groups = find_duplicates(records)
    seconds = time.perf_counter() - started
    ids = [r.id for r in records]
    auto = evaluate([g.record_ids for g in groups if g.automatic], ids, clusters)
    both = evaluate([g.record_ids for g in groups], ids, clusters)
    print(
        f"{n:>8}{seconds:>9.1f}s{_peak_rss_mb():>9.0f} MB{before:>9.0f} MB"
        f"{auto['sensitivity']:>8.3f}{auto['precision']:>8.3f}"
        f"{both['sensitivity']:>8.3f}{both['precision']:>8.3f}",
        flush=True,
    )


def bench_speed(sizes: list[int]) -> None:
    print("synthetic records, 30% planted duplicates; peak RSS of the whole process")
    print(
        f"{'records':>8}{'time':>10}{'peak RSS':>12}{'RSS before':>12}"
        f"{'auto sens':>10}{'prec':>6}{'all sens':>10}{'prec':>6}"
    )
    for n in sizes:
        subprocess.run(
            [sys.executable, "-m", "benches.dedup_bench", "--speed-one", str(n)],
            check=True,
            cwd=ROOT,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sets", nargs="*", default=list(SETS), choices=SETS)
    parser.add_argument("--no-bibdedupe", action="store_true", help="skip the comparison run")
    parser.add_argument("--speed", action="store_true", help="synthetic 10k, 30k, 100k records")
    parser.add_argument("--sizes", nargs="*", type=int, default=[10_000, 30_000, 100_000])
    parser.add_argument("--speed-one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.speed_one:
        speed_one(args.speed_one)
    elif args.speed:
        bench_speed(args.sizes)
    else:
        if not CORPUS.exists():
            sys.exit(f"the labelled sets are missing: {CORPUS}")
        bench_sets(args.sets, with_bibdedupe=not args.no_bibdedupe)


if __name__ == "__main__":
    main()
