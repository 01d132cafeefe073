"""Continuous outcomes: one study's arms, Hedges' g, and the Handbook's ways with extra arms.

Hedges' g follows R's metafor (``escalc(measure="SMD")``, its default ``vtype="LS"``), so
that every number can be checked against it:

- ``d = (m1 - m2) / s_pooled`` with ``s_pooled² = ((n1-1) s1² + (n2-1) s2²) / (n1 + n2 - 2)``;
- ``g = J d`` with the exact small-sample correction
  ``J = Γ(m/2) / (√(m/2) Γ((m-1)/2))``, ``m = n1 + n2 - 2`` (Hedges 1981), of which the
  familiar ``1 - 3 / (4m - 1)`` is an approximation (used here only for m above 10⁵, where
  the two agree to 1e-12 and the gamma functions lose precision);
- ``V_g = 1/n1 + 1/n2 + g² / (2 (n1 + n2))``, the large-sample variance.

Borenstein et al. (2009, ch. 4) print ``J² (1/n1 + 1/n2 + d² / (2 (n1 + n2)))`` instead, which
is about 1.5 % smaller for 50 per arm; metafor calls that ``vtype="LS2"``.
"""

import math
from dataclasses import dataclass

from extraction.synthesis.numbers import SynthesisError, count, finite


@dataclass(frozen=True, slots=True)
class Arm:
    """One group of one study: its size, mean and standard deviation on the outcome."""

    n: int
    mean: float
    sd: float


@dataclass(frozen=True, slots=True)
class StudyComparison:
    label: str  # how the study is named in the plot, e.g. "Smith 2020"
    treatment: Arm
    control: Arm


def checked_arm(arm: Arm, group: str) -> Arm:
    """The arm with plain ``int``/``float`` fields, or ``SynthesisError`` naming the group."""
    try:
        n = count(arm.n, "n", minimum=2)
    except SynthesisError:
        raise SynthesisError(
            f"n must be a whole number of at least 2 ({group} group has {arm.n})"
        ) from None
    try:
        mean = finite(arm.mean, "mean")
    except SynthesisError:
        raise SynthesisError(f"mean must be a number ({group} group has {arm.mean})") from None
    try:
        sd = finite(arm.sd, "SD")
    except SynthesisError:
        sd = -1.0
    if not sd > 0:
        raise SynthesisError(f"SD must be positive ({group} group has {arm.sd})")
    return Arm(n=n, mean=mean, sd=sd)


def small_sample_correction(df: float) -> float:
    """Hedges' exact J for ``df`` degrees of freedom (metafor's ``.cmicalc``)."""
    if df > 1e5:
        return 1 - 3 / (4 * df - 1)
    return math.exp(math.lgamma(df / 2) - 0.5 * math.log(df / 2) - math.lgamma((df - 1) / 2))


def pooled_sd(treatment: Arm, control: Arm) -> float:
    """The pooled within-group SD, scaled so that an SD of 1e200 does not overflow."""
    scale = max(treatment.sd, control.sd)
    a, b = treatment.sd / scale, control.sd / scale
    df = treatment.n + control.n - 2
    return scale * math.sqrt(((treatment.n - 1) * a * a + (control.n - 1) * b * b) / df)


def hedges_g(treatment: Arm, control: Arm) -> tuple[float, float]:
    """Hedges' g of treatment minus control, and its sampling variance, as metafor computes
    them (see the module docstring). A positive g means the treatment group scored higher.
    """
    treatment = checked_arm(treatment, "treatment")
    control = checked_arm(control, "control")
    n1, n2 = treatment.n, control.n
    difference = treatment.mean - control.mean
    d = difference / pooled_sd(treatment, control)
    g = small_sample_correction(n1 + n2 - 2) * d
    variance = 1 / n1 + 1 / n2 + g * g / (2 * (n1 + n2))
    if not (math.isfinite(g) and math.isfinite(variance)):
        raise SynthesisError(
            "the standardised mean difference is too large to compute "
            f"(difference in means {difference:g} against SDs {treatment.sd:g} and "
            f"{control.sd:g})"
        )
    return g, variance


def combine_arms(*arms: Arm) -> Arm:
    """Two or more groups merged into one, by the Cochrane Handbook's formula (section
    6.5.2.10, Table 6.5.a), applied pairwise for more than two groups:

    ``N = N1 + N2``, ``M = (N1 M1 + N2 M2) / N`` and
    ``SD² = ((N1-1) SD1² + (N2-1) SD2² + N1 N2 / N (M1 - M2)²) / (N - 1)``.

    Use it when two treatment arms (e.g. two PRP doses) face one control and a single
    comparison per study is wanted.
    """
    if len(arms) < 2:
        raise SynthesisError(f"combining needs at least two groups; {len(arms)} given")
    checked = [checked_arm(arm, f"group {i}") for i, arm in enumerate(arms, start=1)]
    merged = checked[0]
    for arm in checked[1:]:
        merged = _combine_two(merged, arm)
    return merged


def _combine_two(first: Arm, second: Arm) -> Arm:
    n = first.n + second.n
    mean = (first.n * first.mean + second.n * second.mean) / n
    scale = max(first.sd, second.sd, abs(first.mean - second.mean))
    s1, s2 = first.sd / scale, second.sd / scale
    gap = (first.mean - second.mean) / scale
    within = (first.n - 1) * s1 * s1 + (second.n - 1) * s2 * s2
    between = first.n * second.n / n * gap * gap
    sd = scale * math.sqrt((within + between) / (n - 1))
    if not (math.isfinite(mean) and math.isfinite(sd) and sd > 0):
        raise SynthesisError("the combined group's mean or SD is too large to compute")
    return Arm(n=n, mean=mean, sd=sd)


def split_shared_control(arm: Arm, parts: int) -> Arm:
    """One share of a control group that several comparisons of one study use.

    The Cochrane Handbook (section 23.3.4) splits the shared group so that no participant
    is counted twice: its n is divided by the number of comparisons, and its mean and SD
    stay as they are. The share is rounded down to whole participants, so the shares
    never add up to more than the group; it must keep at least 2 participants.
    """
    parts = count(parts, "the number of comparisons sharing the group", minimum=1)
    arm = checked_arm(arm, "shared control")
    share = arm.n // parts
    if share < 2:
        raise SynthesisError(
            f"a shared group of {arm.n} cannot be split {parts} ways (fewer than 2 each)"
        )
    return Arm(n=share, mean=arm.mean, sd=arm.sd)
