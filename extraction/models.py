"""Data extraction: versioned form templates, a study per included record, two independent
extractions and a consensus, and risk of bias.

A template's fields live in the JSON definition of each `TemplateVersion` (see
`extraction.schema`); an extraction's answers are a JSON dict keyed by field path, so a
template can change without a migration and old answers are kept across versions.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from reviewmgr.models import Record, Review


class Template(models.Model):
    review = models.ForeignKey(
        Review,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="extraction_templates",
        help_text="Empty for a built-in template, which every review may use.",
    )
    key = models.SlugField(max_length=100)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    draft = models.JSONField(
        null=True, blank=True, help_text="Edits not yet published as a new version."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["review", "key"], name="extraction_template_key_unique_per_review"
            ),
            models.UniqueConstraint(
                fields=["key"],
                condition=Q(review__isnull=True),
                name="extraction_template_builtin_key_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_builtin(self) -> bool:
        return self.review_id is None

    @property
    def current(self) -> TemplateVersion | None:
        return self.versions.order_by("-number").first()


class TemplateVersion(models.Model):
    template = models.ForeignKey(Template, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    definition = models.JSONField()
    changes = models.JSONField(
        default=list, blank=True, help_text="What changed since the previous version."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["template", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["template", "number"], name="extraction_template_version_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template} v{self.number}"


class ExtractionConfig(models.Model):
    review = models.OneToOneField(Review, on_delete=models.CASCADE, related_name="extraction")
    template = models.ForeignKey(
        Template, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    extractors_may_reconcile = models.BooleanField(
        default=False,
        help_text="Either extractor may build the consensus, not only the lead.",
    )

    class Estimator(models.TextChoices):
        REML = "REML", "Restricted maximum likelihood (REML)"
        DL = "DL", "DerSimonian-Laird"
        PM = "PM", "Paule-Mandel"

    class MultiArm(models.TextChoices):
        SPLIT = "split", "Split the shared control's n among the comparisons"
        COMBINE = "combine", "Combine the treatment arms into one group"

    class BinaryMeasure(models.TextChoices):
        RR = "RR", "Risk ratio"
        OR = "OR", "Odds ratio"

    class BinaryPooling(models.TextChoices):
        MH = "MH", "Mantel-Haenszel"
        IV = "IV", "Inverse variance"

    estimator = models.CharField(
        max_length=4,
        choices=Estimator,
        default=Estimator.REML,
        help_text="How the between-study variance τ² is estimated in random-effects models.",
    )
    multi_arm = models.CharField(
        max_length=8,
        choices=MultiArm,
        default=MultiArm.SPLIT,
        help_text="When several arms share one control in an analysis (Cochrane Handbook 23.3.4).",
    )
    multi_arm_by_analysis = models.JSONField(
        default=dict,
        blank=True,
        help_text="Analyses that handle shared controls otherwise: analysis key -> split or "
        "combine.",
    )
    binary_measure = models.CharField(max_length=2, choices=BinaryMeasure, default=BinaryMeasure.RR)
    binary_pooling = models.CharField(max_length=2, choices=BinaryPooling, default=BinaryPooling.MH)
    time_windows = models.JSONField(
        default=list,
        blank=True,
        help_text="Analysis windows: a list of {label, centre, half_width, basis} in days "
        "since injury or since PRP.",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(estimator__in=["REML", "DL", "PM"]),
                name="extraction_config_estimator_known",
            ),
            models.CheckConstraint(
                condition=Q(multi_arm__in=["split", "combine"]),
                name="extraction_config_multi_arm_known",
            ),
            models.CheckConstraint(
                condition=Q(binary_measure__in=["RR", "OR"]) & Q(binary_pooling__in=["MH", "IV"]),
                name="extraction_config_binary_known",
            ),
        ]

    def __str__(self) -> str:
        return f"Extraction settings of {self.review}"


class Study(models.Model):
    """An included study, to be extracted. `record` is its first report; the records linked
        to it (`reviewmgr.ReportLink`) are its other reports, e.g. the article of a conference
        abstract or a trial's follow-up. Its study ID ("S" and the first report's record number,
    `reviewmgr.studies.study_id`) is the same at every stage and on every export."""

    class Status(models.TextChoices):
        NOT_STARTED = "not_started", "Not started"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETE = "complete", "Both extractions complete"
        IN_CONSENSUS = "in_consensus", "In consensus"
        FINAL = "final", "Final"

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="studies")
    record = models.OneToOneField(Record, on_delete=models.CASCADE, related_name="study")
    status = models.CharField(max_length=12, choices=Status, default=Status.NOT_STARTED)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["record__year", "record_id"]
        verbose_name_plural = "studies"

    def __str__(self) -> str:
        return str(self.record)

    def get_absolute_url(self) -> str:
        return reverse("extraction:compare", args=[self.review.slug, self.pk])

    @property
    def reports(self) -> list[Record]:
        """Its first report, then the others as they were linked. One query."""
        from reviewmgr.studies import reports_of

        return reports_of(self.record)

    @property
    def study_id(self) -> str:
        return f"S{self.record_id}"


class Extraction(models.Model):
    class Kind(models.TextChoices):
        INDEPENDENT = "independent", "Independent"
        CONSENSUS = "consensus", "Consensus"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="extractions")
    kind = models.CharField(max_length=12, choices=Kind, default=Kind.INDEPENDENT)
    extractor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    template_version = models.ForeignKey(
        TemplateVersion, on_delete=models.PROTECT, related_name="+"
    )
    values = models.JSONField(default=dict, blank=True)
    retired_values = models.JSONField(
        default=dict,
        blank=True,
        help_text="Answers to fields a later template version removed or changed beyond use.",
    )
    complete = models.BooleanField(default=False)
    completed_at = models.DateTimeField(null=True, blank=True)
    final = models.BooleanField(default=False, help_text="Consensus only: what exports use.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["study", "kind", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "extractor"],
                condition=Q(kind="independent"),
                name="extraction_one_per_extractor",
            ),
            models.UniqueConstraint(
                fields=["study"], condition=Q(kind="consensus"), name="extraction_one_consensus"
            ),
            models.CheckConstraint(
                condition=Q(kind="consensus") | Q(extractor__isnull=False),
                name="extraction_independent_has_extractor",
            ),
            models.CheckConstraint(
                condition=Q(final=False) | Q(kind="consensus"),
                name="extraction_only_consensus_is_final",
            ),
        ]

    def __str__(self) -> str:
        who = self.extractor or "consensus"
        return f"{self.study_id} by {who}"


class ExtractionEdit(models.Model):
    """Every saved change to an extraction: who, when, which field, before and after."""

    extraction = models.ForeignKey(Extraction, on_delete=models.CASCADE, related_name="edits")
    path = models.CharField(max_length=200)
    row = models.IntegerField(null=True, blank=True)
    column = models.CharField(max_length=100, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.path} by {self.by} at {self.at:%Y-%m-%d %H:%M}"


class RiskOfBias(models.Model):
    """One risk-of-bias assessment in an extraction, with the tool that fits the design.

    RoB 2 and ROBINS-I judge a result (an outcome at a time point), so a study may have
    several; `result` names it."""

    extraction = models.ForeignKey(Extraction, on_delete=models.CASCADE, related_name="risks")
    tool = models.CharField(max_length=20)
    result = models.CharField(max_length=200, blank=True, default="")
    judgements = models.JSONField(default=dict, blank=True)  # domain -> judgement
    quotes = models.JSONField(default=dict, blank=True)  # domain -> supporting quote
    overall = models.CharField(max_length=20, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["extraction", "tool", "result"]
        constraints = [
            models.UniqueConstraint(
                fields=["extraction", "tool", "result"], name="extraction_rob_one_per_result"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tool} {self.result}".strip()


class ExportJob(models.Model):
    """A download built in the background (a large review's workbook takes tens of seconds).

    The file is kept under MEDIA_ROOT and served only through a view that checks the lead role.
    """

    class Kind(models.TextChoices):
        WORKBOOK = "workbook", "Evidence tables (Excel)"
        CSV = "csv", "Evidence tables (CSV, zip)"
        BACKUP = "backup", "Full backup (JSON)"
        R = "r", "Analysis data for R (metafor, zip)"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Building"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="export_jobs")
    kind = models.CharField(max_length=10, choices=Kind)
    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED)
    file = models.FileField(upload_to="exports/%Y/%m/", blank=True)
    file_name = models.CharField(max_length=255, blank=True)
    file_size = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.review} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("extraction:export_job", args=[self.review.slug, self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.DONE, self.Status.FAILED}
