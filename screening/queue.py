"""Which record a reviewer sees next, and the progress figures around it.

Reviewers share one queue order (priority, then import order), so without care twenty people
would all open the same record and all but two would be turned away. A record served to a
reviewer therefore has one of its places claimed for a while in the cache, and the queue
passes over records whose places are all claimed by others. Claims are advice, not locks:
the decision service still refuses a decision too many.
"""

from __future__ import annotations

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count

from reviewmgr.models import Review
from screening.models import Decision, RecordScreening, Stage

CLAIM_SECONDS = 15 * 60
CANDIDATES = 40
COUNTS_SECONDS = 10 * 60  # bounds any drift between the counters and the rows


def _place_key(stage: str, record_id: int, place: int) -> str:
    return f"screening:claim:{stage}:{record_id}:{place}"


def next_record(review: Review, reviewer, stage: str) -> RecordScreening | None:
    """The first queued record with a place left for this reviewer; claims that place.

    Each place a record still has (required minus decisions made) is one cache key, taken
    with an atomic add, so reviewers arriving at the same instant cannot claim the same place.
    """
    from screening.prioritisation import stopped

    rows = RecordScreening.objects.for_stage(review, stage).awaiting(reviewer, stage)
    if stopped(review, stage):
        rows = rows.filter(decision_count__gt=0)  # only second opinions after a stop
    candidates = list(rows.by_priority().select_related("record")[:CANDIDATES])
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
    return {
        "total": sum(by_status.values()),
        "awaiting": by_status[RecordScreening.Status.AWAITING],
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


def forget_counts(review_id: int) -> None:
    """After a bulk change (imports, merges): recount on the next read."""
    keys = [key for stage in Stage.values for key in _count_keys(review_id, stage).values()]
    transaction.on_commit(lambda: cache.delete_many(keys))


def progress(review: Review, reviewer, stage: str) -> dict:
    """My progress and the team's."""
    team = team_counts(review, stage)
    mine = Decision.objects.filter(record__review=review, stage=stage, reviewer=reviewer)
    mine_done = mine.count()
    mine_on_awaiting = mine.filter(
        record__screenings__stage=stage,
        record__screenings__status=RecordScreening.Status.AWAITING,
    ).count()
    mine_left = max(team["awaiting"] - mine_on_awaiting, 0)
    return {
        "mine_done": mine_done,
        "mine_left": mine_left,
        "mine_total": mine_done + mine_left,
        "team_resolved": team["resolved"],
        "team_total": team["total"],
        "conflicts": team["conflicts"],
    }
