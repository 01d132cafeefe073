"""Sheets: CSV, TSV and Excel exports (Scopus, Covidence, Rayyan, ASReview, Lens, Web of
Science tab-delimited, PubMed CSV ...) and hand-made sheets.

CSV goes through the standard library's csv reader, which gives the line where each row
starts and keeps every cell as text; Excel through openpyxl. The header row is found by
its column names, so title rows and search-query preambles above it (Embase, Excel) are
skipped. Columns are matched to record fields by name (`suggest_column_map`); a person can
override that with a column map when a sheet's names are not recognised.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from reviewmgr.importers import normalise as norm
from reviewmgr.importers.base import (
    Collector,
    ImportFileError,
    ParsedRecord,
    ParseResult,
    decode,
    is_xlsx,
)

FIELD_NAMES = (
    "title", "abstract", "authors", "year", "journal", "volume", "issue", "pages", "doi",
    "pmid", "pmcid", "url", "keywords", "type", "language", "label",
)  # fmt: skip

# Header names (lower case, "_" and runs of spaces as one space) for each field, best first.
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "title": ("title", "article title", "document title", "item title", "title primary",
              "primary title", "paper title", "titel", "ti", "t1"),
    "abstract": ("abstract", "abstract note", "abstracts", "notes abstract", "summary", "ab", "n2"),
    "authors": ("authors", "author", "author names", "author/s", "author(s)", "authors, primary",
                "authors primary", "first authors", "author full names", "author full name",
                "creators", "au", "af", "a1"),
    "year": ("year", "publication year", "published year", "pub year", "year published",
             "pubyear", "py", "date published", "publication date", "date of publication",
             "date", "da", "y1"),
    "journal": ("journal", "journal/book", "source title", "publication title", "journal title",
                "periodical full", "journal name", "secondary title", "publication name",
                "publicationname", "publication", "primary location.source.display name",
                "so", "jo", "jf", "t2", "source"),
    "volume": ("volume", "journal volume", "vol", "biblio.volume", "vl"),
    "issue": ("issue", "issue number", "journal issue", "number", "biblio.issue", "is"),
    "pages": ("pages", "page", "page range", "pagination"),
    "doi": ("doi", "item doi", "ids.doi", "do", "di"),
    "pmid": ("pmid", "pubmed id", "medline pmid", "ids.pmid", "pm"),
    "pmcid": ("pmcid", "pmc id", "ids.pmcid"),
    "url": ("url", "link", "urls", "external url", "article url", "open url link", "plink",
            "source urls", "primary location.landing page url", "ur"),
    "keywords": ("keywords", "author keywords", "index keywords", "mesh terms", "subjects",
                 "kw", "de"),
    "type": ("type", "type of reference", "publication type", "document type", "reference type",
             "referencetype", "item type", "content type", "doctype", "ty", "pt", "dt"),
    "language": ("language", "language of original document", "la"),
    "label": ("included", "label included", "final included", "label", "include", "inclusion"),
}  # fmt: skip
_START_PAGE = ("start page", "page start", "first page", "biblio.first page", "sp", "bp")
_END_PAGE = ("end page", "page end", "last page", "biblio.last page", "ep")
_SEARCH_ROWS = 30


def _key(header: Any) -> str:
    return " ".join(str(header or "").replace("_", " ").lower().split()).strip(" :")


_LOOKUP = {name: field for field, names in COLUMN_NAMES.items() for name in names}
_RANK = {name: rank for names in COLUMN_NAMES.values() for rank, name in enumerate(names)}


def suggest_column_map(columns: Sequence[str]) -> dict[str, str]:
    """Header name -> field name for the columns recognised, one column per field (the
    best-named one when several would fit)."""
    best: dict[str, tuple[int, int, str]] = {}
    for index, column in enumerate(columns):
        key = _key(column)
        target = _LOOKUP.get(key)
        if target is None:
            continue
        candidate = (_RANK[key], index, column)
        if target not in best or candidate < best[target]:
            best[target] = candidate
    ordered = sorted(best.items(), key=lambda item: item[1][1])
    return {column: target for target, (_, _, column) in ordered}


# --- detection ----------------------------------------------------------------------------

_DELIMITERS = (",", ";", "\t", "|")


def guess_delimiter(head: str, filename: str = "") -> tuple[str | None, bool]:
    """The delimiter that splits the first lines into the most columns most consistently,
    and whether it does so convincingly (most rows alike, more than one column). A .tsv or
    .tab name only breaks a tie in favour of tabs."""
    lines = head.split("\n")
    if len(head) >= 65536 and len(lines) > 1:
        lines = lines[:-1]  # the last line may have been cut in the middle
    sample = "\n".join(lines[:200])
    preferred = "\t" if filename.lower().endswith((".tsv", ".tab")) else ","
    best: tuple[float, int, str, int, list[int]] | None = None
    for order, delimiter in enumerate(_DELIMITERS):
        if delimiter not in sample:
            continue
        rows = _sample_rows(sample, delimiter)
        counts = [len(row) for row in rows if any(cell.strip() for cell in row)]
        if not counts:
            continue
        width = max(set(counts), key=counts.count)
        if width < 2:
            continue
        agreeing = counts.count(width) / len(counts)
        score = agreeing * min(width, 50) + (0.01 if delimiter == preferred else 0.0)
        candidate = (score, -order, delimiter, width, counts)
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    if best is None:
        return None, False
    _, _, delimiter, width, counts = best
    consistent = len(counts) >= 2 and counts.count(width) >= 0.6 * len(counts)
    return delimiter, consistent


def _sample_rows(sample: str, delimiter: str) -> list[list[str]]:
    try:
        return list(csv.reader(io.StringIO(sample), delimiter=delimiter))[: _SEARCH_ROWS * 2]
    except csv.Error:
        return []


def looks_like_sheet(head: str, filename: str = "") -> bool:
    """Content detection for delimited text: a header row with known column names, or a
    convincingly regular table."""
    delimiter, consistent = guess_delimiter(head, filename)
    if delimiter is None:
        # A one-column sheet: a list of titles under a "Title" header.
        first_line = head.lstrip().split("\n", 1)[0].strip().strip('"')
        return _LOOKUP.get(_key(first_line)) == "title"
    rows = _sample_rows(head[:65536], delimiter)[:_SEARCH_ROWS]
    if any(len(suggest_column_map(row)) >= 2 for row in rows):
        return True
    widths = [len(row) for row in rows if any(cell.strip() for cell in row)]
    if not consistent or not widths:
        return False
    width = max(set(widths), key=widths.count)
    # Two columns only when (nearly) every row agrees: prose has the odd comma too.
    return width >= 3 or (len(widths) >= 3 and widths.count(width) >= 0.9 * len(widths))


# --- reading ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Sheet:
    rows: Iterator[tuple[int, list[str]]]
    unit: str
    format: str


def _csv_rows(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Rows with the line each starts on; quoted cells may span lines."""
    if csv.field_size_limit() < 64 * 1024 * 1024:
        csv.field_size_limit(64 * 1024 * 1024)  # OpenAlex cells list hundreds of works
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    line = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise _BrokenRow(line, str(error)) from error
        yield line, row
        line = reader.line_num + 1


class _BrokenRow(Exception):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


def _cell(value: Any) -> str:
    """An Excel cell as the text a person sees."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).replace("\x00", "")


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    import openpyxl  # loaded only for Excel files; it is slow to import

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # a damaged workbook raises many kinds of errors
        raise ImportFileError(f"The Excel file could not be opened ({error}).") from error
    try:
        sheet = _first_sheet_with_data(workbook)
        if sheet is None:
            return
        for number, row in enumerate(sheet.iter_rows(values_only=True), 1):
            yield number, [_cell(value) for value in row]
    finally:
        workbook.close()


def _first_sheet_with_data(workbook: Any) -> Any:
    for sheet in workbook.worksheets:
        if hasattr(sheet, "reset_dimensions"):
            sheet.reset_dimensions()  # some writers record wrong sizes; read what is there
        for row in sheet.iter_rows(max_row=_SEARCH_ROWS, values_only=True):
            if any(value not in (None, "") for value in row):
                return sheet
    return None


def _open(data: bytes, filename: str, text: str | None = None) -> _Sheet:
    if is_xlsx(data):
        return _Sheet(_xlsx_rows(data), "row", "xlsx")
    if text is None:
        text = decode(data).text
    delimiter, _ = guess_delimiter(text[:65536], filename)
    return _Sheet(_csv_rows(text, delimiter or ","), "line", "csv")


def _find_header(rows: list[tuple[int, list[str]]]) -> int:
    """The index of the header row: the first with two or more known names, else the first
    with one, else the first row."""
    best = -1
    for index, (_, row) in enumerate(rows[:_SEARCH_ROWS]):
        known = len(suggest_column_map(row))
        if known >= 2:
            return index
        if known == 1 and best < 0:
            best = index
    if best >= 0:
        return best
    return next((i for i, (_, row) in enumerate(rows) if any(c.strip() for c in row)), 0)


def _header_names(row: list[str]) -> list[str]:
    """Header cells as unique names for `raw`: blanks become "column 3", repeats "name (2)"."""
    names: list[str] = []
    seen: set[str] = set()
    for index, cell in enumerate(row, 1):
        name = cell.strip().lstrip("\ufeff") or f"column {index}"
        unique, count = name, 1
        while unique in seen:
            count += 1
            unique = f"{name} ({count})"
        seen.add(unique)
        names.append(unique)
    return names


def read_columns(data: bytes, *, filename: str = "", text: str | None = None) -> list[str]:
    """The header of a sheet, for a column-mapping form."""
    sheet = _open(data, filename, text)
    head: list[tuple[int, list[str]]] = []
    try:
        for item in sheet.rows:
            head.append(item)
            if len(head) >= _SEARCH_ROWS:
                break
    except _BrokenRow as error:
        if not head:
            raise ImportFileError(
                f"line {error.line}: the CSV cannot be read ({error.reason})"
            ) from error
    if not head:
        raise ImportFileError("The sheet is empty.")
    header = head[_find_header(head)][1]
    while header and not header[-1].strip():
        header = header[:-1]
    return _header_names(header)


# --- records ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Plan:
    """Which cells feed which field: a list of column indexes per field."""

    columns: dict[str, list[int]]
    start_page: int | None = None
    end_page: int | None = None


def _automatic_plan(header: list[str]) -> _Plan:
    suggested = suggest_column_map(header)
    columns = {target: [header.index(column)] for column, target in suggested.items()}
    keys = [_key(name) for name in header]
    keyword_columns = [i for i, key in enumerate(keys) if _LOOKUP.get(key) == "keywords"]
    if keyword_columns:
        columns["keywords"] = keyword_columns
    plan = _Plan(columns)
    if "pages" not in columns:
        plan.start_page = _first_index(keys, _START_PAGE)
        plan.end_page = _first_index(keys, _END_PAGE)
    return plan


def _first_index(keys: list[str], names: Sequence[str]) -> int | None:
    for name in names:
        if name in keys:
            return keys.index(name)
    return None


def _mapped_plan(header: list[str], column_map: Mapping[str, str]) -> _Plan:
    columns: dict[str, list[int]] = {}
    by_name = {name: index for index, name in enumerate(header)}
    for column, target in column_map.items():
        if not target or target == "ignore":
            continue
        if target not in FIELD_NAMES:
            raise ImportFileError(
                f"Column '{column}' is mapped to '{target}', which is not a field."
            )
        index = by_name.get(column)
        if index is None:
            index = next((i for i, name in enumerate(header) if _key(name) == _key(column)), None)
        if index is None:
            raise ImportFileError(
                f"The column map names '{column}', but the sheet has no such column "
                f"(its columns are: {_list(header)})."
            )
        columns.setdefault(target, []).append(index)
    return _Plan(columns)


def _list(header: Sequence[str]) -> str:
    shown = ", ".join(f"'{name}'" for name in header[:30])
    return shown + (f" and {len(header) - 30} more" if len(header) > 30 else "")


def parse(
    data: bytes,
    *,
    lenient: bool,
    filename: str = "",
    column_map: Mapping[str, str] | None = None,
    text: str | None = None,
) -> ParseResult:
    sheet = _open(data, filename, text)
    collector = Collector(sheet.format, lenient=lenient, unit=sheet.unit)
    rows: list[tuple[int, list[str]]] = []
    try:
        for item in sheet.rows:
            rows.append(item)
    except _BrokenRow as error:
        collector.fail(
            f"line {error.line}", f"the CSV cannot be read from here on ({error.reason})"
        )
    if not rows:
        raise ImportFileError("The sheet is empty.")
    header_at = _find_header(rows)
    header_row = rows[header_at][1]
    while header_row and not header_row[-1].strip():
        header_row = header_row[:-1]
    header = _header_names(header_row)
    if header_at:
        collector.warn(
            f"{sheet.unit}s 1-{rows[header_at][0] - 1} above the header row were skipped "
            "(a title or search description)"
        )
    plan = _mapped_plan(header, column_map) if column_map else _automatic_plan(header)
    if "title" not in plan.columns and "abstract" not in plan.columns:
        raise ImportFileError(
            f"No title column was found among the columns {_list(header)}; map the columns "
            "to record fields and import again."
        )
    if "title" not in plan.columns:
        collector.warn("No title column was found; records are imported with their abstracts only.")
    position = 0
    for line, row in rows[header_at + 1 :]:
        filled = [cell for cell in row if cell.strip()]
        if not filled:
            continue
        record = _to_record(row, header, plan, position, line, collector)
        if len(filled) == 1 and _only_in_unmapped_column(row, plan):
            # Some tools write section headings between rows ("citations that are not yet
            # labeled by anyone" in Abstrackr); they are notes, not records.
            collector.warn(
                f"{sheet.unit} {line}: a row with only '{filled[0].strip()[:50]}' was skipped "
                "as a note",
                kind="note rows",
            )
            continue
        collector.keep(record)
        position += 1
    return collector.result(empty_message="The sheet has a header row but no records.")


def _only_in_unmapped_column(row: list[str], plan: _Plan) -> bool:
    used = {index for indexes in plan.columns.values() for index in indexes}
    used.update(index for index in (plan.start_page, plan.end_page) if index is not None)
    return not any(row[index].strip() for index in used if index < len(row))


def _to_record(
    row: list[str], header: list[str], plan: _Plan, position: int, line: int, collector: Collector
) -> ParsedRecord:
    width = len(header)
    raw: dict[str, Any] = dict(zip(header, row, strict=False))
    for name in header[len(row) :]:
        raw[name] = ""
    extra = [cell for cell in row[width:] if cell.strip()]
    if extra:
        raw["_extra"] = extra
        collector.warn(
            f"{collector.unit} {line}: {len(extra)} cell(s) beyond the last column were kept aside",
            kind="cells beyond the header",
        )

    def cells(target: str) -> list[str]:
        return [row[i] for i in plan.columns.get(target, ()) if i < len(row) and row[i].strip()]

    def one(target: str) -> str:
        found = cells(target)
        return found[0] if found else ""

    year, why = norm.year(one("year"))
    if why:
        collector.warn(f"{collector.unit} {line}: {why}", kind="unreadable year")
    doi_cell = one("doi")
    doi = norm.doi(doi_cell)
    if doi_cell and not doi:
        collector.warn(
            f"{collector.unit} {line}: '{doi_cell[:40]}' is not a DOI; left empty",
            kind="unreadable DOI",
        )
    label, unreadable = norm.label(one("label"))
    if unreadable:
        collector.warn(
            f"{collector.unit} {line}: inclusion label '{one('label')[:20]}' is not understood",
            kind="unreadable label",
        )
    pages = norm.pages(one("pages"))
    if not pages and (plan.start_page is not None or plan.end_page is not None):
        start = (
            row[plan.start_page]
            if plan.start_page is not None and plan.start_page < len(row)
            else ""
        )
        end = row[plan.end_page] if plan.end_page is not None and plan.end_page < len(row) else ""
        pages = norm.pages(start, end)
    journal = norm.text(one("journal"))
    return ParsedRecord(
        title=norm.plain(one("title")),
        abstract=norm.plain(one("abstract")),
        authors=norm.people(one("authors")),
        year=year,
        journal=journal,
        volume=norm.text(one("volume")),
        issue=norm.text(one("issue")),
        pages=pages,
        doi=doi,
        pmid=norm.pmid(one("pmid")),
        pmcid=norm.pmcid(one("pmcid")),
        url=norm.url(one("url")) or norm.text(one("url")),
        keywords=norm.keywords(cells("keywords"), split_commas=True),
        type=norm.record_type(one("type"), table=norm.WOS_TYPES, has_journal=bool(journal)),
        language=norm.text(one("language")),
        label=label,
        raw=raw,
        position=position,
        line=line,
    )
