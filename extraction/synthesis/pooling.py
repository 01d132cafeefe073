"""The random-effects model: pooled estimate, intervals and heterogeneity, as metafor's
``rma(yi, vi, method=...)`` computes them with its defaults (``test="z"``).

With ``w* = 1/(v + τ²)``: pooled ``μ̂ = Σw*y / Σw*``, ``SE = √(1/Σw*)``, Wald interval
``μ̂ ± z SE`` and test ``z = μ̂ / SE``; the prediction interval ``μ̂ ± z √(SE² + τ²)`` (normal
quantiles, metafor's default). Cochran's ``Q = Σ (y - μ̂_FE)² / v`` on k - 1 degrees of freedom.
``I² = τ² / (τ² + s²)`` and ``H² = (τ² + s²) / s²`` with the "typical" within-study variance
``s² = (k-1) Σw / ((Σw)² - Σw²)``, ``w = 1/v`` (Higgins & Thompson 2002, as metafor reports
them for every estimator; for DerSimonian-Laird this equals ``(Q - df) / Q``).
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from extraction.synthesis.effects import Arm, StudyComparison, checked_arm, hedges_g
from extraction.synthesis.estimators import ESTIMATORS
from extraction.synthesis.numbers import SynthesisError, confidence_level, finite

if TYPE_CHECKING:
    from extraction.synthesis.binary import BinaryArm

Method = Literal["REML", "DL", "PM"]
Measure = Literal["SMD", "RR", "OR"]

# Estimator codes -> the names printed in reports and plots, e.g. for a form's choices.
METHODS = {code: name for code, (_, name, _) in ESTIMATORS.items()}
MEASURES = {"SMD": "Hedges' g", "RR": "Risk ratio", "OR": "Odds ratio"}
RATIO_MEASURES = frozenset({"RR", "OR"})


@dataclass(frozen=True, slots=True)
class StudyEffect:
    """One study's effect. For ratio measures ``estimate``, ``ci_low`` and ``ci_high`` are on
    the log scale; ``MetaAnalysis.display`` turns them into ratios."""

    label: str
    estimate: float
    variance: float
    se: float
    ci_low: float
    ci_high: float
    weight: float  # percent of the model's weight; the studies sum to 100
    treatment: "Arm | BinaryArm | None" = None  # the group the study contributed, if known
    control: "Arm | BinaryArm | None" = None

    @property
    def g(self) -> float:
        """Hedges' g, for standardised mean differences (the estimate, by its old name)."""
        return self.estimate


@dataclass(frozen=True, slots=True)
class MetaAnalysis:
    """A pooled analysis. For "RR" and "OR" every estimate and bound is a natural logarithm;
    pass it through ``display`` (or read the ``*_ratio`` properties) to print a ratio.
    ``tau2``, ``tau``, ``pi_low`` and ``pi_high`` are ``None`` for a fixed-effect model
    (Mantel-Haenszel), which has no between-study variance."""

    outcome: str
    measure: str  # "SMD", "RR" or "OR"
    method: str  # the estimator as printed: "REML", "DerSimonian-Laird", "Mantel-Haenszel"...
    model: str  # a sentence for reports, e.g. "Random effects, REML estimator of τ²"
    studies: tuple[StudyEffect, ...]
    pooled: float
    ci_low: float
    ci_high: float
    se: float
    z: float
    p: float  # two-sided, for the test of no overall effect
    tau2: float | None
    tau: float | None
    i2: float  # percent
    h2: float
    q: float
    q_df: int
    q_p: float
    pi_low: float | None
    pi_high: float | None
    higher_is_better: bool  # decides which side of the plot "favours" the treatment
    level: float = 0.95
    notes: tuple[str, ...] = ()

    @property
    def k(self) -> int:
        return len(self.studies)

    @property
    def is_ratio(self) -> bool:
        return self.measure in RATIO_MEASURES

    @property
    def measure_name(self) -> str:
        return MEASURES.get(self.measure, self.measure)

    def display(self, value: float | None) -> float | None:
        """``value`` on the scale a reader expects: the ratio for RR and OR, else unchanged."""
        if value is None or not self.is_ratio:
            return value
        try:
            return math.exp(value)
        except OverflowError:
            return math.inf

    @property
    def pooled_ratio(self) -> float | None:
        return self.display(self.pooled)

    @property
    def ci_low_ratio(self) -> float | None:
        return self.display(self.ci_low)

    @property
    def ci_high_ratio(self) -> float | None:
        return self.display(self.ci_high)

    @property
    def pi_low_ratio(self) -> float | None:
        return self.display(self.pi_low)

    @property
    def pi_high_ratio(self) -> float | None:
        return self.display(self.pi_high)


@dataclass(frozen=True, slots=True)
class EffectEstimate:
    """A study's effect already computed elsewhere: estimate and sampling variance (log scale
    for ratios), as ``rma(yi, vi)`` takes them."""

    label: str
    estimate: float
    variance: float
    treatment: "Arm | BinaryArm | None" = None
    control: "Arm | BinaryArm | None" = None


def meta_analyse(
    comparisons: Sequence[StudyComparison],
    *,
    outcome: str,
    method: Method = "REML",
    higher_is_better: bool = True,
    level: float = 0.95,
) -> MetaAnalysis:
    """Pool the studies' Hedges' g in a random-effects model.

    ``method`` estimates τ²: "REML" (restricted maximum likelihood, the default of metafor
    and RevMan), "DL" (DerSimonian-Laird) or "PM" (Paule-Mandel). Raises ``SynthesisError``
    naming the study whose data cannot be used.
    """
    check_method(method)
    if len(comparisons) < 2:
        raise SynthesisError(
            "needs at least two studies with n, mean and SD in both groups; "
            f"{len(comparisons)} given"
        )
    estimates = []
    for comparison in comparisons:
        try:
            treatment = checked_arm(comparison.treatment, "treatment")
            control = checked_arm(comparison.control, "control")
            g, variance = hedges_g(treatment, control)
        except SynthesisError as error:
            raise SynthesisError(f"{comparison.label}: {error}") from None
        estimates.append(EffectEstimate(comparison.label, g, variance, treatment, control))
    return pool_effects(
        estimates,
        outcome=outcome,
        measure="SMD",
        method=method,
        higher_is_better=higher_is_better,
        level=level,
    )


def pool_effects(
    estimates: Sequence[EffectEstimate],
    *,
    outcome: str,
    measure: Measure = "SMD",
    method: Method = "REML",
    higher_is_better: bool = True,
    level: float = 0.95,
    notes: Sequence[str] = (),
) -> MetaAnalysis:
    """The random-effects model of already computed effects (see the module docstring)."""
    from scipy import stats  # loaded by the first analysis, not by every page that imports us

    check_method(method)
    level = confidence_level(level)
    if len(estimates) < 2:
        raise SynthesisError(
            f"a single study cannot be pooled: needs at least two; {len(estimates)} given"
        )
    y, v = _checked_arrays(estimates)
    estimator, method_name, _ = ESTIMATORS[method]
    z_crit = float(stats.norm.isf((1 - level) / 2))
    k = len(y)
    with np.errstate(all="ignore"):
        tau2 = float(estimator(y, v))
        w = 1 / v
        fixed = np.sum(w * y) / np.sum(w)
        q = float(max(0.0, np.sum(w * (y - fixed) ** 2)))
        u = w / np.max(w)  # scaled so that squaring tiny variances' weights cannot overflow
        typical = (k - 1) * np.sum(u) / (np.sum(u) ** 2 - np.sum(u**2)) / np.max(w)
        w_star = 1 / (v + tau2)
        pooled = float(np.sum(w_star * y) / np.sum(w_star))
        se = float(math.sqrt(1 / np.sum(w_star)))
        weights = 100 * w_star / np.sum(w_star)
        i2 = float(100 * tau2 / (typical + tau2)) if tau2 > 0 else 0.0
        h2 = float((typical + tau2) / typical) if tau2 > 0 else 1.0
        pi_half = z_crit * math.sqrt(se * se + tau2)
    results = (tau2, q, pooled, se, i2, h2, pi_half, *weights)
    if not all(math.isfinite(x) for x in results) or se <= 0:
        raise SynthesisError("the studies' effects are too extreme to pool")
    z = pooled / se
    return MetaAnalysis(
        outcome=str(outcome),
        measure=measure,
        method=method_name,
        model=f"Random effects, {method_name} estimator of τ²",
        studies=_study_effects(estimates, y, v, weights, z_crit),
        pooled=pooled,
        ci_low=pooled - z_crit * se,
        ci_high=pooled + z_crit * se,
        se=se,
        z=z,
        p=float(2 * stats.norm.sf(abs(z))),
        tau2=tau2,
        tau=math.sqrt(tau2),
        i2=i2,
        h2=h2,
        q=q,
        q_df=k - 1,
        q_p=float(stats.chi2.sf(q, k - 1)),
        pi_low=pooled - pi_half,
        pi_high=pooled + pi_half,
        higher_is_better=bool(higher_is_better),
        level=level,
        notes=tuple(notes),
    )


def check_method(method: object) -> None:
    if method not in ESTIMATORS:
        raise SynthesisError(
            'method must be "REML" (restricted maximum likelihood), "DL" (DerSimonian-Laird) '
            f'or "PM" (Paule-Mandel); "{method}" given'
        )


def _checked_arrays(estimates: Sequence[EffectEstimate]) -> tuple[np.ndarray, np.ndarray]:
    y, v = [], []
    for estimate in estimates:
        try:
            value = finite(estimate.estimate, "the effect estimate")
            variance = finite(estimate.variance, "the variance")
        except SynthesisError as error:
            raise SynthesisError(f"{estimate.label}: {error}") from None
        if not variance > 0:
            raise SynthesisError(f"{estimate.label}: the variance must be positive ({variance})")
        y.append(value)
        v.append(variance)
    return np.array(y), np.array(v)


def _study_effects(
    estimates: Sequence[EffectEstimate],
    y: np.ndarray,
    v: np.ndarray,
    weights: np.ndarray,
    z_crit: float,
) -> tuple[StudyEffect, ...]:
    effects = []
    for estimate, value, variance, weight in zip(estimates, y, v, weights, strict=True):
        se = math.sqrt(variance)
        effects.append(
            StudyEffect(
                label=str(estimate.label),
                estimate=float(value),
                variance=float(variance),
                se=se,
                ci_low=float(value - z_crit * se),
                ci_high=float(value + z_crit * se),
                weight=float(weight),
                treatment=estimate.treatment,
                control=estimate.control,
            )
        )
    return tuple(effects)
