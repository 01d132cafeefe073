import json

from django.core.management.base import BaseCommand, CommandError

from reviewmgr.importers import ImportFileError
from reviewmgr.seed import load_seed_review


class Command(BaseCommand):
    help = "Load the demo review on PRP and cytokines in neuropathic pain (safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--demo-users",
            action="store_true",
            help="Also create the demo users lead, reviewer1, reviewer2; print how to log in.",
        )
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Print the outcome as JSON."
        )

    def handle(self, *args, demo_users: bool, as_json: bool, **options):
        try:
            outcome = load_seed_review(with_demo_users=demo_users)
        except ImportFileError as error:
            raise CommandError(f"A seed file could not be imported: {error}") from None
        review = outcome.review
        if as_json:
            self.stdout.write(_json_summary(outcome))
            return
        state = "created" if outcome.created else "already present"
        self.stdout.write(
            f"Seed review '{review.slug}' {state}: {review.records.count()} records, "
            f"{outcome.batches_loaded} seed file(s) loaded now."
        )
        if outcome.demo_password:
            self.stdout.write(
                f"Log in as lead, reviewer1 or reviewer2 with the password {outcome.demo_password}"
            )


def _json_summary(outcome) -> str:
    return json.dumps(
        {
            "review": outcome.review.slug,
            "created": outcome.created,
            "records": outcome.review.records.count(),
            "batches_loaded": outcome.batches_loaded,
        }
    )
