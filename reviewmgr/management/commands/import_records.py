import json
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from reviewmgr import services
from reviewmgr.importers import FORMATS, ImportFileError
from reviewmgr.models import ImportBatch, Review


def parse_source(value: str) -> str:
    """A source by its code ('wos') or its name ('Web of Science'), case-insensitively."""
    wanted = value.strip().lower()
    for code, label in ImportBatch.Source.choices:
        if wanted in {code, label.lower()} or label.lower().startswith(wanted + " "):
            return code
    names = ", ".join(code for code, _ in ImportBatch.Source.choices)
    raise CommandError(f"Unknown source '{value}'. Use one of: {names}.")


class Command(BaseCommand):
    help = "Import a file of references into a review as one batch (all records or none)."

    def add_arguments(self, parser):
        parser.add_argument("review", help="The review's short name (slug).")
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--source",
            default="other-database",
            help="Where the file came from: pubmed, embase, scopus, wos, "
            "central, website, citation-search, other, ...",
        )
        parser.add_argument("--source-detail", default="")
        parser.add_argument("--format", default="auto", choices=["auto", *FORMATS])
        parser.add_argument(
            "--search-date",
            type=date.fromisoformat,
            default=None,
            help="The date the search was run (YYYY-MM-DD).",
        )
        parser.add_argument("--search-string", default="")
        parser.add_argument(
            "--lenient",
            action="store_true",
            help="Import the good records and report the bad ones.",
        )
        parser.add_argument(
            "--json",
            action="store_true",
            dest="as_json",
            help="Print one JSON object with the new records' ids.",
        )

    def handle(self, *args, **options):
        review = Review.objects.filter(slug=options["review"]).first()
        if review is None:
            raise CommandError(f"There is no review '{options['review']}'.")
        path: Path = options["file"]
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}.") from None
        try:
            batch, ids = services.import_records(
                review=review,
                data=data,
                file_name=path.name,
                provenance=services.Provenance(
                    source=parse_source(options["source"]),
                    source_detail=options["source_detail"],
                    search_date=options["search_date"],
                    search_string=options["search_string"],
                ),
                format=options["format"],
                lenient=options["lenient"],
            )
        except ImportFileError as error:
            details = "".join(f"\n  {problem}" for problem in error.problems)
            raise CommandError(f"{path.name}: {error}{details}") from None
        if options["as_json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "imported": batch.record_count,
                        "batch": batch.pk,
                        "format": batch.format,
                        "record_ids": ids,
                        "warnings": batch.warnings,
                        "skipped": batch.skipped,
                    }
                )
            )
            return
        self.stdout.write(
            f"Imported {batch.record_count} records from {path.name} ({batch.format}) "
            f"as batch {batch.pk}."
        )
        for warning in batch.warnings:
            self.stdout.write(f"  warning: {warning}")
        for skipped in batch.skipped:
            self.stdout.write(f"  skipped: {skipped}")
