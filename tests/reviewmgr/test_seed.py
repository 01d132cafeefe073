import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from django.core.management import call_command
from django.test import Client

from reviewmgr.models import ImportBatch, Membership, Record, Review, User
from reviewmgr.seed import load_seed_review

SEED_SLUG = "prp-cytokines-neuropathic-pain"


def test_seed_review_holds_the_article_and_the_blog_post(db):
    load_seed_review()
    review = Review.objects.get(slug=SEED_SLUG)
    assert review.title == "Platelet-rich plasma and cytokines in neuropathic pain"
    records = list(review.records.order_by("batch__source"))
    assert len(records) == 2
    article = review.records.get(type=Record.Type.JOURNAL_ARTICLE)
    assert article.title == (
        "Platelet-rich plasma and cytokines in neuropathic pain: "
        "A narrative review and a clinical perspective"
    )
    assert article.authors == [
        "Bohren, Yohann",
        "Timbolschi, Daniel Ionut",
        "Muller, André",
        "Barrot, Michel",
        "Yalcin, Ipek",
        "Salvat, Eric",
    ]
    assert article.abstract.startswith("Background and Objective: Neuropathic pain arises")
    assert "safety of use" in article.abstract
    blog = review.records.exclude(pk=article.pk).get()
    assert blog.title == "Can PRP Help Relieve Back Pain?"
    assert "degenerative disc disease" in blog.abstract
    assert "Popular posts" not in blog.abstract


def test_article_counts_as_a_database_record_and_the_blog_as_other_methods(db):
    review = load_seed_review().review
    article_batch = review.records.get(type=Record.Type.JOURNAL_ARTICLE).batch
    blog_batch = review.records.exclude(type=Record.Type.JOURNAL_ARTICLE).get().batch
    assert not article_batch.is_other_methods
    assert blog_batch.source == ImportBatch.Source.WEBSITE
    assert blog_batch.is_other_methods


def test_seed_review_has_criteria_and_highlighting_keywords(db):
    review = load_seed_review().review
    assert "animal" in review.inclusion_criteria.lower()
    assert "back pain" in review.inclusion_criteria.lower()
    assert "platelet-rich plasma" in review.inclusion_keywords
    assert "osteoarthritis" in review.exclusion_keywords


def test_loading_the_seed_twice_changes_nothing(db, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "demo-password-for-tests")
    load_seed_review(with_demo_users=True)
    counts = [m.objects.count() for m in (Review, Record, ImportBatch, User, Membership)]
    second = load_seed_review(with_demo_users=True)
    assert not second.created
    assert second.batches_loaded == 0
    assert [m.objects.count() for m in (Review, Record, ImportBatch, User, Membership)] == counts


def test_demo_users_log_in_with_their_roles(db, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "demo-password-for-tests")
    review = load_seed_review(with_demo_users=True).review
    lead = review.memberships.get(user__username="lead")
    assert lead.is_lead
    assert review.memberships.get(user__username="reviewer1").roles == ["reviewer", "extractor"]
    assert not review.memberships.get(user__username="reviewer2").is_lead
    client = Client()
    logged_in = client.post(
        "/accounts/login/", {"username": "reviewer2", "password": "demo-password-for-tests"}
    )
    assert logged_in.status_code == 302
    assert client.get(review.get_absolute_url()).status_code == 200


def test_command_prints_a_summary_and_the_demo_login(db, monkeypatch, capsys):
    monkeypatch.setenv("DEMO_PASSWORD", "printed-password")
    call_command("load_seed_review", "--demo-users")
    out = capsys.readouterr().out
    assert f"Seed review '{SEED_SLUG}' created: 2 records" in out
    assert "printed-password" in out
    call_command("load_seed_review")
    assert "already present: 2 records, 0 seed file(s)" in capsys.readouterr().out


def test_review_page_counts_identified_records_by_databases_and_other_methods(client, db):
    review = load_seed_review().review
    from reviewmgr.models import User
    from tests.conftest import add_member

    user = User.objects.create_user("someone")
    add_member(review, user, "reviewer")
    client.force_login(user)
    page = client.get(review.get_absolute_url()).content.decode()
    databases = page.index("Databases and registers")
    other = page.index("Other methods")
    assert databases < page.index("PubMed / MEDLINE: <strong>1</strong>") < other
    assert other < page.index("Website: <strong>1</strong>")


def test_the_seed_article_is_known_relevant_so_the_queue_starts_from_it(db):
    review = load_seed_review().review

    assert list(review.records.filter(known_relevant=True).values_list("type", flat=True)) == [
        review.records.get(batch__source="pubmed").type
    ]
    assert not review.records.get(batch__source="website").known_relevant


def test_loading_the_seed_from_the_command_line_ends_cleanly(tmp_path):
    """`make run` loads the seed with the embedded task thread. The queue's ranking, still
    running as the command ends, may ask for another; that must run, not end the command
    with a traceback."""
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k not in ("TASKS_REDIS_URL", "CACHE_URL")}
    env |= {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REVIEWMGR_VAR_DIR": str(tmp_path / "var"),
        "DJANGO_SETTINGS_MODULE": "reviewmgr.settings",
    }

    def manage(*args):
        return subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", *args],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    assert manage("migrate", "--noinput").returncode == 0
    loaded = manage("load_seed_review")
    assert loaded.returncode == 0, loaded.stderr
    assert "Traceback" not in loaded.stderr, loaded.stderr
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        ((ranked,),) = db.execute("select count(*) from screening_ranking where error = ''")
    assert ranked == 1
