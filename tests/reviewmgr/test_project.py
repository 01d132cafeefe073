"""The project as a whole: admin, production checks, the health endpoint."""

import os
import subprocess
import sys

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.urls import reverse

from reviewmgr.models import AuditEvent
from tests.conftest import ROOT, make_record

# Listed in the admin, never added there: the audit log (see test_audit) and the records of
# login attempts that the password-guessing throttle keeps.
APPEND_ONLY = {AuditEvent, AccessAttempt, AccessLog, AccessFailureLog}


def test_admin_lists_and_adds_every_model(admin_client, review):
    make_record(review)
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        assert admin_client.get(reverse("admin:{}_{}_changelist".format(*info))).status_code == 200
        add = admin_client.get(reverse("admin:{}_{}_add".format(*info)))
        assert add.status_code == (403 if model in APPEND_ONLY else 200)


def test_deploy_check_passes_with_the_documented_production_environment(tmp_path):
    env = {  # exactly the documented production environment, nothing of the test process
        "PATH": os.environ["PATH"],
        "DEBUG": "0",
        "SECRET_KEY": "a" * 20 + "-production-secret-key-that-is-long-and-random-9f8e7d",
        "ALLOWED_HOSTS": "reviews.example.org",
        "REVIEWMGR_VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr + result.stdout


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_a_bad_boolean_in_the_environment_is_named(tmp_path, value):
    env = {**os.environ, "DEBUG": value, "REVIEWMGR_VAR_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert f"DEBUG must be a boolean (1/0, true/false), not '{value}'" in result.stderr


def test_health_endpoint_answers_without_login(client, db):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_pages_carry_a_content_security_policy_without_inline_scripts(client, lead, review):
    client.force_login(lead)
    policy = client.get(review.get_absolute_url()).headers["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in policy
    assert "unsafe-inline" not in policy
