"""The XLSX and CSV writer: what a person sees when they open an export, formula safety,
and streaming in bounded memory. Every XLSX property is checked by reading the saved file
back with openpyxl."""

import csv
import io
import itertools
import os
import shutil
import subprocess
import tempfile
import tracemalloc
import zipfile
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from reviewmgr import spreadsheets
from reviewmgr.spreadsheets import Column, Sheet, safe_text, write_csv, write_xlsx

FORMULA_TEXTS = ['=HYPERLINK("http://evil")', "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def xlsx(*sheets: Sheet):
    """The sheets written to an in-memory workbook and read back in normal mode."""
    buffer = io.BytesIO()
    write_xlsx(sheets, buffer)
    buffer.seek(0)
    return load_workbook(buffer)


def one_sheet(columns, rows, **options):
    return xlsx(Sheet("Records", columns, iter(rows), **options))["Records"]


def sheet_xml(buffer: io.BytesIO, number: int = 1) -> str:
    with zipfile.ZipFile(buffer) as archive:
        return archive.read(f"xl/worksheets/sheet{number}.xml").decode("utf-8")


# --- layout --------------------------------------------------------------------------------


def test_header_row_is_bold_and_the_panes_freeze_below_it():
    ws = one_sheet([Column("Title"), Column("Year", kind="integer")], [["Pain", 2020]])
    assert [cell.value for cell in ws[1]] == ["Title", "Year"]
    assert all(cell.font.b for cell in ws[1])
    assert not ws["A2"].font.b
    assert ws.freeze_panes == "A2"


def test_auto_filter_covers_the_header_and_every_data_row():
    rows = ([f"Record {n}", n] for n in range(250))  # more than the rows sampled for widths
    ws = one_sheet([Column("Title"), Column("N", kind="integer")], rows)
    assert ws.auto_filter.ref == "A1:B251"
    assert ws.max_row == 251
    assert ws["A251"].value == "Record 249"


def test_an_empty_sheet_still_has_its_header_and_a_valid_filter():
    ws = one_sheet([Column("Title"), Column("Abstract", wrap=True)], [])
    assert [cell.value for cell in ws[1]] == ["Title", "Abstract"]
    assert ws.max_row == 1
    assert ws.auto_filter.ref == "A1:B1"


def test_given_widths_are_kept_and_missing_ones_are_guessed_from_header_and_first_rows():
    columns = [
        Column("Title", width=42.5),
        Column("A rather long header"),
        Column("Abstract", wrap=True),
        Column("Id"),
    ]
    ws = one_sheet(columns, [["t", "short", "word " * 100, "7"]])
    widths = {letter: dimension.width for letter, dimension in ws.column_dimensions.items()}
    assert widths["A"] == 42.5
    assert widths["B"] == len("A rather long header") + 2
    assert widths["C"] == spreadsheets.MAX_GUESSED_WIDTH
    assert widths["D"] == spreadsheets.MIN_GUESSED_WIDTH


def test_wrap_columns_wrap_and_align_to_the_top():
    ws = one_sheet([Column("Title"), Column("Abstract", wrap=True)], [["A title", "Long text"]])
    assert ws["B2"].alignment.wrap_text
    assert ws["B2"].alignment.vertical == "top"
    assert not ws["A2"].alignment.wrap_text


def test_sheet_names_are_made_valid_for_excel_and_unique():
    columns = [Column("Title")]
    workbook = xlsx(
        Sheet("Risk of bias: RoB 2 [domains] / *all*?", columns, []),
        Sheet("Risk of bias_ RoB 2 _domains_ _ _all__", columns, []),
        Sheet("", columns, []),
        Sheet("'History'", columns, []),
        Sheet("records", columns, []),
        Sheet("RECORDS", columns, []),
    )
    assert workbook.sheetnames == [
        "Risk of bias_ RoB 2 _domains_ _",
        "Risk of bias_ RoB 2 _domain (2)",
        "Sheet",
        "History sheet",
        "records",
        "RECORDS (2)",
    ]
    assert all(len(name) <= 31 for name in workbook.sheetnames)


def test_several_sheets_go_into_one_workbook_in_order():
    workbook = xlsx(
        Sheet("Included", [Column("Title")], iter([["A"]])),
        Sheet("Excluded", [Column("Title"), Column("Reason")], iter([["B", "Wrong design"]])),
    )
    assert workbook.sheetnames == ["Included", "Excluded"]
    assert workbook["Excluded"]["B2"].value == "Wrong design"
    assert workbook["Excluded"].auto_filter.ref == "A1:B2"


def test_title_is_printed_in_the_page_header_and_the_header_row_on_every_page():
    ws = one_sheet([Column("Title")], [["A"]], title="Pain review & friends")
    assert ws.oddHeader.center.text == "Pain review && friends"  # "&&" prints one "&"
    assert ws.print_title_rows == "$1:$1"
    assert ws["A1"].value == "Title"


# --- values --------------------------------------------------------------------------------


def test_numbers_stay_numbers_and_text_that_looks_like_a_number_stays_text():
    columns = [Column("Volume"), Column("N", kind="integer"), Column("Effect", kind="number")]
    ws = one_sheet(columns, [["12", 40, -2.5], ["0012", 7, Decimal("0.125")], ["x", True, 0]])
    assert (ws["A2"].value, ws["A2"].data_type) == ("12", "s")
    assert (ws["A3"].value, ws["A3"].data_type) == ("0012", "s")
    assert (ws["B2"].value, ws["B2"].data_type) == (40, "n")
    assert ws["B2"].number_format == "0"
    assert (ws["C2"].value, ws["C2"].data_type) == (-2.5, "n")
    assert ws["C3"].value == 0.125
    assert (ws["B4"].value, ws["B4"].data_type) == (True, "b")


def test_integers_beyond_excels_precision_are_written_as_text_rather_than_rounded():
    ws = one_sheet([Column("Id")], [[12345678901234567]])
    assert ws["A2"].value == "12345678901234567"


def test_nan_and_infinity_are_left_empty_because_excel_cannot_store_them():
    ws = one_sheet([Column("A", kind="number"), Column("B", kind="number")], [[float("nan"), 1]])
    assert ws["A2"].value is None
    assert ws["B2"].value == 1
    assert one_sheet([Column("A")], [[float("inf")]])["A2"].value is None


def test_dates_are_dates_with_a_date_format():
    columns = [Column("Decided", kind="date"), Column("At", kind="date")]
    ws = one_sheet(columns, [[date(2024, 3, 5), datetime(2024, 3, 5, 14, 30)]])
    assert ws["A2"].is_date
    assert ws["A2"].value == datetime(2024, 3, 5)
    assert ws["A2"].number_format == "yyyy-mm-dd"
    assert ws["B2"].value == datetime(2024, 3, 5, 14, 30)
    assert ws["B2"].number_format == "yyyy-mm-dd hh:mm"


def test_aware_datetimes_keep_their_wall_clock_time():
    paris = timezone(timedelta(hours=1))
    ws = one_sheet([Column("At", kind="date")], [[datetime(2024, 3, 5, 14, 30, tzinfo=paris)]])
    assert ws["A2"].value == datetime(2024, 3, 5, 14, 30)


def test_control_characters_are_removed_and_overlong_text_is_cut_to_excels_limit():
    ws = one_sheet([Column("Title"), Column("Abstract")], [["IL-1\x0bβ\x00", "x" * 40_000]])
    assert ws["A2"].value == "IL-1β"
    assert len(ws["B2"].value) == spreadsheets.MAX_CELL_TEXT
    assert ws["B2"].value.endswith("\u2026")


def test_unicode_text_is_kept():
    ws = one_sheet([Column("Title")], [["IL-1β and TNF-α in 5 µL, Müller & Ødegård"]])
    assert ws["A2"].value == "IL-1β and TNF-α in 5 µL, Müller & Ødegård"


def test_a_row_of_the_wrong_length_is_refused_with_its_row_number():
    with pytest.raises(ValueError, match=r"row 3: 1 values for 2 columns"):
        xlsx(Sheet("S", [Column("A"), Column("B")], iter([["a", "b"], ["c"]])))


def test_a_value_of_an_unsupported_type_is_refused():
    with pytest.raises(TypeError, match="list"):
        xlsx(Sheet("S", [Column("A")], iter([["fine"], [["not", "a", "cell"]]])))


def test_a_failed_export_leaves_no_temporary_files_behind(monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    rows = itertools.chain([["a"]] * 300, [["b", "extra"]])  # fails after streaming began
    sheets = [Sheet("Good", [Column("A")], iter([["x"]])), Sheet("Bad", [Column("A")], rows)]
    with pytest.raises(ValueError, match="row 302"):
        write_xlsx(sheets, io.BytesIO())
    assert list(tmp_path.iterdir()) == []


def test_a_workbook_needs_a_sheet_and_a_column_needs_a_known_kind():
    with pytest.raises(ValueError, match="at least one sheet"):
        write_xlsx([], io.BytesIO())
    with pytest.raises(ValueError, match="unknown kind 'colour'"):
        Column("A", kind="colour")


def test_the_workbook_is_written_to_a_path(tmp_path):
    target = tmp_path / "export.xlsx"
    write_xlsx([Sheet("Records", [Column("Title")], iter([["A"]]))], target)
    assert load_workbook(target)["Records"]["A2"].value == "A"


# --- formula safety ------------------------------------------------------------------------


@pytest.mark.parametrize("text", FORMULA_TEXTS)
def test_text_that_looks_like_a_formula_is_stored_as_plain_text(text):
    buffer = io.BytesIO()
    columns = [Column(text), Column("Plain"), Column("Abstract", wrap=True)]
    write_xlsx([Sheet("S", columns, iter([[text, "ok", text]]))], buffer)
    ws = load_workbook(io.BytesIO(buffer.getvalue()))["S"]
    for cell in (ws["A1"], ws["A2"], ws["C2"]):
        assert cell.value == text
        assert cell.data_type == "s"
    assert "<f>" not in sheet_xml(buffer)


def test_error_codes_written_as_text_stay_text():
    ws = one_sheet([Column("Note")], [["#N/A"], ["#DIV/0!"]])
    assert (ws["A2"].value, ws["A2"].data_type) == ("#N/A", "s")
    assert (ws["A3"].value, ws["A3"].data_type) == ("#DIV/0!", "s")


def test_negative_numbers_are_not_escaped():
    ws = one_sheet([Column("Effect", kind="number")], [[-2.5], [-3]])
    assert (ws["A2"].value, ws["A2"].data_type) == (-2.5, "n")
    assert ws["A3"].value == -3


# --- links ---------------------------------------------------------------------------------


def test_doi_pmid_and_url_cells_link_to_where_they_point():
    columns = [Column("DOI", kind="doi"), Column("PMID", kind="pmid"), Column("URL", kind="url")]
    rows = [
        ["10.1000/xyz.123", "31234567", "https://example.org/paper?id=1"],
        ["10.1002/(SICI)1097-4636<505::AID>3.0.CO;2-4", 29876543, "http://example.org"],
    ]
    ws = one_sheet(columns, rows)
    assert (ws["A2"].value, ws["A2"].data_type) == ("10.1000/xyz.123", "s")
    assert ws["A2"].hyperlink.target == "https://doi.org/10.1000/xyz.123"
    assert ws["A2"].font.u == "single"
    assert ws["A3"].hyperlink.target == (
        "https://doi.org/10.1002/(SICI)1097-4636%3C505::AID%3E3.0.CO;2-4"
    )
    assert ws["B2"].hyperlink.target == "https://pubmed.ncbi.nlm.nih.gov/31234567/"
    assert ws["B3"].value == 29876543
    assert ws["B3"].hyperlink.target == "https://pubmed.ncbi.nlm.nih.gov/29876543/"
    assert ws["C2"].hyperlink.target == "https://example.org/paper?id=1"
    assert ws["C3"].hyperlink.target == "http://example.org"


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("doi", "not a doi"),
        ("doi", "10.1000/with space"),
        ("pmid", "PMC123"),
        ("pmid", "0"),
        ("url", "javascript:alert(1)"),
        ("url", "ftp://example.org/file"),
        ("url", "https://example.org/" + "a" * 2_100),
    ],
)
def test_values_that_are_not_valid_identifiers_or_web_addresses_get_no_link(kind, value):
    ws = one_sheet([Column("Value", kind=kind)], [[value]])
    assert ws["A2"].value == value
    assert ws["A2"].hyperlink is None


def test_links_stop_at_the_per_sheet_limit_and_the_rest_stay_plain_text(monkeypatch):
    monkeypatch.setattr(spreadsheets, "HYPERLINKS_PER_SHEET", 2)
    dois = [[f"10.1000/{n}"] for n in range(4)]
    ws = one_sheet([Column("DOI", kind="doi")], dois)
    assert [bool(ws.cell(row, 1).hyperlink) for row in range(2, 6)] == [True, True, False, False]
    assert ws["A5"].value == "10.1000/3"


# --- risk-of-bias judgements ---------------------------------------------------------------

GREEN, YELLOW, RED, DARK_RED, GREY = "00A9D08E", "00FFE699", "00FF7C80", "009C0006", "00D9D9D9"


@pytest.mark.parametrize(
    ("judgement", "colour"),
    [
        ("low", GREEN),
        ("Low risk", GREEN),
        ("some_concerns", YELLOW),
        ("Some concerns", YELLOW),
        ("moderate", YELLOW),
        ("Unclear risk", YELLOW),
        ("high", RED),
        ("HIGH", RED),
        ("serious", RED),
        ("critical", DARK_RED),
        ("no_information", GREY),
        ("No information", GREY),
        ("Low concern", GREEN),
        ("High concern", RED),
    ],
)
def test_judgements_get_traffic_light_fills_in_any_spelling(judgement, colour):
    ws = one_sheet([Column("Overall", kind="judgement")], [[judgement]])
    assert ws["A2"].value == judgement
    assert ws["A2"].fill.fill_type == "solid"
    assert ws["A2"].fill.fgColor.rgb == colour


def test_critical_judgements_have_white_text_and_unknown_ones_no_fill():
    ws = one_sheet([Column("Overall", kind="judgement")], [["critical"], ["pending"], [None]])
    assert ws["A2"].font.color.rgb == "00FFFFFF"
    assert ws["A3"].fill.fill_type is None
    assert ws["A4"].value is None


def test_each_row_keeps_its_own_value_and_style_down_a_long_column():
    """Styled cells are built once per column and style and used again row after row; no
    value, fill, format or link may carry over from the row before."""
    columns = [
        Column("Overall", kind="judgement"),
        Column("When"),
        Column("Note", wrap=True),
        Column("DOI", kind="doi"),
    ]
    pattern = [
        ["Low risk", date(2024, 5, 1), "=1+1", "10.1000/a"],
        ["High risk", datetime(2024, 5, 2, 9, 30), "plain", None],
        ["pending", None, None, "not a doi"],
        ["critical", date(2024, 5, 4), "third", "10.1000/d"],
        [None, datetime(2024, 5, 5, 17, 0), "=SUM(A1)", "10.1000/e"],
    ]
    ws = one_sheet(columns, pattern * 3)
    fills = {"Low risk": GREEN, "High risk": RED, "critical": DARK_RED}
    for number, row in enumerate(pattern * 3, 2):
        judgement, when, note, doi = row
        overall = ws[f"A{number}"]
        assert overall.value == judgement
        if judgement in fills:
            assert overall.fill.fgColor.rgb == fills[judgement]
        else:
            assert overall.fill.fill_type is None
        read_back = datetime.combine(when, datetime.min.time()) if type(when) is date else when
        assert ws[f"B{number}"].value == read_back  # openpyxl reads every date as a datetime
        if isinstance(when, datetime):
            assert ws[f"B{number}"].number_format == "yyyy-mm-dd hh:mm"
        elif when is not None:
            assert ws[f"B{number}"].number_format == "yyyy-mm-dd"
        assert ws[f"C{number}"].value == note
        if note is not None:
            assert ws[f"C{number}"].data_type == "s"
            assert ws[f"C{number}"].alignment.wrap_text
        link = ws[f"D{number}"].hyperlink
        if doi and doi.startswith("10."):
            assert link.target == f"https://doi.org/{doi}"
        else:
            assert link is None


# --- scale ---------------------------------------------------------------------------------


def _peak_writing(rows: int) -> tuple[int, io.BytesIO]:
    """Peak Python memory while `rows` rows of a screening log are written, and the file."""
    columns = [
        Column("Id", kind="integer"),
        Column("Title"),
        Column("Abstract", wrap=True),
        Column("DOI", kind="doi"),
        Column("Overall", kind="judgement"),
    ]
    abstract = "Background and methods. " * 16
    judgements = ("low", "high", "some_concerns")
    lines = (
        [n, f"Record {n} on pain", abstract, f"10.1000/{n}", judgements[n % 3]] for n in range(rows)
    )
    buffer = io.BytesIO()
    tracemalloc.start()
    try:
        write_xlsx([Sheet("Screening log", columns, lines)], buffer)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, buffer


def test_a_long_sheet_is_written_in_memory_that_does_not_grow_with_its_rows(monkeypatch):
    """Rows stream to disk: five times the rows take no more memory (a workbook held in memory
    grows by about 2.5 KB a row: 40 MB more here), and 20,000 rows stay far below what they
    would take held. Links are capped low here because each one is kept until the save, about
    1 KB apiece."""
    monkeypatch.setattr(spreadsheets, "HYPERLINKS_PER_SHEET", 1_000)
    small, _ = _peak_writing(4_000)
    peak, buffer = _peak_writing(20_000)
    assert peak < 50 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    assert peak - small < 5 * 1024 * 1024, f"{small / 1e6:.1f} MB, then {peak / 1e6:.1f} MB"
    assert '<autoFilter ref="A1:E20001"/>' in sheet_xml(buffer)


def test_the_workbook_opens_in_libreoffice(tmp_path):
    office = shutil.which("libreoffice") or shutil.which("soffice")
    if office is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice is missing; .ci/run installs libreoffice-calc.")
        pytest.skip("LibreOffice is not installed (neither libreoffice nor soffice on PATH)")
    columns = [
        Column("Title", wrap=True),
        Column("DOI", kind="doi"),
        Column("Decided", kind="date"),
        Column("Overall", kind="judgement"),
    ]
    rows = [['=HYPERLINK("http://evil")', "10.1000/xyz", date(2024, 1, 2), "Some concerns"]]
    workbook = tmp_path / "export.xlsx"
    write_xlsx([Sheet("Records", columns, iter(rows)), Sheet("Empty", columns, [])], workbook)
    result = subprocess.run(  # noqa: S603 - a fixed command on a file this test wrote
        [
            office,
            f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path / "out"),
            str(workbook),
        ],
        capture_output=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "export.pdf").stat().st_size > 0


# --- CSV -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", FORMULA_TEXTS)
def test_safe_text_prefixes_formula_text_with_a_quote(text):
    assert safe_text(text) == "'" + text


@pytest.mark.parametrize("text", ["Pain", "", "1-2", "a=b", " =1", "'quoted'", "10.1000/x"])
def test_safe_text_leaves_ordinary_text_alone(text):
    assert safe_text(text) == text


def read_csv(path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def test_csv_starts_with_a_bom_and_the_header_row(tmp_path):
    target = tmp_path / "records.csv"
    write_csv(Sheet("Records", [Column("Title"), Column("Year")], iter([["IL-1β", 2020]])), target)
    assert target.read_bytes().startswith(b"\xef\xbb\xbfTitle,Year\r\n")
    assert read_csv(target) == [["Title", "Year"], ["IL-1β", "2020"]]


def test_csv_escapes_formula_text_but_not_negative_numbers(tmp_path):
    target = tmp_path / "records.csv"
    rows = [[text, -2.5] for text in FORMULA_TEXTS]
    write_csv(Sheet("Records", [Column("=Title"), Column("Effect")], iter(rows)), target)
    written = read_csv(target)
    assert written[0] == ["'=Title", "Effect"]
    assert [row[0] for row in written[1:]] == ["'" + text for text in FORMULA_TEXTS]
    assert {row[1] for row in written[1:]} == {"-2.5"}


def test_csv_writes_values_the_way_excel_reads_them(tmp_path):
    target = tmp_path / "records.csv"
    row = [
        date(2024, 3, 5),
        datetime(2024, 3, 5, 14, 30, tzinfo=UTC),
        True,
        Decimal("1E+2"),
        None,
        float("nan"),
        "line one\nline two, with a comma",
    ]
    write_csv(Sheet("Records", [Column(str(n)) for n in range(7)], iter([row])), target)
    assert read_csv(target)[1] == [
        "2024-03-05",
        "2024-03-05 14:30:00",
        "TRUE",
        "100",
        "",
        "",
        "line one\nline two, with a comma",
    ]


def test_csv_into_a_text_stream_gets_exactly_one_bom():
    stream = io.StringIO()
    write_csv(Sheet("Records", [Column("Title")], iter([["A"]])), stream)
    assert stream.getvalue() == "\ufeffTitle\r\nA\r\n"

    raw = io.BytesIO()
    wrapper = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    write_csv(Sheet("Records", [Column("Title")], iter([["A"]])), wrapper)
    wrapper.flush()
    assert raw.getvalue() == b"\xef\xbb\xbfTitle\r\nA\r\n"


def test_csv_refuses_a_row_of_the_wrong_length(tmp_path):
    with pytest.raises(ValueError, match="row 2: 2 values for 1 columns"):
        write_csv(Sheet("S", [Column("A")], iter([["a", "b"]])), tmp_path / "x.csv")
