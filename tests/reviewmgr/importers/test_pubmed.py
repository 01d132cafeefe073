"""PubMed in both shapes: MEDLINE text (.nbib) and XML (PubmedArticle, PubmedBookArticle)."""

from pathlib import Path

import pytest

from reviewmgr.importers import ImportFileError, parse

DATA = Path(__file__).resolve().parents[2] / "data" / "import"


def read(name: str, **options):
    return parse((DATA / name).read_bytes(), filename=name, **options)


def test_medline_fields_are_normalised():
    record = read("sample.nbib").records[0]
    assert record.pmid == "12345678"
    assert record.title == "A MEDLINE title that wraps onto a second line."
    assert record.authors == ["Smith, Jane A", "Jones, Bob"]
    assert record.year == 2015
    assert record.journal == "Journal of MEDLINE Tests"
    assert (record.volume, record.issue, record.pages) == ("5", "1", "11-9")
    assert record.doi == "10.1000/med.5"
    assert record.pmcid == "PMC4444444"
    assert record.keywords == ["testing", "Reading", "Humans"]
    assert record.type == "journal-article"
    assert record.raw["PT"] == ["Journal Article", "Randomized Controlled Trial"]


def test_a_pmid_line_starts_a_new_medline_record_even_without_a_blank_line():
    records = read("sample.nbib").records
    assert [record.pmid for record in records] == ["12345678", "87654321", "87654322"]
    assert [record.line for record in records] == [1, 28, 32]
    assert records[1].type == "preprint"


def test_a_stray_line_in_medline_is_a_located_problem():
    data = b"PMID- 1\nTI  - Fine\n\nPMID- 2\nTI  - Broken\nthis line has no tag\n"
    with pytest.raises(ImportFileError) as error:
        parse(data, format="medline")
    assert str(error.value.problems[0]) == "line 6: not a MEDLINE tag line: 'this line has no tag'"
    assert [record.pmid for record in parse(data, format="medline", lenient=True).records] == ["1"]


def test_structured_abstract_keeps_its_section_labels():
    record = read("pubmed.xml").records[0]
    assert record.abstract == (
        "BACKGROUND: Why we looked. METHODS: How we looked. RESULTS: What we saw."
    )


def test_pubmed_xml_fields_are_normalised():
    record = read("pubmed.xml").records[0]
    assert record.title == "Effects of Escherichia coli on H2O uptake."
    assert record.authors == ["Smith, Jane A", "The Test Group"]
    assert record.journal == "Journal of Structured Abstracts"
    assert (record.volume, record.issue, record.pages) == ("7", "2", "100-9")
    assert record.pmid == "11111111"
    assert record.language == "eng"
    assert record.keywords == ["water"]
    assert record.line == 4
    assert record.raw["xml"].startswith("<PubmedArticle>")


def test_medline_date_gives_the_year():
    assert read("pubmed.xml").records[0].year == 1998


def test_ids_come_from_elocation_and_article_id_list_but_not_from_references():
    first, second, _ = read("pubmed.xml").records
    assert first.doi == "10.1000/pm.1"
    assert first.pmcid == "PMC2222222"
    assert second.doi == "10.1101/2024.01.01.000001"
    assert second.type == "preprint"


def test_pubmed_book_article_is_read_as_a_chapter():
    record = read("pubmed.xml").records[2]
    assert record.title == "Chapter One: Testing"
    assert record.journal == "A Handbook of Tests"
    assert record.authors == ["Writer, Wanda"]
    assert record.year == 2010
    assert record.pmid == "44444444"
    assert record.type == "book-chapter"


def test_truncated_xml_is_a_located_problem_and_lenient_keeps_what_was_complete():
    data = (DATA / "pubmed.xml").read_bytes()
    cut = data[: data.index(b"<PubmedBookArticle>") + 40]
    with pytest.raises(ImportFileError) as error:
        parse(cut, filename="cut.xml")
    assert error.value.problems[0].location.startswith("line ")
    assert "not well-formed" in error.value.problems[0].message
    assert len(parse(cut, filename="cut.xml", lenient=True).records) == 2
