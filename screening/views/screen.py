"""The reviewer's screen: one record at a time, decided from the keyboard."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from reviewmgr.forms import posted_number
from reviewmgr.models import Membership, Review
from reviewmgr.permissions import get_review_for_user
from screening import blinding, queue, services
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


def _screen_context(
    request,
    review,
    stage,
    state,
    form=None,
    error="",
    *,
    served: bool = False,
    previous: Decision | None = None,
) -> dict:
    """What the screen shows. `served`: the record comes from the member's queue, so it has
    no decision of theirs, and its decisions are read only if they may see the others'.
    `previous`: the member's latest decision, when the caller has just made it."""
    config = services.config_for(review)
    sight = blinding.sight_for(review)
    record = state.record if state else None
    mine = others = None
    if record is not None and (not served or sight.sees_others_on_record(stage, decided=False)):
        decisions = list(record.decisions.filter(stage=stage).select_related("reviewer"))
        mine = next((d for d in decisions if d.reviewer_id == request.user.pk), None)
        if sight.sees_others_on_record(stage, decided=mine is not None):
            others = [d for d in decisions if d.reviewer_id != request.user.pk]
    status_shown = blinding.record_status_shown(sight, stage, state)
    include, exclude = review.inclusion_keywords, review.exclusion_keywords
    full_text = getattr(record, "full_text", None) if record and stage == Stage.FULL_TEXT else None
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
        "status_shown": status_shown,
        "blind": sight.is_blind(stage),
        "settle_ms": settings.REVIEWMGR_SCREEN_SETTLE_MS,
        "resolution": Resolution.objects.filter(record=record, stage=stage).first()
        if status_shown and state.status == RecordScreening.Status.RESOLVED
        else None,
        "previous": previous or _previous_decision(review, request.user, stage, mine),
        "form": form
        or DecisionForm(
            initial={
                "reason": mine.reason if mine else "",
                "note": mine.note if mine else "",
                "tags": ", ".join(mine.tags) if mine else "",
            }
        ),
        "error": error,
        "progress": blinding.progress(review, request.user, stage, sight),
        "reasons_required": config.reason_required(stage),
        "full_text": full_text,
        "not_retrieved": stage == Stage.FULL_TEXT and bool(full_text and full_text.not_retrieved),
        "skipped": len(_skipped(request, review, stage)),
        "nav": "screen",
    }


# Refusals that mean "someone else got there first", not "you did something wrong".
OVERTAKEN = {"enough_decisions", "resolved", "stopped", "not_retrieved"}

# Skipped records come back once the rest of the reviewer's queue is done (or in a new
# session): they are kept per reviewer in the session, per review and stage.
SKIPPED_KEPT = 1000


def _skipped_key(review: Review, stage: str) -> str:
    return f"screening:skipped:{review.pk}:{stage}"


def _skipped(request: HttpRequest, review: Review, stage: str) -> list[int]:
    kept = request.session.get(_skipped_key(review, stage), [])
    return [n for n in kept if isinstance(n, int)] if isinstance(kept, list) else []


def _skip(request: HttpRequest, review: Review, stage: str, record_id: int) -> None:
    skipped = _skipped(request, review, stage)
    if record_id not in skipped:
        request.session[_skipped_key(review, stage)] = [*skipped, record_id][-SKIPPED_KEPT:]
    queue.release_claim(stage, record_id, request.user)


def _next_state(request: HttpRequest, review: Review, stage: str) -> RecordScreening | None:
    """The next record, passing over those skipped; when only skipped ones are left, they
    come back (in queue order) and the list starts afresh."""
    skipped = _skipped(request, review, stage)
    state = queue.next_record(review, request.user, stage, skipping=skipped)
    if state is None and skipped:
        request.session.pop(_skipped_key(review, stage), None)
        state = queue.next_record(review, request.user, stage)
    return state


def _render_screen(request, context) -> HttpResponse:
    template = "screening/screen.html#screen-main" if request.htmx else "screening/screen.html"
    return render(request, template, context)


def screen(request: HttpRequest, slug: str, stage: str, record_id: int | None = None):
    review = get_review_for_user(request, slug, role=Membership.Role.REVIEWER)
    stage = stage_or_404(stage)
    if record_id is None:
        skip = posted_number(request.GET.get("skip", ""))
        if skip is not None:
            # "Next": this record comes back later; the clean URL shows the next one.
            _skip(request, review, stage, skip)
            return redirect("screening:screen", review.slug, stage)
        context = _screen_context(
            request, review, stage, _next_state(request, review, stage), served=True
        )
    else:
        context = _screen_context(request, review, stage, state_or_404(review, stage, record_id))
    return _render_screen(request, context)


@require_POST
def decide(request: HttpRequest, slug: str, stage: str, record_id: int) -> HttpResponse:
    review = get_review_for_user(request, slug, role=Membership.Role.REVIEWER)
    stage = stage_or_404(stage)
    state = state_or_404(review, stage, record_id)
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            decision = services.record_decision(
                record=state.record, user=request.user, stage=stage, **form.cleaned_data
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
            next_state = _next_state(request, review, stage)
            context = _screen_context(
                request, review, stage, next_state, error=message, served=True
            )
            return _render_screen(request, context)
        queue.release_claim(stage, state.record_id, request.user)
    else:
        state.refresh_from_db()
        context = _screen_context(
            request, review, stage, state, form, "Choose Include, Exclude or Maybe."
        )
        return _render_screen(request, context)
    if request.htmx:
        next_state = _next_state(request, review, stage)
        context = _screen_context(
            request, review, stage, next_state, served=True, previous=decision
        )
        return _render_screen(request, context)
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
    # A record's status follows from every reviewer's decision: blind reviewers see their own.
    status_shown = blinding.sight_for(review).sees_team(stage)
    states = {}
    if status_shown:
        states = dict(
            RecordScreening.objects.filter(
                stage=stage, record__in=[d.record_id for d in page]
            ).values_list("record_id", "status")
        )
    rows = [(decision, states.get(decision.record_id)) for decision in page]
    context = {
        "review": review,
        "status_shown": status_shown,
        "stage": stage,
        "stage_label": Stage(stage).label,
        "filter": decision_filter,
        "page": page,
        "rows": rows,
        "nav": "screen",
    }
    return render(request, "screening/my_decisions.html", context)
