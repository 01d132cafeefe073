"""Studies and their reports: which records report one study, and the services that link and
unlink them.

A study is named by its first report (see `ReportLink`). The grouping lives in the core so
that leads can link reports at full text (screening) as well as at extraction, and PRISMA can
count studies and reports apart; the extraction app keeps one `Study` per first report.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.text import Truncator

from reviewmgr import audit, report_matching, signals
from reviewmgr.models import Record, ReportLink, Review, User


def study_id(first_report_id: int) -> str:
    """The study ID on pages and exports: "S" and its first report's record number. It
    changes only when that first report is unlinked."""
    return f"S{first_report_id}"


def study_keys(review: Review) -> dict[int, int]:
    """Record id -> the id of its study's first report, for every linked record of the
    review (a record missing here is its own study's first report). One query."""
    return dict(
        ReportLink.objects.filter(review=review).values_list("report_id", "first_report_id")
    )


def study_key(record: Record) -> int:
    link = ReportLink.objects.filter(report=record).values_list("first_report_id", flat=True)
    return link.first() or record.pk


def reports_of(first_report: Record) -> list[Record]:
    """The study's reports: its first report, then the others in the order they were linked."""
    further = Record.objects.filter(report_link__first_report=first_report).order_by(
        "report_link__linked_at", "report_link__pk"
    )
    return [first_report, *further]


def _label(record: Record) -> str:
    return f"record {record.pk} ({Truncator(record.title or 'no title').chars(50)})"


@transaction.atomic
def link_report(*, record: Record, to: Record, user: User) -> ReportLink:
    """Make `record` a further report of the study that `to` belongs to.

    Refused with a message saying why (nothing written) when the records are of two reviews,
    are one record, `record` is a removed duplicate, is already in another study, or names a
    study of several reports itself; a higher app may refuse too (`signals.report_linking`).
    """
    if record.review_id != to.review_id:
        raise ValidationError(
            f"Record {to.pk} belongs to another review; link reports of this review only.",
            code="other_review",
        )
    first = Record.objects.get(pk=study_key(to))
    if record.pk == first.pk:
        raise ValidationError(
            f"Record {record.pk} already is this study's first report.", code="same_study"
        )
    if record.duplicate_of_id or first.duplicate_of_id:
        copy = record if record.duplicate_of_id else first
        raise ValidationError(
            f"Record {copy.pk} is a removed duplicate of record {copy.duplicate_of_id}; "
            "link the record it was merged into instead.",
            code="duplicate",
        )
    existing = ReportLink.objects.select_for_update().filter(report=record).first()
    if existing is not None:
        if existing.first_report_id == first.pk:
            raise ValidationError(
                f"Record {record.pk} already is a report of this study.", code="same_study"
            )
        raise ValidationError(
            f"Record {record.pk} already is a report of the study of record "
            f"{existing.first_report_id}; unlink it there first.",
            code="in_another_study",
        )
    others = ReportLink.objects.filter(first_report=record).count()
    if others:
        raise ValidationError(
            f"Record {record.pk} is the first report of a study with {others + 1} reports; "
            f"link record {first.pk} to it instead, or unlink its reports first.",
            code="in_another_study",
        )
    signals.report_linking.send(Review, review=record.review, record=record, first_report=first)
    link = ReportLink.objects.create(
        review_id=record.review_id, report=record, first_report=first, linked_by=user
    )
    audit.log(
        review=record.review,
        actor=user,
        action=audit.Action.REPORT_LINKED,
        target=record,
        after={"report": record.pk, "first_report": first.pk},
        summary=f"{audit.name_of(user)} linked {_label(record)} as a report of the study of "
        f"{_label(first)}.",
    )
    return link


@transaction.atomic
def unlink_report(*, record: Record, user: User) -> Record:
    """Take `record` out of its study, which keeps its other reports; returns the record
    that names the study afterwards. Unlinking a first report makes the next report the
    study's first (`signals.first_report_changed`); a study's only report cannot be
    unlinked."""
    link = ReportLink.objects.select_for_update().filter(report=record).first()
    if link is not None:
        first_id = link.first_report_id
        link.delete()
        new_first = Record.objects.get(pk=first_id)
    else:
        further = list(
            ReportLink.objects.select_for_update()
            .filter(first_report=record)
            .order_by("linked_at", "pk")
        )
        if not further:
            raise ValidationError(
                f"Record {record.pk} is its study's only report; a study keeps at least one "
                "report.",
                code="last_report",
            )
        new_first = further[0].report
        ReportLink.objects.filter(pk=further[0].pk).delete()
        ReportLink.objects.filter(pk__in=[f.pk for f in further[1:]]).update(first_report=new_first)
        signals.first_report_changed.send(
            Review, review=record.review, old_id=record.pk, new_id=new_first.pk
        )
    audit.log(
        review=record.review,
        actor=user,
        action=audit.Action.REPORT_UNLINKED,
        target=record,
        before={"report": record.pk, "first_report": link.first_report_id if link else record.pk},
        after={"first_report": new_first.pk},
        summary=f"{audit.name_of(user)} unlinked {_label(record)} from the study now named by "
        f"{_label(new_first)}.",
    )
    return new_first


SUGGESTION_YEARS = 3  # a conference abstract and its article, a trial and its follow-up


def suggest_reports(record: Record, limit: int = 5) -> list[tuple[Record, tuple[str, ...]]]:
    """Records of the review that may report the same study as `record`, with why: a shared
    trial registration (looked up in the database), at least two shared authors or a
    similar title (compared among the records published within SUGGESTION_YEARS of it).
    Records already in its study, and removed duplicates, are left out. Reads titles and
    authors of that window only, not abstracts."""
    key = study_key(record)
    in_study = {key, *ReportLink.objects.filter(first_report_id=key).values_list(
        "report_id", flat=True)}  # fmt: skip
    pool = Record.objects.filter(review_id=record.review_id, duplicate_of__isnull=True).exclude(
        pk__in=in_study
    )
    registered = report_matching.registrations(f"{record.title} {record.abstract}")
    by_registration = set()
    for number in sorted(registered):
        by_registration |= set(
            pool.filter(Q(abstract__icontains=number) | Q(title__icontains=number)).values_list(
                "pk", flat=True
            )[:50]
        )
    nearby = pool
    if record.year:
        nearby = pool.filter(
            Q(year__isnull=True)
            | Q(year__gte=record.year - SUGGESTION_YEARS, year__lte=record.year + SUGGESTION_YEARS)
        )
    candidates = [
        report_matching.Candidate(pk, title, "", authors or [])
        for pk, title, authors in nearby.values_list("pk", "title", "authors").iterator()
    ]
    candidates += [
        report_matching.Candidate(pk, title, abstract, authors or [])
        for pk, title, abstract, authors in pool.filter(pk__in=by_registration).values_list(
            "pk", "title", "abstract", "authors"
        )
    ]
    mine = report_matching.Candidate(record.pk, record.title, record.abstract, record.authors or [])
    found = report_matching.suggest(mine, candidates, limit)
    records = Record.objects.in_bulk([s.id for s in found])
    return [(records[s.id], s.reasons) for s in found]


def carry_links_to_primary(*, review: Review, merges: Iterable[tuple[int, list[int]]]) -> None:
    """After a merge, a copy's place in a study goes to its primary: reports that named a
    copy's study name the primary's, and a primary in no study joins the study its copy
    was a report of. Called by the merge, in its transaction; reads nothing more when the
    review has no linked reports."""
    if not ReportLink.objects.filter(review=review).exists():
        return
    for primary_id, copy_ids in merges:
        copies = set(copy_ids)
        own = ReportLink.objects.filter(report_id=primary_id).first()
        if own is not None and own.first_report_id in copies:
            own.delete()
            own = None
        target = own.first_report_id if own is not None else primary_id
        heads_a_study = ReportLink.objects.filter(first_report_id=primary_id).exists()
        for link in ReportLink.objects.filter(report_id__in=copies):
            first = link.first_report_id
            link.delete()
            joinable = own is None and not heads_a_study and first not in copies
            if joinable and first != primary_id:
                own = ReportLink.objects.create(
                    review=review, report_id=primary_id, first_report_id=first,
                    linked_by=link.linked_by,
                )  # fmt: skip
                target = first
        moved = ReportLink.objects.filter(first_report_id__in=copies)
        moved.filter(report_id=target).delete()
        if moved.update(first_report_id=target):
            for copy_id in copies:
                signals.first_report_changed.send(
                    Review, review=review, old_id=copy_id, new_id=target
                )
