"""A record as the duplicate search sees it, a group it proposes, and the thresholds its scores
are read against."""

from __future__ import annotations

from dataclasses import dataclass

# Pair scores: 0.99 for a shared identifier with agreeing titles; 0.96 for the same title
# in the same journal, volume and first page; otherwise evidence points on a logistic
# curve, capped at 0.94 while any doubt remains (a differing page, volume, word or number,
# a year apart, another first author, no agreeing journal, volume or page). The automatic
# threshold therefore admits only pairs with no doubt left; the review threshold needs at
# least a close title with the same year and first author, or equivalent evidence.
AUTO_THRESHOLD: float = 0.95
REVIEW_THRESHOLD: float = 0.70
# The same citation under a different title (a translation, most often) is raised to this
# score: a lead should look at it.
REVIEW_FLOOR = 0.72

# Blocks larger than this are sorted by title and compared in overlapping windows.
MAX_BLOCK_SIZE = 400
# Within a first author + year block, pairs whose titles are less similar than this are
# not scored (it is 0.85 in the title blocks).
TITLE_FILTER = 0.75
# A group never grows past this size; real duplicate groups have a handful of records.
MAX_GROUP_SIZE = 40
# Titles shorter than this (normalised characters) are "generic" ("Editorial",
# "Reply"): they never decide a match on their own.
MIN_INFORMATIVE_TITLE = 30


@dataclass(frozen=True, slots=True)
class DedupRecord:
    id: int
    title: str = ""
    authors: tuple[str, ...] = ()
    year: int | None = None
    journal: str = ""
    volume: str = ""
    issue: str = ""
    pages: str = ""
    doi: str = ""
    pmid: str = ""
    pmcid: str = ""
    type: str = ""  # "journal-article", "conference-paper", "book", ... or ""
    abstract: str = ""  # used to recognise errata and retraction notices


@dataclass(slots=True)
class CandidateGroup:
    record_ids: list[int]  # sorted
    score: float  # 0..1: the weakest pair in the group
    reasons: list[str]
    automatic: bool  # score >= auto_threshold: merge without asking
