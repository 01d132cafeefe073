"""Web of Science (and Zoological Record) plain-text exports, read with rispy's WokParser.

As for RIS, rispy reads the tags; this module feeds it lines it can trust, notes where each
record starts, and reports the oddities of real exports: tag lines without their space
("AUGilles, H"), records without 'ER', files without the closing 'EF'.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import rispy
from rispy.config import WOK_TAG_KEY_MAPPING

from reviewmgr.importers import normalise as norm
from reviewmgr.importers.base import Collector, ParsedRecord, ParseResult

_UNKNOWN = "??"
_TAG = re.compile(r"[A-Z][A-Z0-9]")
_FILE_TAGS = frozenset({"FN", "VR", "EF"})
_CONTENT_TAGS = frozenset({"TI", "AU", "AF", "AB", "DI", "SO", "PY"})


class _WosReader(rispy.WokParser):
    """rispy's WoS parser, keeping repeated and unknown tags (see ris._RisReader)."""

    UNKNOWN_TAG = _UNKNOWN

    def __init__(self) -> None:
        mapping = dict(WOK_TAG_KEY_MAPPING)
        mapping[_UNKNOWN] = "unknown_tag"
        super().__init__(mapping=mapping, enforce_list_tags=False)

    def _add_single_value(
        self, record: dict, name: str, value: str | list[str], is_multi: bool = False
    ) -> None:
        current = record.get(name) if is_multi else None
        if isinstance(current, list) and current and isinstance(value, str):
            current[-1] = f"{current[-1]} {value}".strip()
            return
        super()._add_single_value(record, name, value, is_multi=is_multi)


class _Scanner:
    def __init__(self, collector: Collector) -> None:
        self.collector = collector
        self.starts: list[int] = []
        self.has_header = False
        self.has_end = False

    def lines(self, text: str) -> Iterator[str]:
        warn = self.collector.warn
        in_record = False
        tagged = False
        stray_start = 0
        stray_content = False
        for number, line in enumerate(text.split("\n"), 1):
            line = line.rstrip("\r")
            if not line.strip():
                continue
            if line.startswith("  "):
                if in_record and tagged:
                    yield line
                elif in_record:
                    warn(f"line {number}: text before the record's first tag was ignored")
                continue
            line = line.lstrip("\ufeff")
            tag = line[:2]
            if not _TAG.fullmatch(tag):
                if in_record and tagged:
                    warn(f"line {number}: line without a tag read as part of the field above")
                    yield "   " + line.strip()
                else:
                    stray_start = stray_start or number
                continue
            if len(line) > 2 and line[2] != " ":
                warn(f"line {number}: tag '{tag}' is not followed by a space; read anyway")
                line = f"{tag} {line[2:]}"
            if tag in _FILE_TAGS and not in_record:
                self.has_header = self.has_header or tag == "FN"
                self.has_end = self.has_end or tag == "EF"
                continue
            if tag == "PT":
                if stray_start:
                    self._report_stray(stray_start, stray_content)
                    stray_start, stray_content = 0, False
                if in_record:
                    warn(
                        f"line {number}: a new record starts before the previous one ended "
                        "(no 'ER' line); read as two records",
                        kind="missing ER",
                    )
                    yield "ER"
                self.starts.append(number)
                in_record, tagged = True, False
                yield line
            elif tag == "ER":
                if in_record:
                    in_record = False
                    yield "ER"
                elif stray_start:
                    self._report_stray(stray_start, stray_content)
                    stray_start, stray_content = 0, False
                else:
                    warn(f"line {number}: 'ER' end-of-record tag without a record; ignored")
            elif in_record:
                tagged = True
                yield line
            else:
                stray_start = stray_start or number
                stray_content = stray_content or tag in _CONTENT_TAGS
        if stray_start:
            self._report_stray(stray_start, stray_content)
        if in_record:
            warn(
                f"line {self.starts[-1]}: the last record has no 'ER' end tag; "
                "the file may have been cut short"
            )
            yield "ER"
        elif self.has_header and not self.has_end:
            warn("The file has no 'EF' end-of-file line; it may have been cut short.")

    def _report_stray(self, line: int, has_content: bool) -> None:
        if has_content:
            self.collector.fail(
                f"line {line}",
                "record data without a 'PT' start tag (its first line may be missing)",
            )
        else:
            self.collector.warn(
                f"line {line}: text outside any record was ignored", kind="text outside records"
            )


def parse(text: str, *, lenient: bool) -> ParseResult:
    collector = Collector("wos", lenient=lenient)
    scanner = _Scanner(collector)
    entries = _WosReader().parse_lines(scanner.lines(text))
    for position, (entry, line) in enumerate(zip(entries, scanner.starts, strict=True)):
        collector.keep(_to_record(entry, position, line, collector))
    return collector.result(
        empty_message="No Web of Science records (from 'PT' to 'ER') were found."
    )


def _to_record(
    entry: dict[str, Any], position: int, line: int, collector: Collector
) -> ParsedRecord:
    unknown = entry.get("unknown_tag")
    if unknown is not None:
        entry["unknown_tag"] = dict(unknown)
    get = entry.get
    year, why = norm.year(
        get("publication_year") or get("early_access_year") or get("publication_date")
    )
    if why:
        collector.warn(f"line {line}: {why}", kind="unreadable year")
    document_type = norm.first(get("document_type"))
    journal = norm.first(get("publication_name") or get("book_series_title"))
    if document_type:
        record_type = norm.record_type(document_type)
    else:
        record_type = norm.record_type(get("publication_type"), table=norm.WOS_TYPES)
    return ParsedRecord(
        title=norm.plain(get("document_title")),
        abstract=norm.plain(get("abstract")),
        authors=norm.people(get("author_full_name") or get("authors") or get("group_authors")),
        year=year,
        journal=journal,
        volume=norm.first(get("volume")),
        issue=norm.first(get("issue")),
        pages=norm.pages(get("beginning_page"), get("ending_page"))
        or norm.first(get("article_number")),
        doi=norm.doi(get("doi") or get("book_doi")),
        pmid=norm.pmid(get("pubmed_id")),
        keywords=norm.keywords([get("author_keywords"), get("keywords_plus")]),
        type=record_type,
        language=norm.first(get("language")),
        raw=entry,
        position=position,
        line=line,
    )
