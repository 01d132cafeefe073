"""Agreement statistics between two screeners: published worked examples and edge cases."""

import pytest

from screening.agreement import agreement, agreement_from_table


def verdicts_from_table(table, categories):
    """Expand a confusion table into two reviewers' verdict lists, record by record."""
    first, second = [], []
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            first += [categories[i]] * count
            second += [categories[j]] * count
    return first, second


def test_kappa_and_its_interval_match_the_sas_proc_freq_example():
    """SAS/STAT PROC FREQ, "Cohen's kappa" example output, also used by statsmodels' test
    suite (statsmodels/stats/tests/test_inter_rater.py, table10): the 3x3 table
    [[0, 4, 1], [0, 8, 0], [0, 1, 5]] gives kappa 0.4842, ASE 0.1380 and a 95% confidence
    interval of 0.2137 to 0.7547."""
    result = agreement_from_table(
        [[0, 4, 1], [0, 8, 0], [0, 1, 5]], categories=("include", "exclude", "maybe")
    )

    assert result.n == 19
    assert result.percent_agreement == pytest.approx(100 * 13 / 19)
    assert result.kappa == pytest.approx(0.4842, abs=5e-5)
    assert result.kappa_ci_low == pytest.approx(0.2137, abs=5e-5)
    assert result.kappa_ci_high == pytest.approx(0.7547, abs=5e-5)


def test_kappa_matches_the_textbook_two_by_two_example():
    """Wikipedia, "Cohen's kappa", worked example: 50 grant proposals, both readers say yes
    to 20 and no to 15, A yes / B no 5, A no / B yes 10. p_o = 0.70, p_e = 0.50, kappa = 0.40."""
    first, second = verdicts_from_table([[20, 5], [10, 15]], ["yes", "no"])

    result = agreement(first, second, categories=["yes", "no"])

    assert result.table == ((20, 5), (10, 15))
    assert result.percent_agreement == pytest.approx(70.0)
    assert result.kappa == pytest.approx(0.40)


def test_kappa_interval_agrees_with_statsmodels():
    statsmodels = pytest.importorskip("statsmodels.stats.inter_rater")
    table = [[31, 4, 2], [6, 120, 9], [1, 7, 12]]

    ours = agreement_from_table(table, categories=("include", "exclude", "maybe"))
    theirs = statsmodels.cohens_kappa(table)

    assert ours.kappa == pytest.approx(theirs.kappa)
    assert ours.kappa_ci_low == pytest.approx(theirs.kappa_low)
    assert ours.kappa_ci_high == pytest.approx(theirs.kappa_upp)


def test_pabak_and_ac1_stay_high_when_kappa_collapses_on_skewed_verdicts():
    """Hand-checked (the "high agreement, low kappa" paradox of Feinstein and Cicchetti 1990):
    table [[80, 10], [5, 5]], n = 100.
    p_o = 0.85; margins A (0.90, 0.10), B (0.85, 0.15); p_e = 0.765 + 0.015 = 0.78;
    kappa = 0.07 / 0.22 = 0.3182. PABAK = 2 * 0.85 - 1 = 0.70.
    AC1: pooled shares pi = (1.75 / 2, 0.25 / 2) = (0.875, 0.125);
    chance = (0.875 * 0.125 + 0.125 * 0.875) / (2 - 1) = 0.21875;
    AC1 = (0.85 - 0.21875) / (1 - 0.21875) = 0.63125 / 0.78125 = 0.808."""
    result = agreement_from_table([[80, 10], [5, 5]], categories=("exclude", "include"))

    assert result.kappa == pytest.approx(0.07 / 0.22)
    assert result.pabak == pytest.approx(0.70)
    assert result.ac1 == pytest.approx(0.808)


def test_ac1_and_pabak_use_every_category_of_the_stage_even_unused_ones():
    """Hand-checked, three categories, "maybe" never used: table [[6, 2, 0], [1, 11, 0],
    [0, 0, 0]], n = 20. p_o = 17/20 = 0.85. PABAK = (3 * 0.85 - 1) / 2 = 0.775.
    pi = ((8 + 7) / 40, (12 + 13) / 40, 0) = (0.375, 0.625, 0);
    chance = (0.375 * 0.625 * 2 + 0) / (3 - 1) = 0.234375;
    AC1 = (0.85 - 0.234375) / (1 - 0.234375) = 0.615625 / 0.765625 = 0.80408..."""
    result = agreement_from_table(
        [[6, 2, 0], [1, 11, 0], [0, 0, 0]], categories=("include", "exclude", "maybe")
    )

    assert result.pabak == pytest.approx(0.775)
    assert result.ac1 == pytest.approx(0.615625 / 0.765625)


def test_no_shared_records_give_no_statistics_and_say_why():
    result = agreement([], [], categories=["include", "exclude"])

    assert result.n == 0
    assert result.table == ((0, 0), (0, 0))
    assert result.percent_agreement is None
    assert result.kappa is None
    assert result.pabak is None
    assert result.ac1 is None
    assert "nothing to compare" in result.note


def test_kappa_is_undefined_when_everyone_excluded_everything_but_agreement_is_perfect():
    result = agreement(["exclude"] * 12, ["exclude"] * 12, categories=["include", "exclude"])

    assert result.percent_agreement == pytest.approx(100.0)
    assert result.kappa is None
    assert result.kappa_ci_low is None
    assert result.kappa_ci_high is None
    assert "undefined" in result.note
    assert result.pabak == pytest.approx(1.0)
    assert result.ac1 == pytest.approx(1.0)


def test_a_single_category_seen_and_none_declared_leaves_pabak_and_ac1_undefined():
    result = agreement([True, True], [True, True])

    assert result.categories == (True,)
    assert result.kappa is None
    assert result.pabak is None
    assert result.ac1 is None


def test_perfect_agreement_on_two_categories_has_kappa_one_and_a_closed_interval():
    result = agreement(["include", "exclude", "exclude"], ["include", "exclude", "exclude"])

    assert result.kappa == pytest.approx(1.0)
    assert result.kappa_ci_low == pytest.approx(1.0)
    assert result.kappa_ci_high == pytest.approx(1.0)


def test_binary_verdicts_work_without_naming_categories():
    result = agreement([True, False, True, False], [True, False, False, False])

    assert result.categories == (False, True)
    assert result.table == ((2, 0), (1, 1))
    assert result.percent_agreement == pytest.approx(75.0)


def test_reviewers_must_judge_the_same_number_of_records():
    with pytest.raises(ValueError, match="same records"):
        agreement(["include"], ["include", "exclude"])


def test_a_verdict_outside_the_stage_categories_is_refused():
    with pytest.raises(ValueError, match="outside the categories"):
        agreement(["include", "skip"], ["include", "exclude"], categories=["include", "exclude"])
