"""BibTeX and BibLaTeX, read with bibtexparser 2 and its middlewares.

bibtexparser splits the file into blocks; blocks it could not read come back as failed
blocks with their line, which become located problems. Two of its "failures" are not a
person's mistake in a reference manager: a citation key used twice and a field given twice.
Both records, and both values, are kept with a warning. String macros are resolved,
braces removed, co-authors separated and split into name parts, and LaTeX decoded to
Unicode ({\\"u} to ü) by the library's own middlewares.
"""

from __future__ import annotations

import re
from typing import Any

import bibtexparser
from bibtexparser import model
from bibtexparser.library import Library
from bibtexparser.middlewares import (
    LatexDecodingMiddleware,
    RemoveEnclosingMiddleware,
    ResolveStringReferencesMiddleware,
    SeparateCoAuthors,
)
from bibtexparser.middlewares.middleware import Middleware
from bibtexparser.middlewares.names import NameParts, parse_single_name_into_parts

from reviewmgr.importers import normalise as norm
from reviewmgr.importers.base import Collector, ImportFileError, ParsedRecord, ParseResult

_NAME_FIELDS = ("author", "editor")
_CROSSREF_FIELDS = ("year", "date", "booktitle", "journal", "journaltitle", "publisher",
                    "volume", "editor", "series")  # fmt: skip
_LATEX = re.compile(r"[\\{}$~%&]|--|``|''")
_VERBATIM_FIELDS = frozenset({"url", "doi", "eprint", "file", "pdf", "link", "biburl"})
_CONTAINER_TYPES = frozenset({"proceedings", "book", "collection", "mvbook", "mvcollection"})


def parse(text: str, *, lenient: bool) -> ParseResult:
    collector = Collector("bibtex", lenient=lenient)
    try:
        split = bibtexparser.parse_string(text, parse_stack=[])
    except Exception as error:  # the splitter should not raise, but a person needs a message
        raise ImportFileError(f"The BibTeX file could not be read ({error}).") from error

    entries, strings = _entries_in_order(split.blocks, collector)
    library = _decode(entries, strings, collector)
    by_key: dict[str, dict[str, Any]] = {}
    raws: list[dict[str, Any]] = []
    for _, entry in entries:
        raw = _raw(library.entries_dict[entry.key])
        raws.append(raw)
        by_key.setdefault(raw["ID"].lower(), raw)
    for position, ((line, _), raw) in enumerate(zip(entries, raws, strict=True)):
        fields = _with_crossref(raw, by_key)
        collector.keep(_to_record(raw, fields, position, line, collector))
    return collector.result(
        empty_message="No BibTeX entries were found (the file holds only comments or @string "
        "definitions)."
    )


def _entries_in_order(
    blocks: list[model.Block], collector: Collector
) -> tuple[list[tuple[int, model.Entry]], list[model.String]]:
    """The entries of the file in order, duplicates included, each with its 1-based line.

    Keys are made unique so the middlewares can run on one library; `_raw` restores them.
    """
    entries: list[tuple[int, model.Entry]] = []
    strings: list[model.String] = []
    for block in blocks:
        line = (block.start_line or 0) + 1
        entry: model.Block | None = block
        if isinstance(block, model.DuplicateBlockKeyBlock):
            entry = block.ignore_error_block
            if isinstance(entry, model.Entry):
                collector.warn(
                    f"line {line}: citation key '{block.key}' is also used by an earlier entry; "
                    "both records kept",
                    kind="repeated citation key",
                )
        elif isinstance(block, model.DuplicateFieldKeyBlock):
            entry = block.ignore_error_block
            names = ", ".join(sorted(block.duplicate_keys))
            collector.warn(f"line {line}: field '{names}' is given twice; both values kept")
        elif isinstance(block, model.ParsingFailedBlock):
            collector.fail(f"line {line}", f"BibTeX entry could not be read: {_reason(block)}")
            continue
        if isinstance(entry, model.String):
            strings.append(entry)
        elif isinstance(entry, model.Entry):
            entry.set_parser_metadata("original_key", entry.key)
            entry.key = f"{entry.key}\x00{len(entries)}"
            for field in entry.fields:
                field.key = field.key.strip().lower()
            entries.append((line, entry))
    return entries, strings


def _reason(block: model.ParsingFailedBlock) -> str:
    message = str(block.error).strip().splitlines()
    return message[0] if message else "syntax error (unbalanced braces or quotes?)"


def _decode(
    entries: list[tuple[int, model.Entry]], strings: list[model.String], collector: Collector
) -> Library:
    library = Library()
    library.add(list(strings), fail_on_duplicate_key=False)
    library.add([entry for _, entry in entries])
    lines = {entry.key: line for line, entry in entries}
    for middleware, failure in (
        (ResolveStringReferencesMiddleware(True), "its @string macros could not be resolved"),
        (RemoveEnclosingMiddleware(True), "its braces or quotes could not be removed"),
        (SeparateCoAuthors(True, _NAME_FIELDS), "its list of names could not be split"),
    ):
        library = _apply(middleware, library, lines, collector, failure)
    # The LaTeX middleware decodes name parts one field at a time, so each person gets a
    # field of their own until `_raw` gathers them again.
    for entry in library.entries:
        expanded: list[model.Field] = []
        for field in entry.fields:
            if field.key in _NAME_FIELDS and isinstance(field.value, list):
                expanded.extend(
                    model.Field(field.key, _name_parts(name), field.start_line)
                    for name in field.value
                )
            else:
                expanded.append(field)
        entry.fields = expanded
    _decode_latex(library, lines, collector)
    return library


def _decode_latex(library: Library, lines: dict[str, int], collector: Collector) -> None:
    """LaTeX to Unicode with the library's middleware, only for the fields that hold LaTeX.

    Decoding is by far the slowest step (a 1,000-entry file took seconds), and most values,
    long abstracts above all, contain none. URLs and DOIs are never decoded: their "%" and
    "&" are not LaTeX.
    """
    decoder = LatexDecodingMiddleware(allow_inplace_modification=True, keep_math_mode=False)
    for entry in library.entries:
        fields = [
            field
            for field in entry.fields
            if field.key not in _VERBATIM_FIELDS and _holds_latex(field.value)
        ]
        if not fields:
            continue
        # The middleware changes the Field objects in place, so a view of them is enough.
        view = model.Entry(entry.entry_type, entry.key, fields)
        if isinstance(decoder.transform_entry(view, library), model.MiddlewareErrorBlock):
            collector.warn(
                f"line {lines.get(entry.key, '?')}: part of it could not be decoded from "
                "LaTeX; the entry is kept as written",
                kind="BibTeX kept as written",
            )


def _holds_latex(value: Any) -> bool:
    if isinstance(value, NameParts):
        value = " ".join([*value.first, *value.von, *value.last, *value.jr])
    return isinstance(value, str) and _LATEX.search(value) is not None


def _apply(
    middleware: Middleware,
    library: Library,
    lines: dict[str, int],
    collector: Collector,
    failure: str,
) -> Library:
    """Run one middleware; an entry it fails on is kept as it was, with a warning."""
    library = middleware.transform(library)
    for block in library.failed_blocks:
        original = block.ignore_error_block
        if isinstance(block, model.MiddlewareErrorBlock) and original is not None:
            library.replace(block, original, fail_on_duplicate_key=False)
            if isinstance(original, model.Entry):
                collector.warn(
                    f"line {lines.get(original.key, '?')}: {failure}; the entry is kept as written",
                    kind="BibTeX kept as written",
                )
    return library


def _name_parts(name: str) -> NameParts | str:
    try:
        return parse_single_name_into_parts(name, strict=False)
    except Exception:  # a name the splitter cannot handle is kept whole
        return name


def _raw(entry: model.Entry) -> dict[str, Any]:
    """The entry as JSON: ENTRYTYPE, ID and every field (a field given twice becomes a list)."""
    raw: dict[str, Any] = {
        "ENTRYTYPE": entry.entry_type.lower(),
        "ID": entry.parser_metadata.get("original_key", entry.key),
    }
    repeated: set[str] = set()
    for field in entry.fields:
        value = _json_value(field.value)
        key = field.key
        if key in _NAME_FIELDS:
            raw.setdefault(key, []).append(value)
        elif key not in raw:
            raw[key] = value
        elif key in repeated:
            raw[key].append(value)
        else:
            raw[key] = [raw[key], value]
            repeated.add(key)
    return raw


def _json_value(value: Any) -> Any:
    if isinstance(value, NameParts):
        return value.merge_last_name_first
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    if isinstance(value, str | int | float) or value is None:
        return value
    return str(value)


def _with_crossref(raw: dict[str, Any], by_key: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Fields missing from an entry, taken from the entry its `crossref` points to (a
    proceedings' title becomes the paper's booktitle); cycles are cut after a few steps."""
    fields = dict(raw)
    parent_key = raw.get("crossref") or raw.get("xref")
    seen = {raw["ID"].lower()}
    while isinstance(parent_key, str) and parent_key.lower() not in seen and len(seen) < 5:
        parent = by_key.get(parent_key.lower())
        if parent is None:
            break
        seen.add(parent_key.lower())
        for name in _CROSSREF_FIELDS:
            if name not in fields and name in parent:
                fields[name] = parent[name]
        if "booktitle" not in fields and "title" in parent:
            fields["booktitle"] = parent["title"]
        parent_key = parent.get("crossref") or parent.get("xref")
    return fields


def _to_record(
    raw: dict[str, Any], fields: dict[str, Any], position: int, line: int, collector: Collector
) -> ParsedRecord:
    get = fields.get
    entry_type = raw["ENTRYTYPE"]
    title = get("title")
    if not title and entry_type in _CONTAINER_TYPES:
        title = get("booktitle")
    year, why = norm.year(get("year") or get("date"))
    if why:
        collector.warn(f"line {line}: {why}", kind="unreadable year")
    journal = norm.first(get("journal") or get("journaltitle") or get("booktitle"))
    links = norm.items(get("url"))
    return ParsedRecord(
        title=norm.plain(title),
        abstract=norm.plain(get("abstract")),
        authors=_authors(get("author") or get("editor")),
        year=year,
        journal=journal,
        volume=norm.first(get("volume")),
        issue=norm.first(get("number") or get("issue")),
        pages=norm.pages(get("pages")),
        doi=norm.doi(get("doi")) or norm.doi([link for link in links if "doi.org/" in link]),
        pmid=norm.pmid(get("pmid")) or norm.pmid_in_text(get("note")),
        pmcid=norm.pmcid(get("pmcid")),
        url=norm.url(links),
        keywords=norm.keywords(
            [get("keywords"), get("keyword"), get("author_keywords"), get("key words")],
            split_commas=True,
        ),
        type=norm.record_type(entry_type, table=norm.BIBTEX_TYPES, has_journal=bool(journal)),
        language=norm.first(get("language") or get("langid")),
        raw=raw,
        position=position,
        line=line,
    )


def _authors(value: Any) -> list[str]:
    return norm.people(norm.items(value))
