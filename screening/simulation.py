"""Replay a fully labelled review through the ranker, and score any screening order.

The protocol and metrics follow the published ASReview simulation studies (Ferdinands et
al., Systematic Reviews 2023; van de Schoot et al., Nature Machine Intelligence 2021) and
the metric functions of ASReview Insights, so figures can be set beside theirs:

- one relevant and one irrelevant record are labelled first (the priors);
- the model is retrained after every label and the top-ranked record is screened next
  ("max" querying), until every relevant record has been found;
- the priors are excluded from every metric: ``N`` and ``R`` below count the records and
  the relevant records screened after them;
- WSS@r (work saved over sampling): take ``j`` = the largest count of relevant records with
  ``j / R <= r`` (at least 1); WSS@r = (records random order needs to find ``j`` - records
  the ranking needed) / ``N``, where random order's progress is ``round(linspace(0, R, N))``;
- recall@10%: share of the ``R`` relevant records found within the first ``floor(0.1 N)``
  records;
- n_to_95: records screened (priors excluded) until the ``j``-th relevant record of WSS@95.

All percentages are 0-100.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from screening.ranking import Ranker


@dataclass(frozen=True, slots=True)
class ScreeningMetrics:
    wss95: float
    wss100: float
    recall_at_10: float
    n_records: int  # records in the metrics, priors excluded
    n_relevant: int  # relevant records in the metrics, priors excluded
    n_to_95: int
    n_prior: int


@dataclass(frozen=True, slots=True)
class SimulationResult:
    order: np.ndarray  # 0-based row positions, priors first
    labels_in_order: np.ndarray
    metrics: ScreeningMetrics
    prior_relevant: int
    prior_irrelevant: int
    seed: int
    batch_size: int


def simulate(
    texts: Sequence[str],
    labels: Sequence[bool],
    *,
    seed: int = 0,
    prior_relevant: int | None = None,
    prior_irrelevant: int | None = None,
    batch_size: int = 1,
    ranker_options: dict[str, Any] | None = None,
) -> SimulationResult:
    """Screen a labelled collection in the ranker's order, from one relevant + one irrelevant.

    Priors not given are drawn with ``seed``. The ranker is retrained after every
    ``batch_size`` labels: 1 reproduces the published protocol (and is what the benchmark
    uses); for collections of tens of thousands of records a batch of 10-50 divides the
    number of retrains accordingly, at some cost in work saved that has not been measured
    here. Once the last relevant record has been found the remaining records, all
    irrelevant, are appended in the last ranking's order without retraining; no metric
    depends on their order.

    Cost: one retrain per batch, so about ``n_to_100 / batch_size`` retrains.
    """
    y = np.asarray(labels, dtype=bool)
    n = y.size
    if len(texts) != n:
        raise ValueError(f"{len(texts)} texts but {n} labels")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    relevant = np.flatnonzero(y)
    irrelevant = np.flatnonzero(~y)
    if relevant.size < 2 or irrelevant.size < 1:
        raise ValueError("a simulation needs at least two relevant and one irrelevant record")

    drawn_relevant, drawn_irrelevant = draw_priors(y, seed)
    if prior_relevant is None:
        prior_relevant = drawn_relevant
    if prior_irrelevant is None:
        prior_irrelevant = drawn_irrelevant
    if not y[prior_relevant] or y[prior_irrelevant]:
        raise ValueError("prior_relevant must be relevant and prior_irrelevant irrelevant")

    ranker = Ranker(seed=seed, **(ranker_options or {})).fit(texts)
    # a fixed random tie-break: equal scores must never fall back to row order, which in
    # some published data sets puts every relevant record first
    tie_break = np.random.default_rng([seed, 1]).permutation(n)

    order = [prior_relevant, prior_irrelevant]
    screened = np.zeros(n, dtype=bool)
    screened[order] = True
    remaining_relevant = relevant.size - 1
    while remaining_relevant > 0:
        ranker.train(order, y[order])
        scores = ranker.scores()
        pool = np.flatnonzero(~screened)
        take = min(batch_size, pool.size)
        if take == 1:
            best = scores[pool].max()
            tied = pool[scores[pool] == best]
            picked = [int(tied[np.argmin(tie_break[tied])])]
        else:
            ranked = pool[np.lexsort((tie_break[pool], -scores[pool]))]
            picked = ranked[:take].tolist()
        order.extend(picked)
        screened[picked] = True
        remaining_relevant -= int(y[picked].sum())

    pool = np.flatnonzero(~screened)
    if pool.size:
        scores = ranker.scores(pool)
        order.extend(pool[np.lexsort((tie_break[pool], -scores))].tolist())

    full_order = np.asarray(order, dtype=np.int64)
    return SimulationResult(
        order=full_order,
        labels_in_order=y[full_order],
        metrics=metrics_from_order(full_order, y, n_prior=2),
        prior_relevant=prior_relevant,
        prior_irrelevant=prior_irrelevant,
        seed=seed,
        batch_size=batch_size,
    )


def draw_priors(labels: Sequence[bool], seed: int) -> tuple[int, int]:
    """One relevant and one irrelevant row position, drawn at random with ``seed``."""
    y = np.asarray(labels, dtype=bool)
    rng = np.random.default_rng(seed)
    return int(rng.choice(np.flatnonzero(y))), int(rng.choice(np.flatnonzero(~y)))


def result_from_order(
    order: Sequence[int], labels: Sequence[bool], *, n_prior: int = 2, seed: int = 0
) -> SimulationResult:
    """Wrap an order produced elsewhere (another tool, an order file) as a result."""
    y = np.asarray(labels, dtype=bool)
    full_order = _complete_order(order, y.size)
    return SimulationResult(
        order=full_order,
        labels_in_order=y[full_order],
        metrics=metrics_from_order(full_order, y, n_prior=n_prior),
        prior_relevant=int(full_order[0]),
        prior_irrelevant=int(full_order[1]) if n_prior > 1 else -1,
        seed=seed,
        batch_size=1,
    )


def metrics_from_order(
    order: Sequence[int], labels: Sequence[bool], n_prior: int = 2
) -> ScreeningMetrics:
    """Metrics of a screening order: row positions in the order screened, priors first.

    Records missing from ``order`` count as screened after it, in any order (as ASReview
    Insights pads a simulation that stopped at the last relevant record); only irrelevant
    records may be missing, or the metrics would depend on their unknown order.
    """
    y = np.asarray(labels, dtype=bool)
    given = np.asarray(order, dtype=np.int64)
    full_order = _complete_order(given, y.size)
    if y[full_order[given.size :]].any():
        raise ValueError("records missing from the order include relevant ones")
    if n_prior < 0 or n_prior >= full_order.size:
        raise ValueError("n_prior must leave records to measure")

    screened = y[full_order[n_prior:]].astype(np.int64)
    n_records = screened.size
    n_relevant = int(screened.sum())
    if n_relevant == 0:
        raise ValueError("no relevant record after the priors: the metrics are undefined")

    found = np.cumsum(screened)
    random_found = np.round(np.linspace(0, n_relevant, n_records))
    counts = np.arange(1, n_relevant + 1)
    # 0-based positions at which the 1st, 2nd, ... relevant record is reached
    reached = np.searchsorted(found, counts)
    reached_at_random = np.searchsorted(random_found, counts)
    saved = (reached_at_random - reached) / n_records

    def at_recall(level: float) -> int:
        # index of the largest j with j / R <= level (float comparison as ASReview Insights),
        # and at least the first relevant record
        return max(int(np.searchsorted(counts / n_relevant, level, side="right")) - 1, 0)

    j95 = at_recall(0.95)
    tenth = int(np.searchsorted(np.arange(1, n_records + 1) / n_records, 0.1, side="right"))
    recall_at_10 = found[tenth - 1] / n_relevant if tenth > 0 else 0.0
    return ScreeningMetrics(
        wss95=100 * float(saved[j95]),
        wss100=100 * float(saved[at_recall(1.0)]),
        recall_at_10=100 * float(recall_at_10),
        n_records=n_records,
        n_relevant=n_relevant,
        n_to_95=int(reached[j95]) + 1,
        n_prior=n_prior,
    )


def _complete_order(order: Sequence[int], n: int) -> np.ndarray:
    given = np.asarray(order, dtype=np.int64)
    if given.size and (given.min() < 0 or given.max() >= n):
        raise ValueError("the order names a row outside the labels")
    if np.unique(given).size != given.size:
        raise ValueError("the order screens a record twice")
    missing = np.setdiff1d(np.arange(n), given, assume_unique=True)
    return np.concatenate([given, missing])


def plot_recall_curve(
    result: SimulationResult,
    path: str | Path,
    *,
    label: str = "reviewmgr",
    others: Sequence[tuple[str, SimulationResult]] = (),
    title: str = "",
) -> Path:
    """Draw relevant records found against records screened, priors excluded, as a PNG.

    Random order's expected line and the 95% recall level (as WSS@95 counts it, with the
    first result's crossing point) are drawn for reference; other results (e.g. another tool
    on the same priors) can be drawn on the same axes.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 4.4), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    metrics = result.metrics
    for name, item in [(label, result), *others]:
        found = np.cumsum(item.labels_in_order[item.metrics.n_prior :])
        x = np.arange(1, found.size + 1)
        axes.step(
            np.concatenate([[0], x]),
            np.concatenate([[0], found]),
            where="post",
            label=f"{name} (WSS@95 {item.metrics.wss95:.1f}%)",
        )
    axes.plot(
        [0, metrics.n_records],
        [0, metrics.n_relevant],
        linestyle="--",
        color="grey",
        label="random order (expected)",
    )
    # the recall level WSS@95 counts: the largest count of relevant records not above 95%
    level = int(np.cumsum(result.labels_in_order[metrics.n_prior :])[metrics.n_to_95 - 1])
    axes.axhline(
        level,
        color="tab:red",
        linewidth=0.8,
        linestyle=":",
        label=f"95% recall level ({level} of {metrics.n_relevant})",
    )
    axes.axvline(metrics.n_to_95, color="tab:red", linewidth=0.8, linestyle=":")
    axes.set_xlim(0, metrics.n_records)
    axes.set_ylim(0, metrics.n_relevant * 1.03)
    axes.set_xlabel("records screened (priors excluded)")
    axes.set_ylabel("relevant records found")
    if title:
        axes.set_title(title)
    axes.legend(loc="lower right", fontsize="small")
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path


# Labelled files -------------------------------------------------------------------------------

LABEL_COLUMNS = (
    "included",
    "label_included",
    "label",
    "inclusion",
    "include",
    "final_included",
    "included_final",
    "label_abstract_screening",
    "decision",
    "relevant",
)
TRUE_LABELS = {"1", "1.0", "true", "yes", "y", "include", "included", "relevant", "t"}
FALSE_LABELS = {"0", "0.0", "false", "no", "n", "exclude", "excluded", "irrelevant", "f"}


def find_label_column(columns: Sequence[str], requested: str | None = None) -> str:
    """The inclusion label column: the one named (any case), else the first usual name found.

    Raises ValueError naming the columns there are when none fits.
    """
    by_lower = {column.lower().strip(): column for column in columns}
    if requested:
        found = by_lower.get(requested.lower().strip())
        if found is None:
            raise ValueError(
                f"no column '{requested}'; the file has: {', '.join(sorted(by_lower)) or 'none'}"
            )
        return found
    for name in LABEL_COLUMNS:
        if name in by_lower:
            return by_lower[name]
    raise ValueError(
        "no inclusion label column found (looked for "
        f"{', '.join(LABEL_COLUMNS)}); the file has: {', '.join(sorted(by_lower)) or 'none'}. "
        "Name it with --label-column."
    )


def parse_label(value: object, *, row: int, column: str) -> bool:
    """1/0, true/false, yes/no, include/exclude (any case). Row numbers in messages are
    1-based records."""
    if isinstance(value, bool):
        return value
    if isinstance(value, list):  # tagged formats may repeat a tag
        value = value[0] if value else ""
    text = str(value if value is not None else "").strip().lower()
    if text in TRUE_LABELS:
        return True
    if text in FALSE_LABELS:
        return False
    shown = text or "empty"
    raise ValueError(f"record {row + 1}: '{column}' is {shown}, not an inclusion label (1/0)")
