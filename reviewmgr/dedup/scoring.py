"""How alike two prepared records are: certain differences first, then the evidence of each field
weighed, then identifiers, which decide when they are there."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from rapidfuzz.distance import Indel

from reviewmgr.dedup.journals import journal_relation
from reviewmgr.dedup.keys import _prepare, _Prepared
from reviewmgr.dedup.records import MIN_INFORMATIVE_TITLE, REVIEW_FLOOR, DedupRecord

# ------------------------------------------------------------------------- scoring

_NOTICE_LABEL = {
    "erratum": "an erratum",
    "retraction": "a retraction notice",
    "reply": "a reply",
    "comment": "a comment",
    "protocol": "a protocol",
}


def _apart(reason: str) -> tuple[float, list[str]]:
    return 0.0, [reason]


def _surname_match(a: str, b: str) -> str:
    if a == b:
        return "same"
    if len(a) >= 4 and len(b) >= 4 and (a.startswith(b) or b.startswith(a)):
        return "similar"  # "garcia" vs "garcialopez"
    if Indel.normalized_similarity(a, b) >= 0.8:
        return "similar"  # a transliteration or typo
    return "differ"


def _author_overlap(a: frozenset[str], b: frozenset[str]) -> float:
    """Share of the shorter author list (first twelve names) found in the other."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def _title_similarity(a: _Prepared, b: _Prepared) -> tuple[float, bool]:
    """Similarity of the normalised titles, and whether one is a truncation of the other."""
    if a.title == b.title:
        return 1.0, False
    similarity = Indel.normalized_similarity(a.title_key, b.title_key)
    short, long = sorted((a.title, b.title), key=len)
    if (
        similarity < 0.9
        and len(short) >= MIN_INFORMATIVE_TITLE
        and long.startswith(short)
        and long[len(short)] == " "
    ):
        return 0.9, True  # a subtitle is missing from one record
    return similarity, False


_TITLE_STOPWORDS = frozenset(
    {
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "for",
        "and",
        "with",
        "to",
        "by",
        "at",
        "from",
        "versus",
        "vs",
        "or",
        "as",
        "is",
        "are",
        "its",
        "their",
    }
)


def _distinct_words(a: str, b: str) -> tuple[list[str], list[str]]:
    """Words of each title with no counterpart in the other, spelling variants aside
    ("haemolytic" and "hemolytic" are counterparts, "adult" and "paediatric" are not)."""
    words_a, words_b = set(a.split()), set(b.split())
    only_a = [w for w in words_a - words_b if not w.isdigit() and w not in _TITLE_STOPWORDS]
    only_b = [w for w in words_b - words_a if not w.isdigit() and w not in _TITLE_STOPWORDS]
    if sorted("".join(only_a)) == sorted("".join(only_b)):
        return [], []  # split or joined words: "p16(INK4a)" and "p16INK4a"
    unmatched_a = [w for w in only_a if not any(_spelling_variant(w, v) for v in only_b)]
    unmatched_b = [w for w in only_b if not any(_spelling_variant(w, v) for v in only_a)]
    return sorted(unmatched_a), sorted(unmatched_b)


def _spelling_variant(x: str, y: str) -> bool:
    return Indel.normalized_similarity(x, y) >= 0.8 or (
        min(len(x), len(y)) >= 4 and (x.startswith(y) or y.startswith(x))
    )


def _compare_ids(a: _Prepared, b: _Prepared) -> tuple[list[str], list[str]]:
    same, different = [], []
    for label, x, y in (
        ("DOI", a.doi, b.doi),
        ("PMID", a.pmid, b.pmid),
        ("PMCID", a.pmcid, b.pmcid),
    ):
        if x and y:
            (same if x == y else different).append(label)
    return same, different


@dataclass(slots=True)
class _Facts:
    """How two prepared records compare, field by field, before any weighing."""

    same_ids: list[str]
    different_ids: list[str]
    both_titles: bool
    title_sim: float
    truncated: bool
    year_gap: int | None
    first_author: str  # same, similar, differ, missing
    overlap: float
    journal: str  # same, related, differ, missing
    volume: str  # same, differ, missing
    page: str  # same, differ, missing
    same_citation: bool  # the same first author, year, volume and first page
    numbers_differ: bool


@dataclass(slots=True)
class _Evidence:
    """Points for and against, the reasons a person reads, and the doubts that keep a pair
    below the automatic level: a hard doubt whatever else agrees, a soft one unless the
    journal, volume and first page agree."""

    points: float = 0.0
    reasons: list[str] = field(default_factory=list)
    hard: list[str] = field(default_factory=list)
    soft: list[str] = field(default_factory=list)


def _facts(a: _Prepared, b: _Prepared) -> _Facts:
    same_ids, different_ids = _compare_ids(a, b)
    both_titles = bool(a.title and b.title)
    title_sim, truncated = _title_similarity(a, b) if both_titles else (0.0, False)
    year_gap = abs(a.year - b.year) if a.year and b.year else None
    if a.surnames and b.surnames:
        first_author = _surname_match(a.surnames[0], b.surnames[0])
    else:
        first_author = "missing"
    journal = journal_relation(a.journal, b.journal) if a.journal and b.journal else "missing"
    if not (a.volume and b.volume):
        volume = "missing"
    elif a.volume == b.volume:
        volume = "same"
    elif a.volume == b.supplement_number or b.volume == a.supplement_number:
        volume = "missing"  # one database filed the supplement number as the volume
    else:
        volume = "differ"
    page = "missing" if not (a.page and b.page) else ("same" if a.page == b.page else "differ")
    # The same first author, year, volume and first page: the same item, whatever the
    # titles say (a translated title, or a notice that one database did not label).
    same_citation = (
        year_gap == 0
        and volume == "same"
        and page == "same"
        and journal != "differ"
        and first_author in ("same", "similar")
    )
    return _Facts(
        same_ids=same_ids,
        different_ids=different_ids,
        both_titles=both_titles,
        title_sim=title_sim,
        truncated=truncated,
        year_gap=year_gap,
        first_author=first_author,
        overlap=_author_overlap(a.surname_set, b.surname_set),
        journal=journal,
        volume=volume,
        page=page,
        same_citation=same_citation,
        numbers_differ=both_titles and a.numbers != b.numbers,
    )


def _kept_apart(a: _Prepared, b: _Prepared, f: _Facts) -> str:
    """Why the two records are certainly different works ("" when nothing says so)."""
    if a.notices != b.notices and not f.same_citation:
        return (
            f"one record is {_NOTICE_LABEL[sorted(a.notices ^ b.notices)[0]]} and the other is not"
        )
    if a.part and b.part and a.part != b.part:
        return f"different parts (part {a.part} vs part {b.part})"
    if f.year_gap and f.first_author == "differ" and f.overlap < 0.5 and not f.same_ids:
        return "different years and different authors"
    if f.numbers_differ and not (f.same_ids or f.same_citation):
        set_a, set_b = set(a.numbers), set(b.numbers)
        if not (set_a <= set_b or set_b <= set_a):
            return (
                "numbers in the titles differ "
                f"({' '.join(a.numbers) or 'none'} vs {' '.join(b.numbers) or 'none'})"
            )
    return ""


def _weigh_title(e: _Evidence, a: _Prepared, b: _Prepared, f: _Facts) -> None:
    if f.both_titles:
        # a short, generic title ("Editorial") decides nothing unless the citation agrees
        informative = (a.informative and b.informative) or f.same_citation
        sim = f.title_sim
        if sim == 1.0:
            e.points += 6.0 if informative else 3.0
            e.reasons.append("same title")
        elif sim >= 0.95:
            e.points += 5.0 if informative else 2.5
            e.reasons.append(f"title {sim:.2f}")
        elif sim >= 0.9:
            e.points += 3.5
            e.reasons.append("a title is truncated" if f.truncated else f"title {sim:.2f}")
        elif sim >= 0.85:
            e.points += 2.0
            e.reasons.append(f"title {sim:.2f}")
        elif sim >= 0.75:
            e.reasons.append(f"title only {sim:.2f}")
        else:
            e.points -= 6.0
            e.reasons.append(f"titles differ ({sim:.2f})")
        if sim < 0.9:
            e.hard.append("title")
        elif sim < 0.95 or not informative:
            e.soft.append("title")
        if sim < 1.0:
            only_a, only_b = _distinct_words(a.title, b.title)
            if only_a and only_b:
                e.points -= 1.5
                e.hard.append("words")
                e.reasons.append(f"words differ ({' '.join(only_a)} / {' '.join(only_b)})")
        if f.numbers_differ:
            e.points -= 2.0
            e.hard.append("numbers")
            e.reasons.append("the numbers in the titles differ")
        if bool(a.part) != bool(b.part):
            e.hard.append("part")
            e.reasons.append("only one title names a part")
    if a.notices != b.notices:
        e.hard.append("notice")
        e.reasons.append("only one record is labelled as a notice")


def _weigh_year(e: _Evidence, a: _Prepared, b: _Prepared, f: _Facts) -> None:
    if f.year_gap is None:
        e.soft.append("year")
    elif f.year_gap == 0:
        e.points += 1.5
        e.reasons.append("same year")
    elif f.year_gap == 1:
        e.points -= 0.5
        e.soft.append("year")
        e.reasons.append(f"years {min(a.year, b.year)} and {max(a.year, b.year)}")  # type: ignore[type-var]
    else:
        e.points -= 4.0
        e.hard.append("year")
        e.reasons.append(f"years differ ({a.year} vs {b.year})")


def _weigh_authors(e: _Evidence, f: _Facts) -> None:
    if f.first_author == "same":
        e.points += 2.0
        e.reasons.append("same first author")
    elif f.first_author == "similar":
        e.points += 1.0
        e.soft.append("author")
        e.reasons.append("similar first author")
    elif f.first_author == "differ" and f.overlap >= 0.5:
        e.points += 0.5
        e.soft.append("author")
        e.reasons.append("authors overlap, first author differs")
    elif f.first_author == "differ":
        e.points -= 3.0
        e.soft.append("author")
        if f.title_sim < 1.0:
            e.hard.append("author")
        e.reasons.append("different authors")
    else:
        e.soft.append("author")
        e.reasons.append("an author list is missing")


def _weigh_venue(e: _Evidence, a: _Prepared, b: _Prepared, f: _Facts) -> None:
    if f.journal == "same":
        e.points += 1.0
        e.reasons.append("same journal")
    elif f.journal == "differ":
        e.points -= 1.0
        e.reasons.append("journal names differ")
    if f.volume == "same":
        e.points += 1.0
        e.reasons.append("same volume")
    elif f.volume == "differ":
        e.points -= 2.5
        e.hard.append("volume")
        e.reasons.append(f"volumes differ ({a.volume} vs {b.volume})")
    if f.page == "same":
        e.points += 1.5
        e.reasons.append("same first page")
    elif f.page == "differ":
        e.points -= 3.0
        e.hard.append("page")
        e.reasons.append(f"first pages differ ({a.page} vs {b.page})")
    full_author_agreement = (
        f.first_author == "same"
        and f.overlap >= 0.8
        and min(len(a.surname_set), len(b.surname_set)) >= 2
    )
    if "same" not in (f.journal, f.volume, f.page) and not full_author_agreement:
        e.soft.append("venue")
    if a.conference != b.conference and not f.same_citation:
        e.hard.append("kind")
        e.reasons.append("conference paper vs journal article")


def _by_identifiers(
    e: _Evidence, a: _Prepared, b: _Prepared, f: _Facts
) -> tuple[float, list[str]] | None:
    """Identifiers decide when they agree and forbid when they disagree (None: there are none
    to compare, so the rest of the evidence decides)."""
    reasons = e.reasons
    if f.same_ids:
        label = " and ".join(f.same_ids)
        title_agrees = not f.both_titles or f.title_sim >= 0.9
        if f.different_ids:
            reasons.insert(0, f"same {label} but different {', '.join(f.different_ids)}")
            return min(0.9, _squash(e.points + 4.0)), reasons
        if title_agrees and f.page != "differ" and a.notices == b.notices:
            return 0.99, [f"same {label}", *reasons]
        if title_agrees or f.title_sim >= 0.75:
            return 0.85, [f"same {label}", *reasons]
        # a DOI shared by a whole supplement or issue: judge the rest
        reasons.insert(0, f"same {label}, yet the titles differ")
        return min(0.8, _squash(e.points + 2.0)), reasons
    if f.different_ids:
        everything_else_equal = (
            f.title_sim == 1.0
            and a.informative
            and f.year_gap == 0
            and f.first_author == "same"
            and f.journal != "differ"
            and f.volume != "differ"
            and f.page != "differ"
        )
        if not everything_else_equal:
            return _apart(f"different {' and '.join(f.different_ids)}s")
        reasons.insert(0, f"different {' and '.join(f.different_ids)}s, all else the same")
        return 0.75, reasons
    return None


def _by_the_rest(e: _Evidence, a: _Prepared, b: _Prepared, f: _Facts) -> tuple[float, list[str]]:
    """The score from the weighed evidence, when no identifier decided."""
    score = _squash(e.points)
    # The same journal, volume and first page within a year pin the item down: a title
    # that agrees then settles it, and soft doubts (an author's spelling, a missing year)
    # do not matter.
    same_place = (
        f.journal in ("same", "related")
        and f.volume == "same"
        and f.page == "same"
        and f.year_gap in (0, 1)
    )
    title_settles = f.title_sim >= 0.95 or f.truncated or (f.title_sim >= 0.9 and not e.soft)
    if not e.hard and same_place and title_settles:
        return max(score, 0.96), e.reasons
    # A translated title (MEDLINE brackets it) under the same citation: worth a look. Two
    # unrelated titles under one citation are usually two abstracts printed on one page.
    if (
        score < REVIEW_FLOOR
        and f.same_citation
        and (a.translated or b.translated or f.title_sim >= 0.7)
    ):
        score = REVIEW_FLOOR
        e.reasons.insert(0, "same first author, year, volume and first page")
    if e.hard or e.soft:
        score = min(score, 0.94)
    return score, e.reasons


def _score_prepared(a: _Prepared, b: _Prepared) -> tuple[float, list[str]]:
    """Score (0 to 1) and reasons for a pair: certain differences first, then the evidence
    of each field weighed, then identifiers, which decide when they are there."""
    f = _facts(a, b)
    apart = _kept_apart(a, b, f)
    if apart:
        return _apart(apart)
    e = _Evidence()
    _weigh_title(e, a, b, f)
    _weigh_year(e, a, b, f)
    _weigh_authors(e, f)
    _weigh_venue(e, a, b, f)
    decided = _by_identifiers(e, a, b, f)
    if decided is not None:
        return decided
    if not f.both_titles:
        return _apart("a title is missing and there is no shared identifier")
    return _by_the_rest(e, a, b, f)


def _squash(points: float) -> float:
    """Map evidence points to 0..1: 10.5 points (exact title, year, author, journal) is
    0.99; 8.5 points (title >= 0.95, year, author) is 0.97; 5 points is 0.7."""
    return round(1.0 / (1.0 + math.exp(-(points - 5.0) * 0.85)), 4)


def pair_score(a: DedupRecord, b: DedupRecord) -> tuple[float, list[str]]:
    """Score and reasons for one pair; 0 when the records must stay apart."""
    return _score_prepared(_prepare(a), _prepare(b))
