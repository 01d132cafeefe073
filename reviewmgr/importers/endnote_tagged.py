"""EndNote / refer tagged text (.enw, .enl exports, "%0 Journal Article" ...), read line by line.

Each line is '%' plus a one-character tag, a space and the value; a blank line ends a record.
Real exports do not always begin a record with %0 (its type), so records are split on blank
lines, not on %0.
"""

from __future__ import annotations

import re
from typing import Any

from reviewmgr.importers import normalise as norm
from reviewmgr.importers.base import Collector, ParsedRecord, ParseResult

_TAG_LINE = re.compile(r"%(\S)(?: (.*))?$")
_MULTI_TAGS = frozenset({"A", "E", "K", "U", "Y", "?", "I"})


def parse(text: str, *, lenient: bool) -> ParseResult:
    collector = Collector("endnote-tagged", lenient=lenient)
    blocks: list[tuple[int, list[tuple[int, str]]]] = []
    current: list[tuple[int, str]] | None = None
    for number, line in enumerate(text.split("\n"), 1):
        line = line.rstrip("\r")
        if not line.strip():
            current = None
            continue
        if current is None:
            current = []
            blocks.append((number, current))
        current.append((number, line))
    for position, (start, lines) in enumerate(blocks):
        fields, bad = _read_block(lines)
        if bad:
            collector.fail(f"line {bad[0]}", f"not an EndNote tag line: '{bad[1][:60]}'")
            continue
        collector.keep(_to_record(fields, position, start, collector))
    return collector.result(empty_message="No EndNote tagged records (%0, %T, ...) were found.")


def _read_block(
    lines: list[tuple[int, str]],
) -> tuple[dict[str, list[str]], tuple[int, str] | None]:
    fields: dict[str, list[str]] = {}
    last = ""
    for number, line in lines:
        match = _TAG_LINE.match(line)
        if match is None:
            if not last:
                return fields, (number, line)
            # An untagged line continues the field above (EndNote wraps long notes so).
            fields[last][-1] = f"{fields[last][-1]}\n{line.strip()}"
            continue
        last = match.group(1)
        fields.setdefault(last, []).append((match.group(2) or "").strip())
    return fields, None


def _to_record(
    fields: dict[str, list[str]], position: int, line: int, collector: Collector
) -> ParsedRecord:
    raw: dict[str, Any] = {
        f"%{tag}": values if tag in _MULTI_TAGS or len(values) > 1 else values[0]
        for tag, values in fields.items()
    }
    get = fields.get
    year, why = norm.year(get("D") or get("8"))
    if why:
        collector.warn(f"line {line}: {why}", kind="unreadable year")
    journal = norm.first(get("J") or get("B"))
    keywords: list[str] = []
    for value in get("K") or []:
        keywords.extend(value.split("\n"))
    return ParsedRecord(
        title=norm.plain(get("T")),
        abstract=norm.plain(get("X")),
        authors=norm.people(get("A")),
        year=year,
        journal=journal,
        volume=norm.first(get("V")),
        issue=norm.first(get("N")),
        pages=norm.pages(get("P")),
        doi=norm.doi(get("R")) or norm.doi([u for u in get("U") or [] if "doi.org/" in u]),
        pmid=norm.pmid_in_text(get("M")) or norm.pmid_in_text(get("U")),
        pmcid=norm.pmcid(get("U")),
        url=norm.url(get("U")),
        keywords=norm.keywords(keywords),
        type=norm.record_type(get("0"), has_journal=bool(journal)),
        language=norm.first(get("G")),
        raw=raw,
        position=position,
        line=line,
    )
