"""PubMed XML (efetch PubmedArticleSet): PubmedArticle and PubmedBookArticle, read with lxml.

Records are taken one at a time as the parser finishes them and then dropped from the tree,
so a large file does not build one large tree. `raw` keeps each record's XML whole.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from reviewmgr.importers import normalise as norm
from reviewmgr.importers.base import Collector, ParsedRecord, ParseResult, xml_records
from reviewmgr.importers.medline import publication_type

_RECORD_TAGS = ("PubmedArticle", "PubmedBookArticle")


def parse(text: str, *, lenient: bool) -> ParseResult:
    collector = Collector("pubmed-xml", lenient=lenient)
    for position, (element, line) in enumerate(xml_records(text, _RECORD_TAGS, collector)):
        if element.tag == "PubmedArticle":
            collector.keep(_article(element, position, line, collector))
        else:
            collector.keep(_book(element, position, line, collector))
    return collector.result(
        empty_message="No PubmedArticle or PubmedBookArticle records were found."
    )


def _text(element: Any) -> str:
    return "".join(element.itertext()) if element is not None else ""


def _abstract(abstract: Any) -> str:
    """Structured abstracts keep their section labels: "BACKGROUND: ... METHODS: ..."."""
    if abstract is None:
        return ""
    parts = []
    for section in abstract.iterfind("AbstractText"):
        body = norm.plain(_text(section))
        heading = section.get("Label")
        if heading and body:
            parts.append(f"{heading.strip()}: {body}")
        elif body:
            parts.append(body)
    return " ".join(parts)


def _people(author_list: Any) -> list[str]:
    names: list[str] = []
    if author_list is None:
        return names
    for author in author_list.iterfind("Author"):
        surname = norm.text(author.findtext("LastName"))
        given = norm.text(author.findtext("ForeName") or author.findtext("Initials"))
        collective = norm.text(_text(author.find("CollectiveName")))
        if surname:
            names.append(f"{surname}, {given}" if given else surname)
        elif collective:
            names.append(collective)
    return names


def _year(element: Any) -> Any:
    """PubDate has Year, or only a MedlineDate such as "1998 Dec-1999 Jan"."""
    if element is None:
        return None
    return element.findtext("Year") or element.findtext("MedlineDate")


def _ids(element: Any) -> dict[str, str]:
    ids: dict[str, str] = {}
    for article_id in element.iterfind("PubmedData/ArticleIdList/ArticleId"):
        kind = (article_id.get("IdType") or "").lower()
        if kind and kind not in ids:
            ids[kind] = norm.text(article_id.text)
    return ids


def _keywords(citation: Any) -> list[str]:
    terms = [_text(keyword) for keyword in citation.iterfind("KeywordList/Keyword")]
    terms += [
        _text(name) for name in citation.iterfind("MeshHeadingList/MeshHeading/DescriptorName")
    ]
    return norm.keywords(terms)


def _warn_year(collector: Collector, location: str, why: str) -> None:
    if why:
        collector.warn(f"{location}: {why}", kind="unreadable year")


def _article(element: Any, position: int, line: int | None, collector: Collector) -> ParsedRecord:
    citation = element.find("MedlineCitation")
    if citation is None:
        citation = etree.Element("MedlineCitation")
    article = citation.find("Article")
    if article is None:
        article = etree.Element("Article")
    journal = article.find("Journal")
    issue = journal.find("JournalIssue") if journal is not None else None
    year, why = norm.year(_year(issue.find("PubDate")) if issue is not None else None)
    if year is None:
        electronic, _ = norm.year(article.findtext("ArticleDate/Year"))
        if electronic is not None:
            year, why = electronic, ""
    _warn_year(collector, collector.where(line, position), why)
    ids = _ids(element)
    doi = ""
    for location in article.iterfind("ELocationID"):
        if location.get("EIdType") == "doi":
            doi = norm.doi(location.text)
            break
    pages = article.findtext("Pagination/MedlinePgn") or ""
    if not pages:
        pages = norm.pages(
            article.findtext("Pagination/StartPage"), article.findtext("Pagination/EndPage")
        )
    journal_name = ""
    if journal is not None:
        journal_name = norm.text(journal.findtext("Title") or journal.findtext("ISOAbbreviation"))
    journal_name = journal_name or norm.text(citation.findtext("MedlineJournalInfo/MedlineTA"))
    types = [_text(kind) for kind in article.iterfind("PublicationTypeList/PublicationType")]
    return ParsedRecord(
        title=norm.plain(
            _text(article.find("ArticleTitle")) or _text(article.find("VernacularTitle"))
        ),
        abstract=_abstract(article.find("Abstract")) or _abstract(citation.find("OtherAbstract")),
        authors=_people(article.find("AuthorList")),
        year=year,
        journal=journal_name,
        volume=norm.text(issue.findtext("Volume")) if issue is not None else "",
        issue=norm.text(issue.findtext("Issue")) if issue is not None else "",
        pages=norm.pages(pages),
        doi=doi or norm.doi(ids.get("doi")),
        pmid=norm.pmid(citation.findtext("PMID")) or norm.pmid(ids.get("pubmed")),
        pmcid=norm.pmcid(ids.get("pmc")),
        keywords=_keywords(citation),
        type=publication_type(types, has_journal=bool(journal_name)),
        language=norm.text(article.findtext("Language")),
        raw={"xml": etree.tostring(element, encoding="unicode", with_tail=False)},
        position=position,
        line=line,
    )


def _book(element: Any, position: int, line: int | None, collector: Collector) -> ParsedRecord:
    document = element.find("BookDocument")
    if document is None:
        document = etree.Element("BookDocument")
    book = document.find("Book")
    if book is None:
        book = etree.Element("Book")
    chapter = norm.plain(_text(document.find("ArticleTitle")))
    book_title = norm.plain(_text(book.find("BookTitle")))
    year, why = norm.year(_year(book.find("PubDate")))
    _warn_year(collector, collector.where(line, position), why)
    ids = {
        (article_id.get("IdType") or "").lower(): norm.text(article_id.text)
        for article_id in document.iterfind("ArticleIdList/ArticleId")
    }
    ids.update({key: value for key, value in _ids(element).items() if key not in ids})
    authors = _people(document.find("AuthorList")) or _people(book.find("AuthorList"))
    return ParsedRecord(
        title=chapter or book_title,
        abstract=_abstract(document.find("Abstract")),
        authors=authors,
        year=year,
        journal=book_title if chapter else "",
        doi=norm.doi(ids.get("doi")),
        pmid=norm.pmid(document.findtext("PMID")) or norm.pmid(ids.get("pubmed")),
        pmcid=norm.pmcid(ids.get("pmc")),
        keywords=norm.keywords([_text(k) for k in document.iterfind("KeywordList/Keyword")]),
        type="book-chapter" if chapter else "book",
        language=norm.text(document.findtext("Language")),
        raw={"xml": etree.tostring(element, encoding="unicode", with_tail=False)},
        position=position,
        line=line,
    )
