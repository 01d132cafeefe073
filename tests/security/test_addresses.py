"""Addresses no page answers: an id longer than any row's, a path under /api/ that is not there.
A 404 each (JSON under /api/), never a 500."""

from tests.api.conftest import client_for

HUGE = "9" * 25  # past any 64-bit id


def test_an_id_too_long_for_any_row_is_not_found(client, review, lead):
    client.force_login(lead)
    assert client.get(f"/reviews/{review.slug}/records/{HUGE}/").status_code == 404
    assert client.get(f"/reviews/{review.slug}/records/999999999999999999/").status_code == 404
    api = client_for(lead)
    response = api.get(f"/api/reviews/{review.slug}/records/{HUGE}/")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    batch = api.get(f"/api/reviews/{review.slug}/records/", {"batch": HUGE})
    assert batch.status_code == 400


def test_an_address_under_api_that_is_not_there_answers_in_json(client, db):
    response = client.get("/api/reviews/no such review/")
    assert response.status_code == 404
    assert "no such address in the API" in response.json()["detail"]
    assert client.get("/no-such-page/")["Content-Type"].startswith("text/html")
