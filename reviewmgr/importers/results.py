"""What a parser hands back: records, located problems, the collector that gathers both, and the
formats and record types every reader shares."""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

RECORD_TYPES = (
    "journal-article",
    "conference-paper",
    "book",
    "book-chapter",
    "thesis",
    "report",
    "preprint",
    "webpage",
    "dataset",
    "other",
)

FORMATS = (
    "ris",
    "bibtex",
    "medline",
    "pubmed-xml",
    "endnote-xml",
    "endnote-tagged",
    "wos",
    "csv",
    "xlsx",
)

FORMAT_NAMES = {
    "ris": "RIS",
    "bibtex": "BibTeX",
    "medline": "PubMed MEDLINE",
    "pubmed-xml": "PubMed XML",
    "endnote-xml": "EndNote XML",
    "endnote-tagged": "EndNote tagged text",
    "wos": "Web of Science",
    "csv": "CSV",
    "xlsx": "Excel",
}

MAX_PROBLEMS = 20
"""How many located problems an `ImportFileError` carries; more would bury the first ones."""

WARNINGS_PER_KIND = 10
"""Repeated warnings of one kind are summarised after this many, so a big file stays readable."""

EMPTY_FILE = "The file is empty."
BINARY_FILE = "This looks like a binary file (e.g. a PDF or image), not a reference export."
UNKNOWN_FORMAT = (
    "Unrecognised format: expected RIS, BibTeX, PubMed (MEDLINE or XML), EndNote XML, "
    "Web of Science, CSV or Excel."
)


@dataclass(slots=True)
class ParsedRecord:
    """One reference as read from a file, already normalised (see `normalise`)."""

    title: str = ""
    abstract: str = ""
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    journal: str = ""
    volume: str = ""
    issue: str = ""
    pages: str = ""
    doi: str = ""
    pmid: str = ""
    pmcid: str = ""
    url: str = ""
    keywords: list[str] = field(default_factory=list)
    type: str = ""
    language: str = ""
    label: bool | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    position: int = 0
    line: int | None = None


@dataclass(frozen=True, slots=True)
class ParseProblem:
    """Something a person must fix, with where to look for it."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


@dataclass(slots=True)
class ParseResult:
    format: str
    records: list[ParsedRecord]
    warnings: list[str]
    skipped: list[ParseProblem]


class ImportFileError(Exception):
    """The whole file cannot be imported. str(e) is a one-line message for a person; .problems
    holds located problems (at most 20)."""

    def __init__(self, message: str, problems: Sequence[ParseProblem] = ()) -> None:
        super().__init__(message)
        self.problems: list[ParseProblem] = list(problems)[:MAX_PROBLEMS]


CONTENTLESS_WARNING = "record has no title, abstract or identifier"


class Collector:
    """Gathers the records, problems and warnings of one file in file order.

    Format modules call `keep` for every record they read and `fail` for anything else that
    breaks the file; `result` then applies strict or lenient mode in one place, so every
    format treats bad records the same way.
    """

    def __init__(self, format: str, *, lenient: bool, unit: str = "line") -> None:
        self.format = format
        self.lenient = lenient
        self.unit = unit
        self.records: list[ParsedRecord] = []
        self.problems: list[ParseProblem] = []
        self._warnings: list[str] = []
        self._kinds: Counter[str] = Counter()

    def where(self, line: int | None, position: int) -> str:
        return f"{self.unit} {line}" if line else f"record {position + 1}"

    def locate(self, record: ParsedRecord) -> str:
        return self.where(record.line, record.position)

    def warn(self, message: str, *, kind: str = "") -> None:
        """Keep a warning; after `WARNINGS_PER_KIND` of one kind only count the rest."""
        if kind:
            self._kinds[kind] += 1
            if self._kinds[kind] > WARNINGS_PER_KIND:
                return
        self._warnings.append(message)

    def fail(self, location: str, message: str) -> None:
        self.problems.append(ParseProblem(location, message))

    def keep(self, record: ParsedRecord) -> None:
        """Accept a record; one with nothing to screen or look up is kept but pointed out.

        It is in the person's export, so dropping it (or the whole file) would lose data;
        the warning says where it is so that a lead can correct it after the import.
        """
        self.records.append(record)
        if not (record.title or record.abstract or record.doi or record.pmid or record.pmcid):
            self.warn(
                f"{self.locate(record)}: {CONTENTLESS_WARNING}; imported as it is",
                kind="records without title, abstract or identifier",
            )

    @property
    def warnings(self) -> list[str]:
        extra = [
            f"... and {count - WARNINGS_PER_KIND} more like this ({kind})."
            for kind, count in self._kinds.items()
            if count > WARNINGS_PER_KIND
        ]
        return self._warnings + extra

    def result(self, *, empty_message: str = "") -> ParseResult:
        """The outcome: raises in strict mode when anything must be fixed, or when nothing was
        found at all (an empty import is never what the person wanted)."""
        self.problems.sort(key=_location_order)
        if self.problems and not self.lenient:
            first = self.problems[0]
            more = len(self.problems) - 1
            tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
            raise ImportFileError(
                f"The file cannot be imported as it is: {first}{tail}. Fix the file, or "
                "import it again choosing to skip the records with problems.",
                self.problems,
            )
        if not self.records and not self.problems:
            raise ImportFileError(empty_message or "No references were found in this file.")
        return ParseResult(
            format=self.format,
            records=self.records,
            warnings=self.warnings,
            skipped=list(self.problems),
        )


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a file is read.

    A big file becomes millions of small dicts, lists and strings, none of which form
    cycles; the collector would otherwise rescan all of them again and again (about a tenth
    of the time of a 100,000-record RIS file). Reference counting still frees memory.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _location_order(problem: ParseProblem) -> int:
    """Problems in file order: "line 8" before "line 13", whatever found them first."""
    number = problem.location.rpartition(" ")[2]
    return int(number) if number.isdecimal() else 0


def is_blank(content: bytes | str) -> bool:
    """Empty or only whitespace, without copying a 200 MB file as `strip()` would."""
    return not content or content.isspace()
