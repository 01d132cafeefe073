"""A failed background task shows its error, and a lead can run it again."""

from django.urls import reverse
from django.utils import timezone

from screening.models import Ranking


def test_a_failed_reordering_is_shown_and_the_lead_retries_it(
    client, review, lead, records, django_capture_on_commit_callbacks
):
    Ranking.objects.update_or_create(
        review=review,
        defaults={
            "error": "MemoryError: the worker ran out of memory",
            "ranked_at": timezone.now(),
        },
    )
    client.force_login(lead)
    dashboard = client.get(reverse("screening:dashboard", args=[review.slug])).content.decode()
    assert "The last reordering failed: MemoryError" in dashboard
    assert "Retry the reordering" in dashboard

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("screening:rerank", args=[review.slug]))
    response = client.get(reverse("screening:dashboard", args=[review.slug]))
    assert "being reordered" in response.content.decode()
    ranking = Ranking.objects.get(review=review)
    assert ranking.error == ""
    assert ranking.records == len(records)
    assert "The last reordering failed" not in response.content.decode()


def test_only_a_lead_may_reorder_the_queue(client, review, reviewer, records):
    client.force_login(reviewer)
    assert client.post(reverse("screening:rerank", args=[review.slug])).status_code == 403
    assert not Ranking.objects.filter(review=review).exists()
