"""Writes of screening: decisions, undo, resolutions, extra reviewers, full texts.

Every change to a record's decisions at a stage takes a row lock on its `RecordScreening`
first, so concurrent requests queue on that row: a decision is never lost or counted twice,
and the record's status always follows from the decisions that exist.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from reviewmgr import audit, bulk
from reviewmgr.models import Record, Review
from screening import prioritisation, queue
from screening.models import (
    Decision,
    FullText,
    RecordScreening,
    Resolution,
    ScreeningConfig,
    ScreeningEvent,
    Stage,
    StoppingDecision,
    Verdict,
)

ADVANCING = {Verdict.INCLUDE}
# A starting list that leads edit; drawn from the usual PICOS reasons of review protocols.
DEFAULT_EXCLUSION_REASONS = [
    "Wrong population",
    "Wrong intervention",
    "Wrong comparator",
    "Wrong outcomes",
    "Wrong study design",
    "Not a primary study",
    "Conference abstract only",
    "Language",
    "Duplicate",
]


def config_for(review: Review) -> ScreeningConfig:
    config, _ = ScreeningConfig.objects.get_or_create(
        review=review, defaults={"exclusion_reasons": DEFAULT_EXCLUSION_REASONS}
    )
    return config


SETTINGS_FIELDS = frozenset(
    field.name
    for field in ScreeningConfig._meta.concrete_fields
    if field.name not in {"id", "review"}
)


@transaction.atomic
def update_screening_settings(*, review: Review, user, **fields) -> ScreeningConfig:
    """Change how the review is screened; what changed is logged.

    Compares with the stored row, not with a ModelForm's instance (already changed in memory).
    """
    unknown = set(fields) - SETTINGS_FIELDS
    if unknown:
        raise ValidationError(
            f"These are not screening settings: {', '.join(sorted(unknown))}.", code="unknown"
        )
    config = ScreeningConfig.objects.select_for_update().get(pk=config_for(review).pk)
    before, after = {}, {}
    for name, value in fields.items():
        if getattr(config, name) != value:
            before[name], after[name] = getattr(config, name), value
            setattr(config, name, value)
    if after:
        config.save(update_fields=list(after))
        audit.log(
            review=review,
            actor=user,
            action=audit.Action.SCREENING_SETTINGS,
            target=audit.Target("Screening settings", "screeningconfig", config.pk),
            before=before,
            after=after,
            summary=f"{audit.name_of(user)} changed the screening settings: "
            f"{', '.join(name.replace('_', ' ') for name in after)}.",
        )
    return config


def sync_screening_rows(*, review: Review) -> int:
    """Give every record that stands for a work its title/abstract row; drop copies' rows.

    Runs after imports and merges. The missing records are read first and their rows then
    loaded in bulk: one INSERT ... SELECT on PostgreSQL scanned its own growing target for
    every row (minutes at 100k records), and the ORM's bulk_create is slow at that size.
    """
    config = config_for(review)
    missing = (
        Record.objects.for_review(review)
        .unique()
        .filter(
            ~Exists(
                RecordScreening.objects.filter(record=OuterRef("pk"), stage=Stage.TITLE_ABSTRACT)
            )
        )
        .values_list("pk", flat=True)
    )
    now = timezone.now()
    values = {
        "review": review.pk,
        "stage": Stage.TITLE_ABSTRACT,
        "status": RecordScreening.Status.AWAITING,
        "outcome": "",
        "required": config.reviewers_required,
        "decision_count": 0,
        "priority": 0.0,
        "updated_at": now,
    }
    fields = [f for f in RecordScreening._meta.concrete_fields if not f.primary_key]
    rows = [[pk if f.name == "record" else values[f.name] for f in fields] for pk in missing]
    bulk.insert_rows(RecordScreening, fields, rows)
    if len(rows) >= 5000:
        bulk.refresh_statistics(RecordScreening)
    # A copy behind a primary is not screened; its decisions moved to the primary.
    RecordScreening.objects.filter(
        review=review, record__duplicate_of__isnull=False, decision_count=0
    ).delete()
    queue.forget_counts(review.pk)
    return len(rows)


def _decision_values(decision: Decision) -> dict:
    return {
        "verdict": decision.verdict,
        "reason": decision.reason,
        "note": decision.note,
        "tags": list(decision.tags),
    }


def _at_stage(stage: str) -> str:
    return Stage(stage).label.lower()


def _lock_state(record: Record, stage: str) -> RecordScreening:
    state = RecordScreening.objects.select_for_update().filter(record=record, stage=stage).first()
    if state is None:
        label = Stage(stage).label.lower()
        raise ValidationError(f"This record is not at the {label} stage.", code="wrong_stage")
    return state


def _refresh(state: RecordScreening, config: ScreeningConfig) -> RecordScreening:
    """Derive the state from the decisions and resolution that exist; the caller holds the lock."""
    verdicts = list(
        Decision.objects.filter(record_id=state.record_id, stage=state.stage).values_list(
            "verdict", flat=True
        )
    )
    resolution = Resolution.objects.filter(record_id=state.record_id, stage=state.stage).first()
    old_status = state.status
    state.decision_count = len(verdicts)
    if resolution is not None:
        state.status, state.outcome = RecordScreening.Status.RESOLVED, resolution.verdict
    elif len(verdicts) < state.required:
        state.status, state.outcome = RecordScreening.Status.AWAITING, ""
    elif len(set(verdicts)) == 1:
        state.status, state.outcome = RecordScreening.Status.RESOLVED, verdicts[0]
    else:
        state.status, state.outcome = RecordScreening.Status.CONFLICT, ""
    state.save(update_fields=["decision_count", "status", "outcome", "updated_at"])
    queue.count_change(state.review_id, state.stage, old_status, state.status)
    _advance(state, config)
    return state


def _advance(state: RecordScreening, config: ScreeningConfig) -> None:
    """Records included at title/abstract (or 'maybe', if the lead allows) go to full text."""
    if state.stage != Stage.TITLE_ABSTRACT:
        return
    advances = state.status == RecordScreening.Status.RESOLVED and (
        state.outcome in ADVANCING or (state.outcome == Verdict.MAYBE and config.maybe_advances)
    )
    if advances:
        _, created = RecordScreening.objects.get_or_create(
            record_id=state.record_id,
            stage=Stage.FULL_TEXT,
            defaults={"required": config.reviewers_required, "review_id": state.review_id},
        )
        changed = created
    else:
        changed, _ = RecordScreening.objects.filter(
            record_id=state.record_id, stage=Stage.FULL_TEXT, decision_count=0
        ).delete()
    if changed:
        queue.forget_counts(state.review_id)


def _check_decision(config: ScreeningConfig, stage: str, verdict: str, reason: str) -> None:
    if verdict not in Verdict.values:
        raise ValidationError(f"'{verdict}' is not a decision.", code="bad_verdict")
    if verdict == Verdict.EXCLUDE and config.reason_required(stage) and not reason.strip():
        raise ValidationError("Give a reason for excluding at this stage.", code="reason_required")
    if reason and config.exclusion_reasons and reason not in config.exclusion_reasons:
        raise ValidationError(f"'{reason}' is not one of the review's reasons.", code="bad_reason")


@transaction.atomic
def record_decision(
    *,
    record: Record,
    reviewer,
    stage: str,
    verdict: str,
    reason: str = "",
    note: str = "",
    tags: Iterable[str] = (),
) -> Decision:
    """Record or change `reviewer`'s decision; the record's status follows at once."""
    config = config_for(record.review)
    state = _lock_state(record, stage)
    _check_decision(config, stage, verdict, reason)
    if verdict != Verdict.EXCLUDE:
        reason = ""
    if (
        state.status == RecordScreening.Status.RESOLVED
        and Resolution.objects.filter(record=record, stage=stage).exists()
    ):
        raise ValidationError(
            "A lead has resolved this record; it can no longer change.", code="resolved"
        )
    decision = Decision.objects.filter(record=record, stage=stage, reviewer=reviewer).first()
    if (
        decision is None
        and state.decision_count == 0
        and prioritisation.stopped(record.review, stage)
    ):
        raise ValidationError(
            "The lead has stopped screening new records at this stage; "
            "only records that already have a decision still need one.",
            code="stopped",
        )
    if decision is None:
        if state.decision_count >= state.required:
            raise ValidationError(
                "This record already has all the decisions it needs.", code="enough_decisions"
            )
        decision = Decision(record=record, stage=stage, reviewer=reviewer)
        kind = ScreeningEvent.Kind.DECIDED
        before = None
    else:
        kind = ScreeningEvent.Kind.CHANGED
        before = _decision_values(decision)
    decision.verdict, decision.reason, decision.note = verdict, reason, note
    decision.tags = sorted({tag.strip() for tag in tags if tag.strip()})
    decision.save()
    _log_decision(record, stage, reviewer, before, _decision_values(decision))
    ScreeningEvent.objects.create(
        record=record,
        stage=stage,
        kind=kind,
        actor=reviewer,
        verdict=verdict,
        reason=reason,
        note=note,
    )
    _refresh(state, config)
    if stage == Stage.TITLE_ABSTRACT:
        prioritisation.request_ranking(record.review, config=config)
    return decision


def _log_decision(record: Record, stage: str, reviewer, before: dict | None, after: dict) -> None:
    verdict = Verdict(after["verdict"]).label.lower()
    who = audit.name_of(reviewer)
    if before is None:
        action = audit.Action.DECISION_RECORDED
        summary = f"{who} decided “{verdict}” on record {record.pk} at {_at_stage(stage)}."
    else:
        action = audit.Action.DECISION_CHANGED
        was = Verdict(before["verdict"]).label.lower()
        summary = (
            f"{who} changed their decision on record {record.pk} at {_at_stage(stage)} "
            f"from “{was}” to “{verdict}”."
        )
    audit.log(
        review=record.review,
        actor=reviewer,
        action=action,
        target=record,
        before=before and {"stage": stage, **before},
        after={"stage": stage, **after},
        summary=summary,
    )


@transaction.atomic
def withdraw_decision(*, record: Record, reviewer, stage: str, by=None) -> None:
    """Undo: the reviewer's decision goes (into the history) while the record is unresolved.

    A lead may do this for a reviewer (`by`) to hand the place to someone else.
    """
    config = config_for(record.review)
    state = _lock_state(record, stage)
    if Resolution.objects.filter(record=record, stage=stage).exists():
        raise ValidationError(
            "A lead has resolved this record; it can no longer change.", code="resolved"
        )
    decision = Decision.objects.filter(record=record, stage=stage, reviewer=reviewer).first()
    deleted, _ = Decision.objects.filter(record=record, stage=stage, reviewer=reviewer).delete()
    if deleted:
        _log_withdrawal(record, stage, reviewer, by, _decision_values(decision))
        note = f"withdrawn for {reviewer.username}" if by is not None and by != reviewer else ""
        ScreeningEvent.objects.create(
            record=record,
            stage=stage,
            actor=by or reviewer,
            kind=ScreeningEvent.Kind.UNDONE,
            note=note,
        )
        _refresh(state, config)


def _log_withdrawal(record: Record, stage: str, reviewer, by, before: dict) -> None:
    verdict = Verdict(before["verdict"]).label.lower()
    if by is not None and by != reviewer:
        action = audit.Action.DECISION_WITHDRAWN
        summary = (
            f"{audit.name_of(by)} withdrew {audit.name_of(reviewer)}'s decision “{verdict}” "
            f"on record {record.pk} at {_at_stage(stage)}; the record waits for another reviewer."
        )
    else:
        action = audit.Action.DECISION_UNDONE
        summary = (
            f"{audit.name_of(reviewer)} undid their decision “{verdict}” on record {record.pk} "
            f"at {_at_stage(stage)}."
        )
    audit.log(
        review=record.review,
        actor=by or reviewer,
        action=action,
        target=record,
        before={"stage": stage, "reviewer": audit.name_of(reviewer), **before},
        after=None,
        summary=summary,
    )


@transaction.atomic
def resolve_record(
    *, record: Record, lead, stage: str, verdict: str, reason: str = "", note: str = ""
) -> Resolution:
    """The lead's final decision on a record (usually one in conflict)."""
    config = config_for(record.review)
    state = _lock_state(record, stage)
    _check_decision(config, stage, verdict, reason)
    before = {"status": state.status, "outcome": state.outcome}
    resolution, _ = Resolution.objects.update_or_create(
        record=record,
        stage=stage,
        defaults={
            "verdict": verdict,
            "reason": reason if verdict == Verdict.EXCLUDE else "",
            "note": note,
            "resolved_by": lead,
        },
    )
    ScreeningEvent.objects.create(
        record=record,
        stage=stage,
        kind=ScreeningEvent.Kind.RESOLVED,
        actor=lead,
        verdict=verdict,
        reason=resolution.reason,
        note=note,
    )
    _refresh(state, config)
    audit.log(
        review=record.review,
        actor=lead,
        action=audit.Action.RESOLVED,
        target=record,
        before={"stage": stage, **before},
        after={
            "stage": stage,
            "status": state.status,
            "outcome": state.outcome,
            "reason": resolution.reason,
            "note": note,
        },
        summary=f"{audit.name_of(lead)} resolved record {record.pk} at {_at_stage(stage)}: "
        f"“{Verdict(verdict).label.lower()}”.",
    )
    if stage == Stage.TITLE_ABSTRACT:
        prioritisation.request_ranking(record.review, config=config)
    return resolution


@transaction.atomic
def add_reviewer(*, record: Record, lead, stage: str) -> RecordScreening:
    """Ask for one more independent decision (e.g. a third reviewer on a conflict)."""
    config = config_for(record.review)
    state = _lock_state(record, stage)
    if Resolution.objects.filter(record=record, stage=stage).exists():
        raise ValidationError("This record is already resolved.", code="resolved")
    if state.required >= 3:
        raise ValidationError("A record can have three reviewers at most.", code="max_reviewers")
    state.required += 1
    state.save(update_fields=["required"])
    audit.log(
        review=record.review,
        actor=lead,
        action=audit.Action.REVIEWER_ADDED,
        target=record,
        before={"stage": stage, "reviewers_required": state.required - 1},
        after={"stage": stage, "reviewers_required": state.required},
        summary=f"{audit.name_of(lead)} asked for one more reviewer on record {record.pk} at "
        f"{_at_stage(stage)} ({state.required} decisions needed).",
    )
    ScreeningEvent.objects.create(
        record=record, stage=stage, actor=lead, kind=ScreeningEvent.Kind.REVIEWER_ADDED
    )
    return _refresh(state, config)


@transaction.atomic
def restore_records(*, record_ids: Iterable[int]) -> None:
    """After a merge is undone: each former copy is screened on its own again, with the
    decisions it had before (the primary keeps those carried to it, in its history)."""
    records = Record.objects.filter(pk__in=list(record_ids)).select_related("review")
    for record in records:
        config = config_for(record.review)
        state, _ = RecordScreening.objects.get_or_create(
            record=record,
            stage=Stage.TITLE_ABSTRACT,
            defaults={"required": config.reviewers_required, "review": record.review},
        )
        _refresh(RecordScreening.objects.select_for_update().get(pk=state.pk), config)


def _chunks(ids: list[int], size: int = 5000):
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


@transaction.atomic
def carry_decisions_to_primary(*, review: Review, merges: Iterable[tuple[int, list[int]]]) -> None:
    """Decisions made on records later found to be copies move to their primary record.

    A reviewer who already decided the primary keeps that decision; if they said otherwise on
    a copy, or the carried decisions disagree, the primary goes to the conflicts queue. Copies
    leave the screening queues (their own decisions stay in their history).
    """
    primary_of = {copy: primary for primary, copies in merges for copy in copies}
    copy_ids = list(primary_of)
    decided = [
        decision
        for chunk in _chunks(copy_ids)
        for decision in Decision.objects.filter(record_id__in=chunk).order_by("updated_at")
    ]
    config = config_for(review) if decided else None
    for decision in decided:
        _carry(decision, primary_of[decision.record_id], config)
    for chunk in _chunks(copy_ids):
        RecordScreening.objects.filter(record_id__in=chunk).delete()
    queue.forget_counts(review.pk)


def _carry(decision: Decision, primary_id: int, config: ScreeningConfig) -> None:
    state = (
        RecordScreening.objects.select_for_update()
        .filter(record_id=primary_id, stage=decision.stage)
        .first()
    )
    if state is None:
        state = RecordScreening.objects.create(
            review=config.review,
            record_id=primary_id,
            stage=decision.stage,
            required=config.reviewers_required,
        )
    existing = Decision.objects.filter(
        record_id=primary_id, stage=decision.stage, reviewer=decision.reviewer
    ).first()
    if existing is None:
        copy_id = decision.record_id
        decision.pk = None
        decision.record_id = primary_id
        decision.save()
        ScreeningEvent.objects.create(
            record_id=primary_id,
            stage=decision.stage,
            kind=ScreeningEvent.Kind.CARRIED,
            actor=decision.reviewer,
            verdict=decision.verdict,
            reason=decision.reason,
            note=f"from duplicate record {copy_id}",
        )
        _refresh(state, config)
    elif existing.verdict != decision.verdict and state.status != RecordScreening.Status.RESOLVED:
        # The same reviewer said two things about one work: the lead decides.
        state.required = max(state.required, state.decision_count)
        queue.count_change(
            state.review_id, state.stage, state.status, RecordScreening.Status.CONFLICT
        )
        state.status, state.outcome = RecordScreening.Status.CONFLICT, ""
        state.save(update_fields=["required", "status", "outcome"])


def check_pdf(upload) -> None:
    """A PDF within the upload limit that starts with its header; a page that merely holds one
    further on (a saved web page, an HTML/PDF polyglot) is refused, as it could be read as HTML."""
    from reviewmgr.forms import check_upload_size

    check_upload_size(upload)
    head = upload.read(1024)
    upload.seek(0)
    if not head.lstrip(b" \t\r\n\f").startswith(b"%PDF-"):
        looks = " It looks like a web page; save the PDF itself." if b"<" in head[:64] else ""
        raise ValidationError(
            f"This file is not a PDF. A PDF starts with %PDF-.{looks}", code="not_pdf"
        )


def save_full_text(
    *, record: Record, user, upload=None, not_retrieved: bool = False, note: str = ""
) -> FullText:
    """Keep a record's PDF (checked by its content), or note that it could not be obtained."""
    if upload is not None:
        check_pdf(upload)
    full_text, _ = FullText.objects.get_or_create(record=record)
    if upload is not None:
        if full_text.file:
            full_text.file.delete(save=False)
        full_text.file.save(f"{record.pk}.pdf", upload, save=False)
        full_text.original_name = upload.name[:255]
        full_text.not_retrieved = False
    elif not_retrieved:
        if full_text.file:
            full_text.file.delete(save=False)
        full_text.not_retrieved = True
    full_text.note = note
    full_text.uploaded_by = user
    full_text.save()
    return full_text


@transaction.atomic
def stop_screening(*, review: Review, stage: str, lead, note: str = "") -> StoppingDecision:
    """The team stops screening new records at a stage. Logged with the stopping rule, its
    parameters and its estimate at this moment (for the methods section). The product never
    excludes anything: records nobody has screened stay unscreened, and records with one
    decision still go to a second reviewer before the stage closes."""
    if prioritisation.stopped(review, stage):
        raise ValidationError("Screening at this stage is already stopped.", code="already")
    return _log_stopping(review, stage, lead, note, StoppingDecision.Kind.STOPPED)


@transaction.atomic
def resume_screening(*, review: Review, stage: str, lead, note: str = "") -> StoppingDecision:
    if not prioritisation.stopped(review, stage):
        raise ValidationError("Screening at this stage is not stopped.", code="not_stopped")
    return _log_stopping(review, stage, lead, note, StoppingDecision.Kind.RESUMED)


def _log_stopping(review: Review, stage: str, lead, note: str, kind: str) -> StoppingDecision:
    estimate = prioritisation.stopping_estimate(review, stage)
    stopped = kind == StoppingDecision.Kind.STOPPED
    audit.log(
        review=review,
        actor=lead,
        action=audit.Action.SCREENING_STOPPED if stopped else audit.Action.SCREENING_RESUMED,
        target=audit.Target(f"{Stage(stage).label} screening", "stage"),
        before={"stage": stage, "stopped": not stopped},
        after={
            "stage": stage,
            "stopped": stopped,
            "rule": estimate.rule,
            "estimate": prioritisation.estimate_as_dict(estimate),
            "note": note,
        },
        summary=f"{audit.name_of(lead)} {'stopped' if stopped else 'resumed'} screening new "
        f"records at {_at_stage(stage)}" + (f": {note}" if note else "."),
    )
    return StoppingDecision.objects.create(
        review=review,
        stage=stage,
        kind=kind,
        decided_by=lead,
        rule=estimate.rule,
        parameters=estimate.parameters,
        estimate=prioritisation.estimate_as_dict(estimate),
        note=note,
    )
