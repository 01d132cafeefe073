"""PRISMA counts, the diagram and the streamed backup of a large review.

    .venv/bin/python benches/prisma_bench.py [--records 100000] [--studies 500]

Builds the review of `export_bench` (screened records, studies with final extractions) in a
temporary SQLite database, then, each in its own process so peak memory is its own: counts
every PRISMA box and draws the diagram, and writes the JSON backup to a file. Prints seconds
and peak resident memory of each, and the backup's size.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benches.environment import bench_environment  # noqa: E402
from benches.export_bench import peak_mb, setup  # noqa: E402


def counts() -> None:
    import django

    django.setup()
    from extraction import prisma, reporting
    from reviewmgr.models import Review

    review = Review.objects.get(slug="bench")
    started = time.perf_counter()
    result = reporting.prisma_counts(review)
    counted = time.perf_counter() - started
    prisma.draw(result)
    drawn = time.perf_counter() - started - counted
    assert result.imbalances() == [], result.imbalances()
    print(f"RESULT counts {counted:.2f} s, draw {drawn:.2f} s, {peak_mb():.0f} MB", flush=True)


def backup(target: str) -> None:
    import django

    django.setup()
    from extraction.backup import write_backup
    from reviewmgr.models import Review

    started = time.perf_counter()
    with open(target, "w", encoding="utf-8") as handle:
        write_backup(Review.objects.get(slug="bench"), handle)
    seconds = time.perf_counter() - started
    size = Path(target).stat().st_size / 1e6
    print(f"RESULT backup {seconds:.2f} s, {size:.0f} MB file, {peak_mb():.0f} MB", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--studies", type=int, default=500)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, *rest = args.child
        {
            "setup": lambda: setup(args.records, args.studies),
            "counts": counts,
            "backup": lambda: backup(*rest),
        }[mode]()
        return
    with bench_environment() as env:
        var = env["var"]
        for mode, *extra in (("setup",), ("counts",), ("backup", f"{var}/backup.json")):
            out = subprocess.run(
                [sys.executable, __file__, "--records", str(args.records), "--studies",
                 str(args.studies), "--child", mode, *extra],
                env=env, cwd=ROOT, check=True, capture_output=True, text=True,
            )  # fmt: skip
            for line in out.stdout.splitlines():
                if line.startswith(("RESULT", "prepared")):
                    print(line.removeprefix("RESULT "))


if __name__ == "__main__":
    main()
