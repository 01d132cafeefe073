"""RIS files written for reference managers and for our own importer to read back.

Every field the importer normalises comes back unchanged when an export is imported again
(`reviewmgr.importers.parse`), which makes RIS the format for moving records between
reviews and for handing a review's records to EndNote, Zotero or another screening tool.
The tags are the ones those programs read: the PMID goes in AN with "DP  - NLM" and the
PMCID in C2, as EndNote writes PubMed records; one AU/KW/N1 line per item. Pure Python, no
Django; the caller fills `RisRecord`s from its records.

What cannot come back exactly: line breaks (an abstract's paragraphs are joined with spaces,
as RIS has one line per tag), an author or keyword holding ";" (the importer splits it into
two), and text that itself looks like HTML markup or entities ("&amp;"), which the importer
decodes. A PMID is expected as digits, as the importer stores it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TextIO

from reviewmgr.importers.normalise import RIS_TYPES as _RIS_READ

RIS_TYPES = {
    "journal-article": "JOUR",
    "conference-paper": "CONF",
    "book": "BOOK",
    "book-chapter": "CHAP",
    "thesis": "THES",
    "report": "RPRT",
    "preprint": "UNPB",
    "webpage": "ELEC",
    "dataset": "DATA",
    "other": "GEN",
}
"""The product's record type -> RIS TY. The importer maps each code back to the same type.
A blank type is written JOUR when the record has a journal and GEN otherwise, which is how
the importer types a record without TY; an unknown type is written GEN.

The type a source gave is kept when the product's type is the same kind of work
(`RisRecord.source_type`): a blog post imported as BLOG goes out as BLOG, a web page as
ELEC (the RIS specification's "Web Page"), an internet communication as ICOMM. "WEB",
which some programs write but the specification lacks, goes out as ELEC."""

_SPECIFIED = """ABST ADVS AGGR ANCIENT ART BILL BLOG BOOK CASE CHAP CHART CLSWK COMP CONF CPAPER
CTLG DATA DBASE DICT EBOOK ECHAP EDBOOK EJOUR ELEC ENCYC EQUA FIGURE GEN GOVDOC GRANT HEAR
ICOMM INPR JFULL JOUR LEGAL MANSCPT MAP MGZN MPCT MULTI MUSIC NEWS PAMP PAT PCOMM RPRT SER
SLIDE SOUND STAND STAT THES UNBILL UNPB VIDEO"""
SPECIFIED_TYPES = frozenset(_SPECIFIED.split())
"""The reference types of the RIS specification (Research Information Systems, RefMan)."""

PUBMED_PROVIDER = "NLM"

_LINE_BREAKING = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SPACES = re.compile(r" {2,}")


@dataclass(frozen=True, slots=True)
class RisRecord:
    """The fields of one record that an RIS export carries.

    `type` is one of the product's record types (Record.Type values); `pages` is "12-19"
    or a single page/article number; `notes` become N1 lines (e.g. "reviewmgr decision:
    included at full text"), `label` the LB tag, `record_id` the ID tag and `study_id` the
    U1 tag ("Study S12"). `source_type` is the TY the record came with, kept if it names
    the same kind of work as `type`.
    """

    type: str
    title: str
    abstract: str
    authors: Sequence[str]
    year: int | None
    journal: str
    volume: str
    issue: str
    pages: str
    doi: str
    pmid: str
    pmcid: str
    url: str
    keywords: Sequence[str]
    language: str
    notes: Sequence[str] = ()
    label: str = ""
    record_id: str = ""
    study_id: str = ""  # written as U1, e.g. "Study S12": the reports of one study share it
    source_type: str = ""  # the RIS TY the record was imported with, e.g. "BLOG"


def write_ris(records: Iterable[RisRecord], target: TextIO) -> int:
    """Write the records as RIS, one at a time, and return how many were written.

    Streams: each record is written as soon as it is built, so a generator over 100,000
    records never sits in memory (the caller's queryset should be iterated with
    `.iterator()` for the same reason). `target` should encode as UTF-8.
    """
    count = 0
    for record in records:
        if count:
            target.write("\n")
        target.write(_record_text(record))
        count += 1
    return count


def ris_text(records: Iterable[RisRecord]) -> str:
    """The RIS of the records as one string: for tests and small exports only, since the
    whole file is held in memory."""
    buffer = io.StringIO()
    write_ris(records, buffer)
    return buffer.getvalue()


def _record_text(record: RisRecord) -> str:
    lines: list[str] = []

    def add(tag: str, value: str) -> None:
        value = _one_line(value)
        if value:
            lines.append(f"{tag}  - {value}")

    journal = _one_line(record.journal)
    kind = _ris_type(record.type, has_journal=bool(journal), source=record.source_type)
    lines.append(f"TY  - {kind}")
    add("ID", record.record_id)
    add("TI", record.title)
    for author in record.authors:
        add("AU", author)
    if record.year is not None:
        add("PY", str(record.year))
    add("T2", journal)
    add("VL", record.volume)
    add("IS", record.issue)
    start_page, end_page = _page_range(_one_line(record.pages))
    add("SP", start_page)
    add("EP", end_page)
    add("AB", record.abstract)
    for keyword in record.keywords:
        add("KW", keyword)
    add("DO", record.doi)
    add("UR", record.url)
    pmid = _one_line(record.pmid)
    if pmid:
        add("AN", pmid)
        add("DP", PUBMED_PROVIDER)  # the importer reads AN as a PMID only for PubMed records
    add("C2", record.pmcid)
    add("LA", record.language)
    add("LB", record.label)
    if record.study_id:
        add("U1", f"Study {record.study_id}")
    for note in record.notes:
        add("N1", note)
    lines.append("ER  - \n")
    return "\n".join(lines)


def _ris_type(record_type: str, *, has_journal: bool, source: str = "") -> str:
    source = source.strip().upper()
    if source == "WEB":
        source = "ELEC"
    if source in SPECIFIED_TYPES and _RIS_READ.get(source) == (record_type or None):
        return source
    if not record_type:
        return "JOUR" if has_journal else "GEN"
    return RIS_TYPES.get(record_type, "GEN")


def _one_line(value: str) -> str:
    """A tag value on one line: control characters and line breaks become spaces.

    Runs of spaces are collapsed, which the importer does anyway; other whitespace (a thin
    space in "10 mg") is left alone, so that normalised text comes back identical.
    """
    if not value:
        return ""
    if _LINE_BREAKING.search(value):
        value = _LINE_BREAKING.sub(" ", value)
    if "  " in value:
        value = _SPACES.sub(" ", value)
    return value.strip()


def _page_range(pages: str) -> tuple[str, str]:
    """Start and end page: "12-19" as SP 12 and EP 19, as reference managers expect.
    Anything the importer would not join back exactly ("12-12", "-5", "e123") stays whole
    in SP."""
    start, dash, end = pages.partition("-")
    start, end = start.strip(), end.strip()
    if dash and start and end and start != end:
        return start, end
    return pages, ""
