"""RIS files (.ris, and the .txt that EndNote, Ovid and others write), read with rispy.

rispy knows the tags: its mapping, list tags and `_add_tag` build each record. This module
walks the lines itself, once, because it must also know what rispy's own loop does not
report: the line where each record starts, records that lack their 'ER' line, tag lines
written with odd spacing, text outside any record. Then every field is normalised.
"""

from __future__ import annotations

import re
from typing import Any

import rispy
from rispy.config import LIST_TYPE_TAGS, TAG_KEY_MAPPING

from reviewmgr.importers import normalise as norm
from reviewmgr.importers.base import Collector, ParsedRecord, ParseResult

_UNKNOWN = "??"
_KNOWN_TAGS = frozenset(TAG_KEY_MAPPING) | {
    "A5", "A6", "BT", "CT", "DI", "ED", "H1", "H2", "L3", "LK", "M2", "PP", "RI", "U1", "U2",
    "U3", "U4", "U5", "Y3", "PMID",
}  # fmt: skip
_TAG_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_LOOSE_TAG = re.compile(r"([A-Z][A-Z0-9]{1,3})[ \t]*-(?:[ \t]+(.*))?$")
_CONTENT_TAGS = frozenset({"TI", "T1", "AU", "A1", "AB", "N2", "DO", "PY", "Y1", "T2", "JO"})
_OVID_ACCESSION = re.compile(r"[?&]AN=(\d{1,9})(?:&|$)")
_ID_FIELDS = ("custom1", "custom2", "custom3", "custom4", "custom5", "custom6", "custom7",
              "custom8", "notes", "note", "accession_number", "call_number")  # fmt: skip
_URL_FIELDS = ("urls", "file_attachments1", "file_attachments2", "figure")
_ID_AND_URL_FIELDS = _ID_FIELDS + _URL_FIELDS


class _RisReader(rispy.RisParser):
    """rispy's tag handling, with our own walk over the lines.

    `enforce_list_tags=False` turns a second DO or SN into a list instead of dropping it.
    Unknown tags (including a literal "UK") are kept under "unknown_tag", keyed by tag.
    """

    UNKNOWN_TAG = _UNKNOWN

    def __init__(self, collector: Collector) -> None:
        mapping = {tag: name for tag, name in TAG_KEY_MAPPING.items() if tag != "UK"}
        mapping[_UNKNOWN] = "unknown_tag"
        super().__init__(mapping=mapping, enforce_list_tags=False)
        self.collector = collector
        self.starts: list[int] = []

    def read(self, text: str) -> list[dict[str, Any]]:
        """Every record of the file, in order; `starts` gets the line of each."""
        add = self._add_tag
        warn = self.collector.warn
        start_name = self.mapping["TY"]
        records: list[dict[str, Any]] = []
        record: dict[str, Any] | None = None
        last_tag = ""
        stray_start = 0
        stray_content = False
        for number, line in enumerate(text.split("\n"), 1):
            if line[2:5] == "  -" and line[:1] in _TAG_START:
                tag = line[:2]
                content = line[6:].strip()
            else:
                stripped = line.strip(" \t\r\ufeff")
                if not stripped:
                    continue
                loose = _LOOSE_TAG.match(stripped)
                if loose and loose.group(1) in _KNOWN_TAGS:
                    tag = loose.group(1)
                    content = (loose.group(2) or "").strip()
                    if stripped[2:5] != "  -":  # a stray CR or space before it is harmless
                        warn(
                            f"line {number}: tag '{tag}' is not written as '{tag}  - '; "
                            "read anyway",
                            kind="odd tag spacing",
                        )
                elif record is not None:
                    if last_tag:
                        self._continue(record, last_tag, stripped)
                    else:
                        warn(f"line {number}: text before the record's first tag was ignored")
                    continue
                else:
                    stray_start = stray_start or number
                    continue
            if tag == "TY":
                if stray_start:
                    self._report_stray(stray_start, stray_content)
                    stray_start, stray_content = 0, False
                if record is not None:
                    warn(
                        f"line {number}: a new record starts before the previous one ended "
                        "(no 'ER' line); read as two records",
                        kind="missing ER",
                    )
                    records.append(record)
                record = {start_name: content}
                self.starts.append(number)
                last_tag = ""
            elif tag == "ER":
                if record is not None:
                    records.append(record)
                    record = None
                elif stray_start:
                    self._report_stray(stray_start, stray_content)
                    stray_start, stray_content = 0, False
                else:
                    warn(
                        f"line {number}: 'ER' end-of-record tag without a record; ignored",
                        kind="stray ER",
                    )
            elif record is not None:
                add(record, tag, content)
                last_tag = tag
            else:
                stray_start = stray_start or number
                stray_content = stray_content or tag in _CONTENT_TAGS
        if stray_start:
            self._report_stray(stray_start, stray_content)
        if record is not None:
            warn(
                f"line {self.starts[-1]}: the last record has no 'ER' end tag; "
                "the file may have been cut short"
            )
            records.append(record)
        return records

    def _continue(self, record: dict[str, Any], tag: str, text: str) -> None:
        """A line without a tag continues the field above: a new item of a list tag (KW,
        AU ...), more text for any other."""
        if tag in LIST_TYPE_TAGS:
            self._add_tag(record, tag, text)
            return
        name = self.mapping.get(tag)
        if name is None:
            values = record["unknown_tag"][tag]
            values[-1] = f"{values[-1]} {text}".strip()
            return
        current = record.get(name)
        if isinstance(current, list) and current and isinstance(current[-1], str):
            current[-1] = f"{current[-1]} {text}".strip()
        elif isinstance(current, str):
            record[name] = f"{current} {text}".strip()
        else:
            self._add_tag(record, tag, text)

    def _report_stray(self, line: int, has_content: bool) -> None:
        if has_content:
            self.collector.fail(
                f"line {line}",
                "record data without a 'TY' start tag (its first line may be missing)",
            )
        else:
            self.collector.warn(
                f"line {line}: text outside any record was ignored", kind="text outside records"
            )


def parse(text: str, *, lenient: bool) -> ParseResult:
    collector = Collector("ris", lenient=lenient)
    reader = _RisReader(collector)
    entries = reader.read(text)
    for position, (entry, line) in enumerate(zip(entries, reader.starts, strict=True)):
        collector.keep(to_record(entry, position, line, collector))
    return collector.result(empty_message="No RIS records (from 'TY  - ' to 'ER  - ') were found.")


def to_record(
    entry: dict[str, Any], position: int, line: int | None, collector: Collector
) -> ParsedRecord:
    """A rispy record as a ParsedRecord; `raw` is the rispy dict itself."""
    unknown = entry.get("unknown_tag")
    if unknown is not None:
        entry["unknown_tag"] = dict(unknown)
    get = entry.get
    journal = (
        get("secondary_title") or get("alternate_title3") or get("journal_name")
        or get("alternate_title2") or get("alternate_title1")
    )  # fmt: skip
    year_value = get("year") or get("publication_year") or get("date")
    year, why = norm.year(year_value)
    if why:
        collector.warn(f"line {line}: {why}", kind="unreadable year")
    pmid, pmcid = _identifiers(entry)
    return ParsedRecord(
        title=norm.plain(get("title") or get("primary_title") or get("short_title")),
        abstract=norm.plain(get("abstract") or get("notes_abstract")),
        authors=norm.people(get("authors") or get("first_authors")),
        year=year,
        journal=norm.first(journal),
        volume=norm.first(get("volume")),
        issue=norm.first(get("number")),
        pages=norm.pages(get("start_page"), get("end_page")),
        doi=norm.doi(get("doi")) or _doi_from_links(entry),
        pmid=pmid,
        pmcid=pmcid,
        url=norm.url(get("urls")),
        keywords=norm.keywords(get("keywords")),
        type=norm.record_type(get("type_of_reference"), has_journal=bool(journal)),
        language=norm.first(get("language")),
        label=_asreview_label(get("notes")),
        raw=entry,
        position=position,
        line=line,
    )


def _doi_from_links(entry: dict[str, Any]) -> str:
    """A DOI from a doi.org link; other links with a DOI inside their path are not trusted."""
    for name in _URL_FIELDS:
        for link in norm.items(entry.get(name)):
            if "doi.org/10." in link:
                return norm.doi(link)
    type_of_work = norm.first(entry.get("type_of_work"))
    return norm.doi(type_of_work) if type_of_work.startswith("10.") else ""


def _is_pubmed(database: str) -> bool:
    return "medline" in database or "pubmed" in database or database.split()[:1] == ["nlm"]


def _identifiers(entry: dict[str, Any]) -> tuple[str, str]:
    """PMID and PMCID from the fields that carry them in RIS: the accession number when the
    database is PubMed/MEDLINE, labelled ids in custom fields and notes, PubMed links."""
    pmid = pmcid = ""
    database = entry.get("name_of_database") or entry.get("database_provider")
    if database and _is_pubmed(norm.text(database).lower()):
        accession = norm.first(entry.get("accession_number"))
        if norm.is_digits(accession):
            pmid = norm.pmid(accession)
        else:
            for name in _URL_FIELDS:
                for link in norm.items(entry.get(name)):
                    match = _OVID_ACCESSION.search(link)
                    if match:
                        pmid = match.group(1)
                        break
    unknown = entry.get("unknown_tag")
    if unknown and "PMID" in unknown:  # a MEDLINE-style "PMID- 123" line some tools add
        pmid = pmid or norm.pmid(unknown["PMID"])
    for name in _ID_AND_URL_FIELDS:
        value = entry.get(name)
        if value:
            if isinstance(value, list):
                value = " ".join(item for item in value if isinstance(item, str))
            pmid = pmid or norm.pmid_in_text(value)
            pmcid = pmcid or norm.pmcid(value)
            if pmid and pmcid:
                break
    return pmid, pmcid


def _asreview_label(notes: Any) -> bool | None:
    """ASReview writes its screening decisions into N1 notes."""
    if not notes:
        return None
    for note in norm.items(notes):
        if note.startswith("ASReview_relevant"):
            return True
        if note.startswith("ASReview_irrelevant"):
            return False
    return None
