"""Turning what papers report into what a meta-analysis needs, free of Django.

A pooled mean difference needs each arm's mean and standard deviation, but studies of cytokines
and pain often give a standard error, a confidence interval, or a median with its quartiles or
range. This module converts those summaries into an `Estimate` that names the method and the
source, so a reviewer can check every figure and a sensitivity analysis can set the estimated
ones aside.

It also classifies platelet-rich plasma from the counts a paper reports (DeLong et al. 2012;
Dohan Ehrenfest et al. 2009) and scores how completely a paper describes its PRP against a
checklist built from MIBO (Murray et al. 2017), because PRP preparations differ so much that
pooling them blindly hides the signal.

Bad input raises `ConversionError` with a message the person who typed the numbers can act on.
Normal quantiles come from the standard library; the t quantile (a CI of a small group) from
scipy, loaded the first time one is needed.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, replace
from statistics import NormalDist

__all__ = [
    "MIBO_PRP_ITEMS",
    "Completeness",
    "ConversionError",
    "Estimate",
    "PrpClass",
    "classify_prp",
    "estimate",
    "from_median_iqr",
    "from_median_iqr_range",
    "from_median_range",
    "mibo_completeness",
    "sd_from_ci",
    "sd_from_se",
]

COCHRANE_6_5_2_2 = "Higgins et al., Cochrane Handbook 6.5.2.2"
LUO_2018 = "Luo et al. 2018, Stat Methods Med Res 27:1785-1805"
WAN_2014 = "Wan et al. 2014, BMC Med Res Methodol 14:135"
MEDIAN_CITATION = f"{LUO_2018} (mean); {WAN_2014} (SD)"

# Cochrane Handbook 6.5.2.2: below about 60 per group the interval was probably computed with
# a t distribution; from 60 on, the normal approximation is close enough.
SMALL_SAMPLE_BELOW = 60

_STANDARD_NORMAL = NormalDist()


class ConversionError(ValueError):
    """Reported figures that cannot be converted; the message says which figure and why."""


@dataclass(frozen=True, slots=True)
class Estimate:
    """A mean and SD for meta-analysis, with the method and source that produced them.

    `mean` or `sd` is None when the route cannot give it (a standard error says nothing about
    the mean). `method` is shown to reviewers next to the figure; `citation` is what the review
    cites for the conversion in its methods section.
    """

    mean: float | None
    sd: float | None
    method: str
    citation: str


def sd_from_se(se: float, n: int) -> Estimate:
    """SD from the standard error of a group mean: SD = SE x sqrt(n).

    Papers often show "mean ± SE" where a reader expects SD; the SE shrinks with sample size,
    so pooling it as an SD would overweight large studies. Cochrane Handbook 6.5.2.2
    (Higgins et al. 2023).
    """
    se = _non_negative("SE", se)
    n = _sample_size(n)
    return Estimate(
        mean=None,
        sd=se * math.sqrt(n),
        method="SD from SE (SD = SE x sqrt(n))",
        citation=COCHRANE_6_5_2_2,
    )


def sd_from_ci(
    lower: float, upper: float, n: int, level: float = 0.95, mean: float | None = None
) -> Estimate:
    """SD from a confidence interval of a group mean: SD = sqrt(n) x (upper - lower) / divisor.

    The divisor is twice the quantile the authors would have used. Following Cochrane Handbook
    6.5.2.2 (Higgins et al. 2023), a sample under 60 uses the t distribution with n - 1 degrees
    of freedom (n = 25 at 95%: 2 x 2.0639 = 4.128), a larger one the normal distribution
    (3.92 at 95%, 3.29 at 90%, 5.15 at 99%; computed exactly, not rounded). The interval is
    assumed symmetric, as on the natural scale; without a reported mean the midpoint is used.
    """
    lower = _finite("the lower confidence limit", lower)
    upper = _finite("the upper confidence limit", upper)
    if lower > upper:
        raise ConversionError(
            f"the lower confidence limit ({lower:g}) is above the upper one ({upper:g})"
        )
    n = _sample_size(n, minimum=2, purpose="for a confidence interval of a mean")
    level = _finite("the confidence level", level)
    if not 0 < level < 1:
        raise ConversionError(
            f"the confidence level must be a fraction between 0 and 1 (0.95 for 95%), got {level:g}"
        )
    if mean is None:
        mean = (lower + upper) / 2
    else:
        mean = _finite("the mean", mean)
        if not lower <= mean <= upper:
            raise ConversionError(
                f"the mean ({mean:g}) lies outside its own confidence interval "
                f"({lower:g} to {upper:g}); check the figures"
            )
    if n < SMALL_SAMPLE_BELOW:
        divisor = 2 * _t_quantile(level, n - 1)
        distribution = f"t distribution, {n - 1} df"
    else:
        divisor = 2 * _STANDARD_NORMAL.inv_cdf((1 + level) / 2)
        distribution = "normal distribution"
    return Estimate(
        mean=mean,
        sd=math.sqrt(n) * (upper - lower) / divisor,
        method=f"SD from {level:.0%} CI (SD = sqrt(n) x width / {divisor:.3f}, {distribution})",
        citation=COCHRANE_6_5_2_2,
    )


def from_median_iqr(median: float, q1: float, q3: float, n: int) -> Estimate:
    """Mean and SD from the median and interquartile range.

    Mean (Luo et al. 2018, scenario S2): (0.7 + 0.39/n) x (q1 + q3)/2 + (0.3 - 0.39/n) x median.
    SD (Wan et al. 2014, scenario C3): (q3 - q1) / (2 x Phi^-1((0.75n - 0.125)/(n + 0.25))).
    The divisor tends to 1.35, the large-sample rule of the Cochrane Handbook, and is smaller
    for small samples. Both assume roughly normal data; cytokine levels are often skewed, which
    is why papers report medians, so a sensitivity analysis without these studies is wise.
    """
    median = _finite("the median", median)
    q1 = _finite("the first quartile", q1)
    q3 = _finite("the third quartile", q3)
    _ordered(("first quartile", q1), ("median", median), ("third quartile", q3))
    n = _sample_size(n, minimum=2, purpose="to estimate from quartiles")
    return Estimate(
        mean=_luo_mean_from_quartiles(median, q1, q3, n),
        sd=(q3 - q1) / _iqr_divisor(n),
        method="mean and SD from median and IQR (Luo mean, Wan SD)",
        citation=MEDIAN_CITATION,
    )


def from_median_range(median: float, minimum: float, maximum: float, n: int) -> Estimate:
    """Mean and SD from the median and range (minimum to maximum).

    Mean (Luo et al. 2018, scenario S1): w x (min + max)/2 + (1 - w) x median with
    w = 4 / (4 + n^0.75). SD (Wan et al. 2014, scenario C1): (max - min) /
    (2 x Phi^-1((n - 0.375)/(n + 0.25))); unlike the old range/4 rule, the divisor grows with n
    because extremes spread further in larger samples. Assumes roughly normal data.
    """
    median = _finite("the median", median)
    minimum = _finite("the minimum", minimum)
    maximum = _finite("the maximum", maximum)
    _ordered(("minimum", minimum), ("median", median), ("maximum", maximum))
    n = _sample_size(n, minimum=2, purpose="to estimate from a range")
    return Estimate(
        mean=_luo_mean_from_range(median, minimum, maximum, n),
        sd=(maximum - minimum) / _range_divisor(n),
        method="mean and SD from median and range (Luo mean, Wan SD)",
        citation=MEDIAN_CITATION,
    )


def from_median_iqr_range(
    median: float, q1: float, q3: float, minimum: float, maximum: float, n: int
) -> Estimate:
    """Mean and SD from the five-number summary (minimum, q1, median, q3, maximum).

    Mean (Luo et al. 2018, scenario S3): weights w1 = 2.2/(2.2 + n^0.75) on the mid-range and
    w2 = 0.7 - 0.72/n^0.55 on the mid-quartile range, the rest on the median. SD (Wan et al.
    2014, scenario C2): the average of the range-based and IQR-based estimates. Using all five
    figures beats either pair alone. Shi et al. 2020 later refined the SD weights; Wan's are kept
    here because reviewers can check them by hand from the published formula.
    """
    median = _finite("the median", median)
    q1 = _finite("the first quartile", q1)
    q3 = _finite("the third quartile", q3)
    minimum = _finite("the minimum", minimum)
    maximum = _finite("the maximum", maximum)
    _ordered(
        ("minimum", minimum),
        ("first quartile", q1),
        ("median", median),
        ("third quartile", q3),
        ("maximum", maximum),
    )
    n = _sample_size(n, minimum=2, purpose="to estimate from quartiles and range")
    range_weight = 2.2 / (2.2 + n**0.75)
    quartile_weight = 0.7 - 0.72 / n**0.55
    mean = (
        range_weight * (minimum + maximum) / 2
        + quartile_weight * (q1 + q3) / 2
        + (1 - range_weight - quartile_weight) * median
    )
    sd = ((maximum - minimum) / _range_divisor(n) + (q3 - q1) / _iqr_divisor(n)) / 2
    return Estimate(
        mean=mean,
        sd=sd,
        method="mean and SD from median, IQR and range (Luo mean, Wan SD)",
        citation=MEDIAN_CITATION,
    )


def estimate(
    *,
    n: int | None = None,
    mean: float | None = None,
    sd: float | None = None,
    se: float | None = None,
    ci_lower: float | None = None,
    ci_upper: float | None = None,
    median: float | None = None,
    q1: float | None = None,
    q3: float | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
) -> Estimate | None:
    """The best mean and SD the reported figures allow, or None when nothing is usable.

    Routes are tried from least to most assumption: a reported SD; the SE; the confidence
    interval; median with IQR and range; median with IQR; median with range. A route is skipped
    when a figure it needs (often n) is missing. A reported mean is always kept over an
    estimated one. Impossible figures on the chosen route raise `ConversionError` rather than
    being skipped, so a typing error is never silently replaced by a weaker route.
    """
    if n is not None:
        n = _sample_size(n)
    if mean is not None:
        mean = _finite("the mean", mean)
    if sd is not None:
        return Estimate(
            mean=mean,
            sd=_non_negative("SD", sd),
            method="reported",
            citation="reported by the study",
        )
    if n is None:
        return None
    if se is not None:
        return replace(sd_from_se(se, n), mean=mean)
    if ci_lower is not None and ci_upper is not None:
        return sd_from_ci(ci_lower, ci_upper, n, mean=mean)
    if median is None:
        return None
    has_quartiles = q1 is not None and q3 is not None
    has_range = minimum is not None and maximum is not None
    if has_quartiles and has_range:
        result = from_median_iqr_range(median, q1, q3, minimum, maximum, n)
        summary = "median, IQR and range"
    elif has_quartiles:
        result = from_median_iqr(median, q1, q3, n)
        summary = "median and IQR"
    elif has_range:
        result = from_median_range(median, minimum, maximum, n)
        summary = "median and range"
    else:
        return None
    if mean is None:
        return result
    return Estimate(
        mean=mean,
        sd=result.sd,
        method=f"reported mean; SD from {summary} (Wan SD)",
        citation=WAN_2014,
    )


def _luo_mean_from_quartiles(median: float, q1: float, q3: float, n: int) -> float:
    return (0.7 + 0.39 / n) * (q1 + q3) / 2 + (0.3 - 0.39 / n) * median


def _luo_mean_from_range(median: float, minimum: float, maximum: float, n: int) -> float:
    range_weight = 4 / (4 + n**0.75)
    return range_weight * (minimum + maximum) / 2 + (1 - range_weight) * median


def _iqr_divisor(n: int) -> float:
    """Wan et al. 2014 eta(n): the expected IQR of n standard-normal values."""
    return 2 * _STANDARD_NORMAL.inv_cdf((0.75 * n - 0.125) / (n + 0.25))


def _range_divisor(n: int) -> float:
    """Wan et al. 2014 xi(n): the expected range of n standard-normal values (Blom's scores)."""
    return 2 * _STANDARD_NORMAL.inv_cdf((n - 0.375) / (n + 0.25))


def _t_quantile(level: float, df: int) -> float:
    """The t value whose two-sided interval covers `level` (2.0639 for 95% and 24 df)."""
    from scipy import stats  # not loaded by every page that imports the conversions

    return float(stats.t.ppf((1 + level) / 2, df))


# PRP classification ---------------------------------------------------------------------------

ACTIVATIONS = ("none", "calcium", "thrombin", "other")
LEUKOCYTE_CONTENTS = ("rich", "poor")

# DeLong et al. 2012: platelet grades by absolute count per µL of the product.
P2_UPPER_PER_UL = 750_000
P3_UPPER_PER_UL = 1_250_000


@dataclass(frozen=True, slots=True)
class PrpClass:
    """Where a PRP preparation falls in the PAW and Dohan Ehrenfest classifications.

    A field is None when the reported figures do not decide it; `notes` says what was missing
    or inconsistent, so an extractor knows what to look for in the paper or ask the authors.
    """

    paw: str | None
    leukocytes: str | None
    dohan_family: str | None
    notes: tuple[str, ...]


def classify_prp(
    *,
    platelets_per_ul: float | None = None,
    baseline_platelets_per_ul: float | None = None,
    wbc_per_ul: float | None = None,
    baseline_wbc_per_ul: float | None = None,
    neutrophils_per_ul: float | None = None,
    baseline_neutrophils_per_ul: float | None = None,
    activation: str | None = None,
    leukocyte_content: str | None = None,
    is_fibrin: bool = False,
    fold_over_baseline: float | None = None,
) -> PrpClass:
    """Classify a PRP preparation from its reported counts (all per µL) and handling.

    PAW (DeLong, Russell & Mazzocca 2012, Arthroscopy 28:998-1009) codes Platelets, Activation
    and White cells, e.g. "P3-x-Bβ":

    - P1: platelets at or below whole blood; P2: above whole blood up to 750,000/µL;
      P3: above 750,000 up to 1,250,000/µL; P4: above 1,250,000/µL. P3 and P4 are absolute, so
      they need no baseline; P1 and P2 do. A fold increase alone only tells P1 (fold <= 1).
    - A: "x" for exogenous activation (calcium, thrombin or another activator); nothing when
      the PRP is left to activate in the tissue. Unknown activation leaves the code undecided.
    - W: "A" when white cells are above whole blood, "B" at or below it; α or β follows for
      neutrophils above, or at or below, whole blood when both neutrophil counts are given.

    `leukocytes` is "leukocyte-rich" when white cells exceed whole blood (the same cut as W),
    else "leukocyte-poor"; without counts, the authors' own description (`leukocyte_content`)
    is used, but counts win and a contradiction is noted. `dohan_family` (Dohan Ehrenfest,
    Rasmusson & Albrektsson 2009, Trends Biotechnol 27:158-167) crosses that with fibrin
    architecture: P-PRP, L-PRP, P-PRF, L-PRF. Set `is_fibrin` only for platelet-rich fibrin,
    whose dense fibrin matrix forms during preparation; Dohan counts an activated PRP gel as
    PRP. Dohan's "pure" means leukocyte-poor here, as no count cut-off is given there.
    """
    notes: list[str] = []
    platelets = _optional_count("the PRP platelet count", platelets_per_ul, plausible_from=1_000)
    baseline_platelets = _optional_count(
        "the whole-blood platelet count", baseline_platelets_per_ul, plausible_from=1_000
    )
    wbc = _optional_count("the PRP white-cell count", wbc_per_ul)
    baseline_wbc = _optional_count(
        "the whole-blood white-cell count", baseline_wbc_per_ul, plausible_from=100
    )
    neutrophils = _optional_count("the PRP neutrophil count", neutrophils_per_ul)
    baseline_neutrophils = _optional_count(
        "the whole-blood neutrophil count", baseline_neutrophils_per_ul
    )
    fold = None
    if fold_over_baseline is not None:
        fold = _finite("the fold increase over whole blood", fold_over_baseline)
        if fold <= 0:
            raise ConversionError(
                f"the fold increase over whole blood must be above 0, got {fold:g}"
            )
    if activation is not None and activation not in ACTIVATIONS:
        raise ConversionError(
            f"activation must be one of {', '.join(ACTIVATIONS)} (or unknown), got {activation!r}"
        )
    if leukocyte_content is not None and leukocyte_content not in LEUKOCYTE_CONTENTS:
        raise ConversionError(
            f"leukocyte content must be 'rich' or 'poor' (or unknown), got {leukocyte_content!r}"
        )

    if platelets is None and fold is not None and baseline_platelets is not None:
        platelets = fold * baseline_platelets
    elif platelets is not None and fold is not None and baseline_platelets is not None:
        counted_fold = platelets / baseline_platelets
        if abs(counted_fold - fold) > 0.1 * fold:
            notes.append(
                f"the reported {fold:g}-fold increase disagrees with the counts "
                f"({counted_fold:.1f}-fold); the counts were used"
            )
    platelet_grade = _platelet_grade(platelets, baseline_platelets, fold, notes)

    activation_code: str | None = None
    if activation is None:
        notes.append("activation not reported: the A of PAW is undecided")
    else:
        activation_code = "" if activation == "none" else "x"

    white_code: str | None = None
    counted_leukocytes: str | None = None
    if wbc is not None and baseline_wbc is not None:
        above = wbc > baseline_wbc
        white_code = "A" if above else "B"
        counted_leukocytes = "leukocyte-rich" if above else "leukocyte-poor"
    else:
        notes.append("white-cell counts of both PRP and whole blood are needed for the W of PAW")
    if neutrophils is not None and baseline_neutrophils is not None:
        if white_code is not None:
            white_code += "α" if neutrophils > baseline_neutrophils else "β"
    else:
        notes.append("neutrophil counts of PRP and whole blood not both given: no α/β in PAW")

    leukocytes = counted_leukocytes
    described = f"leukocyte-{leukocyte_content}" if leukocyte_content else None
    if leukocytes is None:
        leukocytes = described
        if leukocytes is None:
            notes.append("leukocyte content unknown: no Dohan Ehrenfest family")
    elif described is not None and described != leukocytes:
        notes.append(
            f"the authors call the PRP {described} but the counts make it {leukocytes}; "
            "the counts were used"
        )

    paw = None
    if platelet_grade and activation_code is not None and white_code:
        paw = "-".join(part for part in (platelet_grade, activation_code, white_code) if part)
    dohan_family = None
    if leukocytes is not None:
        prefix = "L" if leukocytes == "leukocyte-rich" else "P"
        dohan_family = f"{prefix}-{'PRF' if is_fibrin else 'PRP'}"
    return PrpClass(paw=paw, leukocytes=leukocytes, dohan_family=dohan_family, notes=tuple(notes))


def _platelet_grade(
    platelets: float | None, baseline: float | None, fold: float | None, notes: list[str]
) -> str | None:
    if platelets is None:
        if fold is not None and fold <= 1:
            return "P1"
        if fold is not None:
            notes.append(
                "a fold increase without counts cannot tell P2, P3 and P4 apart: "
                "enter the PRP or whole-blood platelet count"
            )
        else:
            notes.append("PRP platelet count not reported: the P of PAW is undecided")
        return None
    if baseline is not None and platelets <= baseline:
        return "P1"
    if platelets > P3_UPPER_PER_UL:
        return "P4"
    if platelets > P2_UPPER_PER_UL:
        return "P3"
    if baseline is not None:
        return "P2"
    notes.append("whole-blood platelet count needed to tell P1 from P2")
    return None


def _optional_count(name: str, value: float | None, plausible_from: float = 0) -> float | None:
    """A cell count per µL, rejecting counts typed in thousands (x10³/µL or x10⁹/L)."""
    if value is None:
        return None
    count = _non_negative(name, value)
    if count < plausible_from:
        hint = (
            f": if it is in thousands (x10³/µL or x10⁹/L), enter {count * 1000:,.0f}"
            if count > 0
            else ""
        )
        raise ConversionError(f"{name} is per µL, and {count:g} is too low for that{hint}")
    return count


# MIBO reporting completeness ----------------------------------------------------------------

MIBO_PRP_ITEMS: tuple[tuple[str, str], ...] = (
    ("whole_blood_volume", "Initial whole-blood volume"),
    ("anticoagulant", "Anticoagulant"),
    ("preparation_system", "Preparation system (commercial kit or own protocol)"),
    ("spin_count", "Number of centrifugation spins"),
    ("spin_force", "Centrifugation force (g) of each spin"),
    ("spin_time", "Centrifugation time of each spin"),
    ("prp_volume", "Final PRP volume"),
    ("whole_blood_platelets", "Platelet concentration of whole blood"),
    ("prp_platelets", "Platelet concentration of the PRP"),
    ("red_cells", "Red-cell concentration of the PRP"),
    ("white_cells", "White-cell concentration of the PRP"),
    ("white_cell_differential", "White-cell differential (neutrophils)"),
    ("activation", "Activation method, or none"),
    ("injection_volume", "Volume delivered per injection"),
    ("injection_count", "Number of injections"),
    ("injection_interval", "Interval between injections"),
    ("delivery_route", "Delivery route and site"),
    ("image_guidance", "Image guidance"),
    ("post_injection_protocol", "Post-injection protocol or rehabilitation"),
)
"""PRP reporting items after MIBO (Murray et al. 2017, J Bone Joint Surg Am 99:809-819).

MIBO's PRP checklist has 23 consensus statements, several of which bundle facts (a statement
on preparation covers blood volume, anticoagulant and centrifugation). These 19 items are our
own selection and wording, one reportable fact each, covering preparation, composition and
delivery: what a pooled PRP analysis must know. MIBO's items on study design, patients and
outcomes are left out because trial reporting guidelines (CONSORT, ARRIVE) already cover them.
Call the result "completeness against MIBO-derived PRP items", not MIBO adherence.
"""

_MIBO_LABELS = dict(MIBO_PRP_ITEMS)


@dataclass(frozen=True, slots=True)
class Completeness:
    """How many MIBO-derived PRP items a study reports; `missing` holds item keys in order."""

    reported: int
    total: int
    percent: float
    missing: tuple[str, ...]

    @property
    def missing_labels(self) -> tuple[str, ...]:
        return tuple(_MIBO_LABELS[key] for key in self.missing)


def mibo_completeness(reported: Mapping[str, bool]) -> Completeness:
    """Score PRP reporting; an item absent from `reported` counts as not reported.

    An unknown key raises `ConversionError`, since a misspelt key would otherwise quietly lower
    a study's score.
    """
    unknown = sorted(set(reported) - _MIBO_LABELS.keys())
    if unknown:
        raise ConversionError(
            f"unknown MIBO item {', '.join(map(repr, unknown))}; "
            f"known items: {', '.join(_MIBO_LABELS)}"
        )
    missing = tuple(key for key, _ in MIBO_PRP_ITEMS if not reported.get(key, False))
    total = len(MIBO_PRP_ITEMS)
    count = total - len(missing)
    return Completeness(reported=count, total=total, percent=100 * count / total, missing=missing)


# Validation -----------------------------------------------------------------------------------


def _sample_size(n: int, minimum: int = 1, purpose: str = "") -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ConversionError(f"n must be a positive whole number, got {n!r}")
    if n < minimum:
        raise ConversionError(f"n must be at least {minimum} {purpose}, got {n}")
    return int(n)


def _finite(name: str, value: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConversionError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ConversionError(f"{name} must be a finite number, got {value!r}")
    return number


def _non_negative(name: str, value: float) -> float:
    number = _finite(name, value)
    if number < 0:
        raise ConversionError(f"{name} cannot be negative, got {number:g}")
    return number


def _ordered(*named: tuple[str, float]) -> None:
    """Raise unless the summaries rise in the given order (ties allowed)."""
    for (low_name, low), (high_name, high) in zip(named, named[1:], strict=False):
        if low > high:
            raise ConversionError(
                f"the {low_name} ({low:g}) is above the {high_name} ({high:g}); "
                "check the order of the figures"
            )
