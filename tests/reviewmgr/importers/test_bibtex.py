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


BRACED_KEYS = rb"""@article{M{\"u}ller2019,
  title = {Pain after {\"O}sterreich},
  author = {M{\"u}ller, J{\"o}rg and Smith, A.},
  journal = {Schmerz},
  year = {2019}
}

@article{Smith\_{2020}a,
  title = {Cytokines in sciatica},
  author = {Smith, Anne},
  year = 2020
}

@article{G\"{o}del2021,
  title = {Na{\"\i}ve controls},
  year = 2021
}
"""


def test_citation_keys_with_latex_in_braces_import_with_their_fields_decoded():
    result = parse(BRACED_KEYS, format="bibtex")

    first, second, third = result.records
    assert first.title == "Pain after Österreich"
    assert first.authors == ["Müller, Jörg", "Smith, A."]
    assert (first.journal, first.year, first.line) == ("Schmerz", 2019, 1)
    assert (second.title, second.authors, second.line) == (
        "Cytokines in sciatica",
        ["Smith, Anne"],
        8,
    )
    assert (third.title, third.year, third.line) == ("Naïve controls", 2021, 14)
    assert [record.raw["ID"] for record in result.records] == [
        'M{\\"u}ller2019',
        "Smith\\_{2020}a",
        'G\\"{o}del2021',
    ]
    assert result.warnings == []


def test_a_braced_citation_key_used_twice_keeps_both_records_with_a_warning():
    data = rb"""@article{M{\"u}ller2019, title = {First}}
@article{M{\"u}ller2019, title = {Second}}
"""
    result = parse(data, format="bibtex")

    assert [record.title for record in result.records] == ["First", "Second"]
    assert result.warnings == [
        "line 2: citation key 'M{\\\"u}ller2019' is also used by an earlier entry; "
        "both records kept"
    ]


def test_a_crossref_to_a_braced_key_fills_in_the_proceedings():
    data = rb"""@inproceedings{talk, title = {A talk}, crossref = {K{\"o}ln2020}}
@proceedings{K{\"o}ln2020, title = {Meeting in K{\"o}ln}, year = 2020}
"""
    talk = parse(data, format="bibtex").records[0]

    assert (talk.journal, talk.year) == ("Meeting in Köln", 2020)


def test_white_space_inside_an_entry_header_does_not_hide_the_entry():
    data = b"""@article
{first,
  title = {One}
}

@ book{second, title = {Two}}
@article{third, title = {Three}}
"""

    result = parse(data, format="bibtex")

    assert [(record.title, record.line) for record in result.records] == [
        ("One", 1),
        ("Two", 6),
        ("Three", 7),
    ]


UNREADABLE = b"""@article{kept, title = {Kept}}

@article{unfinished,
  title = {Never closed

@article{after, title = {After}}
  @book lost-brace, title = {No brace}
"""


def test_an_entry_that_cannot_be_read_is_named_with_its_line():
    with pytest.raises(ImportFileError) as error:
        parse(UNREADABLE, format="bibtex")

    unfinished, lost = (str(problem) for problem in error.value.problems)
    assert unfinished.startswith(
        "line 3: BibTeX entry 'unfinished' (@article) could not be read: Unexpected block start"
    )
    assert lost == (
        "line 7: this looks like a BibTeX entry (@book lost-brace, title = {No brace}) but "
        "could not be read as one"
    )


def test_lenient_import_keeps_the_readable_entries_and_names_every_one_left_out():
    result = parse(UNREADABLE, format="bibtex", lenient=True)

    assert [record.title for record in result.records] == ["Kept", "After"]
    assert [problem.location for problem in result.skipped] == ["line 3", "line 7"]
    assert "'unfinished' (@article)" in result.skipped[0].message
    assert "@book lost-brace" in result.skipped[1].message
