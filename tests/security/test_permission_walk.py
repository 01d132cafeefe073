"""Every address of the product, asked for by everyone who might ask.

The URL patterns are walked from the resolver, so a new address without a line in CASES
fails here by name. Each case names a real object of a review in which everything exists
(see `world`), and what each role gets for GET and, for views that change something, POST:
anonymous visitors are sent to log in, outsiders get 404 (the review's existence does not
leak), members get what their roles allow. A refused POST must leave the database and the
stored files exactly as they were; an allowed POST must change something (else the data
posted would prove nothing about the refusals), and is then rolled back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from extraction import reporting, services as extraction
from extraction.models import Template
from reviewmgr.models import DuplicateGroup, Membership
from screening import services as screening
from screening.models import Decision
from tests.conftest import add_member, make_record, make_review
from tests.security.conftest import PDF, World, ris

MEMBERS = ("reviewer", "extractor", "lead")
# Addresses that are not the product's own: Django's admin and log-in views, the probe, the
# icon. The API and the account's API tokens have walks of their own, in tests/api/.
SKIPPED_ROUTES = {"admin/", "accounts/", "healthz", "favicon.ico", "api/", "accounts/tokens/"}


# The walk ------------------------------------------------------------------------------------


def walk(patterns=None, namespace: str = "", prefix: str = "") -> list[tuple[str, str]]:
    """(namespaced name, route) of every URL pattern, or ("", route) for an unnamed one."""
    found = []
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern)
        if patterns is None and str(entry.pattern) in SKIPPED_ROUTES:
            continue
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found += walk(entry.url_patterns, inner, route)
        elif isinstance(entry, URLPattern):
            found.append((f"{namespace}{entry.name}" if entry.name else "", route))
    return found


# Expectations --------------------------------------------------------------------------------


def only(status: int, *roles: str, refused: int = 403) -> dict[str, int]:
    """`status` for members holding one of `roles`, `refused` for the other members."""
    return {role: status if role in roles else refused for role in MEMBERS}


EVERY_MEMBER = only(200, *MEMBERS)
LEAD_PAGE = only(200, "lead")
LEAD_ACTION = only(302, "lead")
SCREENERS_PAGE = only(200, "reviewer", "lead")  # the lead of a new review also screens
SCREENERS_ACTION = only(302, "reviewer", "lead")


@dataclass(frozen=True)
class Case:
    """One concrete address of a URL pattern and who gets what there.

    `get` is None where the view takes POST only (405 for everyone logged in); `post` is
    None where POST changes nothing (such views are only POSTed by outsiders).
    """

    name: str
    args: Callable[[World], list]
    get: dict[str, int] | None
    post: dict[str, int] | None = None
    data: Callable[[World], dict] = lambda world: {}
    query: str = ""
    review_scoped: bool = True
    label: str = ""
    changes_rows: bool = True  # False: an allowed POST only queues work for later

    def url(self, world: World) -> str:
        return reverse(self.name, args=self.args(world)) + self.query

    def __str__(self) -> str:
        return f"{self.name}{f' ({self.label})' if self.label else ''}"


def at(*parts: Callable[[World], object]) -> Callable[[World], list]:
    """URL arguments after the review's slug."""
    return lambda world: [world.review.slug, *(part(world) for part in parts)]


def const(value) -> Callable[[World], object]:
    return lambda world: value


def membership_of_second_reviewer(world: World) -> int:
    return world.review.memberships.get(user=world.second_reviewer).pk


def screening_settings(world: World) -> dict:
    return {
        "reviewers_required": "2",
        "blind": "",  # switched off: a change
        "maybe_advances": "on",
        "exclusion_reasons": "Wrong population\nWrong study design",
        "order": "random",
        "retrain_every": "5",
        "exploration": "0.05",
    }


def review_settings(world: World) -> dict:
    return {"title": "Renamed review", "slug": world.review.slug, "question": "New question"}


def new_ris_file(world: World) -> dict:
    return {
        "file": SimpleUploadedFile("more.ris", ris(["A newly found trial"], "10.3000/x")),
        "source": "embase",
        "format": "auto",
    }


def risk_of_bias_answers(world: World) -> dict:
    tool = extraction.tool_for(world.own_extraction)
    answers = {f"judgement_{domain.key}": tool.judgements[0] for domain in tool.domains}
    return {"tool": tool.key, **answers}


def first_extractors_answer(world: World) -> dict:
    source = world.in_consensus.extractions.get(extractor__username="ext1")
    return {"source": str(source.pk), "path": "study.country"}


def second_reviewers_decision(record_attr: str, stage: str) -> Callable[[World], dict]:
    def data(world: World) -> dict:
        record = getattr(world, record_attr)
        decision = Decision.objects.get(record=record, stage=stage, reviewer=world.second_reviewer)
        return {"decision": str(decision.pk)}

    return data


def first_analysis(world: World) -> str:
    return reporting.analyses(world.review)[0].slug


def pk_of(attr: str) -> Callable[[World], int]:
    return lambda world: getattr(world, attr).pk


CASES = [
    # reviewmgr ---------------------------------------------------------------------------
    Case(
        "reviewmgr:review_list",
        lambda world: [],
        {"outsider": 200, **EVERY_MEMBER},
        review_scoped=False,
    ),
    Case(
        "reviewmgr:review_create",
        lambda world: [],
        {"outsider": 200, **EVERY_MEMBER},
        {"outsider": 302, **only(302, *MEMBERS)},
        lambda world: {"title": "A new review"},
        review_scoped=False,
    ),
    Case("reviewmgr:review_detail", at(), EVERY_MEMBER),
    Case("reviewmgr:review_edit", at(), LEAD_PAGE, LEAD_ACTION, review_settings),
    Case(
        "reviewmgr:member_list",
        at(),
        EVERY_MEMBER,
        LEAD_ACTION,
        lambda world: {"username": "newcomer", "roles": ["reviewer"]},
    ),
    Case(
        "reviewmgr:member_update",
        at(membership_of_second_reviewer),
        None,
        LEAD_ACTION,
        lambda world: {"roles": ["lead", "reviewer"]},
    ),
    Case("reviewmgr:member_remove", at(membership_of_second_reviewer), None, LEAD_ACTION),
    Case("reviewmgr:record_detail", at(pk_of("record")), EVERY_MEMBER),
    Case(
        "reviewmgr:record_correct",
        at(pk_of("record")),
        LEAD_PAGE,
        LEAD_ACTION,
        lambda world: {"title": "A corrected title", "year": "2020"},
    ),
    Case(
        "reviewmgr:record_known_relevant",
        at(pk_of("record")),
        None,
        LEAD_ACTION,
        lambda world: {"known": "1"},
    ),
    Case(
        "reviewmgr:report_link",
        at(pk_of("ft_awaiting")),
        None,
        LEAD_ACTION,
        lambda world: {"to": world.record.pk},
    ),
    Case("reviewmgr:report_unlink", at(pk_of("conflict")), None, LEAD_ACTION),
    Case("reviewmgr:batch_list", at(), EVERY_MEMBER),
    Case("reviewmgr:batch_upload", at(), LEAD_PAGE, LEAD_ACTION, new_ris_file),
    Case("reviewmgr:batch_detail", at(pk_of("batch")), EVERY_MEMBER),
    Case(
        "reviewmgr:batch_map",
        at(pk_of("mapping_batch")),
        LEAD_PAGE,
        LEAD_ACTION,
        lambda world: {"col_0": "title", "col_1": "authors"},
    ),
    Case("reviewmgr:batch_retry", at(pk_of("failed_batch")), None, LEAD_ACTION),
    Case(
        "reviewmgr:batch_version",
        at(pk_of("batch")),
        None,
        LEAD_ACTION,
        lambda world: {"version_role": "new", "search_date": "2024-03-01"},
    ),
    Case("reviewmgr:batch_delete", at(pk_of("failed_batch")), LEAD_PAGE, LEAD_ACTION),
    Case("reviewmgr:duplicate_list", at(), LEAD_PAGE),
    Case("reviewmgr:duplicate_detail", at(pk_of("group")), LEAD_PAGE),
    Case(
        "reviewmgr:duplicate_decide",
        at(pk_of("group")),
        None,
        LEAD_ACTION,
        lambda world: {"action": "reject"},
    ),
    Case("reviewmgr:audit_log", at(), LEAD_PAGE),
    Case("reviewmgr:audit_log", at(), LEAD_PAGE, query="?format=csv", label="CSV download"),
    # screening ---------------------------------------------------------------------------
    Case("screening:dashboard", at(), EVERY_MEMBER),
    Case("screening:rerank", at(), None, LEAD_ACTION, changes_rows=False),
    Case("screening:settings", at(), LEAD_PAGE, LEAD_ACTION, screening_settings),
    Case(
        "screening:stopping",
        at(const("ta")),
        LEAD_PAGE,  # the confirmation, with the estimate
        LEAD_ACTION,
        lambda world: {"action": "stop", "note": "Enough"},
    ),
    *(Case("screening:screen", at(const(s)), SCREENERS_PAGE, label=s) for s in ("ta", "ft")),
    Case("screening:undo", at(const("ta")), None, SCREENERS_ACTION),
    *(Case("screening:mine", at(const(s)), SCREENERS_PAGE, label=s) for s in ("ta", "ft")),
    Case("screening:screen_record", at(const("ta"), pk_of("record")), SCREENERS_PAGE, label="ta"),
    Case(
        "screening:screen_record",
        at(const("ft"), pk_of("ft_awaiting")),
        SCREENERS_PAGE,
        label="ft",
    ),
    Case(
        "screening:decide",
        at(const("ta"), pk_of("record")),
        None,
        SCREENERS_ACTION,
        lambda world: {"verdict": "include"},
        label="ta",
    ),
    Case(
        "screening:decide",
        at(const("ft"), pk_of("ft_awaiting")),
        None,
        SCREENERS_ACTION,
        lambda world: {"verdict": "include"},
        label="ft",
    ),
    *(Case("screening:status_list", at(const(s)), LEAD_PAGE, label=s) for s in ("ta", "ft")),
    Case(
        "screening:resolve",
        at(const("ta"), pk_of("conflict")),
        LEAD_PAGE,
        LEAD_ACTION,
        lambda world: {"verdict": "include"},
        label="ta",
    ),
    Case(
        "screening:resolve",
        at(const("ft"), pk_of("ft_conflict")),
        LEAD_PAGE,
        LEAD_ACTION,
        lambda world: {"verdict": "exclude", "reason": "Wrong intervention"},
        label="ft",
    ),
    Case("screening:add_reviewer", at(const("ta"), pk_of("conflict")), None, LEAD_ACTION),
    Case(
        "screening:withdraw",
        at(const("ft"), pk_of("ft_conflict")),
        None,
        LEAD_ACTION,
        second_reviewers_decision("ft_conflict", "ft"),
    ),
    Case(
        "screening:fulltext_upload",
        at(pk_of("ft_awaiting")),
        None,
        only(302, *MEMBERS),  # whoever obtains the paper may add it
        lambda world: {"pdf": SimpleUploadedFile("paper.pdf", PDF)},
    ),
    Case("screening:fulltext_pdf", at(pk_of("ft_conflict")), EVERY_MEMBER),
    Case("screening:history", at(pk_of("conflict")), EVERY_MEMBER),
    # extraction --------------------------------------------------------------------------
    Case("extraction:overview", at(), EVERY_MEMBER),
    Case(
        "extraction:settings",
        at(),
        None,
        LEAD_ACTION,
        lambda world: {"template": str(world.template.pk), "extractors_may_reconcile": "on"},
    ),
    Case("extraction:templates", at(), EVERY_MEMBER),
    Case(
        "extraction:template_create",
        at(),
        None,
        LEAD_ACTION,
        lambda world: {"name": "Another form"},
    ),
    Case(
        "extraction:template",
        at(pk_of("template")),
        EVERY_MEMBER,
        LEAD_ACTION,
        lambda world: {
            "action": "add",
            "add-section": "Study",
            "add-label": "Funding source",
            "add-type": "short_text",
        },
    ),
    Case("extraction:start", at(pk_of("untouched")), None, only(302, "extractor")),
    Case("extraction:compare", at(pk_of("in_consensus")), LEAD_PAGE),
    Case("extraction:start_consensus", at(pk_of("both_complete")), None, LEAD_ACTION),
    Case("extraction:take", at(pk_of("in_consensus")), None, LEAD_ACTION, first_extractors_answer),
    Case("extraction:reopen", at(pk_of("reconciled")), None, LEAD_ACTION),
    # Someone else's independent extraction is not found at all (blind extraction) ...
    Case(
        "extraction:extract",
        at(pk_of("own_extraction")),
        only(200, "extractor", refused=404),
        label="the extractor's own",
    ),
    Case(
        "extraction:save",
        at(pk_of("own_extraction")),
        None,
        only(302, "extractor", refused=404),
        lambda world: {"study.sample_size": "24"},
        label="the extractor's own",
    ),
    Case(
        "extraction:rows",
        at(pk_of("own_extraction")),
        None,
        only(302, "extractor", refused=404),
        lambda world: {"path": "cytokines.measurements"},
        label="the extractor's own",
    ),
    Case(
        "extraction:complete",
        at(pk_of("own_extraction")),
        None,
        only(302, "extractor", refused=404),
        label="the extractor's own",
    ),
    Case(
        "extraction:risk_of_bias",
        at(pk_of("own_extraction")),
        None,
        only(302, "extractor", refused=404),
        risk_of_bias_answers,
        label="the extractor's own",
    ),
    # ... while the consensus is the lead's to build.
    Case("extraction:extract", at(pk_of("consensus")), LEAD_PAGE, label="consensus"),
    Case(
        "extraction:save",
        at(pk_of("consensus")),
        None,
        LEAD_ACTION,
        lambda world: {"study.country": "Agreed country"},
        label="consensus",
    ),
    Case("extraction:reports", at(), EVERY_MEMBER),
    # while screening is blind the PRISMA counts are the leads' (screening.blinding)
    *(Case("extraction:prisma", at(const(f)), LEAD_PAGE, label=f) for f in ("svg", "png")),
    *(
        Case(
            "extraction:forest",
            at(first_analysis, const(f)),
            EVERY_MEMBER,
            label=f,
        )
        for f in ("svg", "png")
    ),
    *(
        Case(
            "extraction:time_course",
            at(const("il-6"), const(f)),
            EVERY_MEMBER,
            label=f,
        )
        for f in ("svg", "png")
    ),
    Case(
        "extraction:synthesis_settings",
        at(),
        LEAD_PAGE,
        LEAD_ACTION,
        lambda world: {
            "estimator": "DL",
            "multi_arm": "split",
            "binary_measure": "RR",
            "binary_pooling": "MH",
            "windows": "Day 14: 14 ± 3 since injury",
        },
    ),
    Case(
        "extraction:multi_arm",
        at(),
        None,
        LEAD_ACTION,
        lambda world: {"analysis": "continuous-il-6", "multi_arm": "combine"},
    ),
    Case("extraction:workbook", at(), LEAD_PAGE),
    Case("extraction:csv", at(), LEAD_PAGE),
    Case("extraction:r", at(), LEAD_PAGE),
    Case("extraction:ris", at(), LEAD_PAGE),
    Case("extraction:backup", at(), LEAD_PAGE),
    Case(
        "extraction:export_start",
        at(),
        None,
        LEAD_ACTION,
        lambda world: {"kind": "workbook"},
    ),
    Case("extraction:export_job", at(pk_of("export")), LEAD_PAGE),
    Case("extraction:export_download", at(pk_of("export")), LEAD_PAGE),
    Case("extraction:export_retry", at(pk_of("failed_export")), None, LEAD_ACTION),
]


# Helpers -------------------------------------------------------------------------------------


def database_state() -> dict[str, list[tuple]]:
    """Every row of the product's own tables, and every stored file."""
    state = {}
    for label in ("reviewmgr", "screening", "extraction"):
        for model in apps.get_app_config(label).get_models():
            state[model._meta.label] = list(model.objects.order_by("pk").values_list())
    media = Path(settings.MEDIA_ROOT)
    state["files"] = sorted(
        (str(path.relative_to(media)), path.stat().st_size)
        for path in (media.rglob("*") if media.exists() else [])
        if path.is_file()
    )
    return state


class _Undo(Exception):
    pass


@dataclass
class Walk:
    """Requests made as one person, with every surprise written down rather than raised."""

    client: object
    world: World
    problems: list[str] = field(default_factory=list)
    last: object = None  # the latest response

    def expect(
        self,
        case: Case,
        method: str,
        expected: int,
        *,
        allowed: bool = False,
        changes: bool = True,
    ) -> None:
        """Request `case` and note any surprise. An `allowed` POST must change some row
        (unless the case says it only queues work) and is rolled back afterwards; any
        other POST must change nothing."""
        url = case.url(self.world)
        before = database_state() if method == "POST" else None
        changed = False
        if allowed:
            try:
                with transaction.atomic():
                    response = self._request(method, case, url)
                    changed = database_state() != before
                    raise _Undo
            except _Undo:
                cache.clear()  # counts and claims follow the database back
        else:
            response = self._request(method, case, url)
            changed = before is not None and database_state() != before
        if response.status_code != expected:
            self.problems.append(
                f"{method} {case} ({url}): expected {expected}, got {response.status_code}"
            )
        elif allowed and changes and not changed:
            self.problems.append(f"{method} {case}: allowed, yet nothing changed")
        elif not allowed and method == "POST" and changed:
            self.problems.append(f"{method} {case}: refused with {expected}, yet data changed")
        self.last = response

    def _request(self, method: str, case: Case, url: str):
        if method == "GET":
            return self.client.get(url)
        return self.client.post(url, case.data(self.world))


def cases_for(name: str) -> list[Case]:
    return [case for case in CASES if case.name == name]


# Tests ---------------------------------------------------------------------------------------


def test_the_walk_finds_the_addresses_of_every_app():
    names = {name for name, _ in walk()}
    assert {"reviewmgr:review_detail", "screening:decide", "extraction:backup"} <= names
    assert not any(name.startswith("admin:") for name in names)
    assert "login" not in names and "healthz" not in names


def test_every_address_of_the_project_has_an_expectation():
    unnamed = [route for name, route in walk() if not name]
    unknown = sorted(
        {f"{name} ({route})" for name, route in walk() if name and not cases_for(name)}
    )
    assert unnamed == [], f"URL patterns without a name cannot be checked: {unnamed}"
    assert unknown == [], (
        f"URLs with no permission expectation in tests/security/test_permission_walk.py: "
        f"{', '.join(unknown)}. Add a Case saying who may GET and POST them."
    )


def test_every_expectation_names_an_address_that_exists():
    names = {name for name, _ in walk()}
    stale = sorted({case.name for case in CASES} - names)
    assert stale == [], f"Cases for URLs that no longer exist: {stale}"


def test_anonymous_visitors_are_sent_to_log_in_from_every_address(client, world):
    walk_ = Walk(client, world)
    login = reverse("login")
    for case in CASES:
        for method in ("GET", "POST"):
            walk_.expect(case, method, 302)
            if walk_.last.status_code == 302 and not walk_.last.url.startswith(login):
                walk_.problems.append(f"{method} {case}: redirected to {walk_.last.url}")
    assert not walk_.problems, "\n".join(walk_.problems)


def test_an_outsider_finds_nothing_at_any_address_of_a_review(client, world):
    """Not a member: 404 everywhere, GET and POST, exactly as for a review that does not
    exist. (GET on a POST-only address is 405 for any review, existing or not.)"""
    client.force_login(world.outsider)
    walk_ = Walk(client, world)
    for case in CASES:
        if not case.review_scoped:
            continue
        missing = case.url(world).replace(f"/reviews/{world.review.slug}/", "/reviews/no-such/")
        for method in ("GET", "POST"):
            refused = 405 if method == "GET" and case.get is None else 404
            walk_.expect(case, method, refused)
            request = client.get if method == "GET" else client.post
            if request(missing).status_code != walk_.last.status_code:
                walk_.problems.append(f"{method} {case}: differs from a review that is not there")
    assert not walk_.problems, "\n".join(walk_.problems)


def test_an_outsider_uses_the_addresses_outside_any_review(client, world):
    client.force_login(world.outsider)
    walk_ = Walk(client, world)
    for case in CASES:
        if case.review_scoped:
            continue
        walk_.expect(case, "GET", case.get["outsider"])
        if case.post is not None:
            walk_.expect(case, "POST", case.post["outsider"], allowed=True)
    assert not walk_.problems, "\n".join(walk_.problems)


@pytest.mark.parametrize("role", MEMBERS)
def test_each_member_gets_what_their_role_allows_at_every_address(client, world, role):
    client.force_login(getattr(world, role))
    walk_ = Walk(client, world)
    for case in CASES:
        expected_get = case.get[role] if case.get is not None else 405
        walk_.expect(case, "GET", expected_get)
        if case.post is not None:
            expected = case.post[role]
            allowed = expected not in (403, 404, 405)
            walk_.expect(case, "POST", expected, allowed=allowed, changes=case.changes_rows)
    assert not walk_.problems, "\n".join(walk_.problems)


def test_the_consensus_is_refused_to_an_extractor_unless_the_lead_allows_it(client, world):
    """An extractor of the pair may reconcile when the lead switches that on; a third
    extractor still may not, and a reviewer never."""
    url = reverse("extraction:compare", args=[world.review.slug, world.in_consensus.pk])
    pair_member = world.in_consensus.extractions.get(extractor__username="ext1").extractor
    client.force_login(pair_member)
    assert client.get(url).status_code == 403
    config = extraction.config_for(world.review)
    config.extractors_may_reconcile = True
    config.save()
    assert client.get(url).status_code == 200
    for outsider_to_the_pair in (world.extractor, world.reviewer):
        client.force_login(outsider_to_the_pair)
        assert client.get(url).status_code == 403


def test_a_builtin_form_cannot_be_edited_even_by_the_lead(client, world):
    builtin = Template.objects.get(review=None, key=extraction.BUILTIN_KEY)
    client.force_login(world.lead)
    before = builtin.versions.count()
    response = client.post(
        reverse("extraction:template", args=[world.review.slug, builtin.pk]),
        {"action": "add", "add-section": "Study", "add-label": "Hack", "add-type": "short_text"},
    )
    assert response.status_code == 403
    assert builtin.versions.count() == before


def test_objects_of_another_review_are_not_found_through_mine(client, world, lead):
    """A lead of two reviews cannot reach one review's records, PDFs, batches, duplicate
    groups or extractions through the other review's address (children are fetched
    through the review, never by bare id)."""
    other = make_review(lead, slug="other-review", title="Other review")
    foreign = make_record(other, "Someone else's record")
    screening.sync_screening_rows(review=other)
    screening.save_full_text(
        record=foreign, user=lead, upload=SimpleUploadedFile("theirs.pdf", PDF)
    )
    group = DuplicateGroup.objects.create(review=other, score=0.9, reasons=[])
    client.force_login(lead)
    mine, theirs = world.review.slug, other.slug
    assert (
        client.get(reverse("screening:fulltext_pdf", args=[theirs, foreign.pk])).status_code == 200
    )
    for name, args in (
        ("reviewmgr:record_detail", [mine, foreign.pk]),
        ("reviewmgr:batch_detail", [mine, foreign.batch_id]),
        ("reviewmgr:duplicate_detail", [mine, group.pk]),
        ("screening:fulltext_pdf", [mine, foreign.pk]),
        ("screening:screen_record", [mine, "ta", foreign.pk]),
        ("screening:resolve", [mine, "ta", foreign.pk]),
        ("extraction:extract", [theirs, world.consensus.pk]),
        ("extraction:compare", [theirs, world.in_consensus.pk]),
    ):
        assert client.get(reverse(name, args=args)).status_code == 404, name


def test_changes_aimed_at_another_reviews_objects_are_not_found_and_change_nothing(
    client, world, lead
):
    other = make_review(lead, slug="other-review", title="Other review")
    foreign = make_record(other, "Someone else's record")
    membership = add_member(other, world.reviewer, Membership.Role.REVIEWER)
    group = DuplicateGroup.objects.create(review=other, score=0.9, reasons=[])
    screening.sync_screening_rows(review=other)
    foreign_decision = screening.record_decision(
        record=foreign, user=world.reviewer, stage="ta", verdict="include"
    )
    client.force_login(lead)
    mine = world.review.slug
    before = database_state()
    for name, args, data in (
        ("reviewmgr:member_remove", [mine, membership.pk], {}),
        ("reviewmgr:member_update", [mine, membership.pk], {"roles": ["lead"]}),
        ("reviewmgr:record_correct", [mine, foreign.pk], {"title": "Changed"}),
        ("reviewmgr:duplicate_decide", [mine, group.pk], {"action": "reject"}),
        ("reviewmgr:batch_delete", [mine, foreign.batch_id], {}),
    ):
        assert client.post(reverse(name, args=args), data).status_code == 404, name
    withdraw = reverse("screening:withdraw", args=[mine, "ft", world.ft_conflict.pk])
    assert client.post(withdraw, {"decision": foreign_decision.pk}).status_code == 404
    assert Decision.objects.filter(pk=foreign_decision.pk).exists()
    assert database_state() == before


def test_the_correction_form_only_goes_back_to_pages_of_this_site(client, world):
    client.force_login(world.lead)
    url = reverse("reviewmgr:record_correct", args=[world.review.slug, world.record.pk])
    for elsewhere in ("https://evil.example/", "//evil.example/", "javascript:alert(1)"):
        response = client.post(url, {"title": "Corrected", "next": elsewhere})
        assert response.status_code == 302
        assert response.url == world.record.get_absolute_url()
