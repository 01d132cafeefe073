"""Fixtures shared by the whole suite: personae, a review, small record helpers."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from reviewmgr import services
from reviewmgr.models import ImportBatch, Membership, Record, Review, User

# Tests speak plain HTTP to their own servers. Set once for the session: the live server
# builds its middleware before any per-test override could apply.
django_settings.SECURE_SSL_REDIRECT = False
django_settings.SESSION_COOKIE_SECURE = False
django_settings.CSRF_COOKIE_SECURE = False
django_settings.SECURE_HSTS_SECONDS = 0

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
DATA = Path(__file__).resolve().parent / "data"


# Folders whose tests need more than Python and a database, marked so that `-m "not e2e"` or
# `-m "not production"` leaves them out while working on something else.
FOLDER_MARKERS = {"e2e": "e2e", "production": "production"}


def pytest_collection_modifyitems(items) -> None:
    tests = Path(__file__).resolve().parent
    for item in items:
        folder = item.path.relative_to(tests).parts[0]
        if folder in FOLDER_MARKERS:
            item.add_marker(FOLDER_MARKERS[folder])


def corpus_path(*parts: str) -> Path:
    """A file of the shared corpus; skips only where the corpus folder is absent (never in CI)."""
    if not CORPUS.exists():
        if os.environ.get("CI"):
            pytest.fail(f"The shared corpus is missing at {CORPUS}; CI must have it.")
        pytest.skip(f"the shared corpus is not beside the checkout ({CORPUS})")
    return CORPUS.joinpath(*parts)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """On SQLite, the test database is a file (on tmpfs where there is one), never shared
    memory. With shared memory the live server hands every request thread the test thread's
    one connection, so two overlapping requests (an autosave and a click) run on the same
    connection and fail with "cannot start a transaction within a transaction". With a file,
    each thread has its own connection and writers wait for each other as in production."""
    database = django_settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.sqlite3":
        yield
        return
    shm = Path("/dev/shm")
    folder = Path(tempfile.mkdtemp(prefix="reviewmgr-test-", dir=shm if shm.is_dir() else None))
    database.setdefault("TEST", {})["NAME"] = str(folder / "test.sqlite3")
    yield
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    from django.core.cache import cache

    from screening import prioritisation

    cache.clear()  # progress, claims and counts must not leak from one test into another
    prioritisation._fitted.clear()  # nor a ranker fitted on another test's records
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def make_user(username: str) -> User:
    return User.objects.create_user(username=username, password="a-long-test-password")


def make_review(lead: User, slug: str = "pain-review", title: str = "Pain review") -> Review:
    return services.create_review(title=title, slug=slug, user=lead)


def add_member(review: Review, user: User, *roles: str) -> Membership:
    return Membership.objects.create(
        review=review, user=user, **{f"is_{role}": True for role in roles}
    )


def make_record(review: Review, title: str = "A trial of PRP", **fields) -> Record:
    batch = review.batches.first() or ImportBatch.objects.create(
        review=review, status=ImportBatch.Status.DONE, file_name="made-in-test.ris"
    )
    position = batch.records.count()
    return Record.objects.create(
        review=review, batch=batch, position=position, title=title, **fields
    )


@pytest.fixture
def lead(db) -> User:
    return make_user("lead")


@pytest.fixture
def reviewer(db) -> User:
    return make_user("reviewer")


@pytest.fixture
def second_reviewer(db) -> User:
    return make_user("second_reviewer")


@pytest.fixture
def outsider(db) -> User:
    return make_user("outsider")


@pytest.fixture
def review(lead, reviewer, second_reviewer) -> Review:
    review = make_review(lead)
    add_member(review, reviewer, Membership.Role.REVIEWER)
    add_member(review, second_reviewer, Membership.Role.REVIEWER)
    return review


# Extraction builders ------------------------------------------------------------------------


def include_at_full_text(review: Review, title: str = "PRP for diabetic neuropathy in rats"):
    """A record of `review` that both reviewers included at full text (no decisions written:
    its screening row says so), ready to become a study."""
    from screening.models import RecordScreening, Stage

    record = make_record(review, title, year=2021)
    RecordScreening.objects.create(
        review=review,
        record=record,
        stage=Stage.FULL_TEXT,
        status=RecordScreening.Status.RESOLVED,
        outcome="include",
        decision_count=2,
    )
    return record


def make_study(review: Review, title: str = "PRP for diabetic neuropathy in rats"):
    """The study of a record included at full text."""
    from extraction import services as extraction
    from extraction.models import Study

    record = include_at_full_text(review, title)
    extraction.sync_studies(review=review)
    return Study.objects.get(review=review, record=record)


def answer(extraction, user: User, values: dict) -> None:
    """Answer the form's fields one by one through the service, as the autosaving form does."""
    from extraction import services as extraction_services

    for path, raw in values.items():
        extraction_services.save_value(extraction=extraction, path=path, raw=raw, user=user)
    extraction.refresh_from_db()


@pytest.fixture
def extractors(review) -> tuple[User, User]:
    first, second = make_user("extractor1"), make_user("extractor2")
    add_member(review, first, Membership.Role.EXTRACTOR)
    add_member(review, second, Membership.Role.EXTRACTOR)
    return first, second


@pytest.fixture
def study(review):
    return make_study(review)
