"""Field normalisation shared by every import format.

Each function takes what a source gives (a string, a list of strings, sometimes a number)
and returns the plain value stored on a record. They are called once per field of every
record of files with 100,000 records, so each has a cheap path for values that are already
clean and compiles its patterns once, at import.
"""

from __future__ import annotations

import ast
import html
import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from reviewmgr.identifiers import doi  # noqa: F401 (importers call it normalise.doi)
from reviewmgr.importers.base import RECORD_TYPES

# --- text ---------------------------------------------------------------------------------

_HTML_TAG = re.compile(r"</?([A-Za-z][\w.-]*(?::[\w.-]+)?)(?:\s[^<>]*)?/?>")
_BLOCK_TAGS = frozenset(
    {"p", "br", "div", "li", "ul", "ol", "tr", "td", "th", "table", "section", "h1", "h2", "h3",
     "h4", "h5", "h6", "title", "abstract", "sec", "jats:p", "jats:sec", "jats:title"}
)  # fmt: skip


def _drop_tag(match: re.Match[str]) -> str:
    """Inline tags (<i>, <sub>) vanish so "CO<sub>2</sub>" stays one word; block tags
    (<p>, <br>) become a space so paragraphs do not run together."""
    return " " if match.group(1).lower() in _BLOCK_TAGS else ""


def text(value: Any) -> str:
    """One string from a source value: lists are joined, whitespace collapsed."""
    if value is None:
        return ""
    if isinstance(value, str):
        # Plain `in` tests are several times faster than a regex over a long abstract.
        if (
            "  " not in value
            and "\n" not in value
            and "\t" not in value
            and "\r" not in value
            and "\xa0" not in value
        ):
            return value.strip()
        return " ".join(value.split())
    if isinstance(value, list | tuple):
        return " ".join(part for part in (text(item) for item in value) if part)
    return " ".join(str(value).split())


def plain(value: Any) -> str:
    """Titles and abstracts as plain text: entities decoded, HTML tags dropped, whitespace
    collapsed. Stored plain; the web layer escapes on display."""
    if isinstance(value, str) and "<" not in value and "&" not in value:
        return text(value)
    value = text(value)
    if "&" in value:
        value = html.unescape(value)
    if "<" in value:
        value = " ".join(_HTML_TAG.sub(_drop_tag, value).split())
    return value.strip()


def first(value: Any) -> str:
    """The first non-empty item of a value that may be a list (repeated tags)."""
    if isinstance(value, list | tuple):
        for item in value:
            result = first(item)
            if result:
                return result
        return ""
    return text(value)


def items(value: Any) -> list[str]:
    """Every non-empty item of a value that may be a string or a list."""
    if value is None:
        return []
    if isinstance(value, str):
        cleaned = text(value)
        return [cleaned] if cleaned else []
    if isinstance(value, list | tuple):
        result: list[str] = []
        for item in value:
            result.extend(items(item))
        return result
    cleaned = text(value)
    return [cleaned] if cleaned else []


def is_digits(value: str) -> bool:
    """ASCII digits only: `str.isdigit` also accepts "²", which `int()` refuses."""
    return value.isascii() and value.isdigit()


# --- identifiers --------------------------------------------------------------------------

_PMID_LABELLED = re.compile(r"\bPMID\s*[:=]?\s*(\d{1,9})\b", re.IGNORECASE | re.ASCII)
_PMID_URL = re.compile(
    r"(?:pubmed\.ncbi\.nlm\.nih\.gov/|ncbi\.nlm\.nih\.gov/pubmed/|europepmc\.org/(?:abstract|article)/MED/)"
    r"(\d{1,9})\b",
    re.IGNORECASE | re.ASCII,
)
_LEADING_NUMBER = re.compile(r"(\d{1,9})(?![\d.,/-])", re.ASCII)
_PMCID = re.compile(r"\bPMC\s?(\d{1,9})\b", re.IGNORECASE | re.ASCII)


def pmid(value: Any) -> str:
    """Digits of a PMID from a field that is meant to hold one (MEDLINE PMID, a PMID column),
    also when written as "PMID: 123" or as a PubMed link."""
    if isinstance(value, list | tuple):
        for item in value:
            found = pmid(item)
            if found:
                return found
        return ""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    raw = str(value).strip()
    if is_digits(raw):
        return raw if 0 < len(raw) <= 9 and int(raw) > 0 else ""
    leading = _LEADING_NUMBER.match(raw)  # "12345678 [PubMed - indexed for MEDLINE]"
    if leading and int(leading.group(1)) > 0:
        return leading.group(1)
    return pmid_in_text(raw)


def pmid_in_text(value: Any) -> str:
    """A PMID from a general field (RIS AN, C1, notes, URLs) only when it is clearly one:
    labelled "PMID" or in a PubMed link. Bare numbers there are often other databases' ids."""
    if isinstance(value, list | tuple):
        for item in value:
            found = pmid_in_text(item)
            if found:
                return found
        return ""
    if not value:
        return ""
    raw = str(value)
    if "PMID" not in raw and "pmid" not in raw and "MED/" not in raw and "ubmed" not in raw:
        return ""
    match = _PMID_LABELLED.search(raw) or _PMID_URL.search(raw)
    if match is None or int(match.group(1)) == 0:
        return ""
    return match.group(1)


def pmcid(value: Any) -> str:
    """A PubMed Central id as "PMC123456"."""
    if isinstance(value, list | tuple):
        for item in value:
            found = pmcid(item)
            if found:
                return found
        return ""
    if not value:
        return ""
    raw = str(value).strip()
    if "PMC" not in raw and "pmc" not in raw:
        return ""
    match = _PMCID.search(raw)
    if match:
        return f"PMC{match.group(1)}"
    return ""


def url(value: Any) -> str:
    """The first web address of a field that may list several."""
    for item in items(value):
        for part in item.split():
            if part.startswith(("http://", "https://", "www.", "ftp://")):
                return part.rstrip(";,")
    return ""


# --- dates --------------------------------------------------------------------------------

_FOUR_DIGITS = re.compile(r"(?<![0-9])([0-9]{4})(?![0-9])")
YEAR_MIN, YEAR_MAX = 1000, 2100


def year(value: Any) -> tuple[int | None, str]:
    """The year of a messy date ("2019/03/01", "Mar 2019", "2019a", "20190301"), with a
    reason when a value was given but no sane year came out of it."""
    if value is None or value == "":
        return None, ""
    if isinstance(value, list | tuple):
        reason = ""
        for item in value:
            found, why = year(item)
            if found is not None:
                return found, ""
            reason = reason or why
        return None, reason
    if isinstance(value, datetime | date):
        candidate = value.year
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if not float(value).is_integer():
            return None, f"year '{value}' could not be read"
        candidate = int(value)
    else:
        raw = str(value).strip()
        if not raw:
            return None, ""
        if len(raw) >= 4 and is_digits(raw[:4]) and (len(raw) == 4 or not raw[4].isdecimal()):
            candidate = int(raw[:4])  # the usual "2019" or "2019/03/01"
            if YEAR_MIN <= candidate <= YEAR_MAX:
                return candidate, ""
        match = _FOUR_DIGITS.search(raw)
        if match:
            candidate = int(match.group(1))
        elif len(raw) >= 8 and is_digits(raw[:8]):
            candidate = int(raw[:4])
        else:
            return None, f"year '{raw}' could not be read"
    if YEAR_MIN <= candidate <= YEAR_MAX:
        return candidate, ""
    return None, f"year '{value}' is outside {YEAR_MIN}-{YEAR_MAX} and was left empty"


# --- people -------------------------------------------------------------------------------

_EMAIL = re.compile(r"\s*\(?[\w.+-]+@[\w-]+(?:\.[\w-]+)+\)?")
_INITIALS = re.compile(r"^(?:[A-Z][a-z]?\.?-?){1,4}$")
_UPPER_INITIALS = re.compile(r"^[A-Z]{1,3}\.?$|^(?:[A-Z]\.-?){1,4}$")


def person(name: str) -> str:
    """One name as "Surname, Given" when the source makes that unambiguous.

    "Griffin DK" and "Liu R." (surname then initials) and "P. Kogge" (initials then surname)
    are turned round; "Surname, Given" stays; full given-first names ("Joseph Rottman") stay
    as written because their surname cannot be told safely.
    """
    if (
        ", " in name
        and "  " not in name
        and "@" not in name
        and "\n" not in name
        and name[-1:] not in " ,;\t\r"
        and not name.endswith((", null", ", None", ", NA"))
    ):
        return name.strip()  # already "Surname, Given": the common case, kept cheap
    name = text(name).strip(" ;")
    if "@" in name:  # Zoological Record appends e-mail addresses: "Stillman, A. N. (a@b.edu)"
        name = _EMAIL.sub("", name).strip(" ;")
    if not name:
        return ""
    if "," in name:
        surname, _, given = name.partition(",")
        given = given.strip()
        if given.lower() in {"null", "none", "na", "nan"}:
            return surname.strip()
        return f"{surname.strip()}, {given}" if given else surname.strip()
    tokens = name.split()
    if len(tokens) < 2:
        return name
    if _UPPER_INITIALS.match(tokens[-1]) and not _UPPER_INITIALS.match(tokens[0]):
        return f"{' '.join(tokens[:-1])}, {tokens[-1]}"
    leading = 0
    while leading < len(tokens) - 1 and _INITIALS.match(tokens[leading]) and "." in tokens[leading]:
        leading += 1
    if leading:
        return f"{' '.join(tokens[leading:])}, {' '.join(tokens[:leading])}"
    return name


def people(value: Any) -> list[str]:
    """Authors from a list (one per tag line) or from one cell holding several names."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        names: list[str] = []
        for item in value:
            if not isinstance(item, str):
                item = str(item)
            if ";" in item:  # one tag line, several names; " and " may be in a body's name
                names.extend(people(item))
            else:
                cleaned = person(item)
                if cleaned:
                    names.append(cleaned)
        return names
    return [name for name in (person(part) for part in split_names(str(value))) if name]


_AND = re.compile(r"\s+and\s+", re.IGNORECASE)


def split_names(value: str) -> list[str]:
    """Split one cell of names: "A; B", "A and B", "['A', 'B']", "Smith, J, Doe, J" or
    "Griffin DK, Larkin DM"."""
    value = value.strip()
    if not value:
        return []
    if value.startswith("[") and value.endswith("]"):
        parsed = _python_list(value)
        if parsed is not None:
            return parsed
    for separator in (";", "|", "\n"):
        if separator in value:
            return [part.strip() for part in value.split(separator) if part.strip()]
    if _AND.search(value):
        return [part.strip() for part in _AND.split(value) if part.strip()]
    if "," not in value:
        return [value]
    parts = [part.strip() for part in value.split(",") if part.strip()]
    if len(parts) <= 1:
        return parts
    if all(" " in part or part.endswith(".") for part in parts):
        # PubMed ends its list with a full stop: "... O'Connor RE." is "O'Connor RE".
        last = parts[-1].rsplit(" ", 1)[-1]
        if last.endswith(".") and last[:-1].isalpha() and last[:-1].isupper():
            parts[-1] = parts[-1][:-1]
        return parts
    if len(parts) == 2:
        return [f"{parts[0]}, {parts[1]}"]
    return [", ".join(parts[i : i + 2]) for i in range(0, len(parts), 2)]


def _python_list(value: str) -> list[str] | None:
    """Some tools write lists as Python would print them: "['Marx, Karl', 'Lindgren, Astrid']"."""
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    if isinstance(parsed, list) and all(isinstance(item, str) for item in parsed):
        return [item.strip() for item in parsed if item.strip()]
    return None


# --- keywords -----------------------------------------------------------------------------


def keywords(value: Any, *, split_commas: bool = False) -> list[str]:
    """Keywords from tag lines or a cell, split on ";" (and on "," where a source writes them
    so), without repeats, in their order."""
    found: list[str] = []
    seen: set[str] = set()
    if isinstance(value, list):
        # The common case, one clean keyword per item, without the general machinery.
        for item in value:
            if (
                type(item) is not str
                or ";" in item
                or "<" in item
                or "&" in item
                or "  " in item
                or "\n" in item
                or "\t" in item
                or (split_commas and "," in item)
                or item.startswith("[")
            ):
                found.clear()
                seen.clear()
                break
            cleaned = item.strip(" ;,.\r")
            if cleaned and cleaned not in seen:
                seen.add(cleaned)
                found.append(cleaned)
        else:
            return found
    for item in _keyword_parts(value, split_commas):
        if "<" in item or "&" in item or "  " in item or "\n" in item or "\t" in item:
            cleaned = plain(item).strip(" ;,.")
        else:
            cleaned = item.strip(" ;,.\r")
        if cleaned and cleaned not in seen:
            seen.add(cleaned)
            found.append(cleaned)
    return found


def _keyword_parts(value: Any, split_commas: bool) -> Iterable[str]:
    if value is None:
        return
    if isinstance(value, list | tuple):
        for item in value:
            yield from _keyword_parts(item, split_commas)
        return
    raw = str(value)
    if raw.startswith("[") and raw.endswith("]"):
        parsed = _python_list(raw)
        if parsed is not None:
            yield from parsed
            return
    if ";" in raw:
        yield from raw.split(";")
    elif split_commas and "," in raw:
        yield from raw.split(",")
    else:
        yield raw


# --- pages --------------------------------------------------------------------------------


def pages(value: Any, end: Any = None) -> str:
    """Pages as "start-end" whatever dash the source used; an end page given apart is joined."""
    start = first(value).replace("\u2013", "-").replace("\u2014", "-").replace("--", "-")
    start = start.replace(" - ", "-")
    last = first(end)
    if last and start and "-" not in start and last != start:
        return f"{start}-{last}"
    return start or last


# --- record types -------------------------------------------------------------------------

RIS_TYPES = {
    "JOUR": "journal-article",
    "JFULL": "journal-article",
    "EJOUR": "journal-article",
    "INPR": "journal-article",
    "ABST": "journal-article",
    "SER": "journal-article",
    "CONF": "conference-paper",
    "CPAPER": "conference-paper",
    "BOOK": "book",
    "EBOOK": "book",
    "EDBOOK": "book",
    "CHAP": "book-chapter",
    "ECHAP": "book-chapter",
    "THES": "thesis",
    "RPRT": "report",
    "GOVDOC": "report",
    "STAND": "report",
    "UNPB": "preprint",
    "ELEC": "webpage",
    "BLOG": "webpage",
    "ICOMM": "webpage",
    "WEB": "webpage",
    "DATA": "dataset",
    "DBASE": "dataset",
    "AGGR": "dataset",
}

BIBTEX_TYPES = {
    "article": "journal-article",
    "inproceedings": "conference-paper",
    "conference": "conference-paper",
    "proceedings": "book",
    "book": "book",
    "mvbook": "book",
    "booklet": "book",
    "collection": "book",
    "mvcollection": "book",
    "reference": "book",
    "inbook": "book-chapter",
    "incollection": "book-chapter",
    "bookinbook": "book-chapter",
    "suppbook": "book-chapter",
    "inreference": "book-chapter",
    "phdthesis": "thesis",
    "mastersthesis": "thesis",
    "thesis": "thesis",
    "techreport": "report",
    "report": "report",
    "manual": "report",
    "unpublished": "preprint",
    "preprint": "preprint",
    "online": "webpage",
    "electronic": "webpage",
    "www": "webpage",
    "dataset": "dataset",
    "data": "dataset",
}

WOS_TYPES = {
    "J": "journal-article",
    "B": "book",
    "S": "book",
    "C": "conference-paper",
}

_CAMEL_CASE = re.compile(r"(?<=[a-z])(?=[A-Z])")
_WORD_TYPES = (
    ("preprint", "preprint"),
    ("thesis", "thesis"),
    ("dissertation", "thesis"),
    ("case report", "journal-article"),
    ("chapter", "book-chapter"),
    ("book section", "book-chapter"),
    ("incollection", "book-chapter"),
    ("inbook", "book-chapter"),
    ("conference", "conference-paper"),
    ("proceeding", "conference-paper"),
    ("congress", "conference-paper"),
    ("symposium", "conference-paper"),
    ("meeting", "conference-paper"),
    ("dataset", "dataset"),
    ("data set", "dataset"),
    ("book", "book"),
    ("report", "report"),
    ("government document", "report"),
    ("web", "webpage"),
    ("blog", "webpage"),
    ("article", "journal-article"),
    ("journal", "journal-article"),
    ("review", "journal-article"),
    ("letter", "journal-article"),
    ("editorial", "journal-article"),
    ("erratum", "journal-article"),
    ("comment", "journal-article"),
    ("trial", "journal-article"),
    ("meta-analysis", "journal-article"),
)


def record_type(
    value: Any, *, table: dict[str, str] | None = None, has_journal: bool = False
) -> str:
    """One of RECORD_TYPES from a source's type: its code table first (RIS TY, BibTeX entry
    type, WoS PT), then the words of free-text types ("Journal Article", "Book Section",
    "Conference Paper"). With no type given, a record with a journal is a journal article."""
    raw = first(value)
    if not raw:
        return "journal-article" if has_journal else "other"
    if raw in RECORD_TYPES:
        return raw
    if table:
        mapped = table.get(raw) or table.get(raw.upper()) or table.get(raw.lower())
        if mapped:
            return mapped
    mapped = RIS_TYPES.get(raw.upper())
    if mapped:
        return mapped
    lowered = _CAMEL_CASE.sub(" ", raw).lower().replace("_", " ")  # Zotero: "bookSection"
    for word, mapped in _WORD_TYPES:
        if word in lowered:
            return mapped
    return "other"


# --- labels -------------------------------------------------------------------------------

_TRUE_LABELS = {"1", "1.0", "true", "yes", "y", "i", "include", "included", "relevant"}
_FALSE_LABELS = {"0", "0.0", "false", "no", "n", "e", "exclude", "excluded", "irrelevant"}


def label(value: Any) -> tuple[bool | None, bool]:
    """An inclusion label from a labelled sheet; the flag says whether a non-empty value
    could not be understood."""
    if value is None:
        return None, False
    if isinstance(value, bool):
        return value, False
    raw = str(value).strip().lower()
    if raw in _TRUE_LABELS:
        return True, False
    if raw in _FALSE_LABELS:
        return False, False
    if raw in {"", "-1", "-1.0", "nan", "none", "null", "?", "maybe", "unlabeled", "unlabelled"}:
        return None, False
    return None, True
