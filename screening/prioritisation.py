"""Ordering a review's screening queue, and the stopping estimate shown to the team.

The ranker (`screening.ranking`, pure) learns from title/abstract decisions; this module
reads what it needs from the database, asks the ranker, and stores each record's place in
bulk (higher is screened sooner), so the queue stays one indexed query. It runs as a
background task every few decisions (`request_ranking`): a reviewer never waits for training.

Blind screening (`screening.blinding`) decides what the ranker may learn from. While title
and abstract screening is blind, each reviewer's queue is ranked by a model of their own,
trained only on their own decisions, the lead's known relevant records and the review's
keywords, and stored per reviewer in `ReviewerPriority`; `RecordScreening.priority` then
holds the keyword order, which depends on no decision. Otherwise one model learns from the
whole team's decisions and resolutions, and every reviewer shares its order.

A fitted TF-IDF space is kept in this process per review and reused while the review's
records stay the same; fitting is the expensive part (about 14 s per 100,000 abstracts),
retraining on decisions is not (well under a second).
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, Max, Min, OuterRef
from django.utils import timezone

from reviewmgr import bulk, permissions
from reviewmgr.models import Record, Review
from screening.models import (
    Decision,
    QueueOrder,
    Ranking,
    RecordScreening,
    Resolution,
    ReviewerPriority,
    ScreeningConfig,
    Stage,
    StoppingDecision,
    Verdict,
)
from screening.stopping import StoppingEstimate, stopping_test

if TYPE_CHECKING:
    from screening.ranking import Ranker

RELEVANT = {Verdict.INCLUDE, Verdict.MAYBE}
RANKING_LOCK_SECONDS = 10 * 60
FITTED_REVIEWS_KEPT = 4  # a 100k-record feature space takes a few hundred MB

_fitted: dict[int, tuple[tuple, Ranker, np.ndarray]] = {}
_fitted_lock = threading.Lock()


def record_text(title: str, abstract: str, keywords: list | None) -> str:
    return " ".join([title or "", abstract or "", " ".join(keywords or [])])


def _screened_records(review: Review):
    """Records that stand for a work at title/abstract: the rows the queue ranks."""
    return RecordScreening.objects.filter(review=review, stage=Stage.TITLE_ABSTRACT)


def _fitted_ranker(review: Review) -> tuple[Ranker, np.ndarray] | None:
    """The review's fitted feature space and the record ids of its rows, refitted only when
    the set of records changed (an import, a merge)."""
    from screening.ranking import Ranker  # scikit-learn: loaded by the process that ranks

    rows = _screened_records(review)
    shape = rows.aggregate(n=Count("pk"), low=Min("record_id"), high=Max("record_id"))
    if not shape["n"]:
        return None
    signature = (shape["n"], shape["low"], shape["high"])
    with _fitted_lock:
        cached = _fitted.get(review.pk)
    if cached is not None and cached[0] == signature:
        return cached[1], cached[2]
    ids = []
    records = (
        Record.objects.filter(pk__in=rows.values("record_id"))
        .order_by("pk")
        .values_list("pk", "title", "abstract", "keywords")
    )

    def texts():  # read as the ranker reads them: a large review is never all in memory
        for pk, title, abstract, keywords in records.iterator(chunk_size=5000):
            ids.append(pk)
            yield record_text(title, abstract, keywords)

    ranker = Ranker(seed=review.pk).fit(texts(), count=shape["n"])
    record_ids = np.asarray(ids, dtype=np.int64)
    with _fitted_lock:
        _fitted.pop(review.pk, None)
        while len(_fitted) >= FITTED_REVIEWS_KEPT:
            _fitted.pop(next(iter(_fitted)))
        _fitted[review.pk] = (signature, ranker, record_ids)
    return ranker, record_ids


def training_labels(review: Review) -> dict[int, bool]:
    """What the model learns from: a record is relevant if it was resolved as included (or
    maybe) at title/abstract, or, while unresolved, if any reviewer included it; irrelevant
    if resolved as excluded or every decision so far excludes it. Known relevant records
    count as relevant."""
    labels: dict[int, bool] = {}
    decisions = Decision.objects.filter(
        record__review=review, stage=Stage.TITLE_ABSTRACT
    ).values_list("record_id", "verdict")
    for record_id, verdict in decisions.iterator(chunk_size=5000):
        labels[record_id] = labels.get(record_id, False) or verdict in RELEVANT
    resolutions = Resolution.objects.filter(
        record__review=review, stage=Stage.TITLE_ABSTRACT
    ).values_list("record_id", "verdict")
    for record_id, verdict in resolutions:
        labels[record_id] = verdict in RELEVANT
    for record_id in review.records.filter(known_relevant=True).values_list("pk", flat=True):
        labels[record_id] = True
    return labels


def own_labels(review: Review, reviewer) -> dict[int, bool]:
    """What one reviewer's model learns from while screening is blind: their own title and
    abstract decisions and the lead's known relevant records. Nothing another reviewer
    decided, nor any resolution (which exists only because reviewers disagreed)."""
    labels = {
        record_id: verdict in RELEVANT
        for record_id, verdict in Decision.objects.filter(
            record__review=review, stage=Stage.TITLE_ABSTRACT, reviewer=reviewer
        ).values_list("record_id", "verdict")
    }
    for record_id in review.records.filter(known_relevant=True).values_list("pk", flat=True):
        labels[record_id] = True
    return labels


def ranked_per_reviewer(review: Review, config: ScreeningConfig | None = None) -> bool:
    """Whether each reviewer's queue has its own order: prioritised while title and abstract
    screening is blind (random and import order depend on no decision)."""
    from screening.blinding import stage_is_blind
    from screening.services import config_for

    config = config or config_for(review)
    return config.order == QueueOrder.PRIORITISED and stage_is_blind(review, Stage.TITLE_ABSTRACT)


@dataclass(frozen=True, slots=True)
class RankingOutcome:
    order: str
    records: int
    relevant_labels: int
    irrelevant_labels: int
    cold_start: bool
    seconds: float


def _priorities(
    review: Review,
    config: ScreeningConfig,
    labels: dict[int, bool] | None = None,
    seed_extra: int = 0,
) -> tuple[dict[int, float], dict]:
    """Priority per record id (higher first) under the review's queue order, learnt from
    `labels` (the team's by default)."""
    from screening.ranking import order_queue

    rows = list(_screened_records(review).order_by("record_id").values_list("record_id", flat=True))
    n = len(rows)
    details = {"relevant_labels": 0, "irrelevant_labels": 0, "cold_start": False}
    if config.order == QueueOrder.IMPORT:
        ordered = list(
            Record.objects.filter(pk__in=rows)
            .order_by("batch_id", "position")
            .values_list("pk", flat=True)
        )
        return {pk: float(n - place) for place, pk in enumerate(ordered)}, details
    if config.order == QueueOrder.RANDOM:
        permutation = np.random.default_rng(review.pk).permutation(n)
        return {pk: float(permutation[i]) for i, pk in enumerate(rows)}, details

    fitted = _fitted_ranker(review)
    if fitted is None:
        return {}, details
    ranker, record_ids = fitted
    position = {int(pk): i for i, pk in enumerate(record_ids)}
    labels = training_labels(review) if labels is None else labels
    labels = {pk: label for pk, label in labels.items() if pk in position}
    relevant = [position[pk] for pk, label in labels.items() if label]
    details["relevant_labels"] = len(relevant)
    details["irrelevant_labels"] = len(labels) - len(relevant)
    ranker.train([position[pk] for pk in labels], list(labels.values()))
    if ranker.is_trained:
        scores = ranker.scores()
    else:
        details["cold_start"] = True
        keywords = list(review.inclusion_keywords or [])
        scores = ranker.cold_start_scores(keywords=keywords, relevant_idx=relevant)
    # a fresh draw of exploration places each time, so no record is exploration's forever
    seed = review.pk * 1_000_003 + seed_extra + len(labels)
    order = order_queue(scores, exploration=config.exploration, seed=seed)
    priority = np.empty(len(order))
    priority[order] = np.arange(len(order), 0, -1)
    return {int(pk): float(priority[i]) for i, pk in enumerate(record_ids)}, details


def _known_relevant_labels(review: Review) -> dict[int, bool]:
    return dict.fromkeys(
        review.records.filter(known_relevant=True).values_list("pk", flat=True), True
    )


def _store_shared(review: Review, priorities: dict[int, float]) -> None:
    awaiting = RecordScreening.objects.filter(
        review=review, status=RecordScreening.Status.AWAITING
    ).values_list("pk", "record_id", "priority")
    rows = [
        [priorities[record_id], pk]
        for pk, record_id, old in awaiting.iterator(chunk_size=10000)
        if record_id in priorities and priorities[record_id] != old
    ]
    field = RecordScreening._meta.get_field("priority")
    with transaction.atomic():
        bulk.update_rows(RecordScreening, [field], rows)


def _store_personal(review: Review, reviewer_id: int, priorities: dict[int, float]) -> None:
    """One reviewer's places: a row per record (and stage) still waiting for their decision,
    rewritten where it changed. Reads the stage rows and the reviewer's rows once each."""
    mine = Decision.objects.filter(
        record_id=OuterRef("record_id"), stage=OuterRef("stage"), reviewer_id=reviewer_id
    )
    awaiting = (
        RecordScreening.objects.filter(review=review, status=RecordScreening.Status.AWAITING)
        .filter(~Exists(mine))
        .values_list("record_id", "stage")
    )
    wanted = {}
    for record_id, stage in awaiting.iterator(chunk_size=10000):
        if record_id in priorities:
            wanted[(record_id, stage)] = priorities[record_id]
    existing = ReviewerPriority.objects.filter(review=review, reviewer_id=reviewer_id).values_list(
        "pk", "record_id", "stage", "priority"
    )
    changed, stale, have = [], [], set()
    for pk, record_id, stage, old in existing.iterator(chunk_size=10000):
        new = wanted.get((record_id, stage))
        if new is None:
            stale.append(pk)
        else:
            have.add((record_id, stage))
            if new != old:
                changed.append([new, pk])
    fields = [
        ReviewerPriority._meta.get_field(name)
        for name in ("review", "stage", "reviewer", "record", "priority")
    ]
    missing = [
        [review.pk, stage, reviewer_id, record_id, priority]
        for (record_id, stage), priority in wanted.items()
        if (record_id, stage) not in have
    ]
    with transaction.atomic():
        for start in range(0, len(stale), 5000):
            ReviewerPriority.objects.filter(pk__in=stale[start : start + 5000]).delete()
        bulk.update_rows(ReviewerPriority, [ReviewerPriority._meta.get_field("priority")], changed)
        try:
            with transaction.atomic():
                bulk.insert_rows(ReviewerPriority, fields, missing)
        except IntegrityError:
            # another ranking (or an undo) placed some of them meanwhile: keep theirs
            ReviewerPriority.objects.bulk_create(
                [
                    ReviewerPriority(
                        review_id=row[0],
                        stage=row[1],
                        reviewer_id=row[2],
                        record_id=row[3],
                        priority=row[4],
                    )
                    for row in missing
                ],
                batch_size=2000,
                ignore_conflicts=True,
            )
    if len(missing) >= 5000:
        bulk.refresh_statistics(ReviewerPriority)


def _reviewer_ids(review: Review) -> list[int]:
    """Everyone whose queue is ranked: the review's reviewers."""
    return sorted(review.memberships.filter(is_reviewer=True).values_list("user_id", flat=True))


def rank_queue(*, review: Review, reviewer_ids: list[int] | None = None) -> RankingOutcome:
    """Order the review's queues (both stages) and store the order in bulk.

    While blind, the shared order comes from the keywords and known relevant records only,
    and each reviewer in `reviewer_ids` (by default those who asked for it since the last
    run, or all) gets their own order from their own decisions.

    Cost at 100,000 records: the priority update is one statement per 5,000 rows, per
    reviewer ranked; the first call after an import also fits the feature space (see the
    module docstring).
    """
    from screening.services import config_for

    started = time.perf_counter()
    config = config_for(review)
    personal = ranked_per_reviewer(review, config)
    if reviewer_ids is None:
        reviewer_ids = _take_requests(review) if personal else []
    if personal:
        priorities, details = _priorities(review, config, _known_relevant_labels(review))
        for reviewer_id in reviewer_ids:
            mine, _ = _priorities(
                review, config, own_labels(review, reviewer_id), seed_extra=reviewer_id * 7919
            )
            _store_personal(review, reviewer_id, mine)
    else:
        priorities, details = _priorities(review, config)
        ReviewerPriority.objects.filter(review=review).delete()
    _store_shared(review, priorities)
    outcome = RankingOutcome(
        order=config.order,
        records=len(priorities),
        seconds=round(time.perf_counter() - started, 3),
        **details,
    )
    Ranking.objects.update_or_create(
        review=review, defaults={**asdict(outcome), "ranked_at": timezone.now(), "error": ""}
    )
    return outcome


def _pending_key(review_id: int) -> str:
    return f"screening:decisions-since-ranking:{review_id}"


def _running_key(review_id: int) -> str:
    return f"screening:ranking:{review_id}"


ALL_REVIEWERS = 0


def _asked_key(review_id: int, reviewer_id: int) -> str:
    return f"screening:ranking-asked:{review_id}:{reviewer_id}"


def _take_requests(review: Review) -> list[int]:
    """The reviewers whose queues were asked to be reordered since the last run (all of
    them after an import, a settings change or a forced reordering)."""
    everyone = _reviewer_ids(review)
    keys = {reviewer_id: _asked_key(review.pk, reviewer_id) for reviewer_id in everyone}
    keys[ALL_REVIEWERS] = _asked_key(review.pk, ALL_REVIEWERS)
    asked = cache.get_many(list(keys.values()))
    cache.delete_many(list(asked))
    if keys[ALL_REVIEWERS] in asked or not asked:
        return everyone
    return [reviewer_id for reviewer_id in everyone if keys[reviewer_id] in asked]


def request_ranking(
    review: Review,
    *,
    decisions: int = 1,
    force: bool = False,
    config: ScreeningConfig | None = None,
    reviewer=None,
) -> bool:
    """Count decisions; once `retrain_every` have been made (or when forced, e.g. after an
    import), queue a ranking task for the review when the current transaction commits.

    While blind, decisions are counted per reviewer and only the reviewer who made them is
    reordered; a resolution (`reviewer` None) teaches their models nothing.

    At most one ranking per review is queued or running; a request that arrives meanwhile
    is remembered and served by one more run when the current one finishes. Returns whether
    a ranking was asked for.
    """
    from screening.services import config_for

    config = config or config_for(review)
    personal = ranked_per_reviewer(review, config)
    if personal and reviewer is None and not force:
        return False
    asker = reviewer.pk if personal and reviewer is not None and not force else ALL_REVIEWERS
    key = _pending_key(review.pk) + (f":{asker}" if personal else "")
    cache.add(key, 0, None)
    try:
        pending = cache.incr(key, decisions)
    except ValueError:  # evicted between add and incr
        pending = decisions
    if not force and (config.order != QueueOrder.PRIORITISED or pending < config.retrain_every):
        return False
    if personal:
        cache.set(key, 0, None)
    cache.set(_asked_key(review.pk, asker), True, None)
    transaction.on_commit(lambda: _enqueue_ranking(review.pk))
    return True


def _enqueue_ranking(review_id: int) -> None:
    from screening.tasks import rank_queue_task

    if not cache.add(_running_key(review_id), True, RANKING_LOCK_SECONDS):
        cache.set(_rerun_key(review_id), True, RANKING_LOCK_SECONDS)
        return
    cache.set(_pending_key(review_id), 0, None)
    try:
        rank_queue_task.enqueue(review_id)
    except Exception:
        cache.delete(_running_key(review_id))
        raise


def _rerun_key(review_id: int) -> str:
    return f"screening:ranking-again:{review_id}"


def ranking_finished(review_id: int) -> None:
    """Called by the task when it ends, however it ends."""
    cache.delete(_running_key(review_id))
    if cache.get(_rerun_key(review_id)):
        cache.delete(_rerun_key(review_id))
        _enqueue_ranking(review_id)


# Stopping -----------------------------------------------------------------------------------


def screening_history(review: Review, stage: str = Stage.TITLE_ABSTRACT) -> list[bool]:
    """Relevance of each screened record, in the order the team first decided on it."""
    first_seen: dict[int, object] = {}
    relevant: dict[int, bool] = {}
    decisions = (
        Decision.objects.filter(record__review=review, stage=stage)
        .order_by("created_at", "pk")
        .values_list("record_id", "verdict", "created_at")
    )
    for record_id, verdict, created in decisions.iterator(chunk_size=5000):
        first_seen.setdefault(record_id, created)
        relevant[record_id] = relevant.get(record_id, False) or verdict in RELEVANT
    for record_id, verdict in Resolution.objects.filter(
        record__review=review, stage=stage
    ).values_list("record_id", "verdict"):
        if record_id in relevant:
            relevant[record_id] = verdict in RELEVANT
    return [relevant[record_id] for record_id in first_seen]


RECALL_TARGET = 0.95
CONFIDENCE = 0.95


STOPPING_CACHE_SECONDS = 24 * 60 * 60


def stopping_test_for(review: Review, stage: str, history: list[bool]) -> StoppingEstimate:
    """The stopping test on `history`, kept in the cache for that exact history: the test
    costs seconds on a large review (one hypergeometric CDF per window, about 18 times over
    for the recall bound), and the dashboard is viewed far more often than it changes."""
    n_total = max(RecordScreening.objects.filter(review=review, stage=stage).count(), len(history))
    fingerprint = hashlib.blake2b(np.packbits(np.asarray(history, dtype=bool)).tobytes())
    fingerprint.update(f"{len(history)}:{n_total}:{RECALL_TARGET}:{CONFIDENCE}".encode())
    key = f"screening:stopping:{review.pk}:{stage}:{fingerprint.hexdigest()}"
    estimate = cache.get(key)
    if estimate is None:
        estimate = stopping_test(
            history, n_total, recall_target=RECALL_TARGET, confidence=CONFIDENCE
        )
        cache.set(key, estimate, STOPPING_CACHE_SECONDS)
    return estimate


def stopping_estimate(review: Review, stage: str = Stage.TITLE_ABSTRACT) -> StoppingEstimate:
    """The stopping rule applied to the team's screening so far (95% recall, 95% confidence).
    Reads every decision of the stage once."""
    return stopping_test_for(review, stage, screening_history(review, stage))


STOPS_KEY = "screening_stop"


def stopped(review: Review, stage: str) -> StoppingDecision | None:
    """The stop in force at this stage, if the lead's last word was to stop. Read once per
    request (see `permissions.remember`); stopping and resuming forget it."""

    def read() -> StoppingDecision | None:
        last = StoppingDecision.objects.filter(review=review, stage=stage).last()
        return last if last is not None and last.kind == StoppingDecision.Kind.STOPPED else None

    return permissions.remember(review, f"{STOPS_KEY}:{stage}", read)


def forget_stops(review: Review) -> None:
    for stage in Stage.values:
        permissions.forget(review, f"{STOPS_KEY}:{stage}")


def estimate_as_dict(estimate: StoppingEstimate) -> dict:
    def number(value):
        return None if value is None or value != value else round(float(value), 4)

    return {
        "p_value": number(estimate.p_value),
        "should_stop": estimate.should_stop,
        "n_screened": estimate.n_screened,
        "n_relevant_found": estimate.n_relevant_found,
        "estimated_relevant_total": number(estimate.estimated_relevant_total),
        "estimated_recall": number(estimate.estimated_recall),
        "recall_lower_bound": number(estimate.recall_lower_bound),
        "methods": estimate.methods_log(),
    }
