"""EndNote XML (UTF-16), EndNote tagged text and Web of Science plain text."""

import json
from pathlib import Path

import pytest

from reviewmgr.importers import ImportFileError, parse

DATA = Path(__file__).resolve().parents[2] / "data" / "import"


def read(name: str, **options):
    return parse((DATA / name).read_bytes(), filename=name, **options)


def test_utf16_endnote_xml_is_read_with_styled_text_joined():
    record = read("endnote_utf16.xml").records[0]
    assert record.title == "Spectra of hydrogen"
    assert record.authors == ["Ångström, Anders", "Noether, E."]
    assert record.journal == "Annals of Light"
    assert (record.year, record.volume, record.issue, record.pages) == (1868, "3", "4", "1-10")
    assert record.keywords == ["spectra", "light"]
    assert record.type == "journal-article"
    assert record.line == 3


def test_endnote_ids_doi_and_pubmed_accession_are_read():
    record = read("endnote_utf16.xml").records[0]
    assert record.doi == "10.1000/en.1"
    assert record.pmid == "5555555"


def test_endnote_raw_keeps_custom_fields_by_path():
    raw = read("endnote_utf16.xml").records[0].raw
    assert raw["custom7"] == "my own note"
    assert raw["ref-type@name"] == "Journal Article"
    json.dumps(raw)


def test_endnote_xml_on_one_line_locates_records_by_number():
    data = (
        b'<?xml version="1.0" encoding="UTF-8"?><xml><records>'
        b"<record><ref-type>17</ref-type><titles><title>Fine</title></titles></record>"
        b"<record><ref-type>17</ref-type><dates><year>2001</year></dates></record>"
        b"</records></xml>"
    )
    result = parse(data)
    assert [record.year for record in result.records] == [None, 2001]
    assert result.warnings == [
        "record 2: record has no title, abstract or identifier; imported as it is"
    ]


def test_endnote_ref_type_maps_to_record_type():
    assert read("endnote_utf16.xml").records[1].type == "book-chapter"


def test_endnote_tagged_text_is_read():
    first, second = read("sample.enw").records
    assert first.title == "A tagged title"
    assert first.authors == ["Smith, Jane", "Doe, John"]
    assert (first.journal, first.year, first.pages) == ("Journal of Tags", 2012, "5-9")
    assert first.doi == "10.1000/enw.1"
    assert first.keywords == ["first", "second"]
    assert first.url == "https://example.org/paper"
    assert second.type == "book"
    assert second.line == 16


def test_endnote_tagged_record_without_tags_is_a_located_problem():
    data = b"%0 Journal Article\n%T Fine\n\nno tag on this line\n%T Broken\n"
    with pytest.raises(ImportFileError) as error:
        parse(data, format="endnote-tagged")
    assert error.value.problems[0].location == "line 4"


def test_web_of_science_fields_are_normalised():
    article, book = read("sample.ciw").records
    assert article.title == "A Web of Science title that wraps onto a second line"
    assert article.authors == ["Smith, Jane", "Doe, John"]
    assert article.journal == "JOURNAL OF WOS TESTS"
    assert (article.year, article.volume, article.pages) == (2018, "3", "10-20")
    assert article.doi == "10.1000/wos.1"
    assert article.pmid == "29999999"
    assert article.keywords == ["alpha", "beta", "GAMMA"]
    assert article.type == "conference-paper"
    assert article.raw["accession_number"] == "WOS:000000000000001"
    assert book.type == "book"
    assert (article.line, book.line) == (3, 25)


def test_web_of_science_tag_without_its_space_is_read_with_a_warning():
    data = b"FN Clarivate\nVR 1.0\nPT J\nAUGilles, H\nTI A title\nER\nEF\n"
    result = parse(data)
    assert result.records[0].authors == ["Gilles, H"]
    assert result.warnings == ["line 4: tag 'AU' is not followed by a space; read anyway"]


def test_web_of_science_file_without_its_end_line_warns():
    data = b"FN Clarivate\nVR 1.0\nPT J\nTI A title\nER\n"
    assert parse(data).warnings == [
        "The file has no 'EF' end-of-file line; it may have been cut short."
    ]
