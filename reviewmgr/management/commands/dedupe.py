import json

from django.core.management.base import BaseCommand, CommandError

from reviewmgr.duplicates import find_duplicates_in_review
from reviewmgr.models import DuplicateGroup, Review


class Command(BaseCommand):
    help = "Find duplicate records in a review; merge the certain ones, queue the rest for a lead."

    def add_arguments(self, parser):
        parser.add_argument("review", help="The review's short name (slug).")
        parser.add_argument(
            "--json",
            action="store_true",
            dest="as_json",
            help="Print every duplicate group of the review as JSON.",
        )

    def handle(self, *args, review: str, as_json: bool, **options):
        target = Review.objects.filter(slug=review).first()
        if target is None:
            raise CommandError(f"There is no review '{review}'.")
        find_duplicates_in_review(review=target)
        groups = list(
            target.duplicate_groups.exclude(status=DuplicateGroup.Status.REJECTED)
            .prefetch_related("records")
            .order_by("pk")
        )
        merged = sum(g.status == DuplicateGroup.Status.MERGED for g in groups)
        pending = len(groups) - merged
        if not as_json:
            self.stdout.write(f"{merged} groups merged, {pending} waiting for a lead.")
            return
        self.stdout.write(
            json.dumps(
                {
                    "merged": merged,
                    "pending": pending,
                    "groups": [
                        {
                            "primary": group.primary_id,
                            "members": sorted(r.pk for r in group.records.all()),
                            "status": group.status,
                            "score": round(group.score, 4),
                            "reasons": group.reasons,
                        }
                        for group in groups
                    ],
                }
            )
        )
