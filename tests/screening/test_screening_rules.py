"""Dual screening rules: agreement resolves, disagreement goes to the lead, stages advance."""

import pytest
from django.core.exceptions import ValidationError

from screening import services
from screening.models import Decision, RecordScreening, ScreeningEvent, Stage, Verdict

TA, FT = Stage.TITLE_ABSTRACT, Stage.FULL_TEXT


def state(record, stage=TA):
    return RecordScreening.objects.get(record=record, stage=stage)


def decide(record, reviewer, verdict, stage=TA, **kwargs):
    return services.record_decision(
        record=record, user=reviewer, stage=stage, verdict=verdict, **kwargs
    )


def test_two_agreeing_inclusions_resolve_the_record_and_send_it_to_full_text(
    records, reviewer, second_reviewer
):
    record = records[0]
    decide(record, reviewer, Verdict.INCLUDE)
    assert state(record).status == RecordScreening.Status.AWAITING
    decide(record, second_reviewer, Verdict.INCLUDE)
    assert (state(record).status, state(record).outcome) == ("resolved", "include")
    assert state(record, FT).status == RecordScreening.Status.AWAITING


def test_agreeing_exclusions_do_not_reach_full_text(records, reviewer, second_reviewer):
    decide(records[2], reviewer, Verdict.EXCLUDE)
    decide(records[2], second_reviewer, Verdict.EXCLUDE)
    assert state(records[2]).outcome == Verdict.EXCLUDE
    assert not RecordScreening.objects.filter(record=records[2], stage=FT).exists()


def test_a_disagreement_goes_to_the_lead_who_resolves_it_with_a_reason(
    records, reviewer, second_reviewer, lead
):
    record = records[1]
    decide(record, reviewer, Verdict.INCLUDE)
    decide(record, second_reviewer, Verdict.EXCLUDE, reason="Wrong population")
    assert state(record).status == RecordScreening.Status.CONFLICT
    services.resolve_record(
        record=record, user=lead, stage=TA, verdict=Verdict.INCLUDE, note="Animal model is in scope"
    )
    assert (state(record).status, state(record).outcome) == ("resolved", "include")
    kinds = list(
        ScreeningEvent.objects.filter(record=record).values_list("kind", "actor__username")
    )
    assert kinds == [("decided", "reviewer"), ("decided", "second_reviewer"), ("resolved", "lead")]


def test_maybe_advances_only_when_the_lead_allows_it(records, review, reviewer, second_reviewer):
    config = services.config_for(review)
    config.maybe_advances = False
    config.save()
    decide(records[0], reviewer, Verdict.MAYBE)
    decide(records[0], second_reviewer, Verdict.MAYBE)
    assert not RecordScreening.objects.filter(record=records[0], stage=FT).exists()


def test_changing_a_decision_keeps_one_current_decision_and_the_history(records, reviewer):
    decide(records[0], reviewer, Verdict.EXCLUDE)
    decide(records[0], reviewer, Verdict.INCLUDE, note="Read again: neuropathic")
    assert Decision.objects.filter(record=records[0], reviewer=reviewer).count() == 1
    history = ScreeningEvent.objects.filter(record=records[0]).values_list("kind", "verdict")
    assert list(history) == [("decided", "exclude"), ("changed", "include")]


def test_an_exclusion_at_full_text_needs_a_reason(records, reviewer, second_reviewer):
    decide(records[0], reviewer, Verdict.INCLUDE)
    decide(records[0], second_reviewer, Verdict.INCLUDE)
    with pytest.raises(ValidationError, match="Give a reason"):
        decide(records[0], reviewer, Verdict.EXCLUDE, stage=FT)
    decide(records[0], reviewer, Verdict.EXCLUDE, stage=FT, reason="Wrong intervention")
    assert state(records[0], FT).decision_count == 1


def test_only_the_reviews_own_reasons_are_accepted_when_it_has_a_list(records, review, reviewer):
    config = services.config_for(review)
    config.exclusion_reasons = ["Wrong population", "Wrong intervention"]
    config.save()
    with pytest.raises(ValidationError, match="not one of the review's reasons"):
        decide(records[0], reviewer, Verdict.EXCLUDE, reason="Because")


def test_a_record_resolved_by_the_lead_cannot_be_changed_by_a_reviewer(
    records, reviewer, second_reviewer, lead
):
    decide(records[0], reviewer, Verdict.INCLUDE)
    decide(records[0], second_reviewer, Verdict.EXCLUDE)
    services.resolve_record(record=records[0], user=lead, stage=TA, verdict=Verdict.EXCLUDE)
    with pytest.raises(ValidationError, match="Ask a lead to reopen"):
        decide(records[0], reviewer, Verdict.MAYBE)
    with pytest.raises(ValidationError, match="Ask a lead to reopen"):
        services.withdraw_decision(record=records[0], reviewer=reviewer, stage=TA)


def test_a_third_reviewer_can_be_asked_for_on_a_conflict(records, reviewer, second_reviewer, lead):
    from tests.conftest import add_member, make_user

    third = make_user("third")
    add_member(records[0].review, third, "reviewer")
    decide(records[0], reviewer, Verdict.INCLUDE)
    decide(records[0], second_reviewer, Verdict.EXCLUDE)
    services.add_reviewer(record=records[0], user=lead, stage=TA)
    assert state(records[0]).status == RecordScreening.Status.AWAITING
    decide(records[0], third, Verdict.INCLUDE)
    assert state(records[0]).status == RecordScreening.Status.CONFLICT  # still not unanimous


def test_a_record_with_its_decisions_cannot_take_an_extra_one(records, reviewer, second_reviewer):
    from tests.conftest import make_user

    decide(records[0], reviewer, Verdict.INCLUDE)
    decide(records[0], second_reviewer, Verdict.INCLUDE)
    with pytest.raises(ValidationError, match="already has all the decisions"):
        decide(records[0], make_user("late"), Verdict.EXCLUDE)


def test_withdrawing_a_decision_puts_the_record_back_in_the_queue(records, reviewer):
    decide(records[0], reviewer, Verdict.INCLUDE)
    services.withdraw_decision(record=records[0], reviewer=reviewer, stage=TA)
    queue = RecordScreening.objects.for_stage(records[0].review, TA).awaiting(reviewer, TA)
    assert records[0].pk in queue.values_list("record_id", flat=True)
