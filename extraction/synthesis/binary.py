"""Dichotomous outcomes (events out of n per group): risk ratio and odds ratio.

Per study, as metafor's ``escalc`` computes them (cells a, b = events and non-events in the
treatment group, c, d in the control group, n1 = a + b, n2 = c + d):

- ``log RR = log((a/n1) / (c/n2))``, variance ``1/a - 1/n1 + 1/c - 1/n2``;
- ``log OR = log(ad / bc)``, variance ``1/a + 1/b + 1/c + 1/d``.

Zero cells, with metafor's defaults: a study with a zero cell gets 0.5 (``continuity``)
added to all four of its cells before its log ratio and variance are computed. A study with
no events in either group, or with every participant having the event in both, says nothing
about a ratio and is dropped (metafor's ``drop00=TRUE``; RevMan does the same). Each of these
steps is written into ``MetaAnalysis.notes``.

Pooling:

- ``"MH"``: Mantel-Haenszel, a fixed-effect model, on the counts as they are (no correction
  needed): ``OR = Σ(ad/N) / Σ(bc/N)`` with the variance of its log by Robins, Breslow &
  Greenland (1986); ``RR = Σ(a n2/N) / Σ(c n1/N)`` with the variance of its log by Greenland
  & Robins (1985). As in metafor's ``rma.mh``, heterogeneity is Cochran's Q of the per-study
  log ratios about the Mantel-Haenszel estimate, ``I² = (Q - df) / Q`` and ``H² = Q / df``,
  and study weights are ``bc/N`` (OR) or ``c n1/N`` (RR).
- ``"IV"``: the inverse-variance random-effects model of ``pooling.py`` on the log ratios
  (metafor's ``rma(measure="RR" | "OR", method=...)``).
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from extraction.synthesis.numbers import SynthesisError, confidence_level, count, finite
from extraction.synthesis.pooling import (
    EffectEstimate,
    MetaAnalysis,
    Method,
    StudyEffect,
    check_method,
    pool_effects,
)

RatioMeasure = Literal["RR", "OR"]
Pooling = Literal["MH", "IV"]


@dataclass(frozen=True, slots=True)
class BinaryArm:
    """One group of one study: how many had the event, out of how many."""

    events: int
    n: int


@dataclass(frozen=True, slots=True)
class BinaryComparison:
    label: str
    treatment: BinaryArm
    control: BinaryArm


def checked_binary_arm(arm: BinaryArm, group: str) -> BinaryArm:
    try:
        n = count(arm.n, "n", minimum=1)
        events = count(arm.events, "events", minimum=0)
    except SynthesisError as error:
        raise SynthesisError(f"{error} in the {group} group") from None
    if events > n:
        raise SynthesisError(f"{events} events out of {n} in the {group} group")
    return BinaryArm(events=events, n=n)


def log_ratio(
    treatment: BinaryArm, control: BinaryArm, *, measure: RatioMeasure, continuity: float = 0.5
) -> tuple[float, float, bool]:
    """The study's log risk or odds ratio, its variance, and whether ``continuity`` was added
    to its cells (it has a zero cell)."""
    treatment = checked_binary_arm(treatment, "treatment")
    control = checked_binary_arm(control, "control")
    a, b = float(treatment.events), float(treatment.n - treatment.events)
    c, d = float(control.events), float(control.n - control.events)
    corrected = min(a, b, c, d) == 0
    if corrected:
        if continuity <= 0:
            raise SynthesisError("a zero cell needs a continuity correction above 0")
        a, b, c, d = a + continuity, b + continuity, c + continuity, d + continuity
    if measure == "RR":
        n1, n2 = a + b, c + d
        value = math.log((a / n1) / (c / n2))
        variance = 1 / a - 1 / n1 + 1 / c - 1 / n2
    else:
        value = math.log(a * d / (b * c))
        variance = 1 / a + 1 / b + 1 / c + 1 / d
    if not variance > 0:
        # Only possible for an RR where both groups all had the event, which is dropped
        # before this point; kept as a guard for direct callers.
        raise SynthesisError("the ratio has no variance (every participant had the event)")
    return value, variance, corrected


def meta_analyse_binary(
    comparisons: Sequence[BinaryComparison],
    *,
    outcome: str,
    measure: RatioMeasure = "RR",
    pooling: Pooling = "MH",
    method: Method = "REML",
    higher_is_better: bool = False,
    level: float = 0.95,
    continuity: float = 0.5,
) -> MetaAnalysis:
    """Pool risk ratios or odds ratios by Mantel-Haenszel (``pooling="MH"``, fixed effect) or
    by inverse variance with random effects (``pooling="IV"``, τ² by ``method``).

    Estimates are natural logarithms; ``MetaAnalysis.display`` gives the ratio. Events are
    usually harms, so by default a ratio below 1 favours the treatment.
    """
    if measure not in ("RR", "OR"):
        raise SynthesisError(f'measure must be "RR" or "OR"; "{measure}" given')
    if pooling not in ("MH", "IV"):
        raise SynthesisError(
            f'pooling must be "MH" (Mantel-Haenszel) or "IV" (inverse variance); "{pooling}" given'
        )
    check_method(method)  # refused even where Mantel-Haenszel leaves it unused
    level = confidence_level(level)
    continuity = finite(continuity, "the continuity correction")
    if continuity < 0:
        raise SynthesisError(f"the continuity correction cannot be negative ({continuity})")

    kept, uninformative = _informative(comparisons)
    notes = []
    if uninformative:
        notes.append(
            f"Not pooled: {_names(uninformative)} (no events in either group, or events in "
            "every participant of both groups, so the study says nothing about the ratio)."
        )
    if len(kept) < 2:
        raise SynthesisError(
            "needs at least two studies with events counted in both groups; "
            f"{len(kept)} usable{_given(comparisons)}"
        )
    estimates, corrected = [], []
    for comparison in kept:  # already checked: plain ints
        value, variance, was_corrected = log_ratio(
            comparison.treatment, comparison.control, measure=measure, continuity=continuity
        )
        estimates.append(
            EffectEstimate(
                comparison.label, value, variance, comparison.treatment, comparison.control
            )
        )
        if was_corrected:
            corrected.append(comparison)
    if corrected:
        target = "its log ratio and variance" if pooling == "IV" else "its own ratio and Q"
        notes.append(
            f"{continuity:g} added to every cell of {_names(corrected)} (a zero cell) for {target}."
        )
        if pooling == "MH":
            notes.append("The Mantel-Haenszel estimate uses the counts without correction.")

    if pooling == "IV":
        result = pool_effects(
            estimates,
            outcome=outcome,
            measure=measure,
            method=method,
            higher_is_better=higher_is_better,
            level=level,
            notes=notes,
        )
        return replace(
            result, model=f"Random effects (inverse variance), {result.method} estimator of τ²"
        )
    return _mantel_haenszel(
        kept,
        estimates,
        outcome=outcome,
        measure=measure,
        higher_is_better=higher_is_better,
        level=level,
        notes=notes,
    )


def _informative(
    comparisons: Sequence[BinaryComparison],
) -> tuple[list[BinaryComparison], list[BinaryComparison]]:
    kept, dropped = [], []
    for comparison in comparisons:
        try:
            treatment = checked_binary_arm(comparison.treatment, "treatment")
            control = checked_binary_arm(comparison.control, "control")
        except SynthesisError as error:
            raise SynthesisError(f"{comparison.label}: {error}") from None
        checked = BinaryComparison(comparison.label, treatment, control)
        none = treatment.events == 0 and control.events == 0
        every = treatment.events == treatment.n and control.events == control.n
        (dropped if none or every else kept).append(checked)
    return kept, dropped


def _mantel_haenszel(
    comparisons: Sequence[BinaryComparison],
    estimates: Sequence[EffectEstimate],
    *,
    outcome: str,
    measure: RatioMeasure,
    higher_is_better: bool,
    level: float,
    notes: Sequence[str],
) -> MetaAnalysis:
    from scipy import stats

    a = np.array([float(c.treatment.events) for c in comparisons])
    n1 = np.array([float(c.treatment.n) for c in comparisons])
    c_ = np.array([float(c.control.events) for c in comparisons])
    n2 = np.array([float(c.control.n) for c in comparisons])
    b, d, total = n1 - a, n2 - c_, n1 + n2
    with np.errstate(all="ignore"):
        if measure == "OR":
            r, s = a * d / total, b * c_ / total
            sum_r, sum_s = np.sum(r), np.sum(s)
            p_, q_ = (a + d) / total, (b + c_) / total
            variance = (
                np.sum(p_ * r) / (2 * sum_r**2)
                + np.sum(p_ * s + q_ * r) / (2 * sum_r * sum_s)
                + np.sum(q_ * s) / (2 * sum_s**2)
            )
            weights = s
        else:
            r, s = a * n2 / total, c_ * n1 / total
            sum_r, sum_s = np.sum(r), np.sum(s)
            variance = np.sum(n1 * n2 * (a + c_) / total**2 - a * c_ / total) / (sum_r * sum_s)
            weights = s
        if sum_r == 0 or sum_s == 0:
            side = "treatment" if sum_r == 0 else "control"
            raise SynthesisError(
                f"the Mantel-Haenszel {measure} cannot be estimated: the {side} groups "
                "contribute nothing to it (no events, or no participants without one)"
            )
        pooled = float(np.log(sum_r / sum_s))
        se = float(np.sqrt(variance))
        y = np.array([e.estimate for e in estimates])
        v = np.array([e.variance for e in estimates])
        q = float(max(0.0, np.sum((y - pooled) ** 2 / v)))
    df = len(comparisons) - 1
    if not (math.isfinite(pooled) and math.isfinite(se) and se > 0 and math.isfinite(q)):
        raise SynthesisError("the studies' counts are too extreme to pool")
    z_crit = float(stats.norm.isf((1 - level) / 2))
    z = pooled / se
    percent = 100 * weights / np.sum(weights)
    studies = tuple(
        StudyEffect(
            label=str(e.label),
            estimate=e.estimate,
            variance=e.variance,
            se=math.sqrt(e.variance),
            ci_low=e.estimate - z_crit * math.sqrt(e.variance),
            ci_high=e.estimate + z_crit * math.sqrt(e.variance),
            weight=float(share),
            treatment=e.treatment,
            control=e.control,
        )
        for e, share in zip(estimates, percent, strict=True)
    )
    return MetaAnalysis(
        outcome=str(outcome),
        measure=measure,
        method="Mantel-Haenszel",
        model="Fixed effect, Mantel-Haenszel method",
        studies=studies,
        pooled=pooled,
        ci_low=pooled - z_crit * se,
        ci_high=pooled + z_crit * se,
        se=se,
        z=z,
        p=float(2 * stats.norm.sf(abs(z))),
        tau2=None,
        tau=None,
        i2=100 * max(0.0, (q - df) / q) if q > 0 else 0.0,
        h2=q / df,
        q=q,
        q_df=df,
        q_p=float(stats.chi2.sf(q, df)),
        pi_low=None,
        pi_high=None,
        higher_is_better=bool(higher_is_better),
        level=level,
        notes=tuple(notes),
    )


def combine_binary_arms(*arms: BinaryArm) -> BinaryArm:
    """Groups merged into one by adding their events and their participants (Cochrane
    Handbook, section 6.5.2.10 / 23.3.4)."""
    if len(arms) < 2:
        raise SynthesisError(f"combining needs at least two groups; {len(arms)} given")
    checked = [checked_binary_arm(arm, f"group {i}") for i, arm in enumerate(arms, start=1)]
    return BinaryArm(events=sum(a.events for a in checked), n=sum(a.n for a in checked))


def split_shared_binary_control(arm: BinaryArm, parts: int) -> BinaryArm:
    """One share of a control group used by ``parts`` comparisons (Cochrane Handbook, section
    23.3.4): n is divided and rounded down to whole participants, so the shares never add
    up to more than the group; events are scaled to that share and rounded to the nearest
    whole number (halves up), which keeps the group's risk as closely as whole counts can.
    """
    parts = count(parts, "the number of comparisons sharing the group", minimum=1)
    arm = checked_binary_arm(arm, "shared control")
    share = arm.n // parts
    if share < 1:
        raise SynthesisError(f"a shared group of {arm.n} cannot be split {parts} ways")
    events = (2 * arm.events * share + arm.n) // (2 * arm.n)
    return BinaryArm(events=events, n=share)


def _names(comparisons: Sequence[BinaryComparison]) -> str:
    return ", ".join(c.label for c in comparisons)


def _given(comparisons: Sequence[BinaryComparison]) -> str:
    return f" of {len(comparisons)} given" if len(comparisons) else ""
