"""Importing files into a review: the command, the browser upload, and what bad files do."""

import csv
import json
import zipfile

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from reviewmgr.models import ImportBatch, Record
from tests.conftest import corpus_path

GOOD_RIS = """TY  - JOUR
TI  - Platelet-rich plasma for lumbar radiculopathy
AU  - Doe, Jane
AU  - Roe, Richard
PY  - 2021
DO  - https://doi.org/10.1000/ABC.123
AB  - A randomised trial.
ER  -

TY  - JOUR
TI  - Interleukin-6 in the dorsal root ganglion after nerve injury
AU  - Smith, Anna
PY  - 2019
ER  -
"""

# A third record whose TY start line was lost: a person must fix it, and be told where.
BAD_RIS = (
    GOOD_RIS
    + """
TI  - A record whose first line went missing
AU  - Lost, Line
ER  -
"""
)


@pytest.fixture
def ris_file(tmp_path):
    path = tmp_path / "search.ris"
    path.write_text(GOOD_RIS, encoding="utf-8")
    return path


def run_json(*args) -> dict:
    from io import StringIO

    out = StringIO()
    call_command("import_records", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_command_imports_a_file_and_gives_the_record_ids_in_file_order(review, ris_file):
    result = run_json(review.slug, str(ris_file), "--source", "PubMed")
    assert result["imported"] == 2
    assert result["format"] == "ris"
    records = [Record.objects.get(pk=pk) for pk in result["record_ids"]]
    assert [r.title for r in records] == [
        "Platelet-rich plasma for lumbar radiculopathy",
        "Interleukin-6 in the dorsal root ganglion after nerve injury",
    ]
    assert records[0].doi == "10.1000/abc.123"
    assert records[0].authors == ["Doe, Jane", "Roe, Richard"]
    assert records[0].source_record  # the source record is kept whole
    batch = ImportBatch.objects.get(pk=result["batch"])
    assert (batch.source, batch.status, batch.record_count) == ("pubmed", "done", 2)


def test_a_malformed_file_stores_nothing_and_names_the_line(review, tmp_path):
    path = tmp_path / "broken.ris"
    path.write_text(BAD_RIS, encoding="utf-8")
    with pytest.raises(CommandError, match=r"line \d+"):
        call_command("import_records", review.slug, str(path))
    assert not review.records.exists()
    assert not review.batches.exists()


def test_lenient_import_keeps_the_good_records_and_reports_the_rest(review, tmp_path):
    path = tmp_path / "broken.ris"
    path.write_text(BAD_RIS, encoding="utf-8")
    result = run_json(review.slug, str(path), "--lenient")
    assert result["imported"] == 2
    assert result["skipped"] == [
        "line 16: record data without a 'TY' start tag (its first line may be missing)"
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n" + bytes(range(256)), "binary"),
        (b"Dear colleagues, here are the studies we talked about.\n", "Unrecognised format"),
    ],
)
def test_unusable_files_get_a_one_line_message(review, tmp_path, content, message):
    path = tmp_path / "upload.ris"
    path.write_bytes(content)
    with pytest.raises(CommandError, match=message):
        call_command("import_records", review.slug, str(path))
    assert not review.batches.exists()


def test_a_zip_bomb_is_refused_by_the_command_too(review, tmp_path):
    """The upload form is not the only way in: the importer itself refuses an archive that
    would unpack to far more than it weighs, before reading it."""
    path = tmp_path / "export.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/sharedStrings.xml", b"<sst>" + b"A" * (30 * 2**20) + b"</sst>")
    with pytest.raises(CommandError, match=r"would expand from .* to 30\.0\sMB"):
        call_command("import_records", review.slug, str(path))
    assert not review.batches.exists()


def test_command_names_an_unknown_review_or_source(review, ris_file):
    with pytest.raises(CommandError, match="There is no review 'nope'"):
        call_command("import_records", "nope", str(ris_file))
    with pytest.raises(CommandError, match="Unknown source 'Google'"):
        call_command("import_records", review.slug, str(ris_file), "--source", "Google")
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_records", review.slug, str(ris_file) + ".missing")


def test_importing_the_same_file_again_warns_that_it_was_imported_before(review, ris_file):
    run_json(review.slug, str(ris_file))
    second = run_json(review.slug, str(ris_file))
    assert second["imported"] == 2
    assert "already imported" in second["warnings"][0]


def _expected_corpus_files():
    path = corpus_path("import", "expected.csv")
    with path.open(encoding="utf-8") as handle:
        return [(row["path"], int(row["records"])) for row in csv.DictReader(handle)]


def _representative(files: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Per format folder, its first file and its largest: the parser tests read every file of
    the corpus, so the path through the database needs each format, not each file again."""
    folders: dict[str, list[tuple[str, int]]] = {}
    for relative, listed in files:
        folders.setdefault(relative.split("/")[0], []).append((relative, listed))
    chosen = []
    for group in folders.values():
        largest = max(group, key=lambda item: item[1])
        chosen += [group[0]] if largest == group[0] else [group[0], largest]
    return chosen


def test_every_format_of_the_corpus_imports_with_its_expected_count(review):
    """Through the database, as a user's import would: each format's first and largest file,
    its exact count."""
    from tests.reviewmgr.importers.test_corpus import CORRECTED

    files = _representative(_expected_corpus_files())
    assert len({relative.split("/")[0] for relative, _ in files}) >= 8  # every format folder
    wrong = []
    for relative, listed in files:
        expected = CORRECTED.get(relative, listed)
        data = corpus_path("import", relative).read_bytes()
        from reviewmgr import services

        batch, ids = services.import_records(review=review, data=data, file_name=relative)
        if len(ids) != expected or batch.record_count != expected:
            wrong.append(f"{relative}: {len(ids)} != {expected}")
    assert wrong == []


# The browser ------------------------------------------------------------------------------------


def upload(client, review, name: str, content: bytes, **fields):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = {"file": SimpleUploadedFile(name, content), "source": "pubmed", "format": "auto"}
    data.update(fields)
    return client.post(reverse("reviewmgr:batch_upload", args=[review.slug]), data)


def test_lead_uploads_a_file_and_sees_the_batch_imported(
    client, review, lead, django_capture_on_commit_callbacks
):
    client.force_login(lead)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(
            client,
            review,
            "pubmed.ris",
            GOOD_RIS.encode(),
            search_string="PRP AND neuropathic",
            search_date="2026-11-01",
        )
    batch = review.batches.get()
    assert response.url == batch.get_absolute_url()
    page = client.get(response.url).content.decode()
    assert "<strong>2</strong> records imported" in page
    assert batch.search_date.isoformat() == "2026-11-01"
    assert review.records.count() == 2


def test_progress_fragment_is_served_to_htmx_while_a_batch_waits(client, review, lead):
    client.force_login(lead)
    response = upload(client, review, "pubmed.ris", GOOD_RIS.encode())  # task not run yet
    fragment = client.get(response.url, headers={"HX-Request": "true"}).content.decode()
    assert fragment.lstrip().startswith('<section id="batch-status"')
    assert "<progress" in fragment
    assert 'hx-trigger="every 1s"' in fragment


def test_an_unrecognised_upload_is_refused_on_the_form(client, review, lead):
    client.force_login(lead)
    response = upload(client, review, "photo.ris", b"\x89PNG\r\n\x1a\n" + bytes(200))
    assert response.status_code == 200
    assert "binary" in response.content.decode()
    assert not review.batches.exists()


def test_an_upload_over_the_size_limit_is_refused(client, review, lead, settings):
    settings.REVIEWMGR_MAX_UPLOAD_BYTES = 100
    client.force_login(lead)
    response = upload(client, review, "big.ris", GOOD_RIS.encode())
    assert "the limit is" in response.content.decode()
    assert not review.batches.exists()


def test_a_bad_upload_fails_with_located_problems_and_can_be_retried_leniently(
    client, review, lead, django_capture_on_commit_callbacks
):
    client.force_login(lead)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, review, "broken.ris", BAD_RIS.encode())
    batch = review.batches.get()
    assert batch.status == ImportBatch.Status.FAILED
    assert not review.records.exists()
    page = client.get(response.url).content.decode()
    assert "line " in page
    assert "Import the good records only" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("reviewmgr:batch_retry", args=[review.slug, batch.pk]), {"lenient": "1"}
        )
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.DONE
    assert review.records.count() == batch.record_count == 2


def test_a_sheet_with_unknown_columns_waits_for_the_lead_to_map_them(
    client, review, lead, django_capture_on_commit_callbacks
):
    sheet = (
        "Paper name;Writers;Published\nPRP for sciatica;Doe J;2020\nIL-6 in CCI rats;Roe R;2018\n"
    )
    client.force_login(lead)
    response = upload(client, review, "export.csv", sheet.encode())
    batch = review.batches.get()
    assert batch.status == ImportBatch.Status.MAPPING
    assert response.url == reverse("reviewmgr:batch_map", args=[review.slug, batch.pk])
    form_page = client.get(response.url).content.decode()
    assert "Paper name" in form_page
    no_title = client.post(response.url, {"col_0": "", "col_1": "authors", "col_2": "year"})
    assert "Choose the column that holds the titles." in no_title.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(response.url, {"col_0": "title", "col_1": "authors", "col_2": "year"})
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.DONE
    assert sorted(review.records.values_list("title", "year")) == [
        ("IL-6 in CCI rats", 2018),
        ("PRP for sciatica", 2020),
    ]


def test_lead_deletes_a_batch_after_a_confirmation_that_counts_its_records(
    client, review, lead, ris_file
):
    run_json(review.slug, str(ris_file))
    batch = review.batches.get()
    client.force_login(lead)
    url = reverse("reviewmgr:batch_delete", args=[review.slug, batch.pk])
    assert "its <strong>2 records</strong>" in client.get(url).content.decode()
    client.post(url)
    assert not review.batches.exists()
    assert not review.records.exists()


def test_odd_form_values_get_answers_not_server_errors(client, review, lead, ris_file, tmp_path):
    from reviewmgr.models import DuplicateGroup

    run_json(review.slug, str(ris_file))
    batch = review.batches.get()
    group = DuplicateGroup.objects.create(review=review, score=0.8, reasons=[])
    review.records.update(duplicate_group=group)
    client.force_login(lead)
    decide = reverse("reviewmgr:duplicate_decide", args=[review.slug, group.pk])
    assert client.post(decide, {"action": "merge", "primary": "abc"}).status_code == 302
    group.refresh_from_db()
    assert group.status == DuplicateGroup.Status.MERGED  # the richest record was chosen
    lone = DuplicateGroup.objects.create(review=review, score=0.8, reasons=[])
    lone_decide = reverse("reviewmgr:duplicate_decide", args=[review.slug, lone.pk])
    refused = client.post(lone_decide, {"action": "merge"}, follow=True)
    assert "fewer than two records" in refused.content.decode()
    columns = client.get(reverse("reviewmgr:batch_map", args=[review.slug, batch.pk]))
    assert columns.status_code == 302  # a RIS file has no columns to map
    long_name = "x" * 300 + ".ris"
    with pytest.raises(CommandError, match="File name too long"):
        call_command("import_records", review.slug, str(tmp_path / long_name))
    upload(client, review, long_name, GOOD_RIS.encode())
    assert review.batches.filter(file_name__startswith="xxx").exists()
