"""What a process pays to start: `manage.py check`, the URLconf, and the libraries it avoids.

    .venv/bin/python benches/startup_bench.py [--runs 5]

Every command and every web or worker process sets up Django and imports the URLconf (and
with it every view module), so whatever those import at module level is paid by all of them.
Each figure is a fresh process, measured from outside (wall time and peak resident memory of
that process, from `wait4`), the best of `--runs` after one warm-up run that also writes the
bytecode caches, as an installed product has them. In the same run, as the baseline that
cannot be measured after the change: a bare `python -c "import django"` (the floor) and a
process that imports only the libraries start-up used to load (scikit-learn, scipy, pandas,
matplotlib, openpyxl), i.e. what each process no longer pays.

Also, since the dashboard's stopping estimate no longer uses scipy: the stopping test on a
large review, against scipy's hypergeometric distribution function on the same windows.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HEAVY = ("sklearn", "scipy", "pandas", "matplotlib", "openpyxl", "statsmodels", "numpy")

FORMERLY_AT_START = (
    "import sklearn.feature_extraction.text, sklearn.linear_model, sklearn.preprocessing, "
    "sklearn.svm, scipy.sparse, scipy.stats, scipy.optimize, pandas, matplotlib.figure, "
    "matplotlib.patches, matplotlib.textpath, openpyxl"
)

FLOOR = "python -c 'import django' (floor)"
AVOIDED = "heavy libraries alone (what start-up used to load)"
CHECK = "manage.py check"

URLCONF = """
import sys, time
import django
cpu = time.process_time()
django.setup()
set_up = time.process_time()
from django.urls import get_resolver
get_resolver().url_patterns
done = time.process_time()
heavy = [name for name in {heavy!r} if name in sys.modules]
print(f"{{set_up - cpu:.3f}} {{done - set_up:.3f}} {{','.join(heavy) or '-'}}")
"""


def measure(command: list[str], env: dict[str, str]) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds, peak RSS in MB and stdout of one fresh process."""
    started = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and code)
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    output = process.stdout.read() if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{' '.join(command)} failed with exit code {process.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, output


def best_of(runs: int, command: list[str], env: dict[str, str]) -> tuple[float, float, float, str]:
    measure(command, env)  # warm-up: bytecode caches, the file system's cache
    results = [measure(command, env) for _ in range(runs)]
    wall = min(r[0] for r in results)
    cpu = min(r[1] for r in results)
    rss = max(r[2] for r in results)
    return wall, cpu, rss, results[-1][3]


def start_up(runs: int) -> None:
    python = sys.executable
    with tempfile.TemporaryDirectory() as var:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "reviewmgr.settings",
            "REVIEWMGR_VAR_DIR": var,
            "PYTHONPATH": str(ROOT),
        }
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.pop("DATABASE_URL", None)
        rows = [
            (FLOOR, [python, "-c", "import django"]),
            (AVOIDED, [python, "-c", FORMERLY_AT_START]),
            (CHECK, [python, "manage.py", "check"]),
        ]
        print(f"{'process':<52} {'wall s':>7} {'CPU s':>7} {'peak MB':>8}")
        figures = {}
        for label, command in rows:
            wall, cpu, rss, _ = best_of(runs, command, env)
            figures[label] = (wall, cpu, rss)
            print(f"{label:<52} {wall:7.2f} {cpu:7.2f} {rss:8.0f}")
        wall, cpu, rss, output = best_of(runs, [python, "-c", URLCONF.format(heavy=HEAVY)], env)
        setup_s, urls_s, heavy = output.split()
        print(f"{'django.setup() + URLconf':<52} {wall:7.2f} {cpu:7.2f} {rss:8.0f}")
        print(
            f"  CPU: django.setup() {float(setup_s):.2f} s, then importing the URLconf "
            f"{float(urls_s):.2f} s; heavy libraries loaded: {heavy}"
        )
        check, avoided, floor = figures[CHECK], figures[AVOIDED], figures[FLOOR]
        print(
            f"manage.py check costs {check[0] - floor[0]:.2f} s and {check[2] - floor[2]:.0f} MB "
            f"above the floor; the libraries it no longer loads cost {avoided[0] - floor[0]:.2f} s "
            f"and {avoided[2] - floor[2]:.0f} MB on their own"
        )


def stopping(screened: int, total: int, relevant: int) -> None:
    import numpy as np
    from scipy.stats import hypergeom

    from screening.stopping import hypergeometric_cdf, stopping_test

    rng = np.random.default_rng(1)
    early = np.exp(-np.arange(screened) / (screened / 6))
    labels = np.zeros(screened, dtype=bool)
    labels[rng.choice(screened, size=relevant, replace=False, p=early / early.sum())] = True
    found = np.cumsum(labels[::-1])
    window = np.arange(1, screened + 1)
    needed = np.floor(relevant / 0.95 - relevant + found).astype(np.int64) + 1
    urn = total - screened + window

    started = time.perf_counter()
    ours = hypergeometric_cdf(found, urn, needed, window)
    ours_s = time.perf_counter() - started
    started = time.perf_counter()
    theirs = hypergeom.cdf(found, urn, needed, window)
    theirs_s = time.perf_counter() - started
    started = time.perf_counter()
    estimate = stopping_test(labels, total)
    test_s = time.perf_counter() - started
    worst = float(np.max(np.abs(ours - theirs) / np.maximum(theirs, 1e-300)))
    print(
        f"\nstopping test, {screened:,} of {total:,} screened, {relevant} relevant: "
        f"{test_s:.2f} s for the whole test (p = {estimate.p_value:.4g})"
    )
    print(
        f"  one pass over the {screened:,} windows: numpy {ours_s:.3f} s, scipy's hypergeom.cdf "
        f"{theirs_s:.2f} s ({theirs_s / ours_s:.0f}x); largest relative difference {worst:.1e}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--screened", type=int, default=30_000)
    parser.add_argument("--total", type=int, default=100_000)
    parser.add_argument("--relevant", type=int, default=1_000)
    args = parser.parse_args()
    start_up(args.runs)
    stopping(args.screened, args.total, args.relevant)


if __name__ == "__main__":
    main()
