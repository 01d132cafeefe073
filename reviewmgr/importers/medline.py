"""PubMed MEDLINE / .nbib text (also ERIC's nbib), read line by line.

No maintained MEDLINE reader is light enough to add (Biopython is large), and the format is
simple: a tag padded to four characters, "- ", the value; continuation lines start with
spaces; a blank line ends a record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from reviewmgr.importers import normalise as norm
from reviewmgr.importers.base import Collector, ParsedRecord, ParseResult

_TAG_LINE = re.compile(r"([A-Z][A-Z0-9]{0,3}) *-(?: (.*))?$")

PUBMED_TYPES = {
    "Preprint": "preprint",
    "Dataset": "dataset",
    "Congress": "conference-paper",
    "Technical Report": "report",
    "Book": "book",
    "Book Chapter": "book-chapter",
    "Webcast": "other",
}


@dataclass(slots=True)
class _Pending:
    line: int
    fields: dict[str, list[str]] = field(default_factory=dict)
    last: str = ""
    bad_line: int = 0
    bad_text: str = ""


def parse(text: str, *, lenient: bool) -> ParseResult:
    collector = Collector("medline", lenient=lenient)
    pending: list[_Pending] = []
    current: _Pending | None = None
    for number, line in enumerate(text.split("\n"), 1):
        line = line.rstrip("\r")
        if not line.strip():
            current = None
            continue
        if line[0] in " \t":
            if current is not None and current.last:
                values = current.fields[current.last]
                values[-1] = f"{values[-1]} {line.strip()}".strip()
            else:
                collector.fail(f"line {number}", "continuation line outside a record")
            continue
        match = _TAG_LINE.match(line)
        if match is None:
            if current is None:
                collector.fail(f"line {number}", f"not a MEDLINE tag line: '{line[:60]}'")
            elif not current.bad_line:
                current.bad_line, current.bad_text = number, line[:60]
            continue
        tag, value = match.group(1), (match.group(2) or "").strip()
        if current is None or (tag == "PMID" and "PMID" in current.fields):
            current = _Pending(line=number)
            pending.append(current)
        current.fields.setdefault(tag, []).append(value)
        current.last = tag
    for position, item in enumerate(pending):
        if item.bad_line:
            collector.fail(f"line {item.bad_line}", f"not a MEDLINE tag line: '{item.bad_text}'")
            continue
        collector.keep(_to_record(item, position, collector))
    return collector.result(empty_message="No MEDLINE records were found.")


def _to_record(item: _Pending, position: int, collector: Collector) -> ParsedRecord:
    fields = item.fields
    raw: dict[str, Any] = {
        tag: values[0] if len(values) == 1 else values for tag, values in fields.items()
    }
    get = fields.get
    year, why = norm.year(get("DP") or get("DEP") or get("EDAT"))
    if why:
        collector.warn(f"line {item.line}: {why}", kind="unreadable year")
    ids = (get("LID") or []) + (get("AID") or [])
    doi = next((norm.doi(value) for value in ids if value.endswith("[doi]")), "")
    doi = doi or norm.doi(ids)
    links = [value for value in ids if value.startswith("http") and "doi.org" not in value]
    journal = norm.first(get("JT") or get("TA") or get("BTI"))
    mesh = [term.lstrip("*").split("/")[0] for term in get("MH") or []]
    return ParsedRecord(
        title=norm.plain(get("TI") or get("BTI") or get("TT")),
        abstract=norm.plain(get("AB")),
        authors=norm.people(get("FAU") or get("AU") or get("CN")),
        year=year,
        journal=journal,
        volume=norm.first(get("VI")),
        issue=norm.first(get("IP")),
        pages=norm.pages(get("PG")),
        doi=doi,
        pmid=norm.pmid(get("PMID")),
        pmcid=norm.pmcid(get("PMC")),
        url=links[0] if links else "",
        keywords=norm.keywords([*(get("OT") or []), *mesh]),
        type=publication_type(get("PT"), has_journal=bool(journal)),
        language=norm.first(get("LA")),
        raw=raw,
        position=position,
        line=item.line,
    )


def publication_type(values: list[str] | None, *, has_journal: bool) -> str:
    """PubMed lists several publication types ("Comparative Study", "Journal Article"); an
    unusual one (preprint, dataset, book) decides, else the first that says anything, else
    a record in a journal is an article."""
    values = [value.strip() for value in values or [] if value and value.strip()]
    for value in values:
        mapped = PUBMED_TYPES.get(value)
        if mapped:
            return mapped
    for value in values:
        mapped = norm.record_type(value)
        if mapped != "other":
            return mapped
    return "journal-article" if has_journal else "other"
