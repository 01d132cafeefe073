"""Random-effects meta-analysis of continuous outcomes, and its forest plot.

Pure code: give it each study's group sizes, means and standard deviations and it returns
Hedges' g per study, the pooled estimate with its heterogeneity statistics, and a forest plot
as SVG or PNG bytes. Nothing here touches the database; services persist what it computes.
This is the only module that imports statsmodels.

Formulas and their sources:

- Hedges' g, the standardised mean difference with the small-sample correction
  ``J = 1 - 3 / (4 * df - 1)`` where ``df = n1 + n2 - 2`` (Hedges 1981), and its variance
  ``V_g = J**2 * V_d`` with ``V_d = (n1 + n2) / (n1 * n2) + d**2 / (2 * (n1 + n2))``
  (Borenstein, Hedges, Higgins & Rothstein 2009, *Introduction to Meta-Analysis*, ch. 4).
  Computed here rather than with statsmodels' ``effectsize_smd``,
  whose variance is ``(n1 + n2) / (n1 * n2) + g**2 / (2 * (n1 + n2 - 3.94))``: an
  approximation that gives 0.0418 instead of the book's 0.0411 for its chapter 4 example.
- Between-study variance tau² by DerSimonian and Laird (1986), the method of moments that
  RevMan long used by default and most published reviews report, or by Paule and Mandel
  (1982). statsmodels 0.15
  offers these two (``combine_effects(method_re="dl" | "pm")``) and no REML, so REML is not
  offered here rather than mislabelled.
- Cochran's Q with its chi-squared test on k - 1 degrees of freedom, and
  ``I² = max(0, (Q - df) / Q)`` (Higgins & Thompson 2002; Higgins et al. 2003).
- Wald confidence intervals and z test from the normal distribution (Borenstein et al.
  2009, ch. 12); no Hartung-Knapp adjustment.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from matplotlib.figure import Figure
from matplotlib.transforms import blended_transform_factory
from scipy import stats
from statsmodels.stats.meta_analysis import combine_effects

from extraction.prisma import PNG_DPI, figure_bytes, text_width

Method = Literal["DL", "PM"]

# Our method codes -> (statsmodels' method_re, the name printed in reports and plots).
METHODS: dict[str, tuple[str, str]] = {
    "DL": ("dl", "DerSimonian-Laird"),
    "PM": ("pm", "Paule-Mandel"),
}


class SynthesisError(ValueError):
    """The data cannot be pooled; the message says why in words a reviewer understands."""


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


@dataclass(frozen=True, slots=True)
class StudyEffect:
    label: str
    g: float
    variance: float
    ci_low: float
    ci_high: float
    weight: float  # percent of the random-effects weight; the studies sum to 100


@dataclass(frozen=True, slots=True)
class MetaAnalysis:
    outcome: str
    method: str  # "DerSimonian-Laird" or "Paule-Mandel", as printed
    studies: tuple[StudyEffect, ...]
    pooled: float  # random-effects Hedges' g
    ci_low: float
    ci_high: float
    se: float
    z: float
    p: float  # two-sided, for the test of no overall effect
    tau2: float
    i2: float  # percent
    q: float
    q_df: int
    q_p: float
    higher_is_better: bool  # decides which side of the plot "favours" the treatment
    level: float = 0.95


def hedges_g(treatment: Arm, control: Arm) -> tuple[float, float]:
    """Hedges' g of treatment minus control, and its sampling variance.

    A positive g means the treatment group scored higher. See the module docstring for the
    formulas (Borenstein et al. 2009, ch. 4) and why statsmodels' variance is not used.
    """
    _check_arm(treatment, "treatment")
    _check_arm(control, "control")
    n1, n2 = treatment.n, control.n
    df = n1 + n2 - 2
    pooled_sd = math.sqrt(((n1 - 1) * treatment.sd**2 + (n2 - 1) * control.sd**2) / df)
    d = (treatment.mean - control.mean) / pooled_sd
    variance_d = (n1 + n2) / (n1 * n2) + d**2 / (2 * (n1 + n2))
    correction = 1 - 3 / (4 * df - 1)
    return correction * d, correction**2 * variance_d


def meta_analyse(
    comparisons: Sequence[StudyComparison],
    *,
    outcome: str,
    method: Method = "DL",
    higher_is_better: bool = True,
    level: float = 0.95,
) -> MetaAnalysis:
    """Pool the studies' Hedges' g in a random-effects model.

    ``method`` estimates tau²: "DL" (DerSimonian-Laird, the default, which most published
    reviews report) or "PM" (Paule-Mandel). Raises ``SynthesisError`` naming the study whose
    data cannot be used.
    """
    if method not in METHODS:
        raise SynthesisError(
            f'method must be "DL" (DerSimonian-Laird) or "PM" (Paule-Mandel); "{method}" given'
        )
    if not 0 < level < 1:
        raise SynthesisError(f"the confidence level must lie between 0 and 1; {level} given")
    if len(comparisons) < 2:
        raise SynthesisError(
            "needs at least two studies with n, mean and SD in both groups; "
            f"{len(comparisons)} given"
        )
    effects, variances = [], []
    for comparison in comparisons:
        try:
            g, variance = hedges_g(comparison.treatment, comparison.control)
        except SynthesisError as error:
            raise SynthesisError(f"{comparison.label}: {error}") from None
        effects.append(g)
        variances.append(variance)

    statsmodels_method, method_name = METHODS[method]
    alpha = 1 - level
    # statsmodels divides by Q for I² even when Q is 0 (identical studies), and takes square
    # roots of Hartung-Knapp variances that a negative tau² makes negative; neither result
    # is used here, so their warnings are silenced.
    with np.errstate(divide="ignore", invalid="ignore"):
        result = combine_effects(
            np.asarray(effects), np.asarray(variances), method_re=statsmodels_method, alpha=alpha
        )
        ci_fixed, ci_random = result.conf_int(alpha=alpha, use_t=False)[:2]
    if result.tau2 > 0:
        pooled, se, ci, weights = (
            result.mean_effect_re,
            result.sd_eff_w_re,
            ci_random,
            result.weights_rel_re,
        )
        tau2 = float(result.tau2)
    else:
        # statsmodels leaves the DerSimonian-Laird estimate (Q - df) / C negative when Q < df;
        # the estimator is truncated at zero, where random effects equal the fixed effect.
        pooled, se, ci, weights = (
            result.mean_effect_fe,
            result.sd_eff_w_fe,
            ci_fixed,
            result.weights_rel_fe,
        )
        tau2 = 0.0

    study_low, study_high = result.conf_int_samples(alpha=alpha, use_t=False)
    studies = tuple(
        StudyEffect(
            label=comparison.label,
            g=float(effects[i]),
            variance=float(variances[i]),
            ci_low=float(study_low[i]),
            ci_high=float(study_high[i]),
            weight=float(100 * weights[i]),
        )
        for i, comparison in enumerate(comparisons)
    )
    q = max(0.0, float(result.q))
    q_df = len(comparisons) - 1
    z = float(pooled / se)
    return MetaAnalysis(
        outcome=outcome,
        method=method_name,
        studies=studies,
        pooled=float(pooled),
        ci_low=float(ci[0]),
        ci_high=float(ci[1]),
        se=float(se),
        z=z,
        p=float(2 * stats.norm.sf(abs(z))),
        tau2=tau2,
        i2=100 * max(0.0, (q - q_df) / q) if q > 0 else 0.0,
        q=q,
        q_df=q_df,
        q_p=float(stats.chi2.sf(q, q_df)),
        higher_is_better=higher_is_better,
        level=level,
    )


def _check_arm(arm: Arm, group: str) -> None:
    if isinstance(arm.n, bool) or not isinstance(arm.n, int) or arm.n < 2:
        raise SynthesisError(f"n must be a whole number of at least 2 ({group} group has {arm.n})")
    if not math.isfinite(arm.mean):
        raise SynthesisError(f"mean must be a number ({group} group has {arm.mean})")
    if not (math.isfinite(arm.sd) and arm.sd > 0):
        raise SynthesisError(f"SD must be positive ({group} group has {arm.sd})")


# --- Forest plot -------------------------------------------------------------------------

FONT_SIZE = 9.0
ROW_HEIGHT = 0.28  # inches per study row
PLOT_WIDTH = 3.2  # inches for the axis with squares and lines
MARGIN = 0.15
COLUMN_GAP = 0.25


def forest_plot(
    result: MetaAnalysis,
    *,
    fmt: Literal["svg", "png"] = "svg",
    treatment: str = "treatment",
    control: str = "control",
) -> bytes:
    """The forest plot of ``result`` as SVG (text kept as text) or PNG bytes.

    Rows show each study's g with its confidence interval, a square whose area is
    proportional to its weight, and the figures in text columns; a diamond shows the pooled
    estimate. ``treatment`` and ``control`` name the groups in the "Favours ..." labels
    (e.g. treatment="PRP"). Drawing takes about 0.05 s for SVG and 0.1 s for PNG.
    """
    return figure_bytes(forest_figure(result, treatment=treatment, control=control), fmt)


def forest_figure(
    result: MetaAnalysis, *, treatment: str = "treatment", control: str = "control"
) -> Figure:
    """The forest plot as a matplotlib ``Figure``, for callers that embed or inspect it."""
    percent = f"{result.level * 100:g}%"
    k = len(result.studies)
    pooled_label = f"Random effects ({result.method})"
    effect_texts = [_effect_text(s.g, s.ci_low, s.ci_high) for s in result.studies]
    pooled_text = _effect_text(result.pooled, result.ci_low, result.ci_high)
    effect_header = f"Hedges' g [{percent} CI]"

    def widest(plain: Sequence[str], bold: Sequence[str]) -> float:
        return max(
            *(_drawn_width(text, size=FONT_SIZE) for text in plain),
            *(_drawn_width(text, size=FONT_SIZE, bold=True) for text in bold),
        )

    label_width = widest([s.label for s in result.studies], ["Study", pooled_label])
    effect_width = widest(effect_texts, [effect_header, pooled_text])
    weight_width = widest([], ["Weight", "100.0%"])

    heterogeneity = (
        f"Heterogeneity: τ² = {_number(result.tau2, 3)}; I² = {result.i2:.1f}%; "
        f"Q = {_number(result.q, 2)}, df = {result.q_df} ({_p_value(result.q_p)})"
    )
    overall = f"Test for overall effect: z = {_number(result.z, 2)} ({_p_value(result.p)})"

    label_x = MARGIN
    plot_x = label_x + label_width + COLUMN_GAP
    effect_x = plot_x + PLOT_WIDTH + COLUMN_GAP
    weight_right = effect_x + effect_width + COLUMN_GAP + weight_width
    width = MARGIN + max(
        weight_right,
        MARGIN + _drawn_width(result.outcome, size=FONT_SIZE + 1.5, bold=True),
        MARGIN + _drawn_width(heterogeneity, size=FONT_SIZE - 0.5),
    )

    title_height = 0.4
    plot_height = (k + 2.9) * ROW_HEIGHT
    axis_height = 0.75  # ticks, "Favours" labels and the axis label below the plot
    footer_height = 0.5
    height = title_height + plot_height + axis_height + footer_height

    figure = Figure(figsize=(width, height), dpi=PNG_DPI)
    ax = figure.add_axes(
        (
            plot_x / width,
            (footer_height + axis_height) / height,
            PLOT_WIDTH / width,
            plot_height / height,
        )
    )
    pooled_row = k + 0.6
    ax.set_ylim(k + 1.3, -1.6)
    rows = blended_transform_factory(figure.transFigure, ax.transData)

    def column_text(x: float, row: float, text: str, **kwargs: object) -> None:
        ax.text(
            x / width,
            row,
            text,
            transform=rows,
            va="center",
            fontsize=FONT_SIZE,
            parse_math=False,
            **kwargs,
        )

    column_text(label_x, -1, "Study", ha="left", fontweight="bold")
    column_text(effect_x + effect_width, -1, effect_header, ha="right", fontweight="bold")
    column_text(weight_right, -1, "Weight", ha="right", fontweight="bold")

    biggest_weight = max(s.weight for s in result.studies) or 1.0
    for row, (study, effect_text) in enumerate(zip(result.studies, effect_texts, strict=True)):
        ax.hlines(row, study.ci_low, study.ci_high, color="black", linewidth=1)
        # Square area proportional to weight, as in RevMan and metafor.
        size = 4 + 10 * math.sqrt(study.weight / biggest_weight)
        ax.plot(study.g, row, marker="s", markersize=size, color="#1f4e79", linestyle="none")
        column_text(label_x, row, study.label, ha="left")
        column_text(effect_x + effect_width, row, effect_text, ha="right")
        column_text(weight_right, row, f"{study.weight:.1f}%", ha="right")

    diamond_x = [result.ci_low, result.pooled, result.ci_high, result.pooled]
    diamond_y = [pooled_row, pooled_row - 0.32, pooled_row, pooled_row + 0.32]
    ax.fill(diamond_x, diamond_y, color="#c00000", linewidth=0)
    column_text(label_x, pooled_row, pooled_label, ha="left", fontweight="bold")
    column_text(effect_x + effect_width, pooled_row, pooled_text, ha="right", fontweight="bold")
    column_text(weight_right, pooled_row, "100.0%", ha="right", fontweight="bold")

    lowest = min(0.0, result.ci_low, *(s.ci_low for s in result.studies))
    highest = max(0.0, result.ci_high, *(s.ci_high for s in result.studies))
    span = highest - lowest or 1.0
    ax.set_xlim(lowest - 0.06 * span, highest + 0.06 * span)
    ax.vlines(0, -0.6, pooled_row + 0.5, color="#7f7f7f", linewidth=0.8)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="x", labelsize=FONT_SIZE - 0.5)

    left, right = (control, treatment) if result.higher_is_better else (treatment, control)
    for text, offset, align in ((f"Favours {left}", -6, "right"), (f"Favours {right}", 6, "left")):
        ax.annotate(
            text,
            xy=(0, 0),
            xycoords=("data", "axes fraction"),
            xytext=(offset, -24),
            textcoords="offset points",
            ha=align,
            va="top",
            fontsize=FONT_SIZE - 0.5,
            parse_math=False,
        )
    ax.annotate(
        "Hedges' g (standardised mean difference)",
        xy=(0.5, 0),
        xycoords="axes fraction",
        xytext=(0, -38),
        textcoords="offset points",
        ha="center",
        va="top",
        fontsize=FONT_SIZE - 0.5,
    )

    inches = figure.dpi_scale_trans
    figure.text(
        MARGIN,
        height - 0.22,
        result.outcome,
        transform=inches,
        fontsize=FONT_SIZE + 1.5,
        fontweight="bold",
        va="center",
        parse_math=False,
    )
    for line, text in enumerate((heterogeneity, overall)):
        figure.text(
            MARGIN,
            footer_height - 0.17 - 0.18 * line,
            text,
            transform=inches,
            fontsize=FONT_SIZE - 0.5,
            va="center",
        )
    return figure


def _drawn_width(text: str, *, size: float, bold: bool = False) -> float:
    """Measured width plus 5%: hinted PNG text comes out up to ~3% wider than its outline."""
    return 1.05 * text_width(text, size=size, bold=bold)


def _number(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.00"


def _effect_text(g: float, low: float, high: float) -> str:
    return f"{_number(g, 2)} [{_number(low, 2)}, {_number(high, 2)}]"


def _p_value(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
