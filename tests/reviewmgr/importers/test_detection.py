"""Format detection, decoding and the files nobody should be able to import."""

import codecs
from pathlib import Path

import pytest

from reviewmgr.importers import ImportFileError, detect_format, parse

DATA = Path(__file__).resolve().parents[2] / "data" / "import"

RIS = b"TY  - JOUR\nTI  - A title\nER  - \n"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("normalise.ris", "ris"),
        ("latex.bib", "bibtex"),
        ("sample.nbib", "medline"),
        ("pubmed.xml", "pubmed-xml"),
        ("endnote_utf16.xml", "endnote-xml"),
        ("sample.enw", "endnote-tagged"),
        ("sample.ciw", "wos"),
        ("scopus.csv", "csv"),
        ("european.csv", "csv"),
        ("pipe_list.tsv", "csv"),
    ],
)
def test_each_format_is_recognised_from_its_content(name, expected):
    assert detect_format((DATA / name).read_bytes(), name) == expected


def test_content_wins_over_the_file_extension():
    assert detect_format(RIS, "export.txt") == "ris"
    assert detect_format(RIS, "export.bib") == "ris"
    medline = (DATA / "sample.nbib").read_bytes()
    assert detect_format(medline, "pubmed.ris") == "medline"


def test_empty_file_is_refused_with_a_plain_message():
    for data in (b"", b"  \n\r\n\t"):
        with pytest.raises(ImportFileError) as error:
            parse(data)
        assert str(error.value) == "The file is empty."


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10",
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
        b"\x00\x01\x02\x03\x04binary\x00\x00\x00\x05\x06",
    ],
    ids=["pdf", "png", "jpeg", "nul-bytes"],
)
def test_binary_file_is_refused_with_a_plain_message(data):
    with pytest.raises(ImportFileError) as error:
        detect_format(data, "upload.ris")
    assert str(error.value) == (
        "This looks like a binary file (e.g. a PDF or image), not a reference export."
    )
    with pytest.raises(ImportFileError):
        parse(data, format="ris")


def test_unknown_text_is_refused_naming_the_formats_we_read():
    data = b"Dear colleague,\nplease find the references attached.\nBest wishes\n"
    with pytest.raises(ImportFileError) as error:
        parse(data, filename="notes.txt")
    assert str(error.value) == (
        "Unrecognised format: expected RIS, BibTeX, PubMed (MEDLINE or XML), EndNote XML, "
        "Web of Science, CSV or Excel."
    )


def test_xml_of_another_kind_is_unrecognised():
    data = b'<?xml version="1.0"?><collection><record><datafield tag="245"/></record></collection>'
    with pytest.raises(ImportFileError, match="Unrecognised format"):
        detect_format(data, "marc.xml")


def test_a_zip_that_is_not_a_workbook_is_refused():
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("refs.ris", RIS)
    with pytest.raises(ImportFileError, match="ZIP archive"):
        detect_format(buffer.getvalue(), "refs.zip")


def test_utf8_with_bom_is_read():
    result = parse(codecs.BOM_UTF8 + "TY  - JOUR\nTI  - Ünïcode\nER  - \n".encode())
    assert result.records[0].title == "Ünïcode"
    assert result.warnings == []


def test_utf16_with_bom_is_read():
    data = codecs.BOM_UTF16_LE + "TY  - JOUR\nTI  - Ünïcode\nER  - \n".encode("utf-16-le")
    assert parse(data).records[0].title == "Ünïcode"


def test_utf16_without_a_bom_is_read():
    data = "TY  - JOUR\nTI  - No BOM here\nER  - \n".encode("utf-16-le")
    assert parse(data).records[0].title == "No BOM here"


def test_legacy_windows_encoding_is_read_with_a_warning():
    result = parse((DATA / "cp1252.ris").read_bytes(), filename="cp1252.ris")
    record = result.records[0]
    assert record.title == "Café au lait spots in naïve patients \u2013 a review"
    assert record.authors == ["Pérez, José"]
    assert "Windows-1252" in result.warnings[0]


MOSTLY_UTF8_RIS = (
    (
        "TY  - JOUR\nTI  - Müller's naïve study of Ångström units\nAU  - Pérez, José\nER  - \n\n"
    ).encode()
    + (
        # pasted from an old system: Windows-1252 bytes for "é", "–" and "ø"
        b"TY  - JOUR\nID  - rec-2\nTI  - Caf\xe9 au lait spots \x96 a review\n"
        b"AU  - S\xf8rensen, Anne\nER  - \n\n"
    )
    + "TY  - JOUR\nTI  - Zürich cohort, 5 µg/kg\nER  - \n".encode()
)


def test_a_utf8_file_with_a_few_bytes_that_are_not_utf8_keeps_its_utf8_text():
    result = parse(MOSTLY_UTF8_RIS, filename="search.ris")

    assert [record.title for record in result.records] == [
        "Müller's naïve study of Ångström units",
        "Café au lait spots \u2013 a review",
        "Zürich cohort, 5 µg/kg",
    ]
    assert [record.authors for record in result.records] == [
        ["Pérez, José"],
        ["Sørensen, Anne"],
        [],
    ]


def test_bytes_that_are_not_utf8_are_reported_with_their_line_and_record():
    result = parse(MOSTLY_UTF8_RIS, filename="search.ris")

    assert result.warnings == [
        'line 8: bytes that are not UTF-8 (0xE9 0x96) were read as Windows-1252 ("é\u2013") '
        'in record 2 ("Café au lait spots \u2013 a review", from line 6); check that record.',
        'line 9: bytes that are not UTF-8 (0xF8) were read as Windows-1252 ("ø") '
        'in record 2 ("Café au lait spots \u2013 a review", from line 6); check that record.',
    ]


def test_every_text_format_reports_bytes_that_are_not_utf8_by_record():
    bibtex = "@article{ok, title = {Ærø and Göteborg}}\n\n".encode() + (
        b"@misc{no-title-2019,\n  note = {Fr\xe9d\xe9ric's notes}\n}\n"
    )
    sheet = "title,year\nNaïve T cells,2020\n".encode() + b"Na\xefve B cells,2021\n"

    (bib_warning,) = parse(bibtex, filename="refs.bib").warnings[:1]
    sheet_result = parse(sheet, filename="refs.csv")

    assert bib_warning == (
        'line 4: bytes that are not UTF-8 (0xE9 0xE9) were read as Windows-1252 ("éé") '
        'in record 2 ("no-title-2019", from line 3); check that record.'
    )
    assert sheet_result.records[1].title == "Naïve B cells"
    assert sheet_result.warnings == [
        'line 3: bytes that are not UTF-8 (0xEF) were read as Windows-1252 ("ï") '
        'in record 2 ("Naïve B cells", from line 3); check that record.'
    ]


def test_many_lines_with_bytes_that_are_not_utf8_are_summarised():
    records = [f"TY  - JOUR\nTI  - Étude {n}\nER  - \n".encode() for n in range(12)]
    records += [f"TY  - JOUR\nTI  - Caf\xe9 {n}\nER  - \n".encode("cp1252") for n in range(12)]

    warnings = parse(b"".join(records), filename="many.ris").warnings

    assert len(warnings) == 11
    assert warnings[0].startswith("line 38: bytes that are not UTF-8 (0xE9)")
    assert warnings[-1] == "... and 2 more lines with bytes that are not UTF-8."


def test_a_legacy_file_is_not_taken_for_utf8_with_stray_bytes():
    data = "TY  - JOUR\nTI  - Café, crème brûlée and naïve Zoë\nER  - \n".encode("cp1252")

    result = parse(data)

    assert result.records[0].title == "Café, crème brûlée and naïve Zoë"
    assert result.warnings == [
        "The file is not UTF-8; it was read as Windows-1252 (Western European). "
        "Check that accented letters look right."
    ]


def test_crlf_and_stray_cr_line_ends_are_read():
    result = parse((DATA / "crcrlf.ris").read_bytes())
    assert [record.title for record in result.records] == ["First", "Second"]
    assert [record.line for record in result.records] == [1, 5]
    mac = parse(RIS.replace(b"\n", b"\r"))
    assert mac.records[0].title == "A title"


def test_an_explicit_format_skips_detection():
    assert parse(RIS, format="ris").format == "ris"


def test_an_unknown_format_name_is_refused():
    with pytest.raises(ImportFileError, match="Unknown import format"):
        parse(RIS, format="marc")


def test_empty_file_with_an_explicit_format_is_called_empty():
    with pytest.raises(ImportFileError, match="^The file is empty.$"):
        parse(b"", format="xlsx")


def test_excel_format_is_refused_for_a_text_file():
    with pytest.raises(ImportFileError, match="not an Excel workbook"):
        parse(b"title\nA\n", format="xlsx")


@pytest.mark.parametrize(
    "name",
    ["normalise.ris", "latex.bib", "sample.nbib", "pubmed.xml", "endnote_utf16.xml",
     "sample.enw", "sample.ciw", "rayyan.csv", "european.csv"],
)  # fmt: skip
def test_a_file_cut_anywhere_gives_records_or_an_import_error(name):
    data = (DATA / name).read_bytes()
    for cut in range(1, len(data), max(1, len(data) // 37)):
        for lenient in (False, True):
            try:
                parse(data[:cut], filename=name, lenient=lenient)
            except ImportFileError as error:
                assert str(error)
