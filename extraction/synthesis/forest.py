"""The forest plot of a ``MetaAnalysis``, as SVG (text kept as text) or PNG bytes.

Ratio measures (RR, OR) are drawn on a log axis labelled in ratios, with the line of no
effect at 1, as RevMan and metafor draw them; the standardised mean difference on a linear
axis with the line at 0. Below the pooled diamond a bar shows the prediction interval of a
random-effects model, and the footer gives k, τ², I², Q and its p.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from extraction.figures import PNG_DPI, figure_bytes, text_width
from extraction.synthesis.binary import BinaryArm
from extraction.synthesis.effects import Arm
from extraction.synthesis.numbers import SynthesisError
from extraction.synthesis.pooling import MetaAnalysis

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FONT_SIZE = 9.0
ROW_HEIGHT = 0.28  # inches per study row
PLOT_WIDTH = 3.2  # inches for the axis with squares and lines
MARGIN = 0.15
COLUMN_GAP = 0.25
SUB_GAP = 0.12  # between the columns of one group's figures
STUDY_COLOUR = "#0072B2"  # Okabe-Ito blue and vermilion: told apart with any colour vision
POOLED_COLOUR = "#D55E00"


def forest_plot(
    result: MetaAnalysis,
    *,
    fmt: Literal["svg", "png"] = "svg",
    treatment: str = "treatment",
    control: str = "control",
) -> bytes:
    """The forest plot of ``result`` as SVG (text kept as text) or PNG bytes.

    Rows show each study's effect with its confidence interval, a square whose area is
    proportional to its weight, and the figures in text columns; a diamond shows the pooled
    estimate. ``treatment`` and ``control`` name the groups in the "Favours ..." labels
    (e.g. treatment="PRP"). Drawing takes about 0.05 s for SVG and 0.1 s for PNG.
    """
    figure = forest_figure(result, treatment=treatment, control=control)
    return figure_bytes(figure, fmt)


def forest_figure(
    result: MetaAnalysis, *, treatment: str = "treatment", control: str = "control"
) -> Figure:
    """The forest plot as a matplotlib ``Figure``, for callers that embed or inspect it."""
    from matplotlib.figure import Figure
    from matplotlib.transforms import blended_transform_factory

    _check_drawable(result)
    percent = f"{result.level * 100:g}%"
    k = len(result.studies)
    random = result.tau2 is not None
    pooled_label = f"{'Random effects' if random else 'Fixed effect'} ({result.method})"
    effect_texts = [_effect_text(result, s.estimate, s.ci_low, s.ci_high) for s in result.studies]
    pooled_text = _effect_text(result, result.pooled, result.ci_low, result.ci_high)
    prediction_text = (
        _interval_text(result, result.pi_low, result.pi_high)
        if result.pi_low is not None and result.pi_high is not None
        else None
    )
    effect_header = f"{result.measure_name} [{percent} CI]"
    prediction_label = f"{percent} prediction interval"

    def widest(plain: Sequence[str], bold: Sequence[str]) -> float:
        return max(
            *(_drawn_width(text, size=FONT_SIZE) for text in plain),
            *(_drawn_width(text, size=FONT_SIZE, bold=True) for text in bold),
        )

    label_width = widest(
        [*(s.label for s in result.studies), *([prediction_label] if prediction_text else [])],
        ["Study", pooled_label],
    )
    effect_width = widest(
        [*effect_texts, *([prediction_text] if prediction_text else [])],
        [effect_header, pooled_text],
    )
    weight_width = widest([], ["Weight", "100.0%"])

    heterogeneity = _heterogeneity_text(result)
    overall = (
        f"Test for overall effect: z = {_number(result.z, 2)} ({_p_value(result.p)}). "
        f"{result.model}."
    )
    notes = list(result.notes)

    label_x = MARGIN
    arm_columns = _arm_columns(result)
    cursor = label_x + label_width + COLUMN_GAP
    placed: list[tuple[float, str, list[str]]] = []  # right edge, header, cells
    groups: list[tuple[float, float, str]] = []  # left, right, group name
    for group, name in enumerate((treatment, control)):
        columns = [c for c in arm_columns if c[0] == group]
        if not columns:
            continue
        widths = [widest(cells, [header]) for _, header, cells in columns]
        shortfall = _drawn_width(name, size=FONT_SIZE, bold=True) - (
            sum(widths) + SUB_GAP * (len(widths) - 1)
        )
        widths[0] += max(0.0, shortfall)
        left = cursor
        for width_, (_, header, cells) in zip(widths, columns, strict=True):
            cursor += width_
            placed.append((cursor, header, cells))
            cursor += SUB_GAP
        groups.append((left, cursor - SUB_GAP, name))
        cursor += COLUMN_GAP - SUB_GAP
    plot_x = cursor
    effect_x = plot_x + PLOT_WIDTH + COLUMN_GAP
    weight_right = effect_x + effect_width + COLUMN_GAP + weight_width
    footer_lines = [heterogeneity, overall, *notes]
    width = MARGIN + max(
        weight_right,
        MARGIN + _drawn_width(result.outcome, size=FONT_SIZE + 1.5, bold=True),
        *(MARGIN + _drawn_width(line, size=FONT_SIZE - 0.5) for line in footer_lines),
    )

    extra_rows = 1 if prediction_text else 0
    header_rows = 0.9 if placed else 0.0
    title_height = 0.4
    plot_height = (k + 2.9 + extra_rows + header_rows) * ROW_HEIGHT
    axis_height = 0.75  # ticks, "Favours" labels and the axis label below the plot
    footer_height = 0.2 + 0.18 * len(footer_lines)
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
    prediction_row = pooled_row + 1
    ax.set_ylim(k + 1.3 + extra_rows, -1.6 - header_rows)
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
    for right, header, cells in placed:
        column_text(right, -1, header, ha="right", fontweight="bold")
        for row, cell in enumerate(cells):
            column_text(right, row, cell, ha="right")
    for left, right, name in groups:
        column_text((left + right) / 2, -1.9, name, ha="center", fontweight="bold")
    column_text(effect_x + effect_width, -1, effect_header, ha="right", fontweight="bold")
    column_text(weight_right, -1, "Weight", ha="right", fontweight="bold")

    biggest_weight = max(s.weight for s in result.studies) or 1.0
    for row, (study, effect_text) in enumerate(zip(result.studies, effect_texts, strict=True)):
        ax.hlines(row, study.ci_low, study.ci_high, color="black", linewidth=1)
        # Square area proportional to weight, as in RevMan and metafor.
        size = 4 + 10 * math.sqrt(max(study.weight, 0.0) / biggest_weight)
        ax.plot(
            study.estimate, row, marker="s", markersize=size, color=STUDY_COLOUR, linestyle="none"
        )
        column_text(label_x, row, study.label, ha="left")
        column_text(effect_x + effect_width, row, effect_text, ha="right")
        column_text(weight_right, row, f"{study.weight:.1f}%", ha="right")

    diamond_x = [result.ci_low, result.pooled, result.ci_high, result.pooled]
    diamond_y = [pooled_row, pooled_row - 0.32, pooled_row, pooled_row + 0.32]
    ax.fill(diamond_x, diamond_y, color=POOLED_COLOUR, linewidth=0)
    column_text(label_x, pooled_row, pooled_label, ha="left", fontweight="bold")
    column_text(effect_x + effect_width, pooled_row, pooled_text, ha="right", fontweight="bold")
    column_text(weight_right, pooled_row, "100.0%", ha="right", fontweight="bold")
    if prediction_text:
        ax.errorbar(
            [result.pooled],
            [prediction_row],
            xerr=[[result.pooled - result.pi_low], [result.pi_high - result.pooled]],
            fmt="none",
            ecolor=POOLED_COLOUR,
            elinewidth=1.2,
            capsize=4,
        )
        column_text(label_x, prediction_row, prediction_label, ha="left")
        column_text(effect_x + effect_width, prediction_row, prediction_text, ha="right")

    ends = [result.ci_low, result.ci_high, *(s.ci_low for s in result.studies)]
    ends += [s.ci_high for s in result.studies]
    if prediction_text:
        ends += [result.pi_low, result.pi_high]
    lowest, highest = min(0.0, *ends), max(0.0, *ends)
    span = highest - lowest or 1.0
    ax.set_xlim(lowest - 0.06 * span, highest + 0.06 * span)
    ax.vlines(0, -0.6, pooled_row + 0.5 + extra_rows, color="#7f7f7f", linewidth=0.8)
    if result.is_ratio:
        ticks = _ratio_ticks(lowest, highest)
        ax.set_xticks([math.log(t) for t in ticks], [f"{t:g}" for t in ticks])
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
    axis_label = (
        f"{result.measure_name} (log scale)"
        if result.is_ratio
        else "Hedges' g (standardised mean difference)"
    )
    ax.annotate(
        axis_label,
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
    for line, text in enumerate(footer_lines):
        figure.text(
            MARGIN,
            footer_height - 0.17 - 0.18 * line,
            text,
            transform=inches,
            fontsize=FONT_SIZE - 0.5,
            va="center",
            parse_math=False,
        )
    return figure


def _check_drawable(result: MetaAnalysis) -> None:
    """Results come from ``meta_analyse``, which only returns finite numbers; this guards
    hand-made ones, so that drawing fails with a sentence rather than a matplotlib error."""
    values = [result.pooled, result.ci_low, result.ci_high, result.z, result.q, result.i2]
    for study in result.studies:
        values += [study.estimate, study.ci_low, study.ci_high, study.weight]
    if result.pi_low is not None and result.pi_high is not None:
        values += [result.pi_low, result.pi_high]
    if not result.studies or not all(
        isinstance(v, int | float) and math.isfinite(v) for v in values
    ):
        raise SynthesisError("the analysis has no finite numbers to draw")


def _arm_columns(result: MetaAnalysis) -> list[tuple[int, str, list[str]]]:
    """(group 0 = treatment or 1 = control, header, one cell per study) for the groups'
    figures, when every study carries its arms; none otherwise."""
    kind = BinaryArm if result.is_ratio else Arm
    arms = [(s.treatment, s.control) for s in result.studies]
    if not all(isinstance(a, kind) and isinstance(b, kind) for a, b in arms):
        return []
    columns = []
    for group in (0, 1):
        chosen = [pair[group] for pair in arms]
        if kind is BinaryArm:
            columns += [
                (group, "Events", [_figure(a.events) for a in chosen]),
                (group, "Total", [_figure(a.n) for a in chosen]),
            ]
        else:
            columns += [
                (group, "Mean", [_figure(a.mean) for a in chosen]),
                (group, "SD", [_figure(a.sd) for a in chosen]),
                (group, "n", [_figure(a.n) for a in chosen]),
            ]
    return columns


def _figure(value: object) -> str:
    """A number as the extractor typed it, short: 42.1, 9.3, 1e+200."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return str(value)
    if number.is_integer() and abs(number) < 1e12:
        return str(int(number))
    if 0.001 <= abs(number) < 1e6:
        return f"{number:.3f}".rstrip("0").rstrip(".")
    return f"{number:.3g}"


def _heterogeneity_text(result: MetaAnalysis) -> str:
    test = f"Q = {_number(result.q, 2)}, df = {result.q_df} ({_p_value(result.q_p)})"
    studies = f"k = {result.k}"
    if result.tau2 is None:
        return f"{studies}. Heterogeneity: {test}; I² = {result.i2:.1f}%"
    return (
        f"{studies}. Heterogeneity: τ² = {_number(result.tau2, 3)}; I² = {result.i2:.1f}%; {test}"
    )


def _ratio_ticks(low: float, high: float) -> list[float]:
    """Ratios 1, 2, 5 per decade across ``[low, high]`` (natural logs), thinned to ≤ 9."""
    first, last = math.floor(low / math.log(10)), math.ceil(high / math.log(10))
    for steps in ((1, 2, 5), (1,)):
        ticks = [
            step * 10.0**decade
            for decade in range(first, last + 1)
            for step in steps
            if low <= math.log(step * 10.0**decade) <= high
        ]
        if len(ticks) <= 9:
            break
    if 1.0 not in ticks:
        ticks.append(1.0)
    every = math.ceil(len(ticks) / 9)
    return sorted(t for i, t in enumerate(sorted(ticks)) if i % every == 0 or t == 1.0)


def _drawn_width(text: str, *, size: float, bold: bool = False) -> float:
    """Measured width plus 5%: hinted PNG text comes out up to ~3% wider than its outline."""
    return 1.05 * text_width(text, size=size, bold=bold)


def _number(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.00"


def _shown(result: MetaAnalysis, value: float) -> str:
    if not result.is_ratio:
        return _number(value, 2)
    ratio = result.display(value)
    return f"{ratio:.2f}" if 0.01 <= ratio < 1000 else f"{ratio:.2g}"


def _effect_text(result: MetaAnalysis, value: float, low: float, high: float) -> str:
    return f"{_shown(result, value)} {_interval_text(result, low, high)}"


def _interval_text(result: MetaAnalysis, low: float, high: float) -> str:
    return f"[{_shown(result, low)}, {_shown(result, high)}]"


def _p_value(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
