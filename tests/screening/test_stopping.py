"""The hypergeometric distribution function behind the stopping rule, against scipy's.

The rule is computed on numpy so that a dashboard does not load scipy; scipy stays the
reference here. Pure code: no database.
"""

import numpy as np
import pytest
from scipy.stats import hypergeom, nchypergeom_wallenius

from screening.stopping import hypergeometric_cdf, stopping_test


@pytest.mark.parametrize("population", [5, 40, 1_000, 100_000, 1_000_000])
def test_the_hypergeometric_distribution_function_agrees_with_scipy(population):
    rng = np.random.default_rng(population)
    marked = rng.integers(0, population + 1, size=300)
    marked[:100] = rng.integers(0, min(population, 60) + 1, size=100)  # few relevant left
    draws = rng.integers(0, population + 1, size=300)
    lowest = np.maximum(0, draws - (population - marked))
    highest = np.minimum(draws, marked)
    observed = lowest + (rng.random(300) * (highest - lowest + 3)).astype(np.int64) - 1

    ours = hypergeometric_cdf(observed, population, marked, draws)
    theirs = hypergeom.cdf(observed, population, marked, draws)

    assert ours == pytest.approx(theirs, rel=1e-7, abs=1e-300)


def test_values_outside_the_support_are_certain():
    # 3 marked among 10, 4 drawn: between 0 and 3 marked can be drawn
    assert hypergeometric_cdf([-1, 3, 4], 10, 3, 4).tolist() == [0.0, 1.0, 1.0]
    # 8 marked among 10, 5 drawn: at least 3 of them are marked
    assert hypergeometric_cdf([2, 3], 10, 8, 5)[0] == 0.0
    assert hypergeometric_cdf([2, 3], 10, 8, 5)[1] == pytest.approx(hypergeom.pmf(3, 10, 8, 5))


def test_a_large_reviews_stopping_test_agrees_with_scipys_hypergeometric_test():
    """5,000 of 50,000 records screened with most relevant ones found early: the smallest
    p-value over every window comes out as scipy's distribution gives it."""
    rng = np.random.default_rng(7)
    screened, total, relevant = 5_000, 50_000, 300
    early = np.exp(-np.arange(screened) / 1_000)
    labels = np.zeros(screened, dtype=bool)
    labels[rng.choice(screened, size=relevant, replace=False, p=early / early.sum())] = True

    estimate = stopping_test(labels, total)

    found = np.cumsum(labels[::-1])
    window = np.arange(1, screened + 1)
    needed = np.floor(relevant / 0.95 - relevant + found).astype(np.int64) + 1
    urn = total - screened + window
    expected = hypergeom.cdf(found, urn, needed, window).min()
    assert estimate.p_value == pytest.approx(expected, rel=1e-7)
    assert estimate.n_relevant_found == relevant


def test_a_biased_urn_still_uses_wallenius_distribution():
    labels = [True] * 5 + [False] * 40

    biased = stopping_test(labels, 200, bias=2.0)
    plain = stopping_test(labels, 200)

    found = np.cumsum(np.array(labels)[::-1])
    window = np.arange(1, 46)
    needed = np.floor(5 / 0.95 - 5 + found).astype(np.int64) + 1
    expected = nchypergeom_wallenius.cdf(found, 155 + window, needed, window, 2.0).min()
    assert biased.p_value == pytest.approx(expected)
    assert biased.p_value < plain.p_value
