"""Converting reported summaries to mean and SD, classifying PRP, scoring MIBO reporting."""

from __future__ import annotations

import math

import pytest

from extraction.conversions import (
    MIBO_PRP_ITEMS,
    ConversionError,
    classify_prp,
    estimate,
    from_median_iqr,
    from_median_iqr_range,
    from_median_range,
    mibo_completeness,
    sd_from_ci,
    sd_from_se,
)

# Hand-computed Wan et al. 2014 divisors for n = 40:
# IQR:   2 x Phi^-1((0.75 x 40 - 0.125) / 40.25) = 2 x Phi^-1(0.742236) = 2 x 0.650254 = 1.300509
# range: 2 x Phi^-1((40 - 0.375) / 40.25)        = 2 x Phi^-1(0.984472) = 2 x 2.156356 = 4.312711
IQR_DIVISOR_40 = 1.300509
RANGE_DIVISOR_40 = 4.312711


# Standard error and confidence interval (Cochrane Handbook 6.5.2.2) -------------------------


def test_sd_from_se_multiplies_by_the_square_root_of_n():
    result = sd_from_se(2.0, 25)

    assert result.sd == pytest.approx(10.0)  # 2.0 x sqrt(25)
    assert result.mean is None
    assert result.method == "SD from SE (SD = SE x sqrt(n))"
    assert "Cochrane Handbook 6.5.2.2" in result.citation


def test_sd_from_ci_with_25_participants_uses_the_handbook_divisor_4_128():
    # Handbook: t(0.975, 24 df) = 2.0639, so the divisor is 4.128 instead of 3.92.
    result = sd_from_ci(10.0, 14.128, 25)

    assert result.sd == pytest.approx(5.0, abs=0.001)  # sqrt(25) x 4.128 / 4.128
    assert result.mean == pytest.approx(12.064)  # midpoint
    assert "4.128" in result.method
    assert "24 df" in result.method


def test_sd_from_ci_with_100_participants_uses_3_92():
    result = sd_from_ci(10.0, 13.92, 100)

    assert result.sd == pytest.approx(10.0, abs=0.001)  # sqrt(100) x 3.92 / 3.92
    assert "3.920" in result.method
    assert "normal" in result.method


@pytest.mark.parametrize(("level", "divisor"), [(0.90, 3.29), (0.99, 5.15)])
def test_sd_from_ci_at_other_levels_uses_the_handbook_divisors(level, divisor):
    result = sd_from_ci(0.0, divisor, 100, level=level)

    assert result.sd == pytest.approx(10.0, abs=0.01)


def test_sd_from_ci_switches_from_t_to_normal_at_60_participants():
    assert "58 df" in sd_from_ci(0, 1, 59).method  # t(0.975, 58) = 2.0017, divisor 4.003
    assert sd_from_ci(0, 4.003, 59).sd == pytest.approx(math.sqrt(59), abs=0.001)
    assert "normal" in sd_from_ci(0, 1, 60).method


@pytest.mark.parametrize(
    ("n", "level", "divisor"),
    [
        (2, 0.95, 25.412),  # 2 x t(0.975, 1) = 2 x 12.706
        (3, 0.95, 8.605),  # 2 x 4.303
        (10, 0.95, 4.524),  # 2 x 2.262
        (25, 0.90, 3.422),  # 2 x 1.711
        (25, 0.99, 5.594),  # 2 x 2.797
    ],
)
def test_sd_from_ci_divisor_matches_printed_t_tables(n, level, divisor):
    result = sd_from_ci(0.0, divisor, n, level=level)

    assert result.sd == pytest.approx(math.sqrt(n), rel=2e-4)


def test_sd_from_ci_keeps_a_reported_mean_over_the_midpoint():
    assert sd_from_ci(1.0, 3.0, 100, mean=1.5).mean == 1.5


def test_sd_from_ci_rejects_a_mean_outside_its_interval():
    with pytest.raises(ConversionError, match=r"mean \(5\) lies outside .* \(1 to 3\)"):
        sd_from_ci(1.0, 3.0, 100, mean=5.0)


def test_sd_from_ci_rejects_limits_in_the_wrong_order():
    with pytest.raises(ConversionError, match=r"lower confidence limit \(3\) is above"):
        sd_from_ci(3.0, 1.0, 30)


def test_sd_from_ci_rejects_a_level_given_as_a_percentage():
    with pytest.raises(ConversionError, match="0.95 for 95%"):
        sd_from_ci(1.0, 3.0, 30, level=95)


def test_sd_from_ci_needs_at_least_two_participants():
    with pytest.raises(ConversionError, match="at least 2"):
        sd_from_ci(1.0, 3.0, 1)


# Median with quartiles or range (Luo et al. 2018 mean, Wan et al. 2014 SD) -------------------


def test_from_median_iqr_uses_luo_weights_for_the_mean_and_wan_divisor_for_the_sd():
    result = from_median_iqr(10.0, 8.0, 14.0, 40)

    # Mean: (0.7 + 0.39/40) x (8 + 14)/2 + (0.3 - 0.39/40) x 10 = 0.70975 x 11 + 0.29025 x 10
    assert result.mean == pytest.approx(10.70975)
    # SD: (14 - 8) / 1.300509 = 4.61358
    assert result.sd == pytest.approx(6.0 / IQR_DIVISOR_40, rel=1e-5)
    assert result.sd == pytest.approx(4.61358, rel=1e-5)
    assert "Luo" in result.method and "Wan" in result.method
    assert "Luo et al. 2018" in result.citation and "Wan et al. 2014" in result.citation


def test_from_median_iqr_divisor_approaches_the_handbook_1_35_in_large_samples():
    result = from_median_iqr(0.0, -1.0, 1.0, 1_000_000)

    assert 2.0 / result.sd == pytest.approx(1.349, abs=0.001)


def test_from_median_range_uses_luo_weights_for_the_mean_and_wan_divisor_for_the_sd():
    result = from_median_range(10.0, 2.0, 30.0, 40)

    # 40^0.75 = 15.905415; w = 4 / 19.905415 = 0.200950
    # Mean: 0.200950 x (2 + 30)/2 + 0.799050 x 10 = 3.215201 + 7.990501 = 11.205702
    assert result.mean == pytest.approx(11.205702, rel=1e-6)
    # SD: (30 - 2) / 4.312711 = 6.492435
    assert result.sd == pytest.approx(6.492435, rel=1e-5)


def test_from_median_iqr_range_combines_all_five_figures():
    result = from_median_iqr_range(10.0, 8.0, 14.0, 2.0, 30.0, 40)

    # w1 = 2.2 / (2.2 + 15.905415) = 0.121511; w2 = 0.7 - 0.72 / 40^0.55 = 0.7 - 0.094669
    # Mean: 0.121511 x 16 + 0.605333 x 11 + 0.273157 x 10 = 11.334396
    assert result.mean == pytest.approx(11.334396, rel=1e-6)
    # SD: (28 / 4.312711 + 6 / 1.300509) / 2 = (6.492435 + 4.613579) / 2 = 5.553007
    assert result.sd == pytest.approx(5.553007, rel=1e-5)


def test_a_symmetric_summary_gives_the_median_as_the_mean():
    assert from_median_iqr(5.0, 3.0, 7.0, 20).mean == pytest.approx(5.0)
    assert from_median_range(5.0, 1.0, 9.0, 20).mean == pytest.approx(5.0)
    assert from_median_iqr_range(5.0, 3.0, 7.0, 1.0, 9.0, 20).mean == pytest.approx(5.0)


def test_quartiles_out_of_order_are_rejected_with_both_figures_named():
    with pytest.raises(ConversionError, match=r"first quartile \(12\) is above the median \(10\)"):
        from_median_iqr(10.0, 12.0, 14.0, 40)


def test_a_maximum_below_the_third_quartile_is_rejected():
    with pytest.raises(ConversionError, match=r"third quartile \(14\) is above the maximum \(13\)"):
        from_median_iqr_range(10.0, 8.0, 14.0, 2.0, 13.0, 40)


def test_a_median_outside_the_range_is_rejected():
    with pytest.raises(ConversionError, match=r"minimum \(11\) is above the median \(10\)"):
        from_median_range(10.0, 11.0, 30.0, 40)


def test_median_routes_need_at_least_two_participants():
    with pytest.raises(ConversionError, match="n must be at least 2"):
        from_median_range(10.0, 2.0, 30.0, 1)


# Validation shared by every route -----------------------------------------------------------


def test_n_of_zero_is_rejected_in_plain_words():
    with pytest.raises(ConversionError, match="^n must be a positive whole number, got 0$"):
        sd_from_se(1.0, 0)


@pytest.mark.parametrize("n", [-3, 2.5, "25", True])
def test_n_that_is_not_a_positive_whole_number_is_rejected(n):
    with pytest.raises(ConversionError, match="n must be a positive whole number"):
        sd_from_se(1.0, n)


def test_a_negative_standard_error_is_rejected():
    with pytest.raises(ConversionError, match="SE cannot be negative, got -1"):
        sd_from_se(-1.0, 10)


def test_a_standard_error_of_nan_is_rejected():
    with pytest.raises(ConversionError, match="finite number"):
        sd_from_se(float("nan"), 10)


# Choosing the route ---------------------------------------------------------------------------


def test_estimate_prefers_a_reported_sd_over_everything_else():
    result = estimate(n=20, mean=4.0, sd=1.5, se=9.0, median=3.0, q1=1.0, q3=5.0)

    assert (result.mean, result.sd, result.method) == (4.0, 1.5, "reported")


def test_estimate_uses_the_standard_error_before_a_confidence_interval():
    result = estimate(n=25, mean=4.0, se=2.0, ci_lower=0.0, ci_upper=8.0)

    assert (result.mean, result.sd) == (4.0, pytest.approx(10.0))
    assert result.method.startswith("SD from SE")


def test_estimate_uses_the_confidence_interval_before_the_median():
    result = estimate(n=25, ci_lower=10.0, ci_upper=14.128, median=11.0, q1=9.0, q3=13.0)

    assert result.sd == pytest.approx(5.0, abs=0.001)
    assert result.mean == pytest.approx(12.064)


def test_estimate_prefers_the_five_number_summary_over_iqr_or_range_alone():
    result = estimate(n=40, median=10.0, q1=8.0, q3=14.0, minimum=2.0, maximum=30.0)

    assert result.sd == pytest.approx(5.553007, rel=1e-5)
    assert "IQR and range" in result.method


def test_estimate_falls_back_to_iqr_then_to_range():
    assert estimate(n=40, median=10.0, q1=8.0, q3=14.0).sd == pytest.approx(4.61358, rel=1e-5)
    assert estimate(n=40, median=10.0, minimum=2.0, maximum=30.0).sd == pytest.approx(
        6.492435, rel=1e-5
    )


def test_estimate_keeps_a_reported_mean_beside_a_median_based_sd():
    result = estimate(n=40, mean=11.0, median=10.0, q1=8.0, q3=14.0)

    assert result.mean == 11.0
    assert result.sd == pytest.approx(4.61358, rel=1e-5)
    assert result.method == "reported mean; SD from median and IQR (Wan SD)"
    assert "Luo" not in result.citation


def test_estimate_returns_none_when_nothing_usable_is_reported():
    assert estimate() is None
    assert estimate(mean=3.0) is None
    assert estimate(se=1.0) is None  # no n
    assert estimate(n=20, median=3.0) is None  # no spread
    assert estimate(n=20, ci_lower=1.0) is None  # half an interval


def test_estimate_reports_an_impossible_figure_instead_of_skipping_it():
    with pytest.raises(ConversionError, match="first quartile"):
        estimate(n=40, median=10.0, q1=12.0, q3=14.0)


# PRP classification (DeLong et al. 2012 PAW; Dohan Ehrenfest et al. 2009) ------------------


def test_a_fully_counted_leukocyte_poor_activated_prp_gets_a_full_paw_code():
    result = classify_prp(
        platelets_per_ul=900_000,
        baseline_platelets_per_ul=220_000,
        wbc_per_ul=300,
        baseline_wbc_per_ul=6_000,
        neutrophils_per_ul=20,
        baseline_neutrophils_per_ul=3_500,
        activation="calcium",
    )

    assert result.paw == "P3-x-Bβ"
    assert result.leukocytes == "leukocyte-poor"
    assert result.dohan_family == "P-PRP"
    assert result.notes == ()


def test_an_unactivated_leukocyte_rich_prp_has_no_activation_letter():
    result = classify_prp(
        platelets_per_ul=1_400_000,
        baseline_platelets_per_ul=250_000,
        wbc_per_ul=25_000,
        baseline_wbc_per_ul=7_000,
        neutrophils_per_ul=15_000,
        baseline_neutrophils_per_ul=4_000,
        activation="none",
    )

    assert result.paw == "P4-Aα"
    assert result.dohan_family == "L-PRP"


@pytest.mark.parametrize(
    ("platelets", "grade"),
    [
        (200_000, "P1"),  # equal to whole blood
        (200_001, "P2"),
        (750_000, "P2"),
        (750_001, "P3"),
        (1_250_000, "P3"),
        (1_250_001, "P4"),
    ],
)
def test_platelet_grades_follow_the_paw_thresholds(platelets, grade):
    result = classify_prp(
        platelets_per_ul=platelets,
        baseline_platelets_per_ul=200_000,
        wbc_per_ul=100,
        baseline_wbc_per_ul=5_000,
        activation="thrombin",
    )

    assert result.paw == f"{grade}-x-B"


def test_without_neutrophil_counts_the_white_cell_letter_stands_alone_and_is_noted():
    result = classify_prp(
        platelets_per_ul=600_000,
        baseline_platelets_per_ul=200_000,
        wbc_per_ul=9_000,
        baseline_wbc_per_ul=6_000,
        activation="other",
    )

    assert result.paw == "P2-x-A"
    assert any("neutrophil" in note for note in result.notes)


def test_p3_and_p4_need_no_baseline_but_p2_does():
    counted = {"wbc_per_ul": 100, "baseline_wbc_per_ul": 5_000, "activation": "none"}

    assert classify_prp(platelets_per_ul=1_000_000, **counted).paw == "P3-B"
    low = classify_prp(platelets_per_ul=500_000, **counted)
    assert low.paw is None
    assert "whole-blood platelet count needed to tell P1 from P2" in low.notes


def test_a_fold_increase_with_a_baseline_gives_the_platelet_count():
    result = classify_prp(
        fold_over_baseline=5.0,
        baseline_platelets_per_ul=200_000,
        wbc_per_ul=100,
        baseline_wbc_per_ul=5_000,
        activation="none",
    )

    assert result.paw == "P3-B"  # 5 x 200,000 = 1,000,000


def test_a_fold_increase_alone_only_tells_p1():
    unchanged = classify_prp(
        fold_over_baseline=0.9, wbc_per_ul=100, baseline_wbc_per_ul=5_000, activation="none"
    )
    concentrated = classify_prp(fold_over_baseline=4.0, activation="none")

    assert unchanged.paw == "P1-B"
    assert concentrated.paw is None
    assert any("fold increase without counts" in note for note in concentrated.notes)


def test_a_fold_increase_that_disagrees_with_the_counts_is_noted():
    result = classify_prp(
        platelets_per_ul=600_000, baseline_platelets_per_ul=200_000, fold_over_baseline=5.0
    )

    assert any("5-fold" in note and "3.0-fold" in note for note in result.notes)


def test_unknown_activation_leaves_the_paw_code_undecided():
    result = classify_prp(
        platelets_per_ul=900_000,
        baseline_platelets_per_ul=200_000,
        wbc_per_ul=100,
        baseline_wbc_per_ul=5_000,
    )

    assert result.paw is None
    assert "activation not reported: the A of PAW is undecided" in result.notes
    assert result.dohan_family == "P-PRP"


def test_the_authors_description_is_used_when_white_cells_were_not_counted():
    result = classify_prp(leukocyte_content="rich", is_fibrin=True)

    assert result.leukocytes == "leukocyte-rich"
    assert result.dohan_family == "L-PRF"
    assert result.paw is None


def test_counts_win_over_a_contradicting_description():
    result = classify_prp(wbc_per_ul=9_000, baseline_wbc_per_ul=6_000, leukocyte_content="poor")

    assert result.leukocytes == "leukocyte-rich"
    assert any("authors call the PRP leukocyte-poor" in note for note in result.notes)


def test_a_pure_platelet_rich_fibrin_is_p_prf():
    result = classify_prp(wbc_per_ul=50, baseline_wbc_per_ul=6_000, is_fibrin=True)

    assert result.dohan_family == "P-PRF"


def test_nothing_reported_classifies_nothing_and_says_what_is_missing():
    result = classify_prp()

    assert (result.paw, result.leukocytes, result.dohan_family) == (None, None, None)
    assert len(result.notes) >= 3


def test_a_whole_blood_count_typed_in_thousands_is_caught():
    with pytest.raises(ConversionError, match="enter 250,000"):
        classify_prp(platelets_per_ul=1_000_000, baseline_platelets_per_ul=250)


def test_an_unknown_activation_value_is_rejected():
    with pytest.raises(ConversionError, match="activation must be one of none, calcium"):
        classify_prp(activation="CaCl2")


def test_a_negative_count_is_rejected():
    with pytest.raises(ConversionError, match="PRP white-cell count cannot be negative"):
        classify_prp(wbc_per_ul=-5)


# MIBO completeness --------------------------------------------------------------------------


def test_mibo_items_have_unique_keys_and_labels():
    keys = [key for key, _ in MIBO_PRP_ITEMS]

    assert len(keys) == len(set(keys)) == 19
    assert all(label for _, label in MIBO_PRP_ITEMS)


def test_mibo_completeness_counts_reported_items_and_lists_the_missing_in_order():
    reported = {key: True for key, _ in MIBO_PRP_ITEMS}
    reported["anticoagulant"] = False
    del reported["image_guidance"]

    result = mibo_completeness(reported)

    assert (result.reported, result.total) == (17, 19)
    assert result.percent == pytest.approx(100 * 17 / 19)  # 89.47%
    assert result.missing == ("anticoagulant", "image_guidance")
    assert result.missing_labels == ("Anticoagulant", "Image guidance")


def test_mibo_completeness_of_a_paper_that_reports_nothing_is_zero():
    result = mibo_completeness({})

    assert (result.reported, result.percent, len(result.missing)) == (0, 0.0, 19)


def test_mibo_completeness_rejects_a_misspelt_item():
    with pytest.raises(ConversionError, match="unknown MIBO item 'anticoagulent'"):
        mibo_completeness({"anticoagulent": True})
