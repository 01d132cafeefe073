"""Writes that matter for reviews, members and records. Views, commands and tasks call these;
the import pipeline lives in reviewmgr.importing and is handed on here under the same names."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from reviewmgr import audit, signals
from reviewmgr.importing import (
    STALE_IMPORT_ERROR as STALE_IMPORT_ERROR,
    Provenance as Provenance,
    batch_progress as batch_progress,
    delete_batch as delete_batch,
    deletion_summary as deletion_summary,
    fail_stale_batches as fail_stale_batches,
    heartbeat_key as heartbeat_key,
    import_records as import_records,
    mark_batch_version as mark_batch_version,
    progress_key as progress_key,
    queue_import as queue_import,
    queue_upload as queue_upload,
    retry_import_batch as retry_import_batch,
    run_import_batch as run_import_batch,
    sha256_of as sha256_of,
    source_counts as source_counts,
    start_mapped_import as start_mapped_import,
)
from reviewmgr.models import Membership, Record, RecordCorrection, Review

User = get_user_model()


# Reviews and members ---------------------------------------------------------------------------


@transaction.atomic
def create_review(
    *,
    title: str,
    slug: str,
    user: User,
    question: str = "",
    inclusion_criteria: str = "",
    exclusion_criteria: str = "",
    inclusion_keywords: Iterable[str] = (),
    exclusion_keywords: Iterable[str] = (),
) -> Review:
    """A new review whose creator is its first lead (and a reviewer, so a lead can screen)."""
    review = Review.objects.create(
        title=title,
        slug=slug,
        question=question,
        inclusion_criteria=inclusion_criteria,
        exclusion_criteria=exclusion_criteria,
        inclusion_keywords=list(inclusion_keywords),
        exclusion_keywords=list(exclusion_keywords),
        created_by=user,
    )
    Membership.objects.create(review=review, user=user, is_lead=True, is_reviewer=True)
    return review


def _role_flags(roles: Iterable[str]) -> dict[str, bool]:
    roles = set(roles)
    unknown = roles - set(Membership.Role.values)
    if unknown:
        raise ValidationError(f"Unknown role: {', '.join(sorted(unknown))}.", code="unknown_role")
    if not roles:
        raise ValidationError("Give the member at least one role.", code="no_role")
    return {f"is_{role}": role in roles for role in Membership.Role.values}


REVIEW_SETTINGS = frozenset(
    field.name
    for field in Review._meta.concrete_fields
    if field.name not in {"id", "created_by", "created_at"}
)


@transaction.atomic
def update_review(*, review: Review, user: User, **fields) -> Review:
    """Change a review's title, address, protocol text or keywords; the change is logged."""
    stored = Review.objects.select_for_update().get(pk=review.pk)
    before, after = audit.apply_settings(
        stored, fields, REVIEW_SETTINGS, what="review", code="not_a_setting"
    )
    if after:
        stored.save(update_fields=list(after))
        audit.log(
            review=stored,
            actor=user,
            action=audit.Action.REVIEW_SETTINGS,
            target=audit.Target(stored.title, "review", stored.pk),
            before=before,
            after=after,
            summary=f"{audit.name_of(user)} changed the review's "
            f"{', '.join(str(Review._meta.get_field(name).verbose_name) for name in after)}.",
        )
    return stored


def _member_target(membership: Membership) -> audit.Target:
    return audit.Target(membership.user.get_username(), "membership", membership.pk)


@transaction.atomic
def add_member(
    *, review: Review, username: str, roles: Iterable[str], user: User | None = None
) -> Membership:
    person = User.objects.filter(username__iexact=username.strip()).first()
    if person is None:
        raise ValidationError(f"There is no user called '{username}'.", code="unknown_user")
    if review.memberships.filter(user=person).exists():
        raise ValidationError(
            f"{person.username} is already a member of this review.", code="already_member"
        )
    membership = Membership.objects.create(review=review, user=person, **_role_flags(roles))
    audit.log(
        review=review,
        actor=user,
        action=audit.Action.MEMBER_ADDED,
        target=_member_target(membership),
        after={"user": person.get_username(), "roles": membership.roles},
        summary=f"{audit.name_of(user)} added {person.get_username()} as "
        f"{', '.join(membership.role_labels).lower()}.",
    )
    return membership


def _ensure_another_lead(membership: Membership) -> None:
    other_leads = membership.review.memberships.filter(is_lead=True).exclude(pk=membership.pk)
    if membership.is_lead and not other_leads.exists():
        raise ValidationError(
            "A review needs at least one lead: make someone else lead first.", code="last_lead"
        )


@transaction.atomic
def set_member_roles(
    *, membership: Membership, roles: Iterable[str], user: User | None = None
) -> Membership:
    flags = _role_flags(roles)
    if not flags["is_lead"]:
        _ensure_another_lead(membership)
    before = membership.roles
    for name, value in flags.items():
        setattr(membership, name, value)
    membership.save(update_fields=list(flags))
    if membership.roles != before:
        audit.log(
            review=membership.review,
            actor=user,
            action=audit.Action.MEMBER_ROLES,
            target=_member_target(membership),
            before={"roles": before},
            after={"roles": membership.roles},
            summary=f"{audit.name_of(user)} made {membership.user.get_username()} "
            f"{', '.join(membership.role_labels).lower()}.",
        )
    return membership


@transaction.atomic
def remove_member(*, membership: Membership, user: User | None = None) -> None:
    _ensure_another_lead(membership)
    target = _member_target(membership)
    roles = membership.roles
    membership.delete()
    audit.log(
        review=membership.review,
        actor=user,
        action=audit.Action.MEMBER_REMOVED,
        target=target,
        before={"user": target.label, "roles": roles},
        summary=f"{audit.name_of(user)} removed {target.label} from the review.",
    )


# Records ---------------------------------------------------------------------------------------

CORRECTABLE_FIELDS = (
    "title",
    "abstract",
    "authors",
    "year",
    "journal",
    "volume",
    "issue",
    "pages",
    "doi",
    "pmid",
    "url",
    "keywords",
    "type",
    "language",
)


@transaction.atomic
def correct_record(*, record: Record, user: User, **fields) -> RecordCorrection | None:
    """Change a record's metadata, keeping what it was; the source record stays untouched."""
    unknown = set(fields) - set(CORRECTABLE_FIELDS)
    if unknown:
        raise ValidationError(
            f"These fields cannot be corrected: {', '.join(sorted(unknown))}.",
            code="not_correctable",
        )
    changes = {}
    for name, value in fields.items():
        before = getattr(record, name)
        if before != value:
            changes[name] = [before, value]
            setattr(record, name, value)
    if not changes:
        return None
    record.save(update_fields=list(changes))
    Record.objects.filter(pk=record.pk).forget_dedup_keys()
    audit.log(
        review=record.review,
        actor=user,
        action=audit.Action.RECORD_CORRECTED,
        target=record,
        before={name: pair[0] for name, pair in changes.items()},
        after={name: pair[1] for name, pair in changes.items()},
        summary=f"{audit.name_of(user)} corrected record {record.pk}: {', '.join(changes)}.",
    )
    return RecordCorrection.objects.create(record=record, changed_by=user, changes=changes)


@transaction.atomic
def mark_known_relevant(
    *, review: Review, record_ids: Iterable[int], known: bool = True, user: User | None = None
) -> int:
    """Mark records the lead already knows are relevant; prioritisation starts from them."""
    records = list(
        review.records.filter(pk__in=list(record_ids))
        .exclude(known_relevant=known)
        .only("pk", "title")
    )
    changed = Record.objects.filter(pk__in=[r.pk for r in records]).update(known_relevant=known)
    if changed:
        _log_known_relevant(review, records, known, user)
        transaction.on_commit(
            lambda: signals.known_relevant_changed.send(sender=Review, review=review)
        )
    return changed


def _log_known_relevant(review: Review, records: list[Record], known: bool, by) -> None:
    ids = [record.pk for record in records]
    if len(records) == 1:
        target = audit.target_of(records[0])
        what = f"record {ids[0]}"
    else:
        target = audit.Target(f"{len(records)} records")
        what = f"{len(records)} records"
    state = "as known relevant" if known else "as no longer known relevant"
    audit.log(
        review=review,
        actor=by,
        action=audit.Action.KNOWN_RELEVANT,
        target=target,
        before={"known_relevant": not known},
        after={"known_relevant": known, "records": ids[: audit.MAX_LISTED_IDS]},
        summary=f"{audit.name_of(by)} marked {what} {state}.",
    )
