# ruff: noqa: F811 (the shared review fixture is imported, then asked for)
"""The JSON backup: every table of the review (the audit log too), written as a stream, and
restored with every row's values identical (ids aside)."""

import datetime as dt
import io
import json

from django.contrib.auth import get_user_model
from django.core.management import call_command

from extraction import backup
from extraction.models import TemplateVersion
from reviewmgr import services as core, studies
from reviewmgr.models import AuditEvent, ImportBatch, Record, Review
from screening import services as screening
from screening.models import Stage
from tests.extraction.test_exports import reported  # noqa: F401 (a fixture)

User = get_user_model()


def canonical(review: Review) -> dict[str, list[dict]]:
    """Every row of every table of the review, with ids replaced by the row's place in its
    table (rows are restored in the order of their ids), people by username, built-in
    templates by key and version: two reviews with equal results hold the same data."""
    tables = backup.review_models()
    order: dict[str, dict[int, int]] = {}
    rows: dict[str, list] = {}
    for model, path in tables:
        objects = list(model.objects.filter(**{path: review}).order_by("pk"))
        rows[model._meta.label_lower] = objects
        order[model._meta.label_lower] = {obj.pk: i for i, obj in enumerate(objects)}
    by_name = {label.split(".")[1]: mapping for label, mapping in order.items()}
    builtin = {
        v.pk: f"{v.template.key} v{v.number}"
        for v in TemplateVersion.objects.filter(template__review=None).select_related("template")
    }
    result = {}
    for label, objects in rows.items():
        out = []
        for obj in objects:
            values = {}
            for field in obj._meta.concrete_fields:
                value = field.value_from_object(obj)
                if field.primary_key:
                    value = order[label][value]
                elif field.is_relation and value is not None:
                    target = field.related_model
                    if target is User:
                        value = User.objects.get(pk=value).username
                    elif target is Review:
                        value = "the review"
                    elif value in builtin and target is TemplateVersion:
                        value = builtin[value]
                    elif target._meta.label_lower in order:
                        value = order[target._meta.label_lower].get(value, f"built-in {value}")
                    else:
                        value = f"built-in {value}"
                elif hasattr(value, "name") and not isinstance(value, str):
                    value = value.name
                values[field.attname] = value
            if label == "reviewmgr.auditevent" and obj.target_id in by_name.get(
                obj.target_type, {}
            ):
                values["target_id"] = by_name[obj.target_type][obj.target_id]
            out.append(values)
        result[label] = out
    return result


def enrich(review: Review, lead) -> None:
    """What the shared fixture lacks: a study with two reports, a stop, a previous version."""
    included = list(Record.objects.filter(review=review, study__isnull=False).order_by("pk"))
    excluded = Record.objects.filter(review=review, study__isnull=True, duplicate_of=None).first()
    studies.link_report(record=excluded, to=included[0], user=lead)
    screening.stop_screening(
        review=review, stage=Stage.TITLE_ABSTRACT, user=lead, note="Enough found"
    )
    batch, _ = core.import_records(
        review=review,
        data=b"TY  - JOUR\nTI  - Earlier included trial\nPY  - 2019\nER  - \n",
        file_name="previous.ris",
        provenance=core.Provenance(source=ImportBatch.Source.OTHER_DATABASE),
    )
    core.mark_batch_version(
        batch=batch, version_role="previous", search_date=dt.date(2022, 1, 1), user=lead
    )


def test_every_table_of_the_review_is_backed_up_including_the_audit_log():
    labels = {model._meta.label_lower for model, _ in backup.review_models()}

    assert {
        "reviewmgr.membership",
        "reviewmgr.importbatch",
        "reviewmgr.record",
        "reviewmgr.reportlink",
        "reviewmgr.recordcorrection",
        "reviewmgr.auditevent",
        "reviewmgr.duplicategroup",
        "screening.decision",
        "screening.screeningevent",
        "screening.stoppingdecision",
        "screening.fulltext",
        "extraction.study",
        "extraction.extraction",
        "extraction.extractionedit",
        "extraction.riskofbias",
        "extraction.templateversion",
    } <= labels
    assert "extraction.exportjob" not in labels  # downloads being built, not review data


def test_a_restored_review_holds_every_row_of_every_table_with_the_same_values(
    reported,
    lead,
    tmp_path,
):
    enrich(reported, lead)
    events = AuditEvent.objects.filter(review=reported).count()
    path = tmp_path / "backup.json"
    call_command("export_review", reported.slug, "--json", str(path))

    call_command("restore_review", str(path), "--slug", "restored")

    restored = Review.objects.get(slug="restored")
    assert events > 20
    assert AuditEvent.objects.filter(review=restored).count() == events
    original, copy = canonical(reported), canonical(restored)
    assert original.keys() == copy.keys()
    for label in original:
        assert copy[label] == original[label], label
    assert backup.counts(restored) == backup.counts(reported)


def test_the_backup_is_written_row_by_row_not_built_in_memory(reported):
    writes: list[int] = []

    class Recorder(io.StringIO):
        def write(self, text: str) -> int:
            writes.append(len(text))
            return super().write(text)

    handle = Recorder()
    written = backup.write_backup(reported, handle)

    data = json.loads(handle.getvalue())
    assert data["tables"]["reviewmgr.record"][0]["title"]
    assert sum(written.values()) == sum(len(rows) for rows in data["tables"].values())
    assert len(writes) > sum(written.values())  # at least one write per row
    assert max(writes[1:]) < sum(writes) / 5  # no write holds much of the document
