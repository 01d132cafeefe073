import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from reviewmgr.importers import ImportFileError, parse
from screening.prioritisation import record_text
from screening.simulation import (
    find_label_column,
    parse_label,
    plot_recall_curve,
    simulate,
)


class Command(BaseCommand):
    help = (
        "Replay a labelled file (any importable format with an inclusion label column) through "
        "the screening ranker from one relevant and one irrelevant record; report WSS@95, "
        "WSS@100 and recall after 10% of the records."
    )

    def add_arguments(self, parser):
        parser.add_argument("labelled_file", type=Path)
        parser.add_argument("--seed", type=int, default=0, help="Draws the two prior records.")
        parser.add_argument(
            "--label-column",
            help="Column with the inclusion label (found by itself among included, "
            "label_included, label, ...).",
        )
        parser.add_argument("--json", action="store_true", dest="as_json")
        parser.add_argument("--plot", type=Path, help="Draw the recall curve into this PNG.")
        parser.add_argument(
            "--order",
            type=Path,
            help="Write the 0-based row positions of the file in screening order, one a line.",
        )

    def handle(
        self, *args, labelled_file: Path, seed: int, label_column, as_json, plot, order, **options
    ):
        try:
            data = labelled_file.read_bytes()
        except OSError as error:
            raise CommandError(f"cannot read {labelled_file}: {error.strerror}") from None
        try:
            parsed = parse(data, filename=labelled_file.name)
        except ImportFileError as error:
            raise CommandError(f"{labelled_file.name}: {error}") from None
        records = parsed.records
        if not records:
            raise CommandError(f"{labelled_file.name}: no records")
        columns = sorted({key for record in records for key in (record.raw or {})})
        try:
            column = find_label_column(columns, label_column)
            labels = [
                parse_label((record.raw or {}).get(column), row=record.position, column=column)
                for record in records
            ]
        except ValueError as error:
            raise CommandError(f"{labelled_file.name}: {error}") from None
        texts = [record_text(r.title, r.abstract, r.keywords) for r in records]
        try:
            result = simulate(texts, labels, seed=seed)
        except ValueError as error:
            raise CommandError(f"{labelled_file.name}: {error}") from None

        positions = [records[i].position for i in result.order]
        try:
            if order:
                order.write_text("".join(f"{position}\n" for position in positions))
            if plot:
                plot_recall_curve(result, plot, title=labelled_file.name)
        except OSError as error:
            raise CommandError(f"cannot write {error.filename}: {error.strerror}") from None
        m = result.metrics
        if as_json:
            self.stdout.write(
                json.dumps(
                    {
                        "wss95": round(m.wss95, 3),
                        "wss100": round(m.wss100, 3),
                        "recall_at_10": round(m.recall_at_10, 3),
                        "n_records": m.n_records,
                        "n_relevant": m.n_relevant,
                        "n_to_95": m.n_to_95,
                        "seed": seed,
                        "label_column": column,
                        "prior_rows": positions[:2],
                    }
                )
            )
            return
        self.stdout.write(
            f"{labelled_file.name}: WSS@95 {m.wss95:.1f}%, WSS@100 {m.wss100:.1f}%, "
            f"recall after 10% {m.recall_at_10:.1f}%; 95% of the relevant records found after "
            f"{m.n_to_95} of {m.n_records} records ({m.n_relevant} relevant; priors: rows "
            f"{positions[0]} and {positions[1]} excluded)."
        )
