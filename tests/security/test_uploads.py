"""Uploads: reference files, full-text PDFs and form definitions.

A file that is too large, or is not what it says it is, is refused with a message saying
what is wrong, and nothing of it is kept. What is kept stays under MEDIA_ROOT, away from the
static files, and is served only through a view that checks membership.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.views import static

from extraction import export_jobs, services as extraction
from extraction.models import ExportJob
from screening import services as screening
from screening.models import FullText, Stage
from tests.conftest import make_record
from tests.security.conftest import PDF, ris

TA = Stage.TITLE_ABSTRACT
HTML = b"<!doctype html><html><body><script>alert(1)</script></body></html>\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(300)
# HTML first and a PDF header further on: PDF readers accept that, browsers sniff HTML.
POLYGLOT = b"<html><script>alert(document.cookie)</script><!--\n%PDF-1.4\n-->" + PDF


def zip_of(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


def stored_files() -> list[Path]:
    media = Path(settings.MEDIA_ROOT)
    return sorted(path for path in media.rglob("*") if path.is_file()) if media.exists() else []


def multipart(fields: dict[str, str], file_field: str, filename: str, content: bytes):
    """A form post written by hand, so the file name reaches the server as sent (the test
    client would strip any directory from it first, as a careful browser does)."""
    boundary = "reviewmgr-security-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    escaped = filename.replace("\\", "\\\\").replace('"', '\\"')
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
        f'filename="{escaped}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def message_text(response) -> str:
    return response.content.decode().replace("\xa0", " ").replace("&#x27;", "'")


# Reference files -----------------------------------------------------------------------------


def upload(client, review, name: str, content: bytes, format: str = "auto"):
    return client.post(
        reverse("reviewmgr:batch_upload", args=[review.slug]),
        {"file": SimpleUploadedFile(name, content), "source": "pubmed", "format": format},
    )


def test_an_import_over_the_limit_is_refused_with_both_sizes_in_words(
    client, review, lead, settings
):
    settings.REVIEWMGR_MAX_UPLOAD_BYTES = 100
    client.force_login(lead)
    content = ris(["A trial"] * 20)
    assert 2200 < len(content) < 2300
    response = upload(client, review, "big.ris", content)
    assert response.status_code == 200
    assert "The file is 2.2 KB; the limit is 100 bytes." in message_text(response)
    assert not review.batches.exists()
    assert stored_files() == []


BINARY = "This looks like a binary file"
NOT_AN_EXPORT = [
    ("setup.ris", EXE, {"auto": BINARY, "ris": BINARY}),
    ("paper.ris", PDF, {"auto": BINARY, "ris": BINARY}),
    ("page.ris", HTML, {"auto": "Unrecognised format"}),
    ("export.ris", zip_of("export.ris", ris(["A trial"])), {"auto": "ZIP archive", "ris": BINARY}),
    ("bomb.ris", zip_of("zeros.ris", bytes(20 * 2**20)), {"auto": "expand", "ris": "expand"}),
]


@pytest.mark.parametrize(
    ("name", "content", "format", "says"),
    [
        pytest.param(name, content, format, says, id=f"{name}-{format}")
        for name, content, expected in NOT_AN_EXPORT
        for format, says in expected.items()
    ],
)
def test_a_file_that_is_not_a_reference_export_is_refused_and_not_kept(
    client, review, lead, name, content, format, says
):
    """Whether the format was detected or chosen by hand. (HTML chosen as RIS is text: the
    import itself then reports that it holds no records.)"""
    client.force_login(lead)
    response = upload(client, review, name, content, format=format)
    assert response.status_code == 200
    assert says in " ".join(response.context["form"].errors["file"])
    assert not review.batches.exists()
    assert stored_files() == []


def test_a_spreadsheet_that_would_expand_a_thousandfold_is_refused(client, review, lead):
    """An .xlsx is a ZIP archive: one that unpacks to far more than any real export would
    take the server's memory before its first row was read."""
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/sharedStrings.xml", b"<sst>" + b"A" * (30 * 2**20) + b"</sst>")
    client.force_login(lead)
    response = upload(client, review, "export.xlsx", bomb.getvalue())
    assert response.status_code == 200
    assert "expand" in " ".join(response.context["form"].errors["file"])
    assert not review.batches.exists()


@pytest.mark.parametrize(
    "filename", ["../../etc/passwd.ris", "..\\..\\evil.ris", "/etc/cron.d/evil.ris"]
)
def test_a_file_name_cannot_climb_out_of_the_upload_folder(client, review, lead, filename):
    body, content_type = multipart(
        {"source": "pubmed", "format": "auto"}, "file", filename, ris(["A trial"])
    )
    client.force_login(lead)
    response = client.post(
        reverse("reviewmgr:batch_upload", args=[review.slug]), body, content_type=content_type
    )
    assert response.status_code == 302
    batch = review.batches.get()
    media = Path(settings.MEDIA_ROOT).resolve()
    assert Path(batch.file.path).resolve().is_relative_to(media)
    assert "/" not in batch.file_name and "\\" not in batch.file_name
    assert ".." not in batch.file.name
    assert all(path.resolve().is_relative_to(media) for path in stored_files())
    assert not (media.parent / "etc").exists()


# Full texts ----------------------------------------------------------------------------------


@pytest.fixture
def at_full_text(review, reviewer, second_reviewer):
    record = make_record(review, "PRP for neuropathy")
    screening.sync_screening_rows(review=review)
    for person in (reviewer, second_reviewer):
        screening.record_decision(record=record, user=person, stage=TA, verdict="include")
    return record


def upload_pdf(client, review, record, name: str, content: bytes):
    return client.post(
        reverse("screening:fulltext_upload", args=[review.slug, record.pk]),
        {"pdf": SimpleUploadedFile(name, content, content_type="application/pdf")},
        follow=True,
    )


def test_a_pdf_over_the_limit_is_refused_with_both_sizes_in_words(
    client, review, reviewer, at_full_text, settings
):
    settings.REVIEWMGR_MAX_UPLOAD_BYTES = 50
    client.force_login(reviewer)
    response = upload_pdf(client, review, at_full_text, "paper.pdf", PDF)
    assert f"The file is {len(PDF)} bytes; the limit is 50 bytes." in message_text(response)
    assert not FullText.objects.exists()
    assert stored_files() == []


@pytest.mark.parametrize(
    "content", [HTML, EXE, POLYGLOT, b"   \n" + HTML], ids=["html", "exe", "html-then-pdf", "blank"]
)
def test_a_file_named_pdf_that_is_not_one_is_refused_and_not_kept(
    client, review, reviewer, at_full_text, content
):
    client.force_login(reviewer)
    response = upload_pdf(client, review, at_full_text, "paper.pdf", content)
    assert "This file is not a PDF" in message_text(response)
    assert "Full text saved" not in message_text(response)
    assert not FullText.objects.exists()
    assert stored_files() == []


@pytest.mark.parametrize(
    "filename",
    ['report".pdf', "naïve 论文 ü.pdf", "a%0D%0AX-Injected: yes.pdf", "../../../x.pdf", "é" * 300],
)
def test_the_pdf_is_served_inline_as_a_pdf_under_a_safe_name_whatever_it_was_called(
    client, review, reviewer, at_full_text, filename
):
    body, content_type = multipart({}, "pdf", filename, PDF)
    client.force_login(reviewer)
    client.post(
        reverse("screening:fulltext_upload", args=[review.slug, at_full_text.pk]),
        body,
        content_type=content_type,
    )
    assert (
        Path(FullText.objects.get().file.path)
        .resolve()
        .is_relative_to(Path(settings.MEDIA_ROOT).resolve())
    )
    response = client.get(reverse("screening:fulltext_pdf", args=[review.slug, at_full_text.pk]))
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "SAMEORIGIN"  # framed beside the screening form
    disposition = response["Content-Disposition"]
    assert disposition.startswith("inline;")
    assert disposition.isascii() and "\r" not in disposition and "\n" not in disposition
    assert disposition.count('"') in (0, 2) and "Injected" not in disposition
    assert disposition.rstrip('"').endswith(".pdf")


def test_the_pdf_is_only_for_members(client, review, reviewer, outsider, at_full_text):
    client.force_login(reviewer)
    upload_pdf(client, review, at_full_text, "paper.pdf", PDF)
    url = reverse("screening:fulltext_pdf", args=[review.slug, at_full_text.pk])
    assert client.get(url).status_code == 200
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302


def test_stored_files_are_not_reachable_at_any_address_of_their_own(
    client, review, lead, reviewer, at_full_text
):
    """Full texts, import files and built exports are served by views that check the
    member's role, never by their path under MEDIA_ROOT."""
    client.force_login(reviewer)
    upload_pdf(client, review, at_full_text, "paper.pdf", PDF)
    client.force_login(lead)
    upload(client, review, "search.ris", ris(["A trial"]))
    export = export_jobs.run_export(
        export_jobs.start_export(review=review, kind=ExportJob.Kind.BACKUP, user=lead)
    )
    names = [
        FullText.objects.get().file.name,
        review.batches.get(file_name="search.ris").file.name,
        export.file.name,
    ]
    for name in names:
        assert (Path(settings.MEDIA_ROOT) / name).is_file(), name
        for address in (
            f"/{name}",
            f"/media/{name}",
            f"{settings.MEDIA_URL.rstrip('/')}/{name}",
            f"/static/../media/{name}",
            f"/{settings.STATIC_URL.strip('/')}/{name}",
        ):
            assert client.get(address).status_code == 404, address
    download = reverse("extraction:export_download", args=[review.slug, export.pk])
    assert client.get(download).status_code == 200
    client.force_login(reviewer)
    assert client.get(download).status_code == 403


def test_no_url_pattern_serves_files_from_a_folder():
    def views(patterns):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                yield from views(entry.url_patterns)
            elif isinstance(entry, URLPattern):
                yield entry.callback

    assert static.serve not in set(views(get_resolver().url_patterns))


def test_uploads_live_apart_from_the_static_files():
    """Whatever lands in MEDIA_ROOT must never be collected or served as a static file.
    Checked on the settings as configured, not on the tests' temporary folders."""
    import reviewmgr.settings as configured

    media = Path(configured.MEDIA_ROOT).resolve()
    static_root = Path(configured.STATIC_ROOT).resolve()
    static_dirs = [
        Path(entry[1] if isinstance(entry, tuple) else entry).resolve()
        for entry in getattr(configured, "STATICFILES_DIRS", [])
    ]
    app_dirs = [
        Path(storage.location).resolve()
        for finder in finders.get_finders()
        for storage in getattr(finder, "storages", {}).values()
    ]
    assert app_dirs  # the apps' static folders were found
    for folder in [static_root, *static_dirs, *app_dirs]:
        assert media != folder
        assert not media.is_relative_to(folder), folder
        assert not folder.is_relative_to(media), folder


# Extraction form definitions -----------------------------------------------------------------


@pytest.fixture
def own_form(review, lead):
    return extraction.create_template(review=review, name="Our form", user=lead)


def test_a_definition_that_is_not_json_is_refused_with_where_it_breaks(
    client, review, lead, own_form
):
    url = reverse("extraction:template", args=[review.slug, own_form.pk])
    client.force_login(lead)
    response = client.post(url, {"action": "json", "json-definition": HTML.decode()})
    assert response.status_code == 200
    assert "Line 1, column 1" in message_text(response)
    assert own_form.versions.count() == 1


def test_a_definition_too_large_for_a_request_is_refused_and_nothing_published(
    client, review, lead, own_form, settings
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    definition = dict(own_form.current.definition)
    definition["sections"][0]["fields"] = [
        {"key": f"field_{n}", "label": f"Field {n}", "type": "short_text"} for n in range(400)
    ]
    client.force_login(lead)
    response = client.post(
        reverse("extraction:template", args=[review.slug, own_form.pk]),
        {"action": "json", "json-definition": json.dumps(definition)},
    )
    assert response.status_code == 400
    assert "larger than this site accepts" in response.content.decode()
    assert "Nothing was saved" in response.content.decode()
    assert own_form.versions.count() == 1
