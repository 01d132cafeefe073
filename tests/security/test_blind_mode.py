"""Blind screening holds on every path a reviewer can take.

Until the stage ends, a reviewer must not learn another reviewer's decision on a record:
not its verdict, reason, note or tags, in no page, htmx fragment, export or download, before
or after deciding themselves, nor after the record is resolved. Once the stage has ended
the team sees every decision, which is also what shows these checks can see a leak.
(`tests/security/test_two_worlds.py` checks that nothing at all depends on the verdicts.)
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from screening import services
from screening.models import RecordScreening, Stage
from tests.conftest import make_record
from tests.security.conftest import PDF

# The reason is one of the review's list, offered to everyone; only its choice is secret.
SECRET_REASON = "Wrong dose"
SECRET_NOTE = "SECRET-NOTE-Q7 the dose was wrong"
SECRET_TAG = "secret-tag-q7"
HTMX = {"HX-Request": "true"}


@pytest.fixture(params=[Stage.TITLE_ABSTRACT, Stage.FULL_TEXT])
def blind(request, review, lead, reviewer, second_reviewer):
    """Two records at one stage; second_reviewer has excluded the first with a reason, a
    note and a tag, and reviewer has not decided it yet."""
    stage = request.param
    config = services.config_for(review)
    config.exclusion_reasons = ["Wrong population", SECRET_REASON]
    config.save()
    secret, other = make_record(review, "PRP for neuropathy"), make_record(review, "PRP in rats")
    services.sync_screening_rows(review=review)
    if stage == Stage.FULL_TEXT:
        for record in (secret, other):
            for person in (reviewer, second_reviewer):
                services.record_decision(
                    record=record, user=person, stage=Stage.TITLE_ABSTRACT, verdict="include"
                )
    services.record_decision(
        record=secret,
        user=second_reviewer,
        stage=stage,
        verdict="exclude",
        reason=SECRET_REASON,
        note=SECRET_NOTE,
        tags=[SECRET_TAG],
    )
    services.save_full_text(
        record=secret, user=second_reviewer, upload=SimpleUploadedFile("paper.pdf", PDF)
    )
    assert services.config_for(review).blind  # the default
    return review, stage, secret, other


def leaks(response) -> list[str]:
    if getattr(response, "streaming", False):
        body = b"".join(response.streaming_content)
    else:
        body = response.content
    text = body.decode("utf-8", errors="replace")
    found = [secret for secret in (SECRET_NOTE, SECRET_TAG) if secret in text]
    if f'value="{SECRET_REASON}" selected' in text:
        found.append("the other reviewer's reason, chosen")
    if f"({SECRET_REASON})" in text or f"— {SECRET_REASON}" in text:
        found.append("the other reviewer's reason")
    if "Other reviewers" in text or "second_reviewer:" in text:
        found.append("the other reviewers' section")
    return found


def reviewer_paths(review, stage, secret, other) -> list[tuple[str, str, str, dict]]:
    """(label, method, url, data) of every page, fragment and download a reviewer reaches."""
    slug = review.slug
    pages = [
        ("screen the record", reverse("screening:screen_record", args=[slug, stage, secret.pk])),
        ("the queue", reverse("screening:screen", args=[slug, stage])),
        ("my decisions", reverse("screening:mine", args=[slug, stage])),
        ("my decisions, searched", reverse("screening:mine", args=[slug, stage]) + "?q=dose"),
        ("my decisions by tag", reverse("screening:mine", args=[slug, stage]) + "?tag=secret"),
        ("dashboard", reverse("screening:dashboard", args=[slug])),
        ("record page", secret.get_absolute_url()),
        ("review page", review.get_absolute_url()),
        ("review page searched", review.get_absolute_url() + "?q=dose"),
        ("imports", reverse("reviewmgr:batch_list", args=[slug])),
        ("import", secret.batch.get_absolute_url()),
        ("extraction", reverse("extraction:overview", args=[slug])),
        ("reports", reverse("extraction:reports", args=[slug])),
        ("PRISMA diagram", reverse("extraction:prisma", args=[slug, "svg"])),
        ("full text PDF", reverse("screening:fulltext_pdf", args=[slug, secret.pk])),
        ("status list", reverse("screening:status_list", args=[slug, stage])),
        ("resolve page", reverse("screening:resolve", args=[slug, stage, secret.pk])),
        ("audit log", reverse("reviewmgr:audit_log", args=[slug])),
        ("audit log CSV", reverse("reviewmgr:audit_log", args=[slug]) + "?format=csv"),
        ("workbook", reverse("extraction:workbook", args=[slug])),
        ("CSV tables", reverse("extraction:csv", args=[slug])),
        ("RIS", reverse("extraction:ris", args=[slug]) + "?records=all"),
        ("backup", reverse("extraction:backup", args=[slug])),
    ]
    decide = reverse("screening:decide", args=[slug, stage, secret.pk])
    return [
        *((label, "GET", url, {}) for label, url in pages),
        *((f"{label} (htmx)", "HX-GET", url, {}) for label, url in pages[:3]),
        ("a refused decision redrawn", "HX-POST", decide, {"verdict": "exclude", "reason": "?"}),
    ]


def walk_as_reviewer(client, review, stage, secret, other) -> list[str]:
    problems = []
    for label, method, url, data in reviewer_paths(review, stage, secret, other):
        headers = HTMX if method.startswith("HX-") else {}
        if method.endswith("POST"):
            response = client.post(url, data, headers=headers)
        else:
            response = client.get(url, headers=headers)
        assert response.status_code in (200, 403), f"{label}: {response.status_code}"
        problems += [f"{label}: {leak}" for leak in leaks(response)]
    return problems


def test_a_reviewer_who_has_not_decided_sees_nothing_of_the_other_decision(client, blind, reviewer):
    client.force_login(reviewer)
    assert walk_as_reviewer(client, *blind) == []


def test_a_reviewer_who_has_decided_sees_nothing_until_the_record_is_resolved(
    client, blind, reviewer
):
    review, stage, secret, other = blind
    services.record_decision(record=secret, user=reviewer, stage=stage, verdict="include")
    assert RecordScreening.objects.get(record=secret, stage=stage).status == "conflict"
    client.force_login(reviewer)
    assert walk_as_reviewer(client, *blind) == []


def test_searching_my_decisions_never_searches_the_other_reviewers_note(client, blind, reviewer):
    review, stage, secret, other = blind
    services.record_decision(record=secret, user=reviewer, stage=stage, verdict="include")
    client.force_login(reviewer)
    url = reverse("screening:mine", args=[review.slug, stage])
    assert [d.record for d, _ in client.get(url).context["rows"]] == [secret]
    for search in ({"q": "dose"}, {"tag": SECRET_TAG}, {"reason": SECRET_REASON}):
        assert client.get(url, search).context["rows"] == [], search


def test_the_next_record_served_after_a_decision_does_not_leak_either(client, blind, reviewer):
    """Deciding by htmx returns the next record as a fragment: here, the blinded one."""
    review, stage, secret, other = blind
    client.force_login(reviewer)
    response = client.post(
        reverse("screening:decide", args=[review.slug, stage, other.pk]),
        {"verdict": "include"},
        headers=HTMX,
    )
    assert response.context["record"] == secret
    assert leaks(response) == []


def test_undoing_a_decision_shows_the_record_again_without_the_other_decision(
    client, blind, reviewer
):
    review, stage, secret, other = blind
    services.record_decision(record=secret, user=reviewer, stage=stage, verdict="include")
    client.force_login(reviewer)
    response = client.post(reverse("screening:undo", args=[review.slug, stage]), headers=HTMX)
    assert response.context["record"] == secret
    assert leaks(response) == []


def test_once_the_stage_ends_the_team_sees_every_decision(client, blind, reviewer, lead):
    """The control: the same check finds the note once blindness has ended. Resolving the
    record is not enough (the issue's leak); the end of the stage, logged, is."""
    review, stage, secret, other = blind
    services.record_decision(record=secret, user=reviewer, stage=stage, verdict="include")
    client.force_login(lead)
    resolve = reverse("screening:resolve", args=[review.slug, stage, secret.pk])
    assert SECRET_NOTE in leaks(client.get(resolve))  # leads see decisions to resolve them
    services.resolve_record(record=secret, user=lead, stage=stage, verdict="include")
    client.force_login(reviewer)
    url = reverse("screening:screen_record", args=[review.slug, stage, secret.pk])
    assert leaks(client.get(url)) == []

    for person in (reviewer, lead):
        if person == lead:
            person = review.memberships.exclude(user=reviewer).filter(is_reviewer=True)[0].user
        services.record_decision(
            record=other, user=person, stage=stage, verdict="exclude", reason="Wrong population"
        )
    assert review.audit_events.filter(action="screening.unblinded", summary__contains="ended")
    assert SECRET_NOTE in leaks(client.get(url))


def test_without_blind_mode_reviewers_see_each_other_at_once(client, blind, reviewer):
    review, stage, secret, other = blind
    config = services.config_for(review)
    config.blind = False
    config.save()
    client.force_login(reviewer)
    url = reverse("screening:screen_record", args=[review.slug, stage, secret.pk])
    assert SECRET_NOTE in leaks(client.get(url, headers=HTMX))


def dashboard_figures(client, review, stage: str | None = None) -> str:
    """The dashboard, or the panel of one stage on it."""
    page = client.get(reverse("screening:dashboard", args=[review.slug]))
    assert page.status_code == 200
    text = page.content.decode()
    if stage is None:
        return text
    return text.split(f'aria-labelledby="stage-{stage}"')[1].split("</section>")[0]


def test_the_dashboard_does_not_tell_a_reviewer_how_the_other_decided(
    client, blind, reviewer, lead
):
    """The team's counts move with each decision: a reviewer who watches them change after
    deciding a record would learn the other's verdict (a new conflict, or a new agreement).
    While screening is blind, a reviewer sees their own progress only; leads see it all."""
    review, stage, secret, other = blind
    services.record_decision(record=secret, user=reviewer, stage=stage, verdict="include")
    client.force_login(reviewer)
    page = dashboard_figures(client, review)
    panel = dashboard_figures(client, review, stage)
    assert "You: 1 decided" in panel
    for team_figure in ("in conflict", "resolved", "Agreement between reviewers"):
        assert team_figure not in panel, team_figure
    if stage == Stage.TITLE_ABSTRACT:  # the stopping panel follows every decision there
        assert "Relevant found" not in page
    assert "Screening is blind" in page

    client.force_login(lead)
    page = dashboard_figures(client, review)
    assert "1 in conflict" in page
    assert "Agreement between reviewers" in page

    config = services.config_for(review)
    config.blind = False
    config.save()
    client.force_login(reviewer)
    assert "1 in conflict" in dashboard_figures(client, review)
