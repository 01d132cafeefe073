"""The screen's controls as the server sees them: skipping, reports not retrieved, stopping with
a note, the lead's resolution note, and the lead's own view of progress."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from reviewmgr.models import Membership
from screening import queue, services
from screening.models import Decision, RecordScreening, Stage, StoppingDecision
from tests.conftest import add_member, make_user

TA, FT = Stage.TITLE_ABSTRACT, Stage.FULL_TEXT
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def screen_url(review, stage=TA, **query):
    url = reverse("screening:screen", args=[review.slug, stage])
    return url + "".join(f"?{key}={value}" for key, value in query.items())


def shown_record_id(response) -> int | None:
    state = response.context["state"]
    return state.record_id if state else None


def to_full_text(records, *reviewers):
    for record in records:
        for user in reviewers:
            services.record_decision(record=record, user=user, stage=TA, verdict="include")


# Next skips -------------------------------------------------------------------------------------


def test_next_skips_the_record_on_screen_and_it_comes_back_when_the_rest_is_done(
    client, review, records, reviewer
):
    client.force_login(reviewer)
    first = shown_record_id(client.get(screen_url(review)))

    response = client.get(screen_url(review, skip=first))
    assert response.status_code == 302 and response.url == screen_url(review)
    second = shown_record_id(client.get(screen_url(review)))
    assert second != first

    for record in records:
        if record.pk != first:
            services.record_decision(record=record, user=reviewer, stage=TA, verdict="exclude")
    assert shown_record_id(client.get(screen_url(review))) == first


def test_a_skipped_record_goes_to_another_reviewer_meanwhile(
    client, review, records, reviewer, second_reviewer
):
    services.update_screening_settings(review=review, user=reviewer, reviewers_required=1)
    for state in RecordScreening.objects.filter(review=review):
        state.required = 1
        state.save()
    client.force_login(reviewer)
    first = shown_record_id(client.get(screen_url(review)))
    client.get(screen_url(review, skip=first))

    assert queue.next_record(review, second_reviewer, TA).record_id == first


def test_a_skip_that_is_not_a_number_is_ignored(client, review, records, reviewer):
    client.force_login(reviewer)
    response = client.get(screen_url(review, skip="²"))
    assert response.status_code == 200
    assert shown_record_id(response) is not None


def test_a_decision_changes_only_the_record_posted(client, review, records, reviewer):
    client.force_login(reviewer)
    url = reverse("screening:decide", args=[review.slug, TA, records[1].pk])
    response = client.post(url, {"verdict": "exclude"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    decided = Decision.objects.filter(reviewer=reviewer)
    assert list(decided.values_list("record_id", flat=True)) == [records[1].pk]


# Reports not retrieved --------------------------------------------------------------------------


def test_a_report_not_retrieved_is_neither_served_nor_counted_as_to_go(
    client, review, records, reviewer, second_reviewer
):
    to_full_text(records[:2], reviewer, second_reviewer)
    services.save_full_text(record=records[0], user=reviewer, not_retrieved=True, note="No copy")

    rows = RecordScreening.objects.for_stage(review, FT)
    assert list(rows.not_retrieved().values_list("record_id", flat=True)) == [records[0].pk]
    assert list(rows.awaiting(reviewer, FT).values_list("record_id", flat=True)) == [records[1].pk]
    mine = queue.progress(review, reviewer, FT)
    assert (mine["mine_left"], mine["not_retrieved"], mine["team_awaiting"]) == (1, 1, 1)
    client.force_login(reviewer)
    page = client.get(screen_url(review, FT))
    assert shown_record_id(page) == records[1].pk
    assert "1 report not retrieved" in page.content.decode()


def test_deciding_a_report_not_retrieved_is_refused_with_a_message(
    client, review, records, reviewer, second_reviewer
):
    to_full_text(records[:1], reviewer, second_reviewer)
    services.save_full_text(record=records[0], user=reviewer, not_retrieved=True)
    with pytest.raises(ValidationError, match="could not be obtained"):
        services.record_decision(
            record=records[0], user=reviewer, stage=FT, verdict="exclude", reason="Language"
        )

    client.force_login(reviewer)
    page = client.get(reverse("screening:screen_record", args=[review.slug, FT, records[0].pk]))
    html = page.content.decode()
    assert "reported as not retrieved and is not screened" in html
    assert html.count("disabled") >= 3  # the three decision buttons
    assert not Decision.objects.filter(stage=FT).exists()


def test_marking_a_report_not_retrieved_moves_on_and_uploading_its_pdf_brings_it_back(
    client, review, records, reviewer, second_reviewer, lead
):
    to_full_text(records[:2], reviewer, second_reviewer)
    client.force_login(reviewer)
    upload = reverse("screening:fulltext_upload", args=[review.slug, records[0].pk])
    response = client.post(upload, {"not_retrieved": "on", "note": "Library could not"})
    assert response.url == screen_url(review, FT)
    assert shown_record_id(client.get(screen_url(review, FT))) == records[1].pk

    client.force_login(lead)
    tab = reverse("screening:status_list", args=[review.slug, FT]) + "?show=not_retrieved"
    listing = client.get(tab)
    assert [state.record_id for state in listing.context["page"]] == [records[0].pk]
    tabs = {key: count for key, _, count in listing.context["tabs"]}
    assert (tabs["not_retrieved"], tabs["unstarted"]) == (1, 1)
    response = client.post(upload, {"pdf": SimpleUploadedFile("paper.pdf", PDF), "back": "resolve"})
    assert response.url == reverse("screening:resolve", args=[review.slug, FT, records[0].pk])

    assert not RecordScreening.objects.for_stage(review, FT).not_retrieved().exists()
    client.force_login(second_reviewer)
    assert shown_record_id(client.get(screen_url(review, FT))) == records[0].pk


# Stopping ---------------------------------------------------------------------------------------


def stopping_url(review):
    return reverse("screening:stopping", args=[review.slug, TA])


def test_the_stop_button_opens_a_confirmation_with_the_estimate_and_changes_nothing(
    client, review, records, lead
):
    client.force_login(lead)
    dashboard = client.get(reverse("screening:dashboard", args=[review.slug])).content.decode()
    assert f'href="{stopping_url(review)}"' in dashboard
    page = client.get(stopping_url(review)).content.decode()
    assert "The stopping test says keep screening." in page
    assert "Records screened" in page and "0 of 3" in page
    assert not StoppingDecision.objects.exists()


@pytest.mark.parametrize("note", ["", "   "])
def test_a_stop_without_a_note_is_refused_with_a_message_and_nothing_is_logged(
    client, review, records, lead, note
):
    client.force_login(lead)
    response = client.post(stopping_url(review), {"action": "stop", "note": note})
    assert response.status_code == 200
    assert "Write a note for the log" in response.content.decode()
    with pytest.raises(ValidationError, match="Write a note"):
        services.stop_screening(review=review, stage=TA, user=lead, note=note)
    assert not StoppingDecision.objects.exists()


def test_a_stop_with_a_note_is_logged_and_resuming_needs_no_note(client, review, records, lead):
    client.force_login(lead)
    response = client.post(stopping_url(review), {"action": "stop", "note": "Budget"})
    assert response.status_code == 302
    assert StoppingDecision.objects.get().note == "Budget"
    assert client.get(stopping_url(review)).status_code == 302  # already stopped: back
    client.post(stopping_url(review), {"action": "resume"})
    assert list(StoppingDecision.objects.values_list("kind", flat=True)) == ["stopped", "resumed"]


# The lead's resolution note ---------------------------------------------------------------------


@pytest.fixture
def resolved(review, records, reviewer, second_reviewer, lead):
    services.record_decision(record=records[0], user=reviewer, stage=TA, verdict="include")
    services.record_decision(record=records[0], user=second_reviewer, stage=TA, verdict="exclude")
    services.resolve_record(
        record=records[0], user=lead, stage=TA, verdict="include", note="Population fits"
    )
    return records[0]


def test_the_resolution_note_shows_on_the_resolve_page(client, review, resolved, lead):
    client.force_login(lead)
    page = client.get(reverse("screening:resolve", args=[review.slug, TA, resolved.pk]))
    html = page.content.decode()
    assert "Note: “Population fits”" in html
    assert "Resolved: include — “Population fits”" in html  # in the history too


def test_the_records_history_shows_the_resolution_note_to_leads(client, review, resolved, lead):
    client.force_login(lead)
    url = reverse("screening:history", args=[review.slug, resolved.pk])
    html = client.get(url).content.decode()
    assert "Population fits" in html
    assert "reviewer · Decided: Include" in html and "second_reviewer · Decided" in html
    partial = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in partial and "Population fits" in partial
    detail = client.get(resolved.get_absolute_url()).content.decode()
    assert f'hx-get="{url}"' in detail


def test_in_blind_mode_a_reviewer_sees_only_their_own_history(client, review, resolved, reviewer):
    client.force_login(reviewer)
    html = client.get(reverse("screening:history", args=[review.slug, resolved.pk])).text
    assert "reviewer · Decided: Include" in html
    assert "second_reviewer" not in html and "Population fits" not in html


# The lead's view ------------------------------------------------------------------------------


def test_a_lead_who_does_not_screen_sees_the_team_progress_and_no_personal_line(
    client, review, records
):
    chief = make_user("chief")
    add_member(review, chief, Membership.Role.LEAD)
    client.force_login(chief)
    html = client.get(reverse("screening:dashboard", args=[review.slug])).content.decode()
    assert "you: 0 decided" not in html
    assert "3 awaiting reviewers' decisions" in html


def test_all_records_lists_resolved_records_too(client, review, resolved, lead):
    client.force_login(lead)
    page = client.get(reverse("screening:status_list", args=[review.slug, TA]))
    assert page.context["show"] == "all"
    assert resolved.pk in [state.record_id for state in page.context["page"]]
    assert "No record here." not in page.content.decode()
