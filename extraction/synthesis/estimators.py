"""Estimators of the between-study variance τ² for the random-effects model.

Each takes the study estimates ``y`` and their sampling variances ``v`` (numpy arrays of
at least two finite numbers, every variance positive) and returns τ² ≥ 0:

- ``dersimonian_laird``: the method of moments, ``(Q - (k-1)) / (Σw - Σw²/Σw)`` with
  ``w = 1/v``, truncated at zero (DerSimonian & Laird 1986).
- ``paule_mandel``: the τ² at which the generalised Q, ``Σ (y - μ̂)² / (v + τ²)``, equals its
  expectation k - 1 (Paule & Mandel 1982). The generalised Q falls steadily as τ² grows, so
  the root is unique; it is bracketed and found with Brent's method (zero when Q ≤ k - 1).
- ``restricted_maximum_likelihood``: the maximiser of the restricted log-likelihood over
  τ² ≥ 0, by Fisher scoring as in metafor (start at Hedges' estimator, step
  ``(Σw²(y-μ̂)² - tr P) / tr P²``, truncated at zero), with step halving whenever a step
  lowers the likelihood. It stops when a step changes τ² by less than 1e-10 of
  ``τ² + median(v)``; if that has not happened after 200 steps the score equation is solved
  by Brent's method instead.
"""

import numpy as np

from extraction.synthesis.numbers import SynthesisError

TOLERANCE = 1e-10
MAX_STEPS = 200


def dersimonian_laird(y: np.ndarray, v: np.ndarray) -> float:
    w = 1 / v
    fixed = np.sum(w * y) / np.sum(w)
    q = np.sum(w * (y - fixed) ** 2)
    c = np.sum(w) - np.sum(w**2) / np.sum(w)
    return float(max(0.0, (q - (len(y) - 1)) / c))


def generalised_q(tau2: float, y: np.ndarray, v: np.ndarray) -> float:
    w = 1 / (v + tau2)
    mean = np.sum(w * y) / np.sum(w)
    return float(np.sum(w * (y - mean) ** 2))


def paule_mandel(y: np.ndarray, v: np.ndarray) -> float:
    target = len(y) - 1
    if generalised_q(0.0, y, v) <= target:
        return 0.0
    upper = _upper_bracket(lambda t: generalised_q(t, y, v) - target, y, v)
    return _brent(lambda t: generalised_q(t, y, v) - target, upper)


def restricted_log_likelihood(tau2: float, y: np.ndarray, v: np.ndarray) -> float:
    """Up to a constant: -½ (Σ log(v+τ²) + log Σw + Σ w (y - μ̂)²), ``w = 1/(v+τ²)``."""
    w = 1 / (v + tau2)
    mean = np.sum(w * y) / np.sum(w)
    return float(
        -0.5 * (np.sum(np.log(v + tau2)) + np.log(np.sum(w)) + np.sum(w * (y - mean) ** 2))
    )


def reml_score(tau2: float, y: np.ndarray, v: np.ndarray) -> float:
    """Twice the derivative of the restricted log-likelihood: ``Σw²(y-μ̂)² - tr P``."""
    w = 1 / (v + tau2)
    total = np.sum(w)
    mean = np.sum(w * y) / total
    return float(np.sum(w**2 * (y - mean) ** 2) - (total - np.sum(w**2) / total))


def _fisher_step(tau2: float, y: np.ndarray, v: np.ndarray) -> float:
    w = 1 / (v + tau2)
    total = np.sum(w)
    information = np.sum(w**2) - 2 * np.sum(w**3) / total + (np.sum(w**2) / total) ** 2
    return reml_score(tau2, y, v) / information


def restricted_maximum_likelihood(y: np.ndarray, v: np.ndarray) -> float:
    scale = float(np.median(v))
    tau2 = max(0.0, float(np.var(y, ddof=1) - np.mean(v)))  # Hedges' estimator
    likelihood = restricted_log_likelihood(tau2, y, v)
    for _ in range(MAX_STEPS):
        step = _fisher_step(tau2, y, v)
        if not np.isfinite(step):
            break
        for _ in range(60):
            candidate = max(0.0, tau2 + step)
            candidate_likelihood = restricted_log_likelihood(candidate, y, v)
            if candidate_likelihood >= likelihood - 1e-12 * abs(likelihood):
                break
            step /= 2
        change = abs(candidate - tau2)
        tau2, likelihood = candidate, candidate_likelihood
        if change <= TOLERANCE * (tau2 + scale):
            return tau2
    return _reml_by_root(y, v)


def _reml_by_root(y: np.ndarray, v: np.ndarray) -> float:
    if reml_score(0.0, y, v) <= 0:
        return 0.0
    upper = _upper_bracket(lambda t: reml_score(t, y, v), y, v)
    return _brent(lambda t: reml_score(t, y, v), upper)


def _upper_bracket(function, y: np.ndarray, v: np.ndarray) -> float:
    """A τ² at which ``function`` (positive at zero, falling) has turned negative."""
    upper = max(float(np.var(y)), float(np.max(v)), 1e-300)
    for _ in range(2000):
        if function(upper) < 0:
            return upper
        upper *= 2
        if not np.isfinite(upper):
            break
    raise SynthesisError("the between-study variance could not be estimated")


def _brent(function, upper: float) -> float:
    from scipy.optimize import brentq

    try:
        return float(brentq(function, 0.0, upper, xtol=1e-300, rtol=4 * np.finfo(float).eps))
    except (ValueError, RuntimeError):
        raise SynthesisError("the between-study variance could not be estimated") from None


ESTIMATORS = {
    "REML": (restricted_maximum_likelihood, "REML", "restricted maximum-likelihood"),
    "DL": (dersimonian_laird, "DerSimonian-Laird", "DerSimonian-Laird"),
    "PM": (paule_mandel, "Paule-Mandel", "Paule-Mandel"),
}
