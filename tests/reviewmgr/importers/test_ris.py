"""RIS: normalisation of every field, and located errors for broken files."""

import json
from pathlib import Path

import pytest

from reviewmgr.importers import ImportFileError, parse

DATA = Path(__file__).resolve().parents[2] / "data" / "import"


def read(name: str, **options):
    return parse((DATA / name).read_bytes(), filename=name, **options)


def test_ris_fields_are_normalised():
    record = read("normalise.ris").records[0]
    assert record.title == "In vitro effects of CO2 & heat on cells"
    assert record.abstract == "Background <0.05. Results were clear."
    assert record.authors == ["Smith, Jane A.", "Müller, Jörg"]
    assert record.year == 2019
    assert record.journal == "Journal of Tests"
    assert (record.volume, record.issue, record.pages) == ("12", "3", "101-109")
    assert record.doi == "10.1000/abc.123"
    assert record.type == "journal-article"
    assert record.keywords == ["heat", "cells", "stress"]
    assert record.position == 0
    assert record.line == 1


def test_accession_number_is_a_pmid_only_when_the_database_is_pubmed():
    records = read("normalise.ris").records
    assert records[0].pmid == "31234567"
    assert records[0].pmcid == "PMC7654321"
    assert records[2].pmid == ""  # AN 12345 with no database named


def test_labelled_pmid_in_a_custom_field_is_taken():
    assert read("normalise.ris").records[1].pmid == "29876543"


def test_messy_year_and_doi_prefix_are_cleaned():
    record = read("normalise.ris").records[1]
    assert record.year == 2019
    assert record.doi == "10.1000/xyz(2019)01"
    assert record.type == "book-chapter"


def test_year_outside_the_sane_range_is_dropped_with_a_located_warning():
    result = read("normalise.ris")
    assert result.records[2].year is None
    assert result.warnings == ["line 28: year '3019' is outside 1000-2100 and was left empty"]


def test_raw_keeps_the_whole_source_record_as_json():
    record = read("normalise.ris").records[0]
    assert record.raw["title"].startswith("<i>In vitro</i>")
    assert record.raw["name_of_database"] == "PubMed"
    json.dumps(record.raw)


def test_malformed_ris_in_strict_mode_lists_the_problems_by_line():
    with pytest.raises(ImportFileError) as error:
        read("malformed.ris")
    assert [str(problem) for problem in error.value.problems] == [
        "line 13: record data without a 'TY' start tag (its first line may be missing)",
    ]
    assert "line 13" in str(error.value)
    assert "\n" not in str(error.value)


def test_malformed_ris_in_lenient_mode_keeps_the_good_records():
    result = read("malformed.ris", lenient=True)
    assert [record.title for record in result.records] == [
        "A good first record",
        "",
        "A good last record",
    ]
    assert [record.position for record in result.records] == [0, 1, 2]
    assert [problem.location for problem in result.skipped] == ["line 13"]
    assert (
        "line 8: record has no title, abstract or identifier; imported as it is" in result.warnings
    )
    assert "line 6: 'ER' end-of-record tag without a record; ignored" in result.warnings
    assert any("last record has no 'ER'" in warning for warning in result.warnings)


def test_continuation_lines_extend_text_and_add_list_items():
    record = read("malformed.ris", lenient=True).records[2]
    assert record.abstract == "It continues on a second line."
    assert record.keywords == ["first", "second"]


def test_a_record_without_er_is_closed_by_the_next_ty():
    data = b"TY  - JOUR\nTI  - One\nTY  - JOUR\nTI  - Two\nER  - \n"
    result = parse(data)
    assert [record.title for record in result.records] == ["One", "Two"]
    assert "line 3: a new record starts before the previous one ended" in result.warnings[0]


def test_tag_lines_with_odd_spacing_are_read():
    data = b"TY  - JOUR\nTI - One space\nA1\t- Tab, Author\nKW-  x\nER  - \n"
    record = parse(data).records[0]
    assert record.title == "One space"
    assert record.authors == ["Tab, Author"]


def test_repeated_single_tags_keep_every_value():
    data = b"TY  - JOUR\nTI  - T\nSN  - 1234-5678\nSN  - 8765-4321\ncontinued\nER  - \n"
    record = parse(data).records[0]
    assert record.raw["issn"] == ["1234-5678", "8765-4321 continued"]


def test_unknown_tags_are_kept_in_raw():
    data = b"TY  - JOUR\nTI  - T\nUK  - kept\nZZ  - also kept\nER  - \n"
    assert parse(data).records[0].raw["unknown_tag"] == {"UK": ["kept"], "ZZ": ["also kept"]}


def test_asreview_notes_give_the_inclusion_label():
    data = b"TY  - JOUR\nTI  - A\nN1  - ASReview_relevant\nER  - \nTY  - JOUR\nTI  - B\nER  - \n"
    assert [record.label for record in parse(data).records] == [True, None]


def test_a_file_without_any_record_says_so():
    with pytest.raises(ImportFileError, match="No RIS records"):
        parse(b"Provider: nobody\n", format="ris")
