from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from reviewmgr import services
from reviewmgr.forms import RecordCorrectionForm
from reviewmgr.models import Membership
from reviewmgr.permissions import get_review_for_user


def record_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    review = get_review_for_user(request, slug)
    record = get_object_or_404(
        review.records.select_related("batch", "duplicate_of", "duplicate_group"), pk=pk
    )
    copies = record.duplicates.select_related("batch")
    corrections = record.corrections.select_related("changed_by")
    context = {"review": review, "record": record, "copies": copies, "corrections": corrections}
    return render(request, "reviewmgr/record_detail.html", context)


@require_POST
def record_known_relevant(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """A lead marks a record as known relevant (or takes the mark back): the queue's
    prioritisation starts from such records before any inclusion is made."""
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    record = get_object_or_404(review.records, pk=pk)
    known = request.POST.get("known") == "1"
    services.mark_known_relevant(
        review=review, record_ids=[record.pk], known=known, user=request.user
    )
    state = "marked as known relevant" if known else "no longer marked as known relevant"
    messages.success(request, f"Record {record.pk} {state}.")
    return redirect(record.get_absolute_url())


@require_http_methods(["GET", "POST"])
def record_correct(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    record = get_object_or_404(review.records, pk=pk)
    form = RecordCorrectionForm(request.POST or None, instance=record)
    back = request.GET.get("next") or request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = ""
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in form.changed_data}
        record.refresh_from_db()  # the form wrote into the instance; compare with the stored one
        correction = services.correct_record(record=record, user=request.user, **fields)
        if correction:
            messages.success(request, f"Record corrected: {', '.join(correction.changes)}.")
        return redirect(back or record.get_absolute_url())
    return render(
        request,
        "reviewmgr/record_correct.html",
        {"review": review, "record": record, "form": form, "next": back},
    )
