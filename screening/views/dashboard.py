"""The screening dashboard: progress per stage and agreement between reviewers."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from reviewmgr.permissions import get_review_for_user
from screening import blinding
from screening.models import Stage
from screening.reporting import agreement_rows, prioritisation_panel


def dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    review = get_review_for_user(request, slug)
    # While a stage is blind, a reviewer's dashboard shows only their own work there: the
    # team's counts, agreement and stopping estimate move with each decision, so watching
    # them after deciding a record would tell how the other reviewer decided it.
    sight = blinding.sight_for(review)
    stages = [
        {
            "code": code,
            "label": label,
            "team_shown": sight.sees_team(code),
            "progress": blinding.progress(review, request.user, code, sight),
            "agreement": agreement_rows(review, code) if sight.sees_team(code) else [],
        }
        for code, label in Stage.choices
    ]
    panel_shown = sight.sees_team(Stage.TITLE_ABSTRACT)
    context = {
        "review": review,
        "stages": stages,
        "team_shown": all(stage["team_shown"] for stage in stages),
        "blind_notice": blinding.BLIND_NOTICE,
        "panel": prioritisation_panel(review) if panel_shown else None,
        "nav": "screening",
    }
    return render(request, "screening/dashboard.html", context)
