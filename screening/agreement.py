"""Agreement between two reviewers who screened the same records at one stage.

Pure code: give it the two reviewers' verdicts in record order and it returns the
confusion table and the usual agreement statistics. Nothing here touches the database.

Statistics and their sources:

- percentage agreement: share of records on which both gave the same verdict;
- Cohen's kappa (Cohen 1960) with the large-sample standard error of Fleiss, Cohen and
  Everitt (1969), as printed by SAS PROC FREQ and statsmodels, and a 95% Wald interval;
- PABAK, prevalence- and bias-adjusted kappa (Byrt, Bishop and Carlin 1993):
  ``(k * p_o - 1) / (k - 1)`` for ``k`` categories;
- Gwet's AC1 (Gwet 2008): chance agreement is ``sum(pi_q * (1 - pi_q)) / (k - 1)`` where
  ``pi_q`` is the share of all verdicts, both reviewers pooled, that fell in category ``q``.

Kappa collapses when nearly every verdict falls in one category (most records are excluded
at title and abstract stage), which is why PABAK and AC1 are reported beside it.
"""

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

CONFIDENCE = 0.95


@dataclass(frozen=True, slots=True)
class Agreement:
    n: int
    # table[i][j]: records the first reviewer put in categories[i] and the second in categories[j]
    table: tuple[tuple[int, ...], ...]
    categories: tuple[Hashable, ...]
    percent_agreement: float | None
    kappa: float | None
    kappa_ci_low: float | None
    kappa_ci_high: float | None
    pabak: float | None
    ac1: float | None
    # Why a statistic is missing, in words a lead can paste into a report; empty when none is.
    note: str = ""


def agreement(
    first: Sequence[Hashable],
    second: Sequence[Hashable],
    *,
    categories: Sequence[Hashable] | None = None,
) -> Agreement:
    """Agreement statistics for two reviewers' verdicts on the same records, in the same order.

    ``categories`` fixes the order of the table and the number of categories ``k`` that
    PABAK and AC1 depend on: pass the stage's full set (e.g. include/exclude/maybe) so that
    a category nobody used still counts. By default it is the verdicts seen, sorted.
    """
    if len(first) != len(second):
        raise ValueError(
            f"both reviewers must judge the same records: got {len(first)} and {len(second)} "
            "verdicts"
        )
    if categories is None:
        categories = sorted(set(first) | set(second), key=str)
    categories = tuple(categories)
    if len(set(categories)) != len(categories):
        raise ValueError("categories must not repeat")
    position = {category: i for i, category in enumerate(categories)}
    unknown = (set(first) | set(second)) - set(categories)
    if unknown:
        raise ValueError(f"verdicts outside the categories: {sorted(map(str, unknown))}")

    k = len(categories)
    table = np.zeros((k, k), dtype=np.int64)
    for a, b in zip(first, second, strict=True):
        table[position[a], position[b]] += 1
    return agreement_from_table(table, categories=categories)


def agreement_from_table(
    table: Sequence[Sequence[int]] | np.ndarray, *, categories: Sequence[Hashable]
) -> Agreement:
    """Agreement statistics from a square confusion table (rows: first reviewer)."""
    counts = np.asarray(table, dtype=np.int64)
    k = len(categories)
    if counts.shape != (k, k):
        raise ValueError(f"table must be {k}x{k} for {k} categories, got {counts.shape}")
    if (counts < 0).any():
        raise ValueError("table counts must not be negative")
    n = int(counts.sum())
    frozen_table = tuple(tuple(int(c) for c in row) for row in counts)
    frozen_categories = tuple(categories)

    if n == 0:
        return Agreement(
            n=0,
            table=frozen_table,
            categories=frozen_categories,
            percent_agreement=None,
            kappa=None,
            kappa_ci_low=None,
            kappa_ci_high=None,
            pabak=None,
            ac1=None,
            note="No record was screened by both reviewers, so there is nothing to compare.",
        )

    p = counts / n
    observed = float(np.trace(p))
    notes = []

    kappa, low, high = _cohens_kappa(counts)
    if kappa is None:
        notes.append(
            "Cohen's kappa is undefined: both reviewers gave every record the same verdict, "
            "so agreement expected by chance is 100%."
        )

    if k < 2:
        pabak = ac1 = None
        notes.append("PABAK and AC1 need at least two categories.")
    else:
        pabak = (k * observed - 1) / (k - 1)
        pooled = (p.sum(axis=1) + p.sum(axis=0)) / 2
        chance = float((pooled * (1 - pooled)).sum()) / (k - 1)
        # chance <= 1/k < 1, so the denominator is never zero
        ac1 = (observed - chance) / (1 - chance)

    return Agreement(
        n=n,
        table=frozen_table,
        categories=frozen_categories,
        percent_agreement=100 * observed,
        kappa=kappa,
        kappa_ci_low=low,
        kappa_ci_high=high,
        pabak=pabak,
        ac1=ac1,
        note=" ".join(notes),
    )


def _cohens_kappa(counts: np.ndarray) -> tuple[float | None, float | None, float | None]:
    """Kappa and its Wald interval from a table of counts; Nones when kappa is undefined.

    The variance is the non-null large-sample one (Fleiss, Cohen and Everitt 1969; Fleiss,
    Levin and Paik, Statistical Methods for Rates and Proportions, 3rd ed., section 18.1),
    the same as SAS PROC FREQ's "ASE". The interval is clipped to kappa's range [-1, 1].
    """
    n = counts.sum()
    p = counts / n
    rows = p.sum(axis=1)
    cols = p.sum(axis=0)
    observed = float(np.trace(p))
    expected = float(rows @ cols)
    if expected >= 1.0 - 1e-12:
        return None, None, None
    kappa = (observed - expected) / (1 - expected)

    on_diagonal = (np.diag(p) * (1 - (rows + cols) * (1 - kappa)) ** 2).sum()
    # an off-diagonal cell (i, j) is weighted by (cols[i] + rows[j])^2
    off_diagonal = p * (cols[:, None] + rows[None, :]) ** 2
    np.fill_diagonal(off_diagonal, 0.0)
    variance = (
        on_diagonal + (1 - kappa) ** 2 * off_diagonal.sum() - (kappa - expected * (1 - kappa)) ** 2
    ) / (n * (1 - expected) ** 2)
    # rounding can push a zero variance (perfect agreement) a hair below zero
    standard_error = float(np.sqrt(max(variance, 0.0)))
    z = NormalDist().inv_cdf(0.5 + CONFIDENCE / 2)
    low = max(-1.0, kappa - z * standard_error)
    high = min(1.0, kappa + z * standard_error)
    return kappa, low, high
