"""A record's screening history: every decision, change, undo and resolution, with notes."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from reviewmgr.permissions import get_review_for_user
from screening import services
from screening.models import Resolution, ScreeningEvent


def record_history(request: HttpRequest, slug: str, record_id: int) -> HttpResponse:
    """Leads see the whole history, the lead's resolution notes included. While screening is
    blind, anyone else sees only their own entries: the rest would tell how others decided."""
    review = get_review_for_user(request, slug)
    record = get_object_or_404(review.records, pk=record_id)
    events = ScreeningEvent.objects.filter(record=record).select_related("actor")
    resolutions = Resolution.objects.filter(record=record).select_related("resolved_by")
    whole = review.membership.is_lead or not services.config_for(review).blind
    if not whole:
        events = events.filter(actor=request.user)
        resolutions = resolutions.none()
    context = {
        "review": review,
        "record": record,
        "events": events,
        "resolutions": resolutions,
        "whole": whole,
        "nav": "records",
    }
    template = "screening/history.html#history" if request.htmx else "screening/history.html"
    return render(request, template, context)
