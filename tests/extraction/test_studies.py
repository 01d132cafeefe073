"""Studies and their reports: leads link a conference abstract to its article (or a trial to
its follow-up) at full text or extraction; the study is extracted once with every report's
PDF at hand, and exports carry the study ID."""

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from extraction import services
from extraction.models import Study
from extraction.ris import export_ris
from reviewmgr import services as core, studies
from reviewmgr.importers import parse
from reviewmgr.models import ImportBatch, Membership, Record, ReportLink
from reviewmgr.seed import load_seed_review
from screening import services as screening
from screening.models import Stage
from tests.conftest import add_member, make_review, make_user

TA, FT = Stage.TITLE_ABSTRACT, Stage.FULL_TEXT
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
TRIAL = "Perineural PRP for painful diabetic neuropathy: a randomised trial"
ABSTRACT = "Perineural PRP for painful diabetic neuropathy (conference abstract)"
FOLLOW_UP = "Two-year follow-up of perineural PRP in diabetic neuropathy"
OTHER = "Epidural PRP for sciatica: a cohort"


def ris(rows) -> bytes:
    return "".join(
        f"TY  - JOUR\nTI  - {title}\nAU  - Rossi, Anna\nAU  - Bianchi, Bruno\nPY  - 2021\n"
        f"DO  - 10.1/{n}\nAB  - {abstract}\nER  - \n\n"
        for n, (title, abstract) in enumerate(rows)
    ).encode()


@pytest.fixture
def at_full_text(review, reviewer, second_reviewer):
    """Four records through title and abstract, all at full text."""
    core.import_records(
        review=review,
        data=ris(
            [
                (TRIAL, "Registered as NCT01234567."),
                (ABSTRACT, "Interim results (NCT01234567)."),
                (FOLLOW_UP, "Follow-up."),
                (OTHER, "A cohort."),
            ]
        ),
        file_name="pubmed.ris",
        provenance=core.Provenance(source=ImportBatch.Source.PUBMED),
    )
    for record in Record.objects.filter(review=review):
        for person in (reviewer, second_reviewer):
            screening.record_decision(record=record, user=person, stage=TA, verdict="include")
    return review


def record(review, title) -> Record:
    return Record.objects.get(review=review, title=title)


def include(review, title, people):
    for person in people:
        screening.record_decision(
            record=record(review, title), user=person, stage=FT, verdict="include"
        )


def link_url(review, rec):
    return reverse("reviewmgr:report_link", args=[review.slug, rec.pk])


def unlink_url(review, rec):
    return reverse("reviewmgr:report_unlink", args=[review.slug, rec.pk])


def test_a_lead_links_a_conference_abstract_to_its_article_at_full_text(client, at_full_text, lead):
    review = at_full_text
    trial, abstract = record(review, TRIAL), record(review, ABSTRACT)
    client.force_login(lead)
    screen = reverse("screening:screen_record", args=[review.slug, FT, abstract.pk])

    page = client.get(screen).text
    assert f"Record {trial.pk}" in page and "same registration NCT01234567" in page

    response = client.post(link_url(review, abstract), {"to": trial.pk, "next": screen})

    assert response.status_code == 302 and response["Location"] == screen
    assert studies.study_key(abstract) == trial.pk
    page = client.get(screen).text
    assert f"Study S{trial.pk}: 2 reports" in page
    assert f"Record {abstract.pk} is now a report of study S{trial.pk}." in page


def test_bad_links_are_refused_with_a_message_that_says_why(client, at_full_text, lead, reviewer):
    review = at_full_text
    trial, abstract, follow_up = (record(review, t) for t in (TRIAL, ABSTRACT, FOLLOW_UP))
    elsewhere = make_review(lead, slug="elsewhere")
    stranger = Record.objects.create(
        review=elsewhere,
        batch=ImportBatch.objects.create(review=elsewhere, status="done"),
        position=0,
        title="Not ours",
    )
    studies.link_report(record=abstract, to=trial, user=lead)
    client.force_login(lead)
    page = reverse("reviewmgr:record_detail", args=[review.slug, follow_up.pk])

    def message(url, data=None):
        return client.post(url, {**(data or {}), "next": page}, follow=True).text

    assert f"Record {stranger.pk} is not a record of this review." in message(
        link_url(review, follow_up), {"to": stranger.pk}
    )
    assert "Give a record number" in message(link_url(review, follow_up), {"to": "abc"}) or (
        "Enter a whole number" in message(link_url(review, follow_up), {"to": "abc"})
    )
    assert (
        f"Record {abstract.pk} already is a report of the study of record {trial.pk}; "
        "unlink it there first." in message(link_url(review, abstract), {"to": follow_up.pk})
    )
    assert f"Record {trial.pk} is the first report of a study with 2 reports" in message(
        link_url(review, trial), {"to": follow_up.pk}
    )
    assert "is its study&#x27;s only report; a study keeps at least one report" in message(
        unlink_url(review, follow_up)
    )
    assert ReportLink.objects.count() == 1  # nothing changed
    assert stranger.review_id != review.pk and not ReportLink.objects.filter(report=stranger)


def test_only_leads_link_and_unlink_reports(client, at_full_text, reviewer, outsider):
    review = at_full_text
    trial, abstract = record(review, TRIAL), record(review, ABSTRACT)
    for person, status in ((reviewer, 403), (outsider, 404)):
        client.force_login(person)
        assert client.post(link_url(review, abstract), {"to": trial.pk}).status_code == status
        assert client.post(unlink_url(review, abstract)).status_code == status
    assert not ReportLink.objects.exists()


def test_two_included_reports_of_one_study_are_extracted_once_with_both_pdfs(
    client, at_full_text, lead, reviewer, second_reviewer
):
    review = at_full_text
    trial, abstract = record(review, TRIAL), record(review, ABSTRACT)
    pair = [reviewer, second_reviewer]
    for rec in (trial, abstract):
        screening.save_full_text(
            record=rec, user=lead, upload=SimpleUploadedFile(f"{rec.pk}.pdf", PDF)
        )
    include(review, TRIAL, pair)
    include(review, ABSTRACT, pair)
    studies.link_report(record=abstract, to=trial, user=lead)

    services.sync_studies(review=review)

    (study,) = Study.objects.filter(review=review)
    assert study.record == trial and [r.pk for r in study.reports] == [trial.pk, abstract.pk]
    extractor = make_user("extractor")
    add_member(review, extractor, Membership.Role.EXTRACTOR)
    extraction = services.start_extraction(study=study, user=extractor)
    client.force_login(extractor)
    page = client.get(reverse("extraction:extract", args=[review.slug, extraction.pk])).text
    for rec in (trial, abstract):
        assert reverse("screening:fulltext_pdf", args=[review.slug, rec.pk]) in page
    assert f"Study S{trial.pk}: 2 reports" in page

    # RIS carries the study ID on both reports
    out = io.StringIO()
    export_ris(review, out, "included")
    assert out.getvalue().count(f"U1  - Study S{trial.pk}\n") == 2


def test_unlinking_the_first_report_keeps_the_study_and_its_extractions_on_the_next(
    at_full_text, lead, reviewer, second_reviewer
):
    review = at_full_text
    trial, abstract = record(review, TRIAL), record(review, ABSTRACT)
    include(review, TRIAL, [reviewer, second_reviewer])
    include(review, ABSTRACT, [reviewer, second_reviewer])
    studies.link_report(record=abstract, to=trial, user=lead)
    services.sync_studies(review=review)
    extractor = make_user("extractor")
    add_member(review, extractor, Membership.Role.EXTRACTOR)
    services.start_extraction(study=Study.objects.get(review=review), user=extractor)

    studies.unlink_report(record=trial, user=lead)
    services.sync_studies(review=review)

    moved = Study.objects.get(review=review, extractions__isnull=False)
    assert moved.record == abstract
    assert set(Study.objects.filter(review=review).values_list("record_id", flat=True)) == {
        trial.pk,
        abstract.pk,
    }


def test_a_study_with_its_own_extraction_cannot_become_another_studys_report(
    at_full_text, lead, reviewer, second_reviewer
):
    review = at_full_text
    include(review, TRIAL, [reviewer, second_reviewer])
    include(review, ABSTRACT, [reviewer, second_reviewer])
    services.sync_studies(review=review)
    extractor = make_user("extractor")
    add_member(review, extractor, Membership.Role.EXTRACTOR)
    abstract = record(review, ABSTRACT)
    services.start_extraction(study=Study.objects.get(record=abstract), user=extractor)

    with pytest.raises(Exception, match="is a study with extractions of its own"):
        studies.link_report(record=abstract, to=record(review, TRIAL), user=lead)
    assert not ReportLink.objects.exists()


def test_a_not_retrieved_report_is_not_an_included_study(
    at_full_text, lead, reviewer, second_reviewer
):
    """Included on its abstract, then marked as not retrieved: PRISMA counts it only as not
    retrieved, so it is no included report and no study to extract."""
    review = at_full_text
    include(review, OTHER, [reviewer, second_reviewer])
    other = record(review, OTHER)
    assert other.pk in set(services.included_records(review).values_list("pk", flat=True))

    screening.save_full_text(record=other, user=lead, not_retrieved=True)

    assert other.pk not in set(services.included_records(review).values_list("pk", flat=True))
    services.sync_studies(review=review)
    assert not Study.objects.filter(record=other).exists()


def test_the_seed_blog_post_is_exported_as_a_blog_in_ris(db):
    load_seed_review()
    review = Record.objects.get(title="Can PRP Help Relieve Back Pain?").review
    out = io.StringIO()

    export_ris(review, out, "all")

    blog_entry = next(e for e in out.getvalue().split("ER  - ") if "Back Pain" in e)
    assert blog_entry.lstrip().startswith("TY  - BLOG\n")
    (parsed,) = [r for r in parse(out.getvalue().encode()).records if "Back Pain" in r.title]
    assert parsed.type == "webpage"


def test_a_lead_marks_an_import_as_the_previous_versions_studies(
    client, review, lead, reviewer, second_reviewer
):
    batch, _ = core.import_records(
        review=review, data=ris([(TRIAL, "Included in 2022.")]), file_name="previous.ris"
    )
    url = reverse("reviewmgr:batch_version", args=[review.slug, batch.pk])
    client.force_login(reviewer)
    assert client.post(url, {"version_role": "previous"}).status_code == 403
    client.force_login(lead)

    page = client.post(
        url, {"version_role": "previous", "search_date": "2022-05-01"}, follow=True
    ).text

    batch.refresh_from_db()
    assert batch.version_role == "previous" and batch.search_date == dt.date(2022, 5, 1)
    assert "Marked as studies included in the previous version." in page
    reports = client.get(reverse("extraction:reports", args=[review.slug])).text
    assert "Studies included in previous version of review" in reports
    assert "Total studies included in review 1" in reports
    # a screened batch cannot become the previous version
    new, _ = core.import_records(review=review, data=ris([(OTHER, "New.")]), file_name="new.ris")
    screening.record_decision(record=new.records.get(), user=reviewer, stage=TA, verdict="include")
    page = client.post(
        reverse("reviewmgr:batch_version", args=[review.slug, new.pk]),
        {"version_role": "previous"},
        follow=True,
    ).text
    assert "were screened already" in page
    new.refresh_from_db()
    assert new.version_role == "new"
    bad = client.post(
        reverse("reviewmgr:batch_version", args=[review.slug, new.pk]),
        {"version_role": "previous", "search_date": "yesterday"},
        follow=True,
    )
    assert bad.status_code == 200 and "Enter a valid date" in bad.text


def test_a_report_merged_as_a_duplicate_hands_its_place_in_the_study_to_its_primary(
    at_full_text, lead
):
    review = at_full_text
    trial, abstract = record(review, TRIAL), record(review, ABSTRACT)
    studies.link_report(record=abstract, to=trial, user=lead)
    richer = (
        f"TY  - JOUR\nTI  - {TRIAL}\nAU  - Rossi, Anna\nAU  - Bianchi, Bruno\nPY  - 2021\n"
        "DO  - 10.1/0\nJO  - Pain Medicine\nVL  - 12\nIS  - 3\nSP  - 100\nEP  - 110\n"
        "AB  - Registered as NCT01234567, with a longer abstract than the first copy.\nER  - \n"
    )

    core.import_records(
        review=review,
        data=richer.encode(),
        file_name="embase.ris",
        provenance=core.Provenance(source=ImportBatch.Source.EMBASE),
    )

    (standing,) = Record.objects.filter(review=review, title=TRIAL, duplicate_of__isnull=True)
    copy = Record.objects.get(review=review, title=TRIAL, duplicate_of__isnull=False)
    assert copy.duplicate_of_id == standing.pk
    assert copy == trial  # the richer copy stands for the work: the study follows it
    assert [r.pk for r in studies.reports_of(standing)] == [standing.pk, abstract.pk]
    assert not ReportLink.objects.filter(first_report=copy).exists()
