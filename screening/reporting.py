"""What the screening dashboard reports: agreement between each pair of reviewers, the curve of
relevant records found, and the prioritisation panel with the stopping estimate. Who may see
which of these is decided by screening.blinding before they are asked for."""

from collections import defaultdict
from itertools import accumulate, combinations

from screening import prioritisation
from screening.agreement import agreement
from screening.models import Decision, Ranking, Stage, StoppingDecision, Verdict
from screening.services import config_for

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


CURVE_WIDTH, CURVE_HEIGHT, CURVE_POINTS = 320, 120, 200


def discovery_curve(history: list[bool], n_total: int, estimated_total: float | None) -> dict:
    """Relevant records found against records screened, as SVG coordinates: a curve that
    flattens is what the stopping rule tests; the dashed line is the estimated total."""
    found = list(accumulate(history))
    if not found:
        return {}
    top = max(found[-1], estimated_total or 0, 1)
    step = max(1, len(found) // CURVE_POINTS)
    picks = list(range(0, len(found), step))
    if picks[-1] != len(found) - 1:
        picks.append(len(found) - 1)
    width = max(n_total, len(found))

    def point(i: int) -> str:
        x = CURVE_WIDTH * (i + 1) / width
        y = CURVE_HEIGHT * (1 - found[i] / top)
        return f"{x:.1f},{y:.1f}"

    estimate_y = None
    if estimated_total:
        estimate_y = round(CURVE_HEIGHT * (1 - estimated_total / top), 1)
    return {
        "points": " ".join([f"0,{CURVE_HEIGHT}"] + [point(i) for i in picks]),
        "estimate_y": estimate_y,
        "screened_x": round(CURVE_WIDTH * len(found) / width, 1),
        "width": CURVE_WIDTH,
        "height": CURVE_HEIGHT,
    }


def prioritisation_panel(review) -> dict:
    stage = Stage.TITLE_ABSTRACT
    history = prioritisation.screening_history(review, stage)
    estimate = prioritisation.stopping_test_for(review, stage, history)
    total = estimate.parameters["n_total"]
    found = estimate.n_relevant_found
    remaining = None
    if estimate.estimated_relevant_total == estimate.estimated_relevant_total:  # not NaN
        remaining = max(estimate.estimated_relevant_total - found, 0)
    return {
        "stage": stage,
        "config": config_for(review),
        "personal": prioritisation.ranked_per_reviewer(review),
        "ranking": Ranking.objects.filter(review=review).first(),
        "estimate": estimate,
        "estimated_remaining": remaining,
        "curve": discovery_curve(history, total, estimate.estimated_relevant_total),
        "stopped": prioritisation.stopped(review, stage),
        "log": StoppingDecision.objects.filter(review=review).select_related("decided_by"),
    }
