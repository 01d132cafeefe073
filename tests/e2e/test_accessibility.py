"""Accessibility in a real browser: axe-core on every main page at laptop and tablet widths,
the screening page from the keyboard, and pages that fit a tablet.

axe-core comes from the npm registry (package.json, installed by `make install`). The pages
send a strict Content-Security-Policy, so axe is evaluated by the test driver rather than
added as a script tag.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from reviewmgr.seed import load_seed_review
from tests.e2e.conftest import DEMO_PASSWORD as PASSWORD, log_in

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21aa"]
LAPTOP = {"width": 1280, "height": 800}
TABLET = {"width": 768, "height": 1024}


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        message = f"axe-core is not installed at {AXE}: `make install` (npm ci) installs it."
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return AXE.read_text(encoding="utf-8")


@pytest.fixture
def seeded(transactional_db, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD)
    return load_seed_review(with_demo_users=True).review


def open_as(new_page, live_server, viewport: dict, username: str | None = "lead"):
    page = new_page(viewport)
    if username:
        log_in(page, live_server, username, PASSWORD)
        expect(page.get_by_role("heading", name="Your reviews")).to_be_visible()
    return page


def main_pages(scene) -> dict[str, str]:
    """Every main page of the product, by name, for a lead of the scene's review."""
    url = scene.url
    slug = scene.review.slug
    return {
        "review list": reverse("reviewmgr:review_list"),
        "review page": scene.review.get_absolute_url(),
        "new review form": reverse("reviewmgr:review_create"),
        "review settings": url("reviewmgr:review_edit"),
        "imports": url("reviewmgr:batch_list"),
        "upload": url("reviewmgr:batch_upload"),
        "batch detail": url("reviewmgr:batch_detail", scene.batch_id),
        "duplicates": url("reviewmgr:duplicate_list"),
        "duplicate comparison": url("reviewmgr:duplicate_detail", scene.pending_group.pk),
        "members": url("reviewmgr:member_list"),
        "record detail": url("reviewmgr:record_detail", scene.pdf_record_id),
        "screening title/abstract": reverse("screening:screen", args=[slug, "ta"]),
        "screening full text": reverse(
            "screening:screen_record", args=[slug, "ft", scene.pdf_record_id]
        ),
        "my decisions": reverse("screening:mine", args=[slug, "ta"]),
        "dashboard": url("screening:dashboard"),
        "screening settings": url("screening:settings"),
        "conflicts": reverse("screening:status_list", args=[slug, "ta"]) + "?show=conflict",
        "resolve": reverse("screening:resolve", args=[slug, "ta", scene.conflict_record_id]),
        "all records": reverse("screening:status_list", args=[slug, "ft"]),
        "stop confirmation": reverse("screening:stopping", args=[slug, "ta"]),
        "screening history": url("screening:history", scene.conflict_record_id),
        "extraction overview": url("extraction:overview"),
        "extraction form": url("extraction:extract", scene.consensus.pk),
        "extraction comparison": url("extraction:compare", scene.study.pk),
        "extraction forms": url("extraction:templates"),
        "template builder": url("extraction:template", scene.own_template.pk),
        "reports": url("extraction:reports"),
        "audit log": url("reviewmgr:audit_log"),
    }


def serious_violations(page, axe_source: str) -> list[dict]:
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source)
    results = page.evaluate(
        "tags => axe.run(document, {runOnly: tags, resultTypes: ['violations']})", WCAG_TAGS
    )
    return [v for v in results["violations"] if v["impact"] in ("serious", "critical")]


def describe(name: str, violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        targets = ", ".join(" ".join(node["target"]) for node in violation["nodes"][:6])
        lines.append(f"{name}: {violation['id']} ({violation['impact']}): {violation['help']}")
        lines.append(f"    {targets}")
    return "\n".join(lines)


@pytest.mark.parametrize("viewport", [LAPTOP, TABLET], ids=["laptop", "tablet"])
def test_axe_finds_no_serious_or_critical_problem_on_any_main_page(
    new_page, live_server, scene, axe_source, viewport
):
    page = open_as(new_page, live_server, viewport, username=None)
    page.goto(f"{live_server.url}{reverse('login')}")
    problems = [describe("login", serious_violations(page, axe_source))]
    log_in(page, live_server, "lead", PASSWORD)
    for name, path in main_pages(scene).items():
        response = page.goto(f"{live_server.url}{path}")
        assert response.ok, f"{name}: {path} answered {response.status}"
        problems.append(describe(name, serious_violations(page, axe_source)))
    report = "\n".join(p for p in problems if p)
    assert not report, f"axe-core ({', '.join(WCAG_TAGS)}) found:\n{report}"


def test_no_main_page_scrolls_sideways_on_a_tablet(new_page, live_server, scene):
    page = open_as(new_page, live_server, TABLET)
    too_wide = []
    for name, path in main_pages(scene).items():
        page.goto(f"{live_server.url}{path}")
        width, inner = page.evaluate(
            "() => [document.scrollingElement.scrollWidth, window.innerWidth]"
        )
        if width > inner:
            too_wide.append(f"{name}: {width}px wide in a {inner}px window")
    assert not too_wide, "\n".join(too_wide)


def test_the_top_bar_is_one_row_on_a_laptop_with_a_long_review_title(new_page, live_server, scene):
    """A lead sees every link of the review at once; a long title is shortened with an
    ellipsis and given whole as the link's tooltip."""
    scene.review.title = "Growth of non-avian dinosaurs measured by bone histology: " * 3
    scene.review.save(update_fields=["title"])
    page = open_as(new_page, live_server, LAPTOP)
    page.goto(f"{live_server.url}{reverse('screening:dashboard', args=[scene.review.slug])}")
    links = page.get_by_role("navigation", name="Review").get_by_role("link")
    expect(links).to_have_count(9)
    tops = {round(box["y"]) for box in (link.bounding_box() for link in links.all())}
    assert len(tops) == 1, f"the review's links sit on {len(tops)} rows"
    title = links.first
    assert title.get_attribute("title") == scene.review.title
    assert title.evaluate("e => e.scrollWidth > e.clientWidth"), "the long title is not cut"


FOCUSED = """() => {
  const e = document.activeElement, s = getComputedStyle(e);
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
  return {
    name: e.dataset.control || null,
    focusVisible: e.matches(':focus-visible'),
    styled: outline || s.boxShadow !== 'none',
    outline: `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}`,
    shadow: s.boxShadow,
  };
}"""
NEXT_RECORD = """old => { const t = document.getElementById('record-title');
  return !t || t.innerText !== old; }"""


def test_tab_reaches_every_screening_control_with_a_visible_focus(new_page, live_server, seeded):
    page = open_as(new_page, live_server, LAPTOP, "reviewer1")
    page.goto(f"{live_server.url}/reviews/{seeded.slug}/screen/ta/")
    page.keyboard.press("i")  # a decision behind, so that "Previous" is there too
    expect(page.get_by_role("link", name="← Previous")).to_be_visible()
    page.goto(f"{live_server.url}/reviews/{seeded.slug}/screen/ta/")
    controls = {
        "Include": page.get_by_role("button", name="I Include"),
        "Exclude": page.get_by_role("button", name="E Exclude"),
        "Maybe": page.get_by_role("button", name="M Maybe"),
        "reason": page.get_by_label("Exclusion reason"),
        "note": page.get_by_label("Note"),
        "tags": page.get_by_label("Tags"),
        "Previous": page.get_by_role("link", name="← Previous"),
        "Next": page.get_by_role("link", name="Next →"),
        "Undo": page.get_by_role("button", name="U Undo last"),
    }
    for name, locator in controls.items():
        locator.evaluate("(e, name) => { e.dataset.control = name; }", name)
    reached, unstyled = set(), []
    for _ in range(80):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused["name"] and focused["name"] not in reached:
            reached.add(focused["name"])
            if not (focused["focusVisible"] and focused["styled"]):
                unstyled.append(focused)
        if reached == controls.keys():
            break
    assert reached == controls.keys(), f"Tab never reached: {controls.keys() - reached}"
    assert not unstyled, f"focused without a visible focus style: {unstyled}"

    # a focused decision button works with Enter, as with a click
    title = page.locator("#record-title").inner_text()
    controls["Include"].focus()
    page.keyboard.press("Enter")
    page.wait_for_function(NEXT_RECORD, arg=title)


HIGHLIGHT_STYLE = """e => {
  const s = getComputedStyle(e), body = getComputedStyle(document.body);
  return {
    text: e.innerText,
    underlined: s.textDecorationLine.includes('underline'),
    bold: parseInt(s.fontWeight, 10) >= 600,
    coloured: s.color !== body.color || s.backgroundColor !== 'rgba(0, 0, 0, 0)',
  };
}"""


def test_highlighted_keywords_are_underlined_or_bold_as_well_as_coloured(
    new_page, live_server, seeded
):
    page = open_as(new_page, live_server, LAPTOP, "reviewer1")
    checked = []
    for path in (f"/reviews/{seeded.slug}/screen/ta/", seeded.get_absolute_url()):
        page.goto(f"{live_server.url}{path}")
        marks = page.locator(".kw-include, .kw-exclude")
        assert marks.count() > 0, f"no highlighted keyword on {path}"
        for index in range(marks.count()):
            style = marks.nth(index).evaluate(HIGHLIGHT_STYLE)
            assert style["coloured"], style
            assert style["underlined"] or style["bold"], style
            checked.append(style["text"])
    assert checked


PLACE = """e => {
  const r = e.getBoundingClientRect();
  const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return {
    box: [r.left + scrollX, r.top + scrollY, r.right + scrollX, r.bottom + scrollY],
    inside: r.left >= 0 && r.right <= innerWidth,
    uncovered: e === top || e.contains(top),
  };
}"""


def test_screening_controls_fit_a_tablet_without_overlapping(new_page, live_server, seeded):
    page = open_as(new_page, live_server, TABLET, "reviewer1")
    page.goto(f"{live_server.url}/reviews/{seeded.slug}/screen/ta/")
    controls = {
        "Include": page.get_by_role("button", name="I Include"),
        "Exclude": page.get_by_role("button", name="E Exclude"),
        "Maybe": page.get_by_role("button", name="M Maybe"),
        "reason": page.get_by_label("Exclusion reason"),
        "note": page.get_by_label("Note"),
        "tags": page.get_by_label("Tags"),
        "Next": page.get_by_role("link", name="Next →"),
        "Undo": page.get_by_role("button", name="U Undo last"),
    }
    boxes = {}
    for name, control in controls.items():
        control.scroll_into_view_if_needed()
        expect(control).to_be_visible()
        expect(control).to_be_in_viewport()
        place = control.evaluate(PLACE)
        assert place["inside"], f"{name} is cut off at the side: {place}"
        assert place["uncovered"], f"{name} is covered by another element: {place}"
        boxes[name] = place["box"]
    names = list(boxes)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            a, b = boxes[first], boxes[second]
            overlap = a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
            assert not overlap, f"{first} and {second} overlap: {a} {b}"
