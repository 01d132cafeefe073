"""Large downloads built in the background: progress page, download, failure and retry."""

import io

import openpyxl
from django.urls import reverse

from extraction import export_jobs
from extraction.models import ExportJob
from reviewmgr import signals
from reviewmgr.models import AuditEvent


def start(client, review, kind, capture):
    with capture(execute=True):
        response = client.post(
            reverse("extraction:export_start", args=[review.slug]), {"kind": kind}
        )
    assert response.status_code == 302
    return ExportJob.objects.get(pk=response.url.rstrip("/").split("/")[-1])


def test_a_workbook_is_built_in_the_background_and_downloaded(
    client, review, lead, records, django_capture_on_commit_callbacks
):
    client.force_login(lead)
    job = start(client, review, "workbook", django_capture_on_commit_callbacks)
    assert job.status == ExportJob.Status.DONE

    page = client.get(job.get_absolute_url()).content.decode()
    assert "Ready" in page
    assert job.file_name in page
    download = client.get(reverse("extraction:export_download", args=[review.slug, job.pk]))
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    assert "Screening log" in workbook.sheetnames
    reports = client.get(reverse("extraction:reports", args=[review.slug])).content.decode()
    assert "Recent exports" in reports


def test_while_it_runs_the_page_polls_and_shows_progress(client, review, lead, records):
    client.force_login(lead)
    job = ExportJob.objects.create(review=review, kind="csv", created_by=lead)
    page = client.get(job.get_absolute_url()).content.decode()
    assert "<progress" in page
    assert 'hx-trigger="every 1s"' in page
    assert (
        client.get(reverse("extraction:export_download", args=[review.slug, job.pk])).status_code
        == 404
    )


def test_an_export_whose_process_died_shows_why_and_can_be_built_again(
    client, review, lead, records, django_capture_on_commit_callbacks
):
    client.force_login(lead)
    job = ExportJob.objects.create(review=review, kind="backup", created_by=lead, status="running")
    # No heartbeat: the process that ran it is gone.
    page = client.get(job.get_absolute_url()).content.decode()
    assert "stopped before it finished" in page
    assert "Build it again" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("extraction:export_retry", args=[review.slug, job.pk]))
    job.refresh_from_db()
    assert (job.status, job.error) == (ExportJob.Status.DONE, "")
    assert job.file_name == f"{review.slug}-backup.json"
    # the failure and the rebuild are both in the review's audit log
    events = list(review.audit_events.filter(target_type="exportjob").order_by("pk"))
    assert [e.action for e in events] == [
        AuditEvent.Action.EXPORT_FAILED,
        AuditEvent.Action.EXPORTED,
    ]
    assert "stopped before it finished" in events[0].summary
    assert events[1].actor == lead


def test_an_export_whose_file_was_removed_says_so_and_can_be_built_again(
    client, review, lead, records, django_capture_on_commit_callbacks
):
    client.force_login(lead)
    job = start(client, review, "csv", django_capture_on_commit_callbacks)
    job.refresh_from_db()
    job.file.storage.delete(job.file.name)
    download = reverse("extraction:export_download", args=[review.slug, job.pk])
    response = client.get(download, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "no longer on the server" in page
    assert "Build it again" in page
    job.refresh_from_db()
    assert job.status == ExportJob.Status.FAILED
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("extraction:export_retry", args=[review.slug, job.pk]))
    response = client.get(download)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")


def test_a_worker_starting_fails_the_exports_a_dead_worker_left(review, lead):
    job = ExportJob.objects.create(
        review=review, kind="workbook", created_by=lead, status="running"
    )
    # what the worker command asks when it starts (it knows the core, not extraction)
    answers = [said for _, said in signals.worker_starting.send(sender=None)]
    assert answers == ["1 export(s)"]
    job.refresh_from_db()
    assert (job.status, job.error) == (ExportJob.Status.FAILED, export_jobs.STALE_EXPORT_ERROR)
    assert export_jobs.fail_stale_exports() == 0


def test_direct_downloads_are_in_the_audit_log(client, review, lead, records):
    client.force_login(lead)
    assert client.get(reverse("extraction:workbook", args=[review.slug])).status_code == 200
    assert (
        client.get(reverse("extraction:ris", args=[review.slug]) + "?records=all").status_code
        == 200
    )
    summaries = list(
        review.audit_events.filter(action=AuditEvent.Action.EXPORTED)
        .order_by("pk")
        .values_list("summary", flat=True)
    )
    assert summaries == [
        f"Exported Evidence tables (Excel) as {review.slug}-evidence.xlsx.",
        f"Exported RIS of all records as {review.slug}-all.ris.",
    ]


def test_unknown_exports_are_refused_and_only_leads_may_export(
    client, review, lead, reviewer, outsider, records
):
    client.force_login(lead)
    refused = client.post(
        reverse("extraction:export_start", args=[review.slug]), {"kind": "pdf"}, follow=True
    )
    assert "There is no export called" in refused.content.decode()
    job = ExportJob.objects.create(review=review, kind="csv", created_by=lead)
    client.force_login(reviewer)
    assert (
        client.post(
            reverse("extraction:export_start", args=[review.slug]), {"kind": "csv"}
        ).status_code
        == 403
    )
    assert client.get(job.get_absolute_url()).status_code == 403
    client.force_login(outsider)
    assert client.get(job.get_absolute_url()).status_code == 404
    assert ExportJob.objects.count() == 1
    assert export_jobs.file_name(review, "csv") == f"{review.slug}-tables-csv.zip"
