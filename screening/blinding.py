"""Blind screening: the one rule deciding what a member may see of the team's screening.

While a stage is blind, nothing a reviewer is served or shown may depend on another
reviewer's decisions at that stage, nor on what they produce (agreement, conflicts, resolved
counts, outcomes, PRISMA counts, the stopping estimate, the queue's order). A reviewer sees
their own decisions and progress; leads see everything. Every page, fragment, download and
ranking that touches the team's screening asks this module, so the rule lives in one place.

A stage is blind when the review's screening is blind (`ScreeningConfig.blind`, on by
default; only a lead switches it off, which the audit log records) and the stage has not
ended (`Unblinding`: every record started there is settled, logged when it happens).

One consequence is accepted by design: a record both reviewers include at title and
abstract moves on to full text, which tells each that the other included it. Decisions
that are all in can no longer be changed by a reviewer (see `services.record_decision`),
so this knowledge cannot steer a decision.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied

from reviewmgr import permissions
from reviewmgr.models import Review
from screening.models import RecordScreening, Stage, Unblinding

BLIND_NOTICE = (
    "Screening is blind: the team's progress, conflicts, outcomes and agreement are shown to "
    "the review's leads, so that no one can tell from them how another reviewer decided a record."
)


def blind_stages(review: Review) -> frozenset[str]:
    """The stages of `review` that are blind now. One or two small queries the first time
    for a review instance (one request), none after: see `ended_stages`."""
    from screening.services import config_for

    if not config_for(review).blind:
        return frozenset()
    ended = ended_stages(review)
    return frozenset(stage for stage in Stage.values if stage not in ended)


ENDED_KEY = "screening_ended_stages"


def ended_stages(review: Review) -> frozenset[str]:
    """The stages that ended (an `Unblinding` row each), read once per request (see
    `permissions.remember`). The services that add or remove those rows forget them."""

    def read() -> frozenset[str]:
        return frozenset(Unblinding.objects.filter(review=review).values_list("stage", flat=True))

    return permissions.remember(review, ENDED_KEY, read)


def forget_ended_stages(review: Review) -> None:
    permissions.forget(review, ENDED_KEY)


def stage_is_blind(review: Review, stage: str) -> bool:
    return stage in blind_stages(review)


@dataclass(frozen=True, slots=True)
class Sight:
    """What one member may see of the team's screening in one review."""

    lead: bool
    blind: frozenset[str]

    def is_blind(self, stage: str) -> bool:
        return stage in self.blind

    def sees_team(self, stage: str) -> bool:
        """Other reviewers' decisions at `stage` and all that follows from them."""
        return self.lead or stage not in self.blind

    @property
    def sees_every_stage(self) -> bool:
        """Reports that combine the stages (PRISMA counts) need every stage in sight."""
        return all(self.sees_team(stage) for stage in Stage.values)

    def sees_others_on_record(self, stage: str, *, decided: bool) -> bool:
        """Other reviewers' decisions on a record's screening page. A lead who screens sees
        them only once they have decided it themselves, so their own decision stays blind."""
        if not self.is_blind(stage):
            return True
        return self.lead and decided


def sight_for(review: Review) -> Sight:
    """The sight of the member the permission gate attached to `review`."""
    membership = getattr(review, "membership", None)
    return Sight(lead=bool(membership and membership.is_lead), blind=blind_stages(review))


def require_every_stage(review: Review, sight: Sight, what: str) -> None:
    """Refuse (403, said in words) a report that needs the team's screening of every stage."""
    if not sight.sees_every_stage:
        raise PermissionDenied(
            f"While screening is blind, {what} is shown to the review's leads only: its "
            "numbers follow from how the other reviewers decided."
        )


TEAM_FIGURES = ("team_resolved", "team_total", "team_awaiting", "conflicts")


def progress(review: Review, reviewer, stage: str, sight: Sight) -> dict:
    """The reviewer's progress; the team's figures only for those who may see them."""
    from screening.queue import progress as full_progress

    figures = full_progress(review, reviewer, stage)
    figures["team_shown"] = sight.sees_team(stage)
    if not figures["team_shown"]:
        for key in TEAM_FIGURES:
            figures.pop(key, None)
    return figures


def record_status_shown(sight: Sight, stage: str, state: RecordScreening | None) -> bool:
    """A record's status and outcome (resolved, in conflict, included) follow from every
    reviewer's decision: shown only where the team is in sight."""
    return state is not None and sight.sees_team(stage)
