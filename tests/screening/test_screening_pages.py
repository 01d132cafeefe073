"""The screening pages as reviewers and leads use them."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from reviewmgr import duplicates
from reviewmgr.models import DuplicateGroup, Record
from screening import services
from screening.models import Decision, FullText, RecordScreening, Stage

TA, FT = Stage.TITLE_ABSTRACT, Stage.FULL_TEXT
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def screen_url(review, stage=TA, record=None):
    if record is None:
        return reverse("screening:screen", args=[review.slug, stage])
    return reverse("screening:screen_record", args=[review.slug, stage, record.pk])


def decide_url(review, record, stage=TA):
    return reverse("screening:decide", args=[review.slug, stage, record.pk])


def test_the_screen_shows_the_first_record_with_keywords_highlighted(
    client, review, records, reviewer
):
    review.inclusion_keywords = ["neuropathic"]
    review.exclusion_keywords = ["osteoarthritis"]
    review.save()
    client.force_login(reviewer)
    page = client.get(screen_url(review)).content.decode()
    assert "Platelet-rich plasma for diabetic" in page
    assert '<mark class="kw kw-include" title="inclusion keyword">neuropathy</mark>' in page
    assert "<kbd>I</kbd> Include" in page


def test_a_decision_by_htmx_returns_the_next_record_without_a_page(
    client, review, records, reviewer
):
    client.force_login(reviewer)
    response = client.post(
        decide_url(review, records[0]), {"verdict": "include"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="screen-main"')
    assert "<html" not in html
    assert "IL-6 after chronic constriction injury" in html
    assert Decision.objects.get(record=records[0], reviewer=reviewer).verdict == "include"


def test_a_reviewer_gets_only_records_that_still_need_their_decision(
    client, review, records, reviewer, second_reviewer
):
    for record in records[:2]:
        services.record_decision(record=record, user=reviewer, stage=TA, verdict="include")
    client.force_login(reviewer)
    assert "PRP for knee osteoarthritis" in client.get(screen_url(review)).content.decode()
    client.force_login(second_reviewer)
    assert "Platelet-rich plasma for diabetic" in client.get(screen_url(review)).content.decode()


def test_blind_mode_hides_the_other_decision_until_the_stage_ends(
    client, review, records, reviewer, second_reviewer, lead
):
    """Resolving one record does not unblind it (the issue's leak: "Resolved: Include" and
    the other's note showed at once); the end of the stage does, and the log says so."""
    services.record_decision(
        record=records[0], user=reviewer, stage=TA, verdict="exclude", note="SECRET-NOTE"
    )
    services.record_decision(record=records[0], user=second_reviewer, stage=TA, verdict="include")
    client.force_login(second_reviewer)
    assert "SECRET-NOTE" not in client.get(screen_url(review, record=records[0])).content.decode()
    services.resolve_record(record=records[0], user=lead, stage=TA, verdict="include")
    page = client.get(screen_url(review, record=records[0])).content.decode()
    assert "SECRET-NOTE" not in page
    assert "Resolved" not in page

    for record in records[1:]:
        for person in (reviewer, second_reviewer):
            services.record_decision(record=record, user=person, stage=TA, verdict="exclude")

    page = client.get(screen_url(review, record=records[0])).content.decode()
    assert "SECRET-NOTE" in page
    assert "Resolved: <strong>Include</strong>" in page
    assert review.audit_events.filter(action="screening.unblinded").count() == 1


def test_blind_mode_holds_in_my_decisions_list(client, review, records, reviewer, second_reviewer):
    services.record_decision(
        record=records[0], user=reviewer, stage=TA, verdict="exclude", note="ONLY-MINE"
    )
    client.force_login(second_reviewer)
    page = client.get(reverse("screening:mine", args=[review.slug, TA])).content.decode()
    assert "ONLY-MINE" not in page


def test_undo_withdraws_my_last_decision_and_shows_its_record(client, review, records, reviewer):
    client.force_login(reviewer)
    client.post(decide_url(review, records[0]), {"verdict": "exclude"})
    response = client.post(reverse("screening:undo", args=[review.slug, TA]))
    assert response.url == screen_url(review, record=records[0])
    assert not Decision.objects.filter(reviewer=reviewer).exists()


def test_a_refused_decision_says_why_on_the_screen(
    client, review, records, reviewer, second_reviewer
):
    services.record_decision(record=records[0], user=reviewer, stage=TA, verdict="include")
    services.record_decision(record=records[0], user=second_reviewer, stage=TA, verdict="include")
    client.force_login(reviewer)
    response = client.post(decide_url(review, records[0], FT), {"verdict": "exclude"})
    assert response.status_code == 200
    assert "Give a reason for excluding at this stage." in response.content.decode()


def test_my_decisions_filter_by_verdict_and_tag(client, review, records, reviewer):
    services.record_decision(
        record=records[0], user=reviewer, stage=TA, verdict="include", tags=["animal"]
    )
    services.record_decision(record=records[1], user=reviewer, stage=TA, verdict="exclude")
    client.force_login(reviewer)
    url = reverse("screening:mine", args=[review.slug, TA])
    rows = client.get(url, {"verdict": "include"}).context["rows"]
    assert [d.record for d, _ in rows] == [records[0]]
    assert [d.record for d, _ in client.get(url, {"tag": "animal"}).context["rows"]] == [records[0]]


def test_lead_sees_conflicts_and_resolves_one_in_the_browser(
    client, review, records, reviewer, second_reviewer, lead
):
    services.record_decision(record=records[1], user=reviewer, stage=TA, verdict="include")
    services.record_decision(
        record=records[1],
        user=second_reviewer,
        stage=TA,
        verdict="exclude",
        reason="Wrong population",
    )
    client.force_login(lead)
    listing = client.get(
        reverse("screening:status_list", args=[review.slug, TA]), {"show": "conflict"}
    ).content.decode()
    assert "IL-6 after chronic constriction injury" in listing
    url = reverse("screening:resolve", args=[review.slug, TA, records[1].pk])
    assert "Wrong population" in client.get(url).content.decode()
    client.post(url, {"verdict": "include", "note": "Animal models are in scope"})
    state = RecordScreening.objects.get(record=records[1], stage=TA)
    assert (state.status, state.outcome) == ("resolved", "include")


def test_lead_status_list_counts_records_awaiting_a_second_reviewer(
    client, review, records, reviewer, lead
):
    services.record_decision(record=records[0], user=reviewer, stage=TA, verdict="include")
    client.force_login(lead)
    response = client.get(reverse("screening:status_list", args=[review.slug, TA]))
    tabs = {key: count for key, _, count in response.context["tabs"]}
    assert tabs == {"all": 3, "second": 1, "unstarted": 2, "conflict": 0, "resolved": 0}


@pytest.mark.parametrize(
    "name,args",
    [
        ("screening:screen", [TA]),
        ("screening:mine", [TA]),
        ("screening:dashboard", []),
        ("screening:settings", []),
        ("screening:status_list", [TA]),
    ],
)
def test_outsiders_get_404_on_screening_pages(client, review, records, outsider, name, args):
    client.force_login(outsider)
    assert client.get(reverse(name, args=[review.slug, *args])).status_code == 404


def test_reviewers_cannot_resolve_or_change_settings_and_extractors_cannot_screen(
    client, review, records, reviewer, extractor
):
    client.force_login(reviewer)
    resolve = reverse("screening:resolve", args=[review.slug, TA, records[0].pk])
    assert client.post(resolve, {"verdict": "include"}).status_code == 403
    assert client.get(reverse("screening:settings", args=[review.slug])).status_code == 403
    client.force_login(extractor)
    assert client.get(screen_url(review)).status_code == 403
    assert client.post(decide_url(review, records[0]), {"verdict": "include"}).status_code == 403
    assert not Decision.objects.exists()


def test_an_unknown_stage_is_not_found(client, review, reviewer):
    client.force_login(reviewer)
    assert client.get(reverse("screening:screen", args=[review.slug, "xx"])).status_code == 404


def _to_full_text(record, reviewer, second_reviewer):
    for user in (reviewer, second_reviewer):
        services.record_decision(record=record, user=user, stage=TA, verdict="include")


def test_a_pdf_is_kept_and_shown_beside_the_full_text_form(
    client, review, records, reviewer, second_reviewer, outsider
):
    _to_full_text(records[0], reviewer, second_reviewer)
    client.force_login(reviewer)
    upload = reverse("screening:fulltext_upload", args=[review.slug, records[0].pk])
    client.post(upload, {"pdf": SimpleUploadedFile("paper.pdf", PDF)})
    page = client.get(screen_url(review, FT, records[0])).content.decode()
    pdf_url = reverse("screening:fulltext_pdf", args=[review.slug, records[0].pk])
    assert f'<iframe src="{pdf_url}"' in page
    response = client.get(pdf_url)
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == PDF
    client.force_login(outsider)
    assert client.get(pdf_url).status_code == 404


def test_a_file_that_is_not_a_pdf_is_refused(client, review, records, reviewer, second_reviewer):
    _to_full_text(records[0], reviewer, second_reviewer)
    client.force_login(reviewer)
    upload = reverse("screening:fulltext_upload", args=[review.slug, records[0].pk])
    response = client.post(
        upload, {"pdf": SimpleUploadedFile("paper.pdf", b"MZ\x90\x00 not a pdf")}, follow=True
    )
    assert "This file is not a PDF." in response.content.decode()
    assert not FullText.objects.filter(record=records[0]).exists()


def test_a_full_text_can_be_marked_not_retrieved(
    client, review, records, reviewer, second_reviewer
):
    _to_full_text(records[0], reviewer, second_reviewer)
    client.force_login(reviewer)
    upload = reverse("screening:fulltext_upload", args=[review.slug, records[0].pk])
    client.post(upload, {"not_retrieved": "on", "note": "Library could not supply it"})
    records[0].refresh_from_db()
    assert records[0].full_text.not_retrieved


def test_decisions_on_a_record_found_to_be_a_duplicate_move_to_its_primary(
    review, records, reviewer, second_reviewer, lead
):
    from tests.conftest import make_record

    copy = make_record(review, records[0].title, year=2020)
    services.sync_screening_rows(review=review)
    services.record_decision(record=copy, user=reviewer, stage=TA, verdict="include")
    services.record_decision(record=records[0], user=second_reviewer, stage=TA, verdict="exclude")
    group = DuplicateGroup.objects.create(review=review, score=0.9, reasons=["test"])
    Record.objects.filter(pk__in=[copy.pk, records[0].pk]).update(duplicate_group=group)
    duplicates.merge_group(group=group, user=lead, primary=records[0])
    carried = Decision.objects.get(record=records[0], reviewer=reviewer)
    assert carried.verdict == "include"
    state = RecordScreening.objects.get(record=records[0], stage=TA)
    assert state.status == RecordScreening.Status.CONFLICT  # include vs exclude
    assert not RecordScreening.objects.filter(record=copy).exists()


def test_the_dashboard_shows_agreement_between_the_reviewers(
    client, review, records, lead, reviewer, second_reviewer
):
    """To leads (reviewers see it too once screening is not blind, tests/security)."""
    verdicts = [("include", "include"), ("exclude", "exclude"), ("include", "exclude")]
    for record, (first, second) in zip(records, verdicts, strict=True):
        services.record_decision(
            record=record,
            user=reviewer,
            stage=TA,
            verdict=first,
            reason="Wrong outcomes" if first == "exclude" else "",
        )
        services.record_decision(record=record, user=second_reviewer, stage=TA, verdict=second)
    client.force_login(lead)
    page = client.get(reverse("screening:dashboard", args=[review.slug])).content.decode()
    assert "reviewer &amp; second_reviewer" in page
    assert "<td>67%</td>" in page
    assert '<rect x="0" y="2" width="133" height="14"' in page  # two thirds of the bar
    assert "Cohen" in page


def test_a_third_reviewer_is_not_sent_to_a_record_two_others_are_reading(
    client, review, records, reviewer, second_reviewer
):
    from tests.conftest import add_member, make_user

    third = make_user("third")
    add_member(review, third, "reviewer")
    opened = {}
    for user in (reviewer, second_reviewer, third):
        client.force_login(user)
        opened[user.username] = client.get(screen_url(review)).context["record"]
    assert opened["reviewer"] == opened["second_reviewer"] == records[0]
    assert opened["third"] == records[1]


def test_a_decision_made_while_the_queue_reads_claims_does_not_free_a_place_twice(
    review, records, reviewer, second_reviewer, monkeypatch
):
    """The interleaving that load once showed: a third reviewer's queue has read the records
    (no decision yet on the first) when the first reviewer decides it and gives back their
    place. The place now taken by a decision must not look free, or the third reviewer is
    sent to a record that will refuse their decision as one too many."""
    from screening import queue
    from tests.conftest import add_member, make_user

    third = make_user("third")
    add_member(review, third, "reviewer")
    first = records[0]
    assert queue.next_record(review, reviewer, TA).record == first
    assert queue.next_record(review, second_reviewer, TA).record == first

    real_cache = queue.cache

    class DecisionBetweenReads:
        """The cache, except that reading the claims first lets the first reviewer decide."""

        decided = False

        def get_many(self, keys):
            if not self.decided:
                self.decided = True
                services.record_decision(record=first, user=reviewer, stage=TA, verdict="include")
                queue.release_claim(TA, first.pk, reviewer)
            return real_cache.get_many(keys)

        def __getattr__(self, name):
            return getattr(real_cache, name)

    monkeypatch.setattr(queue, "cache", DecisionBetweenReads())
    served = queue.next_record(review, third, TA)
    assert queue.cache.decided
    assert served.record == records[1]  # the first record's two places: a decision and a reader


def test_the_team_progress_follows_decisions_without_blind_mode(
    client, review, records, reviewer, second_reviewer
):
    config = services.config_for(review)
    config.blind = False
    config.save()
    client.force_login(reviewer)
    before = client.get(screen_url(review)).context["progress"]
    assert (before["mine_done"], before["mine_total"], before["team_total"]) == (0, 3, 3)
    for user in (reviewer, second_reviewer):
        services.record_decision(
            record=records[0], user=user, stage=TA, verdict="exclude", reason="Wrong population"
        )
    from django.core.cache import cache

    cache.clear()  # the team's figures are cached for a few seconds
    after = client.get(screen_url(review)).context["progress"]
    assert (after["mine_done"], after["mine_total"], after["team_resolved"]) == (1, 3, 1)


def test_a_blind_reviewer_sees_their_own_progress_and_no_team_figures(
    client, review, records, reviewer, second_reviewer
):
    for user in (reviewer, second_reviewer):
        services.record_decision(record=records[0], user=user, stage=TA, verdict="include")
    services.record_decision(record=records[1], user=second_reviewer, stage=TA, verdict="maybe")
    client.force_login(reviewer)
    page = client.get(screen_url(review))
    progress = page.context["progress"]
    assert (progress["mine_done"], progress["mine_total"]) == (1, 3)
    assert not {"team_resolved", "team_total", "conflicts"} & set(progress)
    assert "Team:" not in page.content.decode()


def test_lead_withdraws_a_decision_so_another_reviewer_takes_the_record(
    client, review, records, reviewer, second_reviewer, lead
):
    decision = services.record_decision(
        record=records[0], user=reviewer, stage=TA, verdict="include"
    )
    client.force_login(lead)
    client.post(
        reverse("screening:withdraw", args=[review.slug, TA, records[0].pk]),
        {"decision": decision.pk},
    )
    assert not Decision.objects.filter(record=records[0]).exists()
    event = records[0].screening_events.last()
    assert (event.kind, event.actor, event.note) == ("undone", lead, "withdrawn for reviewer")
    client.force_login(reviewer)
    forbidden = client.post(
        reverse("screening:withdraw", args=[review.slug, TA, records[0].pk]), {"decision": 1}
    )
    assert forbidden.status_code == 403


def test_a_lead_posting_an_odd_decision_number_gets_not_found(
    client, review, records, lead, reviewer
):
    services.record_decision(record=records[0], user=reviewer, stage=TA, verdict="include")
    client.force_login(lead)
    withdraw = reverse("screening:withdraw", args=[review.slug, TA, records[0].pk])
    for odd in ("²", "9" * 5000, "-1", "one"):
        assert client.post(withdraw, {"decision": odd}).status_code == 404, odd
    assert Decision.objects.filter(record=records[0]).count() == 1


def test_a_reviewer_overtaken_by_two_others_is_moved_on_with_a_message(
    client, review, records, reviewer, second_reviewer
):
    from tests.conftest import add_member, make_user

    third = make_user("third")
    add_member(review, third, "reviewer")
    for user in (reviewer, second_reviewer):
        services.record_decision(record=records[0], user=user, stage=TA, verdict="include")
    client.force_login(third)
    response = client.post(
        decide_url(review, records[0]), {"verdict": "exclude"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert "already has all the decisions it needs" in html
    assert "here is the next record" in html
    assert response.context["record"] == records[1]
    assert not Decision.objects.filter(reviewer=third).exists()
