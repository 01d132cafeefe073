"""What a real deployment needs beyond the product's pages: mail settings, a password reset that
tells the truth about mail and cannot be used for a flood, an icon, and two installs kept apart
on one Redis server."""

from __future__ import annotations

import os
import re
import runpy
import shutil
import subprocess
import time
import uuid

import pytest
from defusedxml import ElementTree
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.staticfiles import finders
from django.core.cache import CacheHandler
from django.core.exceptions import ImproperlyConfigured
from django.templatetags.static import static

from reviewmgr import accounts
from reviewmgr.settings import email_from_url
from tests.conftest import ROOT
from tests.production.stack import REDIS_URL, redis_or_skip

RESET = "/accounts/password_reset/"
SMTP = "django.core.mail.backends.smtp.EmailBackend"
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"
# Every variable these settings read, cleared so that the machine's own cannot leak into a test.
READ_BY_THESE_SETTINGS = (
    "EMAIL_URL",
    "EMAIL_HOST",
    "EMAIL_PORT",
    "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
    "EMAIL_USE_TLS",
    "EMAIL_USE_SSL",
    "EMAIL_TIMEOUT_SECONDS",
    "DEFAULT_FROM_EMAIL",
    "TASKS_REDIS_URL",
    "CACHE_URL",
    "CACHE_KEY_PREFIX",
)


def settings_with(monkeypatch, tmp_path, **environment: str) -> dict:
    """The settings a process started with `environment` would read."""
    for name in READ_BY_THESE_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECRET_KEY", "deployment-test-key")
    monkeypatch.setenv("REVIEWMGR_VAR_DIR", str(tmp_path / "var"))
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "reviewmgr" / "settings.py"))


# E-mail settings ------------------------------------------------------------------------------


def test_an_smtp_url_with_tls_names_the_server_the_account_and_starttls():
    url = "smtp://reviews%40example.org:p%40ss:w0rd@mail.example.org:2525/?tls=1"
    assert email_from_url(url) == {
        "BACKEND": SMTP,
        "OPTIONS": {
            "host": "mail.example.org",
            "port": 2525,
            "username": "reviews@example.org",
            "password": "p@ss:w0rd",
            "use_tls": True,
            "use_ssl": False,
            "timeout": 10,
        },
    }


def test_smtps_means_tls_from_the_first_byte():
    options = email_from_url("smtps://user:secret@mail.example.org")["OPTIONS"]
    assert (options["use_ssl"], options["use_tls"]) == (True, False)
    assert options["port"] is None  # Django's SMTP mailer then takes 465 (587 with tls, else 25)


def test_console_and_locmem_urls_choose_those_backends():
    assert email_from_url("console://") == {
        "BACKEND": "django.core.mail.backends.console.EmailBackend"
    }
    assert email_from_url("locmem://") == {"BACKEND": LOCMEM}


@pytest.mark.parametrize(
    "url",
    [
        "imap://user:secret@mail.example.org",  # not a way to send
        "smtp://user:secret@mail.example.org/?tsl=1",  # a misspelt option would send in clear
        "smtp://user:secret@mail.example.org:submission",
        "smtp://user:secret@:587",
        "smtps://user:secret@mail.example.org/?tls=1",  # STARTTLS inside TLS
    ],
)
def test_a_wrong_email_url_stops_the_start_without_repeating_the_password(url):
    with pytest.raises(ImproperlyConfigured) as refused:
        email_from_url(url)
    assert "secret" not in str(refused.value)


def test_without_a_mail_server_in_the_environment_there_is_no_mailer(monkeypatch, tmp_path):
    read = settings_with(monkeypatch, tmp_path)
    assert read["MAILERS"] == {}
    # and `manage.py check` does not warn about it: the reset page says it instead
    assert "mail.W001" in read["SILENCED_SYSTEM_CHECKS"]


def test_the_separate_email_variables_configure_smtp(monkeypatch, tmp_path):
    read = settings_with(
        monkeypatch,
        tmp_path,
        EMAIL_HOST="smtp.example.org",
        EMAIL_HOST_USER="reviews",
        EMAIL_HOST_PASSWORD="secret",
        EMAIL_USE_TLS="1",
        EMAIL_TIMEOUT_SECONDS="5",
        DEFAULT_FROM_EMAIL="reviews@example.org",
    )
    assert read["MAILERS"] == {
        "default": {
            "BACKEND": SMTP,
            "OPTIONS": {
                "host": "smtp.example.org",
                "port": None,
                "username": "reviews",
                "password": "secret",
                "use_tls": True,
                "use_ssl": False,
                "timeout": 5,
            },
        }
    }
    assert read["DEFAULT_FROM_EMAIL"] == "reviews@example.org"
    assert "mail.W001" not in read.get("SILENCED_SYSTEM_CHECKS", [])


def test_email_url_wins_over_the_separate_variables(monkeypatch, tmp_path):
    read = settings_with(
        monkeypatch, tmp_path, EMAIL_URL="console://", EMAIL_HOST="smtp.example.org"
    )
    assert read["MAILERS"] == {
        "default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
    }


# Password reset -------------------------------------------------------------------------------


@pytest.fixture
def lead_with_address(lead):
    lead.email = "lead@example.org"
    lead.save()
    return lead


@pytest.fixture
def mail_on(settings):
    settings.MAILERS = {"default": {"BACKEND": LOCMEM}}


@pytest.fixture
def mail_off(settings, monkeypatch) -> list:
    """No mail server configured; every mail the reset form tries to send lands in the list."""
    settings.MAILERS = {}
    tried = []
    monkeypatch.setattr(
        PasswordResetForm, "send_mail", lambda self, *args, **kwargs: tried.append(args)
    )
    return tried


def test_the_log_in_page_offers_the_reset(client):
    assert RESET in client.get("/accounts/login/").content.decode()


def test_with_mail_a_reset_sends_one_mail_whose_link_sets_a_new_password(
    client, lead_with_address, mail_on, mailoutbox
):
    asked = client.post(RESET, {"email": "lead@example.org"})
    assert asked.status_code == 302
    assert "a link to choose a new password has been sent" in client.get(asked.url).content.decode()

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["lead@example.org"]
    assert "Your user name is lead." in mail.body  # for whoever forgot that too
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.body).group(1)
    opened = client.get(link)
    assert opened.status_code == 302  # Django moves the token out of the address bar
    form = client.get(opened.url)
    assert "Choose a new password" in form.content.decode()
    new = "a-brand-new-long-password"
    done = client.post(opened.url, {"new_password1": new, "new_password2": new})
    assert done.status_code == 302
    lead_with_address.refresh_from_db()
    assert lead_with_address.check_password(new)
    used = client.get(link)  # a link works once
    assert used.status_code == 200 and "no longer works" in used.content.decode()


def test_an_address_nobody_has_gets_the_same_answer_and_no_mail(
    client, lead_with_address, mail_on, mailoutbox
):
    asked = client.post(RESET, {"email": "nobody@example.org"})
    assert asked.status_code == 302 and asked.url == "/accounts/password_reset/done/"
    assert mailoutbox == []


def test_without_mail_the_page_says_so_and_whom_to_ask_and_sends_nothing(
    client, lead_with_address, mail_off, mailoutbox
):
    page = client.get(RESET).content.decode()
    assert "cannot send e-mail" in page
    assert "manage.py changepassword" in page
    assert 'type="email"' not in page  # no form that would pretend to send

    answer = client.post(RESET, {"email": "lead@example.org"})
    assert answer.status_code == 200
    assert "cannot send e-mail" in answer.content.decode()
    assert mail_off == [] and mailoutbox == []
    # Nor does the page that would say "sent" say it.
    done = client.get("/accounts/password_reset/done/")
    assert done.status_code == 302 and done.url == RESET


def test_asking_too_often_for_one_address_is_refused_with_429_and_sends_no_more(
    client, lead_with_address, mail_on, mailoutbox
):
    for _ in range(accounts.RESETS_PER_ADDRESS):
        assert client.post(RESET, {"email": "lead@example.org"}).status_code == 302
    # from elsewhere, and written otherwise: still the same address
    refused = client.post(RESET, {"email": " Lead@Example.org"}, REMOTE_ADDR="198.51.100.4")
    assert refused.status_code == 429
    assert "Too many reset requests" in refused.content.decode()
    assert len(mailoutbox) == accounts.RESETS_PER_ADDRESS


def test_asking_too_often_from_one_client_is_refused_whatever_the_address(
    client, lead_with_address, mail_on, mailoutbox
):
    for number in range(accounts.RESETS_PER_CLIENT):
        asked = client.post(RESET, {"email": f"someone{number}@example.org"})
        assert asked.status_code == 302
    refused = client.post(RESET, {"email": "lead@example.org"})
    assert refused.status_code == 429
    assert mailoutbox == []
    # Another client may still ask for that address.
    other = client.post(RESET, {"email": "lead@example.org"}, REMOTE_ADDR="198.51.100.4")
    assert other.status_code == 302
    assert len(mailoutbox) == 1


def test_the_limit_lifts_once_its_window_has_passed(
    client, lead_with_address, mail_on, monkeypatch
):
    monkeypatch.setattr(accounts, "RESET_WINDOW_SECONDS", 1)
    for _ in range(accounts.RESETS_PER_ADDRESS):
        client.post(RESET, {"email": "lead@example.org"})
    assert client.post(RESET, {"email": "lead@example.org"}).status_code == 429
    time.sleep(1.1)
    assert client.post(RESET, {"email": "lead@example.org"}).status_code == 302


# The icon -------------------------------------------------------------------------------------


def test_favicon_ico_leads_to_the_icon_instead_of_a_404(client):
    answer = client.get("/favicon.ico")
    assert answer.status_code == 302
    assert answer.url == static("reviewmgr/favicon.svg")
    icon = finders.find("reviewmgr/favicon.svg")
    assert icon is not None
    assert ElementTree.parse(icon).getroot().tag == "{http://www.w3.org/2000/svg}svg"


def test_pages_link_the_icon_logged_in_or_not(client, lead):
    link = f'<link rel="icon" href="{static("reviewmgr/favicon.svg")}" type="image/svg+xml">'
    assert link in client.get("/accounts/login/").content.decode()
    client.force_login(lead)
    assert link in client.get("/").content.decode()


# Two installs on one Redis server ----------------------------------------------------------


def redis_server() -> str:
    """The tests' Redis server, without its database number."""
    redis_or_skip()
    return REDIS_URL.rsplit("/", 1)[0]


def test_two_installs_with_their_own_prefixes_do_not_see_each_others_cache(monkeypatch, tmp_path):
    redis_or_skip()
    run = uuid.uuid4().hex[:8]
    caches = []
    for install in ("first", "second"):
        read = settings_with(
            monkeypatch,
            tmp_path,
            TASKS_REDIS_URL=REDIS_URL,
            CACHE_KEY_PREFIX=f"{install}-{run}",
        )
        caches.append(CacheHandler(read["CACHES"])["default"])
    first, second = caches
    try:
        first.set("import-progress:1", 40)
        assert second.get("import-progress:1") is None
        second.set("import-progress:1", 90)
        assert first.get("import-progress:1") == 40
        assert first.add("import-alive:1", True) and second.add("import-alive:1", True)
    finally:
        for cache in caches:
            cache.delete_many(["import-progress:1", "import-alive:1"])
            cache.close()


def test_two_installs_on_their_own_redis_databases_do_not_share_the_task_queue(
    monkeypatch, tmp_path
):
    import redis
    from rq import Queue

    server = redis_server()
    queues = []
    for database in (14, 15):
        read = settings_with(monkeypatch, tmp_path, TASKS_REDIS_URL=f"{server}/{database}")
        url = read["RQ_QUEUES"]["default"]["URL"]
        assert read["CACHES"]["default"]["LOCATION"] == url  # the cache follows the queue
        queues.append(Queue("default", connection=redis.Redis.from_url(url)))
    first, second = queues
    job = first.enqueue("os.getpid")
    try:
        assert job.id in first.job_ids
        assert job.id not in second.job_ids
    finally:
        for queue in queues:  # databases 14 and 15 are the tests' own
            queue.delete(delete_jobs=True)


def test_make_run_stack_gives_each_stack_its_own_redis_database_and_cache_prefix():
    if shutil.which("make") is None:
        pytest.skip("make is not installed")

    def stack_environment(name: str) -> tuple[int, str]:
        shown = subprocess.run(  # noqa: S603 (make on the project's own Makefile)
            ["make", "--no-print-directory", "-n", "run-stack", f"STACK_DB={name}"],  # noqa: S607
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
            env={**os.environ, "MAKEFLAGS": ""},
        ).stdout
        database = re.search(r"TASKS_REDIS_URL=redis://127\.0\.0\.1:6379/(\d+) ", shown)
        prefix = re.search(r"CACHE_KEY_PREFIX=(\S+) ", shown)
        return int(database.group(1)), prefix.group(1)

    first, second = stack_environment("reviewmgr"), stack_environment("rmdeploy")
    assert first[1] == "reviewmgr" and second[1] == "rmdeploy"
    assert first[0] != second[0]
    assert {first[0], second[0]} <= set(range(12))  # 12-15 stay the tests'
