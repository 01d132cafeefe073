"""What a process loads when it starts and when it serves pages.

Every command and every web process imports the URLconf; the statistics and machine-learning
libraries (scikit-learn, scipy, pandas, matplotlib, openpyxl, statsmodels) take seconds and
hundreds of MB to load, so they must wait for the code that uses them. Each test runs a fresh
interpreter on the project's settings, since this test process has loaded them long ago.
"""

import json
import os
import subprocess
import sys
from urllib.parse import quote

import pytest
from django.db import connection

from reviewmgr.models import Membership
from screening import services as screening_services
from screening.models import Stage
from tests.conftest import ROOT, add_member, make_record, make_review, make_user

HEAVY = ("sklearn", "scipy", "pandas", "matplotlib", "openpyxl", "statsmodels")


def run_python(code: str, *, database_url: str = "") -> dict:
    """Run `code` in a fresh interpreter on the project's settings; it prints one JSON line."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "reviewmgr.settings",
        "PYTHONPATH": str(ROOT),
        "SECRET_KEY": "startup-test-key",
        "ALLOWED_HOSTS": "testserver",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    result = subprocess.run(  # noqa: S603 (our own interpreter and code)
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_starting_a_process_and_loading_every_url_loads_no_heavy_library(tmp_path):
    """What `manage.py check` and every web or worker process do first: set up the apps,
    run the system checks, build the URLconf and import the task modules."""
    code = f"""
import io, json, sys
import django
django.setup()
from django.core.management import call_command
from django.urls import get_resolver, reverse
call_command("check", stdout=io.StringIO())
get_resolver().url_patterns
reverse("screening:dashboard", args=["a-review"])
import reviewmgr.tasks, screening.tasks, extraction.tasks
print(json.dumps({{"loaded": sorted(m for m in {HEAVY!r} if m in sys.modules)}}))
"""
    outcome = run_python(code, database_url=f"sqlite:///{tmp_path / 'unused.sqlite3'}")

    assert outcome["loaded"] == []


def _database_url() -> str:
    """The test database, as this test process sees it, for a second process to open."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user = quote(settings["USER"] or "", safe="")
    password = quote(settings["PASSWORD"] or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    port = f":{settings['PORT']}" if settings["PORT"] else ""
    return f"postgres://{credentials}{settings['HOST'] or ''}{port}/{settings['NAME']}"


WEB_WORKER = """
import json, sys
import django
from django.conf import settings

# as tests/conftest.py does: static files without collectstatic, and a queue that keeps the
# tasks it is given (as Redis would) instead of running them in this process
settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
django.setup()

from django.tasks import default_task_backend
from django.test import Client
from django.urls import reverse

from reviewmgr.models import Record, Review, User
from screening.models import Decision

review = Review.objects.get(slug="%(slug)s")
reviewer = User.objects.get(username="reviewer")
undecided = (
    Record.objects.filter(review=review)
    .exclude(pk__in=Decision.objects.filter(reviewer=reviewer).values("record_id"))
    .order_by("pk")
    .first()
)
as_reviewer = Client()
as_reviewer.force_login(reviewer)
screen = as_reviewer.get(reverse("screening:screen", args=[review.slug, "ta"]))
decide = as_reviewer.post(
    reverse("screening:decide", args=[review.slug, "ta", undecided.pk]),
    {"verdict": "include"},
    headers={"HX-Request": "true"},
)
own_dashboard = as_reviewer.get(reverse("screening:dashboard", args=[review.slug]))
as_lead = Client()
as_lead.force_login(User.objects.get(username="lead"))
team_dashboard = as_lead.get(reverse("screening:dashboard", args=[review.slug]))
print(json.dumps({
    "status": [r.status_code for r in (screen, decide, own_dashboard, team_dashboard)],
    "decided": Decision.objects.filter(reviewer=reviewer, record=undecided).exists(),
    "tasks_queued": len(default_task_backend.results),
    "team_dashboard": team_dashboard.content.decode(),
    "loaded": sorted(m for m in %(heavy)r if m in sys.modules),
}))
"""


@pytest.mark.django_db(transaction=True)
def test_a_web_process_serving_screening_pages_loads_no_heavy_library():
    """A reviewer screens and decides (which queues a reordering) and the lead reads the
    dashboard with its stopping estimate: scikit-learn is for the worker that ranks, and
    nothing on these pages needs scipy, pandas or matplotlib."""
    lead, reviewer, second = make_user("lead"), make_user("reviewer"), make_user("second")
    review = make_review(lead)
    add_member(review, reviewer, Membership.Role.REVIEWER)
    add_member(review, second, Membership.Role.REVIEWER)
    records = [
        make_record(review, title=f"{topic} in neuropathic pain: trial {n}")
        for n, topic in enumerate(["Platelet-rich plasma", "IL-6", "Gabapentin"] * 8)
    ]
    screening_services.sync_screening_rows(review=review)
    config = screening_services.config_for(review)
    config.retrain_every = 1
    config.save()
    for number, record in enumerate(records[:10]):
        verdict = "include" if number % 3 == 0 else "exclude"
        for who in (reviewer, second):
            screening_services.record_decision(
                record=record, user=who, stage=Stage.TITLE_ABSTRACT, verdict=verdict
            )

    outcome = run_python(
        WEB_WORKER % {"slug": review.slug, "heavy": HEAVY}, database_url=_database_url()
    )

    assert outcome["status"] == [200, 200, 200, 200]
    assert outcome["decided"]
    assert outcome["tasks_queued"] == 1
    assert "Stopping test</dt><dd>p = " in outcome["team_dashboard"]
    assert "Records screened</dt><dd>11 of 24" in outcome["team_dashboard"]
    assert outcome["loaded"] == []
