"""A null byte (%00) in a query parameter, a form field or a cookie is refused with a 400, never
a 500.

PostgreSQL refuses NUL in text: `?extractor=%00` on the exports reached the database and failed
there, as did a session cookie holding one. One middleware refuses it for every address, so
these run as the review's lead, who may open every one of them: without it, the request would
reach the view.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import make_record

EXPORTS = ("extraction:workbook", "extraction:csv", "extraction:backup")


@pytest.fixture
def lead_client(client, review, lead, extractors):
    make_record(review)
    client.force_login(lead)
    return client


def refused_for(answer, parameter: str) -> bool:
    text = answer.content.decode()
    return (
        answer.status_code == 400
        and answer["Content-Type"].startswith("text/plain")
        and f"'{parameter}'" in text
        and "null byte" in text
    )


@pytest.mark.parametrize("export", EXPORTS)
def test_an_export_for_an_extractor_named_with_a_null_byte_is_a_bad_request(
    lead_client, review, export
):
    address = reverse(export, args=[review.slug])
    assert lead_client.get(f"{address}?extractor=extractor1").status_code == 200  # reachable
    assert refused_for(lead_client.get(f"{address}?extractor=%00"), "extractor")
    assert refused_for(lead_client.get(f"{address}?extractor=extractor1%00"), "extractor")


@pytest.mark.parametrize(
    ("name", "query", "parameter"),
    [
        ("reviewmgr:review_detail", "q=pain%00", "q"),
        ("reviewmgr:review_detail", "page=%00", "page"),
        ("reviewmgr:duplicate_list", "status=%00", "status"),
        ("reviewmgr:audit_log", "actor=%00&format=csv", "actor"),
        ("extraction:ris", "records=included%00", "records"),
        ("reviewmgr:review_detail", "%00=1", "%00"),  # in the parameter's name
    ],
)
def test_a_null_byte_in_any_query_parameter_is_a_bad_request(
    lead_client, review, name, query, parameter
):
    address = reverse(name, args=[review.slug])
    assert lead_client.get(address).status_code == 200
    assert refused_for(lead_client.get(f"{address}?{query}"), parameter)


def test_a_null_byte_in_a_screening_search_is_a_bad_request(lead_client, review):
    address = reverse("screening:mine", args=[review.slug, "ta"])
    assert refused_for(lead_client.get(f"{address}?reason=%00"), "reason")


def test_a_null_byte_in_a_posted_form_field_is_refused_and_changes_nothing(lead_client, review):
    address = reverse("reviewmgr:review_edit", args=[review.slug])
    answer = lead_client.post(address, {"title": "Pain\x00review", "slug": review.slug})
    assert refused_for(answer, "title")
    review.refresh_from_db()
    assert review.title == "Pain review"


def test_a_null_byte_is_refused_before_logging_in_too(client):
    assert refused_for(client.get("/accounts/login/?next=/%00"), "next")


def test_a_session_cookie_holding_a_null_byte_is_a_bad_request_not_a_failed_lookup(client):
    client.cookies["sessionid"] = "abcdefgh\x00ijkl"
    assert refused_for(client.get("/accounts/login/"), "sessionid")
