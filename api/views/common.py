"""What every endpoint shares: the pages of a list (cursor pagination), reading a query's
choices, and the refusals."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from reviewmgr.models import Membership, Review
from screening.models import RecordScreening, Stage

LEAD, REVIEWER = Membership.Role.LEAD, Membership.Role.REVIEWER


class ById(CursorPagination):
    """Pages that stay as fast on the millionth record as on the first: each page starts
    after the last id of the one before (an index seek), never at an offset."""

    ordering = "id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


def page_of(serializer):
    """The schema of one page of a list: links to the next and previous pages, and the items."""
    name = serializer.__name__.removesuffix("Serializer")
    return inline_serializer(
        name=f"{name}Page",
        fields={
            "next": serializers.URLField(allow_null=True, help_text="The next page, or null."),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer(many=True),
        },
    )


def page(request: Request, queryset, serializer, **context) -> Response:
    paginator = ById()
    page = paginator.paginate_queryset(queryset, request)
    context["request"] = request
    return paginator.get_paginated_response(serializer(page, many=True, context=context).data)


def choice(request: Request, name: str, choices) -> str:
    """The query parameter `name`, "" when not given; one of `choices` else a 400."""
    value = request.query_params.get(name, "")
    if value and value not in choices:
        raise bad(f"{name}: {value!r} is not one of {', '.join(choices)}.")
    return value


def bad(message: str) -> ValidationError:
    return ValidationError({"detail": message})


def stage_state(review: Review, record_id: int, stage: str) -> RecordScreening:
    state = (
        RecordScreening.objects.select_related("record")
        .filter(review=review, record_id=record_id, stage=stage)
        .first()
    )
    if state is None:
        raise Http404(f"Record {record_id} is not screened at {Stage(stage).label.lower()}.")
    return state


FILE = OpenApiResponse(OpenApiTypes.BINARY, description="The file, as an attachment.")
STAGE = OpenApiParameter("stage", str, enum=Stage.values, description="ta or ft")
PAGED = [
    OpenApiParameter("cursor", str, description="From the `next` or `previous` link."),
    OpenApiParameter("page_size", int, description="Up to 1,000; 100 when not given."),
]
