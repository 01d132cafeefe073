import pytest
from rest_framework.test import APIClient

from api import tokens
from tests.security.conftest import world  # noqa: F401 (a review with everything in it)


def client_for(user) -> APIClient:
    """A script's client: a personal token in the Authorization header, no session."""
    _, text = tokens.create_token(user=user, name="test script")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {text}")
    return client


@pytest.fixture
def api():
    return client_for
