"""What the API sends and takes. Output serializers read what the views selected (and what the
reader may see: a blind reviewer's records carry no team status); input serializers only
validate, and the views hand the values to the product's services."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from extraction import prisma
from extraction.models import ExportJob, Extraction, Study
from extraction.prisma import PrismaCounts
from reviewmgr.forms import check_search_export
from reviewmgr.importers import FORMATS
from reviewmgr.models import ImportBatch, Membership, Record, Review
from screening.models import Decision, RecordScreening, Stage, Verdict

MAX_ID = 10**18 - 1  # ids stay within the database's 64-bit integers


class ReviewSerializer(serializers.ModelSerializer):
    my_roles = serializers.SerializerMethodField(help_text="Your roles in this review.")
    blind_stages = serializers.SerializerMethodField(
        help_text="Stages screened blind now: there, reviewers see only their own decisions."
    )

    class Meta:
        model = Review
        fields = ["slug", "title", "question", "inclusion_criteria", "exclusion_criteria",
                  "created_at", "my_roles", "blind_stages"]  # fmt: skip

    def get_my_roles(self, review: Review) -> list[str]:
        membership = review.membership
        return [role for role in Membership.Role.values if membership.has_role(role)]

    def get_blind_stages(self, review: Review) -> list[str]:
        return sorted(self.context["blind"].get(review.pk, ()))


class StageStateSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Stage.choices)
    status = serializers.ChoiceField(choices=RecordScreening.Status.choices)
    outcome = serializers.CharField(help_text="include, exclude or maybe once resolved; else ''.")


class RecordSerializer(serializers.ModelSerializer):
    screening = serializers.SerializerMethodField(
        help_text="The record's status at each stage it reached, where you may see the team's "
        "screening (a lead, or a stage that is not blind); otherwise that stage is left out."
    )

    class Meta:
        model = Record
        fields = ["id", "batch", "title", "abstract", "authors", "year", "journal", "volume",
                  "issue", "pages", "doi", "pmid", "pmcid", "url", "keywords", "type",
                  "language", "duplicate_of", "screening"]  # fmt: skip

    @extend_schema_field(StageStateSerializer(many=True))
    def get_screening(self, record: Record) -> list[dict]:
        sight = self.context["sight"]
        return [
            {"stage": state.stage, "status": state.status, "outcome": state.outcome}
            for state in sorted(record.screenings.all(), key=lambda s: s.stage != "ta")
            if sight.sees_team(state.stage)
        ]


class BatchSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportBatch
        fields = ["id", "file_name", "format", "source", "source_detail", "search_date",
                  "search_string", "status", "progress", "record_count", "warnings", "skipped",
                  "error", "created_at", "finished_at"]  # fmt: skip


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="RIS, BibTeX, MEDLINE, PubMed XML, EndNote, WoS, CSV…")
    source = serializers.ChoiceField(choices=ImportBatch.Source.choices)
    source_detail = serializers.CharField(max_length=200, required=False, default="")
    search_date = serializers.DateField(required=False, allow_null=True, default=None)
    search_string = serializers.CharField(required=False, default="")
    format = serializers.ChoiceField(
        choices=["auto", *FORMATS], required=False, default="auto",
        help_text="Detected from the content unless given.",
    )  # fmt: skip
    lenient = serializers.BooleanField(
        required=False, default=False, help_text="Import the good records and list the bad ones."
    )
    column_map = serializers.JSONField(
        required=False,
        default=None,
        help_text="For a spreadsheet: {column heading: record field}. Without it, a sheet whose "
        "title column is not recognised waits in status 'mapping'.",
    )

    def validate_file(self, upload):
        check_search_export(upload)  # the upload page's checks: size, empty, zip bomb
        return upload


class DecisionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Decision
        fields = ["id", "record", "stage", "verdict", "reason", "note", "tags", "created_at",
                  "updated_at"]  # fmt: skip


class DecisionInputSerializer(serializers.Serializer):
    record = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    stage = serializers.ChoiceField(choices=Stage.choices)
    verdict = serializers.ChoiceField(choices=Verdict.choices)
    reason = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    note = serializers.CharField(required=False, default="", allow_blank=True)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, default=list, max_length=50
    )


class DecisionChangeSerializer(DecisionInputSerializer):
    record = None
    stage = None


class ConflictDecisionSerializer(serializers.ModelSerializer):
    reviewer = serializers.CharField(source="reviewer.username")

    class Meta:
        model = Decision
        fields = ["reviewer", "verdict", "reason", "note"]


class ConflictSerializer(serializers.Serializer):
    record = serializers.IntegerField(source="record_id")
    stage = serializers.ChoiceField(choices=Stage.choices)
    title = serializers.CharField(source="record.title")
    decisions = serializers.SerializerMethodField()

    @extend_schema_field(ConflictDecisionSerializer(many=True))
    def get_decisions(self, state: RecordScreening) -> list[dict]:
        found = [d for d in state.record.decisions.all() if d.stage == state.stage]
        return ConflictDecisionSerializer(found, many=True).data


class ResolutionInputSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Stage.choices)
    verdict = serializers.ChoiceField(choices=Verdict.choices)
    reason = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    note = serializers.CharField(required=False, default="", allow_blank=True)


class ResolutionSerializer(serializers.Serializer):
    record = serializers.IntegerField(source="record_id")
    stage = serializers.CharField()
    verdict = serializers.CharField()
    reason = serializers.CharField()
    note = serializers.CharField()
    resolved_by = serializers.CharField(source="resolved_by.username")


class ConsensusSerializer(serializers.ModelSerializer):
    template = serializers.CharField(source="template_version.template.name")
    template_version = serializers.IntegerField(source="template_version.number")
    values = serializers.JSONField(help_text="Answers by field path, as the form's fields hold.")

    class Meta:
        model = Extraction
        fields = ["template", "template_version", "values", "completed_at", "updated_at"]


class StudySerializer(serializers.ModelSerializer):
    title = serializers.CharField(source="record.title")
    citation = serializers.CharField(source="record.citation")
    reports = serializers.SerializerMethodField(help_text="Record ids of the study's reports.")
    consensus = serializers.SerializerMethodField(
        help_text="The final consensus extraction (what the exports use), or null before it."
    )

    class Meta:
        model = Study
        fields = ["id", "record", "title", "citation", "status", "reports", "consensus"]

    def get_reports(self, study: Study) -> list[int]:
        return [study.record_id, *self.context["reports"].get(study.record_id, [])]

    @extend_schema_field(ConsensusSerializer(allow_null=True))
    def get_consensus(self, study: Study) -> dict | None:
        final = next((e for e in study.extractions.all() if e.final), None)
        return ConsensusSerializer(final).data if final else None


class ExportSerializer(serializers.ModelSerializer):
    download = serializers.SerializerMethodField(help_text="Where to fetch the file once done.")

    class Meta:
        model = ExportJob
        fields = ["id", "kind", "status", "error", "created_at", "finished_at", "download"]

    def get_download(self, job: ExportJob) -> str | None:
        if job.status != ExportJob.Status.DONE:
            return None
        return self.context["download_url"](job)


class ExportInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ExportJob.Kind.choices)


class NamedCountSerializer(serializers.Serializer):
    name = serializers.CharField()
    count = serializers.IntegerField()


def _prisma_fields() -> dict[str, serializers.Field]:
    """One field per number of the diagram, from PrismaCounts itself (so none is forgotten)."""
    found: dict[str, serializers.Field] = {}
    for name in PrismaCounts.__dataclass_fields__:
        if name in prisma.PAIR_FIELDS:
            found[name] = NamedCountSerializer(many=True)
        elif name in prisma.TEXT_FIELDS:
            found[name] = serializers.CharField()
        elif name == "updated":
            found[name] = serializers.BooleanField()
        else:
            found[name] = serializers.IntegerField()
    for name in prisma.TOTALS:
        found[name] = serializers.IntegerField()
    found["imbalances"] = serializers.ListField(
        child=serializers.CharField(), help_text="Boxes whose records do not add up, in words."
    )
    return found


PrismaSerializer = type("PrismaSerializer", (serializers.Serializer,), _prisma_fields())
