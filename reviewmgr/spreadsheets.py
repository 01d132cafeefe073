"""The one writer of XLSX and CSV files: exports hand it sheets of rows, it writes the file.

openpyxl enters the product here and nowhere else, and only when a workbook is written (it
takes a fifth of a second and 30 MB to load; CSV and the sheet definitions do without).
Exports are generators (a screening log can have 400,000 rows), so the writer streams:
openpyxl's write-only mode puts each row into a temporary file on disk as it arrives, and
only the first 200 rows of a sheet are held at once (to guess column widths). Memory stays
flat whatever the row count, except for hyperlinks, which openpyxl keeps until the workbook
is saved (about 1 KB each, at most `HYPERLINKS_PER_SHEET` per sheet).

Every string is written so that no spreadsheet program runs it as a formula: see `safe_text`.
Pure Python, no Django.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from itertools import chain, islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO
from urllib.parse import quote

if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.cell.cell import Cell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

KINDS = ("text", "number", "integer", "date", "url", "doi", "pmid", "judgement")

WIDTH_SAMPLE_ROWS = 200
"""Rows buffered per sheet to guess column widths; the rest of the sheet is never held."""

MAX_GUESSED_WIDTH = 60
MIN_GUESSED_WIDTH = 8

HYPERLINKS_PER_SHEET = 65_000
"""Excel refuses a sheet with more than 65,530 hyperlinks (it "repairs" the file by dropping
them all), and openpyxl holds each one in memory until the save. Beyond this many, link
columns are written as plain text."""

MAX_URL_LENGTH = 2_000
"""Excel cannot open hyperlinks longer than 2,079 characters; longer URLs stay plain text."""

MAX_CELL_TEXT = 32_767
"""Excel's limit for the text of one cell; longer text is cut (Excel would refuse the file)."""

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make Excel, LibreOffice or Google Sheets read typed or imported text
as a formula (OWASP "CSV injection")."""

_EXCEL_EXACT_DIGITS = 10**15
"""Excel keeps 15 significant digits; larger integers would be silently rounded."""

_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
_SHEET_NAME_LENGTH = 31
_DOI = re.compile(r"10\.\d{4,9}/\S+", re.ASCII)
_PMID = re.compile(r"[1-9][0-9]{0,8}", re.ASCII)
_URL = re.compile(r"https?://\S+", re.IGNORECASE)

_DATE_FORMAT = "yyyy-mm-dd"
_DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
_INTEGER_FORMAT = "0"

_JUDGEMENT_COLOURS = {
    "low": "A9D08E",
    "some concerns": "FFE699",
    "moderate": "FFE699",
    "unclear": "FFE699",
    "high": "FF7C80",
    "serious": "FF7C80",
    "critical": "9C0006",
    "no information": "D9D9D9",
}
_WHITE_TEXT_ON = {"critical"}


@dataclass(frozen=True, slots=True)
class _Styles:
    header_font: Font
    link_font: Font
    wrap: Alignment
    judgements: dict[str, tuple[PatternFill, Font | None]]


@cache
def _styles() -> _Styles:
    """The cell styles, built on the first XLSX written: openpyxl is loaded by the process
    that writes a workbook, not by every process that imports this module for CSV."""
    from openpyxl.styles import Alignment, Font, PatternFill

    white = Font(color="FFFFFF", bold=True)
    return _Styles(
        header_font=Font(bold=True),
        link_font=Font(color="0563C1", underline="single"),
        wrap=Alignment(wrap_text=True, vertical="top"),
        judgements={
            key: (
                PatternFill(fill_type="solid", start_color=rgb, end_color=rgb),
                white if key in _WHITE_TEXT_ON else None,
            )
            for key, rgb in _JUDGEMENT_COLOURS.items()
        },
    )


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a sheet. `kind` decides links, colours and number formats; the type of
    each value (str, int, date ...) decides how the cell is stored, so "12" stays text."""

    header: str
    width: float | None = None
    """In characters; None guesses it from the header and the first 200 rows (at most 60)."""
    kind: str = "text"
    wrap: bool = False
    """Wrap long text (abstracts, quotes) inside the cell, aligned to the top."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(
                f"Column {self.header!r}: unknown kind {self.kind!r}; "
                f"use one of {', '.join(KINDS)}."
            )


@dataclass(frozen=True, slots=True)
class Sheet:
    """A header row (from `columns`) and the rows under it.

    `rows` is usually a generator and is consumed once. Values may be str, int, float,
    Decimal, date, datetime, bool or None; NaN and infinity are left empty, and datetimes
    keep their wall-clock time without the zone (spreadsheets have none: localise first).
    `title` is printed in the page header; the sheet itself always starts with the header
    row, so filters and frozen panes stay simple.
    """

    name: str
    columns: Sequence[Column]
    rows: Iterable[Sequence[Any]]
    title: str = ""


def safe_text(value: str) -> str:
    """Text that no spreadsheet program will run as a formula, for CSV and other plain text.

    A CSV cell starting with "=", "+", "-", "@", a tab or a carriage return is evaluated when
    Excel opens the file ('=HYPERLINK("http://evil", "click")' becomes a live link, "@SUM(..)"
    a calculation). Following the OWASP guidance on CSV injection such text gets a leading
    single quote, which Excel shows as text. Only strings are escaped: numbers are written as
    numbers, so -2.5 stays -2.5.

    XLSX needs no prefix and keeps the text exactly: `write_xlsx` stores it as a string cell
    (type "s"), which Excel never evaluates. openpyxl would otherwise make a formula of any
    str starting with "=" and an error value of "#N/A"; the writer overrides both.
    """
    if value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def write_xlsx(sheets: Iterable[Sheet], target: BinaryIO | str | Path) -> None:
    """Write one workbook with a sheet per `Sheet`, each streamed row by row.

    Each sheet gets a bold header row, frozen panes below it, an auto-filter over the
    header and all data, column widths, wrapping for wrap columns, real hyperlinks for
    DOI/PMID/URL columns and traffic-light fills for risk-of-bias judgements. Sheet names are
    made valid for Excel (31 characters, no []:*?/\\) and unique.

    Cost: time is linear in cells, about 15 s for 100,000 rows of 8 columns. Rows go to
    temporary files on disk, so memory does not grow with rows, but each hyperlink costs
    about 1 KB until the save (at most `HYPERLINKS_PER_SHEET` per sheet; later link cells
    are plain text). `target` receives the file only at the end, in one piece.
    """
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    taken: set[str] = set()
    try:
        for sheet in sheets:
            worksheet = workbook.create_sheet(_unique_sheet_name(sheet.name, taken))
            _write_sheet(worksheet, sheet)
    except BaseException:
        _discard(workbook)
        raise
    if not workbook.worksheets:
        raise ValueError("A workbook needs at least one sheet.")
    workbook.save(str(target) if isinstance(target, str | Path) else target)


def write_csv(sheet: Sheet, target: TextIO | str | Path) -> None:
    """Write one sheet as CSV: UTF-8 with a byte-order mark, header row first.

    The BOM makes Excel read the file as UTF-8 (without it accents and Greek letters come
    out garbled). Text is passed through `safe_text`; dates are ISO dates, datetimes
    "YYYY-MM-DD HH:MM:SS", booleans TRUE/FALSE as Excel writes them. A stream given as
    `target` gets the BOM as its first character unless it already encodes as "utf-8-sig".
    Streams: memory does not grow with the number of rows.
    """
    if isinstance(target, str | Path):
        with open(target, "w", encoding="utf-8-sig", newline="") as handle:
            _write_csv_rows(sheet, handle)
        return
    if (getattr(target, "encoding", None) or "").lower().replace("_", "-") != "utf-8-sig":
        target.write("\ufeff")
    _write_csv_rows(sheet, target)


# --- XLSX -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Look:
    """How the cells of one column are dressed, worked out once per sheet.

    A write-only sheet writes each row as it is appended, so a styled cell can be used again
    for the same column in the next row with a new value: `styled` keeps one per style, which
    spares building and styling a cell for each of a 200,000-row log's values. Cells with a
    hyperlink are never reused (openpyxl keeps their link until the sheet is closed)."""

    kind: str
    alignment: Alignment | None
    number_format: str | None
    styled: dict = field(default_factory=dict)

    def cell(
        self,
        worksheet: WriteOnlyWorksheet,
        value: Any,
        *,
        number_format: str | None = None,
        judgement: tuple | None = None,
        text: bool = False,
    ) -> Cell:
        key = (number_format, judgement, text)
        cell = self.styled.get(key)
        if cell is None:
            from openpyxl.cell import WriteOnlyCell

            cell = self.styled[key] = WriteOnlyCell(worksheet)
            if number_format:
                cell.number_format = number_format
            if self.alignment:
                cell.alignment = self.alignment
            if judgement:
                fill, font = judgement
                cell.fill = fill
                if font:
                    cell.font = font
        cell.value = value
        if text:
            cell.data_type = "s"  # after the value: openpyxl would have made "=..." a formula
        return cell


def _write_sheet(worksheet: WriteOnlyWorksheet, sheet: Sheet) -> None:
    from openpyxl.utils import get_column_letter

    columns = list(sheet.columns)
    if not columns:
        raise ValueError(f"Sheet {sheet.name!r} has no columns.")
    numbered = enumerate(sheet.rows, 2)
    rows = (_checked(row, len(columns), sheet.name, number) for number, row in numbered)
    sample = list(islice(rows, WIDTH_SAMPLE_ROWS))
    for index, column in enumerate(columns):
        width = column.width if column.width is not None else _guess_width(column, index, sample)
        worksheet.column_dimensions[get_column_letter(index + 1)].width = width
    worksheet.freeze_panes = "A2"  # sheet views are written before the first row
    worksheet.print_title_rows = "1:1"
    # printed or turned into PDF: landscape, every column on one page width
    worksheet.page_setup.orientation = "landscape"
    worksheet.sheet_properties.pageSetUpPr.fitToPage = True
    worksheet.page_setup.fitToWidth = 1
    worksheet.page_setup.fitToHeight = 0
    if sheet.title:
        worksheet.oddHeader.center.text = sheet.title.replace("&", "&&")

    worksheet.append([_header_cell(worksheet, column.header) for column in columns])
    looks = [
        _Look(
            kind=column.kind,
            alignment=_styles().wrap if column.wrap else None,
            number_format=_INTEGER_FORMAT if column.kind == "integer" else None,
        )
        for column in columns
    ]
    links_left = [HYPERLINKS_PER_SHEET]
    last_row = 1
    for row in chain(sample, rows):
        worksheet.append(
            [
                _cell(worksheet, value, look, links_left)
                for value, look in zip(row, looks, strict=True)
            ]
        )
        last_row += 1
    worksheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{last_row}"
    worksheet.close()  # writes the filter and hyperlinks now rather than at the save


class _Nowhere(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return len(data)


def _discard(workbook: Workbook) -> None:
    """Finish a workbook that failed half-way into nowhere. openpyxl deletes the temporary
    file of each streamed sheet only when it saves, and a worker process may run for weeks;
    a failure here must not hide the error that brought us here."""
    with contextlib.suppress(Exception):
        workbook.save(_Nowhere())


def _checked(row: Sequence[Any], width: int, sheet: str, number: int) -> Sequence[Any]:
    if len(row) != width:
        raise ValueError(f"Sheet {sheet!r}, row {number}: {len(row)} values for {width} columns.")
    return row


def _header_cell(worksheet: WriteOnlyWorksheet, header: str) -> Cell:
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(worksheet, _xlsx_text(header))
    cell.data_type = "s"
    cell.font = _styles().header_font
    return cell


def _cell(worksheet: WriteOnlyWorksheet, value: Any, look: _Look, links_left: list[int]) -> Any:
    """A cell for one value; plain values go to openpyxl as they are, which is cheapest."""
    if value is None:
        return None
    if isinstance(value, str):
        return _text_cell(worksheet, _xlsx_text(value), look, links_left)
    if isinstance(value, bool):
        stored: Any = value
    elif isinstance(value, int):
        if abs(value) >= _EXCEL_EXACT_DIGITS:
            return _text_cell(worksheet, str(value), look, links_left)
        stored = value
    elif isinstance(value, float):
        if not math.isfinite(value):
            return None  # Excel has no NaN or infinity; the file would not open
        stored = value
    elif isinstance(value, Decimal):
        if not value.is_finite():
            return None
        stored = value
    elif isinstance(value, datetime):
        stored = value.replace(tzinfo=None)  # Excel has no time zones: the wall-clock time
    elif isinstance(value, date):
        stored = value
    else:
        raise TypeError(f"Cannot write a {type(value).__name__} to a spreadsheet: {value!r}")
    number_format = look.number_format
    if isinstance(stored, datetime):
        number_format = _DATETIME_FORMAT
    elif isinstance(stored, date):
        number_format = _DATE_FORMAT
    link = ""
    if look.kind == "pmid" and isinstance(stored, int) and not isinstance(stored, bool):
        link = _link(look.kind, str(stored))
    if not (number_format or look.alignment or link):
        return stored
    if not link:
        return look.cell(worksheet, stored, number_format=number_format)
    return _link_cell(worksheet, stored, look, link, links_left, number_format)


def _text_cell(worksheet: WriteOnlyWorksheet, text: str, look: _Look, links_left: list[int]) -> Any:
    link = _link(look.kind, text) if look.kind in ("doi", "pmid", "url") else ""
    judgement = _styles().judgements.get(_judgement_key(text)) if look.kind == "judgement" else None
    needs_string_type = text.startswith("=") or text in _error_codes()
    if not (link or judgement or look.alignment or needs_string_type):
        return text
    if not link:
        return look.cell(worksheet, text, judgement=judgement, text=True)
    return _link_cell(worksheet, text, look, link, links_left)


def _link_cell(
    worksheet: WriteOnlyWorksheet,
    value: Any,
    look: _Look,
    link: str,
    links_left: list[int],
    number_format: str | None = None,
) -> Cell:
    """A cell of its own (never reused) carrying a link, while the sheet's links last."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(worksheet, value)
    if isinstance(value, str):
        cell.data_type = "s"  # after the value: openpyxl would have made "=..." a formula
    if number_format:
        cell.number_format = number_format
    if look.alignment:
        cell.alignment = look.alignment
    _add_link(cell, link, links_left)
    return cell


def _add_link(cell: Cell, target: str, links_left: list[int]) -> None:
    if links_left[0] <= 0:
        return
    links_left[0] -= 1
    cell.hyperlink = target
    cell.font = _styles().link_font


@cache
def _error_codes() -> frozenset[str]:
    """The texts openpyxl would store as error values ("#N/A", "#DIV/0!" ...)."""
    from openpyxl.cell.cell import ERROR_CODES

    return frozenset(ERROR_CODES)


def _link(kind: str, text: str) -> str:
    """The address a DOI, PMID or URL cell links to, built only from values that match their
    pattern, or "" for anything else."""
    if kind == "doi":
        if _DOI.fullmatch(text):
            return "https://doi.org/" + quote(text, safe="/:;()[].,-_~+=!*'")
        return ""
    if kind == "pmid":
        return f"https://pubmed.ncbi.nlm.nih.gov/{text}/" if _PMID.fullmatch(text) else ""
    if kind == "url" and len(text) <= MAX_URL_LENGTH and _URL.fullmatch(text):
        return text
    return ""


def _judgement_key(text: str) -> str:
    """The scale word of a judgement in any spelling: "Some concerns", "some_concerns" and
    "Some concerns risk" all give "some concerns", "High risk" and "High concern" give "high"."""
    key = " ".join(text.replace("_", " ").lower().split())
    for suffix in (" risk of bias", " risk", " concern"):
        key = key.removesuffix(suffix)
    return key


def _xlsx_text(value: str) -> str:
    """Text that XML can carry and Excel accepts: no control characters but tab, CR and LF,
    and at most 32,767 characters."""
    if _ILLEGAL_XML.search(value):
        value = _ILLEGAL_XML.sub("", value)
    if len(value) > MAX_CELL_TEXT:
        value = value[: MAX_CELL_TEXT - 1] + "\u2026"
    return value


def _guess_width(column: Column, index: int, sample: Sequence[Sequence[Any]]) -> float:
    longest = _longest_line(column.header)
    for row in sample:
        value = row[index]
        if value is None:
            continue
        if isinstance(value, datetime):
            length = 16
        elif isinstance(value, date):
            length = 10
        else:
            length = _longest_line(str(value))
        if length > longest:
            longest = length
            if longest >= MAX_GUESSED_WIDTH:
                break
    return float(min(max(longest + 2, MIN_GUESSED_WIDTH), MAX_GUESSED_WIDTH))


def _longest_line(text: str) -> int:
    if "\n" not in text:
        return len(text)
    return max(len(line) for line in text.split("\n"))


def _unique_sheet_name(name: str, taken: set[str]) -> str:
    """A name Excel accepts, unique without regard to case (as Excel compares them)."""
    cleaned = _SHEET_NAME_FORBIDDEN.sub("_", name).strip().strip("'").strip()
    if not cleaned or cleaned.lower() == "history":  # Excel reserves "History"
        cleaned = f"{cleaned} sheet".strip() if cleaned else "Sheet"
    cleaned = cleaned[:_SHEET_NAME_LENGTH].rstrip("'").rstrip() or "Sheet"
    candidate = cleaned
    number = 1
    while candidate.lower() in taken:
        number += 1
        suffix = f" ({number})"
        candidate = cleaned[: _SHEET_NAME_LENGTH - len(suffix)].rstrip("'").rstrip() + suffix
    taken.add(candidate.lower())
    return candidate


# --- CSV ------------------------------------------------------------------------------------


def _write_csv_rows(sheet: Sheet, handle: TextIO) -> None:
    width = len(sheet.columns)
    writer = csv.writer(handle)
    writer.writerow([safe_text(column.header) for column in sheet.columns])
    writer.writerows(
        [_csv_value(value) for value in _checked(row, width, sheet.name, number)]
        for number, row in enumerate(sheet.rows, 2)
    )


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else ""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"Cannot write a {type(value).__name__} to a spreadsheet: {value!r}")
