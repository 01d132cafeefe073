"""The screening queue is ranked by likely relevance, retrains as people screen, can be
switched off, and the team sees a stopping estimate and can log a decision to stop."""

import json

import numpy as np
import pandas as pd
import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from reviewmgr import services as core
from screening import prioritisation, queue, services
from screening.models import (
    QueueOrder,
    Ranking,
    RecordScreening,
    Stage,
    StoppingDecision,
    Verdict,
)
from tests.conftest import corpus_path, make_record

TA = Stage.TITLE_ABSTRACT

RELEVANT_TITLES = [
    "Platelet-rich plasma injections for diabetic peripheral neuropathy: a randomised trial",
    "Perineural platelet-rich plasma reduces allodynia after chronic constriction injury",
    "Epidural platelet-rich plasma for lumbar radiculopathy and sciatica",
    "Platelet-rich plasma lowers IL-6 and TNF in a rat model of neuropathic pain",
    "Intradiscal platelet-rich plasma for degenerative disc disease with back pain",
    "Platelet-rich plasma for postherpetic neuralgia: a pilot study",
]
IRRELEVANT_TITLES = [
    "Statin therapy and cardiovascular events in the elderly",
    "School-based nutrition programmes and childhood obesity",
    "Antibiotic prophylaxis before dental extraction",
    "Glycaemic control with insulin pumps in type 1 diabetes",
    "Screen time and sleep quality in adolescents",
    "Hand hygiene compliance in intensive care units",
    "Bariatric surgery outcomes at ten years",
    "Vitamin D supplementation and fracture risk",
    "Smoking cessation counselling in primary care",
    "Air pollution and asthma admissions in cities",
    "Cataract surgery under topical anaesthesia",
    "Exercise training after myocardial infarction",
]


@pytest.fixture
def mixed_review(review):
    """Irrelevant records imported first, relevant ones last: import order is the worst."""
    records = [make_record(review, title) for title in IRRELEVANT_TITLES]
    records += [make_record(review, title) for title in RELEVANT_TITLES]
    services.sync_screening_rows(review=review)
    return review


def queue_titles(review, reviewer, n: int) -> list[str]:
    """The reviewer's queue as they get it (their own order while screening is blind)."""
    return [state.record.title for state in queue.in_order(review, reviewer, TA, n)]


def is_relevant(title: str) -> bool:
    return title in RELEVANT_TITLES


def test_cold_start_ranks_by_the_reviews_inclusion_keywords(mixed_review, reviewer):
    mixed_review.inclusion_keywords = ["platelet-rich plasma", "neuropathic", "radiculopathy"]
    mixed_review.save()
    config = services.config_for(mixed_review)
    config.exploration = 0
    config.save()

    outcome = prioritisation.rank_queue(review=mixed_review)

    assert outcome.cold_start
    assert all(is_relevant(title) for title in queue_titles(mixed_review, reviewer, 6))


def test_cold_start_ranks_records_like_the_known_relevant_ones_first(mixed_review, reviewer):
    config = services.config_for(mixed_review)
    config.exploration = 0
    config.save()
    seed = mixed_review.records.get(title=RELEVANT_TITLES[0])
    core.mark_known_relevant(review=mixed_review, record_ids=[seed.pk])

    prioritisation.rank_queue(review=mixed_review)

    top = queue_titles(mixed_review, reviewer, 3)
    assert top[0] == RELEVANT_TITLES[0]
    assert all(is_relevant(title) for title in top)


@pytest.mark.parametrize("hashed", [False, True], ids=["vocabulary", "hashed"])
def test_the_queue_retrains_in_the_background_after_every_few_decisions(
    mixed_review, reviewer, django_capture_on_commit_callbacks, monkeypatch, hashed
):
    """`hashed`: as a review of BOUNDED_FROM records or more is ranked, read from the
    database as a stream into hashed features (the threshold lowered to this small review)."""
    from screening import ranking

    if hashed:
        monkeypatch.setattr(ranking, "BOUNDED_FROM", 10)
    config = services.config_for(mixed_review)
    config.retrain_every, config.exploration = 3, 0
    config.save()
    # the reviewer starts in import order: irrelevant records first
    first = mixed_review.records.filter(title__in=IRRELEVANT_TITLES[:2])
    relevant = mixed_review.records.get(title=RELEVANT_TITLES[3])

    with django_capture_on_commit_callbacks(execute=True):
        for record in first:
            services.record_decision(record=record, user=reviewer, stage=TA, verdict="exclude")
    assert not Ranking.objects.filter(review=mixed_review).exists()  # two decisions: not yet

    with django_capture_on_commit_callbacks(execute=True):
        services.record_decision(record=relevant, user=reviewer, stage=TA, verdict="include")

    assert Ranking.objects.filter(review=mixed_review).exists()
    fitted, _ = prioritisation._fitted_ranker(mixed_review)
    assert isinstance(fitted._word_vectoriser, ranking.HashedTfidf) == hashed
    # the five other relevant records now lead the reviewer's queue
    assert all(is_relevant(title) for title in queue_titles(mixed_review, reviewer, 5))


def test_without_blind_mode_one_model_learns_from_the_whole_team(
    mixed_review, reviewer, second_reviewer, django_capture_on_commit_callbacks
):
    config = services.config_for(mixed_review)
    config.retrain_every, config.exploration, config.blind = 3, 0, False
    config.save()
    excluded = mixed_review.records.filter(title__in=IRRELEVANT_TITLES[:2])
    relevant = mixed_review.records.get(title=RELEVANT_TITLES[3])

    with django_capture_on_commit_callbacks(execute=True):
        for record in excluded:
            services.record_decision(record=record, user=reviewer, stage=TA, verdict="exclude")
        services.record_decision(record=relevant, user=reviewer, stage=TA, verdict="include")

    ranking = Ranking.objects.get(review=mixed_review)
    assert not ranking.cold_start
    assert (ranking.relevant_labels, ranking.irrelevant_labels) == (1, 2)
    # the other reviewer's queue learnt from the first reviewer's decisions
    assert all(is_relevant(title) for title in queue_titles(mixed_review, second_reviewer, 5))


def test_an_import_ranks_the_new_records_at_once(review, lead, django_capture_on_commit_callbacks):
    review.inclusion_keywords = ["platelet-rich plasma"]
    review.save()
    config = services.config_for(review)
    config.exploration = 0
    config.save()
    ris = "".join(
        f"TY  - JOUR\nTI  - {title}\nER  - \n\n" for title in IRRELEVANT_TITLES + RELEVANT_TITLES
    ).encode()

    with django_capture_on_commit_callbacks(execute=True):
        core.import_records(review=review, data=ris, file_name="search.ris")

    assert Ranking.objects.get(review=review).records == 18
    top = RecordScreening.objects.for_stage(review, TA).by_priority().first()
    assert is_relevant(top.record.title)


def test_exploration_gives_some_places_to_records_the_model_ranks_low(mixed_review):
    """Compared with the model's own order on the same review: which records exploration
    lifts depends on a random draw (seeded by the review), but that it lifts some does not."""
    mixed_review.inclusion_keywords = ["platelet-rich plasma"]
    mixed_review.save()
    config = services.config_for(mixed_review)

    def ranked_titles(exploration: float) -> list[str]:
        config.exploration = exploration
        config.save()
        prioritisation.rank_queue(review=mixed_review)
        return list(
            RecordScreening.objects.for_stage(mixed_review, TA)
            .by_priority()
            .values_list("record__title", flat=True)
        )

    model_order = ranked_titles(0)
    assert all(is_relevant(title) for title in model_order[: len(RELEVANT_TITLES)])
    explored = ranked_titles(0.5)
    assert sorted(explored) == sorted(model_order)
    lifted = [t for n, t in enumerate(explored) if model_order.index(t) > n]
    assert lifted, "no record was placed above where the model ranks it"


def test_prioritisation_can_be_switched_off_for_import_order(mixed_review, reviewer):
    config = services.config_for(mixed_review)
    config.order = QueueOrder.IMPORT
    config.save()
    mixed_review.inclusion_keywords = ["platelet-rich plasma"]
    mixed_review.save()

    prioritisation.rank_queue(review=mixed_review)

    assert queue_titles(mixed_review, reviewer, 18) == IRRELEVANT_TITLES + RELEVANT_TITLES


def test_random_order_is_reproducible_and_ignores_relevance(mixed_review, reviewer):
    config = services.config_for(mixed_review)
    config.order = QueueOrder.RANDOM
    config.save()

    prioritisation.rank_queue(review=mixed_review)
    first = queue_titles(mixed_review, reviewer, 18)
    prioritisation.rank_queue(review=mixed_review)

    assert queue_titles(mixed_review, reviewer, 18) == first
    assert first != IRRELEVANT_TITLES + RELEVANT_TITLES
    assert sorted(first) == sorted(IRRELEVANT_TITLES + RELEVANT_TITLES)


def test_decisions_do_not_retrain_when_prioritisation_is_off(
    mixed_review, reviewer, django_capture_on_commit_callbacks
):
    config = services.config_for(mixed_review)
    config.order, config.retrain_every = QueueOrder.IMPORT, 1
    config.save()
    record = mixed_review.records.first()

    with django_capture_on_commit_callbacks(execute=True):
        services.record_decision(record=record, user=reviewer, stage=TA, verdict="exclude")

    assert not Ranking.objects.filter(review=mixed_review).exists()


def test_the_lead_switches_prioritisation_off_in_the_settings(client, mixed_review, lead):
    client.force_login(lead)
    url = reverse("screening:settings", args=[mixed_review.slug])
    form = {
        "reviewers_required": 2,
        "blind": "on",
        "maybe_advances": "on",
        "exclusion_reasons": "Wrong population",
        "order": "import",
        "retrain_every": 5,
        "exploration": 0.05,
    }

    client.post(url, form)

    assert services.config_for(mixed_review).order == QueueOrder.IMPORT
    response = client.post(url, {**form, "exploration": 0.9, "retrain_every": 0})
    assert response.status_code == 200
    assert "Ensure this value is less than or equal to 0.5" in response.text
    assert "Ensure this value is greater than or equal to 1" in response.text


# Stopping -----------------------------------------------------------------------------------


def screen_all_in_queue_order(review, reviewer, n):
    for _ in range(n):
        state = queue.next_record(review, reviewer, TA)
        verdict = Verdict.INCLUDE if is_relevant(state.record.title) else Verdict.EXCLUDE
        services.record_decision(record=state.record, user=reviewer, stage=TA, verdict=verdict)
        queue.release_claim(TA, state.record_id, reviewer)


def test_the_stopping_estimate_follows_the_teams_decisions(mixed_review, reviewer):
    config = services.config_for(mixed_review)
    config.exploration = 0
    config.save()
    mixed_review.inclusion_keywords = ["platelet-rich plasma"]
    mixed_review.save()
    prioritisation.rank_queue(review=mixed_review)

    screen_all_in_queue_order(mixed_review, reviewer, 10)
    estimate = prioritisation.stopping_estimate(mixed_review)

    assert estimate.n_screened == 10
    assert estimate.n_relevant_found == 6
    assert estimate.parameters["n_total"] == 18
    assert estimate.estimated_relevant_total >= 6
    assert 0 < estimate.estimated_recall <= 1


def test_the_stopping_test_runs_again_only_when_the_decisions_changed(
    mixed_review, reviewer, monkeypatch
):
    """It takes seconds on a large review: a dashboard viewed again shows the kept result."""
    runs = []
    real = prioritisation.stopping_test

    def counted(*args, **kwargs):
        runs.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(prioritisation, "stopping_test", counted)
    screen_all_in_queue_order(mixed_review, reviewer, 3)
    first = prioritisation.stopping_estimate(mixed_review)
    assert prioritisation.stopping_estimate(mixed_review) == first
    assert len(runs) == 1
    screen_all_in_queue_order(mixed_review, reviewer, 1)
    assert prioritisation.stopping_estimate(mixed_review).n_screened == 4
    assert len(runs) == 2


def test_stopping_is_logged_with_the_rule_its_parameters_and_the_estimate(
    mixed_review, lead, reviewer
):
    screen_all_in_queue_order(mixed_review, reviewer, 4)

    decision = services.stop_screening(review=mixed_review, stage=TA, user=lead, note="Enough")

    assert decision.kind == StoppingDecision.Kind.STOPPED
    assert "Callaghan" in decision.rule
    assert decision.parameters == {
        "recall_target": 0.95,
        "confidence": 0.95,
        "bias": 1.0,
        "n_total": 18,
    }
    assert decision.estimate["n_screened"] == 4
    assert "after 4 records screened" in decision.estimate["methods"]


def test_after_a_stop_only_records_with_one_decision_still_get_a_second(
    mixed_review, lead, reviewer, second_reviewer
):
    screen_all_in_queue_order(mixed_review, reviewer, 3)
    half_done = set(
        RecordScreening.objects.filter(review=mixed_review, decision_count=1).values_list(
            "record_id", flat=True
        )
    )
    services.stop_screening(review=mixed_review, stage=TA, user=lead, note="Enough found")

    served = set()
    while (state := queue.next_record(mixed_review, second_reviewer, TA)) is not None:
        served.add(state.record_id)
        services.record_decision(
            record=state.record, user=second_reviewer, stage=TA, verdict="exclude"
        )

    assert served == half_done
    untouched = mixed_review.records.exclude(pk__in=half_done).first()
    with pytest.raises(ValidationError, match="stopped screening new records"):
        services.record_decision(record=untouched, user=reviewer, stage=TA, verdict="exclude")
    # nothing was excluded by the product: the rest is still unscreened
    assert RecordScreening.objects.filter(
        review=mixed_review, decision_count=0, status=RecordScreening.Status.AWAITING
    ).count() == 18 - len(half_done)


def test_the_lead_can_resume_screening_after_a_stop(mixed_review, lead, reviewer):
    services.stop_screening(review=mixed_review, stage=TA, user=lead, note="Enough found")
    services.resume_screening(review=mixed_review, stage=TA, user=lead, note="New search")

    assert queue.next_record(mixed_review, reviewer, TA) is not None
    kinds = list(mixed_review.stopping_decisions.values_list("kind", flat=True))
    assert kinds == ["stopped", "resumed"]
    with pytest.raises(ValidationError, match="not stopped"):
        services.resume_screening(review=mixed_review, stage=TA, user=lead)


def test_the_dashboard_shows_the_estimate_the_curve_and_the_stop_button_to_the_lead(
    client, mixed_review, lead, reviewer
):
    screen_all_in_queue_order(mixed_review, reviewer, 5)
    client.force_login(lead)

    page = client.get(reverse("screening:dashboard", args=[mixed_review.slug])).text

    assert "Relevant found" in page
    assert "Suggestion:" in page
    assert "<polyline" in page
    assert "Stop screening new records" in page

    client.post(
        reverse("screening:stopping", args=[mixed_review.slug, TA]),
        {"action": "stop", "note": "Estimated recall is high"},
    )
    page = client.get(reverse("screening:dashboard", args=[mixed_review.slug])).text
    assert "Estimated recall is high" in page
    assert "Resume screening" in page


def test_only_a_lead_may_stop_screening(client, mixed_review, reviewer, outsider):
    url = reverse("screening:stopping", args=[mixed_review.slug, TA])
    client.force_login(reviewer)
    assert client.post(url, {"action": "stop"}).status_code == 403
    client.force_login(outsider)
    assert client.post(url, {"action": "stop"}).status_code == 404
    assert not StoppingDecision.objects.exists()


def test_a_lead_marks_a_record_as_known_relevant(client, mixed_review, lead, reviewer):
    record = mixed_review.records.get(title=RELEVANT_TITLES[2])
    url = reverse("reviewmgr:record_known_relevant", args=[mixed_review.slug, record.pk])
    client.force_login(reviewer)
    assert client.post(url, {"known": "1"}).status_code == 403

    client.force_login(lead)
    client.post(url, {"known": "1"})

    record.refresh_from_db()
    assert record.known_relevant
    assert prioritisation.training_labels(mixed_review) == {record.pk: True}


# Simulation command ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def labelled_sample(tmp_path_factory):
    """The Nudging set's relevant records with 300 of its irrelevant ones, shuffled."""
    frame = pd.read_csv(corpus_path("screening", "nudging_Nagtegaal2019.csv"))
    sample = pd.concat(
        [frame[frame.included == 1], frame[frame.included == 0].sample(300, random_state=1)]
    ).sample(frac=1, random_state=2)
    path = tmp_path_factory.mktemp("simulation") / "nudging_sample.csv"
    sample.to_csv(path, index=False)
    return path, sample.included.to_numpy().astype(bool)


def test_simulate_screening_reports_the_metrics_as_json(labelled_sample, capsys, tmp_path):
    path, labels = labelled_sample
    order_file = tmp_path / "order.txt"
    plot_file = tmp_path / "curve.png"

    call_command(
        "simulate_screening",
        str(path),
        "--seed",
        "3",
        "--json",
        "--order",
        str(order_file),
        "--plot",
        str(plot_file),
    )

    result = json.loads(capsys.readouterr().out)
    assert {"wss95", "wss100", "recall_at_10", "n_records", "n_relevant"} <= result.keys()
    assert result["n_records"] == len(labels) - 2
    assert result["n_relevant"] == labels.sum() - 1
    assert result["wss95"] > 30  # far better than random order on this set
    assert plot_file.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    order = [int(line) for line in order_file.read_text().split()]
    assert sorted(order) == list(range(len(labels)))
    assert labels[order[0]] and not labels[order[1]]  # the two priors first
    # WSS@95 recomputed from the order file alone, priors excluded
    screened = labels[order[2:]]
    n, r = screened.size, int(screened.sum())
    needed = int(np.floor(0.95 * r))
    found_at = int(np.flatnonzero(np.cumsum(screened) >= needed)[0]) + 1
    random_at = int(np.searchsorted(np.round(np.linspace(0, r, n)), needed)) + 1
    assert result["wss95"] == pytest.approx(100 * (random_at - found_at) / n, abs=0.01)


def test_simulate_screening_finds_a_named_label_column_and_explains_a_missing_one(tmp_path, capsys):
    rows = [("Platelet-rich plasma for neuropathy", 1)] * 3 + [("Statins", 0)] * 5
    path = tmp_path / "labelled.csv"
    pd.DataFrame(
        {"title": [t for t, _ in rows], "abstract": "", "final_decision": [y for _, y in rows]}
    ).to_csv(path, index=False)

    with pytest.raises(CommandError, match="no inclusion label column found.*final_decision"):
        call_command("simulate_screening", str(path))

    call_command("simulate_screening", str(path), "--label-column", "final_decision")
    assert "WSS@95" in capsys.readouterr().out


def test_simulate_screening_names_the_row_with_a_bad_label(tmp_path):
    path = tmp_path / "labelled.csv"
    path.write_text("title,included\nA,1\nB,0\nC,maybe\n")

    with pytest.raises(CommandError, match="record 3: 'included' is maybe"):
        call_command("simulate_screening", str(path))
