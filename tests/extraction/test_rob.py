"""Risk-of-bias tools: domains, scales, overall judgements and the tool for each design."""

from __future__ import annotations

import pytest

from extraction.rob import TOOLS, JudgementError, tool_for_design, validate

ROB2 = TOOLS["rob2"]
ROBINS_I = TOOLS["robins_i"]
SYRCLE = TOOLS["syrcle"]


def all_domains(tool, judgement, **overrides):
    return {domain.key: judgement for domain in tool.domains} | overrides


# The tools as published -----------------------------------------------------------------------


def test_rob2_has_five_domains_and_a_three_level_scale():
    assert len(ROB2.domains) == 5
    assert ROB2.judgements == ("low", "some_concerns", "high")
    assert ROB2.label("some_concerns") == "Some concerns"
    assert "BMJ 2019;366:l4898" in ROB2.citation


def test_robins_i_has_seven_domains_and_a_no_information_option():
    assert len(ROBINS_I.domains) == 7
    assert ROBINS_I.judgements == ("low", "moderate", "serious", "critical", "no_information")
    assert ROBINS_I.label("no_information") == "No information"
    assert "BMJ 2016;355:i4919" in ROBINS_I.citation


def test_syrcle_has_ten_items_and_says_its_summary_is_not_syrcles():
    assert len(SYRCLE.domains) == 10
    assert SYRCLE.judgements == ("low", "unclear", "high")
    assert "14:43" in SYRCLE.citation
    assert "not SYRCLE's" in SYRCLE.note
    assert "not part of the tool" in SYRCLE.citation


def test_every_domain_has_a_label_and_help_and_a_unique_key():
    for tool in TOOLS.values():
        keys = [domain.key for domain in tool.domains]
        assert len(keys) == len(set(keys)), tool.key
        assert all(domain.label and domain.help for domain in tool.domains), tool.key
        assert set(tool.judgement_labels) == set(tool.judgements), tool.key


def test_tools_are_keyed_by_their_own_key():
    assert {key: tool.key for key, tool in TOOLS.items()} == {
        "rob2": "rob2",
        "robins_i": "robins_i",
        "syrcle": "syrcle",
        "case_series": "case_series",
    }


# RoB 2 overall --------------------------------------------------------------------------------


def test_rob2_is_low_only_when_every_domain_is_low():
    assert ROB2.overall(all_domains(ROB2, "low")) == "low"


def test_rob2_is_high_when_any_domain_is_high():
    judgements = all_domains(ROB2, "low", missing_outcome_data="high")

    assert ROB2.overall(judgements) == "high"


def test_rob2_has_some_concerns_when_a_domain_does_and_none_is_high():
    judgements = all_domains(ROB2, "low", measurement_of_outcome="some_concerns")

    assert ROB2.overall(judgements) == "some_concerns"


def test_rob2_does_not_escalate_several_concerns_unless_the_review_sets_a_threshold():
    judgements = all_domains(ROB2, "some_concerns", randomisation_process="low")

    assert ROB2.overall(judgements) == "some_concerns"
    assert ROB2.overall(judgements, some_concerns_to_high=4) == "high"
    assert ROB2.overall(judgements, some_concerns_to_high=5) == "some_concerns"


def test_rob2_threshold_of_three_makes_three_concerns_high_but_not_two():
    two = all_domains(
        ROB2, "low", randomisation_process="some_concerns", missing_outcome_data="some_concerns"
    )
    three = two | {"measurement_of_outcome": "some_concerns"}

    assert ROB2.overall(two, some_concerns_to_high=3) == "some_concerns"
    assert ROB2.overall(three, some_concerns_to_high=3) == "high"


@pytest.mark.parametrize("threshold", [0, 1, 6, 2.5, True])
def test_rob2_threshold_must_be_a_number_of_domains_from_two_to_five(threshold):
    with pytest.raises(ValueError, match="from 2 to 5"):
        ROB2.overall(all_domains(ROB2, "low"), some_concerns_to_high=threshold)


def test_only_rob2_accepts_a_some_concerns_threshold():
    with pytest.raises(ValueError, match="ROBINS-I has no 'some concerns' judgement"):
        ROBINS_I.overall(all_domains(ROBINS_I, "low"), some_concerns_to_high=3)


def test_overall_is_none_while_a_domain_is_unjudged():
    judgements = all_domains(ROB2, "high")
    del judgements["selection_of_reported_result"]

    assert ROB2.overall(judgements) is None
    assert ROB2.overall({}) is None


# ROBINS-I overall -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, "low"),
        ({"missing_data": "moderate"}, "moderate"),
        ({"missing_data": "moderate", "confounding": "serious"}, "serious"),
        ({"confounding": "serious", "missing_data": "critical"}, "critical"),
        ({"measurement_of_outcomes": "no_information"}, "no_information"),
        ({"confounding": "moderate", "missing_data": "no_information"}, "no_information"),
        ({"confounding": "serious", "missing_data": "no_information"}, "serious"),
        ({"confounding": "critical", "missing_data": "no_information"}, "critical"),
    ],
)
def test_robins_i_overall_is_the_most_severe_domain_with_no_information_below_serious(
    overrides, expected
):
    assert ROBINS_I.overall(all_domains(ROBINS_I, "low", **overrides)) == expected


def test_robins_i_note_documents_the_no_information_rule_and_the_version():
    assert "no information" in ROBINS_I.note
    assert "2016" in ROBINS_I.note


# SYRCLE overall -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, "low"),
        ({"random_housing": "unclear"}, "unclear"),
        ({"random_housing": "unclear", "blinding_of_outcome_assessor": "high"}, "high"),
    ],
)
def test_syrcle_summary_is_the_worst_item(overrides, expected):
    assert SYRCLE.overall(all_domains(SYRCLE, "low", **overrides)) == expected


# Validation -----------------------------------------------------------------------------------


def test_a_judgement_off_the_scale_names_the_domain_and_the_allowed_values():
    with pytest.raises(JudgementError) as raised:
        validate(ROB2, {"randomisation_process": "moderate"})

    assert raised.value.domain == "randomisation_process"
    assert str(raised.value) == (
        "Bias arising from the randomisation process: 'moderate' is not a RoB 2 judgement; "
        "use one of low, some_concerns, high"
    )


def test_a_domain_the_tool_lacks_is_rejected():
    with pytest.raises(JudgementError, match="'random_housing' is not a domain of RoB 2") as raised:
        validate(ROB2, {"random_housing": "low"})

    assert raised.value.domain == "random_housing"


def test_a_half_done_assessment_validates():
    validate(SYRCLE, {"sequence_generation": "unclear"})


def test_overall_refuses_an_invalid_judgement_rather_than_guessing():
    with pytest.raises(JudgementError, match="'unclear' is not a ROBINS-I judgement"):
        ROBINS_I.overall(all_domains(ROBINS_I, "low", confounding="unclear"))


# Tool for each design -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("design", "tool"),
    [
        ("rct", "rob2"),
        ("non_randomised_trial", "robins_i"),
        ("cohort", "robins_i"),
        ("animal", "syrcle"),
        ("case_series", "case_series"),
    ],
)
def test_each_design_gets_its_tool(design, tool):
    assert tool_for_design(design).key == tool


@pytest.mark.parametrize(
    ("design", "reason"),
    [
        ("in_vitro", "in-vitro studies have no risk-of-bias tool"),
        ("review", "assess the primary studies"),
    ],
)
def test_designs_without_a_tool_say_why(design, reason):
    with pytest.raises(ValueError, match=reason):
        tool_for_design(design)


def test_an_unknown_design_lists_the_designs_that_have_a_tool():
    with pytest.raises(ValueError, match="unknown study design 'RCT'; .*: rct, non_randomised"):
        tool_for_design("RCT")


def test_a_case_series_is_of_high_concern_if_any_applicable_question_is_answered_no():
    tool = tool_for_design("case_series")
    answers = {domain.key: "low" for domain in tool.domains}
    answers["challenge_rechallenge"] = "not_applicable"  # PRP is not an adverse drug event
    assert tool.overall(answers) == "low"
    assert tool.overall({**answers, "follow_up": "unclear"}) == "unclear"
    assert tool.overall({**answers, "follow_up": "unclear", "selection": "high"}) == "high"
    assert tool.overall({k: "not_applicable" for k in answers} | {"reporting": "high"}) == "high"
    del answers["reporting"]
    assert tool.overall(answers) is None  # not every question answered yet
