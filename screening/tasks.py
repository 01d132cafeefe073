"""Background work of screening through django.tasks (a thread by default, a queue at scale)."""

from django.tasks import task

from reviewmgr.models import Review
from screening import prioritisation
from screening.models import Ranking


@task
def rank_queue_task(review_id: int) -> int:
    """Reorder a review's queue from the decisions so far; returns the records ranked."""
    try:
        review = Review.objects.filter(pk=review_id).first()
        if review is None:
            return 0
        return prioritisation.rank_queue(review=review).records
    except Exception as error:
        Ranking.objects.filter(review_id=review_id).update(error=f"{type(error).__name__}: {error}")
        raise
    finally:
        prioritisation.ranking_finished(review_id)
