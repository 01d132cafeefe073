"""The reviewer's screen: one record at a time, decided from the keyboard."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from reviewmgr.models import Membership, Review
from reviewmgr.permissions import get_review_for_user
from screening import queue, services
from screening.filters import DecisionFilter
from screening.forms import DecisionForm
from screening.highlight import highlight
from screening.models import Decision, RecordScreening, Resolution, Stage
from screening.views.common import stage_or_404, state_or_404


def _previous_decision(review: Review, reviewer, stage: str, before: Decision | None):
    mine = Decision.objects.filter(record__review=review, stage=stage, reviewer=reviewer)
    if before is not None:
        mine = mine.filter(updated_at__lt=before.updated_at)
    return mine.order_by("-updated_at", "-pk").first()


def _screen_context(request, review, stage, state, form=None, error="") -> dict:
    config = services.config_for(review)
    record = state.record if state else None
    mine = others = None
    if record is not None:
        decisions = list(record.decisions.filter(stage=stage).select_related("reviewer"))
        mine = next((d for d in decisions if d.reviewer_id == request.user.pk), None)
        visible = not config.blind or state.status == RecordScreening.Status.RESOLVED
        others = [d for d in decisions if d.reviewer_id != request.user.pk] if visible else None
    include, exclude = review.inclusion_keywords, review.exclusion_keywords
    return {
        "review": review,
        "stage": stage,
        "stage_label": Stage(stage).label,
        "config": config,
        "state": state,
        "record": record,
        "title_html": highlight(record.title, include, exclude) if record else "",
        "abstract_html": highlight(record.abstract, include, exclude) if record else "",
        "mine": mine,
        "others": others,
        "resolution": Resolution.objects.filter(record=record, stage=stage).first()
        if record
        else None,
        "previous": _previous_decision(review, request.user, stage, mine),
        "form": form
        or DecisionForm(
            initial={
                "reason": mine.reason if mine else "",
                "note": mine.note if mine else "",
                "tags": ", ".join(mine.tags) if mine else "",
            }
        ),
        "error": error,
        "progress": queue.progress(review, request.user, stage),
        "reasons_required": config.reason_required(stage),
        "full_text": getattr(record, "full_text", None) if record else None,
        "nav": "screen",
    }


# Refusals that mean "someone else got there first", not "you did something wrong".
OVERTAKEN = {"enough_decisions", "resolved", "stopped"}


def _render_screen(request, context) -> HttpResponse:
    template = "screening/screen.html#screen-main" if request.htmx else "screening/screen.html"
    return render(request, template, context)


def screen(request: HttpRequest, slug: str, stage: str, record_id: int | None = None):
    review = get_review_for_user(request, slug, role=Membership.Role.REVIEWER)
    stage = stage_or_404(stage)
    if record_id is None:
        state = queue.next_record(review, request.user, stage)
    else:
        state = state_or_404(review, stage, record_id)
    return _render_screen(request, _screen_context(request, review, stage, state))


@require_POST
def decide(request: HttpRequest, slug: str, stage: str, record_id: int) -> HttpResponse:
    review = get_review_for_user(request, slug, role=Membership.Role.REVIEWER)
    stage = stage_or_404(stage)
    state = state_or_404(review, stage, record_id)
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            services.record_decision(
                record=state.record, reviewer=request.user, stage=stage, **form.cleaned_data
            )
        except ValidationError as error:
            if error.code not in OVERTAKEN:
                form.add_error(None, error)
                state.refresh_from_db()
                message = " ".join(form.non_field_errors())
                context = _screen_context(request, review, stage, state, form, message)
                return _render_screen(request, context)
            # Others decided (or the lead resolved) it while this reviewer read: move on.
            message = f"{error.messages[0]} Your decision was not needed; here is the next record."
            queue.release_claim(stage, state.record_id, request.user)
            next_state = queue.next_record(review, request.user, stage)
            return _render_screen(
                request, _screen_context(request, review, stage, next_state, error=message)
            )
        queue.release_claim(stage, state.record_id, request.user)
    else:
        state.refresh_from_db()
        context = _screen_context(
            request, review, stage, state, form, "Choose Include, Exclude or Maybe."
        )
        return _render_screen(request, context)
    if request.htmx:
        next_state = queue.next_record(review, request.user, stage)
        return _render_screen(request, _screen_context(request, review, stage, next_state))
    return redirect("screening:screen", review.slug, stage)


@require_POST
def undo(request: HttpRequest, slug: str, stage: str) -> HttpResponse:
    """Withdraw my most recent decision at this stage and show its record again."""
    review = get_review_for_user(request, slug, role=Membership.Role.REVIEWER)
    stage = stage_or_404(stage)
    last = _previous_decision(review, request.user, stage, None)
    if last is None:
        messages.info(request, "There is no decision to undo.")
        return redirect("screening:screen", review.slug, stage)
    try:
        services.withdraw_decision(record=last.record, reviewer=request.user, stage=stage)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    url = reverse("screening:screen_record", args=[review.slug, stage, last.record_id])
    if request.htmx:
        state = RecordScreening.objects.select_related("record").get(
            record_id=last.record_id, stage=stage
        )
        response = _render_screen(request, _screen_context(request, review, stage, state))
        response["HX-Push-Url"] = url
        return response
    return redirect(url)


def my_decisions(request: HttpRequest, slug: str, stage: str) -> HttpResponse:
    review = get_review_for_user(request, slug, role=Membership.Role.REVIEWER)
    stage = stage_or_404(stage)
    decisions = Decision.objects.filter(
        record__review=review, stage=stage, reviewer=request.user
    ).select_related("record")
    decision_filter = DecisionFilter(request.GET, queryset=decisions)
    page = Paginator(decision_filter.qs, 50).get_page(request.GET.get("page"))
    states = dict(
        RecordScreening.objects.filter(
            stage=stage, record__in=[d.record_id for d in page]
        ).values_list("record_id", "status")
    )
    rows = [(decision, states.get(decision.record_id)) for decision in page]
    context = {
        "review": review,
        "stage": stage,
        "stage_label": Stage(stage).label,
        "filter": decision_filter,
        "page": page,
        "rows": rows,
        "nav": "screen",
    }
    return render(request, "screening/my_decisions.html", context)
