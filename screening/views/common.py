from django.http import Http404

from screening.models import Stage


def stage_or_404(stage: str) -> str:
    if stage not in Stage.values:
        raise Http404("No such screening stage.")
    return stage
