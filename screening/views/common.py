from django.http import Http404
from django.shortcuts import get_object_or_404

from reviewmgr.models import Review
from screening.models import RecordScreening, Stage


def stage_or_404(stage: str) -> str:
    if stage not in Stage.values:
        raise Http404("No such screening stage.")
    return stage


def state_or_404(review: Review, stage: str, record_id: int) -> RecordScreening:
    """A record's screening state at a stage, fetched through the review (never by bare id)."""
    rows = RecordScreening.objects.for_stage(review, stage).select_related("record")
    return get_object_or_404(rows, record_id=record_id)
