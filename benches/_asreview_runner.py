"""Run one ASReview LAB simulation with its default model and write the screening order.

Runs inside the benchmark's own environment (benches/.envs/asreview), never the product's:

    benches/.envs/asreview/bin/python benches/_asreview_runner.py DATA.csv \
        --prior 12 345 --seed 1 --out order.txt

It calls ASReview's own command line (``asreview simulate``, default model, the given prior
row positions) into a temporary project, reads the order in which records were labelled
from the project's results table and writes one 0-based row position per line, priors
first. ASReview stops at the last relevant record; the rows it never reached, all
irrelevant, are left out (the scorer counts them as screened last).
"""

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--prior", type=int, nargs="+", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    executable = Path(sys.executable).with_name("asreview")
    with tempfile.TemporaryDirectory() as work:
        project = Path(work) / "simulation.asreview"
        started = time.perf_counter()
        subprocess.run(
            [
                str(executable),
                "simulate",
                str(args.data.resolve()),
                "--prior-idx",
                *map(str, args.prior),
                "--seed",
                str(args.seed),
                "-o",
                str(project),
            ],
            check=True,
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        elapsed = time.perf_counter() - started
        with zipfile.ZipFile(project) as archive:
            archive.extract("results.db", work)
        connection = sqlite3.connect(Path(work) / "results.db")
        try:
            row_of = dict(connection.execute("SELECT record_id, dataset_row FROM record"))
            labelled = [
                record_id
                for (record_id,) in connection.execute(
                    "SELECT record_id FROM results ORDER BY rowid"
                )
            ]
        finally:
            connection.close()

    order = [row_of[record_id] for record_id in labelled]
    if order[: len(args.prior)] != args.prior:
        raise SystemExit(f"ASReview did not label the priors first: {order[:4]}")
    args.out.write_text("".join(f"{row}\n" for row in order))
    print(f"{elapsed:.1f}")


if __name__ == "__main__":
    main()
