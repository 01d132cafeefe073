"""Password guessing is slowed down; a real user is not locked out by someone else."""

import pytest
from django.conf import settings

LOGIN = "/accounts/login/"


def attempt(client, username, password, address="203.0.113.7"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.fixture
def member(db):
    from tests.conftest import make_user

    return make_user("reviewer")


def test_wrong_passwords_lock_that_username_from_that_address(client, member):
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        refused = attempt(client, "reviewer", "guess")
        assert refused.status_code == 200
        assert "enter a correct username and password" in refused.content.decode()
    locked = attempt(client, "reviewer", "guess")
    assert locked.status_code == 429
    assert "Too many wrong passwords" in locked.content.decode()
    # Even the right password is refused during the pause: the guesser learns nothing.
    right = attempt(client, "reviewer", "a-long-test-password")
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_same_user_elsewhere_and_other_users_still_log_in(client, member):
    from tests.conftest import make_user

    make_user("lead")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "reviewer", "guess")
    from django.test import Client

    colleague = Client()
    assert attempt(colleague, "lead", "a-long-test-password").status_code == 302
    elsewhere = Client()
    reply = attempt(elsewhere, "reviewer", "a-long-test-password", address="198.51.100.9")
    assert reply.status_code == 302


def test_a_success_before_the_limit_clears_the_count(client, member):
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        attempt(client, "reviewer", "guess")
    assert attempt(client, "reviewer", "a-long-test-password").status_code == 302
    client.logout()
    for _ in range(limit - 1):
        assert attempt(client, "reviewer", "guess").status_code == 200
