"""The reviewer's screen in a real browser: a key decides only the record on screen, Next skips,
reports not retrieved leave the queue, stopping asks first, and a tablet holds the record and
its decision buttons on one screen."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from reviewmgr import services as core
from reviewmgr.models import ImportBatch, Review, User
from reviewmgr.seed import load_seed_review
from screening import services as screening
from screening.models import Decision, RecordScreening, ScreeningEvent, Stage, StoppingDecision
from tests.e2e.conftest import DEMO_PASSWORD as PASSWORD, log_in, wait_until_ready
from tests.e2e.scenes import STUDIES, ris, tiny_pdf

TA, FT = Stage.TITLE_ABSTRACT, Stage.FULL_TEXT
TABLET = {"width": 768, "height": 1024}
NEXT_RECORD = """old => { const t = document.getElementById('record-title');
  return !t || t.innerText !== old; }"""


@pytest.fixture
def queued(transactional_db, monkeypatch) -> Review:
    """The seed review (lead, reviewer1, reviewer2) with six more records: eight to screen."""
    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD)
    review = load_seed_review(with_demo_users=True).review
    core.import_records(
        review=review,
        data=ris(STUDIES),
        file_name="pubmed-prp.ris",
        provenance=core.Provenance(source=ImportBatch.Source.PUBMED),
    )
    return review


def person(username: str) -> User:
    return User.objects.get(username=username)


def open_screen(page, live_server, review: Review, stage: str = TA, who: str = "reviewer1"):
    log_in(page, live_server, who, PASSWORD)
    page.goto(f"{live_server.url}/reviews/{review.slug}/screen/{stage}/")
    expect(page.locator("#record-title")).to_be_visible()
    return page.locator("#record-title")


def title_of(record_id: int) -> str:
    return RecordScreening.objects.get(record_id=record_id, stage=TA).record.title


# Double key presses and decisions on their way --------------------------------------------------


def test_a_quick_second_key_press_does_not_decide_the_record_that_just_appeared(
    page, live_server, queued
):
    title = open_screen(page, live_server, queued)
    first = title.inner_text()
    page.keyboard.press("e")
    page.wait_for_function(NEXT_RECORD, arg=first)
    second = title.inner_text()
    page.keyboard.press("e")  # the second press of a double press, a few ms after the swap
    page.wait_for_timeout(800)

    expect(title).to_have_text(second)
    mine = Decision.objects.filter(reviewer__username="reviewer1")
    assert [d.record.title for d in mine] == [first]
    assert ScreeningEvent.objects.filter(actor__username="reviewer1").count() == 1

    # once the record has been on screen a moment, keys decide again
    wait_until_ready(page)
    page.keyboard.press("e")
    page.wait_for_function(NEXT_RECORD, arg=second)
    assert sorted(d.record.title for d in mine.all()) == sorted([first, second])


def test_buttons_and_keys_wait_while_a_decision_is_on_its_way(page, live_server, queued):
    title = open_screen(page, live_server, queued)
    first = title.inner_text()
    held = []  # the decision's request, held in the network until the test lets it go
    page.route(re.compile(r"/decide/$"), lambda route: held.append(route))

    page.get_by_role("button", name="I Include").click()
    for name in ("I Include", "E Exclude", "M Maybe", "U Undo last"):
        expect(page.get_by_role("button", name=name)).to_be_disabled()
    page.keyboard.press("e")
    page.keyboard.press("m")
    page.wait_for_timeout(300)
    assert len(held) == 1

    held[0].continue_()
    page.wait_for_function(NEXT_RECORD, arg=first)
    wait_until_ready(page)
    expect(page.get_by_role("button", name="E Exclude")).to_be_enabled()
    decisions = Decision.objects.filter(reviewer__username="reviewer1")
    assert [(d.record.title, d.verdict) for d in decisions] == [(first, "include")]
    assert ScreeningEvent.objects.filter(actor__username="reviewer1").count() == 1


# Skip -------------------------------------------------------------------------------------------


def test_next_skips_a_record_which_comes_back_after_the_rest_of_the_queue(
    page, live_server, transactional_db, monkeypatch
):
    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD)
    review = load_seed_review(with_demo_users=True).review  # two records
    title = open_screen(page, live_server, review)
    skipped = title.inner_text()

    page.keyboard.press("ArrowRight")
    expect(title).not_to_have_text(skipped)
    other = title.inner_text()
    expect(page.get_by_text("1 skipped so far")).to_be_visible()
    page.keyboard.press("i")
    expect(title).to_have_text(skipped)  # the rest is done: the skipped record is back
    assert not Decision.objects.filter(reviewer__username="reviewer1", record__title=skipped)

    page.get_by_role("link", name="Next →").click()  # skipping the only one left shows it again
    expect(title).to_have_text(skipped)
    wait_until_ready(page)
    page.keyboard.press("e")
    expect(page.get_by_text("Nothing left for you at this stage")).to_be_visible()
    decided = Decision.objects.filter(reviewer__username="reviewer1")
    assert sorted(d.record.title for d in decided) == sorted([skipped, other])


# Full texts that could not be obtained ----------------------------------------------------------


def test_a_report_not_retrieved_leaves_the_full_text_queue_until_its_pdf_is_uploaded(
    page, new_page, live_server, queued
):
    first, second = person("reviewer1"), person("reviewer2")
    for state in RecordScreening.objects.filter(review=queued, stage=TA).order_by("record_id")[:3]:
        for reviewer in (first, second):
            screening.record_decision(
                record=state.record, user=reviewer, stage=TA, verdict="include"
            )
    title = open_screen(page, live_server, queued, FT)
    missing = title.inner_text()
    expect(page.get_by_text("Mine: 0 of 3")).to_be_visible()

    page.get_by_label("Could not be obtained").check()
    page.locator("#id_ft_note").fill("Library could not supply it")
    page.get_by_role("button", name="Save full text").click()

    expect(page.get_by_text("full text marked as not retrieved")).to_be_visible()
    expect(title).not_to_have_text(missing)
    expect(page.get_by_text("Mine: 0 of 2")).to_be_visible()
    expect(page.get_by_text("1 report not retrieved")).to_be_visible()
    for _ in range(2):
        wait_until_ready(page)
        shown = title.inner_text()
        assert shown != missing
        page.keyboard.press("i")
        page.wait_for_function(NEXT_RECORD, arg=shown)
    expect(page.get_by_text("Nothing left for you at this stage")).to_be_visible()
    missing_id = RecordScreening.objects.get(stage=FT, record__title=missing).record_id
    assert not Decision.objects.filter(record_id=missing_id, stage=FT).exists()
    rows = RecordScreening.objects.for_stage(queued, FT)
    assert list(rows.not_retrieved().values_list("record_id", flat=True)) == [missing_id]

    lead = new_page()
    log_in(lead, live_server, "lead", PASSWORD)
    lead.goto(f"{live_server.url}/reviews/{queued.slug}/screening/")
    expect(lead.get_by_text("1 report not retrieved").first).to_be_visible()
    lead.goto(f"{live_server.url}/reviews/{queued.slug}/records/ft/")
    lead.get_by_role("link", name=re.compile(r"Reports not retrieved \(1\)")).click()
    lead.get_by_role("row", name=re.compile(re.escape(missing[:40]))).get_by_role(
        "link", name="Open"
    ).click()
    expect(lead.get_by_text("Could not be obtained: Library could not supply it")).to_be_visible()
    lead.get_by_label("PDF of the full text").set_input_files(
        files=[{"name": "found.pdf", "mimeType": "application/pdf", "buffer": tiny_pdf()}]
    )
    lead.get_by_role("button", name="Save full text").click()
    expect(lead.get_by_text("Full text saved.")).to_be_visible()

    page.goto(f"{live_server.url}/reviews/{queued.slug}/screen/ft/")
    expect(title).to_have_text(missing)  # back in the queue, with its PDF
    expect(page.locator("iframe[title='Full text of the record']")).to_be_visible()
    assert not rows.not_retrieved().exists()


# Stopping ---------------------------------------------------------------------------------------


def test_stopping_asks_for_confirmation_with_the_estimate_and_a_note(page, live_server, queued):
    first = person("reviewer1")
    for state in RecordScreening.objects.filter(review=queued, stage=TA).order_by("record_id")[:2]:
        screening.record_decision(record=state.record, user=first, stage=TA, verdict="exclude")
    log_in(page, live_server, "lead", PASSWORD)
    page.goto(f"{live_server.url}/reviews/{queued.slug}/screening/")
    page.get_by_role("link", name="Stop screening new records…").click()

    expect(page.get_by_role("heading", name="Stop screening new records")).to_be_visible()
    expect(page.get_by_text("The stopping test says keep screening.")).to_be_visible()
    expect(page.get_by_text("2 of 8")).to_be_visible()  # records screened, of all
    assert not StoppingDecision.objects.exists()  # the click itself changed nothing

    page.get_by_role("button", name="Stop anyway, against the test").click()
    expect(page.get_by_text("Write a note for the log")).to_be_visible()
    assert not StoppingDecision.objects.exists()

    page.get_by_label("Note for the log").fill("Funding ends; protocol amendment 3")
    page.get_by_role("button", name="Stop anyway, against the test").click()
    expect(page.get_by_text("stopped for records nobody has screened yet. Logged.")).to_be_visible()
    expect(page.get_by_role("cell", name="Funding ends; protocol amendment 3")).to_be_visible()
    assert StoppingDecision.objects.get().note == "Funding ends; protocol amendment 3"

    page.get_by_role("link", name="Stop screening new records…").wait_for(state="detached")
    page.get_by_role("button", name="Resume screening").click()
    expect(page.get_by_text("screening resumed. Logged.")).to_be_visible()


# The lead's resolution note ---------------------------------------------------------------------


def test_the_leads_resolution_note_shows_on_the_resolve_page_and_in_the_records_history(
    page, live_server, queued
):
    record = RecordScreening.objects.filter(review=queued, stage=TA).order_by("record_id")[0]
    screening.record_decision(
        record=record.record, user=person("reviewer1"), stage=TA, verdict="include"
    )
    screening.record_decision(
        record=record.record,
        user=person("reviewer2"),
        stage=TA,
        verdict="exclude",
        reason="Wrong population",
    )
    log_in(page, live_server, "lead", PASSWORD)
    page.goto(f"{live_server.url}/reviews/{queued.slug}/records/ta/{record.record_id}/resolve/")
    page.get_by_label("Include").check()
    page.get_by_label("Note").fill("Adults with neuropathy: the population fits")
    page.get_by_role("button", name="Record the final decision").click()
    expect(page.get_by_text("resolved: include")).to_be_visible()

    page.goto(f"{live_server.url}/reviews/{queued.slug}/records/ta/{record.record_id}/resolve/")
    expect(page.locator("#resolution")).to_contain_text(
        "Note: “Adults with neuropathy: the population fits”"
    )
    page.goto(f"{live_server.url}/reviews/{queued.slug}/records/{record.record_id}/")
    history = page.locator("#screening-history")
    expect(history.locator(".resolution-note")).to_contain_text(
        "Adults with neuropathy: the population fits"
    )
    expect(history.get_by_text("lead · Resolved: Include")).to_be_visible()


# A tablet ---------------------------------------------------------------------------------------

BOX = """e => { const r = e.getBoundingClientRect();
  return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; }"""


def test_on_a_tablet_the_title_the_abstract_and_the_decision_buttons_fit_one_screen(
    new_page, live_server, queued
):
    page = new_page(TABLET)
    open_screen(page, live_server, queued)
    assert page.evaluate("scrollY") == 0
    boxes = {
        "title": page.locator("#record-title"),
        "Include": page.get_by_role("button", name="I Include"),
        "Exclude": page.get_by_role("button", name="E Exclude"),
        "Maybe": page.get_by_role("button", name="M Maybe"),
    }
    for name, locator in boxes.items():
        box = locator.evaluate(BOX)
        assert box["top"] >= 0 and box["bottom"] <= TABLET["height"], (name, box)
        assert box["left"] >= 0 and box["right"] <= TABLET["width"], (name, box)
    title = boxes["title"].evaluate(BOX)
    for name in ("Include", "Exclude", "Maybe"):
        assert boxes[name].evaluate(BOX)["top"] > title["bottom"], name
    # the start of the abstract (three lines at least) shows above the decision bar
    abstract = page.locator(".record-card .abstract p").first.evaluate(BOX)
    line = page.locator(".record-card .abstract p").first.evaluate(
        "e => parseFloat(getComputedStyle(e).lineHeight)"
    )
    assert title["bottom"] <= abstract["top"], abstract
    assert abstract["top"] + 3 * line < boxes["Include"].evaluate(BOX)["top"], abstract

    # a tap on a button decides, as a click does
    first = boxes["title"].inner_text()
    boxes["Include"].click()
    page.wait_for_function(NEXT_RECORD, arg=first)


def test_on_a_tablet_the_imports_table_scrolls_inside_its_own_box(new_page, live_server, queued):
    core.import_records(
        review=queued,
        data=ris(STUDIES[:1]),
        file_name="Embase_export_platelet_rich_plasma_neuropathic_pain_all_years_2026_11_30.ris",
        provenance=core.Provenance(
            source=ImportBatch.Source.EMBASE, source_detail="Embase via Ovid, all years"
        ),
    )
    page = new_page(TABLET)
    log_in(page, live_server, "lead", PASSWORD)
    page.goto(f"{live_server.url}/reviews/{queued.slug}/imports/")
    expect(page.get_by_role("heading", name="Imports")).to_be_visible()
    widths = page.evaluate("({page: document.documentElement.scrollWidth, view: innerWidth})")
    assert widths["page"] <= widths["view"], widths
    table = page.locator("table.data")
    box = table.locator("xpath=..").evaluate(BOX)
    assert box["right"] <= TABLET["width"], box
    expect(page.get_by_role("region", name="Imported files")).to_be_visible()
