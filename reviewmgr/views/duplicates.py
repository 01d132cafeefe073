from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from reviewmgr import duplicates
from reviewmgr.forms import posted_number
from reviewmgr.models import DuplicateGroup, Membership, Record
from reviewmgr.permissions import get_review_for_user

COMPARED_FIELDS = [
    ("title", "Title"),
    ("authors", "Authors"),
    ("year", "Year"),
    ("journal", "Journal"),
    ("volume", "Volume"),
    ("issue", "Issue"),
    ("pages", "Pages"),
    ("doi", "DOI"),
    ("pmid", "PMID"),
    ("type", "Type"),
    ("abstract", "Abstract"),
]


def duplicate_list(request: HttpRequest, slug: str) -> HttpResponse:
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    status = request.GET.get("status", DuplicateGroup.Status.PENDING)
    if status not in DuplicateGroup.Status.values:
        status = DuplicateGroup.Status.PENDING
    groups = review.duplicate_groups.filter(status=status).prefetch_related("records")
    counts = dict(review.duplicate_groups.values_list("status").annotate(n=Count("pk")).order_by())
    tabs = [(value, label, counts.get(value, 0)) for value, label in DuplicateGroup.Status.choices]
    context = {
        "review": review,
        "groups": groups[:200],
        "status": status,
        "tabs": tabs,
        "removed": review.records.removed_duplicates().count(),
    }
    return render(request, "reviewmgr/duplicate_list.html", context)


def _comparison(records: list[Record]) -> list[dict]:
    """One row per field: each record's value and whether the copies disagree on it."""
    rows = []
    for name, label in COMPARED_FIELDS:
        values = [getattr(record, name) for record in records]
        shown = [
            "; ".join(v) if isinstance(v, list) else ("" if v is None else str(v)) for v in values
        ]
        differs = len({v.strip().lower() for v in shown}) > 1
        rows.append({"label": label, "values": shown, "differs": differs})
    return rows


def duplicate_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    group = get_object_or_404(review.duplicate_groups, pk=pk)
    records = list(group.records.select_related("batch").order_by("pk"))
    context = {"review": review, "group": group, "records": records, "rows": _comparison(records)}
    return render(request, "reviewmgr/duplicate_detail.html", context)


@require_POST
def duplicate_decide(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    group = get_object_or_404(review.duplicate_groups, pk=pk)
    action = request.POST.get("action")
    if action == "merge":
        chosen = request.POST.get("primary", "")
        number = posted_number(chosen)
        primary = group.records.filter(pk=number).first() if number is not None else None
        try:
            duplicates.merge_group(group=group, user=request.user, primary=primary)
        except ValidationError as error:
            messages.error(request, error.messages[0])
            return redirect(group)
        messages.success(request, f"Merged: record {group.primary_id} is the primary record.")
    elif action == "reject":
        duplicates.reject_group(group=group, user=request.user)
        messages.success(request, "Kept apart: each record stands on its own.")
    else:
        messages.error(request, "Choose to merge the records or to keep them apart.")
        return redirect(group)
    next_group = review.duplicate_groups.filter(status=DuplicateGroup.Status.PENDING).first()
    return redirect(
        next_group or "reviewmgr:duplicate_list", *([] if next_group else [review.slug])
    )
