"""Which format a file is in, from its content (the extension only breaks ties). Above the
readers it tells apart: base (decoding) and tabular (a sheet's columns)."""

from __future__ import annotations

import re

from reviewmgr.importers.base import (
    EMPTY_FILE,
    UNKNOWN_FORMAT,
    Decoded,
    ImportFileError,
    decode,
    is_blank,
    is_xlsx,
)
from reviewmgr.importers.tabular import looks_like_sheet

_RIS_START = re.compile(r"^[ \t\r]*TY {1,2}-", re.MULTILINE)
_WOS_START = re.compile(r"^PT [A-Z]\b", re.MULTILINE)
_WOS_END = re.compile(r"^ER\s*$", re.MULTILINE)
_WOS_HEADER = re.compile(r"\A\s*FN [^\n]*\n\s*VR ", re.MULTILINE)
_MEDLINE_PMID = re.compile(r"^PMID- ?\d", re.MULTILINE)
_MEDLINE_TAG = re.compile(r"^[A-Z][A-Z0-9]{2,3} ?- ", re.MULTILINE)
_BIBTEX_ENTRY = re.compile(r"^[ \t]*@[ \t]*[A-Za-z]+[ \t]*[{(]", re.MULTILINE)
_ENDNOTE_TAG = re.compile(r"^%[0-9A-Z@!#$&()*+^~\]|>?] ", re.MULTILINE)

_PUBMED_XML = ("<PubmedArticleSet", "<PubmedArticle", "<PubmedBookArticle")
_ENDNOTE_XML = ("<ref-type", "<titles>", "<source-app", "<rec-number>")


def sniff(data: bytes, filename: str = "") -> tuple[str, Decoded | None]:
    """The format of a file from its content (the extension only breaks ties), with the decoded
    text so that parsing does not decode twice."""
    if is_blank(data):
        raise ImportFileError(EMPTY_FILE)
    if is_xlsx(data):
        return "xlsx", None
    if data.startswith(b"PK\x03\x04"):
        raise ImportFileError(
            "This is a ZIP archive, not a reference export; unpack it and import the files inside."
        )
    decoded = decode(data)
    fmt = detect_text_format(decoded.text, filename)
    if fmt is None:
        raise ImportFileError(UNKNOWN_FORMAT)
    return fmt, decoded


def detect_text_format(text: str, filename: str = "") -> str | None:
    """The format of decoded text from its first 64 KB, or None when nothing fits. The checks
    run from the most to the least distinctive marks of each format."""
    head = text[:65536]
    start = head.lstrip()
    if start.startswith("<"):
        if any(marker in head for marker in _PUBMED_XML):
            return "pubmed-xml"
        if "<record" in head and any(marker in head for marker in _ENDNOTE_XML):
            return "endnote-xml"
        return None
    if _RIS_START.search(head):
        return "ris"
    if _WOS_HEADER.search(head) or (_WOS_START.search(head) and _WOS_END.search(head)):
        return "wos"
    if _MEDLINE_PMID.search(head) or len(_MEDLINE_TAG.findall(head, 0, 20000)) >= 2:
        return "medline"
    if _BIBTEX_ENTRY.search(head):
        return "bibtex"
    if len(_ENDNOTE_TAG.findall(head)) >= 2:
        return "endnote-tagged"
    # Sheets are recognised by their columns, which only the tabular module knows.
    if looks_like_sheet(head, filename):
        return "csv"
    return None
