"""Bibliographic import parsers: bytes of an export file in, normalised records out.

Pure Python, no Django: services call `parse` and store what it returns. Every failure a
person can act on is an `ImportFileError` with a one-line message and located problems;
anything else escaping from here is a bug.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence

from reviewmgr.importers import (
    bibtex,
    endnote_tagged,
    endnote_xml,
    medline,
    pubmed_xml,
    ris,
    tabular,
    wos,
)
from reviewmgr.importers.base import (
    EMPTY_FILE,
    FORMAT_NAMES,
    FORMATS,
    RECORD_TYPES,
    ImportFileError,
    ParsedRecord,
    ParseProblem,
    ParseResult,
    check_zip_expansion,
    cyclic_gc_paused,
    decode,
    is_blank,
    is_xlsx,
)
from reviewmgr.importers.detection import detect_text_format, sniff

__all__ = [
    "FORMATS",
    "check_zip_expansion",
    "RECORD_TYPES",
    "ImportFileError",
    "ParseProblem",
    "ParseResult",
    "ParsedRecord",
    "detect_format",
    "parse",
    "read_columns",
    "suggest_column_map",
]

_TEXT_PARSERS: dict[str, Callable[..., ParseResult]] = {
    "ris": ris.parse,
    "bibtex": bibtex.parse,
    "medline": medline.parse,
    "pubmed-xml": pubmed_xml.parse,
    "endnote-xml": endnote_xml.parse,
    "endnote-tagged": endnote_tagged.parse,
    "wos": wos.parse,
}


def detect_format(data: bytes, filename: str = "") -> str:
    """The format of an export, judged from its content; the file name only breaks ties.

    Raises ImportFileError for empty, binary or unrecognised content.
    """
    fmt, _ = sniff(data, filename)
    return fmt


def parse(
    data: bytes,
    *,
    format: str = "auto",
    filename: str = "",
    lenient: bool = False,
    column_map: Mapping[str, str] | None = None,
) -> ParseResult:
    """Read every record of an export file, in file order.

    Strict (the default) raises ImportFileError listing up to 20 located problems if any
    record must be fixed; lenient returns the good records and lists the others in
    `skipped`. `column_map` (source column -> field) replaces the automatic column matching
    of CSV and Excel files and is ignored for other formats.
    """
    if is_blank(data):
        raise ImportFileError(EMPTY_FILE)
    check_zip_expansion(io.BytesIO(data), len(data))
    if format == "auto":
        format, decoded = sniff(data, filename)
    elif format not in FORMATS:
        raise ImportFileError(
            f"Unknown import format '{format}'; choose one of {', '.join(FORMATS)}."
        )
    elif format in ("csv", "xlsx") and is_xlsx(data):
        format, decoded = "xlsx", None
    elif format == "xlsx":
        raise ImportFileError("This is not an Excel workbook (.xlsx); import it as CSV instead.")
    else:
        decoded = decode(data)
    with cyclic_gc_paused():
        if format in ("csv", "xlsx"):
            result = tabular.parse(
                data,
                lenient=lenient,
                filename=filename,
                column_map=column_map,
                text=decoded.text if decoded else None,
            )
        else:
            result = _TEXT_PARSERS[format](decoded.text if decoded else "", lenient=lenient)
    if decoded is not None:
        result.warnings[:0] = decoded.warnings(result.records)
    return result


def read_columns(data: bytes, *, filename: str = "") -> list[str]:
    """The header of a CSV/TSV/Excel file, for a column-mapping form.

    Raises ImportFileError for files that are plainly another format (they have no columns
    to map) and for empty or binary files.
    """
    check_zip_expansion(io.BytesIO(data), len(data))
    if is_xlsx(data):
        return tabular.read_columns(data, filename=filename)
    decoded = decode(data)
    fmt = detect_text_format(decoded.text, filename)
    if fmt not in (None, "csv"):
        raise ImportFileError(
            f"This is a {FORMAT_NAMES[fmt]} file, not a sheet; it has no columns."
        )
    return tabular.read_columns(data, filename=filename, text=decoded.text)


def suggest_column_map(columns: Sequence[str]) -> dict[str, str]:
    """Header name -> ParsedRecord field name, for the columns that are recognised."""
    return tabular.suggest_column_map(columns)
