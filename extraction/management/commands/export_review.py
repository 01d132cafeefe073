from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from extraction import backup, exports, prisma, reporting
from extraction.ris import SELECTIONS, export_ris
from reviewmgr.models import Review, User


class Command(BaseCommand):
    help = (
        "Export a review: Excel evidence tables (--xlsx), CSV of each table (--csv DIR), RIS of "
        "its records (--ris), a full JSON backup (--json) and the PRISMA 2020 diagram (--prisma)."
    )

    def add_arguments(self, parser):
        parser.add_argument("review_slug")
        parser.add_argument("--xlsx", type=Path, help="Workbook of evidence tables.")
        parser.add_argument("--csv", type=Path, metavar="DIR", help="One CSV per table.")
        parser.add_argument("--ris", type=Path, help="RIS of the records (see --records).")
        parser.add_argument(
            "--records", default="included", choices=sorted(SELECTIONS), help="Which records."
        )
        parser.add_argument("--json", type=Path, dest="backup_path", help="Full backup as JSON.")
        parser.add_argument(
            "--prisma", type=Path, dest="prisma_path", help="PRISMA 2020 diagram (.svg or .png)."
        )
        parser.add_argument(
            "--extractor", help="Use this extractor's extractions instead of the consensus."
        )

    def handle(
        self,
        *args,
        review_slug,
        xlsx,
        csv,
        ris,
        records,
        backup_path,
        prisma_path,
        extractor,
        **options,
    ):
        review = Review.objects.filter(slug=review_slug).first()
        if review is None:
            raise CommandError(f"No review with the address '{review_slug}'.")
        if not any([xlsx, csv, ris, backup_path, prisma_path]):
            raise CommandError("Say what to export: --xlsx, --csv, --ris, --json or --prisma.")
        person = None
        if extractor:
            person = User.objects.filter(username=extractor).first()
            if person is None:
                raise CommandError(f"No user '{extractor}'.")
        done = []
        try:
            if xlsx:
                exports.export_workbook(review, xlsx, extractor=person)
                done.append(f"workbook {xlsx}")
            if csv:
                written = exports.export_csv(review, csv, extractor=person)
                done.append(f"{len(written)} CSV files in {csv}")
            if ris:
                with ris.open("w", encoding="utf-8", newline="") as handle:
                    count = export_ris(review, handle, records)
                done.append(f"{count} {records} records to {ris}")
            if backup_path:
                with backup_path.open("w", encoding="utf-8") as handle:
                    backup.write_backup(review, handle)
                done.append(f"backup {backup_path}")
            if prisma_path:
                fmt = prisma_path.suffix.lower().lstrip(".")
                if fmt not in ("svg", "png"):
                    raise CommandError("--prisma takes a file ending in .svg or .png.")
                prisma_path.write_bytes(prisma.draw(reporting.prisma_counts(review), fmt=fmt))
                done.append(f"PRISMA diagram {prisma_path}")
        except OSError as error:
            raise CommandError(f"Cannot write: {error}") from None
        self.stdout.write(f"Exported '{review.slug}': " + "; ".join(done) + ".")
