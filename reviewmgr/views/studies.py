"""Leads link a record to another record's study as a further report, and unlink it."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from reviewmgr import studies
from reviewmgr.forms import ReportLinkForm
from reviewmgr.models import Membership
from reviewmgr.permissions import get_review_for_user


def _back(request: HttpRequest, record) -> str:
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return back
    return record.get_absolute_url()


@require_POST
def report_link(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    record = get_object_or_404(review.records, pk=pk)
    form = ReportLinkForm(request.POST, review=review)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("to", ["Give a record number."])))
        return redirect(_back(request, record))
    try:
        studies.link_report(record=record, to=form.cleaned_data["to"], user=request.user)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        key = studies.study_key(record)
        messages.success(
            request, f"Record {record.pk} is now a report of study {studies.study_id(key)}."
        )
    return redirect(_back(request, record))


@require_POST
def report_unlink(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    record = get_object_or_404(review.records, pk=pk)
    try:
        first = studies.unlink_report(record=record, user=request.user)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(
            request,
            f"Record {record.pk} unlinked; study {studies.study_id(first.pk)} keeps its other "
            "reports.",
        )
    return redirect(_back(request, record))
