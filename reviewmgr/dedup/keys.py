"""What of a record is compared: titles, identifiers, surnames, volume and first page, each
normalised, gathered in the prepared form that the review also stores."""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, fields

from reviewmgr.dedup.records import MIN_INFORMATIVE_TITLE, DedupRecord
from reviewmgr.identifiers import doi as normalise_doi

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
