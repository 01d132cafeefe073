"""Field normalisation shared by every format: plain functions, no files."""

from datetime import datetime

import pytest

from reviewmgr.importers import normalise as norm


@pytest.mark.parametrize(
    "given",
    [
        "10.1000/ABC.123",
        "https://doi.org/10.1000/abc.123",
        "http://dx.doi.org/10.1000/ABC.123",
        "doi:10.1000/abc.123",
        "DOI: 10.1000/abc.123.",
        "https://doi.org/10.1000%2Fabc.123",
        "10.1000/abc.123 [doi]",
        ["", "10.1000/abc.123"],
    ],
)
def test_doi_url_prefix_is_stripped_and_lower_cased(given):
    assert norm.doi(given) == "10.1000/abc.123"


def test_doi_keeps_parentheses_that_belong_to_it():
    assert norm.doi("10.1016/0370-1573(79)90074-7") == "10.1016/0370-1573(79)90074-7"
    assert norm.doi("(see 10.1000/xyz)") == "10.1000/xyz"


def test_text_that_is_not_a_doi_gives_no_doi():
    assert norm.doi("DOI 1") == ""
    assert norm.doi(None) == ""


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("12345678", "12345678"),
        (12345678, "12345678"),
        (12345678.0, "12345678"),
        ("PMID: 12345678", "12345678"),
        ("https://pubmed.ncbi.nlm.nih.gov/12345678/", "12345678"),
        ("12345678 [PubMed - indexed for MEDLINE]", "12345678"),
        ("0", ""),
        ("", ""),
    ],
)
def test_pmid_field_gives_digits_only(given, expected):
    assert norm.pmid(given) == expected


def test_pmid_is_taken_from_general_fields_only_when_it_is_clearly_one():
    assert norm.pmid_in_text("PMID:29876543") == "29876543"
    assert norm.pmid_in_text("http://www.ncbi.nlm.nih.gov/pubmed/22752652") == "22752652"
    assert norm.pmid_in_text("https://europepmc.org/abstract/MED/22752652") == "22752652"
    assert norm.pmid_in_text("2019-65183-001") == ""
    assert norm.pmid_in_text("12345678") == ""


def test_pmcid_is_written_with_its_prefix():
    assert norm.pmcid("https://www.ncbi.nlm.nih.gov/pmc/articles/PMC7999968") == "PMC7999968"
    assert norm.pmcid("pmc 123") == "PMC123"
    assert norm.pmcid("12345") == ""


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2019", 2019),
        ("2019/03/01", 2019),
        ("2019/03/01/", 2019),
        ("Mar 2019", 2019),
        ("2019a", 2019),
        ("1998 Dec-1999 Jan", 1998),
        ("20190301", 2019),
        ("2014//", 2014),
        (2019, 2019),
        (2019.0, 2019),
        (datetime(2019, 3, 1), 2019),
    ],
)
def test_year_is_read_from_messy_dates(given, expected):
    assert norm.year(given) == (expected, "")


def test_year_outside_the_sane_range_is_left_empty_with_a_reason():
    year, why = norm.year("3019")
    assert year is None
    assert "outside 1000-2100" in why


def test_unreadable_year_is_left_empty_with_a_reason():
    assert norm.year("10 15") == (None, "year '10 15' could not be read")
    assert norm.year("") == (None, "")


def test_html_tags_are_stripped_and_entities_decoded_in_plain_text():
    assert norm.plain("<i>In vitro</i> study of CO<sub>2</sub> &amp; heat") == (
        "In vitro study of CO2 & heat"
    )
    assert norm.plain("First.<p>Second.</p>") == "First. Second."
    assert norm.plain("p &lt; 0.05 and x<y") == "p < 0.05 and x<y"


def test_whitespace_is_collapsed():
    assert norm.text("  A\n  title\twith   gaps \xa0 ") == "A title with gaps"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Smith, Jane", ["Smith, Jane"]),
        ("Smith, J.; Doe, J.", ["Smith, J.", "Doe, J."]),
        ("Smith, J. and Doe, J.", ["Smith, J.", "Doe, J."]),
        ("Griffin DK, Larkin DM, O'Connor RE.", ["Griffin, DK", "Larkin, DM", "O'Connor, RE"]),
        ("Liu R., Adler D.G.", ["Liu, R.", "Adler, D.G."]),
        ("Li, W., Dou, Z.", ["Li, W.", "Dou, Z."]),
        ("['Marx, Karl', 'Lindgren, Astrid']", ["Marx, Karl", "Lindgren, Astrid"]),
        ("P. Kogge; J. Shalf", ["Kogge, P.", "Shalf, J."]),
        ("Joseph Rottman, Erran Carmel", ["Joseph Rottman", "Erran Carmel"]),
        ("", []),
    ],
)
def test_authors_become_a_list_of_surname_first_names_where_the_source_allows(given, expected):
    assert norm.people(given) == expected


def test_author_lists_from_tag_lines_keep_one_name_per_item():
    assert norm.people(["Smith, Jane", " Doe,  John ", ""]) == ["Smith, Jane", "Doe, John"]


def test_email_addresses_are_removed_from_names():
    assert norm.person("Stillman, Andrew N. (andrew.stillman@uconn.edu)") == "Stillman, Andrew N."


def test_keywords_are_split_without_repeats():
    assert norm.keywords(["heat", "cells; stress", "heat"]) == ["heat", "cells", "stress"]
    assert norm.keywords("a,b, c", split_commas=True) == ["a", "b", "c"]
    assert norm.keywords("Pain, Postoperative; Humans") == ["Pain, Postoperative", "Humans"]


def test_pages_are_joined_with_a_plain_hyphen():
    assert norm.pages("99--123") == "99-123"
    assert norm.pages("99\u2013123") == "99-123"
    assert norm.pages("101", "109") == "101-109"
    assert norm.pages("e0815") == "e0815"


@pytest.mark.parametrize(
    ("given", "table", "expected"),
    [
        ("JOUR", None, "journal-article"),
        ("CHAP", None, "book-chapter"),
        ("THES", None, "thesis"),
        ("inproceedings", norm.BIBTEX_TYPES, "conference-paper"),
        ("phdthesis", norm.BIBTEX_TYPES, "thesis"),
        ("J", norm.WOS_TYPES, "journal-article"),
        ("Journal Article", None, "journal-article"),
        ("Book Section", None, "book-chapter"),
        ("Conference Paper", None, "conference-paper"),
        ("Case Reports", None, "journal-article"),
        ("Preprint", None, "preprint"),
        ("Web Page", None, "webpage"),
        ("Dataset", None, "dataset"),
        ("Patent", None, "other"),
    ],
)
def test_source_types_map_to_record_types(given, table, expected):
    assert norm.record_type(given, table=table) == expected


def test_a_record_without_a_type_is_an_article_when_it_has_a_journal():
    assert norm.record_type("", has_journal=True) == "journal-article"
    assert norm.record_type(None) == "other"


@pytest.mark.parametrize(
    ("given", "expected"),
    [("1", True), ("Included", True), ("I", True), ("0", False), ("exclude", False),
     ("", None), ("-1", None)],
)  # fmt: skip
def test_inclusion_labels_are_read_from_common_spellings(given, expected):
    assert norm.label(given) == (expected, False)


def test_an_unknown_label_is_flagged():
    assert norm.label("perhaps") == (None, True)


def test_digits_that_int_cannot_read_are_not_taken_for_numbers():
    assert norm.year("2\u00b918") == (None, "year '2\u00b918' could not be read")
    assert norm.pmid("\u00b9\u00b2\u00b3") == ""
