"""Hostile XML: external entities (XXE) and entity expansion ("billion laughs") are refused
quickly, in little memory, before any entity is resolved."""

import time
import tracemalloc
from pathlib import Path

import pytest

from reviewmgr.importers import ImportFileError, parse

DATA = Path(__file__).resolve().parents[2] / "data" / "import"


@pytest.mark.parametrize("name", ["xxe.xml", "billion_laughs.xml"])
@pytest.mark.parametrize("lenient", [False, True])
def test_hostile_xml_is_refused_quickly_and_in_little_memory(name, lenient):
    data = (DATA / name).read_bytes()
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(ImportFileError) as error:
            parse(data, filename=name, lenient=lenient)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "declares its own entities" in str(error.value)
    assert elapsed < 2
    assert peak < 5_000_000


def test_the_external_entity_is_never_read():
    with pytest.raises(ImportFileError) as error:
        parse((DATA / "xxe.xml").read_bytes(), format="pubmed-xml")
    assert "root:" not in str(error.value)


def test_an_external_dtd_is_not_fetched():
    data = (
        b'<?xml version="1.0"?>\n'
        b'<!DOCTYPE PubmedArticleSet SYSTEM "http://127.0.0.1:9/never.dtd">\n'
        b"<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>7</PMID><Article>"
        b"<ArticleTitle>Offline</ArticleTitle></Article></MedlineCitation></PubmedArticle>"
        b"</PubmedArticleSet>\n"
    )
    started = time.perf_counter()
    record = parse(data).records[0]
    assert (record.pmid, record.title) == ("7", "Offline")
    assert time.perf_counter() - started < 2
