"""Screening prioritisation: our ranker against ASReview LAB's default model, same priors.

    .venv/bin/python -m benches.ranking_bench [--sets nudging ace wilson] [--seeds 1 2 3 4 5]
        [--no-asreview] [--no-timing] [--timing-only] [--json results.json]

For each labelled set in ../shared/corpus/screening/ and each seed, one relevant and one
irrelevant prior record are drawn with the seed; our ranker (screening.simulation.simulate)
and ASReview LAB 3.x with its default model (run by benches/_asreview_runner.py in its own
environment, benches/.envs/asreview, created here on first use with `pip install asreview`)
replay the set from the SAME priors, and both screening orders are scored by the same
`metrics_from_order`. ASReview runs in a subprocess beside our simulation, so the two share
the machine's two cores. Recall curves of the first seed go to docs/img/recall_<set>.png.

The timing part fits the ranker on synthetic abstracts (benches/synthetic.py), then times one
retrain on 20,000 records with 1,000 decisions and one scoring pass over 100,000 records.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from screening.ranking import Ranker  # noqa: E402
from screening.simulation import (  # noqa: E402
    SimulationResult,
    draw_priors,
    plot_recall_curve,
    result_from_order,
    simulate,
)

CORPUS = ROOT.parent / "shared" / "corpus" / "screening"
ASREVIEW_ENV = ROOT / "benches" / ".envs" / "asreview"
ASREVIEW_REQUIREMENT = "asreview>=3,<4"
RUNNER = ROOT / "benches" / "_asreview_runner.py"
IMAGES = ROOT / "docs" / "img"

# file, label column, best published WSS@95 for any model (Ferdinands et al. 2023) and model
SETS = {
    "nudging": ("nudging_Nagtegaal2019.csv", "included", 71.7, "NB + TF-IDF"),
    "ace": ("ace_Cohen2006_ACEInhibitors.csv", "label_included", 82.9, "NB + TF-IDF"),
    "wilson": ("wilson_AppenzellerHerzog2019.csv", "included", 84.0, "LR + D2V"),
}


RANKER_OPTIONS: dict = {}


def load_set(name: str) -> tuple[list[str], np.ndarray]:
    filename, label_column, _, _ = SETS[name]
    frame = pd.read_csv(CORPUS / filename)
    # title and abstract joined with a space, as ASReview's own feature extraction does
    texts = (frame["title"].fillna("") + " " + frame["abstract"].fillna("")).tolist()
    return texts, frame[label_column].to_numpy().astype(bool)


def asreview_python() -> Path:
    """The benchmark environment's interpreter, creating the environment on first use."""
    python = ASREVIEW_ENV / "bin" / "python"
    if not python.exists():
        print(f"creating {ASREVIEW_ENV.relative_to(ROOT)} with {ASREVIEW_REQUIREMENT} ...")
        venv.EnvBuilder(with_pip=True, clear=True).create(ASREVIEW_ENV)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", ASREVIEW_REQUIREMENT], check=True
        )
    return python


def asreview_version(python: Path) -> str:
    return subprocess.run(
        [str(python), "-c", "import asreview; print(asreview.__version__)"],
        check=True,
        capture_output=True,
        text=True,
        # ASReview's dataset helper leaves a cache file in the working directory
        cwd=tempfile.gettempdir(),
    ).stdout.strip()


def run_asreview(
    python: Path, name: str, priors: tuple[int, int], seed: int
) -> tuple[list[int], float]:
    with tempfile.TemporaryDirectory() as work:
        out = Path(work) / "order.txt"
        started = time.perf_counter()
        subprocess.run(
            [
                str(python),
                str(RUNNER),
                str(CORPUS / SETS[name][0]),
                "--prior",
                *map(str, priors),
                "--seed",
                str(seed),
                "--out",
                str(out),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        seconds = time.perf_counter() - started
        return [int(line) for line in out.read_text().split()], seconds


def row(result: SimulationResult | None, seconds: float | None) -> str:
    if result is None:
        return f"{'-':>6} {'-':>6} {'-':>6} {'-':>7}"
    m = result.metrics
    return f"{m.wss95:6.1f} {m.wss100:6.1f} {m.recall_at_10:6.1f} {seconds:6.1f}s"


def bench_set(name: str, seeds: list[int], python: Path | None) -> dict:
    texts, labels = load_set(name)
    print(f"\n{name}: {labels.size} records, {int(labels.sum())} relevant")
    print(
        f"{'seed':>4} {'priors':>11} | ours: WSS@95 WSS@100 rec@10  time | "
        "ASReview: WSS@95 WSS@100 rec@10  time"
    )
    runs = []
    first: tuple[SimulationResult, SimulationResult | None] | None = None
    with ThreadPoolExecutor(max_workers=1) as pool:
        for seed in seeds:
            priors = draw_priors(labels, seed)
            theirs: Future | None = None
            if python is not None:
                theirs = pool.submit(run_asreview, python, name, priors, seed)
            started = time.perf_counter()
            ours = simulate(
                texts, labels, seed=seed, prior_relevant=priors[0], prior_irrelevant=priors[1],
                ranker_options=RANKER_OPTIONS,
            )  # fmt: skip
            our_seconds = time.perf_counter() - started
            asr = asr_seconds = None
            if theirs is not None:
                order, asr_seconds = theirs.result()
                asr = result_from_order(order, labels, n_prior=2, seed=seed)
            print(
                f"{seed:>4} {str(priors):>11} | {row(ours, our_seconds)} | {row(asr, asr_seconds)}"
            )
            runs.append(
                {
                    "seed": seed,
                    "priors": list(priors),
                    "ours": asdict(ours.metrics) | {"seconds": our_seconds},
                    "asreview": None
                    if asr is None
                    else asdict(asr.metrics) | {"seconds": asr_seconds},
                }
            )
            if first is None:
                first = (ours, asr)

    ours, asr = first
    others = [] if asr is None else [("ASReview LAB default", asr)]
    variant = "_bounded" if RANKER_OPTIONS.get("bounded") else ""  # the docs show the default
    image = plot_recall_curve(
        ours,
        IMAGES / f"recall_{name}{variant}.png",
        label="reviewmgr",
        others=others,
        title=f"{name}: seed {seeds[0]}, priors {list(draw_priors(labels, seeds[0]))}",
    )
    print(f"recall curve: {image.relative_to(ROOT)}")
    return {"name": name, "records": int(labels.size), "relevant": int(labels.sum()), "runs": runs}


def mean_of(runs: list[dict], side: str, key: str) -> float | None:
    values = [run[side][key] for run in runs if run[side] is not None]
    return statistics.fmean(values) if values else None


def summarise(results: list[dict]) -> None:
    print("\nMeans over seeds (WSS@95 / WSS@100 / recall@10%, priors excluded):")
    print(f"{'set':<8} | {'ours':>18} | {'ASReview default':>18} | published best WSS@95")
    verdicts = []
    for item in results:
        runs = item["runs"]
        ours = [mean_of(runs, "ours", key) for key in ("wss95", "wss100", "recall_at_10")]
        theirs = [mean_of(runs, "asreview", key) for key in ("wss95", "wss100", "recall_at_10")]
        _, _, published, model = SETS[item["name"]]
        ours_text = " / ".join(f"{v:.1f}" for v in ours)
        theirs_text = " / ".join("-" if v is None else f"{v:.1f}" for v in theirs)
        print(f"{item['name']:<8} | {ours_text:>18} | {theirs_text:>18} | {published} ({model})")
        beats_asreview = theirs[0] is None or ours[0] >= theirs[0]
        verdicts.append(
            f"{item['name']}: ours {ours[0]:.1f} "
            f"{'>=' if beats_asreview else '<'} ASReview {theirs_text.split(' / ')[0]}; "
            f"{'>=' if ours[0] >= published else '<'} published {published}"
        )
    print("\n".join(verdicts))


def synthetic_texts(n: int) -> list[str]:
    from seeds.synthetic import generate_records

    return [f"{r['title']} {r['abstract']}" for r in generate_records(n, seed=7)]


def bench_timing() -> dict:
    print("\nTiming on synthetic abstracts (benches/synthetic.py):")
    texts = synthetic_texts(100_000)
    rng = np.random.default_rng(0)

    ranker = Ranker()
    started = time.perf_counter()
    ranker.fit(texts[:20_000])
    fit_20k = time.perf_counter() - started
    labelled = rng.choice(20_000, size=1_000, replace=False)
    labels = rng.random(1_000) < 0.05
    labels[:2] = [True, False]
    train_times = []
    for _ in range(3):
        started = time.perf_counter()
        ranker.train(labelled, labels)
        train_times.append(time.perf_counter() - started)
    print(
        f"fit 20k: {fit_20k:.1f} s; retrain on 20k with 1k decisions: "
        f"median {statistics.median(train_times):.2f} s (target < 2 s)"
    )

    ranker = Ranker()
    started = time.perf_counter()
    ranker.fit(texts)
    fit_100k = time.perf_counter() - started
    labelled = rng.choice(100_000, size=1_000, replace=False)
    ranker.train(labelled, labels)
    score_times = []
    for _ in range(3):
        started = time.perf_counter()
        ranker.scores()
        score_times.append(time.perf_counter() - started)
    print(
        f"fit 100k: {fit_100k:.1f} s; score 100k: median {statistics.median(score_times):.2f} s "
        "(target < 5 s)"
    )
    return {
        "fit_20k_seconds": fit_20k,
        "train_20k_1k_seconds": statistics.median(train_times),
        "fit_100k_seconds": fit_100k,
        "score_100k_seconds": statistics.median(score_times),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3, 4, 5])
    parser.add_argument("--no-asreview", action="store_true")
    parser.add_argument("--no-timing", action="store_true")
    parser.add_argument("--timing-only", action="store_true")
    parser.add_argument(
        "--bounded",
        action="store_true",
        help="hashed unigram features, as reviews of 200,000 records or more get them",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    report: dict = {}
    if args.bounded:
        RANKER_OPTIONS["bounded"] = True
    if not args.timing_only:
        python = None if args.no_asreview else asreview_python()
        if python is not None:
            report["asreview_version"] = asreview_version(python)
            print(
                f"ASReview LAB {report['asreview_version']} (default model), "
                f"environment {ASREVIEW_ENV.relative_to(ROOT)}"
            )
        report["sets"] = [bench_set(name, args.seeds, python) for name in args.sets]
        summarise(report["sets"])
    if not args.no_timing:
        report["timing"] = bench_timing()
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
