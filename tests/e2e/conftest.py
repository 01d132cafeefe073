"""A real browser: Playwright driving Debian's Chromium against the live test server."""

import os
import re
import shutil
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test thread; the ORM calls made by fixtures
# in that same thread are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
DEMO_PASSWORD = "demo-password-for-the-browser"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "img"


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is missing at {CHROMIUM}; .ci/run installs it.")
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def new_page(browser):
    """Opens pages in browser contexts of their own (another person, another window size);
    all are closed when the test ends, so that none keeps the live server's threads busy."""
    contexts = []

    def open_page(viewport: dict | None = None):
        context = browser.new_context(viewport=viewport or {"width": 1280, "height": 860})
        contexts.append(context)
        opened = context.new_page()
        opened.set_default_timeout(15_000)
        return opened

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def scene(transactional_db, monkeypatch):
    """A review with something on every page (tests/e2e/scenes.py); its users' password is
    DEMO_PASSWORD."""
    from tests.e2e.scenes import build_scene

    monkeypatch.setenv("DEMO_PASSWORD", DEMO_PASSWORD)
    return build_scene()


DEMO_PASSWORD = "demo-password-for-the-browser"


@pytest.fixture
def included(transactional_db, monkeypatch):
    """The seed review, its article included at both stages by reviewer1 and reviewer2 (the
    demo users log in with DEMO_PASSWORD)."""
    from reviewmgr.models import User
    from reviewmgr.seed import load_seed_review
    from screening import services as screening
    from screening.models import Stage

    monkeypatch.setenv("DEMO_PASSWORD", DEMO_PASSWORD)
    review = load_seed_review(with_demo_users=True).review
    article = review.records.get(batch__source="pubmed")
    pair = [User.objects.get(username=name) for name in ("reviewer1", "reviewer2")]
    for stage in (Stage.TITLE_ABSTRACT, Stage.FULL_TEXT):
        for person in pair:
            screening.record_decision(record=article, user=person, stage=stage, verdict="include")
    return review


def field(page, label: str):
    """A form field by its label; a required field's label ends with a star."""
    return page.get_by_label(re.compile(rf"^{label}\s*\*?$"))


def log_in(page, live_server, username: str, password: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def wait_until_ready(page) -> None:
    """The screen takes keys again: a record that has just appeared (or one whose decision is on
    its way) holds its controls a moment, so that a key pressed twice never decides the next
    record (app.js marks #screen-main with data-ready)."""
    page.locator("#screen-main[data-ready]").wait_for(state="attached")


def screenshot(page, name: str) -> None:
    """Saved for the README when REVIEWMGR_SCREENSHOTS=1 (make screenshots)."""
    if os.environ.get("REVIEWMGR_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)
