"""The ranker's first fit, a retrain and the scores on large reviews: a vocabulary against
hashed features, in time and peak memory.

    .venv/bin/python benches/ranking_scale_bench.py [--sizes 100000 300000 1000000]
        [--exact-up-to 300000]

Synthetic records (seeds/synthetic.py: ~180-word abstracts, 5-10 authors) are written to a
text file first, one per line. Then each step runs in a fresh process, so its peak resident
memory is its own:

- "vocabulary": the ranker as reviews under 200,000 records get it, fitted on the texts read
  into a list (as the product read them before), TF-IDF of unigrams and bigrams;
- "hashed": the ranker as larger reviews get it (``screening.ranking.HashedTfidf``), fitted
  from the file read line by line, as the product reads the database.

Each then trains on 1,000 labels (5% relevant) and scores every record. The floor is a
process that only reads the file line by line. Prints seconds and peak MB.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_texts(n: int, path: Path) -> None:
    from seeds.synthetic import generate_records

    with path.open("w", encoding="utf-8") as handle:
        for start in range(0, n, 50_000):
            for row in generate_records(min(50_000, n - start), seed=start + 1):
                text = f"{row['title']} {row['abstract']} {' '.join(row.get('keywords') or [])}"
                handle.write(text.replace("\n", " ") + "\n")


def lines(path: Path):
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            yield line.rstrip("\n")


def run(mode: str, path: Path, n: int) -> None:
    import numpy as np

    from screening.ranking import Ranker

    started = time.perf_counter()
    if mode == "floor":
        count = sum(1 for _ in lines(path))
        print(f"RESULT {time.perf_counter() - started:.1f} 0 0 {peak_mb():.0f} {count}")
        return
    if mode == "vocabulary":
        ranker = Ranker(seed=1).fit(list(lines(path)))
    else:
        ranker = Ranker(seed=1, bounded=True).fit(lines(path), count=n)
    fitted = time.perf_counter() - started
    rng = np.random.default_rng(1)
    picked = rng.choice(n, size=1000, replace=False)
    started = time.perf_counter()
    ranker.train(picked.tolist(), (rng.random(1000) < 0.05).tolist())
    trained = time.perf_counter() - started
    started = time.perf_counter()
    assert ranker.scores().shape == (n,)
    scored = time.perf_counter() - started
    columns = ranker._features.shape[1]
    print(f"RESULT {fitted:.1f} {trained:.2f} {scored:.2f} {peak_mb():.0f} {columns}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[100_000, 300_000, 1_000_000])
    parser.add_argument("--exact-up-to", type=int, default=300_000)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, path, n = args.child
        run(mode, Path(path), int(n))
        return
    print(f"{'records':>9} {'features':>11} {'fit s':>7} {'retrain s':>9} {'score s':>8} "
          f"{'peak MB':>8} {'columns':>9}")  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        for n in args.sizes:
            path = Path(folder) / f"texts-{n}.txt"
            write_texts(n, path)
            modes = ["floor", "hashed"] + (["vocabulary"] if n <= args.exact_up_to else [])
            for mode in modes:
                out = subprocess.run(
                    [sys.executable, __file__, "--child", mode, str(path), str(n)],
                    cwd=ROOT, check=True, capture_output=True, text=True,
                )  # fmt: skip
                line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT"))
                fit, train, score, peak, columns = line.split()[1:]
                print(f"{n:>9,} {mode:>11} {fit:>7} {train:>9} {score:>8} {peak:>8} "
                      f"{int(columns):>9,}", flush=True)  # fmt: skip
            path.unlink()


if __name__ == "__main__":
    main()
