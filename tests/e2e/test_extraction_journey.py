"""Extraction to report in a real browser: two extractors fill the cytokine and PRP form
blind, the lead reconciles the one disagreement, sees the PRISMA diagram and downloads the
workbook."""

import contextlib
import re
import time

import openpyxl
from playwright.sync_api import Error as PlaywrightError, expect

from tests.e2e.conftest import DEMO_PASSWORD, field, log_in, screenshot

PASSWORD = DEMO_PASSWORD


def extract_as(page, live_server, review, username: str, strain: str) -> None:
    log_in(page, live_server, username, PASSWORD)
    page.goto(f"{live_server.url}/reviews/{review.slug}/extraction/")
    page.get_by_role("button", name="Extract").click()
    expect(page.get_by_role("heading", name="Risk of bias")).to_be_visible()
    field(page, "Design").select_option("animal")
    field(page, "Subject").select_option("animal")
    field(page, "Species").select_option("rat")
    field(page, "Strain").fill(strain)
    field(page, "Sex").select_option("male")
    field(page, "Sample size").fill("24")
    # answers save as they are typed: wait for the last one's confirmation
    expect(page.locator("#f-study-sample-size-status")).to_have_text("Saved")
    if username == "reviewer1":
        screenshot(page, "extraction")
    page.get_by_role("button", name="Mark my extraction complete").click()
    expect(page.get_by_text("Extraction marked complete.")).to_be_visible()
    page.get_by_role("button", name="Log out").click()


def test_two_extractors_then_the_lead_reconciles_reports_and_downloads(page, live_server, included):
    extract_as(page, live_server, included, "reviewer1", "Wistar")
    extract_as(page, live_server, included, "reviewer2", "Sprague-Dawley")

    log_in(page, live_server, "lead", PASSWORD)
    page.goto(f"{live_server.url}/reviews/{included.slug}/extraction/")
    expect(page.get_by_text("Both extractions complete")).to_be_visible()
    page.get_by_role("link", name="Compare").click()
    page.get_by_role("button", name="Start the consensus").click()
    expect(page.locator("tr.disagree")).to_have_count(1)
    expect(page.locator("tr.disagree")).to_contain_text("Strain")
    screenshot(page, "comparison")
    page.get_by_role("button", name="Use reviewer1's answer for Strain").click()
    page.get_by_role("link", name="Edit the consensus form").click()
    page.get_by_role("button", name="Make the consensus final").click()
    expect(page.get_by_text("Consensus is final")).to_be_visible()

    page.get_by_role("link", name="Reports").click()
    prisma = page.locator("figure.prisma img")
    expect(prisma).to_have_attribute("alt", re.compile(r"Records screened 1\b"))
    expect(prisma).to_have_attribute("alt", re.compile(r"Studies included in review 1\b"))
    # the diagram itself loads and draws (an image, so the page's CSP stays strict)
    page.wait_for_function(
        "() => { const i = document.querySelector('figure.prisma img');"
        " return i.complete && i.naturalWidth > 0; }"
    )
    screenshot(page, "prisma")
    with page.expect_download() as download:
        page.get_by_role("link", name="Evidence tables (Excel)").click()
    with open(download.value.path(), "rb") as handle:
        book = openpyxl.load_workbook(handle)
    sheet = book["Characteristics"]
    header = [cell.value for cell in sheet[1]]
    row = [cell.value for cell in sheet[2]]
    assert row[header.index("Strain")] == "Wistar"
    assert row[header.index("Sample size")] == 24
    assert sheet.max_row == 2


def test_the_reports_page_keeps_the_trial_in_people_and_the_rat_study_apart(
    page, live_server, scene
):
    log_in(page, live_server, "lead", PASSWORD)
    page.goto(f"{live_server.url}/reviews/{scene.review.slug}/reports/")
    analyses = page.locator("article.analysis")
    expect(analyses).to_have_count(2)
    human = analyses.filter(has_text="IL-6 in serum, human, day 14 since PRP")
    rat = analyses.filter(has_text="IL-6 in serum, rat, day 14 since injury")
    for analysis, other in ((human, "Tanaka"), (rat, "Moreau")):
        expect(analysis).to_contain_text("Not pooled: needs at least two studies")
        analysis.get_by_text("Why each study is in or out").click()
        expect(analysis).to_contain_text(f"{other}")
        expect(analysis).to_contain_text("species are never pooled together")
    expect(rat).to_contain_text("CCI + PRP")
    expect(rat).to_contain_text("CCI + saline")
    expect(rat).not_to_contain_text("Sham:")
    rat.evaluate("e => e.scrollIntoView({block: 'start'})")
    screenshot(page, "analyses-apart")


def test_an_answer_typed_just_before_a_click_is_saved_first(page, live_server, included):
    """Answers save as they are typed, each in a request of its own. On a slow network a
    click that comes sooner (mark complete, or a link away) must not lose the answer: the
    page waits for its save before it leaves."""
    log_in(page, live_server, "reviewer1", PASSWORD)
    page.goto(f"{live_server.url}/reviews/{included.slug}/extraction/")
    page.get_by_role("button", name="Extract").click()
    field(page, "Design").select_option("animal")
    field(page, "Subject").select_option("animal")
    field(page, "Species").select_option("rat")
    field(page, "Strain").fill("Wistar")
    field(page, "Sex").select_option("male")
    expect(page.locator("#f-animal-sex-status")).to_have_text("Saved")

    def slow_network(route):
        time.sleep(0.8)
        # if the page left meanwhile, the request cannot go: the answer is lost
        with contextlib.suppress(PlaywrightError):
            route.continue_()

    page.route("**/save/", slow_network)
    field(page, "Sample size").press_sequentially("24", delay=0)
    page.get_by_role("button", name="Mark my extraction complete").click()
    expect(page.get_by_text("Extraction marked complete.")).to_be_visible()
    page.get_by_role("link", name="View my extraction (complete)").click()
    page.wait_for_url(re.compile(r"/extraction/\d+/$"))
    expect(field(page, "Sample size")).to_have_value("24")

    form_url = page.url
    field(page, "Funding").press_sequentially("None declared", delay=0)
    page.get_by_role("link", name="← Studies").click()
    expect(page).to_have_url(re.compile(r"/extraction/$"))
    page.unroute("**/save/")
    page.goto(form_url)
    expect(field(page, "Funding")).to_have_value("None declared")


def test_an_answer_whose_save_failed_is_sent_again_before_leaving(page, live_server, included):
    """The server refuses a save (it is being restarted): the click that would leave waits,
    the page says nothing was saved, and the next click sends the answer again first."""
    log_in(page, live_server, "reviewer1", PASSWORD)
    page.goto(f"{live_server.url}/reviews/{included.slug}/extraction/")
    page.get_by_role("button", name="Extract").click()
    page.wait_for_url(re.compile(r"/extraction/\d+/$"))
    form_url = page.url

    def unavailable(route):
        route.fulfill(status=503, body="<h1>Unavailable</h1><p>Nothing was saved.</p>")

    page.route("**/save/", unavailable)
    field(page, "Funding").press_sequentially("None declared", delay=0)
    page.get_by_role("link", name="← Studies").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
    expect(page).to_have_url(form_url)

    page.unroute("**/save/")
    page.get_by_role("link", name="← Studies").click()
    expect(page).to_have_url(re.compile(r"/extraction/$"))
    page.goto(form_url)
    expect(field(page, "Funding")).to_have_value("None declared")
