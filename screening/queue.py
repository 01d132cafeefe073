"""Which record a reviewer sees next, and the progress figures around it.

While screening is blind each reviewer has their own order (`ReviewerPriority`, learnt
from their own decisions only); otherwise reviewers share one order (priority, then import
order). Either way several people may reach the same record, and without care twenty people
would all open it and all but two would be turned away. A record served to a
reviewer therefore has one of its places claimed for a while in the cache, and the queue
passes over records whose places are all claimed by others. Claims are advice, not locks:
the decision service still refuses a decision too many.
"""

from __future__ import annotations

from collections.abc import Collection

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Exists, OuterRef

from reviewmgr.models import Record, Review
from screening.models import Decision, RecordScreening, ReviewerPriority, Stage

CLAIM_SECONDS = 15 * 60
CANDIDATES = 40
COUNTS_SECONDS = 10 * 60  # bounds any drift between the counters and the rows


def _place_key(stage: str, record_id: int, place: int) -> str:
    return f"screening:claim:{stage}:{record_id}:{place}"


def next_record(
    review: Review, reviewer, stage: str, skipping: Collection[int] = ()
) -> RecordScreening | None:
    """The first queued record with a place left for this reviewer; claims that place.

    Each place a record still has (required minus decisions made) is one cache key, taken
    with an atomic add, so reviewers arriving at the same instant cannot claim the same place.
    Records in `skipping` (ids the reviewer skipped) are passed over. The candidates are
    read without their records; the one served gets its record (one more query by key).
    """
    state = _claim_one(review, reviewer, stage, skipping)
    if state is not None:
        state.record = Record.objects.defer("source_record").get(pk=state.record_id)
    return state


def _claim_one(
    review: Review, reviewer, stage: str, skipping: Collection[int]
) -> RecordScreening | None:
    candidates = in_order(review, reviewer, stage, CANDIDATES, skipping=skipping)
    if not candidates:
        return None
    places = {
        state.record_id: [_place_key(stage, state.record_id, n) for n in range(state.required)]
        for state in candidates
    }
    holders = cache.get_many([key for keys in places.values() for key in keys])
    # Decisions counted after the claims were read: a reviewer who decided in between has
    # already given back their place, so a count read before the claims would show the place
    # free twice (and a third reviewer would be turned away at the decision).
    decided = dict(
        RecordScreening.objects.filter(pk__in=[state.pk for state in candidates]).values_list(
            "pk", "decision_count"
        )
    )
    for state in candidates:
        keys = places[state.record_id]
        if any(holders.get(key) == reviewer.pk for key in keys):
            return state  # already this reviewer's
        held_by_others = sum(key in holders for key in keys)
        if decided.get(state.pk, state.required) + held_by_others >= state.required:
            continue  # the remaining places are being read by others
        for key in keys:
            if key not in holders and cache.add(key, reviewer.pk, CLAIM_SECONDS):
                return state
    return candidates[0]  # every place is claimed: work on anyway, the service has the last word


def in_order(
    review: Review, reviewer, stage: str, limit: int, *, skipping: Collection[int] = ()
) -> list[RecordScreening]:
    """The first `limit` records waiting for `reviewer` at `stage`, in their queue order
    (their states only: the records are not read).

    While blind: the reviewer's own places first (one index read, pages of them in case a
    few are stale), then records that have no place for them yet (new since the last
    ranking) in the keyword order. Otherwise the shared order. After a stop, only records
    that already have a decision are offered, in the keyword (or shared) order.
    """
    from screening.prioritisation import ranked_per_reviewer, stopped

    rows = RecordScreening.objects.for_stage(review, stage).awaiting(reviewer, stage)
    if skipping:
        rows = rows.exclude(record_id__in=list(skipping))
    if stopped(review, stage):
        rows = rows.filter(decision_count__gt=0)  # only second opinions after a stop
        return list(rows.by_priority()[:limit])
    if not ranked_per_reviewer(review):
        return list(rows.by_priority()[:limit])
    places = ReviewerPriority.objects.filter(review=review, stage=stage, reviewer=reviewer)
    ordered = places.order_by("-priority", "record_id").values_list("record_id", flat=True)
    found: list[RecordScreening] = []
    start, page = 0, max(limit, 50)
    while len(found) < limit:
        ids = list(ordered[start : start + page])
        if not ids:
            break
        states = {s.record_id: s for s in rows.filter(record_id__in=ids)}
        found += [states[pk] for pk in ids if pk in states]
        start += page
    if len(found) < limit:
        placed = places.filter(record_id=OuterRef("record_id"))
        unplaced = rows.filter(~Exists(placed)).by_priority()
        found += list(unplaced[: limit - len(found)])
    return found[:limit]


def keep_places(
    state: RecordScreening, *, deciders: set[int], was: str, withdrawn: int | None = None
) -> None:
    """Keep reviewers' own places in step with a record's decisions (the caller holds the
    record's lock): a reviewer who decided gives up their place, a record that no longer
    waits leaves every queue, and one that waits again gets a place back, at its keyword
    priority until the next ranking: for every reviewer without a decision when a lead
    reopened it, for the reviewer alone when they withdrew their own. Nobody's places move
    because someone else decided. Two small statements at most."""
    from screening.prioritisation import ranked_per_reviewer

    places = ReviewerPriority.objects.filter(record_id=state.record_id, stage=state.stage)
    if state.status != RecordScreening.Status.AWAITING:
        places.delete()
        return
    if deciders:
        places.filter(reviewer_id__in=deciders).delete()
    if was == RecordScreening.Status.AWAITING and withdrawn is None:
        return
    review = state.review
    if not ranked_per_reviewer(review):
        return
    if was == RecordScreening.Status.AWAITING:
        candidates = {withdrawn}
    else:
        candidates = set(
            review.memberships.filter(is_reviewer=True).values_list("user_id", flat=True)
        )
    missing = candidates - deciders - set(places.values_list("reviewer_id", flat=True))
    ReviewerPriority.objects.bulk_create(
        [
            ReviewerPriority(
                review_id=state.review_id,
                stage=state.stage,
                reviewer_id=reviewer_id,
                record_id=state.record_id,
                priority=state.priority,
            )
            for reviewer_id in sorted(_with_places(state, missing))
        ],
        ignore_conflicts=True,  # a ranking running at the same moment may have placed it
    )


def _with_places(state: RecordScreening, reviewers: set[int]) -> set[int]:
    """Of `reviewers`, those who have a queue of their own at the record's stage (a reviewer
    without one is served from the keyword order until their first ranking)."""
    return {
        reviewer_id
        for reviewer_id in reviewers
        if ReviewerPriority.objects.filter(
            review_id=state.review_id, stage=state.stage, reviewer_id=reviewer_id
        ).exists()
    }


def release_claim(stage: str, record_id: int, reviewer) -> None:
    """Once decided (or overtaken), the reviewer's place is given back."""
    keys = [_place_key(stage, record_id, place) for place in range(3)]
    for key, holder in cache.get_many(keys).items():
        if holder == reviewer.pk:
            cache.delete(key)


STATUSES = tuple(RecordScreening.Status.values)


def _count_keys(review_id: int, stage: str) -> dict[str, str]:
    return {status: f"screening:count:{review_id}:{stage}:{status}" for status in STATUSES}


def team_counts(review: Review, stage: str) -> dict[str, int]:
    """Records per status at a stage: counted once, then kept exact by `count_change`.

    At 100k records a count is a scan; decisions move one record at a time, so the figures
    are adjusted as they commit and only recounted when a bulk change dropped them.
    """
    keys = _count_keys(review.pk, stage)
    cached = cache.get_many(list(keys.values()))
    if len(cached) == len(keys):
        by_status = {status: cached[key] for status, key in keys.items()}
    else:
        rows = RecordScreening.objects.for_stage(review, stage)
        counted = dict(rows.values_list("status").annotate(n=Count("pk")).order_by())
        by_status = {status: counted.get(status, 0) for status in STATUSES}
        cache.set_many({keys[s]: n for s, n in by_status.items()}, COUNTS_SECONDS)
    # Reports not retrieved wait for a PDF, not for a decision (few rows: counted each time).
    not_retrieved = 0
    if stage == Stage.FULL_TEXT:
        not_retrieved = (
            RecordScreening.objects.for_stage(review, stage)
            .not_retrieved()
            .filter(status=RecordScreening.Status.AWAITING)
            .count()
        )
    return {
        "total": sum(by_status.values()),
        "awaiting": by_status[RecordScreening.Status.AWAITING] - not_retrieved,
        "not_retrieved": not_retrieved,
        "resolved": by_status[RecordScreening.Status.RESOLVED],
        "conflicts": by_status[RecordScreening.Status.CONFLICT],
    }


def count_change(review_id: int, stage: str, old: str, new: str) -> None:
    """After the transaction commits, move one record from `old` to `new` in the counts."""
    if old == new:
        return
    keys = _count_keys(review_id, stage)

    def apply() -> None:
        try:
            cache.decr(keys[old])
            cache.incr(keys[new])
        except ValueError:  # not counted yet (or expired): the next reader recounts
            cache.delete_many(list(keys.values()))

    transaction.on_commit(apply)


def forget_counts(review_id: int, stages: Collection[str] = tuple(Stage.values)) -> None:
    """After a bulk change (imports, merges) or a record entering or leaving a stage:
    recount on the next read (a scan of the stage's rows: name only the stages changed)."""
    keys = [key for stage in stages for key in _count_keys(review_id, stage).values()]
    transaction.on_commit(lambda: cache.delete_many(keys))


def progress(review: Review, reviewer, stage: str) -> dict:
    """My progress and the team's. One query for mine (the team's counts are cached)."""
    team = team_counts(review, stage)
    awaiting = RecordScreening.objects.filter(
        record_id=OuterRef("record_id"), stage=stage, status=RecordScreening.Status.AWAITING
    )
    if stage == Stage.FULL_TEXT:
        awaiting = awaiting.exclude(record__full_text__not_retrieved=True)
    mine = Decision.objects.filter(record__review=review, stage=stage, reviewer=reviewer)
    counted = mine.aggregate(done=Count("pk"), on_awaiting=Count("pk", filter=Exists(awaiting)))
    mine_done = counted["done"]
    mine_left = max(team["awaiting"] - counted["on_awaiting"], 0)
    return {
        "mine_done": mine_done,
        "mine_left": mine_left,
        "mine_total": mine_done + mine_left,
        "team_awaiting": team["awaiting"],
        "team_resolved": team["resolved"],
        "not_retrieved": team["not_retrieved"],
        "team_total": team["total"],
        "conflicts": team["conflicts"],
    }
