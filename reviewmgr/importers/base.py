"""What every importer shares: the record shape, errors and the collector (`results`), decoding
and the checks made before any reader runs (`decoding`), and safe XML reading (`xml_reading`).
This module hands their names on; format detection is in `detection`.

Nothing here knows about Django. The format modules turn decoded text (or, for Excel, bytes)
into `ParsedRecord`s through a `Collector`, which also decides what strict and lenient mode
do with records a person would have to fix.
"""

from __future__ import annotations

from reviewmgr.importers.decoding import (
    _BINARY_SIGNATURES as _BINARY_SIGNATURES,
    _BOMS as _BOMS,
    _ENCODING_NAMES as _ENCODING_NAMES,
    _HIGH_RUN as _HIGH_RUN,
    _STRAY_HANDLER as _STRAY_HANDLER,
    MAX_ZIP_EXPANSION as MAX_ZIP_EXPANSION,
    Decoded as Decoded,
    StrayBytes as StrayBytes,
    _bomless_utf16 as _bomless_utf16,
    _legacy_character as _legacy_character,
    _looks_like_gbk as _looks_like_gbk,
    _read_stray_bytes as _read_stray_bytes,
    _record_label as _record_label,
    _size as _size,
    _stray_record as _stray_record,
    _unicode_encoding as _unicode_encoding,
    _utf8_with_stray_bytes as _utf8_with_stray_bytes,
    check_not_empty_or_binary as check_not_empty_or_binary,
    check_zip_expansion as check_zip_expansion,
    decode as decode,
    is_xlsx as is_xlsx,
)
from reviewmgr.importers.results import (
    BINARY_FILE as BINARY_FILE,
    CONTENTLESS_WARNING as CONTENTLESS_WARNING,
    EMPTY_FILE as EMPTY_FILE,
    FORMAT_NAMES as FORMAT_NAMES,
    FORMATS as FORMATS,
    MAX_PROBLEMS as MAX_PROBLEMS,
    RECORD_TYPES as RECORD_TYPES,
    UNKNOWN_FORMAT as UNKNOWN_FORMAT,
    WARNINGS_PER_KIND as WARNINGS_PER_KIND,
    Collector as Collector,
    ImportFileError as ImportFileError,
    ParsedRecord as ParsedRecord,
    ParseProblem as ParseProblem,
    ParseResult as ParseResult,
    _location_order as _location_order,
    cyclic_gc_paused as cyclic_gc_paused,
    is_blank as is_blank,
)
from reviewmgr.importers.xml_reading import (
    _ROOT_ELEMENT as _ROOT_ELEMENT,
    _XML_DECLARATION as _XML_DECLARATION,
    _safe_iterparse as _safe_iterparse,
    xml_bytes as xml_bytes,
    xml_records as xml_records,
)
