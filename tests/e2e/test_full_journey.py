"""The whole journey of a review in a real browser, as its team would walk it.

A lead creates a review and imports two real exports of the same literature search (CINAHL
as RIS, PubMed as MEDLINE) that share two works; merges the duplicates; adds two reviewers
and two extractors. The reviewers screen titles and abstracts from the keyboard alone and
disagree once; the lead settles it. At full text one reviewer uploads the PDF, and both
include one work and exclude the other with a reason. Two extractors fill the built-in
cytokine and PRP form, the lead builds the consensus, downloads the workbook and reads the
PRISMA diagram, whose numbers are checked against the files imported.
"""

from __future__ import annotations

import csv
import re

import openpyxl
import pytest
from playwright.sync_api import expect

from reviewmgr.models import User
from tests.conftest import corpus_path
from tests.e2e.conftest import log_in, screenshot, wait_until_ready
from tests.e2e.scenes import tiny_pdf

PASSWORD = "a-long-password-for-the-journey"
REVIEWERS = ("ana", "ben")
EXTRACTORS = ("cora", "dev")
# the two exports, with the record counts the corpus lists for them
CINAHL = ("import", "ris", "cff___baseline_cinahl.ris")
PUBMED = ("import", "ris", "cff___baseline_pubmed.ris")  # MEDLINE text, named .ris
SHARED = 2  # works in both files (same title, authors and year; pages and identifiers differ)
INCLUDED = "Osteohistological insight into the growth dynamics"  # one of the two
DISPUTED = "Dinosaur Metabolism and the Allometry of Maximum Growth Rate"


@pytest.fixture
def team(transactional_db) -> dict[str, User]:
    names = ("lead", *REVIEWERS, *EXTRACTORS)
    return {name: User.objects.create_user(username=name, password=PASSWORD) for name in names}


def expected_records(parts: tuple[str, ...]) -> int:
    with open(corpus_path("import", "expected.csv"), encoding="utf-8") as handle:
        counts = {row["path"]: int(row["records"]) for row in csv.DictReader(handle)}
    return counts["/".join(parts[1:])]


def section(page, heading: str):
    """The part of a page under a heading: a form or panel found as a user finds it."""
    return page.locator("section", has=page.get_by_role("heading", name=heading, exact=True))


# The steps ----------------------------------------------------------------------------------


def lead_creates_the_review(page) -> None:
    page.get_by_role("link", name="New review").click()
    page.get_by_label("Title").fill("Growth of non-avian dinosaurs")
    page.get_by_label("Question").fill(
        "How fast did non-avian dinosaurs grow, as their bones and body sizes tell?"
    )
    page.get_by_label("Inclusion criteria").fill(
        "Studies of dinosaur growth: bone histology, growth rates, body size and gigantism."
    )
    page.get_by_label("Exclusion criteria").fill(
        "Trackways, plumage and feathers; studies of living birds only."
    )
    page.get_by_label("Inclusion keywords").fill("growth, osteohistological, gigantism")
    page.get_by_label("Exclusion keywords").fill("feathers\ntracks\nplumage")
    screenshot(page, "journey-new-review")
    page.get_by_role("button", name="Create review").click()
    expect(page.get_by_text("You are its lead.")).to_be_visible()
    expect(page.get_by_role("heading", name="Growth of non-avian dinosaurs")).to_be_visible()


def lead_imports(page, parts: tuple[str, ...], source: str, fmt: str) -> None:
    page.get_by_role("link", name="Imports", exact=True).click()
    page.get_by_role("link", name="Import records").click()
    page.get_by_label("File").set_input_files(str(corpus_path(*parts)))
    page.get_by_role("combobox", name="Source:").select_option(label=source)
    page.get_by_label("Date searched").fill("2024-05-02")
    page.get_by_label("Search string").fill("dinosaur*[tiab]")
    page.get_by_role("button", name="Upload and import").click()
    count = expected_records(parts)
    expect(page.get_by_text(f"{count} records imported from {fmt}")).to_be_visible(timeout=60_000)
    expect(page.get_by_role("progressbar")).to_have_count(0)


def lead_merges_the_duplicates(page) -> int:
    """Each group the lead opens is compared field by field and merged; returns how many."""
    page.get_by_role("link", name="Duplicates", exact=True).click()
    tab = page.get_by_role("link", name=re.compile(r"^Waiting for a lead \(\d+\)$"))
    pending = int(re.search(r"\d+", tab.inner_text()).group())
    assert pending >= 1, "the two exports share works: a group must wait for the lead"
    page.get_by_role("link", name="Review", exact=True).first.click()
    for merged in range(1, pending + 1):
        expect(page.get_by_role("heading", name="Are these the same work?")).to_be_visible()
        if merged == 1:
            screenshot(page, "journey-duplicates")
        page.get_by_role("button", name="Merge, keeping the chosen primary").click()
        merged_message = re.compile(r"Merged: record \d+ is the primary record")
        expect(page.get_by_text(merged_message)).to_be_visible()
    expect(page.get_by_role("link", name="Waiting for a lead (0)")).to_be_visible()
    expect(page.get_by_role("link", name=f"Merged ({pending})")).to_be_visible()
    return pending


def lead_adds_members(page) -> None:
    page.get_by_role("link", name="Members", exact=True).click()
    form = section(page, "Add a member")
    for name in (*REVIEWERS, *EXTRACTORS):
        form.get_by_label("Username").fill(name)
        extractor = name in EXTRACTORS
        form.get_by_label("Reviewer").set_checked(not extractor)
        form.get_by_label("Extractor").set_checked(extractor)
        form.get_by_role("button", name="Add member").click()
        expect(page.get_by_text(f"{name} added.")).to_be_visible()
    expect(page.get_by_role("cell", name=re.compile(r"^(ana|ben|cora|dev)$"))).to_have_count(4)
    screenshot(page, "journey-members")


def open_screening(page, live_server, username: str, stage_heading: str) -> None:
    log_in(page, live_server, username, PASSWORD)
    page.get_by_role("link", name="Growth of non-avian dinosaurs").click()
    page.get_by_role("link", name="Screening", exact=True).click()
    section(page, stage_heading).get_by_role("link", name="Screen", exact=True).click()


def press_and_wait(page, key: str) -> None:
    """A decision key brings the next record (or the end) without a page load."""
    wait_until_ready(page)
    title = page.locator("#record-title").inner_text()
    page.keyboard.press(key)
    page.wait_for_function(
        "old => { const t = document.getElementById('record-title');"
        " return !t || t.innerText !== old; }",
        arg=title,
    )


def press_keys(page, keys: list[str]) -> None:
    """A reason number (1-9) only chooses; a letter decides and waits for the next record."""
    for key in keys:
        if key.isdigit():
            wait_until_ready(page)
            page.keyboard.press(key)
        else:
            press_and_wait(page, key)


def screen_queue(page, decide) -> list[str]:
    """Decide every record the queue hands out, from the keyboard only; returns the titles."""
    seen = []
    done = page.get_by_role("heading", name="Nothing left for you at this stage")
    while not done.is_visible():
        title = page.locator("#record-title").inner_text()
        seen.append(title)
        press_keys(page, decide(title))
    return seen


def ta_verdict(reviewer: str):
    def decide(title: str) -> list[str]:
        if INCLUDED.lower() in title.lower():
            return ["i"]
        if DISPUTED.lower() in title.lower():
            return ["i"] if reviewer == "ana" else ["4", "e"]  # ben: wrong outcomes
        return ["e"]

    return decide


def first_reviewer_screens_with_help_undo_and_arrows(page) -> list[str]:
    expect(page.get_by_role("button", name="I Include")).to_be_visible()
    expect(page.locator("mark.kw-include").first).to_be_visible()
    screenshot(page, "journey-screening")
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name="Keyboard")).to_be_hidden()

    first = page.locator("#record-title").inner_text()
    press_keys(page, ta_verdict("ana")(first))
    press_and_wait(page, "u")  # undo: the first record is back, to decide again
    expect(page.locator("#record-title")).to_have_text(first)
    press_keys(page, ta_verdict("ana")(first))
    wait_until_ready(page)
    page.keyboard.press("ArrowLeft")  # back to my last decision
    expect(page.locator("#record-title")).to_have_text(first)
    expect(page.get_by_text("You decided")).to_be_visible()
    page.keyboard.press("ArrowRight")  # and on to the queue
    expect(page.locator("#record-title")).not_to_have_text(first)
    return [first, *screen_queue(page, ta_verdict("ana"))]


def lead_resolves_the_conflict(page) -> None:
    page.get_by_role("link", name="Screening", exact=True).click()
    expect(page.get_by_role("cell", name="ana & ben")).to_be_visible()
    screenshot(page, "journey-dashboard")
    section(page, "Title and abstract").get_by_role("link", name="Conflicts (1)").click()
    page.get_by_role("link", name="Resolve", exact=True).click()
    expect(page.locator("#record-title")).to_contain_text(DISPUTED)
    expect(page.locator("ul.decisions")).to_contain_text("ben: Exclude — Wrong outcomes")
    screenshot(page, "journey-conflict")
    page.get_by_label("Include", exact=True).check()
    page.get_by_label("Note").fill("Growth rates are the outcome we study.")
    page.get_by_role("button", name="Record the final decision").click()
    expect(page.get_by_text(re.compile(r"Record \d+ resolved: include"))).to_be_visible()


def ft_verdict(title: str) -> list[str]:
    return ["i"] if INCLUDED.lower() in title.lower() else ["4", "e"]  # wrong outcomes


def reviewer_uploads_the_full_text(page, tmp_path) -> None:
    pdf = tmp_path / "full-text.pdf"
    pdf.write_bytes(tiny_pdf())
    page.get_by_label("PDF of the full text").set_input_files(str(pdf))
    page.get_by_role("button", name="Save full text").click()
    expect(page.get_by_text("Full text saved.")).to_be_visible()
    expect(page.locator("iframe[title='Full text of the record']")).to_be_visible()
    screenshot(page, "journey-full-text")


def extract_as(page, live_server, username: str, sample_size: str) -> None:
    log_in(page, live_server, username, PASSWORD)
    page.get_by_role("link", name="Growth of non-avian dinosaurs").click()
    page.get_by_role("link", name="Extraction", exact=True).click()
    expect(page.get_by_text("Cytokines and PRP in neuropathic pain")).to_be_visible()
    page.get_by_role("button", name="Extract").click()
    answers = [
        ("Design", "animal"),
        ("Subject", "animal"),
        ("Species", "other"),
        ("Other species", "Coelophysis bauri"),
        ("Strain", "wild"),
        ("Sex", "not_reported"),
        ("Sample size", sample_size),
    ]
    for label, value in answers:
        control = page.get_by_label(re.compile(rf"^{label}\s*\*?$"))
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)
        expect(saved_status(page, control)).to_have_text("Saved")
    cytokines = page.locator("#section-cytokines")
    cytokines.get_by_role("button", name="Add a row").click()
    expect(cytokines.get_by_label("Group, row 1", exact=True)).to_be_focused()  # the row is ready
    cells = [
        ("Analyte, row 1", "il6"),
        ("Compartment, row 1", "serum"),
        ("Unit, row 1", "pg/mL"),
        ("Time point, row 1", "day 14"),
        ("Group, row 1", "PRP"),
        ("Group role, row 1", "intervention"),
        ("n, row 1", "8"),
        ("Mean, row 1", "15.2"),
        ("SD, row 1", "3.1"),
    ]
    for label, value in cells:
        control = cytokines.get_by_label(label, exact=True)
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)
        expect(saved_status(page, control)).to_have_text("Saved")
    if username == EXTRACTORS[0]:
        screenshot(page, "journey-extraction")
    page.get_by_role("button", name="Mark my extraction complete").click()
    expect(page.get_by_text("Extraction marked complete.")).to_be_visible()
    page.get_by_role("button", name="Log out").click()


def saved_status(page, control):
    return page.locator(f"#{control.get_attribute('id')}-status")


# The journey --------------------------------------------------------------------------------


def test_a_review_from_the_first_import_to_the_prisma_diagram(
    page, new_page, live_server, team, tmp_path, settings
):
    # Each new record holds its keys 50 ms, not 300 (the journey decides over a hundred
    # records; test_screening_screen checks the hold against a real double press).
    settings.REVIEWMGR_SCREEN_SETTLE_MS = 50
    # 1. The lead creates the review, imports both exports and merges what they share.
    log_in(page, live_server, "lead", PASSWORD)
    expect(page.get_by_role("heading", name="Your reviews")).to_be_visible()
    lead_creates_the_review(page)
    lead_imports(page, CINAHL, "CINAHL", "ris")
    lead_imports(page, PUBMED, "PubMed / MEDLINE", "medline")
    screenshot(page, "journey-import")
    merged = lead_merges_the_duplicates(page)
    assert merged == SHARED
    lead_adds_members(page)
    identified = expected_records(CINAHL) + expected_records(PUBMED)
    screened = identified - merged

    # 2. Two reviewers screen titles and abstracts, each in a browser of their own.
    ana = new_page()
    open_screening(ana, live_server, "ana", "Title and abstract")
    seen_by_ana = first_reviewer_screens_with_help_undo_and_arrows(ana)
    assert len(set(seen_by_ana)) == screened
    ben = new_page()
    open_screening(ben, live_server, "ben", "Title and abstract")
    assert len(set(screen_queue(ben, ta_verdict("ben")))) == screened

    # 3. The lead settles the one disagreement.
    lead_resolves_the_conflict(page)

    # 4. Full text: ana uploads the PDF; both include one work and exclude the other.
    ana.get_by_role("link", name="Screening", exact=True).click()
    section(ana, "Full text").get_by_role("link", name="Screen", exact=True).click()
    reviewer_uploads_the_full_text(ana, tmp_path)
    assert len(screen_queue(ana, ft_verdict)) == 2
    ben.get_by_role("link", name="Screening", exact=True).click()
    section(ben, "Full text").get_by_role("link", name="Screen", exact=True).click()
    assert len(screen_queue(ben, ft_verdict)) == 2

    # 5. Two extractors fill the built-in form blind; they differ on the sample size.
    extractor = new_page()
    extract_as(extractor, live_server, "cora", "24")
    extract_as(extractor, live_server, "dev", "26")

    # 6. The lead reconciles them into the consensus.
    page.get_by_role("link", name="Extraction", exact=True).click()
    expect(page.get_by_text("Both extractions complete")).to_be_visible()
    page.get_by_role("link", name="Compare").click()
    page.get_by_role("button", name="Start the consensus").click()
    expect(page.locator("tr.disagree")).to_have_count(1)
    expect(page.locator("tr.disagree")).to_contain_text("Sample size")
    screenshot(page, "journey-comparison")
    page.get_by_role("button", name="Use cora's answer for Sample size").click()
    page.get_by_role("link", name="Edit the consensus form").click()
    page.get_by_role("button", name="Make the consensus final").click()
    expect(page.get_by_text("Consensus is final")).to_be_visible()

    # 7. The workbook holds the study and the cytokine value the extractors typed.
    page.get_by_role("link", name="Reports", exact=True).click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Evidence tables (Excel)").click()
    with open(download.value.path(), "rb") as handle:
        book = openpyxl.load_workbook(handle)
    studies = book["Characteristics"]
    header = [cell.value for cell in studies[1]]
    assert studies.max_row == 2
    study = dict(zip(header, (cell.value for cell in studies[2]), strict=True))
    assert study["Title"].startswith(INCLUDED)
    assert study["Sample size"] == 24
    assert study["Species"] == "Other" and study["Other species"] == "Coelophysis bauri"
    cytokines = book["Cytokine outcomes"]
    header = [cell.value for cell in cytokines[1]]
    row = dict(zip(header, (cell.value for cell in cytokines[2]), strict=True))
    assert (row["Analyte"], row["Compartment"], row["Unit"]) == ("IL-6", "Serum", "pg/mL")
    assert (row["n"], row["Mean"], row["SD"]) == (8, 15.2, 3.1)

    # 8. The PRISMA diagram counts what was imported, merged, excluded and included.
    diagram = page.locator("figure.prisma img")
    page.wait_for_function(
        "() => { const i = document.querySelector('figure.prisma img');"
        " return i.complete && i.naturalWidth > 0; }"
    )
    alt = diagram.get_attribute("alt")
    numbers = {
        "CINAHL": expected_records(CINAHL),
        "PubMed / MEDLINE": expected_records(PUBMED),
        "Duplicate records removed": merged,
        "Records screened": screened,
        "Records excluded": screened - 2,
        "Reports sought for retrieval": 2,
        "Reports not retrieved": 0,
        "Reports assessed for eligibility": 2,
        "Reports excluded": 1,
        "Wrong outcomes": 1,
        "Studies included in review": 1,
    }
    for label, number in numbers.items():
        assert re.search(rf"(^|: |; ){re.escape(label)} {number}(;|$)", alt), (label, alt)
    screenshot(page, "journey-prisma")
