"""The extraction form in a real browser, as an extractor types into it: a refused number stays
on screen and the page asks before it is left, the list of what is still missing follows each
answer, rows are added without reloading the page, the key columns stay in view, and a field
required only in some cases shows its star only then."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.e2e.conftest import DEMO_PASSWORD, field, log_in

PASSWORD = DEMO_PASSWORD


@pytest.fixture
def form(page, live_server, included):
    """reviewer1's extraction form for the seed article, included at both stages."""
    review = included
    log_in(page, live_server, "reviewer1", PASSWORD)
    page.goto(f"{live_server.url}/reviews/{review.slug}/extraction/")
    page.get_by_role("button", name="Extract").click()
    expect(page.get_by_role("heading", name="Risk of bias")).to_be_visible()
    return page


def still_missing(page):
    return page.locator("#still-missing")


def test_a_refused_number_stays_as_typed_and_leaving_asks_first(form):
    page = form
    size = field(page, "Sample size")
    size.fill("24")
    expect(page.locator("#f-study-sample-size-status")).to_have_text("Saved")

    size.fill("47,1")
    status = page.locator("#f-study-sample-size-status")
    expect(status).to_contain_text("Not saved: the saved answer is still “24”")
    expect(size).to_have_value("47,1")
    expect(size).to_have_attribute("aria-invalid", "true")

    asked = []

    def dismiss(dialog):
        asked.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", dismiss)
    url = page.url
    page.get_by_role("link", name="← Studies").click()
    page.wait_for_timeout(300)
    assert asked == ["beforeunload"]
    assert page.url == url
    expect(size).to_have_value("47,1")

    size.fill("47")
    expect(status).to_have_text("Saved")
    expect(size).not_to_have_attribute("aria-invalid", "true")
    page.get_by_role("link", name="← Studies").click()
    expect(page).to_have_url(re.compile(r"/extraction/$"))
    assert asked == ["beforeunload"]


def test_still_missing_follows_each_answer_without_a_reload(form):
    page = form
    expect(still_missing(page)).to_contain_text("Design is required.")
    page.evaluate("window.notReloaded = true")

    field(page, "Design").select_option("animal")
    field(page, "Subject").select_option("animal")

    expect(still_missing(page)).not_to_contain_text("Design is required.")
    expect(still_missing(page)).to_contain_text("Strain is required when Subject is Animals")
    field(page, "Subject").select_option("human")
    expect(still_missing(page)).not_to_contain_text("Strain is required")
    assert page.evaluate("window.notReloaded") is True


def test_a_row_is_added_and_removed_without_reloading_the_page(form):
    page = form
    table = page.locator("#f-cytokines-measurements")
    page.evaluate("window.notReloaded = true")

    table.get_by_role("button", name="Add a row").click()

    group = page.get_by_label("Group, row 1", exact=True)
    expect(group).to_be_focused()
    expect(still_missing(page)).to_contain_text(
        "Cytokine and growth-factor measurements, row 1: Analyte is required."
    )
    group.press_sequentially("PRP", delay=0)
    table.get_by_role("button", name="Add a row").click()  # the group is saved first
    expect(page.get_by_label("Group, row 2", exact=True)).to_be_focused()
    expect(page.get_by_label("Group, row 1", exact=True)).to_have_value("PRP")

    table.get_by_role("button", name="Remove row 1").click()
    expect(page.get_by_label("Group, row 2", exact=True)).to_have_count(0)
    expect(page.get_by_label("Group, row 1", exact=True)).to_have_value("")
    assert page.evaluate("window.notReloaded") is True
    page.reload()
    expect(page.get_by_label("Group, row 1", exact=True)).to_have_value("")
    expect(page.get_by_label("Group, row 2", exact=True)).to_have_count(0)


def test_the_key_columns_stay_in_view_while_typing_the_numbers(form):
    page = form
    table = page.locator("#f-cytokines-measurements")
    table.get_by_role("button", name="Add a row").click()
    group = page.get_by_label("Group, row 1", exact=True)
    expect(group).to_be_focused()
    scroller = table.locator(".table-scroll")

    page.get_by_label("Maximum, row 1", exact=True).focus()  # the last column scrolls in
    assert scroller.evaluate("e => e.scrollLeft") > 300

    box = scroller.bounding_box()
    key = ("Group", "Analyte", "Compartment", "Assay", "Days since injury", "Days since PRP")
    for label in key:
        cell = page.get_by_label(f"{label}, row 1", exact=True).bounding_box()
        assert box["x"] <= cell["x"] and cell["x"] + cell["width"] <= box["x"] + box["width"]
    maximum = page.get_by_label("Maximum, row 1", exact=True).bounding_box()
    last_key = page.get_by_label("Days since PRP, row 1", exact=True).bounding_box()
    assert maximum["x"] >= last_key["x"] + last_key["width"]  # not hidden under the keys

    # on a narrow screen fewer key columns stay, and the numbers still have room beside them
    page.set_viewport_size({"width": 820, "height": 860})
    expect(table.locator("thead .sticky-key.placed")).not_to_have_count(6)
    page.get_by_label("Minimum, row 1", exact=True).focus()
    page.get_by_label("Maximum, row 1", exact=True).focus()
    keys = table.locator("tbody tr").first.locator(".sticky-col.placed")
    last_key = keys.last.bounding_box()
    maximum = page.get_by_label("Maximum, row 1", exact=True).bounding_box()
    assert keys.count() >= 3 and maximum["x"] >= last_key["x"] + last_key["width"]


def test_a_conditional_star_shows_only_while_its_condition_holds(form):
    page = form
    strain_star = page.locator("label[for=f-animal-strain] .req")
    design_star = page.locator("label[for=f-study-design] .req")
    expect(design_star).to_be_visible()
    expect(strain_star).to_be_hidden()
    expect(field(page, "Strain")).not_to_have_attribute("aria-required", "true")

    field(page, "Subject").select_option("animal")
    expect(strain_star).to_be_visible()
    expect(field(page, "Strain")).to_have_attribute("aria-required", "true")

    field(page, "Subject").select_option("human")
    expect(strain_star).to_be_hidden()
    expect(page.locator("#f-study-subject-status")).to_have_text("Saved")
    page.reload()
    expect(strain_star).to_be_hidden()


def test_changing_a_table_asks_before_a_refused_value_in_it_is_lost(form):
    page = form
    table = page.locator("#f-cytokines-measurements")
    table.get_by_role("button", name="Add a row").click()
    # the new row is ready (its saves wired) when it takes the focus; a hand is never faster
    expect(page.get_by_label("Group, row 1", exact=True)).to_be_focused()
    mean = page.get_by_label("Mean, row 1", exact=True)
    mean.fill("47,1")
    expect(mean).to_have_attribute("aria-invalid", "true")
    questions = []

    def answer(dialog):
        questions.append(dialog.message)
        dialog.dismiss() if len(questions) == 1 else dialog.accept()

    page.on("dialog", answer)
    table.get_by_role("button", name="Add a row").click()
    expect(mean).to_have_value("47,1")
    assert questions == [
        "Not saved, and lost if the table changes now: Mean, row 1: 47,1. Change the table anyway?"
    ]
    expect(page.get_by_label("Group, row 2", exact=True)).to_have_count(0)

    table.get_by_role("button", name="Add a row").click()
    expect(page.get_by_label("Group, row 2", exact=True)).to_be_focused()
    expect(page.get_by_label("Mean, row 1", exact=True)).to_have_value("")


def test_the_comparison_keeps_the_field_and_row_key_in_view(new_page, live_server, scene):
    """On a narrow screen the comparison scrolls sideways; each row still says what it is."""
    page = new_page({"width": 560, "height": 800})
    log_in(page, live_server, "lead", PASSWORD)
    path = reverse("extraction:compare", args=[scene.review.slug, scene.study.pk])
    page.goto(f"{live_server.url}{path}?show=all")
    scroller = page.locator(".compare-scroll")
    assert scroller.evaluate("e => e.scrollWidth > e.clientWidth")

    scroller.evaluate("e => { e.scrollLeft = e.scrollWidth; }")

    box = scroller.bounding_box()
    header = page.get_by_role("rowheader").filter(has_text="Cytokine and growth-factor").first
    cell = header.bounding_box()
    assert abs(cell["x"] - box["x"]) < 2
    expect(header).to_contain_text("PRP, IL-6, Serum")
