"""Two worlds: nothing a blind reviewer is served depends on how the other reviewer decided.

The same review is played twice. In both worlds reviewer 2 screens every record of both
stages through the pages (by htmx, as the keyboard does), while reviewer 1 decides the same
records at the same moments; only reviewer 1's verdicts differ, flipped between the worlds.
Reviewer 2 then opens every address of the review (the URL resolver walked with every
object of the review, each also as an htmx fragment) and every link found on the pages it
got, and tries to change and undo its decisions. Everything reviewer 2 got, queue order
included, must be the same in both worlds once CSRF tokens, nonces and clock times are set
aside.

A new page is covered without touching this test: the walk reads the URL resolver.

Reviewer 1's flips are chosen so that no record reaches the next stage in one world and not
the other: a record both include moves on, which tells each that the other included it.
That consequence is accepted by design (see docs/screening.md), so it is held constant here.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.core.cache import cache
from django.core.management.color import no_style
from django.db import connection, transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from reviewmgr import services as core
from screening import prioritisation, services as screening
from screening.models import Stage
from tests.conftest import add_member, make_user

TA, FT = Stage.TITLE_ABSTRACT, Stage.FULL_TEXT
HTMX = {"HX-Request": "true"}
REASON, OTHER_REASON = "Wrong population", "Wrong outcomes"

# title: reviewer 2's verdict at title/abstract
SECOND = {
    "Platelet-rich plasma for diabetic peripheral neuropathy: a randomised trial": "include",
    "Perineural platelet-rich plasma reduces allodynia after nerve injury": "include",
    "Epidural platelet-rich plasma for lumbar radiculopathy": "include",
    "Platelet-rich plasma lowers IL-6 in a rat model of neuropathic pain": "include",
    "Intradiscal platelet-rich plasma for discogenic back pain": "include",
    "Platelet-rich plasma for postherpetic neuralgia: a pilot study": "maybe",
    "Statin therapy and cardiovascular events in the elderly": "exclude",
    "School-based nutrition programmes and childhood obesity": "exclude",
    "Antibiotic prophylaxis before dental extraction": "exclude",
    "Glycaemic control with insulin pumps in type 1 diabetes": "exclude",
    "Screen time and sleep quality in adolescents": "exclude",
    "Hand hygiene compliance in intensive care units": "exclude",
    "Vitamin D supplementation and fracture risk": "maybe",
    "Air pollution and asthma admissions in cities": "exclude",
}
TITLES = list(SECOND)
# Reviewer 1 includes these in both worlds: they reach full text in both (the accepted
# consequence), and are screened there with flipped verdicts.
BOTH_INCLUDE = TITLES[:2]
# Reviewer 1 never decides these, so the stage cannot end (and unblind) in either world.
FIRST_NEVER = [TITLES[4], TITLES[13]]

# Reviewer 1's verdict in world "a" and world "b", given reviewer 2's: always a different
# outcome (agreement or conflict), never one world advancing a record the other does not.
FLIP = {
    "include": ("exclude", "maybe"),
    "exclude": ("include", "exclude"),
    "maybe": ("include", "exclude"),
}
# At full text reviewer 2 includes the first and excludes the second (for REASON).
SECOND_FT = {BOTH_INCLUDE[0]: ("include", ""), BOTH_INCLUDE[1]: ("exclude", REASON)}
FIRST_FT = {
    BOTH_INCLUDE[0]: {"a": ("exclude", OTHER_REASON), "b": ("maybe", "")},
    # the same verdict, with the same or another reason: a conflict only in world "a"
    BOTH_INCLUDE[1]: {"a": ("exclude", OTHER_REASON), "b": ("exclude", REASON)},
}


def first_script(world: str) -> list[tuple[str, str, str]]:
    """Reviewer 1's title/abstract decisions in order: (title, verdict, reason)."""
    script = []
    for title in TITLES:
        if title in FIRST_NEVER:
            continue
        if title in BOTH_INCLUDE:
            verdict = "include"
        else:
            verdict = FLIP[SECOND[title]][0 if world == "a" else 1]
        script.append((title, verdict, REASON if verdict == "exclude" else ""))
    return script


# Normalising what differs between any two runs, whatever the data -----------------------

VOLATILE = [
    (re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"'), 'name="csrfmiddlewaretoken"'),
    (re.compile(r'"X-CSRFToken": "[^"]*"'), '"X-CSRFToken": ""'),
    (re.compile(r'nonce="[^"]*"'), 'nonce=""'),
    (re.compile(r"\b\d{1,2} [A-Z][a-z]{2}( \d{4})?,? \d{1,2}:\d{2}\b"), "<time>"),
    (
        re.compile(r"\b\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?"),
        "<time>",
    ),
    (re.compile(r"\b\d+\W(minute|hour|second)s?\b"), "<time>"),
]


def normalised(response) -> tuple:
    if getattr(response, "streaming", False):
        body = b"".join(response.streaming_content)
    else:
        body = response.content
    text = body.decode("utf-8", errors="replace")
    for pattern, replacement in VOLATILE:
        text = pattern.sub(replacement, text)
    headers = tuple(
        (name, response.headers[name])
        for name in ("Location", "Content-Type", "HX-Push-Url", "HX-Redirect", "HX-Trigger")
        if name in response.headers
    )
    return response.status_code, headers, text


LINK = re.compile(r'(?:href|src|hx-get|action)="(/[^"#]*)')


def links_in(text: str, prefix: str) -> list[str]:
    found = []
    for url in LINK.findall(text):
        url = url.replace("&amp;", "&")
        if urlsplit(url).path.startswith(prefix):
            found.append(url)
    return found


# Every address of the review, from the resolver --------------------------------------------

SKIPPED = {"admin/", "accounts/", "healthz"}


def routes(patterns=None, namespace: str = "", params: frozenset = frozenset()):
    """(namespaced name, parameter names) of every named URL pattern."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if patterns is None and str(entry.pattern) in SKIPPED:
            continue
        names = params | frozenset(getattr(entry.pattern, "converters", {}))
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from routes(entry.url_patterns, inner, names)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}", names


def addresses(review) -> list[str]:
    """Every address the resolver knows, filled with every object of the review."""
    record_ids = sorted(review.records.values_list("pk", flat=True))
    object_ids = sorted(
        {
            *record_ids,
            *review.batches.values_list("pk", flat=True),
            *review.memberships.values_list("pk", flat=True),
            *review.export_jobs.values_list("pk", flat=True),
            *review.duplicate_groups.values_list("pk", flat=True),
        }
    )
    values = {
        "slug": [review.slug],
        "stage": [TA, FT, "xx"],
        "record_id": record_ids,
        "pk": object_ids,
        "index": [0],
        "fmt": ["svg", "png"],
    }
    found = []
    for name, params in sorted(routes()):
        combos = [{}]
        for param in sorted(params):
            combos = [{**c, param: v} for c in combos for v in values.get(param, [])]
        for kwargs in combos:
            found.append(reverse(name, kwargs=kwargs))
    return found


# One world ------------------------------------------------------------------------------


def reset_sequences() -> None:
    """Ids start where the other world's started (PostgreSQL sequences ignore rollbacks)."""
    statements = connection.ops.sequence_reset_sql(no_style(), apps.get_models())
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def play(world: str, client, lead, first, second, capture) -> list[tuple]:
    """Everything reviewer 2 got in one world, in order, as (label, normalised reply)."""
    cache.clear()
    prioritisation._fitted.clear()
    reset_sequences()
    got: list[tuple] = []

    def ask(label: str, method: str, url: str, data=None, headers=None):
        with capture(execute=True):
            if method == "POST":
                response = client.post(url, data or {}, headers=headers or {})
            else:
                response = client.get(url, headers=headers or {})
        got.append((label, url, normalised(response)))
        return response

    review = core.create_review(title="Two worlds", slug="two-worlds", user=lead)
    review.inclusion_keywords = ["platelet-rich plasma", "neuropathic"]
    review.save()
    add_member(review, first, "reviewer")
    add_member(review, second, "reviewer")
    ris = "".join(f"TY  - JOUR\nTI  - {t}\nAB  - About {t}.\nER  - \n\n" for t in TITLES)
    with capture(execute=True):
        core.import_records(review=review, data=ris.encode(), file_name="search.ris")
    config = screening.config_for(review)
    config.exclusion_reasons = [REASON, OTHER_REASON]
    config.save()
    record_of = {r.title: r for r in review.records.all()}

    script = first_script(world)

    def first_decides(count: int) -> None:
        for _ in range(min(count, len(script))):
            title, verdict, reason = script.pop(0)
            with capture(execute=True):
                screening.record_decision(
                    record=record_of[title],
                    user=first,
                    stage=TA,
                    verdict=verdict,
                    reason=reason,
                )

    first_decides(3)  # reviewer 1 starts first: the queue must not learn from it
    client.force_login(second)
    slug = review.slug
    for stage in (TA, FT):
        response = ask(f"{stage} queue", "GET", reverse("screening:screen", args=[slug, stage]))
        decided = 0
        while response.context and response.context.get("record") is not None:
            record = response.context["record"]
            if stage == TA:
                verdict, reason = SECOND[record.title], ""
                reason = REASON if verdict == "exclude" else ""
            else:
                verdict, reason = SECOND_FT[record.title]
                mine, why = FIRST_FT[record.title][world]
                with capture(execute=True):
                    screening.record_decision(
                        record=record, user=first, stage=FT, verdict=mine, reason=why
                    )
            url = reverse("screening:decide", args=[slug, stage, record.pk])
            response = ask(
                f"{stage} decide", "POST", url, {"verdict": verdict, "reason": reason}, HTMX
            )
            decided += 1
            if stage == TA and decided % 3 == 0:
                first_decides(3)
            assert decided <= len(TITLES), "the queue never ends"
        first_decides(len(script))

    # Every address of the review, as a page and as an htmx fragment, then every link found.
    seen = set()
    pending = addresses(review)
    prefix = f"/reviews/{slug}/"
    while pending:
        url = pending.pop(0)
        if url in seen:
            continue
        seen.add(url)
        response = ask("page", "GET", url)
        ask("fragment", "GET", url, headers=HTMX)
        if response.status_code == 200 and "html" in response.headers.get("Content-Type", ""):
            pending += [
                link for link in links_in(response.content.decode(), prefix) if link not in seen
            ]
        assert len(seen) < 3000, "the crawl does not end"

    # Trying to change every decision, and to undo.
    for record in sorted(record_of.values(), key=lambda r: r.pk):
        for stage in (TA, FT):
            url = reverse("screening:decide", args=[slug, stage, record.pk])
            ask("change", "POST", url, {"verdict": "maybe"}, HTMX)
            ask("change, whole page", "POST", url, {"verdict": "exclude", "reason": OTHER_REASON})
    for stage in (TA, FT):
        for _ in range(3):
            ask("undo", "POST", reverse("screening:undo", args=[slug, stage]), headers=HTMX)
            ask("undo, whole page", "POST", reverse("screening:undo", args=[slug, stage]))
            ask("after undo", "GET", reverse("screening:screen", args=[slug, stage]))
    return got


@pytest.fixture
def people(db):
    lead = make_user("lead")
    return lead, make_user("reviewer1"), make_user("reviewer2")


def first_difference(a: list[tuple], b: list[tuple]) -> str:
    for n, (one, other) in enumerate(zip(a, b, strict=False)):
        if one != other:
            label, url, (status, headers, text) = one
            _, url_b, (status_b, headers_b, text_b) = other
            if url != url_b:
                return (
                    f"step {n}: reviewer 2 was led to {url} in one world and {url_b} in the other"
                )
            at = next(
                (i for i, (x, y) in enumerate(zip(text, text_b, strict=False)) if x != y),
                min(len(text), len(text_b)),
            )
            return (
                f"step {n} ({label} {url}): {status} vs {status_b}, {headers} vs {headers_b}\n"
                f"...{text[max(0, at - 300) : at + 200]}\n--- other world ---\n"
                f"...{text_b[max(0, at - 300) : at + 200]}"
            )
    return f"one world had {len(a)} steps, the other {len(b)}"


def test_nothing_reviewer_2_gets_depends_on_reviewer_1s_verdicts(
    client, people, django_capture_on_commit_callbacks
):
    lead, first, second = people
    worlds = {}
    for world in ("a", "b"):
        with transaction.atomic():
            worlds[world] = play(
                world, client, lead, first, second, django_capture_on_commit_callbacks
            )
            transaction.set_rollback(True)
    a, b = worlds["a"], worlds["b"]
    # the walk reached the pages a reviewer works with, and reviewer 2 screened both stages
    urls = {url for _, url, _ in a}
    assert any("/screen/ft/" in url for url in urls)
    assert any(url.endswith("/reports/") for url in urls)
    assert sum(1 for label, _, _ in a if label.endswith("decide")) == len(TITLES) + 2
    assert a == b, first_difference(a, b)
