"""Concurrent requests never lose or double-count a decision (real connections, PostgreSQL)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse

from screening import services
from screening.models import Decision, RecordScreening, Stage
from tests.conftest import add_member, make_record, make_user

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="row locks are exercised on PostgreSQL (CI runs the suite there too)",
    ),
]
TA = Stage.TITLE_ABSTRACT


def post_together(posts: list[tuple]) -> list[int]:
    """Each (user, url, data) posted from its own thread and connection, released together."""
    barrier = threading.Barrier(len(posts))

    def send(post):
        user, url, data = post
        client = Client()
        client.force_login(user)
        barrier.wait()
        try:
            return client.post(url, data).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(len(posts)) as pool:
        return list(pool.map(send, posts))


def test_two_reviewers_deciding_the_same_records_at_once_are_both_counted(
    review, reviewer, second_reviewer
):
    records = [make_record(review, f"Record {n}") for n in range(12)]
    services.sync_screening_rows(review=review)
    for record in records:
        url = reverse("screening:decide", args=[review.slug, TA, record.pk])
        statuses = post_together(
            [
                (reviewer, url, {"verdict": "include"}),
                (second_reviewer, url, {"verdict": "exclude", "reason": "Wrong population"}),
            ]
        )
        assert statuses == [302, 302]
    for record in records:
        state = RecordScreening.objects.get(record=record, stage=TA)
        assert (state.decision_count, state.status) == (2, RecordScreening.Status.CONFLICT)
        assert Decision.objects.filter(record=record).count() == 2


def test_a_double_submitted_decision_is_stored_once(review, reviewer):
    record = make_record(review)
    services.sync_screening_rows(review=review)
    url = reverse("screening:decide", args=[review.slug, TA, record.pk])
    statuses = post_together([(reviewer, url, {"verdict": "include"})] * 6)
    assert statuses == [302] * 6
    assert Decision.objects.filter(record=record).count() == 1
    assert RecordScreening.objects.get(record=record, stage=TA).decision_count == 1


def test_a_third_reviewer_racing_two_others_never_makes_three_decisions(
    review, reviewer, second_reviewer
):
    third = make_user("third")
    add_member(review, third, "reviewer")
    for n in range(8):
        record = make_record(review, f"Race {n}")
        services.sync_screening_rows(review=review)
        url = reverse("screening:decide", args=[review.slug, TA, record.pk])
        post_together(
            [(user, url, {"verdict": "include"}) for user in (reviewer, second_reviewer, third)]
        )
        state = RecordScreening.objects.get(record=record, stage=TA)
        assert Decision.objects.filter(record=record).count() == state.decision_count == 2
        assert (state.status, state.outcome) == ("resolved", "include")
