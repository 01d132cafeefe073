"""Duplicate detection for bibliographic records, free of Django.

Searches of several databases overlap heavily, and a review must screen each study
once. This module decides which records describe the same work:

1. Identifiers first: a shared DOI, PMID or PMCID (normalised) is strong evidence, and
   two different DOIs or PMIDs are strong evidence against.
2. Then fuzzy evidence: normalised title, year, first author, journal (abbreviations
   such as "J Clin Oncol" are recognised), volume and first page.
3. Hard cases stay apart whatever the similarity: errata, retractions, replies and
   comments against the article they concern, a protocol against its review, "Part I"
   against "Part II", and titles whose numbers differ ("type 1" vs "type 2").

Candidate pairs come from blocking (shared identifier, title start, title end,
first author + year, volume + first page), so the cost grows near-linearly with the
number of records. Pairs form groups by complete linkage: a record joins a group only
if it matches every record already in it, so A~B and B~C never put A and C together
when A and C must stay apart. A group's score is its weakest pair; it merges
automatically only when that weakest pair reaches the automatic threshold.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, fields
from functools import cache, lru_cache
from itertools import combinations

from rapidfuzz import process
from rapidfuzz.distance import Indel, Prefix

from reviewmgr.identifiers import doi as normalise_doi

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


# --------------------------------------------------------------------------- text


_GREEK = {
    "α": "alpha",
    "β": "beta",
    "γ": "gamma",
    "δ": "delta",
    "ε": "epsilon",
    "ζ": "zeta",
    "η": "eta",
    "θ": "theta",
    "ι": "iota",
    "κ": "kappa",
    "λ": "lambda",
    "μ": "mu",
    "ν": "nu",
    "ξ": "xi",
    "π": "pi",
    "ρ": "rho",
    "σ": "sigma",
    "τ": "tau",
    "υ": "upsilon",
    "φ": "phi",
    "χ": "chi",
    "ψ": "psi",
    "ω": "omega",
}
_UNDECOMPOSED = {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ł": "l", "ı": "i"}
_FOLD_TABLE = str.maketrans({**_GREEK, **_UNDECOMPOSED})
_TAG = re.compile(r"<[^>]{0,200}>")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def _fold(text: str) -> str:
    """Lower-case, strip accents and spell out Greek letters (TNF-α -> tnf-alpha)."""
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKD", text.casefold().translate(_FOLD_TABLE))
    return _COMBINING.sub("", text)


def normalise_title(title: str) -> str:
    """Lower case, accents folded, punctuation and HTML removed, whitespace collapsed."""
    if not title:
        return ""
    text = _TAG.sub(" ", html.unescape(title)).replace("&", " and ")
    return _NON_ALNUM.sub(" ", _fold(text)).strip()


_ROMAN = {
    "i": 1,
    "ii": 2,
    "iii": 3,
    "iv": 4,
    "v": 5,
    "vi": 6,
    "vii": 7,
    "viii": 8,
    "ix": 9,
    "x": 10,
    "xi": 11,
    "xii": 12,
}
_WORD_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
# After these words a roman numeral is a number ("type II", "phase I", "part V").
_ORDINAL_CONTEXT = frozenset(
    {
        "type",
        "phase",
        "part",
        "stage",
        "grade",
        "class",
        "section",
        "chapter",
        "study",
        "trial",
        "series",
        "paper",
    }
)
_UNAMBIGUOUS_ROMAN = frozenset({"ii", "iii", "vi", "vii", "viii", "xi", "xii"})
_DIGITS = re.compile(r"\d+")
_THOUSANDS = re.compile(r"\b(\d{1,3}) (\d{3})\b")  # "10 000 women" = "10000 women"
_PART = re.compile(r"\bpart (\d+|[ivx]{1,4}|one|two|three|four|five|six|[a-d])\b")


def _title_numbers(normalised: str) -> tuple[str, ...]:
    """The numbers a title states, with roman numerals made arabic ("type II" = "type 2")."""
    tokens = _THOUSANDS.sub(r"\1\2", normalised).split()
    out = []
    for i, token in enumerate(tokens):
        if token in _ROMAN and (
            token in _UNAMBIGUOUS_ROMAN or (i and tokens[i - 1] in _ORDINAL_CONTEXT)
        ):
            out.append(str(_ROMAN[token]))
        else:
            out.extend(str(int(d)) for d in _DIGITS.findall(token))
    return tuple(sorted(out))


def _part_number(normalised: str) -> str:
    match = _PART.search(normalised)
    if not match:
        return ""
    value = match.group(1)
    if value.isdigit():
        return str(int(value))
    if value in _WORD_NUMBERS:
        return str(_WORD_NUMBERS[value])
    if value in _ROMAN:
        return str(_ROMAN[value])
    return value


# Kinds of notice that concern another article and must never merge with it.
_NOTICE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "erratum",
        re.compile(
            r"\b(errat(um|a)|corrigend(um|a)|addend(um|a))\b|^(author |publisher )?"
            r"corrections?\b|\bcorrection (to|of|for|in)\b|\bnotice of correction\b"
        ),
    ),
    ("retraction", re.compile(r"\bretract(ion|ed)\b|\bexpression of concern\b")),
    (
        "reply",
        re.compile(
            r"\b(reply|replies)\b|^in response\b|\bauthors? response\b|^response (to|from)"
            r" (the )?(letter|comments?|commentary|correspondence|editor|critique|authors?)\b"
        ),
    ),
    (
        "comment",
        re.compile(
            r"^(comments?|commentary) (on|to|about)\b|\bletter to the editor\b"
            r"|^(editorial )?comment\b"
        ),
    ),
    (
        "protocol",
        re.compile(
            r"\b(study|trial|review|research) protocol\b|^protocol\b|\bprotocol\s*$|\bprotocol "
            r"(for|of) (an? |the )?(systematic|scoping|rapid|umbrella|cochrane|meta|randomi[sz]ed"
            r"|controlled|clinical|cluster|pilot|feasibility|multi ?cent|prospective|cohort"
            r"|observational|mixed|qualitative|cross sectional|longitudinal|study|trial|review)"
        ),
    ),
)
# Web of Science and Embase cite the corrected article after an erratum's title:
# "Title (vol 360, pg 542, 2009)", "Title (New England Journal of Medicine (2009) 360 (542-544))".
_CITED_CORRECTION = re.compile(
    r"\(vol\.? ?\d+,? (pg|p)\.? ?\w+"
    r"|\(\d{4}\)\s*\d+\s*(\([\w\s]+\))?\s*\(\s*\w+(\s*-\s*\w+)?\s*\)\s*\)",
    re.IGNORECASE,
)
# Bibliographic databases append notes to titles: "[Review] [33 refs]", "[Erratum appears in
# ...]" (the record is the article, not the erratum), "<ORIGINAL> title in another language".
_ANNOTATION = re.compile(
    r"\[(review|\d+ refs?|corrected|see comments?|comments?|editorial|letter|abstract"
    r"|english abstract|article in [a-z, ]+|(published )?(erratum|errata|retraction|comment|"
    r"comments|corrected and republished|retracted|update|summary for patients) (appears? )?in"
    r"\b[^\]]*)(\]|$)|\[[a-z]+\]|<original>.*$",
    re.IGNORECASE,
)


def strip_annotations(title: str) -> str:
    """The title without notes that databases add to it (they differ between databases)."""
    return _ANNOTATION.sub(" ", title or "")


_RE_COLON = re.compile(r"^\s*\[?\s*re\s*:", re.IGNORECASE)
_ABSTRACT_NOTICE = re.compile(
    r"^\W*(this (article )?corrects|this retracts|this corrects the article|"
    r"\[?(erratum|correction|retraction)\b)"
)


def _notices(raw_title: str, normalised: str, abstract: str) -> frozenset[str]:
    kinds = {kind for kind, pattern in _NOTICE_PATTERNS if pattern.search(normalised)}
    if _RE_COLON.match(raw_title):
        kinds.add("comment")
    if _CITED_CORRECTION.search(raw_title):
        kinds.add("erratum")
    if abstract:
        head = _fold(abstract[:80])
        match = _ABSTRACT_NOTICE.match(head)
        if match:
            kinds.add("retraction" if "retract" in match.group(0) else "erratum")
    return frozenset(kinds)


# --------------------------------------------------------------------- identifiers


def _digits_only(value: str) -> str:
    found = _DIGITS.search(value or "")
    return str(int(found.group(0))) if found else ""


def _normalise_pmcid(value: str) -> str:
    digits = _digits_only(value)
    return f"pmc{digits}" if digits else ""


# ------------------------------------------------------------------------ authors

_INITIALS = re.compile(r"^(?:[A-Z]\.?-?){1,4}$")


def author_surname(name: str) -> str:
    """Surname of "Surname, Given", "Surname AB" or "Given Surname", folded, letters only."""
    name = name.strip()
    if not name.isascii():
        name = _COMBINING.sub("", unicodedata.normalize("NFKD", name))
    if "," in name:
        surname = name.split(",", 1)[0]
    else:
        tokens = name.split()
        stripped = list(tokens)
        while len(stripped) > 1 and _INITIALS.match(stripped[-1]):
            stripped.pop()
        if len(stripped) < len(tokens) or len(tokens) == 1:
            surname = " ".join(stripped)
        else:
            surname = tokens[-1]
    return _NON_ALNUM.sub("", _fold(surname))


# ------------------------------------------------------------------------ journals

_JOURNAL_STOPWORDS = frozenset(
    {
        "the",
        "of",
        "and",
        "for",
        "in",
        "on",
        "at",
        "to",
        "a",
        "an",
        "de",
        "la",
        "le",
        "les",
        "der",
        "die",
        "das",
        "und",
        "fur",
        "des",
        "du",
        "et",
        "y",
        "di",
        "e",
    }
)
_JOURNAL_NOISE = re.compile(r"\(.*?\)|\[.*?\]")
# Embase names a meeting after the journal: "Circulation. Conference: AHA Sessions ..."
_MEETING_SUFFIX = re.compile(r"[.:;,]\s*(conference|meeting|congress|symposium)\b.*$")
# Where a journal's short name ends: "JAMA: Journal of the ...", "CMAJ = journal de ...",
# "International journal of cancer. Journal international du cancer".
_NAME_END = re.compile(r"\s*[:=]\s|\s+-\s+|\.\s+(?=[A-Z])|\.(?=[A-Z][a-z])")


def _journal_tokens(name: str) -> tuple[str, ...]:
    text = _MEETING_SUFFIX.sub("", _fold(name).replace("&", " and "))
    words = [t for t in _NON_ALNUM.split(text) if t]
    return tuple(
        word
        for i, word in enumerate(words)
        if word not in _JOURNAL_STOPWORDS or (word == "a" and i and len(words[i - 1]) == 1)
    )  # "a" is an article, except in "U S A"


@lru_cache(maxsize=65536)
def _journal_names(journal: str) -> tuple[tuple[str, ...], ...]:
    """The journal's name as tokens, and its shorter forms (before a subtitle, or either
    side of "Revista Panamericana de Salud Publica/Pan American Journal of Public Health")."""
    text = _JOURNAL_NOISE.sub(" ", html.unescape(journal)).strip(" .\"'")
    forms = [text, _NAME_END.split(text, maxsplit=1)[0]]
    if "/" in text:
        forms.extend(text.split("/"))
    names = []
    for form in forms:
        tokens = _journal_tokens(form)
        if tokens and tokens not in names:
            names.append(tokens)
    return tuple(names)


def _abbreviates(short: str, full: str) -> bool:
    """True when `short` is an abbreviation of the word `full` ("natl" of "national")."""
    if short == full:
        return True
    if len(short) > len(full) or short[0] != full[0]:
        return False
    if full.startswith(short):
        return True
    position = 0
    for char in short:  # ISO 4 also drops inner letters: "hlth" for "health"
        position = full.find(char, position) + 1
        if not position:
            return False
    return True


def _abbreviation_of(short: tuple[str, ...], full: tuple[str, ...]) -> bool:
    """Every word of `short` abbreviates one word of `full` (or two words run together:
    "cardiothorac" for "cardio thoracic"), in order, leaving none of `full` over."""

    @cache
    def match(i: int, j: int) -> bool:
        if i == len(short):
            return j == len(full)
        if j == len(full):
            return False
        if _abbreviates(short[i], full[j]) and match(i + 1, j + 1):
            return True
        joined = i + 1 < len(short) and _abbreviates(short[i] + short[i + 1], full[j])
        if joined and match(i + 2, j + 1):  # "Neuro Endocrinol" for "Neuroendocrinology"
            return True
        for end in range(j + 2, len(full) + 1):
            if _glued(short[i], full[j:end]) and match(i + 1, end):
                return True
        return False

    return match(0, 0)


def _glued(token: str, words: tuple[str, ...]) -> bool:
    """True when `token` is abbreviations of all of `words` run together."""
    if len(words) == 1:
        return _abbreviates(token, words[0])
    return any(
        _abbreviates(token[:k], words[0]) and _glued(token[k:], words[1:])
        for k in range(1, len(token) - len(words) + 2)
    )


def _names_match(x: tuple[str, ...], y: tuple[str, ...]) -> bool:
    if x == y:
        return True
    short, full = (x, y) if sum(map(len, x)) <= sum(map(len, y)) else (y, x)
    if len(short) == 1 and len(full) > 1 and short[0] == "".join(w[0] for w in full):
        return True  # an acronym: "JAMA", "BMJ"
    if "".join(short) == "".join(full):
        return True  # "Neuro Endocrinology" and "Neuroendocrinology"
    return _abbreviation_of(short, full)


@lru_cache(maxsize=65536)
def journal_relation(a: str, b: str) -> str:
    """How two journal names relate: "same" when they can name the same journal,
    abbreviated or spelt out; "related" when one name starts the other ("Nephron" and
    "Nephron Clinical Practice", "Lancet" and "Lancet Oncology"); else "differ".

    Every word of the shorter form must abbreviate a word of the longer one, in order,
    with none of the longer one left over: "J Clin Oncol" is "Journal of Clinical
    Oncology". A one-word acronym matches the other's initials ("JAMA", "BMJ").
    """
    names_a, names_b = _journal_names(a), _journal_names(b)
    if any(_names_match(x, y) for x in names_a for y in names_b):
        return "same"
    for x in names_a:
        for y in names_b:
            short, full = (x, y) if len(x) <= len(y) else (y, x)
            if _abbreviation_of(short, full[: len(short)]):
                return "related"
    return "differ"


def journals_compatible(a: str, b: str) -> bool:
    """True when two journal names can name the same journal."""
    return journal_relation(a, b) == "same"


# ------------------------------------------------------------------ volume, pages

_FIRST_PAGE = re.compile(r"\s*[a-z]{0,4}\.?\s*(\d+)")
_SUPPLEMENT = re.compile(r"\bsuppl|\bsupplement|meetingabstracts|\bs\d")


def _first_page(pages: str) -> str:
    """The first page's number: "S417-S429" -> "417", "c37" -> "37", "e24" -> "24".

    Letter prefixes are dropped because databases disagree on them; a value such as
    "Suppl-29" names no first page at all.
    """
    text = _fold(pages or "")
    if text.startswith("suppl"):
        return ""
    match = _FIRST_PAGE.match(text)
    return str(int(match.group(1))) if match else ""


# ------------------------------------------------------------------------ prepared


@dataclass(slots=True)
class _Prepared:
    id: int
    title: str
    title_key: str  # title without spaces, for blocking
    informative: bool
    numbers: tuple[str, ...]
    part: str
    notices: frozenset[str]
    surnames: tuple[str, ...]
    surname_set: frozenset[str]
    year: int | None
    journal: str
    volume: str
    supplement_number: str  # "SUPPL. 3" in the issue: some databases file it as the volume
    page: str
    doi: str
    pmid: str
    pmcid: str
    translated: bool  # MEDLINE's "[Translated title]", or an original-language title attached
    conference: bool  # a conference abstract or paper rather than a journal article
    supplement: bool


def _prepare(record: DedupRecord) -> _Prepared:
    title = normalise_title(strip_annotations(record.title))
    record_type = (record.type or "").lower()
    conference = (
        "conference" in record_type
        or "proceeding" in record_type
        or record_type in {"inproceedings", "abstract", "meeting-abstract"}
    )
    supplement = bool(_SUPPLEMENT.search(_fold(f"{record.volume} {record.issue} {record.pages}")))
    surnames = tuple(s for s in (author_surname(a) for a in record.authors[:12]) if s)
    return _Prepared(
        id=record.id,
        title=title,
        title_key=title.replace(" ", ""),
        informative=len(title) >= MIN_INFORMATIVE_TITLE,
        numbers=_title_numbers(title),
        part=_part_number(title),
        notices=_notices(record.title or "", title, record.abstract or ""),
        surnames=surnames,
        surname_set=frozenset(surnames),
        year=record.year,
        journal=record.journal or "",
        volume=_digits_only(record.volume),
        supplement_number=_digits_only(record.issue) if supplement else "",
        page=_first_page(record.pages),
        doi=normalise_doi(record.doi),
        pmid=_digits_only(record.pmid),
        pmcid=_normalise_pmcid(record.pmcid),
        translated=(record.title or "").lstrip(' "').startswith("[")
        or "<original>" in (record.title or "").lower(),
        conference=conference,
        supplement=supplement,
    )


# What the review keeps of a prepared record (Record.dedup_prepared), so that a later search
# reads it back instead of preparing the record again; title_key and surname_set follow.
_STORED = tuple(
    f.name for f in fields(_Prepared) if f.name not in {"id", "title_key", "surname_set"}
)


def stored(record: _Prepared) -> list:
    """`record` as a JSON-ready list, in the order of _STORED."""
    values = []
    for name in _STORED:
        value = getattr(record, name)
        values.append(sorted(value) if isinstance(value, frozenset) else value)
    return values


def from_stored(record_id: int, values: list) -> _Prepared:
    """The prepared record that `stored` kept."""
    kept = dict(zip(_STORED, values, strict=True))
    kept["numbers"] = tuple(kept["numbers"])
    kept["notices"] = frozenset(kept["notices"])
    kept["surnames"] = tuple(kept["surnames"])
    return _Prepared(
        id=record_id,
        title_key=kept["title"].replace(" ", ""),
        surname_set=frozenset(kept["surnames"]),
        **kept,
    )


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


# ------------------------------------------------------------------------ blocking


# The kinds of block key, and the Record column that keeps each one once a duplicate search
# has seen the record (indexed): a later import then looks up only the records that share a
# key with its own, instead of reading the whole review back.
KEY_COLUMNS = {
    "doi": "key_doi",
    "pmid": "key_pmid",
    "pmcid": "key_pmcid",
    "start": "key_title_start",
    "end": "key_title_end",
    "middle": "key_title_middle",
    "author": "key_author_year",
    "page": "key_volume_page",
}
KEY_LENGTH = 255  # the columns' width; longer values (a very long surname) are cut


def _key_values(record: _Prepared) -> dict[str, str]:
    """The record's block keys by kind (only the kinds it has)."""
    values = {}
    if record.doi:
        values["doi"] = record.doi
    if record.pmid:
        values["pmid"] = record.pmid
    if record.pmcid:
        values["pmcid"] = record.pmcid
    if len(record.title_key) >= 12:
        values["start"] = record.title_key[:22]
        values["end"] = record.title_key[-22:]
        middle = len(record.title_key) // 2
        values["middle"] = record.title_key[middle - 8 : middle + 8]
    if record.surnames and record.year:
        values["author"] = f"{record.surnames[0]}:{record.year}"
    if record.volume and record.page:
        values["page"] = f"{record.volume}:{record.page}"
    return {kind: value[:KEY_LENGTH] for kind, value in values.items()}


def key_columns(record: _Prepared) -> dict[str, str]:
    """The values of the Record's key columns ("" for a kind the record lacks)."""
    values = _key_values(record)
    return {column: values.get(kind, "") for kind, column in KEY_COLUMNS.items()}


def _block_keys(record: _Prepared) -> list[str]:
    return [f"{kind}:{value}" for kind, value in _key_values(record).items()]


_ID_KEYS = ("doi:", "pmid:", "pmcid:", "page:")
# Keys that only back up the title start: dropped when a block is too large to mean much.
_LOOSE_KEYS = ("end:", "middle:", "author:")
LOOSE_KINDS = tuple(key.rstrip(":") for key in _LOOSE_KEYS)


def _candidate_pairs(
    prepared: list[_Prepared], new: set[int] | None, oversized: Collection[str] = ()
) -> set[tuple[int, int]]:
    """Index pairs worth scoring, never all pairs.

    Records sharing an identifier or a volume and first page are all candidates. In the
    title and author blocks only pairs whose titles are similar (or one a truncation of
    the other) are kept; that filter runs in rapidfuzz's C code over the whole block. A
    block larger than MAX_BLOCK_SIZE is sorted by title and compared in overlapping
    windows (or, for the backup keys, dropped), so the cost stays near-linear. `oversized`
    names backup keys known to be too large in the whole review when only part of it was
    loaded: they are dropped as they would be with every record at hand.
    """
    blocks: dict[str, list[int]] = defaultdict(list)
    for index, record in enumerate(prepared):
        for key in _block_keys(record):
            blocks[key].append(index)

    pairs: set[tuple[int, int]] = set()
    for key, members in blocks.items():
        if len(members) < 2 or key in oversized:
            continue
        if len(members) > MAX_BLOCK_SIZE:
            if key.startswith(_LOOSE_KEYS):
                continue  # a stock phrase ("...a randomised controlled trial"): no signal
            members = sorted(members, key=lambda m: prepared[m].title_key)
            step = MAX_BLOCK_SIZE // 2
            windows = [members[i : i + MAX_BLOCK_SIZE] for i in range(0, len(members) - step, step)]
        else:
            windows = [members]
        for window in windows:
            queries = window if new is None else [m for m in window if prepared[m].id in new]
            if not queries:
                continue
            if key.startswith(_ID_KEYS):
                found = [(q, c) for q in queries for c in window]
            else:
                # Below 0.85 a title earns nothing: such a pair can only reach the review
                # level with the same first author and year, which is the author block.
                cutoff = TITLE_FILTER if key.startswith("author:") else 0.85
                found = _similar_titles(prepared, queries, window, cutoff, key.startswith("start:"))
            for x, y in found:
                if x != y:
                    pairs.add((x, y) if x < y else (y, x))
    return pairs


def _similar_titles(
    prepared: list[_Prepared],
    queries: list[int],
    choices: list[int],
    cutoff: float,
    truncation: bool,
) -> list[tuple[int, int]]:
    query_titles = [prepared[q].title_key for q in queries]
    choice_titles = [prepared[c].title_key for c in choices]
    matrix = process.cdist(
        query_titles,
        choice_titles,
        scorer=Indel.normalized_similarity,
        score_cutoff=cutoff,
        workers=1,
    )
    rows, cols = matrix.nonzero()
    found = [(queries[r], choices[c]) for r, c in zip(rows.tolist(), cols.tolist(), strict=True)]
    if truncation:  # a title that lost its subtitle: a long shared start
        matrix = process.cdist(
            query_titles,
            choice_titles,
            scorer=Prefix.similarity,
            score_cutoff=MIN_INFORMATIVE_TITLE,
            workers=1,
        )
        rows, cols = matrix.nonzero()
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            a, b = prepared[queries[r]], prepared[choices[c]]
            short, long = sorted((a.title, b.title), key=len)
            if long.startswith(short):
                found.append((queries[r], choices[c]))
    return found


# ------------------------------------------------------------------------ grouping


def prepare(record: DedupRecord) -> _Prepared:
    """A record in the form the engine compares (normalised title, surnames, identifiers)."""
    return _prepare(record)


def find_duplicates(
    records: Iterable[DedupRecord],
    *,
    new_ids: Collection[int] | None = None,
    auto_threshold: float = AUTO_THRESHOLD,
    review_threshold: float = REVIEW_THRESHOLD,
) -> list[CandidateGroup]:
    """Candidate groups among `records`, strongest first.

    With new_ids, only pairs in which at least one record is new are considered (new vs
    new and new vs existing); existing-vs-existing pairs are assumed already handled, so
    a group never holds two existing records. Each record id appears in at most one
    group. Pure CPU: about 13 s and 250 MB for 100,000 records (benches/dedup_bench.py).
    """
    return find_duplicates_prepared(
        [_prepare(r) for r in records],
        new_ids=new_ids,
        auto_threshold=auto_threshold,
        review_threshold=review_threshold,
    )


def find_duplicates_prepared(
    prepared: list[_Prepared],
    *,
    new_ids: Collection[int] | None = None,
    oversized: Collection[str] = (),
    auto_threshold: float = AUTO_THRESHOLD,
    review_threshold: float = REVIEW_THRESHOLD,
) -> list[CandidateGroup]:
    """find_duplicates on records already prepared (see `prepare`). With new_ids, `prepared`
    need only hold the new records and every record sharing a block key with one of them;
    `oversized` then names the backup keys too large to compare (see _candidate_pairs)."""
    new = set(new_ids) if new_ids is not None else None

    scores: dict[tuple[int, int], float] = {}
    reasons_of: dict[tuple[int, int], list[str]] = {}
    edges: list[tuple[float, int, int]] = []
    for pair in _candidate_pairs(prepared, new, frozenset(oversized)):
        score, reasons = _score_prepared(prepared[pair[0]], prepared[pair[1]])
        scores[pair] = score
        if score >= review_threshold:
            reasons_of[pair] = reasons
            edges.append((score, *pair))
    edges.sort(key=lambda e: (-e[0], prepared[e[1]].id, prepared[e[2]].id))

    def link(x: int, y: int) -> float:
        pair = (x, y) if x < y else (y, x)
        if pair not in scores:  # not in a shared block: score it now
            if new is not None and prepared[x].id not in new and prepared[y].id not in new:
                return 0.0
            scores[pair] = _score_prepared(prepared[x], prepared[y])[0]
        return scores[pair]

    # Greedy complete linkage, strongest pairs first: two clusters merge only when every
    # record of one matches every record of the other at the review level or above.
    cluster_of: dict[int, list[int]] = {}
    spanning: dict[int, list[tuple[int, int]]] = {}
    for _, x, y in edges:
        cx, cy = cluster_of.get(x, [x]), cluster_of.get(y, [y])
        if cx is cy or len(cx) + len(cy) > MAX_GROUP_SIZE:
            continue
        if any(link(p, q) < review_threshold for p in cx for q in cy):
            continue
        merged = cx + cy
        spanning[id(merged)] = spanning.pop(id(cx), []) + spanning.pop(id(cy), []) + [(x, y)]
        for member in merged:
            cluster_of[member] = merged

    groups: list[CandidateGroup] = []
    for members in {id(c): c for c in cluster_of.values()}.values():
        score = min(link(p, q) for p, q in combinations(members, 2))
        groups.append(
            CandidateGroup(
                record_ids=sorted(prepared[m].id for m in members),
                score=score,
                reasons=_group_reasons(members, spanning[id(members)], prepared, reasons_of),
                automatic=score >= auto_threshold,
            )
        )
    groups.sort(key=lambda g: (-g.score, g.record_ids))
    return groups


def _group_reasons(
    members: list[int],
    edges: list[tuple[int, int]],
    prepared: list[_Prepared],
    reasons_of: dict[tuple[int, int], list[str]],
) -> list[str]:
    """Why the records belong together: for a pair, its reasons; for a larger group, the
    reasons of each link that built it, prefixed by the two record ids."""
    if len(members) == 2:
        return list(reasons_of[(min(members), max(members))])
    lines = []
    for x, y in edges:
        first, second = sorted((prepared[x].id, prepared[y].id))
        detail = ", ".join(reasons_of[(min(x, y), max(x, y))])
        lines.append(f"records {first} and {second}: {detail}")
    return lines
