"""The duplicate-detection engine, without a database."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from reviewmgr.dedup import (
    AUTO_THRESHOLD,
    REVIEW_THRESHOLD,
    DedupRecord,
    find_duplicates,
    journals_compatible,
    normalise_title,
    pair_score,
)
from reviewmgr.dedup.evaluation import evaluate, load_set
from reviewmgr.importers import normalise as norm
from seeds.synthetic import dedup_records, generate_records

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "dedup"

ARTICLE = DedupRecord(
    id=1,
    title="Eculizumab for atypical haemolytic uraemic syndrome in children: a prospective "
    "cohort study",
    authors=("Müller, Anna", "García, José", "Smith, John A."),
    year=2015,
    journal="Journal of Clinical Oncology",
    volume="33",
    issue="4",
    pages="123-129",
    doi="10.1200/JCO.2014.57.1234",
    type="journal-article",
    abstract="Background: atypical haemolytic uraemic syndrome is rare.",
)
OTHER_ARTICLE = DedupRecord(
    id=50,
    title="Intrapleural fibrinolysis versus surgery for pleural infection in adults",
    authors=("Nguyen, Minh", "Okafor, Chidi"),
    year=2019,
    journal="Thorax",
    volume="74",
    pages="88-95",
    doi="10.1136/thorax-2018-1",
)


def same_article_from_another_database(**changes: object) -> DedupRecord:
    """The article as a second database exports it: other case, initials, short page
    range, abbreviated journal, DOI as a URL, accents stripped, no abstract."""
    record = replace(
        ARTICLE,
        id=2,
        title="ECULIZUMAB FOR ATYPICAL HEMOLYTIC URAEMIC SYNDROME IN CHILDREN - A PROSPECTIVE "
        "COHORT STUDY.",
        authors=("Muller, A.", "Garcia, J.", "Smith, J. A."),
        journal="J Clin Oncol",
        pages="123-9",
        doi="https://doi.org/10.1200/jco.2014.57.1234",
        abstract="",
    )
    return replace(record, **changes)


def group_of(groups: list, record_id: int):
    return next((g for g in groups if record_id in g.record_ids), None)


def assert_apart(a: DedupRecord, b: DedupRecord) -> None:
    score, reasons = pair_score(a, b)
    assert score < REVIEW_THRESHOLD, reasons
    groups = find_duplicates([a, b])
    assert not any({a.id, b.id} <= set(g.record_ids) for g in groups)


# ------------------------------------------------------------------ normalisation


def test_normalised_title_is_lower_case_without_accents_punctuation_or_html():
    title = "  Über <i>TNF-α</i> &amp; IL-6:\n a “Prospective”   Study. "
    assert normalise_title(title) == "uber tnf alpha and il 6 a prospective study"


def test_abbreviated_journal_names_match_the_full_names():
    assert journals_compatible("J Clin Oncol", "Journal of Clinical Oncology")
    assert journals_compatible(
        "Proc Natl Acad Sci U S A",
        "Proceedings of the National Academy of Sciences of the United States of America",
    )
    assert journals_compatible("JAMA", "Journal of the American Medical Association")
    assert journals_compatible("Lancet", "The Lancet")
    assert not journals_compatible("Lancet", "Lancet Oncology")
    assert not journals_compatible("Diabetes", "Diabetes Care")


# -------------------------------------------------------------------- identifiers


def test_same_doi_written_as_a_url_merges_automatically():
    copy = same_article_from_another_database()
    score, reasons = pair_score(ARTICLE, copy)
    assert score >= AUTO_THRESHOLD
    assert reasons[0] == "same DOI"


def test_a_doi_ending_in_its_own_parenthesis_is_the_same_doi_as_the_importers_read_it():
    """One DOI normaliser for imports and the duplicate search: a SICI-style DOI keeps its
    closing parenthesis, quotes pasted around it are not part of it, and a different issue's
    DOI stays different."""
    sici = "10.1002/(SICI)1097-0258(19980315)17:5<489::AID-SIM749>3.0.CO;2-(3)"
    a = replace(ARTICLE, doi=norm.doi(sici))
    b = replace(ARTICLE, id=2, doi=f"DOI: \u201c{sici}\u201d.")
    score, reasons = pair_score(a, b)
    assert score >= AUTO_THRESHOLD and reasons[0] == "same DOI"
    other = replace(ARTICLE, id=3, doi=sici.replace("(3)", "(4)"), title="Another study entirely")
    assert "different DOIs" in " ".join(pair_score(a, other)[1])


def test_same_pmid_merges_automatically_even_when_the_title_was_translated_loosely():
    a = replace(ARTICLE, doi="", pmid="25512345")
    b = replace(ARTICLE, id=2, doi="", pmid="PMID: 25512345", title=ARTICLE.title + " [Review]")
    score, reasons = pair_score(a, b)
    assert score >= AUTO_THRESHOLD
    assert "same PMID" in reasons[0]


def test_different_dois_keep_otherwise_similar_records_apart():
    other = same_article_from_another_database(doi="10.1200/JCO.2014.99.9999", year=2016)
    assert_apart(ARTICLE, other)


def test_different_dois_with_everything_else_equal_wait_for_a_lead():
    other = replace(ARTICLE, id=2, doi="10.1016/j.regpep.2015.05.039")
    score, reasons = pair_score(ARTICLE, other)
    assert REVIEW_THRESHOLD <= score < AUTO_THRESHOLD
    assert "different DOIs, all else the same" in reasons[0]


# ----------------------------------------------------------------- fuzzy matching


def test_the_same_article_without_identifiers_merges_automatically():
    copy = same_article_from_another_database(doi="")
    score, reasons = pair_score(ARTICLE, copy)
    assert score >= AUTO_THRESHOLD, reasons
    assert "same first author" in reasons and "same journal" in reasons


def test_an_epub_year_with_the_same_citation_still_merges_automatically():
    copy = same_article_from_another_database(doi="", year=2014)
    assert pair_score(ARTICLE, copy)[0] >= AUTO_THRESHOLD


def test_a_translated_title_with_the_same_citation_waits_for_a_lead():
    medline = replace(ARTICLE, doi="", title="[Eculizumab in atypical haemolytic uraemic syndrome]")
    original = same_article_from_another_database(
        doi="", title="Eculizumab bei atypischem hämolytisch-urämischem Syndrom bei Kindern"
    )
    score, reasons = pair_score(medline, original)
    assert REVIEW_THRESHOLD <= score < AUTO_THRESHOLD
    assert reasons[0] == "same first author, year, volume and first page"


def test_two_abstracts_printed_on_one_page_stay_apart():
    other_abstract = same_article_from_another_database(
        doi="", title="Complement factor H autoantibodies in adults with renal failure"
    )
    assert_apart(replace(ARTICLE, doi=""), other_abstract)


def test_same_title_by_other_authors_in_another_year_stays_apart():
    other = replace(
        ARTICLE, id=2, authors=("Tanaka, Yuki", "Kim, Min"), year=2009, doi="", volume="", pages=""
    )
    score, reasons = pair_score(ARTICLE, other)
    assert score == 0.0
    assert reasons == ["different years and different authors"]


def test_same_title_in_another_year_with_another_doi_stays_apart():
    update = replace(
        ARTICLE, id=2, year=2019, volume="37", pages="200-210", doi="10.1200/JCO.2018.11.1111"
    )
    assert_apart(ARTICLE, update)


def test_titles_that_differ_only_in_a_number_stay_apart():
    type_1 = replace(
        OTHER_ARTICLE, title="Insulin pumps in type 1 diabetes: a cohort study", doi=""
    )
    type_2 = replace(
        type_1, id=51, title="Insulin pumps in type 2 diabetes: a cohort study", pages="96-101"
    )
    assert_apart(type_1, type_2)


def test_roman_and_arabic_numbers_in_titles_agree():
    a = replace(OTHER_ARTICLE, title="Gliptins in type II diabetes: a cohort study", doi="")
    b = replace(a, id=51, title="Gliptins in type 2 diabetes: a cohort study")
    assert pair_score(a, b)[0] >= AUTO_THRESHOLD


# ------------------------------------------------------------------- hard cases


@pytest.mark.parametrize(
    "notice",
    [
        "Erratum: {title}",
        "Correction to: {title}",
        "Corrigendum to '{title}'",
        "{title} (vol 33, pg 123, 2015)",
    ],
)
def test_erratum_stays_apart_from_its_article(notice):
    erratum = replace(
        ARTICLE, id=2, title=notice.format(title=ARTICLE.title), pages="980", issue="9", doi=""
    )
    assert_apart(replace(ARTICLE, doi=""), erratum)


def test_an_erratum_notice_in_the_abstract_is_recognised():
    notice = "This corrects the article DOI: 10.1200/JCO.2014.57.1234."
    erratum = replace(ARTICLE, id=2, pages="980", doi="", abstract=notice)
    assert_apart(replace(ARTICLE, doi=""), erratum)


def test_a_medline_erratum_note_does_not_make_the_article_an_erratum():
    noted = same_article_from_another_database(
        doi="", title=ARTICLE.title + ".[Erratum appears in J Clin Oncol. 2015;33(9):980]"
    )
    assert pair_score(ARTICLE, noted)[0] >= AUTO_THRESHOLD


@pytest.mark.parametrize(
    "reply",
    [
        "Reply to: {title}",
        "Comment on: {title}",
        "Re: {title}",
        "{title} - Reply",
        "In response to: {title}",
    ],
)
def test_replies_and_comments_stay_apart_from_the_article(reply):
    letter = replace(
        ARTICLE,
        id=2,
        title=reply.format(title=ARTICLE.title),
        pages="977-978",
        authors=("Smith, J. A.",),
        doi="",
    )
    assert_apart(replace(ARTICLE, doi=""), letter)


def test_a_protocol_stays_apart_from_its_review():
    review = replace(
        OTHER_ARTICLE,
        title="Exercise therapy for chronic low back pain: a systematic review",
        journal="Cochrane Database of Systematic Reviews",
        volume="",
        pages="",
        doi="",
    )
    protocol = replace(
        review,
        id=51,
        title="Exercise therapy for chronic low back pain: a protocol for a systematic review",
        year=2018,
    )
    assert_apart(review, protocol)


@pytest.mark.parametrize(
    ("first", "second"),
    [("Part I", "Part II"), ("part 1", "part 2"), ("Part One", "Part Two"), ("Part A", "Part B")],
)
def test_two_parts_of_one_paper_stay_apart(first, second):
    title = "Management of pleural infection in adults: {}"
    one = replace(OTHER_ARTICLE, title=title.format(first), doi="")
    two = replace(one, id=51, title=title.format(second), pages="96-104")
    assert_apart(one, two)


def test_a_conference_abstract_and_the_full_article_are_at_most_pending():
    abstract = same_article_from_another_database(
        doi="", type="conference-paper", journal="ASCO Annual Meeting", volume="", pages=""
    )
    score, _ = pair_score(ARTICLE, abstract)
    assert score < AUTO_THRESHOLD


# ------------------------------------------------------------------------ groups


def test_chaining_never_joins_records_that_must_stay_apart():
    """B matches A and C, but A and C carry different DOIs: they cannot share a group."""
    a = ARTICLE
    b = same_article_from_another_database(doi="")
    c = same_article_from_another_database(id=3, doi="10.1200/JCO.2099.00.0001", year=2016)
    assert pair_score(a, c)[0] == 0.0
    groups = find_duplicates([a, b, c])
    assert not any({1, 3} <= set(g.record_ids) for g in groups)
    assert group_of(groups, 1).record_ids == [1, 2]


def test_a_group_is_automatic_only_when_its_weakest_pair_is():
    a = replace(ARTICLE, doi="")
    b = same_article_from_another_database(doi="")
    pending = replace(a, id=3, pages="", volume="", journal="", year=2014, authors=())
    groups = find_duplicates([a, b, pending])
    group = group_of(groups, 1)
    assert group.score == min(
        pair_score(x, y)[0]
        for x, y in [(a, b), (a, pending), (b, pending)]
        if {x.id, y.id} <= set(group.record_ids)
    )
    assert group.automatic == (group.score >= AUTO_THRESHOLD)


def test_groups_explain_themselves():
    groups = find_duplicates([ARTICLE, same_article_from_another_database(), OTHER_ARTICLE])
    assert len(groups) == 1
    assert groups[0].record_ids == [1, 2]
    assert groups[0].automatic
    assert groups[0].reasons[0] == "same DOI"


def test_no_record_is_in_two_groups():
    rows = generate_records(1500, seed=7, duplicate_fraction=0.3)
    groups = find_duplicates(_records(rows))
    ids = [record_id for group in groups for record_id in group.record_ids]
    assert len(ids) == len(set(ids))
    assert all(g.record_ids == sorted(g.record_ids) for g in groups)


def test_importing_the_same_file_twice_flags_every_record_of_the_copy():
    rows = generate_records(400, seed=3)
    existing = _records(rows)
    copy = [replace(record, id=record.id + 10_000) for record in existing]
    groups = find_duplicates(existing + copy, new_ids={r.id for r in copy})
    assert len(groups) == len(copy)
    for group in groups:
        assert group.automatic
        assert group.record_ids[1] == group.record_ids[0] + 10_000


def test_new_ids_leave_pairs_of_existing_records_alone():
    a = replace(ARTICLE, doi="")
    b = same_article_from_another_database(doi="")
    assert find_duplicates([a, b], new_ids=set()) == []
    newcomer = same_article_from_another_database(id=3)
    groups = find_duplicates([a, b, newcomer], new_ids={3})
    assert len(groups) == 1
    assert 3 in groups[0].record_ids
    assert len(set(groups[0].record_ids) & {1, 2}) == 1  # never two existing records


def test_records_without_a_title_only_match_on_an_identifier():
    untitled = replace(ARTICLE, id=2, title="", doi="")
    assert pair_score(replace(ARTICLE, doi=""), untitled)[0] == 0.0
    assert pair_score(ARTICLE, replace(untitled, doi=ARTICLE.doi))[0] >= AUTO_THRESHOLD


# ------------------------------------------------------------------ real corpus


def _records(rows: list[dict]) -> list[DedupRecord]:
    return dedup_records(rows)


def _corpus_set(name: str):
    if not CORPUS.exists():
        pytest.skip(f"the shared dedup corpus is not beside the checkout ({CORPUS})")
    labelled = load_set(CORPUS, name)
    groups = find_duplicates(labelled.records)
    ids = [r.id for r in labelled.records]
    automatic = evaluate([g.record_ids for g in groups if g.automatic], ids, labelled.clusters)
    everything = evaluate([g.record_ids for g in groups], ids, labelled.clusters)
    return automatic, everything


def test_bib_dedupe_special_cases_merge_nothing_wrongly_and_find_every_duplicate():
    automatic, everything = _corpus_set("bibdedupe_special_cases")
    assert automatic["FP"] == 0
    assert everything["TP"] == 3


def test_haematology_set_has_no_false_automatic_merge():
    automatic, everything = _corpus_set("bibdedupe_haematology")
    assert automatic["FP"] == 0
    assert everything["sensitivity"] >= 0.889  # bib-dedupe's published figure
