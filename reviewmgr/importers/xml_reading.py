"""XML read safely: no network, no entities, no DTDs, record by record."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from typing import Any

from lxml import etree

from reviewmgr.importers.results import Collector, ImportFileError

# --- XML --------------------------------------------------------------------------------

_ROOT_ELEMENT = re.compile(r"<[A-Za-z_]")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


def xml_bytes(text: str) -> bytes:
    """Check an XML document for danger and hand it to lxml as UTF-8.

    Reference exports never declare entities, so any <!ENTITY> (the tool of XXE and of
    "billion laughs") rejects the file before lxml sees it; the parser itself is also set
    never to expand entities, load a DTD or touch the network (see `_safe_iterparse`).
    """
    root = _ROOT_ELEMENT.search(text)
    prolog = text[: root.start()] if root else text
    if "<!entity" in prolog.lower():
        raise ImportFileError(
            "This XML file declares its own entities (<!ENTITY ...>), which reference exports "
            "never do; it was not read, for safety."
        )
    # The declaration may name the file's original encoding (UTF-16); the bytes are UTF-8 now.
    return _XML_DECLARATION.sub("", text, count=1).encode("utf-8")


def xml_records(
    text: str, tags: Sequence[str], collector: Collector
) -> Iterator[tuple[Any, int | None]]:
    """Each record element of an XML export as soon as the parser has finished it, with the
    line it starts on, then dropped so that a large file never becomes one large tree.

    Files that put many records on one line get None for the line, so that problems are
    located by record number instead. A syntax error (a file cut short, say) becomes a
    located problem and ends the walk; the records before it stay.
    """
    data = xml_bytes(text)
    has_lines = text.count("\n") > sum(text.count(f"<{tag}>") for tag in tags)
    try:
        for _, element in _safe_iterparse(data, tags):
            yield element, element.sourceline if has_lines else None
            element.clear(keep_tail=False)
            parent = element.getparent()
            while parent is not None and element.getprevious() is not None:
                del parent[0]
    except etree.XMLSyntaxError as error:
        line = error.lineno or (error.position[0] if error.position else 0)
        collector.fail(
            f"line {line}",
            f"the XML is not well-formed ({error.msg}); the rest of the file was not read",
        )


def _safe_iterparse(data: bytes, tags: Sequence[str]) -> Any:
    """lxml's iterparse set never to resolve entities, load a DTD or use the network."""
    return etree.iterparse(
        io.BytesIO(data),
        events=("end",),
        tag=tuple(tags),
        encoding="utf-8",
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
