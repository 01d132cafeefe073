"""Run bib-dedupe on one CSV file and write its duplicate groups as JSON.

This script runs inside the benchmark's own virtual environment (benches/.envs/bibdedupe),
never in the product's: bib-dedupe is a point of comparison, not a dependency.

Usage: python _bibdedupe_runner.py records.csv result.json
"""

import json
import sys
import time

import pandas as pd
from bib_dedupe.bib_dedupe import block, cluster, match, prep


def main(source: str, target: str) -> None:
    records = pd.read_csv(source, dtype=str, keep_default_na=False)
    started = time.perf_counter()
    prepared = prep(records, verbosity_level=0, cpu=1)
    blocked = block(prepared, verbosity_level=0, cpu=1)
    matched = match(blocked, verbosity_level=0, cpu=1)
    duplicates = matched[matched["duplicate_label"] == "duplicate"]
    maybe = matched[matched["duplicate_label"] == "maybe"]
    groups = cluster(duplicates, verbosity_level=0) if len(duplicates) else []
    seconds = time.perf_counter() - started
    result = {
        "seconds": seconds,
        "groups": [sorted(group) for group in groups],
        "maybe_pairs": maybe[["ID_1", "ID_2"]].values.tolist(),
    }
    with open(target, "w", encoding="utf-8") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
