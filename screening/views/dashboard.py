"""The screening dashboard: progress per stage and agreement between reviewers."""

from collections import defaultdict
from itertools import combinations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from reviewmgr.permissions import get_review_for_user
from screening.agreement import agreement
from screening.models import Decision, Stage, Verdict
from screening.queue import progress

CATEGORIES = (Verdict.INCLUDE, Verdict.MAYBE, Verdict.EXCLUDE)


def agreement_rows(review, stage: str) -> list[dict]:
    """Per reviewer pair: agreement on the records both decided (one query, pairs in memory)."""
    verdicts: dict[int, dict[int, str]] = defaultdict(dict)
    names = {}
    for record_id, reviewer_id, username, verdict in Decision.objects.filter(
        record__review=review, stage=stage
    ).values_list("record_id", "reviewer_id", "reviewer__username", "verdict"):
        verdicts[reviewer_id][record_id] = verdict
        names[reviewer_id] = username
    rows = []
    for first, second in combinations(sorted(verdicts, key=names.get), 2):
        shared = sorted(verdicts[first].keys() & verdicts[second].keys())
        if not shared:
            continue
        result = agreement(
            [verdicts[first][r] for r in shared],
            [verdicts[second][r] for r in shared],
            categories=CATEGORIES,
        )
        rows.append(
            {
                "pair": (names[first], names[second]),
                "result": result,
                "bar": round(2 * (result.percent_agreement or 0)),  # a 200-pixel bar
            }
        )
    return rows


def dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    review = get_review_for_user(request, slug)
    stages = [
        {
            "code": code,
            "label": label,
            "progress": progress(review, request.user, code),
            "agreement": agreement_rows(review, code),
        }
        for code, label in Stage.choices
    ]
    return render(
        request,
        "screening/dashboard.html",
        {"review": review, "stages": stages, "nav": "screening"},
    )
