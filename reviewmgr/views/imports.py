from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from reviewmgr import importers, services
from reviewmgr.forms import BatchVersionForm, ColumnMapForm, UploadForm
from reviewmgr.importers import ImportFileError
from reviewmgr.models import ImportBatch, Membership
from reviewmgr.permissions import get_review_for_user


def batch_list(request: HttpRequest, slug: str) -> HttpResponse:
    review = get_review_for_user(request, slug)
    services.fail_stale_batches(review=review)
    batches = review.batches.all()
    return render(request, "reviewmgr/batch_list.html", {"review": review, "batches": batches})


@require_http_methods(["GET", "POST"])
def batch_upload(request: HttpRequest, slug: str) -> HttpResponse:
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        fields = ("source", "source_detail", "search_date", "search_string")
        try:
            batch = services.queue_upload(
                review=review,
                data=upload.read(),
                file_name=upload.name,
                user=request.user,
                provenance=services.Provenance(**{k: form.cleaned_data[k] for k in fields}),
                format=form.cleaned_data["format"],
                lenient=form.cleaned_data["lenient"],
            )
        except ImportFileError as error:
            form.add_error("file", str(error))
        else:
            if batch.status == ImportBatch.Status.MAPPING:
                return redirect("reviewmgr:batch_map", review.slug, batch.pk)
            return redirect(batch)
    return render(request, "reviewmgr/batch_upload.html", {"review": review, "form": form})


@require_http_methods(["GET", "POST"])
def batch_map(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    batch = get_object_or_404(review.batches, pk=pk)
    if batch.status not in {ImportBatch.Status.MAPPING, ImportBatch.Status.FAILED}:
        return redirect(batch)
    try:
        with batch.file.open("rb") as handle:
            columns = importers.read_columns(handle.read(), filename=batch.file_name)
    except (ImportFileError, OSError) as error:
        messages.error(request, f"The columns of this file cannot be read: {error}")
        return redirect(batch)
    suggested = batch.column_map or importers.suggest_column_map(columns)
    form = ColumnMapForm(request.POST or None, columns=columns, suggested=suggested)
    if request.method == "POST" and form.is_valid():
        services.start_mapped_import(batch=batch, column_map=form.cleaned_data["column_map"])
        return redirect(batch)
    return render(
        request, "reviewmgr/batch_map.html", {"review": review, "batch": batch, "form": form}
    )


def batch_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    review = get_review_for_user(request, slug)
    services.fail_stale_batches(review=review)
    batch = get_object_or_404(review.batches.select_related("created_by"), pk=pk)
    context = {"review": review, "batch": batch, "progress": services.batch_progress(batch)}
    if review.membership.is_lead:
        context["version_form"] = BatchVersionForm(
            initial={"version_role": batch.version_role, "search_date": batch.search_date}
        )
    if request.htmx:
        return render(request, "reviewmgr/batch_detail.html#batch-status", context)
    return render(request, "reviewmgr/batch_detail.html", context)


@require_POST
def batch_version(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """A lead marks an import as a new search or as the previous version's included
    studies, with its date: the PRISMA diagram follows (template for updated reviews)."""
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    batch = get_object_or_404(review.batches, pk=pk)
    form = BatchVersionForm(request.POST)
    if not form.is_valid():
        problems = [f"{form.fields[name].label}: {' '.join(errors)}" for name, errors in
                    form.errors.items()]  # fmt: skip
        messages.error(request, " ".join(problems))
        return redirect(batch)
    try:
        services.mark_batch_version(
            batch=batch,
            version_role=form.cleaned_data["version_role"],
            search_date=form.cleaned_data["search_date"],
            user=request.user,
        )
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, f"Marked as {batch.get_version_role_display().lower()}.")
    return redirect(batch)


@require_POST
def batch_retry(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    batch = get_object_or_404(review.batches, pk=pk)
    try:
        services.retry_import_batch(batch=batch, lenient=request.POST.get("lenient") == "1" or None)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    return redirect(batch)


@require_http_methods(["GET", "POST"])
def batch_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    batch = get_object_or_404(review.batches, pk=pk)
    if request.method == "POST":
        summary = services.delete_batch(batch=batch, user=request.user)
        messages.success(
            request, f"Batch '{batch.file_name}' deleted with its {summary['records']} records."
        )
        return redirect("reviewmgr:batch_list", review.slug)
    context = {"review": review, "batch": batch, "summary": services.deletion_summary(batch)}
    return render(request, "reviewmgr/batch_confirm_delete.html", context)
