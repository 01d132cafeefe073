"""BibTeX: LaTeX to Unicode, macros, crossrefs, repeated keys, located errors."""

from pathlib import Path

import pytest

from reviewmgr.importers import ImportFileError, parse

DATA = Path(__file__).resolve().parents[2] / "data" / "import"


def read(name: str, **options):
    return parse((DATA / name).read_bytes(), filename=name, **options)


def test_latex_accents_become_unicode():
    record = read("latex.bib").records[0]
    assert record.authors == ["Müller, Jörg", "Café, René", "World Health Organization"]
    assert record.title == "Über die Étude of DNA \u2014 a \u03b1-test"


def test_string_macros_are_resolved():
    assert read("latex.bib").records[0].journal == "Journal of Tübingen Tests"


def test_bibtex_fields_are_normalised():
    record = read("latex.bib").records[0]
    assert record.year == 2020
    assert record.pages == "10-20"
    assert record.doi == "10.1000/bib.1"
    assert record.keywords == ["alpha", "beta", "gamma"]
    assert record.type == "journal-article"
    assert record.line == 3


def test_urls_are_not_mangled_by_latex_decoding():
    assert read("latex.bib").records[0].url == "https://example.org/search?q=a&b=50%25"


def test_crossref_fills_in_the_proceedings_title_and_year():
    paper = read("latex.bib").records[1]
    assert paper.journal == "Proceedings of the Test Conference"
    assert paper.year == 2021
    assert paper.type == "conference-paper"


def test_a_repeated_citation_key_keeps_both_records_with_a_warning():
    result = read("latex.bib")
    assert [record.raw["ID"] for record in result.records].count("mueller2020") == 2
    assert result.records[3].title == "Same key, different paper"
    assert result.warnings == [
        "line 25: citation key 'mueller2020' is also used by an earlier entry; both records kept"
    ]


def test_raw_holds_entry_type_key_and_decoded_fields():
    raw = read("latex.bib").records[0].raw
    assert raw["ENTRYTYPE"] == "article"
    assert raw["ID"] == "mueller2020"
    assert raw["author"] == ["Müller, Jörg", "Café, René", "World Health Organization"]


def test_unreadable_entry_in_strict_mode_is_reported_by_line():
    with pytest.raises(ImportFileError) as error:
        read("broken.bib")
    locations = [problem.location for problem in error.value.problems]
    assert locations == ["line 6"]
    assert "could not be read" in error.value.problems[0].message


def test_unreadable_entry_in_lenient_mode_keeps_the_good_ones():
    result = read("broken.bib", lenient=True)
    assert [record.title for record in result.records] == ["A good entry", ""]
    assert len(result.skipped) == 1
    assert "line 11: record has no title, abstract or identifier; imported as it is" in (
        result.warnings
    )


def test_a_file_of_comments_only_says_there_are_no_entries():
    with pytest.raises(ImportFileError, match="No BibTeX entries were found"):
        parse(b"@comment{nothing}\n@string{a = {b}}\n", format="bibtex")
