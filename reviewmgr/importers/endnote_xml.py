"""EndNote XML (/xml/records/record), as written by EndNote desktop and by Zotero, with lxml.

EndNote wraps text in <style> elements and often writes UTF-16; both are handled before the
fields are read. `raw` holds every field of the record by its path ("titles/title") so that
nothing, custom fields included, is lost.
"""

from __future__ import annotations

from typing import Any

from reviewmgr.importers import normalise as norm
from reviewmgr.importers.base import Collector, ParsedRecord, ParseResult, xml_records

ENDNOTE_TYPE_NUMBERS = {
    "17": "journal-article",
    "6": "book",
    "28": "book",
    "5": "book-chapter",
    "10": "conference-paper",
    "47": "conference-paper",
    "32": "thesis",
    "27": "report",
    "46": "report",
    "12": "webpage",
    "59": "dataset",
    "34": "preprint",
}
_PUBMED = ("pubmed", "medline", "nlm")


def parse(text: str, *, lenient: bool) -> ParseResult:
    collector = Collector("endnote-xml", lenient=lenient)
    for position, (element, line) in enumerate(xml_records(text, ("record",), collector)):
        collector.keep(_to_record(element, position, line, collector))
    return collector.result(empty_message="No EndNote XML records (<record>) were found.")


def _fields(record: Any) -> dict[str, Any]:
    """Every leaf of the record by path; text inside <style> is part of its field."""
    fields: dict[str, Any] = {}

    def add(key: str, value: str) -> None:
        if key not in fields:
            fields[key] = value
        elif isinstance(fields[key], list):
            fields[key].append(value)
        else:
            fields[key] = [fields[key], value]

    def walk(element: Any, path: str) -> None:
        for name, value in element.attrib.items():
            add(f"{path}@{name}", value)
        children = [
            child for child in element if isinstance(child.tag, str) and child.tag != "style"
        ]
        if not children:
            value = "".join(element.itertext()).strip()
            if value:
                add(path, value)
            return
        for child in children:
            walk(child, f"{path}/{child.tag}" if path else child.tag)

    for child in record:
        if isinstance(child.tag, str):
            walk(child, child.tag)
    return fields


def _to_record(element: Any, position: int, line: int | None, collector: Collector) -> ParsedRecord:
    fields = _fields(element)
    get = fields.get
    year, why = norm.year(get("dates/year") or get("dates/pub-dates/date"))
    if why:
        collector.warn(f"{collector.where(line, position)}: {why}", kind="unreadable year")
    journal = norm.first(
        get("periodical/full-title") or get("titles/secondary-title")
        or get("alt-periodical/full-title") or get("periodical/abbr-1")
    )  # fmt: skip
    database = f"{get('remote-database-name', '')} {get('remote-database-provider', '')}".lower()
    accession = norm.first(get("accession-num"))
    if any(name in database for name in _PUBMED) and norm.is_digits(accession):
        pmid = norm.pmid(accession)
    else:
        pmid = norm.pmid_in_text(accession) or norm.pmid_in_text(get("urls/related-urls/url"))
    type_number = norm.first(get("ref-type"))
    record_type = ENDNOTE_TYPE_NUMBERS.get(type_number) or norm.record_type(
        get("ref-type@name"), has_journal=bool(journal)
    )
    links = norm.items(get("urls/related-urls/url")) + norm.items(get("urls/web-urls/url"))
    doi = norm.doi(get("electronic-resource-num")) or norm.doi(
        [link for link in links if "doi.org/" in link]
    )
    return ParsedRecord(
        title=norm.plain(get("titles/title")),
        abstract=norm.plain(get("abstract")),
        authors=norm.people(norm.items(get("contributors/authors/author"))),
        year=year,
        journal=journal,
        volume=norm.first(get("volume")),
        issue=norm.first(get("number") or get("issue")),
        pages=norm.pages(get("pages")),
        doi=doi,
        pmid=pmid,
        pmcid=norm.pmcid(get("custom2")) or norm.pmcid(links),
        url=norm.url(links),
        keywords=norm.keywords(get("keywords/keyword")),
        type=record_type,
        language=norm.first(get("language")),
        raw=fields,
        position=position,
        line=line,
    )
