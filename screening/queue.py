"""Which record a reviewer sees next, and the progress figures around it.

Reviewers share one queue order (priority, then import order), so without care twenty people
would all open the same record and all but two would be turned away. A record served to a
reviewer is therefore claimed for a while in the cache, and the queue passes over records
whose remaining places are claimed by others. Claims are advice, not locks: the decision
service still refuses a decision too many.
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


def _claim_key(stage: str, record_id: int) -> str:
    return f"screening:claim:{stage}:{record_id}"


def next_record(review: Review, reviewer, stage: str) -> RecordScreening | None:
    """The first queued record with a place left for this reviewer; claims it for them."""
    candidates = list(
        RecordScreening.objects.for_stage(review, stage)
        .awaiting(reviewer, stage)
        .by_priority()
        .select_related("record")[:CANDIDATES]
    )
    if not candidates:
        return None
    keys = {state.record_id: _claim_key(stage, state.record_id) for state in candidates}
    claims = cache.get_many(list(keys.values()))
    chosen = candidates[0]
    for state in candidates:
        others = set(claims.get(keys[state.record_id], ())) - {reviewer.pk}
        if len(others) < state.required - state.decision_count:
            chosen = state
            break
    claimants = set(claims.get(keys[chosen.record_id], ())) | {reviewer.pk}
    cache.set(keys[chosen.record_id], sorted(claimants), CLAIM_SECONDS)
    return chosen


def release_claim(stage: str, record_id: int, reviewer) -> None:
    """Once decided, the reviewer's claim is spent (their decision now counts instead)."""
    key = _claim_key(stage, record_id)
    claimants = set(cache.get(key, ())) - {reviewer.pk}
    if claimants:
        cache.set(key, sorted(claimants), CLAIM_SECONDS)
    else:
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
