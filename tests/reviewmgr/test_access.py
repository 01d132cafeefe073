"""Who may see and do what in a review: the one gate every page goes through."""

import pytest
from django.urls import reverse

from reviewmgr.models import Membership, Review
from tests.conftest import add_member, make_record, make_review, make_user

REVIEW_PAGES = [
    ("reviewmgr:review_detail", ()),
    ("reviewmgr:review_edit", ()),
    ("reviewmgr:member_list", ()),
    ("reviewmgr:batch_list", ()),
    ("reviewmgr:batch_upload", ()),
]


def test_user_sees_only_the_reviews_they_belong_to(client, review, reviewer, outsider):
    make_review(outsider, slug="other-review", title="Someone else's review")
    client.force_login(reviewer)
    page = client.get(reverse("reviewmgr:review_list")).content.decode()
    assert "Pain review" in page
    assert "Someone else" not in page


@pytest.mark.parametrize(("name", "extra"), REVIEW_PAGES)
def test_outsider_gets_404_on_every_page_of_another_review(client, review, outsider, name, extra):
    client.force_login(outsider)
    assert client.get(reverse(name, args=[review.slug, *extra])).status_code == 404


def test_outsider_gets_404_on_record_and_batch_pages(client, review, outsider):
    record = make_record(review)
    client.force_login(outsider)
    assert client.get(record.get_absolute_url()).status_code == 404
    assert client.get(record.batch.get_absolute_url()).status_code == 404


def test_a_record_of_another_review_is_not_found_through_my_review(client, review, lead, outsider):
    foreign = make_record(make_review(outsider, slug="foreign"))
    client.force_login(lead)
    url = reverse("reviewmgr:record_detail", args=[review.slug, foreign.pk])
    assert client.get(url).status_code == 404


def test_an_unknown_review_and_a_foreign_one_look_the_same(client, review, outsider):
    client.force_login(outsider)
    missing = client.get(reverse("reviewmgr:review_detail", args=["no-such-review"]))
    foreign = client.get(review.get_absolute_url())
    assert missing.status_code == foreign.status_code == 404


def test_anonymous_visitor_is_sent_to_log_in(client, review):
    response = client.get(review.get_absolute_url())
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_reviewer_cannot_manage_members(client, review, reviewer, second_reviewer):
    make_user("newcomer")
    client.force_login(reviewer)
    membership = review.memberships.get(user=second_reviewer)
    add = client.post(
        reverse("reviewmgr:member_list", args=[review.slug]),
        {"username": "newcomer", "roles": ["reviewer"]},
    )
    promote = client.post(
        reverse("reviewmgr:member_update", args=[review.slug, membership.pk]), {"roles": ["lead"]}
    )
    remove = client.post(reverse("reviewmgr:member_remove", args=[review.slug, membership.pk]))
    assert (add.status_code, promote.status_code, remove.status_code) == (403, 403, 403)
    membership.refresh_from_db()
    assert not membership.is_lead
    assert review.memberships.count() == 3


def test_reviewer_cannot_change_settings_or_import(client, review, reviewer):
    client.force_login(reviewer)
    assert client.get(reverse("reviewmgr:review_edit", args=[review.slug])).status_code == 403
    assert client.get(reverse("reviewmgr:batch_upload", args=[review.slug])).status_code == 403
    batch = make_record(review).batch
    delete = client.post(reverse("reviewmgr:batch_delete", args=[review.slug, batch.pk]))
    assert delete.status_code == 403
    assert review.records.count() == 1


def test_reviewer_sees_the_members_without_controls(client, review, reviewer):
    client.force_login(reviewer)
    page = client.get(reverse("reviewmgr:member_list", args=[review.slug])).content.decode()
    assert "second_reviewer" in page
    assert "Add a member" not in page


def test_lead_creates_a_review_and_becomes_its_lead(client, reviewer):
    client.force_login(reviewer)
    response = client.post(
        reverse("reviewmgr:review_create"),
        {
            "title": "PRP for sciatica",
            "question": "Does PRP relieve sciatica?",
            "inclusion_keywords": "sciatica, radiculopathy\nPRP",
        },
    )
    review = Review.objects.get(slug="prp-for-sciatica")
    assert response.url == review.get_absolute_url()
    assert review.memberships.get(user=reviewer).is_lead
    assert review.inclusion_keywords == ["sciatica", "radiculopathy", "PRP"]


def test_a_taken_short_name_is_refused_with_a_message(client, review, reviewer):
    client.force_login(reviewer)
    response = client.post(
        reverse("reviewmgr:review_create"), {"title": "Another", "slug": review.slug}
    )
    assert response.status_code == 200
    assert f"The short name &#x27;{review.slug}&#x27; is taken" in response.content.decode()


def test_lead_adds_a_member_with_several_roles(client, review, lead):
    newcomer = make_user("newcomer")
    client.force_login(lead)
    client.post(
        reverse("reviewmgr:member_list", args=[review.slug]),
        {"username": "Newcomer", "roles": ["reviewer", "extractor"]},
    )
    membership = review.memberships.get(user=newcomer)
    assert membership.roles == ["reviewer", "extractor"]


def test_adding_an_unknown_username_says_so(client, review, lead):
    client.force_login(lead)
    response = client.post(
        reverse("reviewmgr:member_list", args=[review.slug]),
        {"username": "nobody", "roles": ["reviewer"]},
    )
    assert "There is no user called &#x27;nobody&#x27;." in response.content.decode()


def test_the_last_lead_can_be_neither_demoted_nor_removed(client, review, lead):
    client.force_login(lead)
    membership = review.memberships.get(user=lead)
    client.post(
        reverse("reviewmgr:member_update", args=[review.slug, membership.pk]),
        {"roles": ["reviewer"]},
    )
    response = client.post(
        reverse("reviewmgr:member_remove", args=[review.slug, membership.pk]), follow=True
    )
    membership.refresh_from_db()
    assert membership.is_lead
    assert "A review needs at least one lead" in response.content.decode()


def test_lead_changes_roles(client, review, lead, reviewer):
    client.force_login(lead)
    membership = review.memberships.get(user=reviewer)
    client.post(
        reverse("reviewmgr:member_update", args=[review.slug, membership.pk]),
        {"roles": ["lead", "extractor"]},
    )
    membership.refresh_from_db()
    assert membership.roles == ["lead", "extractor"]


def test_one_membership_per_user_and_review_is_enforced_by_the_database(review, reviewer):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        add_member(review, reviewer, Membership.Role.EXTRACTOR)


def test_review_page_filters_records_by_text_year_and_type(client, review, reviewer):
    make_record(review, "Platelet-rich plasma for sciatica", year=2020, type="journal-article")
    make_record(review, "Steroid injections in back pain", year=2015, type="journal-article")
    make_record(review, "PRP clinic blog", year=2023, type="webpage")
    client.force_login(reviewer)
    url = review.get_absolute_url()

    def titles(**params):
        page = client.get(url, params)
        return sorted(record.title for record in page.context["page"])

    assert titles(q="platelet") == ["Platelet-rich plasma for sciatica"]
    assert titles(year_min=2016) == ["PRP clinic blog", "Platelet-rich plasma for sciatica"]
    assert titles(type="webpage") == ["PRP clinic blog"]
    assert len(titles()) == 3


def test_record_page_shows_the_record_whole(client, review, reviewer):
    record = make_record(
        review,
        "PRP in diabetic neuropathy",
        doi="10.1000/xyz",
        pmid="123",
        authors=["Doe, Jane"],
        source_record={"TY": "JOUR", "N1": "a note"},
    )
    client.force_login(reviewer)
    page = client.get(record.get_absolute_url()).content.decode()
    for text in (
        "PRP in diabetic neuropathy",
        "https://doi.org/10.1000/xyz",
        "pubmed.ncbi.nlm.nih.gov/123/",
        "Doe, Jane",
        "a note",
    ):
        assert text in page


def test_the_records_table_pages_by_fifty_and_keeps_the_filter(client, review, reviewer):
    for n in range(60):
        make_record(review, f"PRP trial number {n}", year=2020)
    client.force_login(reviewer)
    first = client.get(review.get_absolute_url(), {"q": "trial"})
    assert len(first.context["page"]) == 50
    assert 'href="?q=trial&amp;page=2">Next</a>' in first.content.decode()
    fragment = client.get(
        review.get_absolute_url(), {"q": "trial", "page": 2}, headers={"HX-Request": "true"}
    ).content.decode()
    assert "Page 2 of 2" in fragment
    assert "<html" not in fragment
