from django.http import Http404
from django.shortcuts import get_object_or_404

from reviewmgr.models import Review
from screening.models import RecordScreening, Stage


def stage_or_404(stage: str) -> str:
    if stage not in Stage.values:
        raise Http404("No such screening stage.")
    return stage


def state_or_404(review: Review, stage: str, record_id: int) -> RecordScreening:
    """A record's screening state at a stage, fetched through the review (never by bare id).
    The state and its record hold this `review` instance, so what the request already read
    about it (the membership, the screening settings) is not read again."""
    rows = RecordScreening.objects.for_stage(review, stage).select_related("record")
    rows = rows.defer("record__source_record")  # the whole source file's entry: not shown
    state = get_object_or_404(rows, record_id=record_id)
    state.review = state.record.review = review
    return state
