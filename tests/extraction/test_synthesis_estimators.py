"""The τ² estimators: each solves its own equation, REML's convergence rule holds, and the
random-effects summaries follow from τ² as written in the formulas."""

import numpy as np
import pytest
from scipy import stats

from extraction.synthesis import EffectEstimate, estimators, pool_effects
from extraction.synthesis.estimators import (
    dersimonian_laird,
    generalised_q,
    paule_mandel,
    reml_score,
    restricted_log_likelihood,
    restricted_maximum_likelihood,
)

# Log odds ratios and variances in the spirit of the BCG trials: heterogeneous.
HETEROGENEOUS = (
    np.array([-0.89, -1.59, -1.35, -1.44, -0.22, -0.79, -1.62, 0.01, -0.47, -1.37, -0.34]),
    np.array([0.33, 0.19, 0.42, 0.02, 0.05, 0.01, 0.22, 0.004, 0.06, 0.07, 0.01]),
)
# Six close estimates: Q below its degrees of freedom.
HOMOGENEOUS = (
    np.array([0.30, 0.32, 0.28, 0.31, 0.29, 0.30]),
    np.array([0.04, 0.05, 0.03, 0.06, 0.04, 0.05]),
)


def test_reml_solves_its_score_equation_at_a_maximum_of_the_likelihood():
    y, v = HETEROGENEOUS

    tau2 = restricted_maximum_likelihood(y, v)

    assert tau2 > 0
    assert reml_score(tau2, y, v) == pytest.approx(0, abs=1e-9)
    best = restricted_log_likelihood(tau2, y, v)
    for nearby in (tau2 * 0.99, tau2 * 1.01):
        assert restricted_log_likelihood(nearby, y, v) < best


def test_reml_is_zero_when_the_likelihood_falls_from_zero():
    y, v = HOMOGENEOUS

    assert reml_score(0.0, y, v) < 0
    assert restricted_maximum_likelihood(y, v) == 0


def test_reml_gives_the_same_answer_when_fisher_scoring_is_cut_short(monkeypatch):
    """Without convergence within the step budget, the score equation is solved by Brent's
    method: both routes must agree."""
    y, v = HETEROGENEOUS
    scored = restricted_maximum_likelihood(y, v)

    monkeypatch.setattr(estimators, "MAX_STEPS", 1)
    rooted = restricted_maximum_likelihood(y, v)

    assert rooted == pytest.approx(scored, rel=1e-9)


def test_reml_does_not_depend_on_the_scale_of_the_effects():
    """Effects in tiny units (1e-6) give τ² scaled by 1e-12: the stopping rule is relative."""
    y, v = HETEROGENEOUS

    assert restricted_maximum_likelihood(y * 1e-6, v * 1e-12) == pytest.approx(
        restricted_maximum_likelihood(y, v) * 1e-12, rel=1e-8
    )


def test_paule_mandel_makes_the_generalised_q_equal_its_degrees_of_freedom():
    y, v = HETEROGENEOUS

    tau2 = paule_mandel(y, v)

    assert generalised_q(tau2, y, v) == pytest.approx(len(y) - 1, rel=1e-12)
    assert paule_mandel(*HOMOGENEOUS) == 0


def test_dersimonian_laird_is_the_method_of_moments_truncated_at_zero():
    y, v = HETEROGENEOUS
    w = 1 / v
    q = np.sum(w * (y - np.sum(w * y) / np.sum(w)) ** 2)

    assert dersimonian_laird(y, v) == pytest.approx(
        (q - (len(y) - 1)) / (np.sum(w) - np.sum(w**2) / np.sum(w))
    )
    assert dersimonian_laird(*HOMOGENEOUS) == 0


@pytest.mark.parametrize("method", ["REML", "DL", "PM"])
def test_the_summaries_follow_from_tau2_as_the_formulas_say(method):
    y, v = HETEROGENEOUS
    estimates = [EffectEstimate(f"S{i}", a, b) for i, (a, b) in enumerate(zip(y, v, strict=True))]

    result = pool_effects(estimates, outcome="x", method=method, level=0.9)

    w_star = 1 / (v + result.tau2)
    z = stats.norm.isf(0.05)
    se = np.sqrt(1 / np.sum(w_star))
    assert result.pooled == pytest.approx(np.sum(w_star * y) / np.sum(w_star), rel=1e-12)
    assert result.se == pytest.approx(se, rel=1e-12)
    assert result.pi_low == pytest.approx(result.pooled - z * np.sqrt(se**2 + result.tau2))
    assert result.pi_high == pytest.approx(result.pooled + z * np.sqrt(se**2 + result.tau2))
    w = 1 / v
    typical = (len(y) - 1) * np.sum(w) / (np.sum(w) ** 2 - np.sum(w**2))
    assert result.i2 == pytest.approx(100 * result.tau2 / (result.tau2 + typical))
    assert result.h2 == pytest.approx((result.tau2 + typical) / typical)
    assert result.tau == pytest.approx(np.sqrt(result.tau2))
    assert result.k == len(y) and result.q_df == len(y) - 1


def test_reml_finds_the_best_likelihood_on_a_fine_grid_for_many_random_meta_analyses():
    rng = np.random.default_rng(2026)
    for _ in range(60):
        k = int(rng.integers(2, 15))
        v = rng.uniform(0.005, 0.5, size=k)
        y = rng.normal(0, np.sqrt(v + rng.choice([0.0, 0.05, 0.5, 3.0])))

        tau2 = restricted_maximum_likelihood(y, v)

        grid = np.concatenate([[0.0], np.geomspace(1e-6, 50, 4000)])[:, None]
        w = 1 / (v + grid)
        mean = np.sum(w * y, axis=1, keepdims=True) / np.sum(w, axis=1, keepdims=True)
        likelihoods = -0.5 * (
            np.sum(np.log(v + grid), axis=1)
            + np.log(np.sum(w, axis=1))
            + np.sum(w * (y - mean) ** 2, axis=1)
        )
        best_on_grid = float(np.max(likelihoods))
        assert restricted_log_likelihood(tau2, y, v) >= best_on_grid - 1e-9
