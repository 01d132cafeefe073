"""Reviews, their records (a page at a time, with the team's status only where blinding
allows) and their imports."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
)
from rest_framework import status
from rest_framework.decorators import (
    api_view,
    parser_classes,
)
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from api import serializers as out
from api.views.common import LEAD, PAGED, STAGE, bad, choice, page, page_of
from reviewmgr import services as core
from reviewmgr.filters import RecordFilter
from reviewmgr.importers import ImportFileError
from reviewmgr.models import ImportBatch, Membership
from reviewmgr.permissions import get_review_for_user
from screening import blinding
from screening.models import RecordScreening, Stage

# What a record's JSON shows, and only that is read (not its whole source record, nor its
# duplicate-search keys): a page of 1,000 costs a third as much.
RECORD_COLUMNS = [
    name for name in out.RecordSerializer.Meta.fields if name not in {"screening"}
] + ["review"]

# Reviews ------------------------------------------------------------------------------------


@extend_schema(
    responses=out.ReviewSerializer(many=True), tags=["reviews"], operation_id="reviews_list"
)
@api_view(["GET"])
def review_list(request: Request) -> Response:
    """The reviews you are a member of."""
    memberships = Membership.objects.filter(user=request.user).select_related("review")
    reviews = []
    for membership in memberships.order_by("review__title", "review_id"):
        review = membership.review
        review.membership = membership
        reviews.append(review)
    blind = {review.pk: blinding.blind_stages(review) for review in reviews}
    return Response(out.ReviewSerializer(reviews, many=True, context={"blind": blind}).data)


@extend_schema(responses=out.ReviewSerializer, tags=["reviews"])
@api_view(["GET"])
def review_detail(request: Request, slug: str) -> Response:
    review = get_review_for_user(request, slug)
    context = {"blind": {review.pk: blinding.blind_stages(review)}}
    return Response(out.ReviewSerializer(review, context=context).data)


# Records ------------------------------------------------------------------------------------


@extend_schema(
    parameters=[
        STAGE,
        OpenApiParameter(
            "status",
            str,
            enum=RecordScreening.Status.values,
            description="With stage; a lead's, or anyone's where the stage is not blind.",
        ),  # fmt: skip
        OpenApiParameter("batch", int, description="Records of one import."),
        OpenApiParameter("search", str, description="Title, abstract, journal, DOI or PMID."),
        OpenApiParameter(
            "duplicates",
            str,
            enum=["include", "only"],
            description="Removed duplicates are left out unless asked for.",
        ),
        *PAGED,
    ],
    responses=page_of(out.RecordSerializer),
    operation_id="records_list",
    tags=["records"],
)
@api_view(["GET"])
def record_list(request: Request, slug: str) -> Response:
    """The review's records, a page at a time in id order (follow `next`)."""
    review = get_review_for_user(request, slug)
    sight = blinding.sight_for(review)
    stage = choice(request, "stage", Stage.values)
    state = choice(request, "status", RecordScreening.Status.values)
    duplicates = choice(request, "duplicates", ["include", "only"])
    shown = {"include": "all", "only": "duplicates"}.get(duplicates, "")
    found = RecordFilter(
        {"q": request.query_params.get("search", ""), "show": shown},
        queryset=review.records.all(),
    )
    records = found.qs
    batch = request.query_params.get("batch", "")
    if batch:
        if not batch.isdigit() or len(batch) > 18:
            raise bad(f"batch: {batch!r} is not an import's id.")
        records = records.filter(batch_id=int(batch))
    if state and not stage:
        raise bad("status needs a stage (ta or ft).")
    if stage:
        if state and not sight.sees_team(stage):
            raise PermissionDenied(
                "While this stage is screened blind, records are filtered by their status for "
                "the review's leads only: a status follows from the other reviewers' decisions."
            )
        at_stage = {"screenings__stage": stage}
        if state:
            at_stage["screenings__status"] = state
        records = records.filter(**at_stage)
    records = records.order_by().only(*RECORD_COLUMNS).prefetch_related("screenings")
    return page(request, records, out.RecordSerializer, sight=sight)


@extend_schema(responses=out.RecordSerializer, tags=["records"])
@api_view(["GET"])
def record_detail(request: Request, slug: str, pk: int) -> Response:
    review = get_review_for_user(request, slug)
    record = get_object_or_404(
        review.records.only(*RECORD_COLUMNS).prefetch_related("screenings"), pk=pk
    )
    context = {"sight": blinding.sight_for(review), "request": request}
    return Response(out.RecordSerializer(record, context=context).data)


# Imports ------------------------------------------------------------------------------------


@extend_schema(
    methods=["GET"], responses=page_of(out.BatchSerializer),
    operation_id="imports_list", tags=["imports"],
    parameters=PAGED,
)  # fmt: skip
@extend_schema(
    methods=["POST"],
    request={"multipart/form-data": out.UploadSerializer},
    responses={201: out.BatchSerializer},
    tags=["imports"],
)
@api_view(["GET", "POST"])
@parser_classes([MultiPartParser, FormParser])
def import_list(request: Request, slug: str) -> Response:
    """GET: the review's imports. POST (leads): upload a file; it is parsed in the background,
    so poll the import until its status is "done" (or "failed", with the error)."""
    if request.method == "GET":
        review = get_review_for_user(request, slug)
        core.fail_stale_batches(review=review)
        return page(request, review.batches.all(), out.BatchSerializer)
    review = get_review_for_user(request, slug, role=LEAD)
    given = out.UploadSerializer(data=request.data)
    given.is_valid(raise_exception=True)
    values = given.validated_data
    upload = values["file"]
    fields = ("source", "source_detail", "search_date", "search_string")
    try:
        batch = core.queue_upload(
            review=review,
            data=upload.read(),
            file_name=upload.name,
            user=request.user,
            provenance=core.Provenance(**{name: values[name] for name in fields}),
            format=values["format"],
            lenient=values["lenient"],
            column_map=values["column_map"],
        )
    except ImportFileError as error:
        raise bad(f"file: {error}") from None
    return Response(out.BatchSerializer(batch).data, status=status.HTTP_201_CREATED)


@extend_schema(responses=out.BatchSerializer, tags=["imports"])
@api_view(["GET"])
def import_detail(request: Request, slug: str, pk: int) -> Response:
    """One import, with its progress (percent) while it runs."""
    review = get_review_for_user(request, slug)
    core.fail_stale_batches(review=review)
    batch = get_object_or_404(review.batches, pk=pk)
    if batch.status == ImportBatch.Status.RUNNING:
        batch.progress = core.batch_progress(batch)
    return Response(out.BatchSerializer(batch).data)
