"""Studies with their consensus data, PRISMA counts and exports (leads, or as blinding
allows)."""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
)
from rest_framework import status
from rest_framework.decorators import (
    api_view,
    parser_classes,
)
from rest_framework.parsers import FormParser
from rest_framework.request import Request
from rest_framework.response import Response

from api import serializers as out
from api.negotiation import any_accept
from api.parsers import JSONWithoutNullBytes
from api.views.common import FILE, LEAD, PAGED, page, page_of
from extraction import export_jobs, reporting
from extraction.models import ExportJob, Extraction, Study
from extraction.prisma import counts_as_dict
from reviewmgr.models import ReportLink, Review
from reviewmgr.permissions import get_review_for_user
from screening import blinding

# Studies, PRISMA ------------------------------------------------------------------------------


def _studies(review: Review):
    finals = Extraction.objects.filter(final=True).select_related("template_version__template")
    return (
        review.studies.select_related("record")
        .prefetch_related(Prefetch("extractions", finals))
        .order_by()
    )


def _reports(review: Review) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    links = ReportLink.objects.filter(review=review).order_by("report_id")
    for first, report in links.values_list("first_report_id", "report_id"):
        found.setdefault(first, []).append(report)
    return found


@extend_schema(
    parameters=PAGED,
    responses=page_of(out.StudySerializer),
    operation_id="studies_list",
    tags=["studies"],
)
@api_view(["GET"])
def study_list(request: Request, slug: str) -> Response:
    """Included studies with their reports and final consensus data (leads only)."""
    review = get_review_for_user(request, slug, role=LEAD)
    return page(request, _studies(review), out.StudySerializer, reports=_reports(review))


@extend_schema(responses=out.StudySerializer, tags=["studies"])
@api_view(["GET"])
def study_detail(request: Request, slug: str, pk: int) -> Response:
    review = get_review_for_user(request, slug, role=LEAD)
    study: Study = get_object_or_404(_studies(review), pk=pk)
    context = {"reports": _reports(review), "request": request}
    return Response(out.StudySerializer(study, context=context).data)


@extend_schema(responses=out.PrismaSerializer, tags=["reports"])
@api_view(["GET"])
def prisma(request: Request, slug: str) -> Response:
    """Every number of the PRISMA 2020 flow diagram, counted now. While screening is blind,
    for the review's leads only (the counts follow from every reviewer's decisions)."""
    review = get_review_for_user(request, slug)
    blinding.require_every_stage(review, blinding.sight_for(review), "the PRISMA diagram")
    return Response(counts_as_dict(reporting.prisma_counts(review)))


# Exports (leads) ------------------------------------------------------------------------------


def _export_context(request: Request, review: Review) -> dict:
    def download_url(job: ExportJob) -> str:
        return request.build_absolute_uri(
            reverse("api:export_download", args=[review.slug, job.pk])
        )

    return {"download_url": download_url}


@extend_schema(
    methods=["GET"],
    parameters=PAGED,
    responses=page_of(out.ExportSerializer),
    operation_id="exports_list",
    tags=["exports"],
)
@extend_schema(
    methods=["POST"],
    request=out.ExportInputSerializer,
    responses={202: out.ExportSerializer},
    tags=["exports"],
)
@api_view(["GET", "POST"])
@parser_classes([JSONWithoutNullBytes, FormParser])
def export_list(request: Request, slug: str) -> Response:
    """GET: the review's exports. POST: start one (built in the background); poll it until its
    status is "done", then fetch `download`."""
    review = get_review_for_user(request, slug, role=LEAD)
    export_jobs.fail_stale_exports(review=review)
    context = _export_context(request, review)
    if request.method == "GET":
        return page(request, review.export_jobs.all(), out.ExportSerializer, **context)
    given = out.ExportInputSerializer(data=request.data)
    given.is_valid(raise_exception=True)
    job = export_jobs.start_export(
        review=review, kind=given.validated_data["kind"], user=request.user
    )
    return Response(
        out.ExportSerializer(job, context=context).data, status=status.HTTP_202_ACCEPTED
    )


@extend_schema(responses=out.ExportSerializer, tags=["exports"])
@api_view(["GET"])
def export_detail(request: Request, slug: str, pk: int) -> Response:
    review = get_review_for_user(request, slug, role=LEAD)
    export_jobs.fail_stale_exports(review=review)
    job = get_object_or_404(review.export_jobs, pk=pk)
    context = _export_context(request, review)
    return Response(out.ExportSerializer(job, context=context).data)


@extend_schema(
    responses={
        (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): FILE,
        (200, "application/zip"): FILE,
        (200, "application/json"): OpenApiResponse(OpenApiTypes.OBJECT, description="A backup"),
    },
    tags=["exports"],
)
@api_view(["GET"])
@any_accept
def export_download(request: Request, slug: str, pk: int):
    """The built file (404 until the export is done)."""
    review = get_review_for_user(request, slug, role=LEAD)
    job = get_object_or_404(review.export_jobs, pk=pk)
    if job.status != ExportJob.Status.DONE:
        raise Http404("This export is not ready: poll it until its status is done.")
    if not export_jobs.file_is_kept(job):
        raise Http404(job.error or "The file of this export is no longer kept.")
    return FileResponse(job.file.open("rb"), as_attachment=True, filename=job.file_name)
