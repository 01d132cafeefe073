"""Blind dual screening: each reviewer's queue learns from their own decisions only,
decisions lock once another reviewer has decided, stages unblind when they end (logged),
and full-text exclusions must agree on their reason."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from extraction import reporting
from reviewmgr import services as core
from screening import prioritisation, queue, services
from screening.models import RecordScreening, ReviewerPriority, Stage, Unblinding, Verdict
from tests.conftest import make_record

TA, FT = Stage.TITLE_ABSTRACT, Stage.FULL_TEXT

RELEVANT = [
    "Platelet-rich plasma injections for diabetic peripheral neuropathy",
    "Perineural platelet-rich plasma reduces allodynia after nerve injury",
    "Epidural platelet-rich plasma for lumbar radiculopathy and sciatica",
    "Platelet-rich plasma lowers IL-6 in a rat model of neuropathic pain",
]
IRRELEVANT = [
    "Statin therapy and cardiovascular events in the elderly",
    "School-based nutrition programmes and childhood obesity",
    "Antibiotic prophylaxis before dental extraction",
    "Glycaemic control with insulin pumps in type 1 diabetes",
    "Screen time and sleep quality in adolescents",
    "Hand hygiene compliance in intensive care units",
]


@pytest.fixture
def mixed(review):
    for title in IRRELEVANT + RELEVANT:
        make_record(review, title)
    services.sync_screening_rows(review=review)
    config = services.config_for(review)
    config.exploration = 0
    config.save()
    return review


def titles(review, reviewer, n=None):
    return [s.record.title for s in queue.in_order(review, reviewer, TA, n or 100)]


def decide(review, title, reviewer, verdict, stage=TA, **kwargs):
    record = review.records.get(title=title)
    return services.record_decision(
        record=record, user=reviewer, stage=stage, verdict=verdict, **kwargs
    )


# Ranking --------------------------------------------------------------------------------


def test_a_reviewers_queue_order_does_not_move_with_the_other_reviewers_verdicts(
    mixed, reviewer, second_reviewer
):
    """The issue's probe: reviewer 1 includes some records and excludes others; reviewer 2's
    queue must not bring the includes forward."""
    prioritisation.rank_queue(review=mixed)
    before = titles(mixed, second_reviewer)
    decide(mixed, RELEVANT[0], reviewer, "include")
    decide(mixed, RELEVANT[1], reviewer, "include")
    for title in IRRELEVANT[:3]:
        decide(mixed, title, reviewer, "exclude")
    prioritisation.rank_queue(review=mixed)

    assert titles(mixed, second_reviewer) == before
    # while reviewer 1's own queue has learnt from them: the other relevant records lead
    assert set(titles(mixed, reviewer, 2)) == set(RELEVANT[2:])


def test_a_reviewers_own_decisions_reorder_only_their_queue(
    mixed, reviewer, second_reviewer, django_capture_on_commit_callbacks
):
    config = services.config_for(mixed)
    config.retrain_every = 2
    config.save()
    with django_capture_on_commit_callbacks(execute=True):
        prioritisation.request_ranking(mixed, force=True)
    others_before = titles(mixed, reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        decide(mixed, RELEVANT[3], second_reviewer, "include")
        decide(mixed, IRRELEVANT[5], second_reviewer, "exclude")

    assert set(titles(mixed, second_reviewer, 3)) == set(RELEVANT[:3])
    assert titles(mixed, reviewer) == others_before


def test_a_reviewer_screening_blind_gets_the_order_the_ranker_gives_their_own_decisions(
    mixed, reviewer, second_reviewer
):
    """Each reviewer screening alone is what `simulate_screening` and the ranking benchmark
    replay: the same ranker, trained on that reviewer's labels only."""
    from screening.ranking import order_queue

    decide(mixed, RELEVANT[0], reviewer, "include")
    decide(mixed, IRRELEVANT[0], reviewer, "exclude")
    decide(mixed, RELEVANT[1], second_reviewer, "exclude")  # noise the first must not learn
    decide(mixed, IRRELEVANT[1], second_reviewer, "include")
    prioritisation.rank_queue(review=mixed)

    ranker, record_ids = prioritisation._fitted_ranker(mixed)
    position = {int(pk): i for i, pk in enumerate(record_ids)}
    own = {
        mixed.records.get(title=RELEVANT[0]).pk: True,
        mixed.records.get(title=IRRELEVANT[0]).pk: False,
    }
    ranker.train([position[pk] for pk in own], list(own.values()))
    seed = mixed.pk * 1_000_003 + reviewer.pk * 7919 + len(own)
    expected = [
        int(record_ids[i])
        for i in order_queue(ranker.scores(), exploration=0, seed=seed)
        if int(record_ids[i]) not in own
    ]
    assert [s.record_id for s in queue.in_order(mixed, reviewer, TA, 100)] == expected


def test_known_relevant_records_and_keywords_rank_every_reviewers_queue(
    mixed, reviewer, second_reviewer
):
    core.mark_known_relevant(review=mixed, record_ids=[mixed.records.get(title=RELEVANT[2]).pk])
    prioritisation.rank_queue(review=mixed)
    for person in (reviewer, second_reviewer):
        assert titles(mixed, person, 1) == [RELEVANT[2]]


def test_a_reviewer_gives_up_their_place_on_deciding_and_gets_it_back_on_undo(
    mixed, reviewer, second_reviewer
):
    prioritisation.rank_queue(review=mixed)
    record = mixed.records.get(title=RELEVANT[0])
    places = ReviewerPriority.objects.filter(record=record, stage=TA)

    def placed():
        return set(places.values_list("reviewer_id", flat=True))

    assert {reviewer.pk, second_reviewer.pk} <= placed()  # (the lead screens too)
    services.record_decision(record=record, user=reviewer, stage=TA, verdict="include")
    assert reviewer.pk not in placed()
    assert second_reviewer.pk in placed()
    services.withdraw_decision(record=record, reviewer=reviewer, stage=TA)
    assert {reviewer.pk, second_reviewer.pk} <= placed()
    services.record_decision(record=record, user=reviewer, stage=TA, verdict="include")
    services.record_decision(record=record, user=second_reviewer, stage=TA, verdict="include")
    assert places.count() == 0  # settled: in nobody's queue


def test_a_reviewer_without_a_queue_of_their_own_yet_is_served_the_keyword_order(mixed, reviewer):
    mixed.inclusion_keywords = ["platelet-rich plasma"]
    mixed.save()
    prioritisation.rank_queue(review=mixed, reviewer_ids=[])
    assert not ReviewerPriority.objects.exists()
    assert set(titles(mixed, reviewer, 4)) == set(RELEVANT)


def test_without_blind_mode_the_team_shares_one_queue_and_personal_places_go(
    mixed, reviewer, second_reviewer
):
    prioritisation.rank_queue(review=mixed)
    assert ReviewerPriority.objects.exists()
    services.update_screening_settings(review=mixed, user=None, blind=False)
    decide(mixed, RELEVANT[0], reviewer, "include")
    decide(mixed, IRRELEVANT[0], reviewer, "exclude")
    prioritisation.rank_queue(review=mixed)
    assert not ReviewerPriority.objects.exists()
    assert set(titles(mixed, second_reviewer, 4)) == set(RELEVANT)


# Decisions once another reviewer has decided ----------------------------------------------


@pytest.mark.parametrize("other_verdict", ["include", "exclude"])
def test_a_decision_locks_once_another_reviewer_has_decided_whatever_they_said(
    records, reviewer, second_reviewer, other_verdict
):
    record = records[0]
    services.record_decision(record=record, user=reviewer, stage=TA, verdict="include")
    services.record_decision(record=record, user=reviewer, stage=TA, verdict="maybe")
    services.record_decision(record=record, user=second_reviewer, stage=TA, verdict=other_verdict)
    with pytest.raises(ValidationError) as change:
        services.record_decision(record=record, user=reviewer, stage=TA, verdict="include")
    with pytest.raises(ValidationError) as undo:
        services.withdraw_decision(record=record, reviewer=reviewer, stage=TA)
    assert change.value.code == undo.value.code == "locked"
    assert change.value.messages == [services.LOCKED_MESSAGE]
    assert record.decisions.get(reviewer=reviewer).verdict == "maybe"


def test_a_lead_reopens_a_locked_record_and_the_reviewer_decides_again(
    client, review, records, reviewer, second_reviewer, lead
):
    record = records[0]
    mine = services.record_decision(record=record, user=reviewer, stage=TA, verdict="exclude")
    services.record_decision(record=record, user=second_reviewer, stage=TA, verdict="include")
    client.force_login(lead)
    client.post(
        reverse("screening:withdraw", args=[review.slug, TA, record.pk]), {"decision": mine.pk}
    )
    services.record_decision(record=record, user=reviewer, stage=TA, verdict="include")
    assert RecordScreening.objects.get(record=record, stage=TA).outcome == "include"


def test_a_refused_change_or_undo_is_a_clear_message_on_the_page(
    client, review, records, reviewer, second_reviewer
):
    record = records[0]
    services.record_decision(record=record, user=reviewer, stage=TA, verdict="include")
    client.force_login(reviewer)
    page = client.get(reverse("screening:screen_record", args=[review.slug, TA, record.pk]))
    assert "until another reviewer has decided this record" in page.content.decode()
    services.record_decision(record=record, user=second_reviewer, stage=TA, verdict="exclude")

    decide_url = reverse("screening:decide", args=[review.slug, TA, record.pk])
    for headers in ({}, {"HX-Request": "true"}):
        refused = client.post(decide_url, {"verdict": "exclude"}, headers=headers)
        assert refused.status_code == 200
        assert "Ask a lead to reopen the record" in refused.content.decode()
    undone = client.post(reverse("screening:undo", args=[review.slug, TA]), follow=True)
    assert undone.status_code == 200
    assert "Ask a lead to reopen the record" in undone.content.decode()
    assert record.decisions.get(reviewer=reviewer).verdict == "include"


# Unblinding ------------------------------------------------------------------------------


def test_the_end_of_a_stage_unblinds_it_and_new_records_make_it_blind_again(
    review, records, reviewer, second_reviewer
):
    for record in records:
        for person in (reviewer, second_reviewer):
            services.record_decision(record=record, user=person, stage=TA, verdict="exclude")
    assert Unblinding.objects.filter(review=review, stage=TA).exists()
    ended = review.audit_events.get(action="screening.unblinded")
    assert "Title and abstract screening ended" in ended.summary

    make_record(review, "A late record from a hand search")
    services.sync_screening_rows(review=review)
    assert not Unblinding.objects.filter(review=review).exists()
    assert "blind again" in review.audit_events.get(action="screening.reblinded").summary


def test_a_conflict_keeps_the_stage_blind_until_the_lead_resolves_it(
    review, records, reviewer, second_reviewer, lead
):
    for record in records:
        services.record_decision(record=record, user=reviewer, stage=TA, verdict="exclude")
        services.record_decision(record=record, user=second_reviewer, stage=TA, verdict="maybe")
    assert not Unblinding.objects.exists()
    for record in records:
        services.resolve_record(record=record, user=lead, stage=TA, verdict="exclude")
    assert Unblinding.objects.filter(review=review, stage=TA).exists()


def test_switching_blind_mode_off_is_logged_as_unblinding(review, lead):
    services.update_screening_settings(review=review, user=lead, blind=False)
    event = review.audit_events.get(action="screening.unblinded")
    assert event.actor == lead
    assert "unblinded screening" in event.summary
    services.update_screening_settings(review=review, user=lead, blind=True)
    assert review.audit_events.filter(action="screening.reblinded").exists()


# Reports ---------------------------------------------------------------------------------


def test_a_blind_reviewer_gets_no_prisma_counts_and_the_lead_does(
    client, review, records, reviewer, second_reviewer, lead
):
    services.record_decision(record=records[0], user=reviewer, stage=TA, verdict="exclude")
    services.record_decision(record=records[0], user=second_reviewer, stage=TA, verdict="exclude")
    client.force_login(reviewer)
    page = client.get(reverse("extraction:reports", args=[review.slug])).content.decode()
    assert "Records excluded" not in page
    assert "Screening is blind" in page
    diagram = client.get(reverse("extraction:prisma", args=[review.slug, "svg"]))
    assert diagram.status_code == 403
    client.force_login(lead)
    page = client.get(reverse("extraction:reports", args=[review.slug])).content.decode()
    assert "Records excluded" in page
    assert client.get(reverse("extraction:prisma", args=[review.slug, "svg"])).status_code == 200


def test_my_decisions_show_no_record_status_while_blind(
    client, review, records, reviewer, second_reviewer
):
    for person, verdict in ((reviewer, "include"), (second_reviewer, "exclude")):
        services.record_decision(record=records[0], user=person, stage=TA, verdict=verdict)
    client.force_login(reviewer)
    page = client.get(reverse("screening:mine", args=[review.slug, TA])).content.decode()
    assert "Record status" not in page
    assert "conflict" not in page


# Full-text exclusion reasons ---------------------------------------------------------------


@pytest.fixture
def at_full_text(review, records, reviewer, second_reviewer):
    config = services.config_for(review)
    config.exclusion_reasons = ["Wrong population", "Wrong outcomes"]
    config.save()
    for person in (reviewer, second_reviewer):
        services.record_decision(record=records[0], user=person, stage=TA, verdict="include")
    return records[0]


def test_two_exclusions_for_different_reasons_are_a_conflict_at_full_text(
    review, at_full_text, reviewer, second_reviewer, lead
):
    record = at_full_text
    services.record_decision(
        record=record, user=reviewer, stage=FT, verdict="exclude", reason="Wrong population"
    )
    services.record_decision(
        record=record,
        user=second_reviewer,
        stage=FT,
        verdict="exclude",
        reason="Wrong outcomes",
    )
    assert RecordScreening.objects.get(record=record, stage=FT).status == "conflict"
    with pytest.raises(ValidationError, match="reason"):
        services.resolve_record(record=record, user=lead, stage=FT, verdict=Verdict.EXCLUDE)
    services.resolve_record(
        record=record, user=lead, stage=FT, verdict=Verdict.EXCLUDE, reason="Wrong outcomes"
    )
    assert reporting.full_text_reasons(review) == {record.pk: "Wrong outcomes"}
    assert reporting.prisma_counts(review).excluded_reasons == (("Wrong outcomes", 1),)


def test_two_exclusions_for_the_same_reason_agree_at_full_text(
    review, at_full_text, reviewer, second_reviewer
):
    for person in (reviewer, second_reviewer):
        services.record_decision(
            record=at_full_text,
            user=person,
            stage=FT,
            verdict="exclude",
            reason="Wrong outcomes",
        )
    state = RecordScreening.objects.get(record=at_full_text, stage=FT)
    assert (state.status, state.outcome) == ("resolved", "exclude")
    assert reporting.full_text_reasons(review) == {at_full_text.pk: "Wrong outcomes"}


def test_a_review_may_let_full_text_reasons_differ(review, at_full_text, reviewer, second_reviewer):
    services.update_screening_settings(review=review, user=None, full_text_reasons_must_agree=False)
    for person, reason in ((reviewer, "Wrong population"), (second_reviewer, "Wrong outcomes")):
        services.record_decision(
            record=at_full_text, user=person, stage=FT, verdict="exclude", reason=reason
        )
    assert RecordScreening.objects.get(record=at_full_text, stage=FT).status == "resolved"
    services.update_screening_settings(review=review, user=None, full_text_reasons_must_agree=True)
    assert RecordScreening.objects.get(record=at_full_text, stage=FT).status == "conflict"


def test_title_and_abstract_exclusions_need_not_agree_on_a_reason(
    review, records, reviewer, second_reviewer
):
    config = services.config_for(review)
    config.exclusion_reasons = ["Wrong population", "Wrong outcomes"]
    config.save()
    for person, reason in ((reviewer, "Wrong population"), (second_reviewer, "Wrong outcomes")):
        services.record_decision(
            record=records[1], user=person, stage=TA, verdict="exclude", reason=reason
        )
    assert RecordScreening.objects.get(record=records[1], stage=TA).status == "resolved"
