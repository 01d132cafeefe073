"""The shared corpus of real export files (../shared/corpus/import, described in its
SOURCES.md): exact record counts, the same collection through ~25 tools, the trap files,
and no file that makes the importer fail with anything but ImportFileError."""

import csv
import re
import unicodedata
from pathlib import Path

import pytest

from reviewmgr.importers import ImportFileError, ParseResult, parse
from reviewmgr.importers.base import CONTENTLESS_WARNING

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus" / "import"
ABSENT = f"the shared corpus is not beside the checkout ({CORPUS})"

# Parser test fixtures whose records carry nothing to screen or look up (only a type,
# notes or a date). Strict mode refuses them with located problems; lenient mode skips
# them, so records kept plus records skipped is the count of expected.csv.
CONTENTLESS = {
    "ris/asreview__baseline_reference_types.ris",
    "ris/asreview__baseline_tag-notes.ris",
    "ris/asreview__baseline_tag_and_field_definitions_lists.ris",
    "ris/rispy__example_custom_list_tags.ris",
    "bibtex/bibtexparser14__crossref_cascading.bib",
    "bibtex/bibtexparser14__fieldname.bib",
}

# Where expected.csv counts rows that are not records (its counter read the sheets with
# no header detection), the right count and why.
CORRECTED = {
    # Embase export re-saved by Excel: 3 search-query rows above the header, 10 records.
    "csv/cff___baseline_excel.csv": 10,
    # Abstrackr writes a heading row ("citations that are not yet labeled by anyone").
    "csv/cff___baseline_abstrackr.csv": 10,
}


def _expected() -> list[tuple[str, int]]:
    if not (CORPUS / "expected.csv").exists():
        return []
    with open(CORPUS / "expected.csv", newline="", encoding="utf-8") as handle:
        return [(row["path"], int(row["records"])) for row in csv.DictReader(handle)]


def _all_files() -> list[str]:
    if not CORPUS.exists():
        return []
    return sorted(
        str(path.relative_to(CORPUS))
        for path in CORPUS.rglob("*")
        if path.is_file() and path.name not in {"SOURCES.md", "expected.csv"}
    )


def _params(values: list, *, width: int = 1) -> list:
    """One test per value, named by its path; a single skipped test when there is no corpus."""
    if not values:
        return [pytest.param(*([None] * width), marks=pytest.mark.skip(reason=ABSENT))]
    if width == 1:
        return [pytest.param(value, id=value) for value in values]
    return [pytest.param(*value, id=value[0]) for value in values]


def read(path: str, **options) -> ParseResult:
    file = CORPUS / path
    return parse(file.read_bytes(), format="auto", filename=file.name, **options)


@pytest.mark.parametrize(("path", "expected"), _params(_expected(), width=2))
def test_corpus_file_gives_the_expected_number_of_records(path, expected):
    result = read(path)
    assert len(result.records) == CORRECTED.get(path, expected)
    if path in CONTENTLESS:  # parser fixtures whose records carry nothing to screen
        assert any(CONTENTLESS_WARNING in warning for warning in result.warnings)


@pytest.mark.parametrize("path", _params(_all_files()))
@pytest.mark.parametrize("lenient", [False, True], ids=["strict", "lenient"])
def test_every_corpus_file_gives_records_or_a_clear_import_error(path, lenient):
    try:
        result = read(path, lenient=lenient)
    except ImportFileError as error:
        message = str(error)
        assert message
        assert "\n" not in message
        assert len(error.problems) <= 20
    else:
        assert isinstance(result, ParseResult)
        assert result.records or result.skipped


# --- one collection through many tools ----------------------------------------------------

CFF_GROUPS = {
    "lens": [
        "csv/cff___baseline.csv",
        "csv/cff___baseline.tsv",
        "csv/cff___baseline_refworks.tsv",
        "ris/cff___baseline.ris",
        "ris/cff___baseline_citavi.ris",
        "xlsx/cff___baseline.xlsx",
    ],
    "embase": [
        "csv/cff___baseline_embase.csv",
        "csv/cff___baseline_excel.csv",
        "csv/cff___baseline_rayyan.csv",
        "csv/cff___baseline_zotero.csv",
        "csv/cff___baseline_abstrackr.csv",
        "ris/cff___baseline_embase.ris",
        "ris/cff___baseline_endnote.ris",
        "ris/cff___baseline_eppireviewer.ris",
        "ris/cff___baseline_mendeley.ris",
        "ris/cff___baseline_rayyan.ris",
        "ris/cff___baseline_refworks.ris",
        "ris/cff___baseline_zotero.ris",
        "xlsx/cff___baseline_embase.xlsx",
        "xlsx/cff___baseline_eppireviewer.xlsx",
    ],
    "covidence": [
        "csv/cff___baseline_covidence.csv",
        "ris/cff___baseline_covidence_endnote.ris",
        "ris/cff___baseline_covidence_mendeley.ris",
        "ris/cff___baseline_covidence_refworks.ris",
        "ris/cff___baseline_covidence_zotero.ris",
    ],
    "cochrane": [
        "csv/cff___baseline_cochrane.csv",
        "ris/cff___baseline_cochrane_endnote.ris",
        "ris/cff___baseline_cochrane_procite.ris",
        "ris/cff___baseline_cochrane_refman.ris",
    ],
    "scopus": ["csv/cff___baseline_scopus.csv", "ris/cff___baseline_scopus.ris"],
    "openalex": ["csv/cff___baseline_openalex.csv", "ris/cff___baseline_openalex.ris"],
    "google scholar": [
        "csv/cff___baseline_googlescholar.csv",
        "ris/cff___baseline_googlescholar.ris",
    ],
}


def _title_key(title: str) -> str:
    """Titles compared as a person would: accents, case and punctuation aside."""
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", " ", folded).strip()


@pytest.mark.skipif(not CORPUS.exists(), reason=ABSENT)
@pytest.mark.parametrize("group", sorted(CFF_GROUPS))
def test_one_collection_gives_the_same_titles_and_dois_through_every_tool(group):
    titles, dois = {}, {}
    for path in CFF_GROUPS[group]:
        records = read(path).records
        titles[path] = {_title_key(record.title) for record in records}
        found = {record.doi for record in records if record.doi}
        if found:  # some tools (Abstrackr, EPPI-Reviewer, Google Scholar) export no DOIs
            dois[path] = found
    reference = titles[CFF_GROUPS[group][0]]
    assert {path: t for path, t in titles.items() if t != reference} == {}
    if dois:
        first = next(iter(dois.values()))
        assert {path: d for path, d in dois.items() if d != first} == {}
        assert len(first) >= len(reference) - 1


@pytest.mark.skipif(not CORPUS.exists(), reason=ABSENT)
def test_partial_exports_of_the_collection_are_subsets_of_the_full_ones():
    cinahl_ris = {_title_key(r.title) for r in read("ris/cff___baseline_cinahl.ris").records}
    cinahl_csv = {_title_key(r.title) for r in read("csv/cff___baseline_cinahl.csv").records}
    assert cinahl_ris <= cinahl_csv
    pubmed_csv = read("csv/cff___baseline_pubmed.csv").records
    pubmed_nbib = read("ris/cff___baseline_pubmed.ris").records
    assert {r.doi for r in pubmed_csv} <= {r.doi for r in pubmed_nbib}
    assert {r.pmid for r in pubmed_csv} <= {r.pmid for r in pubmed_nbib}


# --- the trap files ----------------------------------------------------------------------

needs_corpus = pytest.mark.skipif(not CORPUS.exists(), reason=ABSENT)


@needs_corpus
def test_medline_content_in_a_ris_named_file_is_read_as_medline():
    result = read("ris/cff___baseline_pubmed.ris")
    assert result.format == "medline"
    assert len(result.records) == 50
    assert all(record.pmid for record in result.records)


@needs_corpus
def test_ris_with_a_missing_er_and_odd_tags_reads_both_records():
    result = read("ris/colrev__ris_data.ris")
    first, second = result.records
    assert (first.type, second.type) == ("conference-paper", "journal-article")
    assert first.keywords == ["keyword2", "keyword3"]
    assert first.pmid == "12345678"
    assert second.line == 26
    assert any("line 26: a new record starts before" in warning for warning in result.warnings)


@needs_corpus
def test_ris_with_stray_carriage_returns_gives_all_its_records():
    result = read("ris/litstudy__example.ris")
    assert len(result.records) == 25
    assert result.warnings == []


@needs_corpus
def test_wos_file_without_its_end_line_is_read_with_a_warning():
    result = read("wos_plaintext/metaknowledge__badFile.isi")
    assert len(result.records) == 32
    assert result.warnings == ["The file has no 'EF' end-of-file line; it may have been cut short."]


@needs_corpus
def test_wos_tag_without_space_is_read_with_a_located_warning():
    result = read("wos_plaintext/metaknowledge__testFile.isi")
    assert "line 416: tag 'AU' is not followed by a space; read anyway" in result.warnings
    assert any(record.authors[:1] == ["Gilles, H"] for record in result.records)


@needs_corpus
def test_endnote_tagged_files_split_records_on_blank_lines():
    ais = read("endnote_tagged/colrev__ais_enl.txt")
    assert ais.format == "endnote-tagged"
    assert len(ais.records) == 6
    enl = read("endnote_tagged/colrev__enl_data.enl")
    assert [record.title[:20] for record in enl.records] == [
        "How Trust Leads to C",
        "Microsourcing - Usin",
        "MISQ Volume 45, Issu",
    ]
    assert enl.records[0].authors[0] == "Guo, Wenbo"


@needs_corpus
def test_gbk_encoded_bibtex_is_read_as_chinese():
    result = read("bibtex/bibtexparser21__gbk_test.bib")
    record = result.records[0]
    assert record.authors == ["凯撒"]
    assert record.journal == "测试期刊"
    assert "GBK" in result.warnings[0]


@needs_corpus
def test_bibtex_with_a_repeated_key_keeps_both_records():
    result = read("bibtex/colrev__bib_data.bib")
    assert len(result.records) == 6
    assert {"10.3333/xyz.v4444.04", "10.3333/xyz.v4444.04a"} <= {r.doi for r in result.records}
    assert result.warnings == [
        "line 19: citation key 'articlewriter_firstrandomword_2020' is also used by an "
        "earlier entry; both records kept"
    ]


@needs_corpus
def test_bibtex_with_a_repeated_field_keeps_both_values():
    result = read("bibtex/synthesisr__Scopus_bib_example.bib")
    assert len(result.records) == 3
    assert len(result.records[0].raw["funding_details"]) == 2
    assert result.warnings == ["line 2: field 'funding_details' is given twice; both values kept"]


@needs_corpus
def test_bibtex_entry_with_unbalanced_braces_is_located():
    with pytest.raises(ImportFileError) as error:
        read("bibtex/colrev__ebsco_bib.bib")
    assert [problem.location for problem in error.value.problems] == ["line 15"]
    assert [r.title for r in read("bibtex/colrev__ebsco_bib.bib", lenient=True).records] == [
        "Paper title."
    ]


@needs_corpus
def test_biber_examples_resolve_macros_and_locate_the_entries_without_content():
    result = read("bibtex/bibtexparser14__biber-examples.bib")
    assert len(result.records) == 118
    assert "line 1543: citation key 'tmn4'" in result.warnings[0]
    assert f"line 26: {CONTENTLESS_WARNING}; imported as it is" in result.warnings
    journals = {record.journal for record in result.records}
    assert "Angew. Chem. Int. Ed." in journals  # the @STRING macro anch-ie


@needs_corpus
@pytest.mark.parametrize(
    "path",
    [
        "bibtex/bibtexparser14__comments_only.bib",
        "bibtex/bibtexparser14__common_strings.bib",
        "bibtex/bibtexparser14__multiline_comments.bib",
    ],
)
def test_bibtex_without_entries_says_so(path):
    for lenient in (False, True):
        with pytest.raises(ImportFileError, match="No BibTeX entries were found"):
            read(path, lenient=lenient)


@needs_corpus
def test_empty_bibtex_file_is_called_empty():
    with pytest.raises(ImportFileError, match="^The file is empty.$"):
        read("bibtex/bibtexparser14__empty.bib")


@needs_corpus
@pytest.mark.parametrize(
    ("path", "lines"),
    [
        ("bibtex/bibtexparser14__crossref_cascading_cycle.bib", ["line 6", "line 11"]),
        ("bibtex/bibtexparser14__wrong.bib", ["line 3", "line 7"]),
    ],
)
def test_bibtex_entries_without_title_or_identifier_are_kept_and_located(path, lines):
    result = read(path)
    assert len(result.records) == len(lines)
    assert result.warnings == [
        f"{line}: {CONTENTLESS_WARNING}; imported as it is" for line in lines
    ]


@needs_corpus
def test_bibtex_traps_are_decoded():
    record = read("bibtex/bibtexparser14__traps.bib").records[0]
    assert record.title == "An amazing title"
    assert record.authors == ["Jean Laidé, Ben Loaeb"]  # one name: "von Last, First"
    assert record.abstract.endswith("with a french érudit word")
    assert record.volume == "n.s. 2"


@needs_corpus
def test_bibtex_without_a_trailing_comma_is_read():
    assert len(read("bibtex/bibtexparser14__article_missing_coma.bib").records) == 4
