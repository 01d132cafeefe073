"""Reports: the PRISMA 2020 diagram, meta-analyses with forest plots, and the downloads
(workbook, CSV, analysis data for R, RIS, backup) that leads hand to co-authors and journals."""

from __future__ import annotations

import io
import tempfile

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_http_methods, require_POST

from extraction import export_jobs, pooling, prisma, reporting, services, synthesis
from extraction.forms import SynthesisSettingsForm
from extraction.models import ExportJob
from extraction.ris import SELECTIONS, export_ris
from reviewmgr.models import ImportBatch, Membership
from reviewmgr.permissions import get_review_for_user
from screening import blinding

CONTENT_TYPES = {"svg": "image/svg+xml", "png": "image/png"}


def _analyses(request: HttpRequest, review) -> tuple[list[reporting.Pooled], object]:
    """The review's analyses on the consensus, or on one extractor's data (leads only)."""
    extractor = _extractor(request, review) if review.membership.is_lead else None
    return reporting.analyses(review, extractor=extractor), extractor


def _unused_rows(request: HttpRequest, review) -> list:
    extractor = _extractor(request, review) if review.membership.is_lead else None
    return pooling.unused_rows(reporting.study_inputs(review, extractor=extractor))


def reports(request: HttpRequest, slug: str) -> HttpResponse:
    review = get_review_for_user(request, slug)
    prisma_shown = blinding.sight_for(review).sees_every_stage
    counts = reporting.prisma_counts(review) if prisma_shown else None
    analyses, extractor = _analyses(request, review)
    context = {
        "review": review,
        "prisma_rows": prisma.as_rows(counts) if prisma_shown else [],
        "prisma_counts": counts,
        "prisma_shown": prisma_shown,
        "blind_notice": blinding.BLIND_NOTICE,
        "searches": review.batches.filter(status=ImportBatch.Status.DONE).order_by(
            "version_role", "search_date", "pk"
        ),
        "analyses": analyses,
        "extractor": extractor,
        "settings": reporting.synthesis_settings(review),
        "time_courses": sorted(reporting.time_courses(analyses)),
        "unused_rows": _unused_rows(request, review),
        "selections": SELECTIONS,
        "export_kinds": ExportJob.Kind.choices,
        "export_jobs": review.export_jobs.select_related("created_by")[:10]
        if review.membership.is_lead
        else [],
        "nav": "reports",
    }
    return render(request, "extraction/reports.html", context)


def prisma_download(request: HttpRequest, slug: str, fmt: str) -> HttpResponse:
    review = get_review_for_user(request, slug)
    if fmt not in CONTENT_TYPES:
        raise Http404("SVG or PNG only.")
    blinding.require_every_stage(review, blinding.sight_for(review), "the PRISMA diagram")
    data = prisma.draw(reporting.prisma_counts(review), fmt=fmt)
    return _image(request, data, f"{review.slug}-prisma.{fmt}", CONTENT_TYPES[fmt])


def forest_download(request: HttpRequest, slug: str, key: str, fmt: str) -> HttpResponse:
    review = get_review_for_user(request, slug)
    analyses, _ = _analyses(request, review)
    found = next((a for a in analyses if a.slug == key), None)
    if fmt not in CONTENT_TYPES or found is None or found.result is None:
        raise Http404("No such forest plot.")
    treatment, _, control = found.key.contrast.partition(" vs ")
    try:
        data = synthesis.forest_plot(found.result, fmt=fmt, treatment=treatment, control=control)
    except (ArithmeticError, ValueError) as error:
        raise Http404(f"This forest plot cannot be drawn: {error}") from None
    name = slugify(found.key.title)[:80]
    return _image(request, data, f"{review.slug}-forest-{name}.{fmt}", CONTENT_TYPES[fmt])


def time_course_download(request: HttpRequest, slug: str, outcome: str, fmt: str) -> HttpResponse:
    review = get_review_for_user(request, slug)
    analyses, _ = _analyses(request, review)
    courses = {
        slugify(name): (name, series) for name, series in reporting.time_courses(analyses).items()
    }
    draw = synthesis.time_course_plot
    if fmt not in CONTENT_TYPES or outcome not in courses:
        raise Http404("No such time-course picture.")
    name, series = courses[outcome]
    try:
        data = draw(series, title=f"{name}: effect of PRP over time (Hedges' g)", fmt=fmt)
    except (ArithmeticError, ValueError) as error:
        raise Http404(f"This picture cannot be drawn: {error}") from None
    return _image(request, data, f"{review.slug}-time-course-{outcome}.{fmt}", CONTENT_TYPES[fmt])


@require_http_methods(["GET", "POST"])
def synthesis_settings(request: HttpRequest, slug: str) -> HttpResponse:
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    config = services.config_for(review)
    form = SynthesisSettingsForm(request.POST or None, instance=config)
    if request.method == "POST" and form.is_valid():
        chosen = form.cleaned_data
        services.update_settings(
            review=review,
            user=request.user,
            time_windows=chosen.pop("windows"),
            **chosen,
        )
        messages.success(request, "Synthesis settings saved.")
        return redirect("extraction:reports", review.slug)
    context = {"review": review, "form": form, "nav": "reports"}
    return render(request, "extraction/synthesis_settings.html", context)


def _image(request: HttpRequest, data: bytes, filename: str, content_type: str) -> HttpResponse:
    """Shown in the page as an image (its own styles are not the page's, so the page's
    Content-Security-Policy holds), or downloaded with ?download=1."""
    if request.GET.get("download"):
        return _attachment(data, filename, content_type)
    return HttpResponse(data, content_type=content_type)


def _attachment(data: bytes, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _download(request: HttpRequest, slug: str, kind: str) -> FileResponse:
    """Built into a temporary file and streamed: a 100k-record log never sits in memory."""
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    extractor = _extractor(request, review)
    handle = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it)
    export_jobs.build(review, kind, handle, extractor=extractor)
    handle.seek(0)
    name = export_jobs.file_name(review, kind, extractor)
    export_jobs.log_export(review=review, user=request.user, kind=kind, name=name)
    return FileResponse(handle, as_attachment=True, filename=name)


def workbook(request: HttpRequest, slug: str) -> FileResponse:
    return _download(request, slug, ExportJob.Kind.WORKBOOK)


def csv_zip(request: HttpRequest, slug: str) -> FileResponse:
    return _download(request, slug, ExportJob.Kind.CSV)


def r_zip(request: HttpRequest, slug: str) -> FileResponse:
    return _download(request, slug, ExportJob.Kind.R)


def backup_download(request: HttpRequest, slug: str) -> FileResponse:
    return _download(request, slug, ExportJob.Kind.BACKUP)


def _extractor(request, review):
    username = request.GET.get("extractor")
    if not username:
        return None
    membership = review.memberships.filter(user__username=username, is_extractor=True).first()
    if membership is None:
        raise Http404("No such extractor in this review.")
    return membership.user


def ris(request: HttpRequest, slug: str) -> HttpResponse:
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    selection = request.GET.get("records", "included")
    if selection not in SELECTIONS:
        raise Http404("No such selection of records.")
    # written record by record into a temporary file and sent from there, as the other exports
    handle = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it)
    text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
    export_ris(review, text, selection)
    text.flush()
    text.detach()
    handle.seek(0)
    name = f"{review.slug}-{selection}.ris"
    export_jobs.log_export(
        review=review, user=request.user, kind=f"RIS of {selection} records", name=name
    )
    return FileResponse(
        handle,
        as_attachment=True,
        filename=name,
        content_type="application/x-research-info-systems",
    )


@require_POST
def export_start(request: HttpRequest, slug: str) -> HttpResponse:
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    try:
        job = export_jobs.start_export(
            review=review, kind=request.POST.get("kind", ""), user=request.user
        )
    except ValidationError as error:
        messages.error(request, error.messages[0])
        return redirect("extraction:reports", review.slug)
    return redirect(job)


def _job(request: HttpRequest, slug: str, pk: int) -> tuple:
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    export_jobs.fail_stale_exports(review=review)
    return review, get_object_or_404(review.export_jobs.select_related("created_by"), pk=pk)


def export_job(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    review, job = _job(request, slug, pk)
    context = {"review": review, "job": job, "nav": "reports"}
    if request.htmx:
        return render(request, "extraction/export_job.html#job-status", context)
    return render(request, "extraction/export_job.html", context)


def export_download(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    review, job = _job(request, slug, pk)
    if job.status != ExportJob.Status.DONE:
        raise Http404("This export is not ready.")
    if not export_jobs.file_is_kept(job):
        messages.error(request, job.error)
        return redirect(job)
    return FileResponse(job.file.open("rb"), as_attachment=True, filename=job.file_name)


@require_POST
def export_retry(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    review, job = _job(request, slug, pk)
    try:
        export_jobs.retry_export(job=job)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    return redirect(job)


@require_POST
def multi_arm_choice(request: HttpRequest, slug: str) -> HttpResponse:
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    try:
        services.set_multi_arm_choice(
            review=review,
            analysis=request.POST.get("analysis", ""),
            choice=request.POST.get("multi_arm", ""),
        )
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, "Shared-control handling saved for that analysis.")
    return redirect(reverse("extraction:reports", args=[review.slug]) + "#synthesis-title")
