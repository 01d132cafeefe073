"""Screening: each record judged independently by reviewers, stage by stage; leads resolve.

`RecordScreening` is the record's state at one stage (how many decisions it needs and has, and
its outcome). It is kept in step by `screening.services` under a row lock, so queues can be
read with one indexed query even at 100k records, and two reviewers deciding at the same
moment can never leave it wrong.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q

from reviewmgr.models import Record, Review


class Stage(models.TextChoices):
    TITLE_ABSTRACT = "ta", "Title and abstract"
    FULL_TEXT = "ft", "Full text"


class Verdict(models.TextChoices):
    INCLUDE = "include", "Include"
    EXCLUDE = "exclude", "Exclude"
    MAYBE = "maybe", "Maybe"


class QueueOrder(models.TextChoices):
    PRIORITISED = "prioritised", "Prioritised: likely relevant records first"
    RANDOM = "random", "Random order"
    IMPORT = "import", "Import order"


class ScreeningConfig(models.Model):
    review = models.OneToOneField(Review, on_delete=models.CASCADE, related_name="screening")
    order = models.CharField(
        max_length=12,
        choices=QueueOrder,
        default=QueueOrder.PRIORITISED,
        help_text="Switch prioritisation off if the protocol asks for random or import order.",
    )
    retrain_every = models.PositiveSmallIntegerField(
        default=5, help_text="Decisions between two retrainings of the ranking model."
    )
    exploration = models.FloatField(
        default=0.05,
        help_text="Share of queue places given to a random record, so no topic stays unseen.",
    )
    reviewers_required = models.PositiveSmallIntegerField(
        default=2, help_text="Independent decisions needed per record and stage."
    )
    blind = models.BooleanField(
        default=True,
        help_text="While a stage is blind, a reviewer sees only their own decisions and "
        "progress, and their queue is ordered from their own decisions; leads see everything. "
        "A stage stops being blind when it ends; switching this off unblinds every stage. "
        "Both are logged.",
    )
    maybe_advances = models.BooleanField(
        default=True, help_text="Records all reviewers call 'maybe' go on to full text."
    )
    exclusion_reasons = models.JSONField(default=list, blank=True)
    reasons_required_at_title_abstract = models.BooleanField(default=False)
    full_text_reasons_must_agree = models.BooleanField(
        default=True,
        help_text="At full text, two exclusions for different reasons are a conflict that a "
        "lead resolves with one agreed reason (the one PRISMA reports).",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(reviewers_required__gte=1, reviewers_required__lte=3),
                name="screening_config_reviewers_1_to_3",
            ),
            models.CheckConstraint(
                condition=Q(retrain_every__gte=1, retrain_every__lte=100),
                name="screening_config_retrain_every_1_to_100",
            ),
            models.CheckConstraint(
                condition=Q(exploration__gte=0, exploration__lte=0.5),
                name="screening_config_exploration_0_to_half",
            ),
        ]

    def __str__(self) -> str:
        return f"Screening settings of {self.review}"

    def reason_required(self, stage: str) -> bool:
        return stage == Stage.FULL_TEXT or self.reasons_required_at_title_abstract


class RecordScreeningQuerySet(models.QuerySet):
    def for_stage(self, review: Review, stage: str) -> RecordScreeningQuerySet:
        return self.filter(review=review, stage=stage)

    def awaiting(self, reviewer, stage: str) -> RecordScreeningQuerySet:
        """Records at `stage` that still need a decision and have none from `reviewer`."""
        decided = Decision.objects.filter(
            record_id=OuterRef("record_id"), stage=stage, reviewer=reviewer
        )
        rows = self.filter(stage=stage, status=RecordScreening.Status.AWAITING).filter(
            ~Exists(decided)
        )
        if stage == Stage.FULL_TEXT:
            rows = rows.exclude(record__full_text__not_retrieved=True)
        return rows

    def not_retrieved(self) -> RecordScreeningQuerySet:
        """Full-text rows whose report could not be obtained (PRISMA 2020: "reports not
        retrieved"): out of the full-text queues and counts until someone uploads the PDF."""
        return self.filter(stage=Stage.FULL_TEXT, record__full_text__not_retrieved=True)

    def by_priority(self) -> RecordScreeningQuerySet:
        return self.order_by("-priority", "record_id")


class RecordScreening(models.Model):
    class Status(models.TextChoices):
        AWAITING = "awaiting", "Awaiting decisions"
        CONFLICT = "conflict", "In conflict"
        RESOLVED = "resolved", "Resolved"

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="+")
    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="screenings")
    stage = models.CharField(max_length=2, choices=Stage)
    status = models.CharField(max_length=10, choices=Status, default=Status.AWAITING)
    outcome = models.CharField(max_length=10, choices=Verdict, blank=True)
    required = models.PositiveSmallIntegerField(default=2)
    decision_count = models.PositiveSmallIntegerField(default=0)
    priority = models.FloatField(default=0.0, help_text="Higher is screened sooner.")
    updated_at = models.DateTimeField(auto_now=True)

    objects = RecordScreeningQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["record", "stage"], name="screening_state_one_per_stage"
            ),
            models.CheckConstraint(
                condition=(Q(status="resolved") & ~Q(outcome=""))
                | (~Q(status="resolved") & Q(outcome="")),
                name="screening_state_outcome_iff_resolved",
            ),
        ]
        indexes = [
            models.Index(
                fields=["review", "stage", "status", "-priority", "record"], name="screening_queue"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.record_id} at {self.stage}: {self.status} {self.outcome}".strip()


class ReviewerPriority(models.Model):
    """A reviewer's own place for a record in their queue at a stage, while screening is blind.

    Ranked from that reviewer's decisions only (see `screening.prioritisation`), so the order
    in which records reach a reviewer cannot tell how another reviewer decided. A row is
    dropped once its reviewer decides the record or the record stops waiting for decisions,
    so the queue reads the top of one index without passing over settled records.
    """

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="+")
    stage = models.CharField(max_length=2, choices=Stage)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="+")
    priority = models.FloatField(help_text="Higher is screened sooner.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["record", "stage", "reviewer"], name="screening_priority_one_per_reviewer"
            ),
        ]
        indexes = [
            models.Index(
                fields=["review", "stage", "reviewer", "-priority", "record"],
                name="screening_reviewer_queue",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reviewer_id} {self.record_id} at {self.stage}: {self.priority}"


class Unblinding(models.Model):
    """The moment a blind stage ended: every record that was started there is settled.

    A stage is blind while the review's screening is blind (`ScreeningConfig.blind`, which
    only a lead changes) and it has no row here. Each row is also in the audit log; a row is
    removed (and that logged) when new records arrive at the stage.
    """

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="unblindings")
    stage = models.CharField(max_length=2, choices=Stage)
    unblinded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["review", "stage"], name="screening_unblinded_once"),
        ]

    def __str__(self) -> str:
        return f"{self.get_stage_display()} unblinded on {self.unblinded_at:%Y-%m-%d}"


class Decision(models.Model):
    """A reviewer's current decision on a record at a stage. Earlier versions are in its events."""

    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="decisions")
    stage = models.CharField(max_length=2, choices=Stage)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="decisions"
    )
    verdict = models.CharField(max_length=10, choices=Verdict)
    reason = models.CharField(max_length=200, blank=True)
    note = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["record", "stage", "reviewer"], name="screening_decision_one_per_reviewer"
            ),
        ]
        indexes = [models.Index(fields=["reviewer", "stage", "-updated_at"], name="screening_mine")]

    def __str__(self) -> str:
        return f"{self.reviewer} {self.verdict} {self.record_id} ({self.stage})"


class Resolution(models.Model):
    """A lead's final word on a record in conflict (or overriding one), with the reason."""

    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="resolutions")
    stage = models.CharField(max_length=2, choices=Stage)
    verdict = models.CharField(max_length=10, choices=Verdict)
    reason = models.CharField(max_length=200, blank=True)
    note = models.TextField(blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["record", "stage"], name="screening_one_resolution"),
        ]

    def __str__(self) -> str:
        return f"{self.record_id} resolved {self.verdict} at {self.stage}"


class ScreeningEvent(models.Model):
    """Append-only history: every decision, change, undo and resolution, with who and when."""

    class Kind(models.TextChoices):
        DECIDED = "decided", "Decided"
        CHANGED = "changed", "Changed a decision"
        UNDONE = "undone", "Withdrew a decision"
        RESOLVED = "resolved", "Resolved"
        CARRIED = "carried", "Carried from a duplicate"
        REVIEWER_ADDED = "reviewer_added", "Asked for another reviewer"

    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="screening_events")
    stage = models.CharField(max_length=2, choices=Stage)
    kind = models.CharField(max_length=20, choices=Kind)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    verdict = models.CharField(max_length=10, choices=Verdict, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    note = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.kind} {self.verdict}"


class Ranking(models.Model):
    """The last time a review's queue was ordered, and from what: shown to the team."""

    review = models.OneToOneField(Review, on_delete=models.CASCADE, related_name="ranking")
    order = models.CharField(max_length=12, choices=QueueOrder)
    ranked_at = models.DateTimeField()
    seconds = models.FloatField(default=0.0)
    records = models.PositiveIntegerField(default=0)
    relevant_labels = models.PositiveIntegerField(default=0)
    irrelevant_labels = models.PositiveIntegerField(default=0)
    cold_start = models.BooleanField(
        default=True, help_text="Ranked by keywords and known relevant records, no model yet."
    )
    error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"Ranking of {self.review}"


class StoppingDecision(models.Model):
    """A lead's decision to stop (or resume) screening new records at a stage, with the
    stopping rule's estimate at that moment: it belongs in the review's methods section."""

    class Kind(models.TextChoices):
        STOPPED = "stopped", "Stopped screening new records"
        RESUMED = "resumed", "Resumed screening"

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="stopping_decisions")
    stage = models.CharField(max_length=2, choices=Stage)
    kind = models.CharField(max_length=10, choices=Kind)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now_add=True)
    rule = models.CharField(max_length=200, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    estimate = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["decided_at", "pk"]

    def __str__(self) -> str:
        return (
            f"{self.get_kind_display()} at {self.get_stage_display()} ({self.decided_at:%Y-%m-%d})"
        )


def full_text_path(instance: FullText, filename: str) -> str:
    return f"fulltext/{instance.record.review_id}/{instance.record_id}.pdf"


class FullText(models.Model):
    record = models.OneToOneField(Record, on_delete=models.CASCADE, related_name="full_text")
    file = models.FileField(upload_to=full_text_path, blank=True)
    original_name = models.CharField(max_length=255, blank=True)
    not_retrieved = models.BooleanField(
        default=False, help_text="Sought but could not be obtained (PRISMA: not retrieved)."
    )
    note = models.TextField(blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~(Q(not_retrieved=True) & ~Q(file="")),
                name="screening_fulltext_file_or_not_retrieved",
            ),
        ]

    def __str__(self) -> str:
        return f"Full text of {self.record_id}"
