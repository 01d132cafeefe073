"""Imports, studies, PRISMA counts and exports through the API: the round trips a script makes
(upload then poll, start an export then download it)."""

import io
import zipfile

from django.urls import reverse

from extraction import reporting
from extraction.models import ExportJob
from extraction.prisma import counts_as_dict
from reviewmgr.models import ImportBatch
from screening.models import Stage
from tests.security.conftest import World, ris


def test_a_lead_uploads_a_file_and_polls_the_import_until_it_is_done(
    api, review, lead, django_capture_on_commit_callbacks
):
    client = api(lead)
    address = reverse("api:import_list", args=[review.slug])
    data = {
        "file": io.BytesIO(ris(["Trial A", "Trial B", "Trial C"])),
        "source": "pubmed",
        "search_date": "2026-11-30",
        "search_string": "platelet-rich plasma AND pain",
    }
    data["file"].name = "pubmed.ris"
    with django_capture_on_commit_callbacks(execute=True):
        made = client.post(address, data, format="multipart")
    assert made.status_code == 201, made.json()
    batch = made.json()
    assert (batch["file_name"], batch["source"], batch["format"]) == ("pubmed.ris", "pubmed", "ris")
    polled = client.get(reverse("api:import_detail", args=[review.slug, batch["id"]])).json()
    assert (polled["status"], polled["record_count"]) == ("done", 3)
    titles = client.get(reverse("api:record_list", args=[review.slug]), {"batch": batch["id"]})
    assert sorted(r["title"] for r in titles.json()["results"]) == ["Trial A", "Trial B", "Trial C"]


def test_a_file_that_is_no_export_is_refused_and_nothing_is_kept(api, review, lead):
    upload = io.BytesIO(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    upload.name = "photo.png"
    response = api(lead).post(
        reverse("api:import_list", args=[review.slug]),
        {"file": upload, "source": "pubmed"},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("file: ")
    assert not ImportBatch.objects.filter(review=review).exists()


def test_an_upload_without_its_source_names_the_missing_field(api, review, lead):
    upload = io.BytesIO(ris(["Trial A"]))
    upload.name = "a.ris"
    response = api(lead).post(
        reverse("api:import_list", args=[review.slug]), {"file": upload}, format="multipart"
    )
    assert response.status_code == 400 and "source" in response.json()


def test_prisma_counts_are_the_diagrams_numbers_for_a_lead_and_refused_while_blind(
    api, world: World
):
    address = reverse("api:prisma", args=[world.review.slug])
    got = api(world.lead).get(address)
    assert got.status_code == 200
    counts = reporting.prisma_counts(world.review)
    assert got.json() == counts_as_dict(counts)
    databases = {row["name"]: row["count"] for row in got.json()["databases"]}
    assert databases["PubMed / MEDLINE"] == 6 and sum(databases.values()) == 12
    assert got.json()["identified_databases"] == counts.identified_databases == 12
    assert got.json()["imbalances"] == []
    refused = api(world.reviewer).get(address)
    assert refused.status_code == 403 and "leads only" in refused.json()["detail"]


def test_studies_come_with_their_reports_and_only_a_final_consensus(api, world: World):
    client = api(world.lead)
    studies = {
        s["id"]: s
        for s in client.get(reverse("api:study_list", args=[world.review.slug])).json()["results"]
    }
    final = studies[world.reconciled.pk]["consensus"]
    assert final["values"]["study.country"] == "ext1"  # the value the lead took into it
    assert (
        final["template"]
        == world.reconciled.extractions.get(final=True).template_version.template.name
    )
    assert studies[world.in_consensus.pk]["consensus"] is None  # begun, not final
    assert studies[world.untouched.pk]["consensus"] is None
    one = client.get(reverse("api:study_detail", args=[world.review.slug, world.reconciled.pk]))
    assert one.json() == studies[world.reconciled.pk]


def test_a_lead_starts_an_export_polls_it_and_downloads_the_file(
    api, world: World, django_capture_on_commit_callbacks
):
    client = api(world.lead)
    slug = world.review.slug
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(reverse("api:export_list", args=[slug]), {"kind": "r"}, format="json")
    assert started.status_code == 202
    assert started.json()["download"] is None  # not built when it was started
    job = client.get(reverse("api:export_detail", args=[slug, started.json()["id"]])).json()
    assert job["status"] == "done", job
    assert job["download"].endswith(f"/api/reviews/{slug}/exports/{job['id']}/download/")
    download = client.get(job["download"], HTTP_ACCEPT="application/octet-stream")
    assert download.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    assert {"analyses.csv", "reproduce.R", "README.txt"} <= set(archive.namelist())


def test_an_unknown_export_kind_is_refused_with_the_kinds_there_are(api, world: World):
    response = api(world.lead).post(
        reverse("api:export_list", args=[world.review.slug]), {"kind": "pdf"}, format="json"
    )
    assert response.status_code == 400 and '"pdf" is not a valid choice' in str(response.json())
    assert not ExportJob.objects.filter(status=ExportJob.Status.QUEUED).exists()


def test_an_export_not_built_yet_is_not_there_to_download(api, world: World):
    job = ExportJob.objects.create(review=world.review, kind="csv", created_by=world.lead)
    response = api(world.lead).get(reverse("api:export_download", args=[world.review.slug, job.pk]))
    assert response.status_code == 404 and "not ready" in response.json()["detail"]


def test_the_review_says_which_stages_are_blind_and_the_callers_roles(api, world: World):
    listed = api(world.reviewer).get(reverse("api:review_list")).json()
    assert [(r["slug"], r["my_roles"]) for r in listed] == [(world.review.slug, ["reviewer"])]
    assert listed[0]["blind_stages"] == [Stage.FULL_TEXT, Stage.TITLE_ABSTRACT]
    assert api(world.outsider).get(reverse("api:review_list")).json() == []


def test_an_upload_is_checked_as_on_the_upload_page_before_anything_is_kept(
    api, review, lead, settings
):
    client = api(lead)
    address = reverse("api:import_list", args=[review.slug])

    def upload(name: str = "a.ris", **data):
        handle = io.BytesIO(ris(["Trial A", "Trial B"]))
        handle.name = name
        return client.post(
            address, {"file": handle, "source": "pubmed", **data}, format="multipart"
        )

    unknown = upload(format="pdf")
    assert unknown.status_code == 400 and "format" in unknown.json()
    settings.REVIEWMGR_MAX_UPLOAD_BYTES = 50
    too_large = upload()
    assert too_large.status_code == 400
    assert "the limit is 50" in str(too_large.json()["file"])
    assert not ImportBatch.objects.filter(review=review).exists()
