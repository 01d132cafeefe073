import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from extraction.backup import BackupError, counts, restore_review


class Command(BaseCommand):
    help = "Restore a review from a JSON backup made by export_review --json."

    def add_arguments(self, parser):
        parser.add_argument("backup_file", type=Path)
        parser.add_argument("--slug", help="Restore under this address instead of the original.")

    def handle(self, *args, backup_file: Path, slug, **options):
        try:
            data = json.loads(backup_file.read_text(encoding="utf-8"))
        except OSError as error:
            raise CommandError(f"Cannot read {backup_file}: {error.strerror}") from None
        except json.JSONDecodeError as error:
            raise CommandError(f"{backup_file} is not JSON (line {error.lineno}).") from None
        try:
            review = restore_review(data, slug=slug)
        except BackupError as error:
            raise CommandError(str(error)) from None
        rows = counts(review)
        self.stdout.write(
            f"Restored '{review.slug}': {rows['reviewmgr.record']} records, "
            f"{rows['screening.decision']} decisions, {rows['extraction.extraction']} extractions."
        )
