"""In a real browser: the lead links a conference abstract to its article from the full-text
screen (the suggestion names the shared authors and title), and the PRISMA diagram of a
review still being screened shows the records awaiting screening."""

import re

import pytest
from playwright.sync_api import expect

from reviewmgr import services as core
from reviewmgr.models import ImportBatch, User
from reviewmgr.seed import load_seed_review
from screening import services as screening
from screening.models import Stage
from tests.e2e.conftest import log_in

PASSWORD = "demo-password-for-the-browser"
ABSTRACT = (
    "TY  - CONF\nTI  - Platelet-rich plasma and cytokines in neuropathic pain: a narrative "
    "review (congress abstract)\nAU  - Bohren, Yohann\nAU  - Timbolschi, Daniel Ionut\n"
    "AU  - Salvat, Eric\nPY  - 2022\nER  - \n"
)


@pytest.fixture
def at_full_text(transactional_db, monkeypatch):
    """The seed article and its congress abstract, both at full text; the blog unscreened."""
    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD)
    review = load_seed_review(with_demo_users=True).review
    core.import_records(
        review=review,
        data=ABSTRACT.encode(),
        file_name="embase.ris",
        provenance=core.Provenance(source=ImportBatch.Source.EMBASE),
    )
    pair = [User.objects.get(username=name) for name in ("reviewer1", "reviewer2")]
    for record in review.records.exclude(batch__source="website"):
        for person in pair:
            screening.record_decision(
                record=record, user=person, stage=Stage.TITLE_ABSTRACT, verdict="include"
            )
    return review


def test_the_lead_links_the_congress_abstract_to_its_article_at_full_text(
    page, live_server, at_full_text
):
    review = at_full_text
    article = review.records.get(batch__source="pubmed")
    abstract = review.records.get(batch__source="embase")
    log_in(page, live_server, "lead", PASSWORD)

    page.goto(f"{live_server.url}/reviews/{review.slug}/screen/ft/{abstract.pk}/")
    panel = page.locator("section.study-reports")
    expect(panel.get_by_role("heading")).to_have_text(f"Study S{abstract.pk}: 1 report")
    suggestion = panel.locator("ul.suggestions li", has_text=f"Record {article.pk}")
    expect(suggestion).to_contain_text("shared authors")
    suggestion.get_by_role("button", name="Link").click()

    expect(page).to_have_url(re.compile(rf"/screen/ft/{abstract.pk}/$"))
    expect(panel.get_by_role("heading")).to_have_text(f"Study S{article.pk}: 2 reports")
    expect(page.get_by_text(f"Record {abstract.pk} is now a report of study")).to_be_visible()

    # a bad link is refused with a message, and the page stays usable
    panel.get_by_label("Same study as record").fill("999999")
    panel.get_by_role("button", name="Link as a report of that study").click()
    expect(page.get_by_text("Record 999999 is not a record of this review.")).to_be_visible()


def test_the_diagram_of_a_review_being_screened_shows_what_awaits_screening(
    page, live_server, at_full_text
):
    review = at_full_text
    log_in(page, live_server, "lead", PASSWORD)

    page.goto(f"{live_server.url}/reviews/{review.slug}/reports/")

    diagram = page.locator("figure.prisma img")
    expect(diagram).to_have_attribute("alt", re.compile(r"Records screened 2\b"))
    expect(diagram).to_have_attribute("alt", re.compile(r"Records awaiting screening 1\b"))
    expect(diagram).to_have_attribute("alt", re.compile(r"Reports sought for retrieval 2\b"))
    loaded = page.evaluate(
        "() => { const i = document.querySelector('figure.prisma img');"
        " return i.complete && i.naturalWidth > 0; }"
    )
    assert loaded
    expect(page.get_by_text("Screening is under way")).to_be_visible()
