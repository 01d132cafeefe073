"""Hostile text stays text.

Records, reviews, members, reasons, notes, extraction answers and form labels carry
script, image and SVG payloads and HTML entities. Every page that shows them must show them
escaped, never as markup; keyword highlighting adds only its own <mark>; every page is sent
with a Content-Security-Policy that forbids inline script; and no template holds an inline
script or an event-handler attribute. One check runs in a real browser.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.urls import reverse

from extraction import services as extraction
from extraction.models import Study, Template
from reviewmgr import services as core
from reviewmgr.models import DuplicateGroup, ImportBatch, Membership, Record
from screening import services as screening
from screening.highlight import highlight
from screening.models import RecordScreening, Stage
from tests.conftest import add_member, make_record, make_user

TA, FT = Stage.TITLE_ABSTRACT, Stage.FULL_TEXT
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(2)>"
SVG = '"><svg onload=alert(3)>'
HOSTILE = f"{SCRIPT} {IMG} {SVG}"
ENTITIES = "Tom &amp; Jerry &lt;b&gt;bold&lt;/b&gt;"  # entities as typed, to be shown as typed
ESCAPED = ("&lt;script&gt;alert(1)", "&lt;img src=x onerror=alert(2)", "&lt;svg onload=alert(3)")


# Reading markup ------------------------------------------------------------------------------


class Markup(HTMLParser):
    """The elements of a page and its text as a browser would read them."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)


def live_markup(html: str) -> list[str]:
    """What in this page would run script: inline or foreign scripts, event handlers,
    javascript: addresses, and the payloads' own elements."""
    problems = []
    for tag, attrs in Markup(html).elements:
        handlers = [name for name in attrs if name.startswith(("on", "hx-on"))]
        if handlers:
            problems.append(f"<{tag}> with {', '.join(handlers)}")
        for name in ("href", "src", "action", "formaction", "hx-get", "hx-post"):
            if (attrs.get(name) or "").strip().lower().startswith("javascript:"):
                problems.append(f"<{tag} {name}=javascript:...>")
        if tag == "script" and not (
            (attrs.get("src") or "").startswith("/" + settings.STATIC_URL.lstrip("/"))
            and attrs.get("nonce")
        ):
            problems.append(f"<script> not from the static files with the nonce: {attrs}")
        if tag == "img" and attrs.get("src") == "x":
            problems.append("the payload's <img>")
        if tag == "svg" and "onload" in attrs:
            problems.append("the payload's <svg>")
        if tag in ("base", "object", "embed"):
            problems.append(f"<{tag}>")
    return problems


def test_the_markup_check_sees_each_payload_when_it_is_live():
    for payload in (SCRIPT, IMG, SVG, '<a href="javascript:x()">', '<b hx-on:click="x()">'):
        assert live_markup(f"<p>{payload}</p>"), payload
    assert live_markup(f"<p>{HOSTILE.replace('<', '&lt;')}</p>") == []


def body_of(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


# Highlighting --------------------------------------------------------------------------------

KEYWORD_MARKS = {"kw kw-include", "kw kw-exclude"}


def read_highlight(html: str) -> tuple[str, list[str]]:
    """The text a reader sees and the words marked; fails on any element but our <mark>."""

    class Reader(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.text, self.marked, self.inside = [], [], False

        def handle_starttag(self, tag, attrs):
            assert tag == "mark" and dict(attrs).get("class") in KEYWORD_MARKS, (tag, attrs)
            assert not self.inside, "a <mark> inside a <mark>"
            self.inside = True
            self.marked.append("")

        def handle_endtag(self, tag):
            assert tag == "mark" and self.inside, f"</{tag}> that highlighting did not open"
            self.inside = False

        def handle_data(self, data):
            self.text.append(data)
            if self.inside:
                self.marked[-1] += data

    reader = Reader()
    reader.feed(str(html))
    reader.close()
    assert not reader.inside, "a <mark> left open"
    return "".join(reader.text), reader.marked


@pytest.mark.parametrize(
    ("text", "include", "exclude"),
    [
        (f"Neuropathy {HOSTILE} and more neuropathy", ["neuropathy"], ["alert"]),
        ("A <b>bold</b> claim about pain", ["<b>"], []),
        ("The </mark> tag and a mark of pain </mark><script>x</script>", ["mark"], ["pain"]),
        ('Pain " onmouseover="alert(1)', ['" onmouseover="alert(1)'], []),
        (ENTITIES, ["jerry", "amp"], ["lt"]),
        ("kw kw-include title class mark", ["kw", "title", "class"], ["include"]),
    ],
)
def test_highlighting_adds_only_its_own_marks_and_keeps_the_text_whole(text, include, exclude):
    shown, marked = read_highlight(highlight(text, include, exclude))
    assert shown == text
    assert marked  # each case does highlight something
    for word in marked:
        assert word in text


def test_a_keyword_that_looks_like_markup_never_becomes_markup():
    text = "A <b>bold</b> claim <script>x</script>"
    html = str(highlight(text, ["<b>"], ["<script>"]))
    assert "<b>" not in html and "<script>" not in html
    assert read_highlight(html)[0] == text


def test_a_record_holding_a_closing_mark_cannot_close_the_highlight():
    html = str(highlight("pain</mark><img src=x onerror=alert(1)>pain", ["pain"], []))
    assert html.count("<mark") == html.count("</mark>") == 2
    assert "&lt;/mark&gt;&lt;img src=x onerror=alert(1)&gt;" in html


# A review full of hostile text ---------------------------------------------------------------


def hostile_ris() -> bytes:
    return (
        f"TY  - JOUR\nTI  - Neuropathy relief {HOSTILE}\nAB  - Pain {HOSTILE} {ENTITIES}\n"
        f"AU  - {SCRIPT}, Evil\nAU  - Doe, {SVG}\nJO  - {IMG} Journal\nKW  - {SCRIPT}\n"
        f"KW  - {SVG}\nDO  - 10.1000/{SVG}\nPY  - 2020\nER  - \n\n"
        f"TY  - JOUR\nTI  - Neuropathy relief {SCRIPT} copy\nAU  - {SCRIPT}, Evil\nPY  - 2020\n"
        "ER  - \n"
    ).encode()


@pytest.fixture
def hostile(lead, second_reviewer):
    """Payloads in every text a person can type or import, seen by a lead who may see all."""
    review = core.create_review(
        title=f"Review {SCRIPT}",
        slug="hostile",
        user=lead,
        question=HOSTILE,
        inclusion_criteria=HOSTILE,
        exclusion_criteria=f"{HOSTILE}\n{ENTITIES}",
        inclusion_keywords=["neuropathy", "<b>", "mark", SCRIPT],
        exclusion_keywords=[IMG, "alert"],
    )
    villain = make_user(f"eve{SVG}")
    add_member(review, villain, Membership.Role.REVIEWER, Membership.Role.EXTRACTOR)
    add_member(review, second_reviewer, Membership.Role.REVIEWER, Membership.Role.EXTRACTOR)
    batch, ids = core.import_records(
        review=review,
        data=hostile_ris(),
        file_name=f"{SCRIPT}.ris",
        provenance=core.Provenance(
            source=ImportBatch.Source.PUBMED, source_detail=HOSTILE, search_string=HOSTILE
        ),
        find_duplicates=False,
    )
    imported, copy = Record.objects.filter(pk__in=ids).order_by("pk")
    # A lead's correction keeps the text exactly as typed (imports drop tags from titles).
    core.correct_record(
        record=imported,
        user=lead,
        title=f"Neuropathy relief {HOSTILE} </mark> mark",
        abstract=f"Pain {HOSTILE}\n\n{ENTITIES} </mark>",
    )
    group = DuplicateGroup.objects.create(review=review, score=0.7, reasons=[HOSTILE])
    Record.objects.filter(pk__in=ids).update(duplicate_group=group)

    config = screening.config_for(review)
    reason = f"Reason {HOSTILE}"
    config.exclusion_reasons = [reason]
    config.save()
    full_text = make_record(review, f"Full text {SCRIPT}")
    screening.sync_screening_rows(review=review)
    screening.record_decision(
        record=imported,
        user=villain,
        stage=TA,
        verdict="exclude",
        reason=reason,
        note=HOSTILE,
        tags=[SCRIPT],
    )
    screening.record_decision(record=imported, user=second_reviewer, stage=TA, verdict="include")
    for person in (villain, second_reviewer):
        screening.record_decision(record=full_text, user=person, stage=TA, verdict="include")
    for person in (villain, second_reviewer):
        screening.record_decision(
            record=full_text, user=person, stage=FT, verdict="exclude", reason=reason
        )
    screening.stop_screening(review=review, stage=TA, user=lead, note=HOSTILE)

    form = extraction.create_template(
        review=review,
        name=f"Form {SCRIPT}",
        user=lead,
        copy_of=Template.objects.get(review=None, key=extraction.BUILTIN_KEY),
    )
    definition = form.current.definition
    definition["sections"][0]["fields"].append(
        {"key": "hostile", "label": f"Label {HOSTILE}", "type": "short_text", "help": HOSTILE}
    )
    definition["sections"][0]["title"] = f"Study {SCRIPT}"
    extraction.publish_template_version(template=form, definition=definition, user=lead)
    extraction_config = extraction.config_for(review)
    extraction_config.template = form
    extraction_config.save()
    included = make_record(review, f"Included {SCRIPT}")
    RecordScreening.objects.create(
        review=review, record=included, stage=FT, status="resolved", outcome="include"
    )
    extraction.sync_studies(review=review)
    study = Study.objects.get(record=included)
    for person, answer in ((villain, HOSTILE), (second_reviewer, ENTITIES)):
        row = extraction.start_extraction(study=study, user=person)
        extraction.save_value(extraction=row, path="study.hostile", raw=answer, user=person)
        extraction.save_value(extraction=row, path="study.country", raw=answer, user=person)
    return {
        "review": review,
        "record": imported,
        "group": group,
        "batch": batch,
        "template": form,
        "study": study,
        "extraction": study.extractions.get(extractor=villain),
        "lead": lead,
        "villain": villain,
    }


def hostile_pages(h) -> list[tuple[str, str, dict]]:
    slug, record = h["review"].slug, h["record"]
    htmx = {"HX-Request": "true"}
    return [
        ("review list", reverse("reviewmgr:review_list"), {}),
        ("review page", h["review"].get_absolute_url(), {}),
        ("review page fragment", h["review"].get_absolute_url() + "?q=relief", htmx),
        ("review settings", reverse("reviewmgr:review_edit", args=[slug]), {}),
        ("record page", record.get_absolute_url(), {}),
        ("record correction", reverse("reviewmgr:record_correct", args=[slug, record.pk]), {}),
        ("members", reverse("reviewmgr:member_list", args=[slug]), {}),
        ("imports", reverse("reviewmgr:batch_list", args=[slug]), {}),
        ("import", h["batch"].get_absolute_url(), {}),
        ("duplicates", reverse("reviewmgr:duplicate_list", args=[slug]), {}),
        ("duplicates compared", h["group"].get_absolute_url(), {}),
        ("audit log", reverse("reviewmgr:audit_log", args=[slug]), {}),
        ("screening page", reverse("screening:screen_record", args=[slug, TA, record.pk]), {}),
        (
            "screening fragment",
            reverse("screening:screen_record", args=[slug, TA, record.pk]),
            htmx,
        ),
        ("conflicts", reverse("screening:status_list", args=[slug, TA]) + "?show=conflict", {}),
        ("resolve page", reverse("screening:resolve", args=[slug, TA, record.pk]), {}),
        ("my decisions", reverse("screening:mine", args=[slug, TA]), {}),
        ("dashboard", reverse("screening:dashboard", args=[slug]), {}),
        ("screening settings", reverse("screening:settings", args=[slug]), {}),
        ("extraction", reverse("extraction:overview", args=[slug]), {}),
        ("forms", reverse("extraction:templates", args=[slug]), {}),
        ("form", reverse("extraction:template", args=[slug, h["template"].pk]), {}),
        ("compare", reverse("extraction:compare", args=[slug, h["study"].pk]), {}),
        ("reports", reverse("extraction:reports", args=[slug]), {}),
    ]


def test_every_page_shows_hostile_text_escaped_and_never_as_markup(client, hostile):
    client.force_login(hostile["lead"])
    problems = []
    for label, url, headers in hostile_pages(hostile):
        response = client.get(url, headers=headers)
        assert response.status_code == 200, label
        html = body_of(response)
        problems += [f"{label}: {problem}" for problem in live_markup(html)]
        if not any(escaped in html for escaped in ESCAPED):
            problems.append(f"{label}: shows no payload at all, so proves nothing")
    assert not problems, "\n".join(problems)


def test_the_extractors_form_shows_hostile_labels_and_answers_escaped(client, hostile):
    client.force_login(hostile["villain"])
    url = reverse("extraction:extract", args=[hostile["review"].slug, hostile["extraction"].pk])
    html = client.get(url).content.decode()
    assert live_markup(html) == []
    assert "Label &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt; &lt;img' in html
    saved = client.post(
        reverse("extraction:save", args=[hostile["review"].slug, hostile["extraction"].pk]),
        {"study.sample_size": SCRIPT},
        headers={"HX-Request": "true", "HX-Trigger-Name": "study.sample_size"},
    )
    assert live_markup(saved.content.decode()) == []
    assert "Saved" not in saved.content.decode()


def test_entities_in_the_data_are_shown_as_typed_not_decoded_into_markup(client, hostile):
    client.force_login(hostile["lead"])
    html = client.get(hostile["record"].get_absolute_url()).content.decode()
    assert ENTITIES in "".join(Markup(html).text)
    assert "<b>bold</b>" not in html


def test_the_screening_page_marks_keywords_without_breaking_out_of_the_text(client, hostile):
    """The review's keywords include "<b>", "mark" and a script tag; the record holds
    "</mark>": the title reads exactly as stored, with only keyword marks added."""
    client.force_login(hostile["lead"])
    record = hostile["record"]
    url = reverse("screening:screen_record", args=[hostile["review"].slug, TA, record.pk])
    html = client.get(url).content.decode()
    title = re.search(r'<h2 id="record-title">(.*?)</h2>', html, re.S).group(1)
    shown, marked = read_highlight(title)
    assert shown == record.title
    assert "Neuropathy" in marked and "mark" in marked
    assert "<b>" not in html


def test_the_prisma_diagram_draws_a_hostile_reason_as_text(client, hostile):
    client.force_login(hostile["lead"])
    svg = client.get(reverse("extraction:prisma", args=[hostile["review"].slug, "svg"]))
    text = svg.content.decode()
    assert svg["Content-Type"] == "image/svg+xml"
    assert "&lt;script&gt;alert(1)" in text
    assert live_markup(text) == []
    assert "Content-Security-Policy" in svg.headers  # even opened on its own


def test_the_exports_keep_hostile_text_as_data(client, hostile):
    """Downloads are files, not pages: served as attachments, never as HTML."""
    client.force_login(hostile["lead"])
    slug = hostile["review"].slug
    for name in ("extraction:workbook", "extraction:csv", "extraction:ris", "extraction:backup"):
        response = client.get(reverse(name, args=[slug]))
        assert response.status_code == 200, name
        assert response["Content-Disposition"].startswith("attachment"), name
        assert "html" not in response["Content-Type"], name
        assert response["X-Content-Type-Options"] == "nosniff", name


# Content-Security-Policy and templates -------------------------------------------------------


def script_sources(policy: str) -> list[str]:
    for directive in policy.split(";"):
        name, *values = directive.split()
        if name == "script-src":
            return values
    return []


def test_every_page_forbids_inline_script_by_its_content_security_policy(client, hostile):
    client.force_login(hostile["lead"])
    slug = hostile["review"].slug
    urls = [url for _, url, _ in hostile_pages(hostile)] + [
        reverse("screening:screen", args=[slug, TA]),
        reverse("reviewmgr:record_detail", args=[slug, 999999]),  # the 404 page too
        reverse("login"),
    ]
    for url in urls:
        response = client.get(url)
        policy = response.headers.get("Content-Security-Policy", "")
        sources = script_sources(policy)
        assert sources, f"{url}: no script-src in {policy!r}"
        assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources, url
        assert "'unsafe-inline'" not in policy, url
        nonce = next(s for s in sources if s.startswith("'nonce-"))[7:-1]
        page_nonces = {
            attrs["nonce"] for tag, attrs in Markup(body_of(response)).elements if tag == "script"
        }
        assert page_nonces == {nonce}, url


def template_files() -> list[Path]:
    folders = [Path(folder) for engine in settings.TEMPLATES for folder in engine["DIRS"]]
    for label in ("reviewmgr", "screening", "extraction"):
        folders.append(Path(apps.get_app_config(label).path) / "templates")
    return sorted(path for folder in folders if folder.exists() for path in folder.rglob("*.html"))


TAG = re.compile(r"<([a-zA-Z][\w-]*)\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>", re.S)
HANDLER = re.compile(r"(?:^|\s)(on[a-z]+|hx-on[:\w-]*)\s*=", re.I)


def test_templates_hold_no_inline_script_event_handler_or_unescaped_output():
    files = template_files()
    assert len(files) >= 30  # every app's templates were found
    problems = []
    for path in files:
        source = path.read_text(encoding="utf-8")
        name = path.relative_to(settings.BASE_DIR)
        for match in TAG.finditer(source):
            tag, attributes = match.group(1).lower(), match.group(2)
            if handler := HANDLER.search(attributes):
                problems.append(f"{name}: <{tag}> has the handler {handler.group(1)}")
            if tag == "script" and "{{ csp_nonce }}" not in attributes:
                problems.append(f"{name}: <script> without the nonce")
            if tag == "script" and "src=" not in attributes:
                problems.append(f"{name}: inline <script>")
            if "javascript:" in attributes.lower():
                problems.append(f"{name}: <{tag}> with a javascript: address")
        for unsafe in ("|safe", "autoescape off", "|safeseq"):
            if unsafe in source:
                problems.append(f"{name}: {unsafe}")
    assert not problems, "\n".join(problems)
