"""The core: users, reviews, their members, import batches and the records they bring."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from reviewmgr import dedup


class User(AbstractUser):
    """The project's own user model, so that it can grow without a painful migration."""


class ReviewQuerySet(models.QuerySet):
    def for_user(self, user) -> ReviewQuerySet:
        if not user.is_authenticated:
            return self.none()
        return self.filter(memberships__user=user).distinct()


class Review(models.Model):
    title = models.CharField(max_length=300)
    slug = models.SlugField(max_length=80, unique=True)
    question = models.TextField(blank=True, help_text="The review question (e.g. in PICO form).")
    inclusion_criteria = models.TextField(blank=True)
    exclusion_criteria = models.TextField(blank=True)
    inclusion_keywords = models.JSONField(
        default=list, blank=True, help_text="Words highlighted as signs of a relevant record."
    )
    exclusion_keywords = models.JSONField(
        default=list, blank=True, help_text="Words highlighted as signs of an irrelevant record."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ReviewQuerySet.as_manager()

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("reviewmgr:review_detail", args=[self.slug])


class Membership(models.Model):
    """A user's place in one review. A member may hold several roles at once."""

    class Role(models.TextChoices):
        LEAD = "lead", "Lead"
        REVIEWER = "reviewer", "Reviewer"
        EXTRACTOR = "extractor", "Extractor"

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    is_lead = models.BooleanField(default=False)
    is_reviewer = models.BooleanField(default=False)
    is_extractor = models.BooleanField(default=False)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user__username"]
        constraints = [
            models.UniqueConstraint(
                fields=["review", "user"], name="reviewmgr_membership_one_per_user"
            ),
            models.CheckConstraint(
                condition=Q(is_lead=True) | Q(is_reviewer=True) | Q(is_extractor=True),
                name="reviewmgr_membership_has_a_role",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.review} ({', '.join(self.role_labels)})"

    def has_role(self, role: str) -> bool:
        return bool(getattr(self, f"is_{role}"))

    @property
    def roles(self) -> list[str]:
        return [role.value for role in self.Role if self.has_role(role)]

    @property
    def role_labels(self) -> list[str]:
        return [role.label for role in self.Role if self.has_role(role)]


class ImportBatch(models.Model):
    """One uploaded file (or seed document) and where it came from.

    PRISMA 2020 counts "records identified" per source from these batches, split into
    databases/registers and other methods.
    """

    class Source(models.TextChoices):
        PUBMED = "pubmed", "PubMed / MEDLINE"
        EMBASE = "embase", "Embase"
        SCOPUS = "scopus", "Scopus"
        WEB_OF_SCIENCE = "wos", "Web of Science"
        CENTRAL = "central", "Cochrane CENTRAL"
        CINAHL = "cinahl", "CINAHL"
        PSYCINFO = "psycinfo", "PsycINFO"
        OTHER_DATABASE = "other-database", "Other database"
        REGISTER = "register", "Trial register"
        WEBSITE = "website", "Website"
        ORGANISATION = "organisation", "Organisation"
        CITATION_SEARCH = "citation-search", "Citation searching"
        OTHER = "other", "Other method"

    OTHER_METHODS = frozenset(
        {Source.WEBSITE, Source.ORGANISATION, Source.CITATION_SEARCH, Source.OTHER}
    )

    class Version(models.TextChoices):
        """For an updated review (PRISMA 2020's template for updated reviews): a batch is a
        new search, or the studies the previous version of the review included."""

        NEW_SEARCH = "new", "New search"
        PREVIOUS = "previous", "Studies included in the previous version"

    class Status(models.TextChoices):
        MAPPING = "mapping", "Waiting for column mapping"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Failed"

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="batches")
    source = models.CharField(max_length=20, choices=Source, default=Source.OTHER_DATABASE)
    source_detail = models.CharField(
        max_length=200, blank=True, help_text="E.g. 'Embase via Ovid' or the website's name."
    )
    search_date = models.DateField(null=True, blank=True)
    search_string = models.TextField(blank=True)
    version_role = models.CharField(
        max_length=10,
        choices=Version,
        default=Version.NEW_SEARCH,
        help_text="Previous version's included studies are not screened again.",
    )
    file_name = models.CharField(max_length=255, blank=True)
    file = models.FileField(upload_to="imports/%Y/%m/", blank=True)
    file_size = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    format = models.CharField(max_length=20, blank=True)
    lenient = models.BooleanField(
        default=False, help_text="Import the good records and report the bad ones."
    )
    column_map = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    record_count = models.PositiveIntegerField(default=0)
    warnings = models.JSONField(default=list, blank=True)
    skipped = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "import batches"
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="reviewmgr_batch_progress_percent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()}: {self.file_name or 'batch'} ({self.record_count})"

    def get_absolute_url(self) -> str:
        return reverse("reviewmgr:batch_detail", args=[self.review.slug, self.pk])

    @property
    def is_other_methods(self) -> bool:
        return self.source in self.OTHER_METHODS

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.DONE, self.Status.FAILED}

    @property
    def is_previous_version(self) -> bool:
        return self.version_role == self.Version.PREVIOUS


class DuplicateGroup(models.Model):
    """Records found to be one work. Nothing is deleted: copies point at the primary record.

    `filled_fields` remembers what a merge copied into the primary from its copies, so that
    undoing the merge gives the primary back exactly as it was.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a lead"
        MERGED = "merged", "Merged"
        REJECTED = "rejected", "Not duplicates"

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="duplicate_groups")
    primary = models.ForeignKey(
        "Record", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status, default=Status.PENDING)
    score = models.FloatField()
    reasons = models.JSONField(default=list)
    automatic = models.BooleanField(default=False, help_text="Merged without a lead's review.")
    filled_fields = models.JSONField(default=dict, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-score", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(score__gte=0, score__lte=1), name="reviewmgr_dupgroup_score_0_1"
            ),
        ]

    def __str__(self) -> str:
        return f"Duplicate group {self.pk} ({self.get_status_display()}, {self.score:.2f})"

    def get_absolute_url(self) -> str:
        return reverse("reviewmgr:duplicate_detail", args=[self.review.slug, self.pk])


class RecordQuerySet(models.QuerySet):
    def for_review(self, review: Review) -> RecordQuerySet:
        return self.filter(review=review)

    def primaries(self) -> RecordQuerySet:
        """Records that stand for a work: the primary of each duplicate group and every record
        with no duplicate (not the copies merged behind a primary)."""
        return self.filter(duplicate_of__isnull=True)

    def removed_duplicates(self) -> RecordQuerySet:
        return self.filter(duplicate_of__isnull=False)

    def previous_version(self) -> RecordQuerySet:
        """Reports of the studies the previous version of an updated review included."""
        return self.filter(batch__version_role=ImportBatch.Version.PREVIOUS)

    def new_searches(self) -> RecordQuerySet:
        return self.exclude(batch__version_role=ImportBatch.Version.PREVIOUS)

    def unkeyed(self) -> RecordQuerySet:
        """Records whose duplicate-search keys are not written (yet, or since a change)."""
        return self.filter(keys_written=False)

    def forget_dedup_keys(self) -> int:
        """After a change to the fields the keys come from: the next search writes them anew."""
        keys = dict.fromkeys(dedup.KEY_COLUMNS.values(), "")
        return self.update(keys_written=False, dedup_prepared=[], **keys)


class Record(models.Model):
    """One bibliographic record as imported; `source_record` keeps its source record whole."""

    class Type(models.TextChoices):
        JOURNAL_ARTICLE = "journal-article", "Journal article"
        CONFERENCE_PAPER = "conference-paper", "Conference paper"
        BOOK = "book", "Book"
        BOOK_CHAPTER = "book-chapter", "Book chapter"
        THESIS = "thesis", "Thesis"
        REPORT = "report", "Report"
        PREPRINT = "preprint", "Preprint"
        WEBPAGE = "webpage", "Web page"
        DATASET = "dataset", "Dataset"
        OTHER = "other", "Other"

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="records")
    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="records")
    position = models.PositiveIntegerField(help_text="0-based position in its file.")
    title = models.TextField(blank=True)
    abstract = models.TextField(blank=True)
    authors = models.JSONField(default=list, blank=True)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    journal = models.CharField(max_length=500, blank=True)
    volume = models.CharField(max_length=50, blank=True)
    issue = models.CharField(max_length=50, blank=True)
    pages = models.CharField(max_length=50, blank=True)
    doi = models.CharField(max_length=255, blank=True, db_index=True)
    pmid = models.CharField(max_length=20, blank=True, db_index=True)
    pmcid = models.CharField(max_length=20, blank=True)
    url = models.URLField(max_length=2000, blank=True)
    keywords = models.JSONField(default=list, blank=True)
    type = models.CharField(max_length=20, choices=Type, blank=True)
    language = models.CharField(max_length=50, blank=True)
    source_record = models.JSONField(
        default=dict, blank=True, help_text="The record exactly as its file gave it."
    )
    duplicate_group = models.ForeignKey(
        DuplicateGroup, on_delete=models.SET_NULL, null=True, blank=True, related_name="records"
    )
    duplicate_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="duplicates",
        help_text="The primary record this one is a copy of (set by a merge, never deleted).",
    )
    known_relevant = models.BooleanField(
        default=False,
        help_text="Marked by a lead as relevant before screening (e.g. a seed article); "
        "ranks similar records first.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The record's block keys for the duplicate search (reviewmgr.dedup.KEY_COLUMNS), written
    # by the first search that sees it; unwritten until then, and again after a change to the
    # fields they come from (a correction, a merge filling them in).
    keys_written = models.BooleanField(default=False, editable=False)
    # The record as the duplicate engine compares it (reviewmgr.dedup.stored), written with
    # the keys: a later search reads it back instead of preparing the record again.
    dedup_prepared = models.JSONField(default=list, blank=True, editable=False)
    key_doi = models.CharField(max_length=255, blank=True, default="", editable=False)
    key_pmid = models.CharField(max_length=255, blank=True, default="", editable=False)
    key_pmcid = models.CharField(max_length=255, blank=True, default="", editable=False)
    key_title_start = models.CharField(max_length=255, blank=True, default="", editable=False)
    key_title_end = models.CharField(max_length=255, blank=True, default="", editable=False)
    key_title_middle = models.CharField(max_length=255, blank=True, default="", editable=False)
    key_author_year = models.CharField(max_length=255, blank=True, default="", editable=False)
    key_volume_page = models.CharField(max_length=255, blank=True, default="", editable=False)

    objects = RecordQuerySet.as_manager()

    class Meta:
        ordering = ["batch_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "position"], name="reviewmgr_record_one_per_position"
            ),
            models.CheckConstraint(
                condition=Q(year__isnull=True) | Q(year__gte=1000, year__lte=2100),
                name="reviewmgr_record_year_sane",
            ),
            models.CheckConstraint(
                condition=~Q(duplicate_of=models.F("pk")), name="reviewmgr_record_not_own_duplicate"
            ),
        ]
        indexes = [
            models.Index(fields=["review", "year"], name="reviewmgr_record_review_year"),
            # the API's pages: a review's records after an id, in id order
            models.Index(fields=["review", "id"], name="reviewmgr_record_review_id"),
            models.Index(
                fields=["review"],
                condition=Q(keys_written=False),
                name="reviewmgr_record_unkeyed",
            ),
            *(
                models.Index(
                    fields=["review", column],
                    condition=Q(**{f"{column}__gt": ""}),
                    name=f"record_{column}",
                )
                for column in dedup.KEY_COLUMNS.values()
            ),
        ]

    def __str__(self) -> str:
        return self.title[:120] or f"Record {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("reviewmgr:record_detail", args=[self.review.slug, self.pk])

    @property
    def first_author(self) -> str:
        return self.authors[0] if self.authors else ""

    @property
    def short_authors(self) -> str:
        """'Bohren, Timbolschi et al.' style, for tables."""
        surnames = [name.split(",")[0].strip() for name in self.authors[:2]]
        if len(self.authors) > 2:
            return f"{surnames[0]} et al."
        return " & ".join(surnames)

    @property
    def citation(self) -> str:
        """A short label such as 'Bohren et al. 2019' for tables and lists."""
        surnames = [name.split(",")[0].strip() for name in self.authors[:2]]
        if not surnames:
            names = "Anonymous"
        elif len(self.authors) > 2:
            names = f"{surnames[0]} et al."
        else:
            names = " & ".join(surnames)
        return f"{names} {self.year or 'n.d.'}"

    @property
    def doi_url(self) -> str:
        return f"https://doi.org/{self.doi}" if self.doi else ""

    @property
    def pubmed_url(self) -> str:
        return f"https://pubmed.ncbi.nlm.nih.gov/{self.pmid}/" if self.pmid else ""


class ReportLink(models.Model):
    """A record named as a further report of a study (a conference abstract and its article,
    a trial and its follow-up).

    A study is named by its first report: that record plus every record linked to it. A
    record with no link is a study of one report, so existing reviews need no data: each
    study's record is its first report. A record is in one study at most (the one-to-one
    `report`), and a first report is never itself linked (checked by `link_report`).
    """

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="report_links")
    report = models.OneToOneField(Record, on_delete=models.CASCADE, related_name="report_link")
    first_report = models.ForeignKey(
        Record, on_delete=models.CASCADE, related_name="further_reports"
    )
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    linked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["first_report_id", "linked_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(report=models.F("first_report")),
                name="reviewmgr_reportlink_not_to_itself",
            ),
        ]

    def __str__(self) -> str:
        return f"Record {self.report_id} reports the study of record {self.first_report_id}"


class RecordCorrection(models.Model):
    """A lead's change to a record's metadata (e.g. a pasted abstract), kept with its before."""

    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="corrections")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)
    changes = models.JSONField(help_text="{field: [before, after]}")

    class Meta:
        ordering = ["-changed_at", "-pk"]

    def __str__(self) -> str:
        return f"Correction of {self.record_id} by {self.changed_by}: {', '.join(self.changes)}"


class AuditEventQuerySet(models.QuerySet):
    def in_group(self, group: str) -> AuditEventQuerySet:
        """Events of one kind of work, e.g. 'screening' or 'import' (the action's prefix)."""
        return self.filter(action__startswith=f"{group}.")


class AuditEvent(models.Model):
    """One change to a review: who made it, when, to what, and the values before and after.

    Written by `reviewmgr.audit.log` inside the service that makes the change, so an event
    exists exactly when its change was committed. Append-only: the product never changes or
    deletes an event; events go only with their review.
    """

    class Action(models.TextChoices):
        DECISION_RECORDED = "screening.decision", "Screening decision"
        DECISION_CHANGED = "screening.decision_changed", "Screening decision changed"
        DECISION_UNDONE = "screening.decision_undone", "Screening decision undone"
        DECISION_WITHDRAWN = "screening.decision_withdrawn", "Decision withdrawn by a lead"
        RESOLVED = "screening.resolved", "Record resolved by a lead"
        REVIEWER_ADDED = "screening.reviewer_added", "Reviewer added to a record"
        SCREENING_STOPPED = "screening.stopped", "Screening stopped"
        SCREENING_RESUMED = "screening.resumed", "Screening resumed"
        SCREENING_SETTINGS = "screening.settings", "Screening settings changed"
        SCREENING_UNBLINDED = "screening.unblinded", "Screening unblinded"
        SCREENING_REBLINDED = "screening.reblinded", "Screening blind again"
        DUPLICATES_MERGED = "duplicates.merged", "Duplicates merged"
        DUPLICATES_AUTO_MERGED = "duplicates.auto_merged", "Duplicates merged automatically"
        DUPLICATES_REJECTED = "duplicates.rejected", "Marked as not duplicates"
        DUPLICATES_UNMERGED = "duplicates.unmerged", "Merge undone"
        IMPORT_DONE = "import.done", "Import finished"
        IMPORT_FAILED = "import.failed", "Import failed"
        IMPORT_DELETED = "import.deleted", "Import deleted"
        IMPORT_VERSION = "import.version", "Import marked as new search or previous version"
        REPORT_LINKED = "study.report_linked", "Report linked to a study"
        REPORT_UNLINKED = "study.report_unlinked", "Report unlinked from a study"
        RECORD_CORRECTED = "record.corrected", "Record corrected"
        KNOWN_RELEVANT = "record.known_relevant", "Known relevant mark"
        MEMBER_ADDED = "member.added", "Member added"
        MEMBER_ROLES = "member.roles", "Member's roles changed"
        MEMBER_REMOVED = "member.removed", "Member removed"
        REVIEW_SETTINGS = "review.settings", "Review settings changed"
        TEMPLATE_CREATED = "extraction.template_created", "Extraction template created"
        TEMPLATE_VERSION = "extraction.template_version", "Extraction template version"
        VALUE_EDITED = "extraction.value", "Extraction value edited"
        CONSENSUS_STARTED = "extraction.consensus_started", "Consensus started"
        CONSENSUS_TAKEN = "extraction.consensus_taken", "Value taken into the consensus"
        CONSENSUS_FINALISED = "extraction.consensus_final", "Consensus finalised"
        CONSENSUS_REOPENED = "extraction.consensus_reopened", "Consensus reopened"
        RISK_OF_BIAS = "extraction.risk_of_bias", "Risk of bias saved"
        EXTRACTION_SETTINGS = "extraction.settings", "Extraction settings changed"
        SYNTHESIS_SETTINGS = "extraction.synthesis_settings", "Synthesis settings changed"
        EXPORTED = "export.done", "Data exported"
        EXPORT_FAILED = "export.failed", "Export failed"

    # The part of an action before its dot, for filtering the log by kind of work.
    GROUPS = [
        ("screening", "Screening"),
        ("duplicates", "Duplicates"),
        ("import", "Imports"),
        ("record", "Records"),
        ("study", "Studies and reports"),
        ("member", "Members"),
        ("review", "Review settings"),
        ("extraction", "Extraction"),
        ("export", "Exports"),
    ]
    SYSTEM_ACTOR = "reviewmgr"

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="audit_events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(
        max_length=150, blank=True, help_text="The actor's username then; kept if the account goes."
    )
    at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=40, choices=Action)
    target = models.CharField(max_length=300, blank=True, help_text="E.g. 'Record 123: Title…'.")
    target_type = models.CharField(max_length=30, blank=True)
    target_id = models.BigIntegerField(null=True, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    summary = models.TextField(blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["review", "-at"], name="reviewmgr_audit_review_at")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} by {self.who} at {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValueError("Audit events are never changed once written.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Audit events are never deleted; they go only with their review.")

    @property
    def who(self) -> str:
        return self.actor_name or self.SYSTEM_ACTOR
