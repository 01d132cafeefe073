from django.urls import reverse

from reviewmgr.models import RecordCorrection
from tests.conftest import make_record


def test_lead_pastes_a_missing_abstract_and_the_change_is_kept(client, review, lead):
    record = make_record(review, "PRP for sciatica", source_record={"TI": "PRP for sciatica"})
    client.force_login(lead)
    url = reverse("reviewmgr:record_correct", args=[review.slug, record.pk])
    client.post(
        url,
        {
            "title": "PRP for sciatica",
            "abstract": "We randomised 60 patients.",
            "authors": "Doe, Jane\nRoe, R",
            "doi": "https://doi.org/10.1000/ABC",
        },
    )
    record.refresh_from_db()
    assert record.abstract == "We randomised 60 patients."
    assert record.authors == ["Doe, Jane", "Roe, R"]
    assert record.doi == "10.1000/abc"
    assert record.source_record == {"TI": "PRP for sciatica"}
    correction = RecordCorrection.objects.get(record=record)
    assert correction.changes["abstract"] == ["", "We randomised 60 patients."]
    assert correction.changed_by == lead
    page = client.get(record.get_absolute_url()).content.decode()
    assert "<strong>abstract</strong> was “—”" in page


def test_a_bad_identifier_is_refused_with_a_message(client, review, lead):
    record = make_record(review)
    client.force_login(lead)
    url = reverse("reviewmgr:record_correct", args=[review.slug, record.pk])
    response = client.post(url, {"title": record.title, "pmid": "PM123", "year": "20x"})
    html = response.content.decode()
    assert "A PMID is a number." in html
    assert "Enter a whole number." in html
    assert not RecordCorrection.objects.exists()


def test_reviewers_cannot_correct_records(client, review, reviewer):
    record = make_record(review)
    client.force_login(reviewer)
    url = reverse("reviewmgr:record_correct", args=[review.slug, record.pk])
    assert client.post(url, {"title": "Changed"}).status_code == 403
    record.refresh_from_db()
    assert record.title != "Changed"
