"""Meta-analysis of continuous outcomes: published worked examples, edge cases, forest plot.

The worked examples come from Borenstein, Hedges, Higgins & Rothstein (2009), Introduction
to Meta-Analysis (Wiley): the single study of chapter 4 and "Dataset 1" (six studies,
Table 14.1) analysed with random effects in chapters 14 and 18. Each expected value is
also recomputed here with numpy from the formulas, without the module under test.

Hedges' g follows metafor (exact J, variance ``1/n1 + 1/n2 + g²/(2N)``), whose variance is
about 1.5 % larger than the book's ``J² V_d``; the book's pooled analysis is therefore
reproduced from the book's own variances through ``pool_effects``. The comparison with
metafor itself is in ``test_synthesis_metafor.py``.
"""

import re
import subprocess
import sys
import threading
import warnings
from html import unescape
from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from scipy.special import gammaln

from extraction.synthesis import (
    Arm,
    EffectEstimate,
    StudyComparison,
    SynthesisError,
    forest_figure,
    forest_plot,
    hedges_g,
    meta_analyse,
    pool_effects,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Borenstein et al. (2009), Table 14.1: treated mean, SD, n; control mean, SD, n.
DATASET_1 = (
    ("Carroll", 94, 22, 60, 92, 20, 60),
    ("Grant", 98, 21, 65, 92, 22, 65),
    ("Peck", 98, 28, 40, 88, 26, 40),
    ("Donat", 94, 19, 200, 82, 17, 200),
    ("Stewart", 98, 21, 50, 88, 22, 45),
    ("Young", 96, 21, 85, 92, 22, 85),
)


def comparisons(rows=DATASET_1):
    return [
        StudyComparison(label, Arm(n1, m1, sd1), Arm(n2, m2, sd2))
        for label, m1, sd1, n1, m2, sd2, n2 in rows
    ]


def metafor_g_and_variance(m1, sd1, n1, m2, sd2, n2):
    """metafor's escalc("SMD"), written out again for the tests."""
    pooled_sd = np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / (n1 + n2 - 2))
    m = n1 + n2 - 2
    g = np.exp(gammaln(m / 2) - np.log(np.sqrt(m / 2)) - gammaln((m - 1) / 2)) * (m1 - m2)
    g /= pooled_sd
    return g, 1 / n1 + 1 / n2 + g**2 / (2 * (n1 + n2))


def book_g_and_variance(m1, sd1, n1, m2, sd2, n2):
    """Borenstein et al. (2009) ch. 4, written out again for the tests."""
    pooled_sd = np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / (n1 + n2 - 2))
    d = (m1 - m2) / pooled_sd
    variance_d = (n1 + n2) / (n1 * n2) + d**2 / (2 * (n1 + n2))
    j = 1 - 3 / (4 * (n1 + n2) - 9)
    return j * d, j**2 * variance_d


def dersimonian_laird(g, v):
    """The DerSimonian-Laird random-effects model (Borenstein et al. 2009, ch. 12 and 16)."""
    w = 1 / v
    fixed = np.sum(w * g) / np.sum(w)
    q = np.sum(w * (g - fixed) ** 2)
    df = len(g) - 1
    c = np.sum(w) - np.sum(w**2) / np.sum(w)
    tau2 = max(0.0, (q - df) / c)
    w_star = 1 / (v + tau2)
    pooled = np.sum(w_star * g) / np.sum(w_star)
    se = np.sqrt(1 / np.sum(w_star))
    return {
        "fixed": fixed,
        "q": q,
        "tau2": tau2,
        "i2": max(0.0, (q - df) / q) * 100,
        "pooled": pooled,
        "se": se,
        "weights": 100 * w_star / np.sum(w_star),
    }


def svg_texts(svg: bytes) -> list[str]:
    return [unescape(text) for text in re.findall(r"<text[^>]*>([^<]*)</text>", svg.decode())]


# --- Hedges' g ---------------------------------------------------------------------------


def test_hedges_g_reproduces_the_worked_example_of_chapter_4():
    """Borenstein et al. (2009) ch. 4: treated 103 (SD 5.5, n 50), control 100 (SD 4.5,
    n 50) give d = 0.5970, J = 0.9923 and g = 0.5924. The variance is metafor's
    1/50 + 1/50 + g²/200 = 0.0418, where the book prints J² V_d = 0.0411."""
    g, variance = hedges_g(Arm(n=50, mean=103, sd=5.5), Arm(n=50, mean=100, sd=4.5))

    j = 1 - 3 / (4 * 100 - 9)
    assert j == pytest.approx(0.9923, abs=5e-5)
    assert g / j == pytest.approx(0.5970, abs=5e-5)
    assert g == pytest.approx(0.5924, abs=5e-5)
    assert variance == pytest.approx(1 / 50 + 1 / 50 + g**2 / 200, rel=1e-12)
    assert variance == pytest.approx(0.0418, abs=5e-5)
    assert j**2 * (1 / 50 + 1 / 50 + (g / j) ** 2 / 200) == pytest.approx(0.0411, abs=5e-5)


def test_hedges_g_changes_sign_but_not_variance_when_the_groups_swap():
    treatment, control = Arm(n=30, mean=12.0, sd=3.0), Arm(n=25, mean=14.5, sd=3.5)

    g, variance = hedges_g(treatment, control)
    swapped_g, swapped_variance = hedges_g(control, treatment)

    assert g < 0
    assert swapped_g == pytest.approx(-g)
    assert swapped_variance == pytest.approx(variance)


# --- Random effects ----------------------------------------------------------------------


def test_dataset_1_matches_the_published_effect_size_of_each_study():
    """Hedges' g per study as printed to four decimals in the book's worked example (ch. 14,
    Dataset 1); the variances are metafor's, recomputed independently."""
    published = {
        "Carroll": 0.0945,
        "Grant": 0.2774,
        "Peck": 0.3665,
        "Donat": 0.6644,
        "Stewart": 0.4618,
        "Young": 0.1852,
    }
    rows = {row[0]: metafor_g_and_variance(*row[1:]) for row in DATASET_1}

    result = meta_analyse(comparisons(), outcome="Outcome")

    for study in result.studies:
        assert study.g == pytest.approx(published[study.label], abs=5e-5)
        assert study.g == pytest.approx(rows[study.label][0], rel=1e-12)
        assert study.variance == pytest.approx(rows[study.label][1], rel=1e-12)
        assert study.se == pytest.approx(np.sqrt(study.variance))


def test_dataset_1_matches_an_independent_dersimonian_laird_computation():
    rows = [metafor_g_and_variance(*row[1:]) for row in DATASET_1]
    g, v = np.array([r[0] for r in rows]), np.array([r[1] for r in rows])
    expected = dersimonian_laird(g, v)

    result = meta_analyse(comparisons(), outcome="Outcome", method="DL")

    assert result.method == "DerSimonian-Laird"
    assert result.pooled == pytest.approx(expected["pooled"], rel=1e-9)
    assert result.se == pytest.approx(expected["se"], rel=1e-9)
    assert result.tau2 == pytest.approx(expected["tau2"], rel=1e-9)
    assert result.q == pytest.approx(expected["q"], rel=1e-9)
    assert result.i2 == pytest.approx(expected["i2"], rel=1e-9)
    assert [s.weight for s in result.studies] == pytest.approx(list(expected["weights"]))
    assert result.ci_low == pytest.approx(expected["pooled"] - 1.959964 * expected["se"])
    assert result.ci_high == pytest.approx(expected["pooled"] + 1.959964 * expected["se"])


def test_dataset_1_matches_the_published_random_effects_analysis():
    """Borenstein et al. (2009), chapters 14, 16 and 18, Dataset 1 to the printed decimals:
    fixed-effect M = 0.4143, Q = 12.0033 on 5 df (p = 0.0347), T² = 0.0373, I² = 58.34%,
    random-effects M* = 0.3582 (95% CI 0.1520 to 0.5645), Z = 3.4038, p = 0.0007.

    The book's variances are given to ``pool_effects``; from the groups, metafor's variance
    of g gives 0.4150, 0.3585 and T² = 0.0372 instead (checked against metafor elsewhere)."""
    rows = [book_g_and_variance(*row[1:]) for row in DATASET_1]
    fixed = dersimonian_laird(np.array([r[0] for r in rows]), np.array([r[1] for r in rows]))
    estimates = [EffectEstimate(row[0], g, v) for row, (g, v) in zip(DATASET_1, rows, strict=True)]

    result = pool_effects(estimates, outcome="Outcome", method="DL")

    assert fixed["fixed"] == pytest.approx(0.4143, abs=5e-5)
    assert result.q == pytest.approx(12.0033, abs=5e-5)
    assert result.q_df == 5
    assert result.q_p == pytest.approx(0.0347, abs=5e-5)
    assert result.tau2 == pytest.approx(0.0373, abs=5e-5)
    assert result.i2 == pytest.approx(58.34, abs=5e-3)
    assert result.pooled == pytest.approx(0.3582, abs=5e-5)
    assert result.ci_low == pytest.approx(0.1520, abs=5e-5)
    assert result.ci_high == pytest.approx(0.5645, abs=5e-5)
    assert result.z == pytest.approx(3.4038, abs=5e-5)
    assert result.p == pytest.approx(0.0007, abs=5e-5)


def test_study_weights_are_percentages_that_sum_to_one_hundred():
    result = meta_analyse(comparisons(), outcome="Outcome")

    assert sum(s.weight for s in result.studies) == pytest.approx(100)
    assert all(s.ci_low < s.g < s.ci_high for s in result.studies)


def test_paule_mandel_solves_its_estimating_equation_and_says_so():
    """Paule and Mandel (1982): tau² makes the weighted squares about the mean equal k - 1."""
    result = meta_analyse(comparisons(), outcome="Outcome", method="PM")

    g = np.array([s.g for s in result.studies])
    w = 1 / (np.array([s.variance for s in result.studies]) + result.tau2)
    mean = np.sum(w * g) / np.sum(w)
    assert result.method == "Paule-Mandel"
    assert result.tau2 > 0
    assert np.sum(w * (g - mean) ** 2) == pytest.approx(5, abs=1e-3)
    assert result.pooled == pytest.approx(mean, rel=1e-9)


def test_reml_is_the_default_estimator_and_says_so():
    result = meta_analyse(comparisons(), outcome="Outcome")

    assert result.method == "REML"
    assert result.model == "Random effects, REML estimator of τ²"


def test_an_unknown_estimator_is_refused_with_the_ones_on_offer():
    with pytest.raises(SynthesisError, match='"REML".*"DL".*"PM".*"HS" given'):
        meta_analyse(comparisons(), outcome="Outcome", method="HS")


def test_consistent_studies_have_no_between_study_variance_and_equal_the_fixed_effect():
    """When Q is below its degrees of freedom the DerSimonian-Laird estimate is truncated at
    zero; statsmodels leaves it negative, which must not leak into the weights."""
    rows = (
        ("A 2001", 10.2, 2.0, 40, 9.0, 2.1, 40),
        ("B 2005", 10.0, 2.2, 60, 9.0, 2.0, 60),
        ("C 2011", 10.4, 1.9, 35, 9.1, 2.0, 36),
    )
    g, v = zip(*(metafor_g_and_variance(*row[1:]) for row in rows), strict=True)
    expected = dersimonian_laird(np.array(g), np.array(v))

    result = meta_analyse(comparisons(rows), outcome="Outcome", method="DL")

    assert result.q < result.q_df
    assert result.tau2 == 0
    assert result.i2 == 0
    assert result.pooled == pytest.approx(expected["fixed"], rel=1e-9)
    assert sum(s.weight for s in result.studies) == pytest.approx(100)


def test_identical_studies_pool_without_warnings():
    rows = (("A", 5.0, 1.0, 20, 4.0, 1.0, 20), ("B", 5.0, 1.0, 20, 4.0, 1.0, 20))

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = meta_analyse(comparisons(rows), outcome="Outcome")

    assert result.q == pytest.approx(0, abs=1e-12)
    assert result.i2 == 0
    assert result.tau2 == 0


def test_a_wider_confidence_level_gives_a_wider_interval():
    at_95 = meta_analyse(comparisons(), outcome="Outcome")
    at_99 = meta_analyse(comparisons(), outcome="Outcome", level=0.99)

    assert at_99.ci_low < at_95.ci_low and at_95.ci_high < at_99.ci_high
    assert at_99.pooled == pytest.approx(at_95.pooled)


# --- Errors ------------------------------------------------------------------------------


def test_a_single_study_cannot_be_pooled():
    with pytest.raises(SynthesisError) as error:
        meta_analyse(comparisons(DATASET_1[:1]), outcome="Outcome")

    assert str(error.value) == (
        "needs at least two studies with n, mean and SD in both groups; 1 given"
    )


def test_a_zero_sd_names_the_study():
    studies = comparisons()
    studies[1] = StudyComparison("Smith 2020", Arm(30, 5.0, 1.2), Arm(30, 4.0, 0.0))

    with pytest.raises(SynthesisError, match=r"^Smith 2020: SD must be positive"):
        meta_analyse(studies, outcome="Outcome")


@pytest.mark.parametrize(
    ("arm", "message"),
    [
        (Arm(1, 5.0, 1.0), "n must be a whole number of at least 2"),
        (Arm(20, float("nan"), 1.0), "mean must be a number"),
        (Arm(20, 5.0, float("inf")), "SD must be positive"),
        (Arm(20, 5.0, -1.0), "SD must be positive"),
    ],
)
def test_unusable_group_data_is_refused_with_the_study_label(arm, message):
    studies = [*comparisons(), StudyComparison("Lee 2018", Arm(20, 6.0, 1.0), arm)]

    with pytest.raises(SynthesisError, match=rf"^Lee 2018: {message} \(control group"):
        meta_analyse(studies, outcome="Outcome")


def test_a_confidence_level_outside_zero_and_one_is_refused():
    with pytest.raises(SynthesisError, match="between 0 and 1"):
        meta_analyse(comparisons(), outcome="Outcome", level=95)


# --- Forest plot -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def result():
    return meta_analyse(comparisons(), outcome="Pain intensity at 3 months", method="DL")


def test_the_svg_forest_plot_shows_every_study_and_the_pooled_figures_as_text(result):
    texts = svg_texts(forest_plot(result, fmt="svg", treatment="PRP"))

    for study in result.studies:
        assert study.label in texts
        assert f"{study.weight:.1f}%" in texts
    assert "Pain intensity at 3 months" in texts
    assert "Random effects (DerSimonian-Laird)" in texts
    assert "0.36 [0.15, 0.57]" in texts
    assert "0.66 [0.46, 0.87]" in texts  # Donat
    assert "95% prediction interval" in texts
    assert "[-0.07, 0.79]" in texts
    assert "k = 6. Heterogeneity: τ² = 0.037; I² = 58.0%; Q = 11.91, df = 5 (p = 0.036)" in texts
    assert (
        "Test for overall effect: z = 3.40 (p < 0.001). "
        "Random effects, DerSimonian-Laird estimator of τ²."
    ) in texts
    assert {"Favours control", "Favours PRP"} <= set(texts)


def test_the_png_forest_plot_is_a_png(result):
    assert forest_plot(result, fmt="png").startswith(PNG_SIGNATURE)


def test_an_unknown_image_format_is_refused(result):
    with pytest.raises(ValueError, match='"svg" or "png"'):
        forest_plot(result, fmt="pdf")


def favours_left_to_right(result, **labels):
    figure = forest_figure(result, **labels)
    renderer = FigureCanvasAgg(figure).get_renderer()
    favours = [t for t in figure.axes[0].texts if t.get_text().startswith("Favours")]
    favours.sort(key=lambda text: text.get_window_extent(renderer).x0)
    return [text.get_text() for text in favours]


def test_the_treatment_is_favoured_on_the_right_when_higher_scores_are_better(result):
    assert favours_left_to_right(result, treatment="PRP") == ["Favours control", "Favours PRP"]


def test_the_treatment_is_favoured_on_the_left_when_lower_scores_are_better():
    pain = meta_analyse(comparisons(), outcome="Pain", higher_is_better=False)

    assert favours_left_to_right(pain, treatment="PRP") == ["Favours PRP", "Favours control"]


LONG_LABELS = tuple(
    (f"Study with a rather long label number {i}", *row[1:]) for i, row in enumerate(DATASET_1 * 3)
)
LONG_OUTCOME = (
    "Pain intensity on a 0 to 10 numerical rating scale at the longest follow-up that each "
    "trial reported, where lower scores mean less pain"
)


@pytest.mark.parametrize(
    ("rows", "outcome"),
    [(LONG_LABELS, "Function"), (DATASET_1, LONG_OUTCOME)],
    ids=["many long study labels", "a long outcome name"],
)
def test_every_text_of_the_forest_plot_stays_inside_the_figure(rows, outcome):
    result = meta_analyse(comparisons(rows), outcome=outcome, method="PM")
    figure = forest_figure(result)
    renderer = FigureCanvasAgg(figure).get_renderer()
    width, height = figure.bbox.width, figure.bbox.height

    texts = [*figure.texts, *figure.axes[0].texts, *figure.axes[0].get_xticklabels()]
    for text in texts:
        if text.get_text():
            box = text.get_window_extent(renderer)
            assert box.x0 >= 0 and box.x1 <= width, text
            assert box.y0 >= 0 and box.y1 <= height, text


def test_labels_are_printed_literally_even_with_dollar_signs_and_ampersands():
    rows = [("O'Neil & Park $2019$", *DATASET_1[0][1:]), DATASET_1[1]]
    result = meta_analyse(comparisons(rows), outcome="Cost in $ & time")

    texts = svg_texts(forest_plot(result))

    assert "O'Neil & Park $2019$" in texts
    assert "Cost in $ & time" in texts


def test_the_same_analysis_gives_the_same_svg_bytes(result):
    assert forest_plot(result) == forest_plot(result)


def test_forest_plots_drawn_in_parallel_threads_all_keep_their_text(result):
    outputs: list[bytes] = []

    def draw() -> None:
        outputs.append(forest_plot(result))

    threads = [threading.Thread(target=draw) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(outputs) == 6
    assert all("0.36 [0.15, 0.57]" in svg_texts(svg) for svg in outputs)


def test_the_forest_plot_shows_the_groups_each_study_compared(result):
    """A reader sees which groups went in: each arm's mean, SD and n under its name."""
    texts = svg_texts(forest_plot(result, treatment="PRP", control="CCI + saline"))

    assert {"PRP", "CCI + saline", "Mean", "SD", "n"} <= set(texts)
    assert texts.count("Mean") == 2
    first_row = sorted(
        (t.get_position()[0], t.get_text())
        for t in forest_figure(result).axes[0].texts
        if t.get_position()[1] == 0
    )
    assert [text for _, text in first_row][:7] == ["Carroll", "94", "22", "60", "92", "20", "60"]


def test_effects_pooled_without_their_groups_are_drawn_without_group_columns():
    estimates = [EffectEstimate("A", 0.2, 0.04), EffectEstimate("B", 0.5, 0.05)]

    texts = svg_texts(forest_plot(pool_effects(estimates, outcome="x")))

    assert "Mean" not in texts and "treatment" not in texts


def test_the_synthesis_package_runs_without_django():
    """Pure code: importing every public name loads no part of Django."""
    code = (
        "import sys, extraction.synthesis; "
        "print(sorted(m for m in sys.modules if m.startswith('django')))"
    )
    run = subprocess.run(  # noqa: S603 - the test's own interpreter
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )

    assert run.stdout.strip() == "[]"
