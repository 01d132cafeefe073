"""How many database queries the reviewer's screen costs, on a review of realistic size.

Deciding a record and getting the next one is the request a team sends most, many times a
second when fifty people screen. Its cost must not grow with the review (an N+1 over the
records, the decisions or the reviewers would show here) nor creep up unnoticed. The review
has 300 records and four other reviewers: 100 records excluded by two of them, the other 200
included by one, so the record our member includes is settled by their decision (the path
that also moves it on to full text and checks whether the stage ended), and the next one
has another reviewer's decision, shown where the member may see it.
"""

import re

import pytest
from django.test import override_settings
from django.urls import reverse

from reviewmgr.models import Membership, User
from screening import prioritisation, services
from screening.models import Decision, RecordScreening, Stage
from tests.conftest import add_member, make_record, make_review, make_user

TA = Stage.TITLE_ABSTRACT
HTMX = {"HX-Request": "true"}
DECIDE_ACTION = re.compile(r'action="/reviews/[^/]+/screen/ta/(\d+)/decide/"')

# Queries per request on this review, the session and the user among them; the savepoints
# of the test's transaction count too (about 1 in 6 of the decision's).
PAGE_QUERIES = {"blind": 12, "unblinded": 11}
DECIDE_QUERIES = {"blind": 27, "unblinded": 24}


@pytest.fixture(scope="module")
def busy(django_db_setup, django_db_blocker):
    """The review, built once for the module (400 decisions take seconds) and removed after
    it; each test's own requests roll back with the test's transaction."""
    # Built outside any test's transaction, so commit hooks run at once: rankings are queued to
    # a backend that keeps them (as a test's rolled-back transaction would never send them),
    # not to threads that would still write while the tests run.
    quiet = override_settings(
        TASKS={"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}},
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    )
    with django_db_blocker.unblock(), quiet:
        lead, reviewer = make_user("busy-lead"), make_user("busy-reviewer")
        review = make_review(lead, slug="busy-review")
        add_member(review, reviewer, Membership.Role.REVIEWER)
        Membership.objects.filter(review=review, user=lead).update(is_reviewer=True)
        others = [make_user(f"colleague{n}") for n in range(4)]
        for colleague in others:
            add_member(review, colleague, Membership.Role.REVIEWER)
        records = [make_record(review, f"Trial {n} of exercise for knee pain") for n in range(300)]
        services.sync_screening_rows(review=review)
        for n, record in enumerate(records):
            deciders = [others[n % 4], others[(n + 1) % 4]] if n < 100 else [others[n % 4]]
            for colleague in deciders:
                verdict = "exclude" if n < 100 else "include"
                services.record_decision(record=record, user=colleague, stage=TA, verdict=verdict)
        prioritisation.rank_queue(review=review)
    yield review, reviewer, lead
    with django_db_blocker.unblock():
        review.delete()
        User.objects.filter(pk__in=[lead.pk, reviewer.pk, *(o.pk for o in others)]).delete()


@pytest.fixture
def busy_review(busy, db):
    return busy[0]


@pytest.fixture
def reviewer(busy, db):
    return busy[1]


@pytest.fixture
def lead(busy, db):
    return busy[2]


def member(who, reviewer, lead):
    return {"reviewer": reviewer, "lead": lead}[who]


def set_blind(review, lead, blind: bool) -> None:
    if services.config_for(review).blind != blind:
        services.update_screening_settings(review=review, user=lead, blind=blind)


def served_record_id(response) -> int:
    return int(DECIDE_ACTION.search(response.content.decode()).group(1))


@pytest.mark.parametrize("mode", ["blind", "unblinded"])
@pytest.mark.parametrize("who", ["reviewer", "lead"])
def test_the_screen_page_costs_a_fixed_number_of_queries(
    client, busy_review, reviewer, lead, who, mode, django_assert_max_num_queries
):
    set_blind(busy_review, lead, blind=mode == "blind")
    client.force_login(member(who, reviewer, lead))
    url = reverse("screening:screen", args=[busy_review.slug, TA])
    client.get(url)  # the first visit claims the record; the count is of a later one
    with django_assert_max_num_queries(PAGE_QUERIES[mode]):
        response = client.get(url)
    assert response.status_code == 200
    assert "Trial" in response.content.decode()


@pytest.mark.parametrize("mode", ["blind", "unblinded"])
@pytest.mark.parametrize("who", ["reviewer", "lead"])
def test_deciding_and_getting_the_next_record_costs_a_fixed_number_of_queries(
    client, busy_review, reviewer, lead, who, mode, django_assert_max_num_queries
):
    set_blind(busy_review, lead, blind=mode == "blind")
    user = member(who, reviewer, lead)
    client.force_login(user)
    page = client.get(reverse("screening:screen", args=[busy_review.slug, TA]))
    record_id = served_record_id(page)
    url = reverse("screening:decide", args=[busy_review.slug, TA, record_id])
    with django_assert_max_num_queries(DECIDE_QUERIES[mode]):
        response = client.post(url, {"verdict": "include"}, headers=HTMX)
    assert response.status_code == 200
    assert served_record_id(response) != record_id
    assert Decision.objects.get(record_id=record_id, reviewer=user).verdict == "include"
    state = RecordScreening.objects.get(record_id=record_id, stage=TA)
    assert (state.status, state.outcome) == (RecordScreening.Status.RESOLVED, "include")
    assert RecordScreening.objects.filter(record_id=record_id, stage=Stage.FULL_TEXT).exists()
