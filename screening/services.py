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

from reviewmgr import audit, bulk, permissions
from reviewmgr.models import ImportBatch, Record, Review, User
from screening import blinding, prioritisation, queue
from screening.models import (
    Decision,
    FullText,
    RecordScreening,
    Resolution,
    ScreeningConfig,
    ScreeningEvent,
    Stage,
    StoppingDecision,
    Unblinding,
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


CONFIG_KEY = "screening_config"


def config_for(review: Review) -> ScreeningConfig:
    """The review's screening settings, made with the defaults on first use. Read once per
    request (see `permissions.remember`): the queue, the blind rule and the services of one
    request all ask for them."""

    def read() -> ScreeningConfig:
        config, _ = ScreeningConfig.objects.get_or_create(
            review=review, defaults={"exclusion_reasons": DEFAULT_EXCLUSION_REASONS}
        )
        config.review = review
        return config

    return permissions.remember(review, CONFIG_KEY, read)


SETTINGS_FIELDS = frozenset(
    field.name
    for field in ScreeningConfig._meta.concrete_fields
    if field.name not in {"id", "review"}
)


@transaction.atomic
def update_screening_settings(*, review: Review, user: User, **fields) -> ScreeningConfig:
    """Change how the review is screened; what changed is logged."""
    config = ScreeningConfig.objects.select_for_update().get(pk=config_for(review).pk)
    before, after = audit.apply_settings(config, fields, SETTINGS_FIELDS, what="screening")
    permissions.forget(review, CONFIG_KEY)
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
    if "blind" in after:
        _log_blindness(review, user, blind=after["blind"])
    if "full_text_reasons_must_agree" in after:
        _rederive_settled(review, Stage.FULL_TEXT, config)
    return config


def _rederive_settled(review: Review, stage: str, config: ScreeningConfig) -> None:
    """After a change of what counts as agreement: every record with all its decisions is
    judged again (in conflict, or agreed), each under its lock."""
    settled = RecordScreening.objects.for_stage(review, stage).exclude(
        status=RecordScreening.Status.AWAITING
    )
    for state in settled.select_for_update().order_by("pk"):
        _refresh(state, config)


def _log_blindness(review: Review, user: User, *, blind: bool) -> None:
    """Unblinding is never silent: its own event says who did it and what it means."""
    if blind:
        summary = (
            f"{audit.name_of(user)} made screening blind: reviewers see only their own "
            "decisions until a stage ends."
        )
    else:
        summary = (
            f"{audit.name_of(user)} unblinded screening: reviewers now see each other's "
            "decisions, the team's counts and outcomes."
        )
    audit.log(
        review=review,
        actor=user,
        action=audit.Action.SCREENING_REBLINDED if blind else audit.Action.SCREENING_UNBLINDED,
        target=audit.Target("Screening", "stage"),
        before={"blind": not blind},
        after={"blind": blind},
        summary=summary,
    )


def sync_screening_rows(*, review: Review) -> int:
    """Give every record that stands for a work its title/abstract row; drop copies' rows.

    Runs after imports and merges. The missing records are read first and their rows then
    loaded in bulk: one INSERT ... SELECT on PostgreSQL scanned its own growing target for
    every row (minutes at 100k records), and the ORM's bulk_create is slow at that size.
    """
    config = config_for(review)
    missing = (
        Record.objects.for_review(review)
        .primaries()
        .new_searches()
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
    if rows:
        _reblind_on_new_records(review, len(rows))
    return len(rows)


def _reblind_on_new_records(review: Review, added: int) -> None:
    """New records reopen an ended stage: it is blind again, and the log says so."""
    ended = Unblinding.objects.filter(review=review)
    stages = sorted(ended.values_list("stage", flat=True))
    if not stages:
        return
    ended.delete()
    blinding.forget_ended_stages(review)
    labels = " and ".join(Stage(stage).label.lower() for stage in stages)
    audit.log(
        review=review,
        actor=None,
        action=audit.Action.SCREENING_REBLINDED,
        target=audit.Target("Screening", "stage"),
        before={"unblinded": stages},
        after={"unblinded": [], "records_added": added},
        summary=f"{added} new record{'s' if added != 1 else ''} arrived: {labels} screening "
        "is blind again until every record there is settled.",
    )


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
    """The record's state at `stage`, locked until the transaction ends, with
    `resolved_by_lead` (whether a lead's resolution exists) read in the same query."""
    resolution = Resolution.objects.filter(record_id=OuterRef("record_id"), stage=stage)
    state = (
        RecordScreening.objects.select_for_update(of=("self",))
        .filter(record=record, stage=stage)
        .annotate(resolved_by_lead=Exists(resolution))
        .first()
    )
    if state is None:
        label = Stage(stage).label.lower()
        raise ValidationError(f"This record is not at the {label} stage.", code="wrong_stage")
    return state


def _refresh(
    state: RecordScreening,
    config: ScreeningConfig,
    *,
    withdrawn: int | None = None,
    decided: list[tuple[int, str, str]] | None = None,
) -> RecordScreening:
    """Derive the state from the decisions and resolution that exist; the caller holds the lock.

    `decided` ((reviewer id, verdict, reason) of every decision, as they now stand) spares
    reading them again when the caller has them; a resolution is read only when the lock
    found one, or when the caller made one since (no `resolved_by_lead` then).
    """
    if decided is None:
        decided = list(
            Decision.objects.filter(record_id=state.record_id, stage=state.stage).values_list(
                "reviewer_id", "verdict", "reason"
            )
        )
    resolution = None
    if getattr(state, "resolved_by_lead", True):
        resolution = Resolution.objects.filter(record_id=state.record_id, stage=state.stage).first()
    old_status = state.status
    state.decision_count = len(decided)
    if resolution is not None:
        state.status, state.outcome = RecordScreening.Status.RESOLVED, resolution.verdict
    elif len(decided) < state.required:
        state.status, state.outcome = RecordScreening.Status.AWAITING, ""
    elif _agreed(state.stage, decided, config):
        state.status, state.outcome = RecordScreening.Status.RESOLVED, decided[0][1]
    else:
        state.status, state.outcome = RecordScreening.Status.CONFLICT, ""
    state.save(update_fields=["decision_count", "status", "outcome", "updated_at"])
    queue.count_change(state.review_id, state.stage, old_status, state.status)
    deciders = {reviewer for reviewer, _, _ in decided}
    queue.keep_places(state, deciders=deciders, was=old_status, withdrawn=withdrawn)
    _advance(state, config)
    if state.status == RecordScreening.Status.RESOLVED and config.blind:
        _unblind_if_stage_ended(config.review, state.stage)
    return state


def _agreed(stage: str, decided: list[tuple[int, str, str]], config: ScreeningConfig) -> bool:
    """Every decision the same; at full text, exclusions must also agree on the reason when
    the review asks for it, so that PRISMA reports a reason both reviewers gave."""
    if len({verdict for _, verdict, _ in decided}) != 1:
        return False
    if (
        stage == Stage.FULL_TEXT
        and decided[0][1] == Verdict.EXCLUDE
        and config.full_text_reasons_must_agree
    ):
        return len({reason for _, _, reason in decided}) == 1
    return True


def _stage_ended(review: Review, stage: str) -> bool:
    """Every record started at `stage` is settled and none waits for a first look (or the
    lead stopped screening new records there). Full text ends only after title and abstract,
    which may still send it records. A few indexed EXISTS queries."""
    rows = RecordScreening.objects.for_stage(review, stage)
    if rows.filter(status=RecordScreening.Status.CONFLICT).exists():
        return False
    waiting = rows.filter(status=RecordScreening.Status.AWAITING)
    # While screening goes on, one probe of the queue's index answers; only after a stop
    # are the waiting records read for one with a decision (a scan at 1M untouched records).
    if not prioritisation.stopped(review, stage):
        if waiting.exists():
            return False
    elif waiting.filter(decision_count__gt=0).exists():
        return False
    if stage == Stage.FULL_TEXT:
        return Unblinding.objects.filter(review=review, stage=Stage.TITLE_ABSTRACT).exists()
    return True


def _unblind_if_stage_ended(review: Review, stage: str) -> None:
    """The end of a blind stage unblinds it, and the audit log records when and why.

    The stages that ended are read once per request (the queue needs them too); a stage
    that ended meanwhile in another request is found by the unique row, not logged twice.
    """
    if stage in blinding.ended_stages(review) or not _stage_ended(review, stage):
        return
    ended = [stage]
    if stage == Stage.TITLE_ABSTRACT and _stage_ended_after(review, Stage.FULL_TEXT):
        ended.append(Stage.FULL_TEXT)
    blinding.forget_ended_stages(review)
    for done in ended:
        _, created = Unblinding.objects.get_or_create(review=review, stage=done)
        if not created:
            continue
        label = Stage(done).label
        audit.log(
            review=review,
            actor=None,
            action=audit.Action.SCREENING_UNBLINDED,
            target=audit.Target(f"{label} screening", "stage"),
            before={"stage": done, "blind": True},
            after={"stage": done, "blind": False},
            summary=f"{label} screening ended (every record started there is settled), so it "
            "is no longer blind: reviewers now see each other's decisions at this stage.",
        )


def _stage_ended_after(review: Review, stage: str) -> bool:
    """Whether `stage` ended too, now that the stage before it has (checked once)."""
    if Unblinding.objects.filter(review=review, stage=stage).exists():
        return False
    rows = RecordScreening.objects.for_stage(review, stage)
    return rows.exists() and not rows.exclude(status=RecordScreening.Status.RESOLVED).exists()


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
        queue.forget_counts(state.review_id, [Stage.FULL_TEXT])


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
    user: User,
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
        stage == Stage.FULL_TEXT
        and FullText.objects.filter(record=record, not_retrieved=True).exists()
    ):
        raise ValidationError(
            "The full text of this record could not be obtained, so it is not screened "
            "(reported as not retrieved); upload the PDF to screen it.",
            code="not_retrieved",
        )
    decisions = list(Decision.objects.filter(record=record, stage=stage))  # three at most
    decision = next((d for d in decisions if d.reviewer_id == user.pk), None)
    if decision is not None:
        _check_still_open(state, decision, decisions)
        kind = ScreeningEvent.Kind.CHANGED
        before = _decision_values(decision)
    else:
        if (
            state.status != RecordScreening.Status.AWAITING
            or state.decision_count >= state.required
        ):
            # One answer whether the others agreed, disagreed or a lead settled it: the
            # refusal must not tell a blind reviewer how the record stands.
            raise ValidationError(
                "This record already has all the decisions it needs.", code="enough_decisions"
            )
        if state.decision_count == 0 and prioritisation.stopped(record.review, stage):
            raise ValidationError(
                "The lead has stopped screening new records at this stage; "
                "only records that already have a decision still need one.",
                code="stopped",
            )
        decision = Decision(record=record, stage=stage, reviewer=user)
        decisions.append(decision)
        kind = ScreeningEvent.Kind.DECIDED
        before = None
    decision.verdict, decision.reason, decision.note = verdict, reason, note
    decision.tags = sorted({tag.strip() for tag in tags if tag.strip()})
    decision.save()
    _log_decision(record, stage, user, before, _decision_values(decision))
    ScreeningEvent.objects.create(
        record=record,
        stage=stage,
        kind=kind,
        actor=user,
        verdict=verdict,
        reason=reason,
        note=note,
    )
    _refresh(state, config, decided=[(d.reviewer_id, d.verdict, d.reason) for d in decisions])
    if stage == Stage.TITLE_ABSTRACT:
        prioritisation.request_ranking(record.review, config=config, reviewer=user)
    return decision


LOCKED_MESSAGE = (
    "Your decision on this record can no longer be changed: another reviewer has decided it "
    "too, so a change could follow their verdict. Ask a lead to reopen the record if you "
    "made a mistake."
)


def _check_still_open(
    state: RecordScreening, decision: Decision, decisions: list[Decision] | None = None
) -> None:
    """A reviewer may change or undo a decision only while no one else has decided the
    record (and no lead has settled it). After that the decisions are locked and only a
    lead reopens the record (by withdrawing a decision), so that no change can be steered by
    knowing the other verdict. The refusal is the same whatever the others decided.
    `decisions`: the record's decisions at the stage, when the caller read them."""
    if decisions is None:
        others = Decision.objects.filter(record_id=state.record_id, stage=state.stage)
        taken = others.exclude(pk=decision.pk).exists()
    else:
        taken = any(other.pk != decision.pk for other in decisions)
    if state.status != RecordScreening.Status.AWAITING or taken:
        raise ValidationError(LOCKED_MESSAGE, code="locked")


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
def withdraw_decision(*, record: Record, reviewer, stage: str, user: User | None = None) -> None:
    """Undo: the reviewer's decision goes (into the history) while no one else has decided
    the record (see `_check_still_open`).

    A lead does it for a reviewer (`by`) to reopen a locked record: that reviewer, or
    another, then decides it again.
    """
    config = config_for(record.review)
    state = _lock_state(record, stage)
    if Resolution.objects.filter(record=record, stage=stage).exists() and user is not None:
        raise ValidationError(
            "A lead has resolved this record; it can no longer change.", code="resolved"
        )
    decision = Decision.objects.filter(record=record, stage=stage, reviewer=reviewer).first()
    if decision is not None and user is None:
        _check_still_open(state, decision)
    deleted, _ = Decision.objects.filter(record=record, stage=stage, reviewer=reviewer).delete()
    if deleted:
        _log_withdrawal(record, stage, reviewer, user, _decision_values(decision))
        note = f"withdrawn for {reviewer.username}" if user is not None and user != reviewer else ""
        ScreeningEvent.objects.create(
            record=record,
            stage=stage,
            actor=user or reviewer,
            kind=ScreeningEvent.Kind.UNDONE,
            note=note,
        )
        _refresh(state, config, withdrawn=reviewer.pk)


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
    *, record: Record, user: User, stage: str, verdict: str, reason: str = "", note: str = ""
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
            "resolved_by": user,
        },
    )
    ScreeningEvent.objects.create(
        record=record,
        stage=stage,
        kind=ScreeningEvent.Kind.RESOLVED,
        actor=user,
        verdict=verdict,
        reason=resolution.reason,
        note=note,
    )
    state.resolved_by_lead = True
    _refresh(state, config)
    audit.log(
        review=record.review,
        actor=user,
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
        summary=f"{audit.name_of(user)} resolved record {record.pk} at {_at_stage(stage)}: "
        f"“{Verdict(verdict).label.lower()}”.",
    )
    if stage == Stage.TITLE_ABSTRACT:
        prioritisation.request_ranking(record.review, config=config)
    return resolution


@transaction.atomic
def add_reviewer(*, record: Record, user: User, stage: str) -> RecordScreening:
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
        actor=user,
        action=audit.Action.REVIEWER_ADDED,
        target=record,
        before={"stage": stage, "reviewers_required": state.required - 1},
        after={"stage": stage, "reviewers_required": state.required},
        summary=f"{audit.name_of(user)} asked for one more reviewer on record {record.pk} at "
        f"{_at_stage(stage)} ({state.required} decisions needed).",
    )
    ScreeningEvent.objects.create(
        record=record, stage=stage, actor=user, kind=ScreeningEvent.Kind.REVIEWER_ADDED
    )
    return _refresh(state, config)


@transaction.atomic
def restore_records(*, record_ids: Iterable[int]) -> None:
    """After a merge is undone: each former copy is screened on its own again, with the
    decisions it had before (the primary keeps those carried to it, in its history)."""
    records = Record.objects.filter(pk__in=list(record_ids)).new_searches()
    for record in records.select_related("review"):
        config = config_for(record.review)
        state, _ = RecordScreening.objects.get_or_create(
            record=record,
            stage=Stage.TITLE_ABSTRACT,
            defaults={"required": config.reviewers_required, "review": record.review},
        )
        _refresh(RecordScreening.objects.select_for_update().get(pk=state.pk), config)


@transaction.atomic
def follow_batch_version(*, batch: ImportBatch) -> None:
    """A batch marked as the previous version's included studies leaves screening (those
    studies were screened for the previous version); marked as a new search, it enters it.
    Refused once any of its records has a screening decision."""
    if batch.version_role == ImportBatch.Version.PREVIOUS:
        screened = Decision.objects.filter(record__batch=batch).values("record_id").distinct()
        if screened.exists():
            raise ValidationError(
                f"{screened.count()} records of {batch.file_name or 'this batch'} were screened "
                "already; only a batch nobody has screened can be the previous version's "
                "studies.",
                code="screened",
            )
        RecordScreening.objects.filter(record__batch=batch).delete()
        queue.forget_counts(batch.review_id)
    else:
        sync_screening_rows(review=batch.review)


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
    *, record: Record, user: User, upload=None, not_retrieved: bool = False, note: str = ""
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
def stop_screening(*, review: Review, stage: str, user: User, note: str = "") -> StoppingDecision:
    """The team stops screening new records at a stage. Logged with the stopping rule, its
    parameters and its estimate at this moment (for the methods section). The product never
    excludes anything: records nobody has screened stay unscreened, and records with one
    decision still go to a second reviewer before the stage closes. The note saying why is
    required: a methods section must be able to report it."""
    if prioritisation.stopped(review, stage):
        raise ValidationError("Screening at this stage is already stopped.", code="already")
    if not note.strip():
        raise ValidationError(
            "Write a note for the log: why the team stops now. It is kept with the estimate "
            "for the methods section.",
            code="note_required",
        )
    return _log_stopping(review, stage, user, note, StoppingDecision.Kind.STOPPED)


@transaction.atomic
def resume_screening(*, review: Review, stage: str, user: User, note: str = "") -> StoppingDecision:
    if not prioritisation.stopped(review, stage):
        raise ValidationError("Screening at this stage is not stopped.", code="not_stopped")
    return _log_stopping(review, stage, user, note, StoppingDecision.Kind.RESUMED)


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
    decision = StoppingDecision.objects.create(
        review=review,
        stage=stage,
        kind=kind,
        decided_by=lead,
        rule=estimate.rule,
        parameters=estimate.parameters,
        estimate=prioritisation.estimate_as_dict(estimate),
        note=note,
    )
    prioritisation.forget_stops(review)
    return decision
