from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from reviewmgr import services
from reviewmgr.filters import RecordFilter
from reviewmgr.forms import ReviewForm
from reviewmgr.models import Membership, Review
from reviewmgr.permissions import get_review_for_user

RECORDS_PER_PAGE = 50


def review_list(request: HttpRequest) -> HttpResponse:
    reviews = Review.objects.for_user(request.user).prefetch_related("memberships")
    memberships = {m.review_id: m for m in request.user.memberships.all()}
    rows = [(review, memberships.get(review.pk)) for review in reviews]
    return render(request, "reviewmgr/review_list.html", {"rows": rows})


@require_http_methods(["GET", "POST"])
def review_create(request: HttpRequest) -> HttpResponse:
    form = ReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        review = services.create_review(user=request.user, **form.cleaned_data)
        messages.success(request, f"Review '{review.title}' created. You are its lead.")
        return redirect(review)
    return render(request, "reviewmgr/review_form.html", {"form": form})


@require_http_methods(["GET", "POST"])
def review_edit(request: HttpRequest, slug: str) -> HttpResponse:
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    form = ReviewForm(request.POST or None, instance=review)
    if request.method == "POST" and form.is_valid():
        review = services.update_review(review=review, user=request.user, **form.cleaned_data)
        messages.success(request, "Review settings saved.")
        return redirect(review)
    return render(request, "reviewmgr/review_form.html", {"form": form, "review": review})


def review_detail(request: HttpRequest, slug: str) -> HttpResponse:
    review = get_review_for_user(request, slug)
    records = review.records.select_related("batch").order_by("batch__created_at", "position")
    record_filter = RecordFilter(request.GET, queryset=records)
    page = Paginator(record_filter.qs, RECORDS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "review": review,
        "filter": record_filter,
        "page": page,
        "total_records": review.records.count(),
        "sources": services.source_counts(review),
        "removed_duplicates": review.records.removed_duplicates().count(),
    }
    if request.htmx:
        return render(request, "reviewmgr/review_detail.html#record-table", context)
    return render(request, "reviewmgr/review_detail.html", context)
