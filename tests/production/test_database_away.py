"""The database going away while a reviewer screens: a clear message, nothing half-written."""

from contextlib import contextmanager

import pytest
from django.db import connection
from django.urls import reverse

from screening.models import Decision, RecordScreening, ScreeningEvent

TA = "ta"


def decide_url(review, record):
    return reverse("screening:decide", args=[review.slug, TA, record.pk])


@contextmanager
def database_away():
    """The next connection attempt really fails: the server's port is closed, or the SQLite
    file's folder is gone. The open connection is set aside (closing an in-memory test database
    would destroy it) and put back afterwards."""
    saved_settings = dict(connection.settings_dict)
    saved_connection = connection.connection
    connection.connection = None
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent-reviewmgr-folder/db.sqlite3"
    else:
        connection.settings_dict.update(HOST="127.0.0.1", PORT="1")
    try:
        yield
    finally:
        if connection.connection is not None and connection.connection is not saved_connection:
            connection.connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved_settings)
        connection.connection = saved_connection


def stored(record):
    return (
        Decision.objects.filter(record=record).count(),
        ScreeningEvent.objects.filter(record=record).count(),
        RecordScreening.objects.get(record=record, stage=TA).decision_count,
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_a_decision_while_the_database_is_away_says_nothing_was_saved(
    client,
    review,
    reviewer,
    records,
    htmx,
):
    client.force_login(reviewer)
    client.raise_request_exception = False
    headers = {"HX-Request": "true"} if htmx else {}
    with database_away():
        response = client.post(
            decide_url(review, records[0]), {"verdict": "include"}, headers=headers
        )

    assert response.status_code == 503
    assert response["Retry-After"]
    text = response.content.decode()
    assert "database could not be reached" in text
    assert "nothing was saved" in text
    assert 'role="alert"' in text
    assert stored(records[0]) == (0, 0, 0)

    # Back again, the same key press records the decision once.
    again = client.post(decide_url(review, records[0]), {"verdict": "include"}, headers=headers)
    assert again.status_code in {200, 302}
    assert stored(records[0]) == (1, 1, 1)


@pytest.mark.django_db(transaction=True)
def test_the_connection_lost_in_the_middle_of_a_decision_leaves_no_part_of_it(
    client,
    review,
    reviewer,
    records,
):
    """PostgreSQL ends the session between the decision's row and its history row."""
    if connection.vendor != "postgresql":
        pytest.skip("needs a server that can end a session mid-transaction (PostgreSQL)")
    table = ScreeningEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION reviewmgr_test_drop_session() RETURNS trigger AS $$ BEGIN "
            "PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            f"CREATE TRIGGER reviewmgr_test_drop BEFORE INSERT ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION reviewmgr_test_drop_session()"
        )
    client.force_login(reviewer)
    client.raise_request_exception = False
    try:
        response = client.post(
            decide_url(review, records[0]), {"verdict": "exclude"}, headers={"HX-Request": "true"}
        )
    finally:
        connection.close()
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER IF EXISTS reviewmgr_test_drop ON {table}")
            cursor.execute("DROP FUNCTION IF EXISTS reviewmgr_test_drop_session()")

    assert response.status_code == 503
    assert "nothing was saved" in response.content.decode()
    # The decision's row had been written in the same transaction: it died with it.
    assert stored(records[0]) == (0, 0, 0)
