"""What leads do: settings, the record list by status, conflicts and their resolution."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from reviewmgr.forms import posted_number
from reviewmgr.models import Membership
from reviewmgr.permissions import get_review_for_user
from screening import prioritisation, services
from screening.forms import ResolutionForm, ScreeningConfigForm, StoppingForm
from screening.highlight import highlight
from screening.models import FullText, RecordScreening, Resolution, ScreeningEvent, Stage
from screening.views.common import stage_or_404, state_or_404

AWAITING = RecordScreening.Status.AWAITING
# Tab key: its label and the rows it shows. Reports not retrieved wait for a PDF, not for a
# reviewer, so they have a tab of their own and are left out of the awaiting ones.
STATUS_FILTERS = {
    "all": ("All", lambda rows: rows),
    "second": (
        "Awaiting a second reviewer",
        lambda rows: rows.filter(status=AWAITING, decision_count__gte=1).exclude(
            pk__in=rows.not_retrieved()
        ),
    ),
    "unstarted": (
        "Not yet screened",
        lambda rows: rows.filter(status=AWAITING, decision_count=0).exclude(
            pk__in=rows.not_retrieved()
        ),
    ),
    "conflict": ("In conflict", lambda rows: rows.filter(status=RecordScreening.Status.CONFLICT)),
    "resolved": ("Resolved", lambda rows: rows.filter(status=RecordScreening.Status.RESOLVED)),
    "not_retrieved": ("Reports not retrieved", lambda rows: rows.not_retrieved()),
}


@require_http_methods(["GET", "POST"])
def settings_view(request: HttpRequest, slug: str) -> HttpResponse:
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    config = services.config_for(review)
    form = ScreeningConfigForm(request.POST or None, instance=config)
    if request.method == "POST" and form.is_valid():
        config = services.update_screening_settings(
            review=review, user=request.user, **form.cleaned_data
        )
        if {"order", "exploration", "blind"} & set(form.changed_data):
            prioritisation.request_ranking(review, force=True, config=config)
        messages.success(request, "Screening settings saved.")
        return redirect("screening:settings", review.slug)
    return render(
        request, "screening/settings.html", {"review": review, "form": form, "nav": "screening"}
    )


def status_list(request: HttpRequest, slug: str, stage: str) -> HttpResponse:
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    stage = stage_or_404(stage)
    rows = RecordScreening.objects.for_stage(review, stage)
    shown = [key for key in STATUS_FILTERS if key != "not_retrieved" or stage == Stage.FULL_TEXT]
    show = request.GET.get("show", "all")
    if show not in shown:
        show = "all"
    label, select = STATUS_FILTERS[show]
    states = select(rows).select_related("record").order_by("record_id")
    page = Paginator(states, 50).get_page(request.GET.get("page"))
    tabs = [(key, STATUS_FILTERS[key][0], STATUS_FILTERS[key][1](rows).count()) for key in shown]
    context = {
        "review": review,
        "stage": stage,
        "stage_label": Stage(stage).label,
        "page": page,
        "show": show,
        "label": label,
        "tabs": tabs,
        "nav": "screening",
    }
    return render(request, "screening/status_list.html", context)


@require_http_methods(["GET", "POST"])
def resolve(request: HttpRequest, slug: str, stage: str, record_id: int) -> HttpResponse:
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    stage = stage_or_404(stage)
    state = state_or_404(review, stage, record_id)
    record = state.record
    form = ResolutionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.resolve_record(
                record=record, user=request.user, stage=stage, **form.cleaned_data
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request, f"Record {record.pk} resolved: {form.cleaned_data['verdict']}."
            )
            following = (
                RecordScreening.objects.for_stage(review, stage)
                .filter(status=RecordScreening.Status.CONFLICT)
                .order_by("record_id")
            )
            nxt = following.first()
            if nxt:
                return redirect("screening:resolve", review.slug, stage, nxt.record_id)
            return redirect(
                reverse("screening:status_list", args=[review.slug, stage]) + "?show=conflict"
            )
    context = {
        "review": review,
        "stage": stage,
        "stage_label": Stage(stage).label,
        "state": state,
        "record": record,
        "form": form,
        "title_html": highlight(record.title, review.inclusion_keywords, review.exclusion_keywords),
        "abstract_html": highlight(
            record.abstract, review.inclusion_keywords, review.exclusion_keywords
        ),
        "decisions": record.decisions.filter(stage=stage).select_related("reviewer"),
        "resolution": Resolution.objects.filter(record=record, stage=stage).first(),
        "events": ScreeningEvent.objects.filter(record=record).select_related("actor"),
        "config": services.config_for(review),
        "full_text": FullText.objects.filter(record=record).first(),
        "nav": "screening",
    }
    return render(request, "screening/resolve.html", context)


@require_POST
def add_reviewer(request: HttpRequest, slug: str, stage: str, record_id: int) -> HttpResponse:
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    stage = stage_or_404(stage)
    state = state_or_404(review, stage, record_id)
    try:
        services.add_reviewer(record=state.record, user=request.user, stage=stage)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, f"Record {record_id} now waits for one more reviewer.")
    return redirect("screening:resolve", review.slug, stage, record_id)


@require_POST
def withdraw(request: HttpRequest, slug: str, stage: str, record_id: int) -> HttpResponse:
    """Take a reviewer's decision back so that another reviewer gets the record."""
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    stage = stage_or_404(stage)
    state = state_or_404(review, stage, record_id)
    chosen = request.POST.get("decision", "")
    decision = get_object_or_404(
        state.record.decisions.select_related("reviewer"),
        stage=stage,
        pk=posted_number(chosen) or 0,
    )
    try:
        services.withdraw_decision(
            record=state.record, reviewer=decision.reviewer, stage=stage, user=request.user
        )
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(
            request,
            f"{decision.reviewer.username}'s decision was withdrawn; "
            "the record waits for another reviewer.",
        )
    return redirect("screening:resolve", review.slug, stage, record_id)


@require_http_methods(["GET", "POST"])
def stopping(request: HttpRequest, slug: str, stage: str) -> HttpResponse:
    """The lead stops screening new records at a stage, or resumes it; both are logged.

    Stopping is asked for on a page of its own: it shows the stopping test's estimate (with a
    warning while the test says keep screening) and takes a note for the log; resuming is one
    click on the dashboard.
    """
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    stage = stage_or_404(stage)
    dashboard = reverse("screening:dashboard", args=[review.slug]) + "#stopping"
    if request.method == "POST" and request.POST.get("action") == "resume":
        form = StoppingForm(request.POST)
        if not form.is_valid():
            messages.error(request, " ".join(form.errors.get("note", [])))
            return redirect(dashboard)
        try:
            services.resume_screening(
                review=review, stage=stage, user=request.user, note=form.cleaned_data["note"]
            )
        except ValidationError as error:
            messages.error(request, error.messages[0])
        else:
            messages.success(request, f"{Stage(stage).label} screening resumed. Logged.")
        return redirect(dashboard)
    stop = prioritisation.stopped(review, stage)
    if stop is not None:
        messages.info(request, "Screening of new records at this stage is already stopped.")
        return redirect(dashboard)
    form = StoppingForm(request.POST or None, note_required=True)
    if request.method == "POST" and form.is_valid():
        try:
            services.stop_screening(
                review=review, stage=stage, user=request.user, note=form.cleaned_data["note"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                f"{Stage(stage).label} screening stopped for records nobody has screened yet. "
                "Logged.",
            )
            return redirect(dashboard)
    estimate = prioritisation.stopping_estimate(review, stage)
    remaining = None
    if estimate.estimated_relevant_total == estimate.estimated_relevant_total:  # not NaN
        remaining = max(estimate.estimated_relevant_total - estimate.n_relevant_found, 0)
    context = {
        "review": review,
        "stage": stage,
        "stage_label": Stage(stage).label,
        "estimate": estimate,
        "estimated_remaining": remaining,
        "unscreened": max(estimate.parameters.get("n_total", 0) - estimate.n_screened, 0),
        "form": form,
        "nav": "screening",
    }
    return render(request, "screening/stop_confirm.html", context)


@require_POST
def rerank(request: HttpRequest, slug: str) -> HttpResponse:
    """Reorder the queue now, e.g. after a failed reordering; it runs in the background."""
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    with transaction.atomic():
        prioritisation.request_ranking(review, decisions=0, force=True)
    messages.success(request, "The queue is being reordered in the background.")
    return redirect(reverse("screening:dashboard", args=[review.slug]) + "#stopping")
