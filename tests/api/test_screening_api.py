"""Records, decisions and conflicts through the API, as a script screening a review would use
them; the blinding rules of the pages hold here too."""

import pytest

from reviewmgr import services as core
from screening import services as screening
from screening.models import Decision, RecordScreening, Stage
from tests.conftest import make_record
from tests.security.conftest import ris

TA, FT = Stage.TITLE_ABSTRACT, Stage.FULL_TEXT
TITLES = [f"Platelet-rich plasma trial number {i}" for i in range(7)]


@pytest.fixture
def screened(review, lead, reviewer, second_reviewer):
    """Seven records: the second reviewer included the first and excluded the second."""
    core.import_records(review=review, data=ris(TITLES), file_name="pubmed.ris")
    records = list(review.records.order_by("pk"))
    screening.record_decision(record=records[0], user=second_reviewer, stage=TA, verdict="include")
    screening.record_decision(
        record=records[1],
        user=second_reviewer,
        stage=TA,
        verdict="exclude",
        reason="Wrong study design",
    )
    return records


def url(review, tail: str = "") -> str:
    return f"/api/reviews/{review.slug}/{tail}"


def every_page(client, address: str) -> list[dict]:
    found, pages = [], 0
    while address:
        body = client.get(address).json()
        found += body["results"]
        address = body["next"]
        pages += 1
        assert pages < 100
    return found


def test_records_come_a_page_at_a_time_in_id_order_and_none_is_missed(api, review, reviewer):
    made = [make_record(review, f"Trial {i}").pk for i in range(230)]
    client = api(reviewer)
    first = client.get(url(review, "records/"), {"page_size": 100}).json()
    assert len(first["results"]) == 100 and first["next"] and first["previous"] is None
    got = every_page(client, url(review, "records/?page_size=100"))
    assert [r["id"] for r in got] == sorted(made)


def test_records_filter_by_batch_and_text(api, review, reviewer, screened):
    other, _ = core.import_records(
        review=review, data=ris(["Statins and stroke"], "10.9/x"), file_name="embase.ris"
    )
    client = api(reviewer)
    by_batch = client.get(url(review, "records/"), {"batch": other.pk}).json()["results"]
    assert [r["title"] for r in by_batch] == ["Statins and stroke"]
    found = client.get(url(review, "records/"), {"search": "number 3"}).json()["results"]
    assert [r["title"] for r in found] == [TITLES[3]]
    bad = client.get(url(review, "records/"), {"batch": "first"})
    assert bad.status_code == 400 and "batch" in bad.json()["detail"]
    bad = client.get(url(review, "records/"), {"stage": "abstract"})
    assert bad.status_code == 400 and "'abstract' is not one of ta, ft" in bad.json()["detail"]


def test_a_blind_reviewer_sees_no_record_status_and_cannot_filter_by_it(
    api, review, reviewer, screened
):
    client = api(reviewer)
    records = client.get(url(review, "records/")).json()["results"]
    assert all(record["screening"] == [] for record in records)
    one = client.get(url(review, f"records/{screened[1].pk}/")).json()
    assert one["screening"] == []
    refused = client.get(url(review, "records/"), {"stage": TA, "status": "awaiting"})
    assert refused.status_code == 403
    assert "leads only" in refused.json()["detail"]


def test_a_lead_sees_each_records_status_and_filters_by_it(api, review, lead, screened):
    client = api(lead)
    records = {r["id"]: r for r in client.get(url(review, "records/")).json()["results"]}
    assert records[screened[0].pk]["screening"] == [
        {"stage": TA, "status": "awaiting", "outcome": ""}
    ]
    awaiting = client.get(url(review, "records/"), {"stage": TA, "status": "awaiting"}).json()
    assert len(awaiting["results"]) == len(TITLES)
    bare = client.get(url(review, "records/"), {"status": "awaiting"})
    assert bare.status_code == 400 and "needs a stage" in bare.json()["detail"]


def test_a_reviewer_records_changes_lists_and_withdraws_own_decisions(
    api, review, reviewer, screened
):
    client = api(reviewer)
    record = screened[3]
    made = client.post(
        url(review, "decisions/"),
        {
            "record": record.pk,
            "stage": TA,
            "verdict": "exclude",
            "reason": "Wrong study design",
            "note": "animal study",
            "tags": ["rat"],
        },  # fmt: skip
        format="json",
    )
    assert made.status_code == 201, made.json()
    body = made.json()
    assert (body["verdict"], body["reason"], body["tags"]) == (
        "exclude",
        "Wrong study design",
        ["rat"],
    )
    changed = client.patch(
        url(review, f"decisions/{body['id']}/"), {"verdict": "include"}, format="json"
    )
    assert changed.status_code == 200
    assert changed.json()["verdict"] == "include" and changed.json()["reason"] == ""
    assert Decision.objects.get(pk=body["id"]).verdict == "include"

    mine = client.get(url(review, "decisions/"), {"stage": TA}).json()["results"]
    assert [d["record"] for d in mine] == [record.pk]  # the other reviewer's are never listed

    assert client.delete(url(review, f"decisions/{body['id']}/")).status_code == 204
    assert not Decision.objects.filter(pk=body["id"]).exists()


def test_a_bad_decision_is_refused_with_the_reason_and_nothing_is_written(
    api, review, reviewer, screened, outsider
):
    client = api(reviewer)
    record = screened[4]
    wrong = client.post(
        url(review, "decisions/"), {"record": record.pk, "stage": TA, "verdict": "yes"},
        format="json",
    )  # fmt: skip
    assert wrong.status_code == 400 and "verdict" in wrong.json()
    elsewhere = core.create_review(title="Other", slug="other", user=outsider)
    stranger = make_record(elsewhere, "Someone else's record")
    missing = client.post(
        url(review, "decisions/"), {"record": stranger.pk, "stage": TA, "verdict": "include"},
        format="json",
    )  # fmt: skip
    assert missing.status_code == 404
    not_there = client.post(
        url(review, "decisions/"), {"record": record.pk, "stage": FT, "verdict": "include"},
        format="json",
    )  # fmt: skip
    assert not_there.status_code == 404 and "full text" in not_there.json()["detail"]
    assert not Decision.objects.filter(reviewer=reviewer).exists()


def test_a_decision_locked_by_the_other_reviewer_cannot_be_changed(api, review, reviewer, screened):
    client = api(reviewer)
    made = client.post(
        url(review, "decisions/"), {"record": screened[0].pk, "stage": TA, "verdict": "exclude",
                                    "reason": "Wrong study design"}, format="json",
    ).json()  # fmt: skip
    refused = client.patch(
        url(review, f"decisions/{made['id']}/"), {"verdict": "include"}, format="json"
    )
    assert refused.status_code == 400
    assert "can no longer be changed" in refused.json()["detail"]
    assert Decision.objects.get(pk=made["id"]).verdict == "exclude"


def test_nobody_reads_or_changes_another_reviewers_decision(
    api, review, reviewer, second_reviewer, screened
):
    theirs = Decision.objects.get(reviewer=second_reviewer, record=screened[0])
    client = api(reviewer)
    assert client.get(url(review, f"decisions/{theirs.pk}/")).status_code == 404
    assert (
        client.patch(
            url(review, f"decisions/{theirs.pk}/"), {"verdict": "exclude"}, format="json"
        ).status_code
        == 404
    )
    assert client.delete(url(review, f"decisions/{theirs.pk}/")).status_code == 404
    assert Decision.objects.get(pk=theirs.pk).verdict == "include"


def test_a_lead_lists_conflicts_with_both_decisions_and_resolves_one(
    api, review, lead, reviewer, screened
):
    screening.record_decision(record=screened[0], user=reviewer, stage=TA, verdict="exclude",
                              reason="Wrong study design")  # fmt: skip
    assert api(reviewer).get(url(review, "conflicts/")).status_code == 403
    client = api(lead)
    conflicts = client.get(url(review, "conflicts/"), {"stage": TA}).json()["results"]
    assert [c["record"] for c in conflicts] == [screened[0].pk]
    verdicts = {d["reviewer"]: d["verdict"] for d in conflicts[0]["decisions"]}
    assert verdicts == {"reviewer": "exclude", "second_reviewer": "include"}

    resolved = client.post(
        url(review, f"records/{screened[0].pk}/resolve/"),
        {"stage": TA, "verdict": "include", "note": "PRP arm present"},
        format="json",
    )
    assert resolved.status_code == 200, resolved.json()
    assert resolved.json()["resolved_by"] == "lead"
    state = RecordScreening.objects.get(record=screened[0], stage=TA)
    assert (state.status, state.outcome) == ("resolved", "include")
    assert client.get(url(review, "conflicts/")).json()["results"] == []


def test_an_exclusion_resolved_without_a_required_reason_is_refused(api, review, lead, screened):
    config = screening.config_for(review)
    config.reasons_required_at_title_abstract = True
    config.save()
    refused = api(lead).post(
        url(review, f"records/{screened[2].pk}/resolve/"),
        {"stage": TA, "verdict": "exclude"},
        format="json",
    )
    assert refused.status_code == 400
    assert RecordScreening.objects.get(record=screened[2], stage=TA).status == "awaiting"


def test_a_null_byte_anywhere_in_a_request_is_refused_with_400_in_json(
    api, review, reviewer, screened
):
    client = api(reviewer)
    in_json = client.post(
        url(review, "decisions/"),
        {"record": screened[3].pk, "stage": TA, "verdict": "include", "note": "a\u0000b"},
        format="json",
    )
    assert in_json.status_code == 400
    assert "note contains a null byte" in in_json.json()["detail"]
    in_query = client.get(url(review, "records/"), {"search": "PRP\x00"})
    assert in_query.status_code == 400 and "'search'" in in_query.json()["detail"]
    in_tags = client.post(
        url(review, "decisions/"),
        {"record": screened[3].pk, "stage": TA, "verdict": "include", "tags": ["ok", "\u0000"]},
        format="json",
    )
    assert in_tags.status_code == 400 and "tags[1]" in in_tags.json()["detail"]
    assert not Decision.objects.filter(reviewer=reviewer).exists()
