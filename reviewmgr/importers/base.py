"""What every importer shares: the record shape, errors, decoding and format detection.

Nothing here knows about Django. The format modules turn decoded text (or, for Excel, bytes)
into `ParsedRecord`s through a `Collector`, which also decides what strict and lenient mode
do with records a person would have to fix.
"""

from __future__ import annotations

import codecs
import gc
import io
import re
import threading
import zipfile
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from lxml import etree

RECORD_TYPES = (
    "journal-article",
    "conference-paper",
    "book",
    "book-chapter",
    "thesis",
    "report",
    "preprint",
    "webpage",
    "dataset",
    "other",
)

FORMATS = (
    "ris",
    "bibtex",
    "medline",
    "pubmed-xml",
    "endnote-xml",
    "endnote-tagged",
    "wos",
    "csv",
    "xlsx",
)

FORMAT_NAMES = {
    "ris": "RIS",
    "bibtex": "BibTeX",
    "medline": "PubMed MEDLINE",
    "pubmed-xml": "PubMed XML",
    "endnote-xml": "EndNote XML",
    "endnote-tagged": "EndNote tagged text",
    "wos": "Web of Science",
    "csv": "CSV",
    "xlsx": "Excel",
}

MAX_PROBLEMS = 20
"""How many located problems an `ImportFileError` carries; more would bury the first ones."""

WARNINGS_PER_KIND = 10
"""Repeated warnings of one kind are summarised after this many, so a big file stays readable."""

EMPTY_FILE = "The file is empty."
BINARY_FILE = "This looks like a binary file (e.g. a PDF or image), not a reference export."
UNKNOWN_FORMAT = (
    "Unrecognised format: expected RIS, BibTeX, PubMed (MEDLINE or XML), EndNote XML, "
    "Web of Science, CSV or Excel."
)


@dataclass(slots=True)
class ParsedRecord:
    """One reference as read from a file, already normalised (see `normalise`)."""

    title: str = ""
    abstract: str = ""
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    journal: str = ""
    volume: str = ""
    issue: str = ""
    pages: str = ""
    doi: str = ""
    pmid: str = ""
    pmcid: str = ""
    url: str = ""
    keywords: list[str] = field(default_factory=list)
    type: str = ""
    language: str = ""
    label: bool | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    position: int = 0
    line: int | None = None


@dataclass(frozen=True, slots=True)
class ParseProblem:
    """Something a person must fix, with where to look for it."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


@dataclass(slots=True)
class ParseResult:
    format: str
    records: list[ParsedRecord]
    warnings: list[str]
    skipped: list[ParseProblem]


class ImportFileError(Exception):
    """The whole file cannot be imported. str(e) is a one-line message for a person; .problems
    holds located problems (at most 20)."""

    def __init__(self, message: str, problems: Sequence[ParseProblem] = ()) -> None:
        super().__init__(message)
        self.problems: list[ParseProblem] = list(problems)[:MAX_PROBLEMS]


CONTENTLESS_WARNING = "record has no title, abstract or identifier"


class Collector:
    """Gathers the records, problems and warnings of one file in file order.

    Format modules call `keep` for every record they read and `fail` for anything else that
    breaks the file; `result` then applies strict or lenient mode in one place, so every
    format treats bad records the same way.
    """

    def __init__(self, format: str, *, lenient: bool, unit: str = "line") -> None:
        self.format = format
        self.lenient = lenient
        self.unit = unit
        self.records: list[ParsedRecord] = []
        self.problems: list[ParseProblem] = []
        self._warnings: list[str] = []
        self._kinds: Counter[str] = Counter()

    def where(self, line: int | None, position: int) -> str:
        return f"{self.unit} {line}" if line else f"record {position + 1}"

    def locate(self, record: ParsedRecord) -> str:
        return self.where(record.line, record.position)

    def warn(self, message: str, *, kind: str = "") -> None:
        """Keep a warning; after `WARNINGS_PER_KIND` of one kind only count the rest."""
        if kind:
            self._kinds[kind] += 1
            if self._kinds[kind] > WARNINGS_PER_KIND:
                return
        self._warnings.append(message)

    def fail(self, location: str, message: str) -> None:
        self.problems.append(ParseProblem(location, message))

    def keep(self, record: ParsedRecord) -> None:
        """Accept a record; one with nothing to screen or look up is kept but pointed out.

        It is in the person's export, so dropping it (or the whole file) would lose data;
        the warning says where it is so that a lead can correct it after the import.
        """
        self.records.append(record)
        if not (record.title or record.abstract or record.doi or record.pmid or record.pmcid):
            self.warn(
                f"{self.locate(record)}: {CONTENTLESS_WARNING}; imported as it is",
                kind="records without title, abstract or identifier",
            )

    @property
    def warnings(self) -> list[str]:
        extra = [
            f"... and {count - WARNINGS_PER_KIND} more like this ({kind})."
            for kind, count in self._kinds.items()
            if count > WARNINGS_PER_KIND
        ]
        return self._warnings + extra

    def result(self, *, empty_message: str = "") -> ParseResult:
        """The outcome: raises in strict mode when anything must be fixed, or when nothing was
        found at all (an empty import is never what the person wanted)."""
        self.problems.sort(key=_location_order)
        if self.problems and not self.lenient:
            first = self.problems[0]
            more = len(self.problems) - 1
            tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
            raise ImportFileError(
                f"The file cannot be imported as it is: {first}{tail}. Fix the file, or "
                "import it again choosing to skip the records with problems.",
                self.problems,
            )
        if not self.records and not self.problems:
            raise ImportFileError(empty_message or "No references were found in this file.")
        return ParseResult(
            format=self.format,
            records=self.records,
            warnings=self.warnings,
            skipped=list(self.problems),
        )


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a file is read.

    A big file becomes millions of small dicts, lists and strings, none of which form
    cycles; the collector would otherwise rescan all of them again and again (about a tenth
    of the time of a 100,000-record RIS file). Reference counting still frees memory.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _location_order(problem: ParseProblem) -> int:
    """Problems in file order: "line 8" before "line 13", whatever found them first."""
    number = problem.location.rpartition(" ")[2]
    return int(number) if number.isdecimal() else 0


def is_blank(content: bytes | str) -> bool:
    """Empty or only whitespace, without copying a 200 MB file as `strip()` would."""
    return not content or content.isspace()


# --- decoding ---------------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

_ENCODING_NAMES = {
    "cp1252": "Windows-1252 (Western European)",
    "latin-1": "Latin-1",
    "gb18030": "GBK / GB18030 (Chinese)",
}


@dataclass(frozen=True, slots=True)
class StrayBytes:
    """Bytes of a UTF-8 file that are not UTF-8, on one line, and the text they were read as."""

    line: int
    raw: bytes
    read_as: str


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    encoding: str
    stray: tuple[StrayBytes, ...] = ()
    """In a UTF-8 file, the few places whose bytes are not UTF-8 (read as Windows-1252)."""

    @property
    def warning(self) -> str:
        """A note for the person when the file was not Unicode, so they can check accents."""
        name = _ENCODING_NAMES.get(self.encoding)
        if not name:
            return ""
        return (
            f"The file is not UTF-8; it was read as {name}. Check that accented letters look right."
        )

    def warnings(self, records: Sequence[ParsedRecord]) -> list[str]:
        """What the person should check about the decoding, before the parser's warnings: the
        file-wide note for a legacy encoding, or each line of a UTF-8 file whose bytes are not
        UTF-8, with the record that holds it (its number, and its title or ID)."""
        if self.warning:
            return [self.warning]
        lined = [record for record in records if record.line]
        starts = [record.line for record in lined]
        found = []
        for stray in self.stray[:WARNINGS_PER_KIND]:
            index = bisect_right(starts, stray.line) - 1
            if index >= 0:
                where = f" in record {_record_label(lined[index])}; check that record."
            elif lined:
                where = " before the first record; check that line."
            else:  # records without lines (an XML file on one line)
                where = "; check the records on that line."
            shown = " ".join(f"0x{byte:02X}" for byte in stray.raw[:8])
            found.append(
                f"line {stray.line}: bytes that are not UTF-8 ({shown}) were read as "
                f'Windows-1252 ("{stray.read_as[:8]}"){where}'
            )
        if len(self.stray) > WARNINGS_PER_KIND:
            more = len(self.stray) - WARNINGS_PER_KIND
            found.append(f"... and {more} more lines with bytes that are not UTF-8.")
        return found


def _record_label(record: ParsedRecord) -> str:
    """'3 ("Café au lait …", from line 15)': how a person finds a record in their file."""
    name = record.title or str(record.raw.get("id") or record.raw.get("ID") or "")
    if len(name) > 60:
        name = name[:59] + "…"
    shown = f'"{name}", ' if name else ""
    return f"{record.position + 1} ({shown}from line {record.line})"


def decode(data: bytes) -> Decoded:
    """Turn the bytes of a text export into str, whatever its encoding.

    Unicode with a BOM (EndNote writes UTF-16), then BOM-less UTF-16, UTF-8, Chinese GBK and
    finally Windows-1252, which accepts nearly any byte. A UTF-8 file with a few bytes that
    are not UTF-8 (a title pasted from an old system) stays UTF-8: only those bytes are read
    as Windows-1252, and `stray` says where they are, since reading the whole file as
    Windows-1252 would garble every other accented letter. Lone CR line ends (classic Mac)
    become LF here; CRLF is left for the line-based readers, which strip it far more cheaply.
    """
    check_not_empty_or_binary(data)
    stray: tuple[StrayBytes, ...] = ()
    encoding = _unicode_encoding(data)
    mostly_utf8 = None if encoding else _utf8_with_stray_bytes(data)
    if mostly_utf8 is not None:
        encoding = "utf-8"
        text, stray = mostly_utf8
    else:
        encoding = encoding or ("gb18030" if _looks_like_gbk(data) else "cp1252")
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            encoding = "latin-1"
            text = data.decode(encoding)
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text:
        raise ImportFileError(BINARY_FILE)
    if "\n" not in text and "\r" in text:
        text = text.replace("\r", "\n")
    if is_blank(text):
        raise ImportFileError(EMPTY_FILE)
    return Decoded(text, encoding, stray)


def _unicode_encoding(data: bytes) -> str:
    """The Unicode encoding the bytes are written in (by their BOM, their NULs, or because
    they are valid UTF-8), or "" for anything else."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    utf16 = _bomless_utf16(data[:4096])
    if utf16:
        return utf16
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return ""
    return "utf-8"


def _utf8_with_stray_bytes(data: bytes) -> tuple[str, tuple[StrayBytes, ...]] | None:
    """The text of a UTF-8 file that has some bytes that are not UTF-8, those read as
    Windows-1252, and where they were; None when the file is not mostly UTF-8.

    It is taken for UTF-8 when its valid multi-byte characters hold at least as many bytes
    beyond the first as there are stray bytes: a legacy file (Windows-1252, GBK) has next to
    no valid UTF-8 sequences, since its accented letters stand alone among ASCII. Both counts
    come from two decodings in C; the stray bytes are then read, and recorded, by an error
    handler that runs only for them.
    """
    escaped = len(data.decode("utf-8", errors="surrogateescape"))  # a stray byte: 1 character
    stray_bytes = escaped - len(data.decode("utf-8", errors="ignore"))
    if len(data) - escaped < stray_bytes:
        return None
    _stray_record.found = found = []
    try:
        text = data.decode("utf-8", errors=_STRAY_HANDLER)
    finally:
        del _stray_record.found
    places: list[StrayBytes] = []
    line, counted = 1, 0
    line_end = b"\n" if b"\n" in data else b"\r"  # classic Mac files end lines with CR alone
    for offset, raw, read_as in found:
        line += data.count(line_end, counted, offset)
        counted = offset
        if places and places[-1].line == line:
            last = places[-1]
            places[-1] = StrayBytes(line, last.raw + raw, last.read_as + read_as)
        else:
            places.append(StrayBytes(line, raw, read_as))
    return text, tuple(places)


_STRAY_HANDLER = "reviewmgr-stray-bytes"
_stray_record = threading.local()


def _read_stray_bytes(error: UnicodeError) -> tuple[str, int]:
    """A codec error handler: bytes that are not UTF-8 become their Windows-1252 letters, and
    the decoding on this thread records where they were."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    raw = bytes(error.object[error.start : error.end])
    read_as = "".join(_legacy_character(byte) for byte in raw)
    _stray_record.found.append((error.start, raw, read_as))
    return read_as, error.end


codecs.register_error(_STRAY_HANDLER, _read_stray_bytes)


def _legacy_character(byte: int) -> str:
    """One byte as Windows-1252 reads it; the five bytes it leaves undefined as Latin-1."""
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return chr(byte)


def _bomless_utf16(head: bytes) -> str:
    """UTF-16 without a BOM: Latin text then has a NUL in every other byte."""
    if len(head) < 4:
        return ""
    even, odd = head[0::2], head[1::2]
    if odd.count(0) >= 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) >= 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return ""


_HIGH_RUN = re.compile(rb"[\x80-\xff]+")


def _looks_like_gbk(data: bytes) -> bool:
    """Chinese text comes in byte pairs; Western legacy text has mostly lone accented bytes."""
    runs = _HIGH_RUN.findall(data[:200_000])
    if len(runs) < 2 or any(len(run) % 2 for run in runs):
        return False
    try:
        sample = data[:200_000].decode("gb18030")
    except UnicodeDecodeError:
        return False
    wide = [ch for ch in sample if ord(ch) > 0x7F]
    cjk = sum(1 for ch in wide if "\u4e00" <= ch <= "\u9fff" or "\u3000" <= ch <= "\u303f")
    return cjk >= 0.8 * len(wide)


_BINARY_SIGNATURES = (
    b"%PDF",
    b"\x89PNG",
    b"\xff\xd8\xff",  # JPEG
    b"GIF8",
    b"\x1f\x8b",  # gzip
    b"II*\x00",  # TIFF
    b"MM\x00*",
    b"7z\xbc\xaf",
    b"Rar!",
)


def check_not_empty_or_binary(data: bytes) -> None:
    """Refuse what is plainly not a text export before anything tries to read it."""
    if is_blank(data):
        raise ImportFileError(EMPTY_FILE)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(
            "This is an old Excel (.xls) or Word file; save it as .xlsx or CSV and import that."
        )
    if data.startswith(b"BM"):
        # "BM" also begins ordinary words; only a real bitmap header has NULs right after.
        if b"\x00" in data[2:16]:
            raise ImportFileError(BINARY_FILE)
    elif data.startswith(_BINARY_SIGNATURES):
        raise ImportFileError(BINARY_FILE)
    head = data[:4096]
    if any(head.startswith(bom) for bom, _ in _BOMS) or _bomless_utf16(head):
        return
    controls = sum(1 for byte in head if byte < 9 or 13 < byte < 32)
    if b"\x00" in head or controls * 10 > len(head):
        raise ImportFileError(BINARY_FILE)


MAX_ZIP_EXPANSION = 100
"""An archive (an .xlsx is one) may unpack to at most this many times its size, above 1 MB;
real exports stay far below (a Scopus workbook: about 5x), a zip bomb does not."""


def _size(count: float) -> str:
    """A byte count as people read it: 512 bytes, 30.0 MB (binary multiples)."""
    if count < 1024:
        return f"{int(count)} bytes"
    for unit in ("KB", "MB", "GB"):
        count /= 1024
        if count < 1024 or unit == "GB":
            return f"{count:.1f}\N{NO-BREAK SPACE}{unit}"
    raise AssertionError("unreachable")


def check_zip_expansion(handle: BinaryIO, size: int) -> None:
    """Raise ImportFileError if the ZIP archive in `handle` (of `size` bytes) would expand to
    far more than it weighs, before any reader unpacks it. Reads only the archive's directory
    and leaves `handle` at its start; anything that is not a ZIP archive passes."""
    try:
        if handle.read(4) != b"PK\x03\x04":
            return
        with zipfile.ZipFile(handle) as archive:
            unpacked = sum(item.file_size for item in archive.infolist())
    except zipfile.BadZipFile:
        return  # the reader says what is wrong with it
    finally:
        handle.seek(0)
    if unpacked > 2**20 and unpacked > MAX_ZIP_EXPANSION * size:
        raise ImportFileError(
            f"This archive would expand from {_size(size)} to {_size(unpacked)}; "
            "no reference export does that."
        )


def is_xlsx(data: bytes) -> bool:
    """An Excel workbook is a ZIP archive holding `xl/workbook.xml`."""
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


# --- XML --------------------------------------------------------------------------------

_ROOT_ELEMENT = re.compile(r"<[A-Za-z_]")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


def xml_bytes(text: str) -> bytes:
    """Check an XML document for danger and hand it to lxml as UTF-8.

    Reference exports never declare entities, so any <!ENTITY> (the tool of XXE and of
    "billion laughs") rejects the file before lxml sees it; the parser itself is also set
    never to expand entities, load a DTD or touch the network (see `_safe_iterparse`).
    """
    root = _ROOT_ELEMENT.search(text)
    prolog = text[: root.start()] if root else text
    if "<!entity" in prolog.lower():
        raise ImportFileError(
            "This XML file declares its own entities (<!ENTITY ...>), which reference exports "
            "never do; it was not read, for safety."
        )
    # The declaration may name the file's original encoding (UTF-16); the bytes are UTF-8 now.
    return _XML_DECLARATION.sub("", text, count=1).encode("utf-8")


def xml_records(
    text: str, tags: Sequence[str], collector: Collector
) -> Iterator[tuple[Any, int | None]]:
    """Each record element of an XML export as soon as the parser has finished it, with the
    line it starts on, then dropped so that a large file never becomes one large tree.

    Files that put many records on one line get None for the line, so that problems are
    located by record number instead. A syntax error (a file cut short, say) becomes a
    located problem and ends the walk; the records before it stay.
    """
    data = xml_bytes(text)
    has_lines = text.count("\n") > sum(text.count(f"<{tag}>") for tag in tags)
    try:
        for _, element in _safe_iterparse(data, tags):
            yield element, element.sourceline if has_lines else None
            element.clear(keep_tail=False)
            parent = element.getparent()
            while parent is not None and element.getprevious() is not None:
                del parent[0]
    except etree.XMLSyntaxError as error:
        line = error.lineno or (error.position[0] if error.position else 0)
        collector.fail(
            f"line {line}",
            f"the XML is not well-formed ({error.msg}); the rest of the file was not read",
        )


def _safe_iterparse(data: bytes, tags: Sequence[str]) -> Any:
    """lxml's iterparse set never to resolve entities, load a DTD or use the network."""
    return etree.iterparse(
        io.BytesIO(data),
        events=("end",),
        tag=tuple(tags),
        encoding="utf-8",
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
