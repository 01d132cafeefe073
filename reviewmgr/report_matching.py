"""Which records may be reports of one study: shared trial registration, shared authors or a
similar title. Pure Python (rapidfuzz for the title); the caller fetches the candidates.

Used to suggest links to a lead, never to link on its own: a conference abstract and its
article often differ in title and author list, and two trials of one team share authors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Registry identifiers as written in abstracts: ClinicalTrials.gov, ISRCTN, EudraCT/CTIS,
# ANZCTR, ChiCTR, DRKS, CTRI, the Japanese and Iranian registers, and the WHO UTN.
_REGISTRATION = re.compile(
    r"\b(NCT\d{8}|ISRCTN\d{8}|\d{4}-\d{6}-\d{2}|ACTRN\d{14}|ChiCTR[-\w]{6,20}|DRKS\d{8}"
    r"|CTRI/\d{4}/\d{2,3}/\d{6}|UMIN\d{9}|jRCT\w{10}|IRCT\w{8,20}|U\d{4}-\d{4}-\d{4})\b",
    re.IGNORECASE,
)
TITLE_SIMILARITY = 85  # rapidfuzz token-set ratio, 0-100
SHARED_AUTHORS = 2


@dataclass(frozen=True, slots=True)
class Candidate:
    """The parts of a record that say which study it reports."""

    id: int
    title: str
    abstract: str
    authors: Sequence[str]


@dataclass(frozen=True, slots=True)
class Suggestion:
    id: int
    reasons: tuple[str, ...]  # e.g. ("same registration NCT01234567", "2 shared authors")
    score: float


def registrations(text: str) -> set[str]:
    return {match.upper() for match in _REGISTRATION.findall(text or "")}


def _surnames(authors: Iterable[str]) -> set[str]:
    names = set()
    for author in authors:
        surname = author.split(",")[0].strip().lower()
        if surname:
            names.add(surname)
    return names


def _title_similarity(a: str, b: str) -> float:
    from rapidfuzz import fuzz, utils

    if not a.strip() or not b.strip():
        return 0.0
    return fuzz.token_set_ratio(a, b, processor=utils.default_process)


def suggest(record: Candidate, candidates: Iterable[Candidate], limit: int = 5) -> list[Suggestion]:
    """Candidates that share a registration, at least SHARED_AUTHORS author surnames, or a
    title at least TITLE_SIMILARITY similar, best first (a registration counts most). A
    candidate given twice (e.g. found by registration and by year) is compared once."""
    registered = registrations(f"{record.title} {record.abstract}")
    surnames = _surnames(record.authors)
    found: dict[int, Suggestion] = {}
    for other in candidates:
        if other.id == record.id:
            continue
        reasons, score = [], 0.0
        shared_registration = registered & registrations(f"{other.title} {other.abstract}")
        if shared_registration:
            reasons.append(f"same registration {', '.join(sorted(shared_registration))}")
            score += 100
        shared = surnames & _surnames(other.authors)
        if len(shared) >= SHARED_AUTHORS:
            reasons.append(f"{len(shared)} shared authors")
            score += 10 * len(shared)
        similarity = _title_similarity(record.title, other.title)
        if similarity >= TITLE_SIMILARITY:
            reasons.append(f"similar title ({similarity:.0f}%)")
            score += similarity
        if reasons and (other.id not in found or found[other.id].score < score):
            found[other.id] = Suggestion(other.id, tuple(reasons), score)
    return sorted(found.values(), key=lambda s: (-s.score, s.id))[:limit]
