"""The audit log page: every change to a review, newest first, for its leads only.

Leads may see the log in blind mode too: it shows each reviewer's decisions, which is why no
other role reaches it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from reviewmgr import audit
from reviewmgr.filters import AuditEventFilter
from reviewmgr.models import AuditEvent, Membership, Review
from reviewmgr.permissions import get_review_for_user
from reviewmgr.spreadsheets import Column, Sheet, write_csv

EVENTS_PER_PAGE = 100

# Pages an event's object links to, by target type; objects a deletion took have no link.
TARGET_PAGES = {
    "record": "reviewmgr:record_detail",
    "importbatch": "reviewmgr:batch_detail",
    "duplicategroup": "reviewmgr:duplicate_detail",
    "template": "extraction:template",
    "extraction": "extraction:extract",
}
SECTION_PAGES = {
    "membership": "reviewmgr:member_list",
    "review": "reviewmgr:review_edit",
    "screeningconfig": "screening:settings",
    "stage": "screening:dashboard",
}
GONE = {AuditEvent.Action.IMPORT_DELETED, AuditEvent.Action.MEMBER_REMOVED}


def target_url(review: Review, event: AuditEvent) -> str:
    if event.action in GONE:
        return ""
    if event.target_type in TARGET_PAGES and event.target_id is not None:
        return reverse(TARGET_PAGES[event.target_type], args=[review.slug, event.target_id])
    if event.target_type in SECTION_PAGES:
        return reverse(SECTION_PAGES[event.target_type], args=[review.slug])
    return ""


def audit_log(request: HttpRequest, slug: str) -> HttpResponse:
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    events = review.audit_events.select_related("actor")
    event_filter = AuditEventFilter(request.GET, queryset=events, review=review)
    if request.GET.get("format") == "csv":
        return _csv_download(review, event_filter.qs)
    page = Paginator(event_filter.qs, EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    rows = [
        {
            "event": event,
            "url": target_url(review, event),
            # A creation has only values after, a removal only values before.
            "only": "after" if event.before is None else "before" if event.after is None else "",
            "changes": [
                {"key": c.key, "before": audit.shown(c.before), "after": audit.shown(c.after)}
                for c in audit.changes(event.before, event.after)
            ],
        }
        for event in page
    ]
    context = {"review": review, "filter": event_filter, "page": page, "rows": rows, "nav": "audit"}
    return render(request, "reviewmgr/audit_log.html", context)


CSV_COLUMNS = [
    Column("When"),
    Column("Who"),
    Column("What"),
    Column("Action"),
    Column("Object"),
    Column("Object type"),
    Column("Object id"),
    Column("Summary"),
    Column("Before"),
    Column("After"),
]


def _csv_rows(events: QuerySet[AuditEvent]) -> Iterator[list]:
    for event in events.iterator(chunk_size=2000):
        yield [
            timezone.localtime(event.at),
            event.who,
            event.get_action_display(),
            event.action,
            event.target,
            event.target_type,
            event.target_id,
            event.summary,
            _json_text(event.before),
            _json_text(event.after),
        ]


def _json_text(value) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _csv_download(review: Review, events: QuerySet[AuditEvent]) -> HttpResponse:
    """The filtered events as CSV, times in the site's time zone.

    The file is built in memory (roughly 300 bytes per event) before it is sent.
    """
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{review.slug}-audit-log.csv"'
    write_csv(Sheet("Audit log", CSV_COLUMNS, _csv_rows(events)), response)
    return response
