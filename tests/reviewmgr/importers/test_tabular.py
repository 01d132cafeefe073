"""Sheets: CSV, TSV and Excel exports from the usual tools, and hand-made sheets."""

import io
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from reviewmgr.importers import ImportFileError, parse, read_columns, suggest_column_map

DATA = Path(__file__).resolve().parents[2] / "data" / "import"


def read(name: str, **options):
    return parse((DATA / name).read_bytes(), filename=name, **options)


def workbook(rows: list[list[object]]) -> bytes:
    """An .xlsx made here, as a person would save it from Excel."""
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_semicolon_csv_from_european_excel_is_read():
    result = read("european.csv")
    first, second = result.records
    assert first.title == "Über Käse"
    assert first.authors == ["Müller, J.", "Schmidt, K."]
    assert first.abstract == "Ein Abstract; mit Semikolon"
    assert first.doi == "10.1000/csv.1"
    assert second.title == "Quoted; title"
    assert second.abstract == "Line one line two"
    assert [record.line for record in result.records] == [2, 3]


def test_rayyan_export_is_read():
    record = read("rayyan.csv").records[0]
    assert record.title == "A Rayyan title"
    assert record.authors == ["Smith, J.", "Doe, J."]
    assert (record.year, record.journal) == (2021, "J Rayyan")
    assert (record.volume, record.issue) == ("9", "2")
    assert (record.doi, record.pmid, record.pmcid) == ("10.1000/ray.1", "31111111", "PMC3111111")
    assert record.keywords == ["heart", "lung"]
    assert record.raw["key"] == "rayyan-1"
    assert record.raw["notes"].startswith("RAYYAN-INCLUSION")


def test_covidence_export_is_read():
    record = read("covidence.csv").records[0]
    assert record.title == "A Covidence title"
    assert record.authors == ["Smith, J.", "Doe, J."]
    assert (record.year, record.pages) == (2020, "3-4")
    assert record.doi == "10.1000/cov.1"
    assert record.raw["Covidence #"] == "#12"


def test_scopus_export_is_read_with_its_page_columns_joined():
    record = read("scopus.csv").records[0]
    assert record.title == "A Scopus title"
    assert record.authors == ["Smith, J.", "Doe, J.A."]
    assert (record.journal, record.pages) == ("Journal of Scopus", "101-110")
    assert record.keywords == ["alpha", "beta", "gamma"]
    assert record.type == "conference-paper"
    assert record.language == "English"


def test_python_style_lists_in_cells_are_read():
    record = read("pipe_list.tsv").records[0]
    assert record.authors == ["Marx, Karl", "Lindgren, Astrid"]
    assert record.keywords == ["Pippi", "Nordwind"]
    assert record.year == 2014


def test_inclusion_labels_are_read_from_a_labelled_sheet():
    result = read("labelled.csv")
    assert [record.label for record in result.records] == [True, False, None, None]
    assert result.warnings == ["line 5: inclusion label 'perhaps' is not understood"]


def test_unknown_columns_ask_for_a_column_map():
    with pytest.raises(ImportFileError) as error:
        read("unknown_columns.csv")
    message = str(error.value)
    assert "'Article name', 'Writers', 'Published'" in message
    assert "map the columns" in message


def test_a_column_map_overrides_the_automatic_matching():
    result = read(
        "unknown_columns.csv",
        column_map={"Article name": "title", "Writers": "authors", "Published": "year"},
    )
    assert [(r.title, r.authors, r.year) for r in result.records] == [
        ("Paper one", ["Smith, J."], 2020),
        ("Paper two", ["Doe, J."], 2021),
    ]


def test_a_column_map_naming_a_missing_column_is_refused():
    with pytest.raises(ImportFileError, match="no such column"):
        read("unknown_columns.csv", column_map={"Headline": "title"})


def test_read_columns_gives_the_header_for_the_mapping_form():
    assert read_columns((DATA / "scopus.csv").read_bytes(), filename="scopus.csv")[:4] == [
        "Authors",
        "Author full names",
        "Author(s) ID",
        "Title",
    ]


def test_suggested_map_uses_one_column_per_field():
    columns = ["Title", "Original Title", "Source title", "Source", "Page start", "DOI", "PMID"]
    assert suggest_column_map(columns) == {
        "Title": "title",
        "Source title": "journal",
        "DOI": "doi",
        "PMID": "pmid",
    }


def test_generated_xlsx_is_read_with_a_title_row_above_the_header():
    data = workbook(
        [
            ["My search export"],
            [],
            ["Title", "Authors", "Year", "DOI", "Included"],
            ["A spreadsheet paper", "Smith, J.; Doe, J.", 2021, "doi:10.1000/XL.1", "yes"],
            ["Dated paper", "Roe, R.", datetime(2019, 5, 1), None, 0],
            [None, None, None, None, None],
        ]
    )
    result = parse(data, filename="export.xlsx")
    assert result.format == "xlsx"
    first, second = result.records
    assert (first.title, first.authors, first.year) == (
        "A spreadsheet paper", ["Smith, J.", "Doe, J."], 2021
    )  # fmt: skip
    assert (first.doi, first.label) == ("10.1000/xl.1", True)
    assert (second.year, second.label) == (2019, False)
    assert [record.line for record in result.records] == [4, 5]
    assert result.warnings == [
        "rows 1-2 above the header row were skipped (a title or search description)"
    ]
    assert read_columns(data) == ["Title", "Authors", "Year", "DOI", "Included"]


def test_xlsx_row_without_a_title_is_kept_and_located_by_its_row():
    data = workbook([["Title", "Year"], ["Fine", 2020], [None, 2021]])
    result = parse(data)
    assert [record.year for record in result.records] == [2020, 2021]
    assert result.warnings == [
        "row 3: record has no title, abstract or identifier; imported as it is"
    ]


def test_a_damaged_workbook_is_refused_with_a_message():
    data = workbook([["Title"], ["A"]])
    broken = data[:200] + b"\x00" * 50 + data[250:]
    with pytest.raises(ImportFileError):
        parse(broken, filename="broken.xlsx")


def test_cells_beyond_the_header_are_kept_aside():
    data = b"title,year\nA paper,2020,stray cell\n"
    result = parse(data)
    assert result.records[0].raw["_extra"] == ["stray cell"]
    assert "1 cell(s) beyond the last column" in result.warnings[0]


def test_a_sheet_with_only_a_header_says_so():
    with pytest.raises(ImportFileError, match="header row but no records"):
        parse(b"title,abstract\n", format="csv")


def test_a_one_column_list_of_titles_is_a_sheet():
    result = parse(b"Title\nFirst paper\nSecond paper\n", filename="titles.txt")
    assert result.format == "csv"
    assert [record.title for record in result.records] == ["First paper", "Second paper"]


def test_a_two_column_sheet_with_unknown_names_can_be_mapped():
    data = b"Headline,Writers\nPaper one,Smith J\nPaper two,Doe J\nPaper three,Roe R\n"
    with pytest.raises(ImportFileError, match="map the columns"):
        parse(data)
    assert read_columns(data) == ["Headline", "Writers"]
    result = parse(data, column_map={"Headline": "title", "Writers": "authors"})
    assert [record.authors for record in result.records] == [["Smith, J"], ["Doe, J"], ["Roe, R"]]


def test_zotero_item_types_are_mapped():
    data = b"Item Type,Title\njournalArticle,A\nbookSection,B\nconferencePaper,C\n"
    assert [record.type for record in parse(data).records] == [
        "journal-article",
        "book-chapter",
        "conference-paper",
    ]


def test_read_columns_refuses_a_file_that_is_not_a_sheet():
    with pytest.raises(ImportFileError, match="RIS file, not a sheet"):
        read_columns(b"TY  - JOUR\nTI  - A\nER  - \n", filename="refs.ris")
