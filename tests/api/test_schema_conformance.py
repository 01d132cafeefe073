"""The API keeps to its own schema: schemathesis generates requests from /api/schema/ for every
operation, as a lead and as a reviewer, against a review in which everything exists, and every
answer must be no server error and must match what the schema says of it (status, headers,
body)."""

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings, strategies as st
from schemathesis import checks

from api import tokens
from tests.security.conftest import World

EXAMPLES = 12  # per operation and person; the CI run takes the same number
# No server error, and the status, content type, headers and body as the schema says. (A
# request the schema allows may still be refused with a reason, e.g. an image sent as a
# search export: that is a 400 the schema documents, not a failure.)
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


def operations(schema):
    found = []
    for result in schema.get_all_operations():
        found.append(result.ok())
    return found


def object_ids(world: World) -> list[int]:
    review = world.review
    return sorted(
        {
            *review.records.values_list("pk", flat=True),
            *review.batches.values_list("pk", flat=True),
            *review.studies.values_list("pk", flat=True),
            *review.export_jobs.values_list("pk", flat=True),
            *world.reviewer.decisions.values_list("pk", flat=True),
        }
    )


@pytest.fixture
def app():
    """The project's WSGI application, sharing the test's database connection (as Django's
    test client does, it must not close it at the end of each request)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield WSGIHandler()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.parametrize("role", ["lead", "reviewer"])
def test_every_operation_answers_as_its_schema_says_and_never_with_a_server_error(
    app, world, role
):
    schema = schemathesis.openapi.from_wsgi("/api/schema/", app)
    _, text = tokens.create_token(user=getattr(world, role), name="schemathesis")
    headers = {"Authorization": f"Bearer {text}"}
    ids = object_ids(world)
    checked = []
    for operation in operations(schema):

        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(case=operation.as_strategy(), pk=st.sampled_from(ids), real=st.booleans())
        def run(case, pk, real):
            if real:  # half of the cases ask for the review's own objects, the rest for any
                if "slug" in (case.path_parameters or {}):
                    case.path_parameters["slug"] = world.review.slug
                if "pk" in (case.path_parameters or {}):
                    case.path_parameters["pk"] = pk
            case.call_and_validate(headers=headers, checks=CHECKS)

        run()
        checked.append(f"{operation.method.upper()} {operation.path}")
    assert len(checked) >= 20, checked
