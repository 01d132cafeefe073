"""Studies with more than two groups: combining arms and splitting a shared control, as the
Cochrane Handbook describes (sections 6.5.2.10 and 23.3.4)."""

import numpy as np
import pytest

from extraction.synthesis import (
    Arm,
    BinaryArm,
    SynthesisError,
    combine_arms,
    combine_binary_arms,
    split_shared_binary_control,
    split_shared_control,
)


def summary(values: np.ndarray) -> Arm:
    return Arm(n=len(values), mean=float(values.mean()), sd=float(values.std(ddof=1)))


def test_combining_two_arms_gives_the_mean_and_sd_of_all_their_participants_together():
    """The Handbook's formula is exact: it reproduces the summary of the pooled raw data."""
    rng = np.random.default_rng(16)
    low_dose, high_dose = rng.normal(42, 9, size=8), rng.normal(35, 8, size=11)

    combined = combine_arms(summary(low_dose), summary(high_dose))

    everyone = summary(np.concatenate([low_dose, high_dose]))
    assert combined.n == everyone.n == 19
    assert combined.mean == pytest.approx(everyone.mean, rel=1e-12)
    assert combined.sd == pytest.approx(everyone.sd, rel=1e-12)


def test_combining_three_arms_applies_the_formula_pairwise_and_stays_exact():
    rng = np.random.default_rng(3)
    groups = [rng.normal(m, 5, size=n) for m, n in ((10, 6), (14, 9), (21, 7))]

    combined = combine_arms(*(summary(g) for g in groups))

    everyone = summary(np.concatenate(groups))
    assert combined.n == everyone.n
    assert combined.mean == pytest.approx(everyone.mean, rel=1e-12)
    assert combined.sd == pytest.approx(everyone.sd, rel=1e-12)


def test_combining_arms_with_huge_sds_does_not_overflow():
    combined = combine_arms(Arm(10, 1.0, 1e200), Arm(10, 2.0, 1e200))

    assert combined.sd == pytest.approx(1e200 * np.sqrt(18 / 19), rel=1e-9)


def test_one_arm_cannot_be_combined():
    with pytest.raises(SynthesisError, match="at least two groups"):
        combine_arms(Arm(10, 1.0, 1.0))


def test_a_shared_control_is_split_by_the_number_of_comparisons_rounding_n_down():
    share = split_shared_control(Arm(n=11, mean=61.4, sd=12.7), 2)

    assert share == Arm(n=5, mean=61.4, sd=12.7)
    assert split_shared_control(Arm(n=30, mean=1.0, sd=2.0), 3).n == 10


def test_a_group_too_small_to_split_is_refused():
    with pytest.raises(SynthesisError, match="cannot be split 3 ways"):
        split_shared_control(Arm(n=5, mean=1.0, sd=1.0), 3)


def test_binary_arms_combine_by_adding_events_and_participants():
    assert combine_binary_arms(BinaryArm(3, 20), BinaryArm(5, 22), BinaryArm(0, 9)) == BinaryArm(
        8, 51
    )


@pytest.mark.parametrize(
    ("arm", "parts", "share"),
    [
        (BinaryArm(20, 100), 2, BinaryArm(10, 50)),
        (BinaryArm(5, 31), 2, BinaryArm(2, 15)),  # 5 x 15/31 = 2.42
        (BinaryArm(3, 30), 4, BinaryArm(1, 7)),  # 3 x 7/30 = 0.70
        (BinaryArm(1, 4), 2, BinaryArm(1, 2)),  # a half rounds up
        (BinaryArm(0, 12), 3, BinaryArm(0, 4)),
    ],
)
def test_a_shared_binary_control_keeps_its_risk_as_closely_as_whole_counts_allow(arm, parts, share):
    assert split_shared_binary_control(arm, parts) == share
    assert share.n * parts <= arm.n
