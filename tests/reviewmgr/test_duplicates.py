"""Duplicates found after imports, reviewed by leads, merged and undone; nothing deleted."""

import json
from io import StringIO

from django.core.management import call_command
from django.urls import reverse

from reviewmgr import duplicates, services
from reviewmgr.models import DuplicateGroup, Record
from tests.conftest import make_record

ARTICLE = {
    "title": "Platelet-rich plasma injections for lumbar radicular pain: a randomised trial",
    "authors": ["Doe, Jane", "Roe, Richard"],
    "year": 2021,
    "journal": "Pain Medicine",
}

RIS = """TY  - JOUR
TI  - Platelet-rich plasma injections for lumbar radicular pain: a randomised trial
AU  - Doe, Jane
AU  - Roe, Richard
PY  - 2021
DO  - 10.1000/prp.2021.1
ER  -

TY  - JOUR
TI  - Interleukin-6 in the dorsal root ganglion after chronic constriction injury in rats
AU  - Smith, Anna
PY  - 2019
JO  - Journal of Neuroinflammation
ER  -
"""


def import_ris(review, text=RIS, name="search.ris"):
    return services.import_records(review=review, data=text.encode(), file_name=name)


def test_importing_the_same_file_twice_flags_every_record_of_the_second_import(review):
    first, first_ids = import_ris(review)
    second, second_ids = import_ris(review, name="search-again.ris")
    copies = Record.objects.filter(pk__in=second_ids)
    assert all(copy.duplicate_of_id in first_ids for copy in copies)
    assert review.records.primaries().count() == 2
    assert review.records.count() == 4  # nothing deleted


def test_the_same_doi_merges_automatically_and_says_why(review):
    make_record(review, doi="10.1000/prp.2021.1", **ARTICLE)
    record = make_record(
        review, doi="10.1000/PRP.2021.1", **{**ARTICLE, "title": ARTICLE["title"].upper()}
    )
    outcome = duplicates.find_duplicates_in_review(review=review, new_record_ids=[record.pk])
    assert len(outcome.merged) == 1
    group = outcome.merged[0]
    assert any("DOI" in reason for reason in group.reasons)
    assert group.automatic


def test_a_merge_keeps_the_richest_fields_on_the_primary_and_undo_restores_them(review, lead):
    plain = make_record(review, **ARTICLE)
    rich = make_record(review, abstract="A long abstract " * 20, pmid="31234567", **ARTICLE)
    group = DuplicateGroup.objects.create(review=review, score=0.9, reasons=["test"])
    Record.objects.filter(pk__in=[plain.pk, rich.pk]).update(duplicate_group=group)
    duplicates.merge_group(group=group, user=lead, primary=plain)
    plain.refresh_from_db()
    rich.refresh_from_db()
    assert plain.pmid == "31234567"
    assert plain.abstract.startswith("A long abstract")
    assert rich.duplicate_of == plain
    duplicates.reject_group(group=group, user=lead)
    plain.refresh_from_db()
    rich.refresh_from_db()
    assert (plain.pmid, plain.abstract) == ("", "")
    assert rich.duplicate_of is None
    assert review.records.primaries().count() == 2


def test_an_erratum_is_not_merged_with_its_article(review):
    make_record(review, **ARTICLE)
    erratum = make_record(review, **{**ARTICLE, "title": "Erratum: " + ARTICLE["title"]})
    duplicates.find_duplicates_in_review(review=review, new_record_ids=[erratum.pk])
    assert review.records.primaries().count() == 2
    assert not review.duplicate_groups.filter(status=DuplicateGroup.Status.MERGED).exists()


def test_lead_reviews_a_pending_group_side_by_side_and_merges_it(client, review, lead):
    a = make_record(review, **ARTICLE)
    b = make_record(review, **{**ARTICLE, "journal": "Pain Med", "year": 2021, "pages": "12-19"})
    group = DuplicateGroup.objects.create(
        review=review, score=0.8, reasons=["title 0.98"], primary=a
    )
    Record.objects.filter(pk__in=[a.pk, b.pk]).update(duplicate_group=group)
    client.force_login(lead)
    page = client.get(group.get_absolute_url()).content.decode()
    assert "≠ differs" in page  # the journals differ and are marked
    client.post(
        reverse("reviewmgr:duplicate_decide", args=[review.slug, group.pk]),
        {"action": "merge", "primary": b.pk},
    )
    group.refresh_from_db()
    a.refresh_from_db()
    assert group.status == DuplicateGroup.Status.MERGED
    assert group.primary == b
    assert a.duplicate_of == b
    assert group.decided_by == lead


def test_reviewers_cannot_review_duplicates_and_outsiders_do_not_see_them(
    client, review, reviewer, outsider
):
    group = DuplicateGroup.objects.create(review=review, score=0.8, reasons=[])
    client.force_login(reviewer)
    assert client.get(group.get_absolute_url()).status_code == 403
    decide = reverse("reviewmgr:duplicate_decide", args=[review.slug, group.pk])
    assert client.post(decide, {"action": "reject"}).status_code == 403
    client.force_login(outsider)
    assert client.get(group.get_absolute_url()).status_code == 404


def test_dedupe_command_prints_every_group_as_json(review):
    _, first_ids = import_ris(review)
    _, second_ids = import_ris(review, name="again.ris")
    out = StringIO()
    call_command("dedupe", review.slug, "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert result["merged"] == 2
    assert result["pending"] == 0
    members = sorted(sorted(group["members"]) for group in result["groups"])
    assert members == sorted(sorted(pair) for pair in zip(first_ids, second_ids, strict=True))
    assert all(group["primary"] in group["members"] for group in result["groups"])
    seen = [pk for group in result["groups"] for pk in group["members"]]
    assert len(seen) == len(set(seen))  # each record in one group at most


def test_deleting_the_batch_of_a_primary_keeps_the_other_copy_whole(review, lead, client):
    first, first_ids = import_ris(review)
    second, second_ids = import_ris(review, name="again.ris")
    client.force_login(lead)
    client.post(reverse("reviewmgr:batch_delete", args=[review.slug, first.pk]))
    remaining = Record.objects.filter(pk__in=second_ids)
    assert all(record.duplicate_of_id is None for record in remaining)
    assert review.records.primaries().count() == 2


def test_records_table_hides_removed_duplicates_unless_asked(client, review, reviewer):
    import_ris(review)
    import_ris(review, name="again.ris")
    client.force_login(reviewer)
    shown = client.get(review.get_absolute_url()).context["page"].paginator.count
    everything = (
        client.get(review.get_absolute_url(), {"show": "all"}).context["page"].paginator.count
    )
    assert (shown, everything) == (2, 4)


def _stroke_searches(review, searches: int = 3, limit: int = 600) -> list[list[int]]:
    """The first `limit` records of the labelled stroke set, dealt round-robin into `searches`
    import batches, so that most duplicate pairs fall in different batches."""
    import csv

    from reviewmgr.models import ImportBatch
    from tests.conftest import corpus_path

    path = corpus_path("dedup", "bibdedupe_stroke", "records_pre_merged.csv")
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))[:limit]
    batches = [
        ImportBatch.objects.create(
            review=review, status=ImportBatch.Status.DONE, file_name=f"search-{n}.csv"
        )
        for n in range(searches)
    ]
    ids: list[list[int]] = [[] for _ in batches]
    for index, row in enumerate(rows):
        batch = index % searches
        record = Record.objects.create(
            review=review,
            batch=batches[batch],
            position=index,
            title=row["title"],
            authors=[a.strip() for a in row["author"].split(" and ") if a.strip()],
            year=int(row["year"]) if row["year"].isdigit() else None,
            journal=row["journal"],
            volume=row["volume"],
            issue=row["number"],
            pages=row["pages"],
            source_record={"ID": row["ID"]},
        )
        ids[batch].append(record.pk)
    return ids


def _groups_by_source(review) -> set[tuple]:
    return {
        (group.status, tuple(sorted(r.source_record["ID"] for r in group.records.all())))
        for group in DuplicateGroup.objects.filter(review=review).prefetch_related("records")
    }


def test_each_search_is_compared_with_what_it_shares_keys_with_and_finds_what_a_full_read_finds(
    review, django_user_model
):
    from reviewmgr.models import Review

    other = Review.objects.create(title="Same records, read whole", slug="read-whole")
    incremental, whole = _stroke_searches(review), _stroke_searches(other)
    for new, same in zip(incremental, whole, strict=True):
        duplicates.find_duplicates_in_review(review=review, new_record_ids=new)
        other.records.forget_dedup_keys()  # every record is read, as before keys were kept
        duplicates.find_duplicates_in_review(review=other, new_record_ids=same)

    found = _groups_by_source(review)
    assert found == _groups_by_source(other)
    across = [
        group
        for group in DuplicateGroup.objects.filter(review=review)
        if group.records.values("batch").distinct().count() > 1
    ]
    assert len(found) > 50 and len(across) > 50  # most pairs span two searches
    assert not review.records.unkeyed().exists()


def test_a_corrected_record_is_keyed_anew_and_found_by_the_next_import(review, lead):
    record = make_record(review, **{**ARTICLE, "title": "Untitled"})
    duplicates.find_duplicates_in_review(review=review, new_record_ids=[record.pk])
    assert not review.records.unkeyed().exists()

    services.correct_record(record=record, user=lead, title=ARTICLE["title"])
    assert list(review.records.unkeyed()) == [record]
    _, ids = import_ris(review)
    copy = Record.objects.get(pk=ids[0])
    assert copy.duplicate_group is not None
    assert record in copy.duplicate_group.records.all()


def test_a_third_copy_joins_the_merged_group_and_fills_what_the_primary_lacks(review):
    first = make_record(review, doi="10.1000/prp.2021.1", **ARTICLE)
    second = make_record(review, doi="10.1000/prp.2021.1", **ARTICLE)
    duplicates.find_duplicates_in_review(review=review, new_record_ids=[second.pk])
    group = DuplicateGroup.objects.get(review=review)
    assert group.status == DuplicateGroup.Status.MERGED

    third = make_record(
        review, doi="10.1000/prp.2021.1", pmid="34567890", abstract="Sixty adults.", **ARTICLE
    )
    outcome = duplicates.find_duplicates_in_review(review=review, new_record_ids=[third.pk])

    assert [g.pk for g in outcome.merged] == [group.pk]
    group.refresh_from_db()
    primary = Record.objects.get(pk=group.primary_id)
    assert set(group.records.values_list("pk", flat=True)) == {first.pk, second.pk, third.pk}
    assert review.records.primaries().count() == 1
    # the primary stays, and takes the copy's identifier and abstract, undoably
    assert primary in (first, second)
    assert (primary.pmid, primary.abstract) == ("34567890", "Sixty adults.")
    assert group.filled_fields["original"]["pmid"] == ""
    assert not review.records.unkeyed().exclude(pk=primary.pk).exists()


def test_a_stored_form_that_cannot_be_read_is_prepared_again_and_still_matched(review):
    record = make_record(review, doi="10.1000/prp.2021.1", **ARTICLE)
    duplicates.find_duplicates_in_review(review=review, new_record_ids=[record.pk])
    Record.objects.filter(pk=record.pk).update(dedup_prepared=["from another version"])

    copy = make_record(review, doi="10.1000/PRP.2021.1", **ARTICLE)
    outcome = duplicates.find_duplicates_in_review(review=review, new_record_ids=[copy.pk])

    assert [sorted(g.records.values_list("pk", flat=True)) for g in outcome.merged] == [
        [record.pk, copy.pk]
    ]
    record.refresh_from_db()
    assert len(record.dedup_prepared) > 1  # written anew
