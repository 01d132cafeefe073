"""Personal tokens: made on the account page or by a command, shown once, stored as a digest,
refused once revoked; an API request without one gets 401, not the log-in page."""

import hashlib

from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from api import tokens
from api.models import PersonalToken

REVIEWS = "/api/reviews/"


def bearer(text: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {text}")
    return client


def test_a_request_without_a_token_gets_401_and_says_how_to_authenticate(db):
    response = APIClient().get(REVIEWS)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "credentials were not provided" in response.json()["detail"]


def test_the_account_page_shows_a_new_token_once_and_keeps_only_its_digest(client, reviewer):
    client.force_login(reviewer)
    response = client.post(reverse("api_tokens:list"), {"name": "R on my laptop"}, follow=True)
    text = response.context["made"]
    assert text.startswith("rvm_") and text in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    stored = PersonalToken.objects.get(user=reviewer)
    assert stored.digest == hashlib.sha256(text.encode()).hexdigest()
    assert text not in str(PersonalToken.objects.values().get())

    listed = client.get(reverse("api_tokens:list")).content.decode()
    assert "R on my laptop" in listed and text not in listed
    assert bearer(text).get(REVIEWS).status_code == 200


def test_a_token_needs_a_name(client, reviewer):
    client.force_login(reviewer)
    response = client.post(reverse("api_tokens:list"), {"name": "   "})
    assert response.status_code == 200
    assert "Give the token a name" in response.content.decode()
    assert not PersonalToken.objects.exists()


def test_a_revoked_token_is_refused_and_says_so(client, reviewer):
    token, text = tokens.create_token(user=reviewer, name="old script")
    assert bearer(text).get(REVIEWS).status_code == 200
    client.force_login(reviewer)
    client.post(reverse("api_tokens:revoke", args=[token.pk]))
    response = bearer(text).get(REVIEWS)
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_nobody_revokes_anothers_token(client, reviewer, outsider):
    token, text = tokens.create_token(user=reviewer, name="mine")
    client.force_login(outsider)
    assert client.post(reverse("api_tokens:revoke", args=[token.pk])).status_code == 404
    assert bearer(text).get(REVIEWS).status_code == 200


def test_a_deactivated_users_token_stops_working(reviewer):
    _, text = tokens.create_token(user=reviewer, name="script")
    reviewer.is_active = False
    reviewer.save()
    assert bearer(text).get(REVIEWS).status_code == 401


def test_a_made_up_or_malformed_token_is_refused(db):
    assert bearer("rvm_not-a-real-token").get(REVIEWS).status_code == 401
    assert bearer("something-else").get(REVIEWS).status_code == 401
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer two words")
    response = client.get(REVIEWS)
    assert response.status_code == 401 and "one token" in response.json()["detail"]


def test_the_command_prints_a_working_token(reviewer, capsys):
    call_command("api_token", "reviewer", "--name", "nightly export")
    text = capsys.readouterr().out.strip()
    assert bearer(text).get(REVIEWS).status_code == 200
    assert PersonalToken.objects.get(user=reviewer).name == "nightly export"


def test_the_command_names_an_unknown_user(db):
    import pytest
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="no active user called 'nobody'"):
        call_command("api_token", "nobody")


def test_the_last_use_is_noted(reviewer):
    token, text = tokens.create_token(user=reviewer, name="script")
    assert token.last_used_at is None
    bearer(text).get(REVIEWS)
    token.refresh_from_db()
    assert token.last_used_at is not None
