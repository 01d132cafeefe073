"""Bytes to text: the file's encoding found (BOMs, UTF-16 without one, GBK, Windows-1252), the
few bytes of a UTF-8 file that are not UTF-8 named by line, and what is refused before any
reader runs (an empty or binary file, a ZIP archive that would unpack to far more than it
weighs)."""

from __future__ import annotations

import codecs
import io
import re
import threading
import zipfile
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

from reviewmgr.importers.results import (
    BINARY_FILE,
    EMPTY_FILE,
    WARNINGS_PER_KIND,
    ImportFileError,
    ParsedRecord,
    is_blank,
)

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
