"""Import speed: realistic RIS files of 10k, 30k and 100k records through the product's import
path, beside a bare rispy parse of the same file measured in the same run.

    .venv/bin/python benches/import_bench.py [--sizes 10000 30000 100000] [--database-url URL]

Each measurement runs in a fresh process so that its peak memory (max RSS) is its own. The
database is a new SQLite file per size unless --database-url names a PostgreSQL server, in
which case a fresh database is created and dropped per size.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_bare(path: Path) -> dict:
    import rispy

    start = time.perf_counter()
    with path.open(encoding="utf-8") as handle:
        entries = rispy.load(handle)
    return {
        "seconds": time.perf_counter() - start,
        "records": len(entries),
        "peak_mb": peak_rss_mb(),
    }


def measure_import(path: Path, database_url: str, var_dir: str) -> dict:
    os.environ["DATABASE_URL"] = database_url
    os.environ["REVIEWMGR_VAR_DIR"] = var_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewmgr.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from reviewmgr import services
    from reviewmgr.duplicates import find_duplicates_in_review
    from reviewmgr.models import User

    lead = User.objects.create(username="bench")
    review = services.create_review(title="Bench", slug="bench", user=lead)
    data_start = time.perf_counter()
    data = path.read_bytes()
    batch, ids = services.import_records(
        review=review, data=data, file_name=path.name, find_duplicates=False
    )
    imported = time.perf_counter() - data_start
    dedup_start = time.perf_counter()
    find_duplicates_in_review(review=review, new_record_ids=ids)
    dedup_seconds = time.perf_counter() - dedup_start
    return {
        "seconds": imported,
        "records": batch.record_count,
        "dedup_seconds": dedup_seconds,
        "removed": review.records.removed_duplicates().count(),
        "peak_mb": peak_rss_mb(),
    }


def run_child(mode: str, path: Path, database_url: str = "", var_dir: str = "") -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path), database_url, var_dir],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def postgres_database(base_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return base_url.rsplit("/", 1)[0] + "/" + name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    parser.add_argument(
        "--database-url",
        default="",
        help="postgres://user@host:port/postgres to measure on PostgreSQL",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--duplicate-fraction",
        type=float,
        default=0.0,
        help="Share of planted duplicates (e.g. 0.3) for the dedup figure",
    )
    args = parser.parse_args()

    from seeds.synthetic import generate_records, write_ris

    engine = "PostgreSQL" if args.database_url else "SQLite"
    print(
        f"Import benchmark on {engine}, {args.duplicate_fraction:.0%} planted duplicates; "
        "times in seconds, memory as peak RSS in MB"
    )
    print(
        f"{'records':>8} {'file MB':>8} {'rispy s':>8} {'import s':>9} {'ratio':>6} "
        f"{'import MB':>10} {'dedup s':>8} {'removed':>8} {'planted':>8}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            path = Path(tmp) / f"bench_{size}.ris"
            records = generate_records(
                size, seed=args.seed, duplicate_fraction=args.duplicate_fraction
            )
            write_ris(records, path)
            bare = run_child("bare", path)
            if args.database_url:
                url = postgres_database(args.database_url, f"reviewmgr_bench_{size}")
            else:
                url = f"sqlite:///{Path(tmp) / f'bench_{size}.sqlite3'}"
            imported = run_child("import", path, url, tmp)
            assert imported["records"] == bare["records"] == size, (imported, bare)
            ratio = imported["seconds"] / bare["seconds"]
            print(
                f"{size:>8} {path.stat().st_size / 2**20:>8.1f} {bare['seconds']:>8.2f} "
                f"{imported['seconds']:>9.2f} {ratio:>6.2f} {imported['peak_mb']:>10.0f} "
                f"{imported['dedup_seconds']:>8.2f} {imported['removed']:>8} "
                f"{sum('dup_of' in r for r in records):>8}",
                flush=True,
            )


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        mode, file_path = sys.argv[2], Path(sys.argv[3])
        if mode == "bare":
            result = measure_bare(file_path)
        else:
            result = measure_import(file_path, sys.argv[4], sys.argv[5])
        print(json.dumps(result))
    else:
        main()
