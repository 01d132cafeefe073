"""Screening prioritisation: the ranker, the replay simulation and its metrics, the stopping
rule. Pure code: no database, small data, fast."""

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from screening.ranking import Ranker, order_queue
from screening.simulation import (
    draw_priors,
    metrics_from_order,
    plot_recall_curve,
    result_from_order,
    simulate,
)
from screening.stopping import stopping_test

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "screening"


def wilson_subset(n_irrelevant: int = 300, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Every relevant record of the Wilson set plus a random sample of irrelevant ones,
    shuffled (the file lists its relevant records first)."""
    path = CORPUS / "wilson_AppenzellerHerzog2019.csv"
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"The shared corpus is missing at {CORPUS}; CI must have it.")
        pytest.skip(f"the shared corpus is not beside the checkout ({CORPUS})")
    frame = pd.read_csv(path)
    rng = np.random.default_rng(seed)
    relevant = np.flatnonzero(frame["included"] == 1)
    irrelevant = rng.choice(np.flatnonzero(frame["included"] == 0), n_irrelevant, replace=False)
    rows = rng.permutation(np.concatenate([relevant, irrelevant]))
    subset = frame.iloc[rows]
    texts = (subset["title"].fillna("") + " " + subset["abstract"].fillna("")).tolist()
    return texts, subset["included"].to_numpy().astype(bool)


# the ranker


def test_replaying_a_real_review_finds_relevant_records_far_sooner_than_random_order():
    texts, labels = wilson_subset()

    result = simulate(texts, labels, seed=3, batch_size=4)

    # random order would give WSS@95 near 0 and recall@10% near 10
    assert result.metrics.wss95 > 50
    assert result.metrics.recall_at_10 > 60
    assert sorted(result.order.tolist()) == list(range(len(texts)))
    assert result.order[:2].tolist() == [result.prior_relevant, result.prior_irrelevant]


def test_trained_ranker_scores_unseen_relevant_records_above_unseen_irrelevant_ones():
    texts, labels = wilson_subset(seed=1)
    ranker = Ranker(seed=0).fit(texts)
    rng = np.random.default_rng(0)
    train = rng.permutation(len(texts))[: len(texts) // 2]
    test = np.setdiff1d(np.arange(len(texts)), train)

    ranker.train(train, labels[train])
    scores = ranker.scores(test)

    # probability that a random unseen relevant record outranks a random irrelevant one
    relevant, irrelevant = scores[labels[test]], scores[~labels[test]]
    auc = (relevant[:, None] > irrelevant[None, :]).mean()
    assert auc > 0.9
    assert np.allclose(scores, ranker.scores()[test])


def test_cold_start_with_keywords_puts_keyword_records_first():
    texts = [
        "Zinc therapy for Wilson disease: copper balance in children",
        "Trends in hospital admissions for asthma",
        "Copper chelation with trientine in hepatic Wilson disease",
        "A survey of nurse staffing levels",
        "Penicillamine and copper excretion: a cohort study",
        "Cost of hip replacement surgery in rural hospitals",
    ]
    ranker = Ranker().fit(texts)

    scores = ranker.cold_start_scores(keywords=["copper", "Wilson disease"])

    first_three = set(order_queue(scores, exploration=0)[:3].tolist())
    assert first_three == {0, 2, 4}


def test_cold_start_from_a_relevant_record_ranks_its_neighbours_first():
    texts = [
        "Copper chelation with trientine in Wilson disease",
        "Hospital parking fees and patient satisfaction",
        "Trientine versus penicillamine for copper overload in Wilson disease",
        "Parking fees at teaching hospitals",
    ]
    ranker = Ranker().fit(texts)

    # one relevant decision only: the classifier cannot be trained yet
    ranker.train([0], [True])
    scores = ranker.scores()

    assert not ranker.is_trained
    assert scores[2] > scores[1]
    assert scores[2] > scores[3]


def test_an_untrained_ranker_without_any_seed_scores_every_record_equally():
    ranker = Ranker().fit(["alpha beta", "gamma delta", "epsilon"])

    assert np.all(ranker.scores() == 0)


def test_order_queue_without_exploration_is_the_ranking_with_random_tie_breaks():
    scores = np.array([0.1, 0.9, 0.5, 0.5, 0.5, 0.0])

    order = order_queue(scores, exploration=0, seed=1)

    assert order[0] == 1
    assert set(order[1:4].tolist()) == {2, 3, 4}
    assert order[-1] == 5
    tie_orders = {tuple(order_queue(scores, exploration=0, seed=s)[1:4]) for s in range(20)}
    assert len(tie_orders) > 1


def test_order_queue_exploration_brings_some_low_scored_records_forward():
    scores = np.linspace(1, 0, 1000)

    order = order_queue(scores, exploration=0.1, seed=0)

    assert sorted(order.tolist()) == list(range(1000))
    assert (order[:100] >= 500).sum() > 0
    assert (order[:100] < 100).sum() > 80


# metrics


def test_metrics_of_a_perfect_order_match_a_hand_computation():
    """Priors first, then 100 records with the 10 relevant ones on top.
    Random order's progress is round(i * 10 / 99): it reaches its 9th relevant record at
    index 85 and its 10th at index 95 (0-based). WSS@95 uses j = 9 (the largest j with
    j / 10 <= 0.95): (85 - 8) / 100 = 77%. WSS@100: (95 - 9) / 100 = 86%. The first 10% of
    records hold all 10 relevant ones: recall@10% = 100%. n_to_95 = 9."""
    labels = np.array([True, False] + [True] * 10 + [False] * 90)
    order = np.arange(102)

    metrics = metrics_from_order(order, labels, n_prior=2)

    assert metrics.n_records == 100
    assert metrics.n_relevant == 10
    assert metrics.wss95 == pytest.approx(77.0)
    assert metrics.wss100 == pytest.approx(86.0)
    assert metrics.recall_at_10 == pytest.approx(100.0)
    assert metrics.n_to_95 == 9


def test_metrics_of_the_worst_order_are_negative():
    """The 10 relevant records last: the 9th is reached at index 98 (WSS@95 =
    (85 - 98) / 100 = -13%), the 10th at 99 (WSS@100 = (95 - 99) / 100 = -4%)."""
    labels = np.array([True, False] + [False] * 90 + [True] * 10)

    metrics = metrics_from_order(np.arange(102), labels)

    assert metrics.wss95 == pytest.approx(-13.0)
    assert metrics.wss100 == pytest.approx(-4.0)
    assert metrics.recall_at_10 == pytest.approx(0.0)
    assert metrics.n_to_95 == 99


def test_an_order_that_stops_after_the_last_relevant_record_is_padded():
    labels = np.array([True, False] + [True] * 10 + [False] * 90)

    full = metrics_from_order(np.arange(102), labels)
    stopped = metrics_from_order(np.arange(12), labels)

    assert stopped == full


def test_an_order_that_leaves_out_a_relevant_record_is_refused():
    labels = np.array([True, False, True, False])

    with pytest.raises(ValueError, match="include relevant"):
        metrics_from_order([0, 1, 3], labels)


def test_an_order_that_screens_a_record_twice_is_refused():
    with pytest.raises(ValueError, match="twice"):
        metrics_from_order([0, 1, 1], [True, False, True])


def test_a_result_built_from_another_tools_order_carries_its_priors(tmp_path):
    labels = np.array([True, False] + [True] * 10 + [False] * 90)

    result = result_from_order(range(102), labels)
    image = plot_recall_curve(result, tmp_path / "recall.png", others=[("other", result)])

    assert (result.prior_relevant, result.prior_irrelevant) == (0, 1)
    assert result.metrics.wss95 == pytest.approx(77.0)
    assert image.stat().st_size > 0


def test_priors_drawn_with_a_seed_are_one_relevant_and_one_irrelevant_record():
    labels = np.array([False] * 50 + [True] * 5)

    relevant, irrelevant = draw_priors(labels, seed=4)

    assert labels[relevant]
    assert not labels[irrelevant]
    assert draw_priors(labels, seed=4) == (relevant, irrelevant)


# stopping rule


def test_stopping_p_value_matches_a_hand_computed_hypergeometric_case():
    """20 records, 10 screened: 3 relevant then 7 irrelevant; target 95%.
    For the last k <= 7 records (no relevant among them) recall < 95% needs at least one
    relevant record in an urn of 10 + k, so p = P(0 of 1 relevant drawn in k draws) =
    10 / (10 + k), smallest at k = 7: 10 / 17 = 0.5882. Longer windows give larger p. The
    same value comes out of the authors' buscarpy 0.0.2 calculate_h0."""
    labels = [True, True, True] + [False] * 7

    estimate = stopping_test(labels, 20, recall_target=0.95)

    assert estimate.p_value == pytest.approx(10 / 17)
    assert not estimate.should_stop
    assert estimate.n_relevant_found == 3


def test_a_long_run_of_irrelevant_records_lets_the_team_stop():
    """1,000 records, 900 screened: 20 relevant among the first 50, then 850 irrelevant.
    Recall < 95% needs 2 relevant records left (floor(20 / 0.95 - 20) + 1). With the last
    850 records in an urn of 950, p = (100 * 99) / (950 * 949) = 0.010981 (buscarpy 0.0.2
    agrees)."""
    labels = np.zeros(900, dtype=bool)
    labels[np.linspace(0, 49, 20).astype(int)] = True

    estimate = stopping_test(labels, 1000, recall_target=0.95, confidence=0.95)

    assert estimate.p_value == pytest.approx(9900 / 901550)
    assert estimate.should_stop
    assert estimate.recall_lower_bound >= 0.95
    assert 0.95 < estimate.estimated_recall <= 1
    assert estimate.parameters["recall_target"] == 0.95
    assert "p = 0.01098" in estimate.methods_log()


def test_stopping_before_screening_anything_is_never_advised():
    estimate = stopping_test([], 100)

    assert estimate.p_value == 1.0
    assert not estimate.should_stop
    assert estimate.estimated_recall is None


def test_everything_screened_means_recall_is_certain():
    estimate = stopping_test([True, False, True, False], 4)

    assert estimate.p_value == 0.0
    assert estimate.should_stop
    assert estimate.recall_lower_bound == 1.0
    assert estimate.estimated_relevant_total == 2


# Large reviews: hashed features -------------------------------------------------------------


def test_hashed_features_are_scikit_learns_tfidf_in_a_hashed_space():
    from scipy import sparse
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.preprocessing import normalize

    from screening.ranking import HashedTfidf

    words = ["IL-6", "TNF", "IL-1b", "BDNF", "NGF"] * 8
    texts = [f"platelet rich plasma {w} neuropathic pain rat {i}" for i, w in enumerate(words)]
    texts += ["", "pain pain pain"]
    hashed = HashedTfidf()
    hashed.chunk = 7  # several chunks
    blocks = hashed.fit_transform(iter(texts))
    assert len(blocks.blocks) == 6  # kept in its chunks, never stacked into a copy
    ours = blocks[np.arange(len(texts))]
    counts = HashingVectorizer(
        n_features=2**20, ngram_range=(1, 2), alternate_sign=False, norm=None
    ).transform(texts)
    frequency = np.diff(counts.tocsc().indptr)
    kept = sparse.diags((frequency <= 0.95 * len(texts)).astype(float))
    theirs = normalize(TfidfTransformer(sublinear_tf=True, norm=None).fit_transform(counts) @ kept)
    assert ours.shape == theirs.shape == (len(texts), 2**20)
    assert abs(ours - theirs).max() < 1e-6
    assert ours[len(texts) - 2].nnz == 0  # an empty record stays empty, not NaN
    vector = np.random.default_rng(1).random(2**20)
    assert np.allclose(blocks @ vector, theirs @ vector, atol=1e-5)
    picked = [40, 3, 17, 3, 0]  # any rows, in the order asked, across chunks, repeated
    assert abs(blocks[picked] - theirs[picked]).max() < 1e-6
    assert abs(hashed.transform(["IL-6 neuropathic pain"]) - normalize(
        TfidfTransformer(sublinear_tf=True, norm=None).fit(counts).transform(
            HashingVectorizer(n_features=2**20, ngram_range=(1, 2), alternate_sign=False,
                              norm=None).transform(["IL-6 neuropathic pain"])) @ kept
    )).max() < 1e-6  # fmt: skip


def test_a_large_review_is_read_once_as_a_stream_and_ranked_in_the_hashed_space(monkeypatch):
    from screening import ranking

    monkeypatch.setattr(ranking, "BOUNDED_FROM", 10)
    relevant = "platelet-rich plasma lowers IL-6 in neuropathic pain"
    texts = [relevant + f" study {i}" for i in range(6)] + [
        f"statins and stroke in the elderly cohort {i}" for i in range(30)
    ]
    reads = []

    def stream():
        for text in texts:
            reads.append(1)
            yield text

    ranker = Ranker(seed=1).fit(stream(), count=len(texts))
    assert len(reads) == len(texts)  # one pass, never held as a list by the caller
    assert isinstance(ranker._word_vectoriser, ranking.HashedTfidf)
    ranker.train([0, 10], [True, False])
    order = np.argsort(-ranker.scores())
    assert set(order[:6]) == set(range(6))
    small = Ranker(seed=1).fit(texts[3:9], count=6)
    assert not isinstance(small._word_vectoriser, ranking.HashedTfidf)
