"""Dichotomous outcomes: risk and odds ratios, zero cells said out loud, the ratio forest plot.

Expected values are written out here from the textbook formulas (Greenland & Robins 1985;
Robins, Breslow & Greenland 1986); the comparison with metafor is in
``test_synthesis_metafor.py``.
"""

import math
import re
from html import unescape

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from extraction.synthesis import (
    BinaryArm,
    BinaryComparison,
    SynthesisError,
    forest_figure,
    forest_plot,
    log_ratio,
    meta_analyse_binary,
)

# Adverse events, PRP then control: events, n.
TABLES = (("Trial A", 2, 30, 5, 31), ("Trial B", 4, 40, 6, 38), ("Trial C", 7, 52, 9, 50))


def comparisons(rows=TABLES):
    return [
        BinaryComparison(label, BinaryArm(a, n1), BinaryArm(c, n2)) for label, a, n1, c, n2 in rows
    ]


def cells(rows=TABLES):
    a, n1, c, n2 = (np.array([row[i] for row in rows], dtype=float) for i in range(1, 5))
    return a, n1 - a, c, n2 - c


def svg_texts(svg: bytes) -> list[str]:
    return [unescape(text) for text in re.findall(r"<text[^>]*>([^<]*)</text>", svg.decode())]


def test_mantel_haenszel_risk_ratio_and_its_greenland_robins_variance():
    a, b, c, d = cells()
    n1, n2, n = a + b, c + d, a + b + c + d
    r, s = np.sum(a * n2 / n), np.sum(c * n1 / n)
    variance = np.sum(n1 * n2 * (a + c) / n**2 - a * c / n) / (r * s)

    result = meta_analyse_binary(comparisons(), outcome="Adverse events", measure="RR")

    assert result.method == "Mantel-Haenszel"
    assert result.model == "Fixed effect, Mantel-Haenszel method"
    assert result.pooled_ratio == pytest.approx(r / s, rel=1e-12)
    assert result.se == pytest.approx(math.sqrt(variance), rel=1e-12)
    assert result.ci_low_ratio == pytest.approx(math.exp(math.log(r / s) - 1.959964 * result.se))
    assert result.tau2 is None and result.pi_low is None


def test_mantel_haenszel_odds_ratio_and_its_robins_breslow_greenland_variance():
    a, b, c, d = cells()
    n = a + b + c + d
    r, s = a * d / n, b * c / n
    p, q = (a + d) / n, (b + c) / n
    variance = (
        np.sum(p * r) / (2 * r.sum() ** 2)
        + np.sum(p * s + q * r) / (2 * r.sum() * s.sum())
        + np.sum(q * s) / (2 * s.sum() ** 2)
    )

    result = meta_analyse_binary(comparisons(), outcome="Adverse events", measure="OR")

    assert result.display(result.pooled) == pytest.approx(r.sum() / s.sum(), rel=1e-12)
    assert result.se**2 == pytest.approx(variance, rel=1e-12)
    assert [s.weight for s in result.studies] == pytest.approx(list(100 * s / s.sum()))


def test_per_study_log_ratios_and_variances_follow_the_textbook():
    value, variance, corrected = log_ratio(BinaryArm(2, 30), BinaryArm(5, 31), measure="RR")

    assert value == pytest.approx(math.log((2 / 30) / (5 / 31)))
    assert variance == pytest.approx(1 / 2 - 1 / 30 + 1 / 5 - 1 / 31)
    assert not corrected


def test_a_zero_cell_gets_half_added_to_every_cell_of_that_study_only():
    value, variance, corrected = log_ratio(BinaryArm(0, 25), BinaryArm(3, 24), measure="OR")

    assert corrected
    assert value == pytest.approx(math.log(0.5 * 21.5 / (25.5 * 3.5)))
    assert variance == pytest.approx(1 / 0.5 + 1 / 25.5 + 1 / 3.5 + 1 / 21.5)


def test_zero_cell_handling_is_stated_in_the_notes():
    rows = (*TABLES, ("Trial D", 0, 25, 3, 24), ("Trial E", 0, 15, 0, 15))

    result = meta_analyse_binary(comparisons(rows), outcome="Adverse events", pooling="IV")

    assert [s.label for s in result.studies] == ["Trial A", "Trial B", "Trial C", "Trial D"]
    assert result.notes == (
        "Not pooled: Trial E (no events in either group, or events in every participant of "
        "both groups, so the study says nothing about the ratio).",
        "0.5 added to every cell of Trial D (a zero cell) for its log ratio and variance.",
    )
    assert result.model == "Random effects (inverse variance), REML estimator of τ²"


def test_a_study_where_everyone_had_the_event_is_dropped_too():
    rows = (*TABLES, ("Trial F", 20, 20, 18, 18))

    result = meta_analyse_binary(comparisons(rows), outcome="x", measure="OR")

    assert result.k == 3
    assert "Trial F" in result.notes[0]


def test_a_zero_cell_without_continuity_correction_is_refused_for_inverse_variance():
    rows = (*TABLES, ("Trial D", 0, 25, 3, 24))

    with pytest.raises(SynthesisError, match="continuity correction"):
        meta_analyse_binary(comparisons(rows), outcome="x", pooling="IV", continuity=0)


def test_ratio_estimates_are_logs_and_display_turns_them_into_ratios():
    result = meta_analyse_binary(comparisons(), outcome="x", measure="RR", pooling="IV")

    assert result.is_ratio and result.measure == "RR" and result.measure_name == "Risk ratio"
    assert result.display(math.log(2)) == pytest.approx(2)
    assert result.display(None) is None
    assert result.display(1e6) == math.inf
    assert result.pi_low_ratio == pytest.approx(math.exp(result.pi_low))


# --- Forest plot ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def risk_ratios():
    return meta_analyse_binary(comparisons(), outcome="Adverse events", measure="RR")


def test_the_ratio_forest_plot_labels_its_log_axis_in_ratios_with_1_as_no_effect(risk_ratios):
    figure = forest_figure(risk_ratios)
    axes = figure.axes[0]
    ticks = {
        label.get_text(): tick
        for label, tick in zip(axes.get_xticklabels(), axes.get_xticks(), strict=True)
    }

    assert ticks["1"] == 0
    assert ticks["2"] == pytest.approx(math.log(2))
    texts = svg_texts(forest_plot(risk_ratios, treatment="PRP"))
    assert "Risk ratio (log scale)" in texts
    assert "Risk ratio [95% CI]" in texts
    assert "Fixed effect (Mantel-Haenszel)" in texts
    a = risk_ratios.studies[0]
    assert f"{math.exp(a.estimate):.2f} [{math.exp(a.ci_low):.2f}, {math.exp(a.ci_high):.2f}]" in (
        texts
    )
    assert any(t.startswith("k = 3. Heterogeneity: Q = ") for t in texts)
    assert not any("τ²" in t for t in texts)  # a fixed-effect model has none


def test_fewer_events_favour_the_treatment_on_the_left_by_default(risk_ratios):
    figure = forest_figure(risk_ratios, treatment="PRP")
    renderer = FigureCanvasAgg(figure).get_renderer()
    favours = [t for t in figure.axes[0].texts if t.get_text().startswith("Favours")]
    favours.sort(key=lambda text: text.get_window_extent(renderer).x0)

    assert [t.get_text() for t in favours] == ["Favours PRP", "Favours control"]


def test_the_random_effects_ratio_plot_shows_the_prediction_interval_as_ratios():
    result = meta_analyse_binary(comparisons(), outcome="x", measure="OR", pooling="IV")

    texts = svg_texts(forest_plot(result))

    assert "95% prediction interval" in texts
    assert f"[{math.exp(result.pi_low):.2f}, {math.exp(result.pi_high):.2f}]" in texts
    assert any("τ² = " in t for t in texts)


def test_the_ratio_forest_plot_shows_events_and_totals_per_group(risk_ratios):
    texts = svg_texts(forest_plot(risk_ratios, treatment="PRP", control="Saline"))

    assert {"PRP", "Saline", "Events", "Total"} <= set(texts)
    second_row = sorted(
        (t.get_position()[0], t.get_text())
        for t in forest_figure(risk_ratios).axes[0].texts
        if t.get_position()[1] == 1
    )
    assert [text for _, text in second_row][:5] == ["Trial B", "4", "40", "6", "38"]


def test_an_unknown_estimator_is_refused_even_for_mantel_haenszel():
    with pytest.raises(SynthesisError, match='"REML".*"XX" given'):
        meta_analyse_binary(comparisons(), outcome="x", pooling="MH", method="XX")
