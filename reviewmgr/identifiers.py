"""Identifiers compared across the product, normalised one way wherever they are read: by
the importers as records come in, and by the duplicate search. Pure Python, no Django."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

_DOI = re.compile(r"10\.\d{4,9}/\S+")
_DOI_TRAILING = ".,;:'\"\u201d\u2019"


def doi(value: Any) -> str:
    """A DOI lower-cased, without https://doi.org/ or doi: in front or punctuation behind."""
    if isinstance(value, list | tuple):
        for item in value:
            found = doi(item)
            if found:
                return found
        return ""
    if value is None:
        return ""
    raw = str(value).strip()
    if raw.startswith("10.") and " " not in raw and "%" not in raw:
        candidate = raw
    else:
        if "%" in raw:
            raw = unquote(raw)
        match = _DOI.search(raw)
        if match is None:
            return ""
        candidate = match.group()
    candidate = candidate.lower().rstrip(_DOI_TRAILING)
    for opening, closing in ("()", "[]", "<>"):
        while candidate.endswith(closing) and candidate.count(closing) > candidate.count(opening):
            candidate = candidate[:-1].rstrip(_DOI_TRAILING)
    if candidate.endswith("[doi]"):
        candidate = candidate[: -len("[doi]")]
    return candidate
