"""How an effect changes with time and tissue: the seed review's central picture.

One panel per ``panel`` (e.g. "Human" and "Animal"), side by side on one y scale so that the
panels compare; in each, one line per series (e.g. per compartment: serum, nerve, dorsal
root ganglion), x = days since injury or onset, y = the effect with its confidence interval,
and a line at no effect. A series keeps its colour and marker in every panel. Colours are
the Okabe-Ito palette, told apart with any colour vision; markers and line styles differ
too, so the picture also reads in greyscale. The number of studies behind each point is
printed beside it. When the days span more than a factor of 20 the axis is logarithmic,
so that days 1, 3 and 7 do not crowd together beside day 180.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from extraction.figures import PNG_DPI, figure_bytes
from extraction.synthesis.numbers import SynthesisError, count, finite

if TYPE_CHECKING:
    from matplotlib.figure import Figure

OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
LINE_STYLES = ("-", "--", "-.", ":")
DAY_TICKS = (0.25, 0.5, 1, 3, 7, 14, 28, 56, 90, 180, 365, 730, 1825)
MAX_DAYS = 36525  # a century: later than that is a typing error
MAX_EFFECT = 1e6  # no standardised difference or log ratio comes near this
FONT_SIZE = 9.0
PANEL_WIDTH = 3.4  # inches
PANEL_HEIGHT = 2.8


@dataclass(frozen=True, slots=True)
class TimePoint:
    days: float  # since injury (animal models) or onset (patients)
    estimate: float
    ci_low: float | None = None
    ci_high: float | None = None
    k: int = 1  # studies behind the estimate


@dataclass(frozen=True, slots=True)
class TimeSeries:
    label: str  # one line, e.g. the compartment "Sciatic nerve"
    panel: str  # the panel it is drawn in, e.g. "Animal"
    points: tuple[TimePoint, ...]


def time_course_plot(
    series: Sequence[TimeSeries],
    *,
    title: str,
    fmt: Literal["svg", "png"] = "svg",
    y_label: str = "Effect (Hedges' g)",
    x_label: str = "Days since injury or onset",
    reference: float | None = 0.0,
) -> bytes:
    """The time-course picture as SVG (text kept as text) or PNG bytes; see the module
    docstring. ``reference`` is the dashed line of no effect (0 for g or a log ratio);
    ``None`` leaves it out, e.g. when the series are group means rather than effects.
    Raises ``SynthesisError`` when there is nothing finite to draw."""
    figure = time_course_figure(
        series, title=title, y_label=y_label, x_label=x_label, reference=reference
    )
    return figure_bytes(figure, fmt)


def time_course_figure(
    series: Sequence[TimeSeries],
    *,
    title: str,
    y_label: str = "Effect (Hedges' g)",
    x_label: str = "Days since injury or onset",
    reference: float | None = 0.0,
) -> Figure:
    """The picture as a matplotlib ``Figure``, for callers that embed or inspect it."""
    from matplotlib.figure import Figure

    checked = [_checked(one) for one in series]
    checked = [one for one in checked if one.points]
    if not checked:
        raise SynthesisError("there are no time points to draw")
    panels = list(dict.fromkeys(one.panel for one in checked))
    labels = list(dict.fromkeys(one.label for one in checked))
    days = [p.days for one in checked for p in one.points]
    log_axis = min(days) > 0 and max(days) / min(days) > 20
    values = [
        v
        for one in checked
        for p in one.points
        for v in (p.estimate, p.ci_low, p.ci_high)
        if v is not None
    ]
    if reference is not None:
        reference = finite(reference, "the reference line")
        values.append(reference)
    low, high = min(values), max(values)
    margin = 0.08 * ((high - low) or 1.0)
    if not math.isfinite(margin):
        raise SynthesisError("the estimates are too extreme to draw on one axis")

    legend_height = 0.35 + 0.2 * math.ceil(len(labels) / 3)
    width = 0.9 + PANEL_WIDTH * len(panels) + 0.25 * (len(panels) - 1) + 0.2
    height = 0.8 + PANEL_HEIGHT + 0.55 + legend_height
    figure = Figure(figsize=(width, height), dpi=PNG_DPI)
    figure.text(
        0.15 / width,
        1 - 0.28 / height,
        title,
        fontsize=FONT_SIZE + 2,
        fontweight="bold",
        va="center",
        parse_math=False,
    )
    handles = {}
    first_axes = None
    for index, panel in enumerate(panels):
        left = (0.9 + index * (PANEL_WIDTH + 0.25)) / width
        bottom = (legend_height + 0.55) / height
        axes = figure.add_axes(
            (left, bottom, PANEL_WIDTH / width, PANEL_HEIGHT / height), sharey=first_axes
        )
        first_axes = first_axes or axes
        axes.set_title(panel, fontsize=FONT_SIZE + 1, loc="left")
        if reference is not None:
            axes.axhline(reference, color="#7f7f7f", linewidth=0.8, linestyle=(0, (4, 3)), zorder=1)
        in_panel = [one for one in checked if one.panel == panel]
        for position, one in enumerate(in_panel):
            line = _draw_series(
                axes, one, labels.index(one.label), position, len(in_panel), log_axis
            )
            handles.setdefault(one.label, line)
        _style_axes(axes, log_axis, x_label, [p.days for one in in_panel for p in one.points])
        axes.set_ylim(low - margin, high + margin)
        if index == 0:
            axes.set_ylabel(y_label, fontsize=FONT_SIZE)
        else:
            axes.tick_params(labelleft=False)
    legend = figure.legend(
        [handles[label] for label in labels],
        labels,
        loc="lower left",
        bbox_to_anchor=(0.9 / width, 0.1 / height),
        ncols=min(3, len(labels)),
        frameon=False,
        fontsize=FONT_SIZE,
    )
    for text in legend.get_texts():
        text.set_parse_math(False)
    figure.text(
        1 - 0.2 / width,
        0.12 / height,
        "Number beside each point: studies pooled",
        ha="right",
        fontsize=FONT_SIZE - 1.5,
        color="#555555",
    )
    return figure


def _checked(series: TimeSeries) -> TimeSeries:
    points = []
    for point in series.points:
        try:
            days = finite(point.days, "days")
            estimate = finite(point.estimate, "the estimate")
            low = None if point.ci_low is None else finite(point.ci_low, "the CI's lower bound")
            high = None if point.ci_high is None else finite(point.ci_high, "the CI's upper bound")
            k = count(point.k, "k", minimum=1)
        except SynthesisError as error:
            raise SynthesisError(f"{series.label} ({series.panel}): {error}") from None
        if not 0 <= days <= MAX_DAYS:
            raise SynthesisError(
                f"{series.label} ({series.panel}): days must lie between 0 and {MAX_DAYS:g}"
            )
        if any(v is not None and abs(v) > MAX_EFFECT for v in (estimate, low, high)):
            raise SynthesisError(
                f"{series.label} ({series.panel}): an effect beyond ±{MAX_EFFECT:g} is not "
                "plausible"
            )
        points.append(TimePoint(days, estimate, low, high, k))
    points.sort(key=lambda p: p.days)
    return TimeSeries(str(series.label), str(series.panel), tuple(points))


def _draw_series(axes, series: TimeSeries, style: int, position: int, among: int, log_axis: bool):
    colour = OKABE_ITO[style % len(OKABE_ITO)]
    # Series at the same day are nudged apart so that their intervals do not hide each other.
    nudge = (position - (among - 1) / 2) * 0.06
    xs = [p.days * math.exp(nudge) if log_axis else p.days for p in series.points]
    if not log_axis:
        span = max(p.days for p in series.points) - min(p.days for p in series.points)
        xs = [x + nudge * (span or 1.0) * 0.5 for x in xs]
    ys = [p.estimate for p in series.points]
    (line,) = axes.plot(
        xs,
        ys,
        color=colour,
        marker=MARKERS[style % len(MARKERS)],
        linestyle=LINE_STYLES[style % len(LINE_STYLES)],
        linewidth=1.4,
        markersize=5.5,
        zorder=3,
    )
    for x, point in zip(xs, series.points, strict=True):
        if point.ci_low is not None and point.ci_high is not None:
            axes.vlines(x, point.ci_low, point.ci_high, color=colour, linewidth=1, zorder=2)
        axes.annotate(
            str(point.k),
            xy=(x, point.estimate),
            xytext=(5, 3),
            textcoords="offset points",
            ha="left",
            va="bottom",
            fontsize=FONT_SIZE - 2,
            color=colour,
        )
    return line


def _style_axes(axes, log_axis: bool, x_label: str, days: list[float]) -> None:
    from matplotlib.ticker import FixedLocator, NullLocator

    if log_axis:
        axes.set_xscale("log")
        low, high = min(days) / 1.4, max(days) * 1.4
        ticks = [t for t in DAY_TICKS if low <= t <= high]
        axes.set_xlim(low, high)
        axes.xaxis.set_major_locator(FixedLocator(ticks))
        axes.xaxis.set_minor_locator(NullLocator())
        axes.set_xticklabels([f"{t:g}" for t in ticks])
    else:
        low, high = min(days), max(days)
        pad = 0.08 * ((high - low) or 1.0)
        axes.set_xlim(low - pad, high + pad)
    axes.set_xlabel(x_label, fontsize=FONT_SIZE)
    axes.tick_params(labelsize=FONT_SIZE - 0.5)
    for side in ("right", "top"):
        axes.spines[side].set_visible(False)
