"""Whether two journal names are the same journal: abbreviations, glued words and related
titles."""

from __future__ import annotations

import html
import re
from functools import cache, lru_cache

from reviewmgr.dedup.keys import _NON_ALNUM, _fold

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
