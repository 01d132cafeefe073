"""BibTeX and BibLaTeX, read with bibtexparser 2 and its middlewares.

bibtexparser splits the file into blocks; blocks it could not read come back as failed
blocks with their line, which become located problems naming the entry. Two of its
"failures" are not a person's mistake in a reference manager: a citation key used twice and
a field given twice. Both records, and both values, are kept with a warning. String macros
are resolved, braces removed, co-authors separated and split into name parts, and LaTeX
decoded to Unicode ({\\"u} to ü) by the library's own middlewares.

Before splitting, entry headers that BibTeX accepts but the splitter does not are put in a
form it reads (see `_readable_headers`): a citation key with LaTeX in braces
(``M{\\"u}ller2019``, ``Smith\\_{2020}a``) and white space after the "@" or a line break
before the brace. A key is only a label, so it is kept as written. Any entry the splitter
still cannot read, or leaves in the text between entries, is reported by line: nothing is
dropped without a word.
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
# URLs and identifiers are not LaTeX, and cross-references are citation keys (labels).
_VERBATIM_FIELDS = frozenset(
    {"url", "doi", "eprint", "file", "pdf", "link", "biburl", "crossref", "xref"}
)
_CONTAINER_TYPES = frozenset({"proceedings", "book", "collection", "mvbook", "mvcollection"})


def parse(text: str, *, lenient: bool) -> ParseResult:
    collector = Collector("bibtex", lenient=lenient)
    text, keys = _readable_headers(text)
    try:
        split = bibtexparser.parse_string(text, parse_stack=[])
    except Exception as error:  # the splitter should not raise, but a person needs a message
        raise ImportFileError(f"The BibTeX file could not be read ({error}).") from error

    entries, strings = _entries_in_order(split.blocks, collector, keys)
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


# --- headers the splitter cannot read ------------------------------------------------------

# Both start with "@", which the regular expression engine finds fast (a pattern anchored at
# line starts was ten times slower on a 60 MB file); the line start is checked afterwards.
_HEADER = re.compile(r"@(?P<before>\s*)(?P<type>[A-Za-z][\w:-]*)(?P<after>\s*)(?P<open>[{(])")
_UNREADABLE_HEADER = re.compile(
    r"@(?:\s+[A-Za-z]|[A-Za-z][\w:-]*(?:[ \t]*[\r\n]\s*[{(]|[ \t]*[{(][^,{}\"=\n]*[{}\"]))"
)
_NOT_ENTRIES = frozenset({"comment", "string", "preamble"})


def _readable_headers(text: str) -> tuple[str, dict[str, str]]:
    """The text with every entry header in a form the splitter reads, and the citation keys
    that were replaced, by their stand-ins.

    bibtexparser takes a brace or a quote in a key for the start of a value and gives up on
    the entry ("Expected comma after entry key"); such a key is replaced by a stand-in of
    plain characters, the same for the same key so that a repeated key is still noticed.
    White space between "@" and the type, or a line break before the brace, made the entry
    plain text to the splitter; it is moved behind the brace, where it is harmless, if the
    header follows a blank line or the end of another entry (so that a line of an abstract
    starting "@ twitter (" is left alone). Only headers at the start of a line are touched,
    as reference managers write them, and no line changes its number. Files with nothing to
    repair are returned as they are after one search.
    """
    if not _UNREADABLE_HEADER.search(text):
        return text, {}
    stand_ins: dict[str, str] = {}
    pieces: list[str] = []
    done = 0
    for match in _HEADER.finditer(text):
        line_start = text.rfind("\n", 0, match.start()) + 1
        if text[line_start : match.start()].strip(" \t"):
            continue
        space = match["before"] + match["after"]
        key_start = match.end()
        while key_start < len(text) and text[key_start] in " \t\r\n":
            key_start += 1
        key_end = _key_end(text, key_start, ")" if match["open"] == "(" else "}")
        key = text[key_start:key_end] if key_end is not None else ""
        braced = match["type"].lower() not in _NOT_ENTRIES and _has_value_marks(key)
        spaced = bool(match["before"]) or "\n" in space or "\r" in space
        if not (braced or (spaced and _between_entries(text, line_start))):
            continue
        if braced:
            stand_in = stand_ins.setdefault(key, f"\x00key{len(stand_ins)}")
            rest = text[match.end() : key_start] + stand_in
            resume = key_end
        else:
            rest, resume = "", match.end()
        line_breaks = "".join(char for char in space if char in "\r\n")
        pieces += [text[done : match.start()], "@", match["type"], match["open"]]
        pieces += [line_breaks, rest]
        done = resume
    pieces.append(text[done:])
    return "".join(pieces), {stand_in: key for key, stand_in in stand_ins.items()}


def _between_entries(text: str, line_start: int) -> bool:
    """Whether the line starting at `line_start` follows the start of the file, a blank line
    or a line that closes an entry."""
    index = line_start - 1
    while index >= 0 and text[index] in " \t\r\n":
        index -= 1
    return index < 0 or text[index] in "})" or text.count("\n", index, line_start) > 1


def _key_end(text: str, start: int, closing: str) -> int | None:
    """Where the citation key starting at `start` ends (its comma), or None when no key and
    comma follow on the same line. Braces may nest; a backslash escapes the next character."""
    depth = 0
    index = start
    limit = min(len(text), start + 500)
    while index < limit:
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char in "\r\n":
            return None
        if char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                return None
            depth -= 1
        elif depth == 0 and char == ",":
            return index
        elif depth == 0 and (char in "=@" or char == closing):
            return None
        index += 1
    return None


def _has_value_marks(key: str) -> bool:
    """Whether the splitter would stop at a character of this key (an unescaped brace or
    double quote)."""
    return re.search(r'(?<!\\)[{}"]', key) is not None


# --- blocks -----------------------------------------------------------------------------


def _entries_in_order(
    blocks: list[model.Block], collector: Collector, keys: dict[str, str]
) -> tuple[list[tuple[int, model.Entry]], list[model.String]]:
    """The entries of the file in order, duplicates included, each with its 1-based line.

    Keys are made unique so the middlewares can run on one library; `_raw` restores them,
    the keys in `keys` (stand-ins for keys the splitter could not read) as written.
    """
    entries: list[tuple[int, model.Entry]] = []
    strings: list[model.String] = []
    for block in blocks:
        line = (block.start_line or 0) + 1
        entry: model.Block | None = block
        if isinstance(block, model.DuplicateBlockKeyBlock):
            entry = block.ignore_error_block
            if isinstance(entry, model.Entry):
                key = keys.get(block.key, block.key)
                collector.warn(
                    f"line {line}: citation key '{key}' is also used by an earlier entry; "
                    "both records kept",
                    kind="repeated citation key",
                )
        elif isinstance(block, model.DuplicateFieldKeyBlock):
            entry = block.ignore_error_block
            names = ", ".join(sorted(block.duplicate_keys))
            collector.warn(f"line {line}: field '{names}' is given twice; both values kept")
        elif isinstance(block, model.ParsingFailedBlock):
            collector.fail(
                f"line {line}",
                f"BibTeX entry {_entry_name(block.raw, keys)} could not be read: {_reason(block)}",
            )
            continue
        elif isinstance(block, model.ImplicitComment):
            _check_left_out(block, collector)
            continue
        if isinstance(entry, model.String):
            strings.append(entry)
        elif isinstance(entry, model.Entry):
            entry.set_parser_metadata("original_key", keys.get(entry.key, entry.key))
            entry.key = f"{entry.key}\x00{len(entries)}"
            for field in entry.fields:
                field.key = field.key.strip().lower()
            entries.append((line, entry))
    return entries, strings


def _reason(block: model.ParsingFailedBlock) -> str:
    reason = getattr(block.error, "abort_reason", "") or str(block.error)
    message = reason.strip().splitlines()
    return message[0] if message else "syntax error (unbalanced braces or quotes?)"


_NAME = re.compile(r"@\s*([A-Za-z][\w:-]*)\s*[{(]\s*([^,\r\n]{0,80})")


def _entry_name(raw: str, keys: dict[str, str]) -> str:
    """The entry as a person finds it in the file: "'Smith2020' (@article)"."""
    match = _NAME.match(raw)
    if match is None:
        return "at this line"
    key = match[2].strip()
    key = keys.get(key, key)
    if not key or "=" in key:  # an entry without a key: its first field came next
        return f"@{match[1]}"
    return f"'{key}' (@{match[1]})"


_ENTRY_LIKE = re.compile(r"^[ \t]*@[ \t]*[A-Za-z][^\r\n]*", re.MULTILINE)


def _check_left_out(block: model.ImplicitComment, collector: Collector) -> None:
    """Text between entries is a comment to BibTeX, but a line there that starts like an
    entry is one the splitter could not see as such: say where, rather than lose it."""
    for match in _ENTRY_LIKE.finditer(block.raw):
        line = (block.start_line or 0) + 1 + block.raw.count("\n", 0, match.start())
        start = match[0].strip()
        shown = start if len(start) <= 60 else start[:57] + "..."
        collector.fail(
            f"line {line}",
            f"this looks like a BibTeX entry ({shown}) but could not be read as one",
        )


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
