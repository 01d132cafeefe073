"""Full texts: a member uploads the PDF (checked by content) or notes it cannot be obtained."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from reviewmgr.permissions import get_review_for_user
from screening import services
from screening.forms import FullTextForm
from screening.models import Stage


@require_POST
def upload(request: HttpRequest, slug: str, record_id: int) -> HttpResponse:
    review = get_review_for_user(request, slug)
    record = get_object_or_404(review.records, pk=record_id)
    form = FullTextForm(request.POST, request.FILES)
    to_resolve = request.POST.get("back") == "resolve" and review.membership.is_lead
    if form.is_valid():
        try:
            full_text = services.save_full_text(
                record=record,
                user=request.user,
                upload=form.cleaned_data["pdf"],
                not_retrieved=form.cleaned_data["not_retrieved"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            messages.error(request, error.messages[0])
        else:
            if full_text.not_retrieved:
                messages.success(
                    request,
                    f"Record {record.pk}: full text marked as not retrieved. It leaves the "
                    "full-text queue until someone uploads the PDF.",
                )
                if not to_resolve:  # on with the queue
                    return redirect("screening:screen", review.slug, Stage.FULL_TEXT)
            else:
                messages.success(request, "Full text saved.")
    else:
        problems = [problem for errors in form.errors.values() for problem in errors]
        messages.error(request, " ".join(problems) or "Choose a PDF.")
    if to_resolve:
        return redirect("screening:resolve", review.slug, Stage.FULL_TEXT, record.pk)
    return redirect("screening:screen_record", review.slug, Stage.FULL_TEXT, record.pk)


@xframe_options_sameorigin
def pdf(request: HttpRequest, slug: str, record_id: int) -> FileResponse:
    review = get_review_for_user(request, slug)
    record = get_object_or_404(review.records.select_related("full_text"), pk=record_id)
    full_text = getattr(record, "full_text", None)
    if full_text is None or not full_text.file:
        raise Http404("No full text has been uploaded for this record.")
    response = FileResponse(full_text.file.open("rb"), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="record-{record.pk}.pdf"'
    return response
