"""No number typed anywhere makes the synthesis fail with anything but a ``SynthesisError``.

Each bad value is put in one field of one study; the analysis must either pool (and then
draw its forest plot) or refuse with a ``SynthesisError`` that a page can show. Warnings
are turned into errors, so a silently overflowing intermediate also fails the test.
"""

import contextlib
import math
import warnings
from decimal import Decimal

import pytest

from extraction.synthesis import (
    Arm,
    BinaryArm,
    BinaryComparison,
    EffectEstimate,
    MetaAnalysis,
    StudyComparison,
    SynthesisError,
    TimePoint,
    TimeSeries,
    combine_arms,
    combine_binary_arms,
    forest_plot,
    hedges_g,
    meta_analyse,
    meta_analyse_binary,
    pool_effects,
    split_shared_binary_control,
    split_shared_control,
    time_course_plot,
)

BAD_NUMBERS = [
    1e200,
    -1e200,
    1e-300,
    1e308,
    0,
    -1,
    1e9,
    float("nan"),
    float("inf"),
    float("-inf"),
    10**400,
    Decimal("1e200"),
    Decimal("NaN"),
    "47,1",
    "∞",
    "",
    None,
    True,
    2.5,
]
METHODS = ["REML", "DL", "PM"]


def studies() -> list[StudyComparison]:
    return [
        StudyComparison("A", Arm(10, 42.1, 9.3), Arm(10, 61.4, 12.7)),
        StudyComparison("B", Arm(9, 48.0, 11.2), Arm(9, 57.5, 10.4)),
        StudyComparison("C", Arm(12, 30.2, 7.5), Arm(11, 44.9, 9.8)),
    ]


def binary_studies() -> list[BinaryComparison]:
    return [
        BinaryComparison("A", BinaryArm(2, 30), BinaryArm(5, 31)),
        BinaryComparison("B", BinaryArm(0, 25), BinaryArm(3, 24)),
        BinaryComparison("C", BinaryArm(4, 40), BinaryArm(6, 38)),
    ]


def pools_or_refuses(analyse, *, draw: bool = True) -> MetaAnalysis | None:
    """Run ``analyse``; a result must also draw. Returns the result, or None if refused."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            result = analyse()
        except SynthesisError as error:
            assert str(error)
            return None
        values = [result.pooled, result.ci_low, result.ci_high, result.se, result.q, result.i2]
        assert all(math.isfinite(v) for v in values)
        if draw:
            assert forest_plot(result).startswith(b"<?xml")
        return result


@pytest.mark.parametrize("value", BAD_NUMBERS, ids=repr)
@pytest.mark.parametrize("field", ["n", "mean", "sd"])
@pytest.mark.parametrize("method", METHODS)
def test_a_bad_number_in_a_continuous_arm_pools_or_is_refused(field, value, method):
    comparisons = studies()
    control = comparisons[1].control
    fields = {"n": control.n, "mean": control.mean, "sd": control.sd} | {field: value}
    comparisons[1] = StudyComparison("B", comparisons[1].treatment, Arm(**fields))

    pools_or_refuses(
        lambda: meta_analyse(comparisons, outcome="IL-6", method=method), draw=method == "REML"
    )


def test_an_sd_of_1e200_still_pools_with_that_study_near_zero():
    """The issue's 500: a consensus SD of 1e200 raised OverflowError in 1e200 ** 2."""
    comparisons = studies()
    comparisons[0] = StudyComparison("A", Arm(10, 42.1, 1e200), Arm(10, 61.4, 1e200))

    result = pools_or_refuses(lambda: meta_analyse(comparisons, outcome="IL-6"))

    assert result is not None
    assert result.studies[0].g == pytest.approx(0, abs=1e-150)


def test_a_tiny_sd_is_refused_by_name_when_g_would_be_infinite():
    comparisons = studies()
    comparisons[2] = StudyComparison("C", Arm(12, 30.2, 1e-300), Arm(11, 44.9, 1e-300))

    with pytest.raises(SynthesisError, match="^C: the standardised mean difference is too"):
        meta_analyse(comparisons, outcome="IL-6")


def test_a_billion_participants_per_arm_pool_with_a_tiny_variance():
    comparisons = [
        StudyComparison(c.label, Arm(10**9, c.treatment.mean, c.treatment.sd), c.control)
        for c in studies()
    ]

    result = pools_or_refuses(lambda: meta_analyse(comparisons, outcome="IL-6"))

    assert result is not None and result.k == 3


@pytest.mark.parametrize("method", METHODS)
def test_identical_studies_pool_to_their_common_value_without_heterogeneity(method):
    comparisons = [StudyComparison(name, Arm(10, 5.0, 1.0), Arm(10, 4.0, 1.0)) for name in "ABC"]

    result = pools_or_refuses(lambda: meta_analyse(comparisons, outcome="x", method=method))

    assert result.tau2 == 0 and result.i2 == 0 and result.q == pytest.approx(0, abs=1e-12)
    assert result.pooled == pytest.approx(result.studies[0].g)


@pytest.mark.parametrize("count", [0, 1])
def test_fewer_than_two_studies_cannot_be_pooled(count):
    with pytest.raises(SynthesisError, match="at least two"):
        meta_analyse(studies()[:count], outcome="x")
    with pytest.raises(SynthesisError, match="at least two"):
        meta_analyse_binary(binary_studies()[:count], outcome="x")
    with pytest.raises(SynthesisError, match="single study cannot be pooled"):
        pool_effects([EffectEstimate("A", 0.5, 0.1)][:count], outcome="x")


@pytest.mark.parametrize("value", BAD_NUMBERS, ids=repr)
@pytest.mark.parametrize("field", ["estimate", "variance"])
def test_a_bad_precomputed_effect_pools_or_is_refused(field, value):
    estimates = [EffectEstimate("A", 0.5, 0.1), EffectEstimate("B", -0.2, 0.05)]
    estimates[1] = EffectEstimate("B", **({"estimate": -0.2, "variance": 0.05} | {field: value}))

    pools_or_refuses(lambda: pool_effects(estimates, outcome="x"))


def test_a_zero_variance_is_refused_by_name():
    estimates = [EffectEstimate("A", 0.5, 0.1), EffectEstimate("B", -0.2, 0.0)]

    with pytest.raises(SynthesisError, match="^B: the variance must be positive"):
        pool_effects(estimates, outcome="x")


@pytest.mark.parametrize("value", BAD_NUMBERS, ids=repr)
@pytest.mark.parametrize("field", ["events", "n"])
@pytest.mark.parametrize(("measure", "pooling"), [("RR", "MH"), ("OR", "MH"), ("OR", "IV")])
def test_a_bad_count_pools_or_is_refused(field, value, measure, pooling):
    comparisons = binary_studies()
    control = comparisons[0].control
    fields = {"events": control.events, "n": control.n} | {field: value}
    comparisons[0] = BinaryComparison("A", comparisons[0].treatment, BinaryArm(**fields))

    pools_or_refuses(
        lambda: meta_analyse_binary(
            comparisons, outcome="Adverse events", measure=measure, pooling=pooling
        )
    )


@pytest.mark.parametrize("option", ["measure", "pooling", "method", "level", "continuity"])
@pytest.mark.parametrize("value", ["SMD", None, float("nan"), -1, 95, "REML"])
def test_a_bad_option_is_refused_in_words(option, value):
    if option == "method" and value == "REML":
        return
    pools_or_refuses(lambda: meta_analyse_binary(binary_studies(), outcome="x", **{option: value}))


def test_no_events_in_any_control_group_cannot_give_a_mantel_haenszel_ratio():
    comparisons = [
        BinaryComparison("A", BinaryArm(2, 30), BinaryArm(0, 31)),
        BinaryComparison("B", BinaryArm(1, 25), BinaryArm(0, 24)),
    ]

    with pytest.raises(SynthesisError, match="control groups contribute nothing"):
        meta_analyse_binary(comparisons, outcome="x", measure="RR", pooling="MH")


def test_more_events_than_participants_is_refused_by_name():
    comparisons = binary_studies()
    comparisons[2] = BinaryComparison("C", BinaryArm(41, 40), BinaryArm(6, 38))

    with pytest.raises(SynthesisError, match="^C: 41 events out of 40 in the treatment group"):
        meta_analyse_binary(comparisons, outcome="x")


@pytest.mark.parametrize("value", BAD_NUMBERS, ids=repr)
def test_combining_and_splitting_groups_with_a_bad_number_is_refused_or_done(value):
    for call in (
        lambda: combine_arms(Arm(10, 5.0, 1.0), Arm(10, value, 1.0)),
        lambda: combine_arms(Arm(10, 5.0, value), Arm(10, 4.0, 1.0)),
        lambda: split_shared_control(Arm(10, 5.0, 1.0), value),
        lambda: split_shared_control(Arm(value, 5.0, 1.0), 2),
        lambda: combine_binary_arms(BinaryArm(value, 10), BinaryArm(1, 10)),
        lambda: split_shared_binary_control(BinaryArm(3, value), 2),
        lambda: hedges_g(Arm(10, value, 1.0), Arm(10, 4.0, 1.0)),
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with contextlib.suppress(SynthesisError):
                call()


@pytest.mark.parametrize("value", BAD_NUMBERS, ids=repr)
@pytest.mark.parametrize("field", ["days", "estimate", "ci_low", "ci_high", "k"])
def test_a_bad_number_in_a_time_course_draws_or_is_refused(field, value):
    point = {"days": 14, "estimate": -1.4, "ci_low": -2.7, "ci_high": -0.2, "k": 3}
    series = [
        TimeSeries("Nerve", "Animal", (TimePoint(7, -1.6, -2.5, -0.7, 4),)),
        TimeSeries("Serum", "Animal", (TimePoint(**(point | {field: value})),)),
    ]

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            assert time_course_plot(series, title="IL-6").startswith(b"<?xml")
        except SynthesisError as error:
            assert str(error)


def test_a_time_course_without_points_is_refused():
    with pytest.raises(SynthesisError, match="no time points"):
        time_course_plot([TimeSeries("Serum", "Human", ())], title="IL-6")


def test_labels_and_outcomes_that_are_not_text_are_drawn_as_text():
    comparisons = [StudyComparison(2021, c.treatment, c.control) for c in studies()[:2]]

    result = pools_or_refuses(lambda: meta_analyse(comparisons, outcome=None))

    assert result.outcome == "None" and result.studies[0].label == "2021"
