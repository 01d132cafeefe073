"""Every address of the API, asked for by everyone who might ask, with a personal token.

As the pages' walk (tests/security/test_permission_walk.py) does, the API's URL patterns are
walked from the resolver, so a new endpoint without a line in CASES fails here by name. The
same gate answers: no token 401, an outsider 404 (as for a review that does not exist), a
member without the role 403. A refused write leaves every row and file as it was; an allowed
one changes something, and is rolled back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import URLPattern, get_resolver, reverse
from rest_framework.test import APIClient

from screening.models import Decision, Stage
from tests.api.conftest import client_for
from tests.security.conftest import World, ris
from tests.security.test_permission_walk import database_state

MEMBERS = ("reviewer", "extractor", "lead")
PUBLIC = {"api:schema", "api:docs"}  # they describe the API and hold no review's data


def only(status: int, *roles: str, refused: int = 403) -> dict[str, int]:
    return {role: status if role in roles else refused for role in MEMBERS}


EVERY_MEMBER = only(200, *MEMBERS)
LEADS = only(200, "lead")
SCREENERS = only(200, "reviewer", "lead")


@dataclass(frozen=True)
class Case:
    name: str
    args: Callable[[World], list]
    expected: dict[str, dict[str, int]]  # method -> role -> status
    data: Callable[[World], dict] = lambda world: {}
    review_scoped: bool = True
    label: str = ""

    def url(self, world: World) -> str:
        return reverse(self.name, args=self.args(world))

    def __str__(self) -> str:
        return f"{self.name}{f' ({self.label})' if self.label else ''}"


def at(*parts: Callable[[World], object]) -> Callable[[World], list]:
    return lambda world: [world.review.slug, *(part(world) for part in parts)]


def pk_of(attr: str) -> Callable[[World], int]:
    return lambda world: getattr(world, attr).pk


def reviewers_decision(world: World) -> int:
    return Decision.objects.get(record=world.ft_conflict, stage=Stage.FULL_TEXT,
                                reviewer=world.reviewer).pk  # fmt: skip


def upload(world: World) -> dict:
    return {"file": SimpleUploadedFile("more.ris", ris(["A newly found trial"], "10.3/x")),
            "source": "embase"}  # fmt: skip


CASES = [
    Case(
        "api:review_list",
        lambda world: [],
        {"GET": {"outsider": 200, **EVERY_MEMBER}},
        review_scoped=False,
    ),  # fmt: skip
    Case("api:review_detail", at(), {"GET": EVERY_MEMBER}),
    Case("api:record_list", at(), {"GET": EVERY_MEMBER}),
    Case("api:record_detail", at(pk_of("record")), {"GET": EVERY_MEMBER}),
    Case("api:import_list", at(), {"GET": EVERY_MEMBER, "POST": only(201, "lead")}, upload),
    Case("api:import_detail", at(pk_of("batch")), {"GET": EVERY_MEMBER}),
    Case(
        "api:decision_list",
        at(),
        {"GET": SCREENERS, "POST": only(201, "reviewer", "lead")},
        lambda world: {"record": world.record.pk, "stage": "ta", "verdict": "include"},
    ),
    Case(
        "api:decision_detail",
        at(reviewers_decision),
        # the reviewer's own; for the lead (who screens too) it is someone else's: not found
        {
            "GET": {**SCREENERS, "lead": 404},
            "PATCH": {**only(400, "reviewer"), "lead": 404},  # locked: the other decided too
            "DELETE": {**only(400, "reviewer"), "lead": 404},
        },
        lambda world: {"verdict": "exclude", "reason": "Wrong population"},
    ),
    Case("api:conflict_list", at(), {"GET": LEADS}),
    Case(
        "api:resolve",
        at(pk_of("conflict")),
        {"GET": only(405, *MEMBERS), "POST": LEADS},
        lambda world: {"stage": "ta", "verdict": "include"},
    ),
    Case("api:study_list", at(), {"GET": LEADS}),
    Case("api:study_detail", at(pk_of("reconciled")), {"GET": LEADS}),
    Case("api:prisma", at(), {"GET": LEADS}),  # blind: the others' decisions are in it
    Case(
        "api:export_list",
        at(),
        {"GET": LEADS, "POST": only(202, "lead")},
        lambda world: {"kind": "workbook"},
    ),  # fmt: skip
    Case("api:export_detail", at(pk_of("export")), {"GET": LEADS}),
    Case("api:export_download", at(pk_of("export")), {"GET": LEADS}),
]


def api_routes() -> list[str]:
    resolver = get_resolver()
    names = []
    for entry in resolver.url_patterns:
        if str(entry.pattern) == "api/":
            names += [f"api:{p.name}" for p in entry.url_patterns if isinstance(p, URLPattern)]
    return names


class _Undo(Exception):
    pass


def ask(client, method: str, case: Case, world: World):
    url = case.url(world)
    if method == "GET":
        return client.get(url)
    if method == "DELETE":
        return client.delete(url)
    call = client.post if method == "POST" else client.patch
    data = case.data(world)
    return call(url, data, format="multipart" if "file" in data else "json")


def walk(client, world: World, role: str) -> list[str]:
    problems = []
    for case in CASES:
        if role == "outsider" and not case.review_scoped:
            continue
        for method, by_role in case.expected.items():
            # a method an address never takes is 405 for anyone, review or none (no leak)
            never = set(by_role.values()) == {405}
            expected = by_role.get(role, 405) if role != "outsider" or never else 404
            before = database_state()
            allowed = method != "GET" and expected < 300
            try:
                with transaction.atomic():
                    response = ask(client, method, case, world)
                    changed = database_state() != before
                    raise _Undo
            except _Undo:
                cache.clear()
            if response.status_code != expected:
                problems.append(f"{method} {case}: expected {expected}, got "
                                f"{response.status_code} {response.content[:200]!r}")  # fmt: skip
            elif allowed and not changed:
                problems.append(f"{method} {case}: allowed, yet nothing changed")
            elif not allowed and changed:
                problems.append(f"{method} {case}: refused, yet data changed")
    return problems


def test_every_api_address_has_an_expectation_and_every_expectation_an_address():
    routes = set(api_routes())
    assert {"api:record_list", "api:prisma", "api:export_download"} <= routes
    assert sorted(routes - PUBLIC - {case.name for case in CASES}) == []
    assert sorted({case.name for case in CASES} - routes) == []


def test_without_a_token_every_address_answers_401(world):
    client = APIClient()
    for case in CASES:
        for method, by_role in case.expected.items():
            expected = 405 if set(by_role.values()) == {405} else 401
            assert ask(client, method, case, world).status_code in {401, expected}, method


def test_an_outsider_finds_nothing_at_any_address_of_a_review(world):
    client = client_for(world.outsider)
    assert walk(client, world, "outsider") == []
    missing = client.get(f"/api/reviews/no-such/records/{world.record.pk}/")
    real = client.get(reverse("api:record_detail", args=[world.review.slug, world.record.pk]))
    assert (missing.status_code, missing.json()) == (real.status_code, real.json())


@pytest.mark.parametrize("role", MEMBERS)
def test_each_member_gets_what_their_role_allows_at_every_address(world, role):
    assert walk(client_for(getattr(world, role)), world, role) == []


def test_the_schema_and_its_docs_are_public(client, db):
    schema = client.get(reverse("api:schema"), headers={"Accept": "application/json"})
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/reviews/{slug}/records/" in paths
    assert "bearer" in str(schema.json()["components"]["securitySchemes"]).lower()
    assert client.get(reverse("api:docs")).status_code == 200
