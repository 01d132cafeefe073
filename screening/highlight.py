"""Keyword highlighting that cannot inject markup: record text is escaped piece by piece."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ied", "es", "ed", "s", "al", "ic", "y")


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def _keyword_pattern(keyword: str) -> str:
    """'neuropathic pains' matches 'Neuropathy pain', 'neuropathic painful' ...: stems, any case."""
    words = re.findall(r"\w+", keyword.lower())
    if not words:
        return ""
    parts = [re.escape(_stem(word)) + r"\w*" for word in words]
    return r"\b" + r"[\W_]+".join(parts)


@lru_cache(maxsize=64)
def _compiled(include: tuple[str, ...], exclude: tuple[str, ...]) -> re.Pattern | None:
    groups = []
    for name, keywords in (("inc", include), ("exc", exclude)):
        patterns = [p for p in (_keyword_pattern(k) for k in keywords) if p]
        if patterns:
            longest_first = sorted(patterns, key=len, reverse=True)
            groups.append(f"(?P<{name}>{'|'.join(longest_first)})")
    return re.compile("|".join(groups), re.IGNORECASE) if groups else None


def highlight(text: str, include: Sequence[str], exclude: Sequence[str]) -> SafeString:
    pattern = _compiled(tuple(include), tuple(exclude))
    if not text or pattern is None:
        return escape(text or "")
    pieces, last = [], 0
    for match in pattern.finditer(text):
        pieces.append(escape(text[last : match.start()]))
        included = "inc" in pattern.groupindex and match.group("inc") is not None
        kind = "include" if included else "exclude"
        label = "inclusion keyword" if kind == "include" else "exclusion keyword"
        pieces.append(f'<mark class="kw kw-{kind}" title="{label}">{escape(match.group(0))}</mark>')
        last = match.end()
    pieces.append(escape(text[last:]))
    return mark_safe("".join(pieces))  # noqa: S308 - every piece of record text is escaped above
