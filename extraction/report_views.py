"""Reports: the PRISMA 2020 diagram, meta-analyses with forest plots, and the downloads
(workbook, CSV, RIS, backup) that leads hand to co-authors and journals."""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.text import slugify

from extraction import backup, exports, prisma, reporting, synthesis
from extraction.ris import SELECTIONS, export_ris
from reviewmgr.models import Membership
from reviewmgr.permissions import get_review_for_user

CONTENT_TYPES = {"svg": "image/svg+xml", "png": "image/png"}


def _outcomes(review) -> list[reporting.Outcome]:
    found = reporting.poolable_outcomes(review)
    return [found[key] for key in sorted(found, key=lambda k: (k.table, k.label, k.time_point))]


def reports(request: HttpRequest, slug: str) -> HttpResponse:
    review = get_review_for_user(request, slug)
    counts = reporting.prisma_counts(review)
    analyses = []
    for index, outcome in enumerate(_outcomes(review)):
        try:
            result = reporting.meta_analysis(outcome)
        except synthesis.SynthesisError as error:
            analyses.append({"index": index, "outcome": outcome, "error": str(error)})
            continue
        analyses.append({"index": index, "outcome": outcome, "result": result})
    context = {
        "review": review,
        "prisma_rows": prisma.as_rows(counts),
        "analyses": analyses,
        "selections": SELECTIONS,
        "nav": "reports",
    }
    return render(request, "extraction/reports.html", context)


def prisma_download(request: HttpRequest, slug: str, fmt: str) -> HttpResponse:
    review = get_review_for_user(request, slug)
    if fmt not in CONTENT_TYPES:
        raise Http404("SVG or PNG only.")
    data = prisma.draw(reporting.prisma_counts(review), fmt=fmt)
    return _image(request, data, f"{review.slug}-prisma.{fmt}", CONTENT_TYPES[fmt])


def forest_download(request: HttpRequest, slug: str, index: int, fmt: str) -> HttpResponse:
    review = get_review_for_user(request, slug)
    outcomes = _outcomes(review)
    if fmt not in CONTENT_TYPES or index >= len(outcomes):
        raise Http404("No such forest plot.")
    try:
        result = reporting.meta_analysis(outcomes[index])
    except synthesis.SynthesisError as error:
        raise Http404(str(error)) from None
    data = synthesis.forest_plot(result, fmt=fmt, treatment="PRP", control="control")
    name = slugify(f"{outcomes[index].key.label} {outcomes[index].key.time_point}")
    return _image(request, data, f"{review.slug}-forest-{name}.{fmt}", CONTENT_TYPES[fmt])


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


def workbook(request: HttpRequest, slug: str) -> FileResponse:
    """Written to a temporary file and streamed: a 100k-record log never sits in memory."""
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    extractor = _extractor(request, review)
    handle = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it)
    exports.export_workbook(review, handle, extractor=extractor)
    handle.seek(0)
    suffix = f"-{extractor.username}" if extractor else ""
    return FileResponse(handle, as_attachment=True, filename=f"{review.slug}-evidence{suffix}.xlsx")


def _extractor(request, review):
    username = request.GET.get("extractor")
    if not username:
        return None
    membership = review.memberships.filter(user__username=username, is_extractor=True).first()
    if membership is None:
        raise Http404("No such extractor in this review.")
    return membership.user


def csv_zip(request: HttpRequest, slug: str) -> FileResponse:
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    handle = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it)
    with tempfile.TemporaryDirectory() as directory:
        paths = exports.export_csv(review, Path(directory), extractor=_extractor(request, review))
        with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in paths:
                archive.write(path, path.name)
    handle.seek(0)
    return FileResponse(handle, as_attachment=True, filename=f"{review.slug}-tables-csv.zip")


def ris(request: HttpRequest, slug: str) -> HttpResponse:
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    selection = request.GET.get("records", "included")
    if selection not in SELECTIONS:
        raise Http404("No such selection of records.")
    text = io.StringIO()
    export_ris(review, text, selection)
    return _attachment(
        text.getvalue().encode("utf-8"),
        f"{review.slug}-{selection}.ris",
        "application/x-research-info-systems",
    )


def backup_download(request: HttpRequest, slug: str) -> HttpResponse:
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    data = json.dumps(backup.backup_review(review), ensure_ascii=False).encode("utf-8")
    return _attachment(data, f"{review.slug}-backup.json", "application/json")
