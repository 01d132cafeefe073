"""The journey in a real browser, growing with each capability."""

import pytest
from playwright.sync_api import expect

from reviewmgr.seed import load_seed_review
from tests.e2e.conftest import log_in, screenshot, wait_until_ready

PASSWORD = "demo-password-for-the-browser"


@pytest.fixture
def seeded(transactional_db, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD)
    return load_seed_review(with_demo_users=True).review


def test_lead_logs_in_and_sees_the_seed_review_with_its_two_records(page, live_server, seeded):
    log_in(page, live_server, "lead", PASSWORD)
    expect(page.get_by_role("heading", name="Your reviews")).to_be_visible()
    page.get_by_role("link", name=seeded.title).click()
    expect(page.get_by_role("heading", name="Records 2")).to_be_visible()
    expect(page.get_by_role("link", name="Can PRP Help Relieve Back Pain?")).to_be_visible()
    screenshot(page, "review")
    page.get_by_label("Text").fill("cytokines")
    expect(page.get_by_text("1 record shown.")).to_be_visible()
    records = page.get_by_role("main")
    records.get_by_role(
        "link", name="Platelet-rich plasma and cytokines in neuropathic pain"
    ).click()
    expect(page.get_by_text("Bohren, Yohann; Timbolschi, Daniel Ionut")).to_be_visible()
    screenshot(page, "record")


def test_a_wrong_password_is_refused_with_a_message(page, live_server, seeded):
    log_in(page, live_server, "lead", "not-the-password")
    expect(page.get_by_text("Please enter a correct username and password")).to_be_visible()


def test_a_lead_imports_a_file_and_watches_it_finish(page, live_server, seeded, tmp_path):
    ris = tmp_path / "pubmed.ris"
    ris.write_text(
        "TY  - JOUR\nTI  - Platelet-rich plasma in painful diabetic neuropathy\nAU  - Doe, J\n"
        "PY  - 2022\nER  - \n",
        encoding="utf-8",
    )
    log_in(page, live_server, "lead", PASSWORD)
    page.goto(f"{live_server.url}{seeded.get_absolute_url()}imports/new/")
    page.get_by_label("File").set_input_files(str(ris))
    page.get_by_role("combobox", name="Source:").select_option("pubmed")
    page.get_by_role("button", name="Upload and import").click()
    expect(page.get_by_text("1 record imported from ris")).to_be_visible()
    screenshot(page, "import")


def screen_with_keys(page, live_server, review, username: str, keys: list[str]) -> None:
    log_in(page, live_server, username, PASSWORD)
    page.goto(f"{live_server.url}/reviews/{review.slug}/screen/ta/")
    for key in keys:
        wait_until_ready(page)
        title = page.locator("#record-title").inner_text()
        page.keyboard.press(key)
        expect(page.locator("#record-title")).not_to_have_text(title)


def test_two_reviewers_screen_by_keyboard_and_the_lead_resolves_their_conflict(
    page, live_server, seeded, new_page
):
    # The two seed records: reviewer1 includes both; reviewer2 includes one, excludes the blog.
    log_in(page, live_server, "reviewer1", PASSWORD)
    page.goto(f"{live_server.url}/reviews/{seeded.slug}/screen/ta/")
    expect(page.get_by_role("button", name="I Include")).to_be_visible()
    screenshot(page, "screening")
    page.keyboard.press("i")
    expect(page.locator("#record-title")).to_have_text("Can PRP Help Relieve Back Pain?")
    wait_until_ready(page)  # a key pressed as the record appears is not taken for it
    page.keyboard.press("i")
    expect(page.get_by_text("Nothing left for you at this stage")).to_be_visible()
    wait_until_ready(page)
    page.keyboard.press("u")  # undo brings the last record back
    expect(page.locator("#record-title")).to_have_text("Can PRP Help Relieve Back Pain?")
    wait_until_ready(page)
    page.keyboard.press("i")
    expect(page.get_by_text("Nothing left for you at this stage")).to_be_visible()

    second = new_page()
    log_in(second, live_server, "reviewer2", PASSWORD)
    second.goto(f"{live_server.url}/reviews/{seeded.slug}/screen/ta/")
    second.keyboard.press("i")
    expect(second.locator("#record-title")).to_have_text("Can PRP Help Relieve Back Pain?")
    wait_until_ready(second)
    second.keyboard.press("3")  # the third exclusion reason
    second.keyboard.press("e")
    expect(second.get_by_text("Nothing left for you at this stage")).to_be_visible()

    lead = new_page()
    log_in(lead, live_server, "lead", PASSWORD)
    lead.goto(f"{live_server.url}/reviews/{seeded.slug}/screening/")
    expect(lead.get_by_role("cell", name="reviewer1 & reviewer2")).to_be_visible()
    screenshot(lead, "dashboard")
    lead.get_by_role("link", name="Conflicts (1)").first.click()
    lead.get_by_role("link", name="Resolve", exact=True).click()
    expect(lead.get_by_text("reviewer2: Exclude — Wrong comparator")).to_be_visible()
    screenshot(lead, "conflict")
    lead.get_by_label("Exclude").check()
    lead.get_by_label("Reason (for an exclusion)").select_option("Wrong study design")
    lead.get_by_role("button", name="Record the final decision").click()
    expect(lead.get_by_text("resolved: exclude")).to_be_visible()
