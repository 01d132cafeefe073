"""When may a team stop screening in prioritised order? A statistical stopping rule.

Implements the criterion of Callaghan and Mueller-Hansen, "Statistical stopping criteria for
automated screening in systematic reviews", Systematic Reviews 9:273 (2020).

The idea: the last ``k`` records screened are treated as if they had been drawn at random,
without replacement, from an urn holding those ``k`` records plus every record not yet
screened. That is conservative because prioritisation makes relevant records rarer among
the unscreened than among the records just seen. The null hypothesis is that recall is
still below the target, which needs at least ``K = floor(r_seen / target - r_seen + r_k) + 1``
relevant records in the urn (``r_seen`` relevant records found in all, ``r_k`` of them
among the last ``k``). Seeing as few as ``r_k`` relevant records in ``k`` draws then has
probability ``hypergeom.cdf(r_k, N_urn, K, k)``. Every window ``k = 1 .. n_screened`` is
tried and the smallest p-value is kept, as in the authors' own implementation. Screening
may stop once it is below ``1 - confidence``.

Pure code on numpy. The hypergeometric distribution function is computed here rather than by
scipy: the dashboard runs this test, and a web process should not load scipy.stats (about a
second and 70 MB) to show it; scipy's general routine was also far slower at this scale
(minutes for 30,000 records screened of 100,000, against about a second here). scipy is used
only for the biased urn (``bias`` other than 1), which no page asks for.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

RULE_NAME = "Callaghan & Mueller-Hansen (2020) hypergeometric stopping test"


@dataclass(frozen=True, slots=True)
class StoppingEstimate:
    p_value: float
    should_stop: bool
    n_screened: int
    n_relevant_found: int
    # point estimate: relevant found, plus the relevant rate of the window that gave the
    # p-value applied to the records not yet screened
    estimated_relevant_total: float
    estimated_recall: float | None
    # one-sided lower confidence bound on recall under the rule's assumption: found over
    # found plus the largest number of missing relevant records the test cannot rule out
    recall_lower_bound: float | None
    rule: str = RULE_NAME
    parameters: dict[str, Any] = field(default_factory=dict)

    def methods_log(self) -> str:
        """One sentence for the review's methods section."""
        settings = ", ".join(f"{key} = {value}" for key, value in self.parameters.items())
        verdict = "reached" if self.should_stop else "not yet reached"
        return (
            f"{self.rule} ({settings}): after {self.n_screened} records screened with "
            f"{self.n_relevant_found} relevant, p = {self.p_value:.4g}; stopping point {verdict}."
        )


def stopping_test(
    labels_in_screening_order: Sequence[bool],
    n_total: int,
    *,
    recall_target: float = 0.95,
    confidence: float = 0.95,
    bias: float = 1.0,
) -> StoppingEstimate:
    """Test whether ``recall_target`` has been reached after screening in ranked order.

    ``labels_in_screening_order`` are the decisions taken so far (True = relevant) in the
    order the records were screened; ``n_total`` is the number of records in the review,
    screened or not. ``bias`` above 1 assumes the remaining relevant records were that many
    times likelier to be drawn than irrelevant ones (Wallenius' urn), which makes the test
    less conservative; the default 1 is the published rule.

    Costs O(n_screened) per call; a binary search for the recall bound multiplies that by
    about log2(n_total).
    """
    if not 0 < recall_target <= 1:
        raise ValueError("recall_target must be in (0, 1]")
    if not 0 < confidence < 1:
        raise ValueError("confidence must be in (0, 1)")
    labels = np.asarray(labels_in_screening_order, dtype=bool)
    n_screened = labels.size
    if n_screened > n_total:
        raise ValueError(f"{n_screened} records screened but only {n_total} in the review")
    r_seen = int(labels.sum())
    parameters = {
        "recall_target": recall_target,
        "confidence": confidence,
        "bias": bias,
        "n_total": n_total,
    }
    if n_screened == 0:
        return StoppingEstimate(
            p_value=1.0,
            should_stop=False,
            n_screened=0,
            n_relevant_found=0,
            estimated_relevant_total=float("nan"),
            estimated_recall=None,
            recall_lower_bound=None,
            parameters=parameters,
        )

    # windows: the last k records screened, k = 1 .. n_screened
    relevant_in_window = np.cumsum(labels[::-1])
    window = np.arange(1, n_screened + 1)
    urn = n_total - n_screened + window

    def p_values(relevant_needed_in_urn: np.ndarray) -> np.ndarray:
        p = np.zeros(n_screened)
        # more relevant records than the urn holds cannot be: the hypothesis is impossible
        possible = relevant_needed_in_urn <= urn
        k, m, big_k = window[possible], urn[possible], relevant_needed_in_urn[possible]
        r = relevant_in_window[possible]
        if bias == 1.0:
            p[possible] = hypergeometric_cdf(r, m, big_k, k)
        else:
            from scipy.stats import nchypergeom_wallenius

            p[possible] = nchypergeom_wallenius.cdf(r, m, big_k, k, bias)
        return p

    needed = np.floor(r_seen / recall_target - r_seen + relevant_in_window).astype(np.int64) + 1
    p_all = p_values(needed)
    best = int(np.argmin(p_all))
    p_value = float(p_all[best])

    unscreened = n_total - n_screened
    # half a relevant record of prior weight keeps an all-irrelevant window from claiming
    # that nothing is left (Jeffreys' prior for a proportion)
    rate = (relevant_in_window[best] + 0.5) / (window[best] + 1)
    estimated_total = r_seen + rate * unscreened
    estimated_recall = r_seen / estimated_total if estimated_total > 0 else None

    alpha = 1 - confidence

    def rejected(missing: int) -> bool:
        # "at least `missing` relevant records are still unscreened"
        return float(p_values(relevant_in_window + missing).min()) < alpha

    if r_seen == 0:
        recall_lower_bound = None
    elif unscreened == 0:
        recall_lower_bound = 1.0
    elif not rejected(unscreened):
        recall_lower_bound = r_seen / (r_seen + unscreened)
    else:
        # smallest count of missing relevant records the test rejects; fewer stay plausible
        low, high = 1, unscreened
        while low < high:
            middle = (low + high) // 2
            if rejected(middle):
                high = middle
            else:
                low = middle + 1
        recall_lower_bound = r_seen / (r_seen + low - 1)

    return StoppingEstimate(
        p_value=p_value,
        should_stop=p_value < alpha,
        n_screened=n_screened,
        n_relevant_found=r_seen,
        estimated_relevant_total=float(estimated_total),
        estimated_recall=None if estimated_recall is None else float(estimated_recall),
        recall_lower_bound=recall_lower_bound,
        parameters=parameters,
    )


# The hypergeometric distribution function ---------------------------------------------------


def hypergeometric_cdf(
    observed: np.ndarray, population: np.ndarray, marked: np.ndarray, draws: np.ndarray
) -> np.ndarray:
    """P(X <= observed) where X counts the marked items among ``draws`` taken without
    replacement from ``population`` items of which ``marked`` are marked; element-wise over
    arrays of whole numbers (``marked`` and ``draws`` at most ``population``).

    Each value is a sum of probabilities taken from the nearer tail: below the mode the sum
    runs down from ``observed``, above it one minus the sum from ``observed + 1`` up, so the
    terms shrink as they are added and the sum stops once they no longer change it. Each
    probability follows from the one before by a ratio of whole numbers; only the first is
    computed from log-factorials. The cost is about the spread of the distribution in steps,
    over all values at once, whatever the population.
    """
    x, m, big_k, n = np.broadcast_arrays(
        *(np.asarray(value, dtype=np.int64) for value in (observed, population, marked, draws))
    )
    lowest = np.maximum(0, n - (m - big_k))
    highest = np.minimum(n, big_k)
    result = np.where(x >= highest, 1.0, 0.0)
    inside = (x >= lowest) & (x < highest)
    mode = (n + 1) * (big_k + 1) // (m + 2)
    left = np.flatnonzero(inside & (x < mode))
    right = np.flatnonzero(inside & (x >= mode))
    flat = [a.ravel() for a in (x, m, big_k, n, lowest, highest)]
    result = result.ravel()
    if left.size:
        xs, ms, ks, ns, low, _ = (a[left] for a in flat)
        result[left] = _tail_sum(xs, ms, ks, ns, stop=low, step=-1)
    if right.size:
        xs, ms, ks, ns, _, high = (a[right] for a in flat)
        result[right] = 1.0 - _tail_sum(xs + 1, ms, ks, ns, stop=high, step=1)
    return np.clip(result, 0.0, 1.0).reshape(x.shape)


def _tail_sum(
    first: np.ndarray,
    m: np.ndarray,
    big_k: np.ndarray,
    n: np.ndarray,
    *,
    stop: np.ndarray,
    step: int,
) -> np.ndarray:
    """Sum of the probabilities from ``first`` to ``stop`` (``step`` -1 or 1), each term
    smaller than the one before (the walk leads away from the mode)."""
    i = first.copy()
    term = np.exp(_log_probability(i, m, big_k, n))
    total = term.copy()
    active = np.flatnonzero((i != stop) & (term > 0))
    while active.size:
        j = i[active].astype(float)
        ka, na, rest = big_k[active], n[active], (m - big_k - n)[active]
        if step < 0:
            ratio = j * (rest + j) / ((ka - j + 1) * (na - j + 1))
        else:
            ratio = (ka - j) * (na - j) / ((j + 1) * (rest + j + 1))
        added = term[active] * ratio
        i[active] += step
        term[active] = added
        total[active] += added
        active = active[(i[active] != stop[active]) & (added > total[active] * 1e-17)]
    return total


def _log_probability(x: np.ndarray, m: np.ndarray, big_k: np.ndarray, n: np.ndarray) -> np.ndarray:
    """log P(X = x): log C(K, x) + log C(M - K, n - x) - log C(M, n)."""
    return (
        _log_factorial(big_k)
        - _log_factorial(x)
        - _log_factorial(big_k - x)
        + _log_factorial(m - big_k)
        - _log_factorial(n - x)
        - _log_factorial(m - big_k - n + x)
        - _log_factorial(m)
        + _log_factorial(n)
        + _log_factorial(m - n)
    )


_SMALL_LOG_FACTORIALS = np.array([math.lgamma(k + 1) for k in range(32)])


def _log_factorial(k: np.ndarray) -> np.ndarray:
    """log(k!) for whole k >= 0: exact below 32, Stirling's series above (its error there is
    below 1e-17 of the value)."""
    k = np.asarray(k, dtype=np.int64)
    small = k < _SMALL_LOG_FACTORIALS.size
    result = np.empty(k.shape)
    result[small] = _SMALL_LOG_FACTORIALS[k[small]]
    z = k[~small] + 1.0  # log(k!) = log Gamma(k + 1)
    inverse = 1.0 / z
    squared = inverse * inverse
    series = inverse * (1 / 12 - squared * (1 / 360 - squared * (1 / 1260 - squared / 1680)))
    result[~small] = (z - 0.5) * np.log(z) - z + 0.5 * math.log(2 * math.pi) + series
    return result
