"""RIS export: what the product's own importer reads back from it (nothing lost), the shape
other reference managers expect, and a round trip of every RIS file of the shared corpus."""

import csv
import dataclasses
import io

import pytest

from reviewmgr.importers import ParsedRecord, parse
from reviewmgr.importers.base import RECORD_TYPES
from reviewmgr.ris_export import RIS_TYPES, RisRecord, ris_text, write_ris
from tests.conftest import corpus_path

NORMALISED_FIELDS = (
    "title",
    "abstract",
    "authors",
    "year",
    "journal",
    "volume",
    "issue",
    "pages",
    "doi",
    "pmid",
    "pmcid",
    "url",
    "keywords",
    "type",
    "language",
    "label",
)


def make_ris_record(**fields) -> RisRecord:
    values = {
        "type": "other",
        "title": "",
        "abstract": "",
        "authors": (),
        "year": None,
        "journal": "",
        "volume": "",
        "issue": "",
        "pages": "",
        "doi": "",
        "pmid": "",
        "pmcid": "",
        "url": "",
        "keywords": (),
        "language": "",
    }
    return RisRecord(**(values | fields))


FULL = make_ris_record(
    type="journal-article",
    title="IL-1β and TNF-α in 5 µL of cerebrospinal fluid: a Müller–Ødegård cohort",
    abstract="Background: cytokines (IL-1β, TNF-α) rise after injury. Methods: 20 µL samples.",
    authors=("Müller, Jörg", "Ødegård, Åse", "Smith, Jane A.", "García-López, José"),
    year=2019,
    journal="Journal of Neuroinflammation",
    volume="16",
    issue="3",
    pages="101-109",
    doi="10.1186/s12974-019-1234-5",
    pmid="31234567",
    pmcid="PMC7654321",
    url="https://example.org/articles/1234?lang=en",
    keywords=("IL-1β", "TNF-α", "cerebrospinal fluid"),
    language="eng",
    notes=("reviewmgr decision: included at full text", "Second reviewer agreed"),
    label="included",
    record_id="4711",
)


def read_back(*records: RisRecord) -> list[ParsedRecord]:
    return parse(ris_text(records).encode("utf-8"), filename="x.ris").records


def normalised(record: ParsedRecord) -> dict:
    return {name: getattr(record, name) for name in NORMALISED_FIELDS}


def test_every_field_survives_a_round_trip_through_the_importer():
    [back] = read_back(FULL)
    assert normalised(back) == {
        "title": FULL.title,
        "abstract": FULL.abstract,
        "authors": list(FULL.authors),
        "year": 2019,
        "journal": FULL.journal,
        "volume": "16",
        "issue": "3",
        "pages": "101-109",
        "doi": FULL.doi,
        "pmid": "31234567",
        "pmcid": "PMC7654321",
        "url": FULL.url,
        "keywords": list(FULL.keywords),
        "type": "journal-article",
        "language": "eng",
        "label": None,
    }


def test_notes_label_and_record_id_are_written_for_other_tools_and_kept_in_the_source_record():
    [back] = read_back(FULL)
    assert back.raw["notes"] == list(FULL.notes)
    assert back.raw["label"] == "included"
    assert back.raw["id"] == "4711"


def test_the_record_is_written_one_tag_a_line_in_the_usual_order():
    assert ris_text([FULL]).splitlines() == [
        "TY  - JOUR",
        "ID  - 4711",
        f"TI  - {FULL.title}",
        "AU  - Müller, Jörg",
        "AU  - Ødegård, Åse",
        "AU  - Smith, Jane A.",
        "AU  - García-López, José",
        "PY  - 2019",
        "T2  - Journal of Neuroinflammation",
        "VL  - 16",
        "IS  - 3",
        "SP  - 101",
        "EP  - 109",
        f"AB  - {FULL.abstract}",
        "KW  - IL-1β",
        "KW  - TNF-α",
        "KW  - cerebrospinal fluid",
        "DO  - 10.1186/s12974-019-1234-5",
        "UR  - https://example.org/articles/1234?lang=en",
        "AN  - 31234567",
        "DP  - NLM",
        "C2  - PMC7654321",
        "LA  - eng",
        "LB  - included",
        "N1  - reviewmgr decision: included at full text",
        "N1  - Second reviewer agreed",
        "ER  - ",
    ]


def test_the_type_map_covers_every_record_type():
    assert set(RIS_TYPES) == set(RECORD_TYPES)


@pytest.mark.parametrize(("record_type", "tag"), RIS_TYPES.items())
def test_every_record_type_comes_back_as_the_same_type(record_type, tag):
    record = make_ris_record(type=record_type, title="A work", journal="A container")
    assert ris_text([record]).startswith(f"TY  - {tag}\n")
    assert read_back(record)[0].type == record_type


@pytest.mark.parametrize(
    ("journal", "tag", "read_as"),
    [("Pain", "JOUR", "journal-article"), ("", "GEN", "other")],
)
def test_a_blank_type_is_written_as_the_importer_types_a_record_without_one(journal, tag, read_as):
    record = make_ris_record(type="", title="Untyped", journal=journal)
    assert ris_text([record]).startswith(f"TY  - {tag}\n")
    assert read_back(record)[0].type == read_as


def test_an_unknown_type_is_written_as_a_generic_reference():
    assert ris_text([make_ris_record(type="podcast", title="x")]).startswith("TY  - GEN\n")


def test_an_abstract_with_line_breaks_is_one_ab_line_and_comes_back_with_spaces():
    record = make_ris_record(
        title="Multi-line", abstract="Background.\nMethods were\r\nclear.\n\n  Results: good."
    )
    text = ris_text([record])
    assert "AB  - Background. Methods were clear. Results: good.\n" in text
    assert read_back(record)[0].abstract == "Background. Methods were clear. Results: good."


def test_control_characters_are_stripped_and_no_value_spans_two_lines():
    record = make_ris_record(
        title="Title\x00 with\x0b odd\x1f characters\u2028and a line separator",
        authors=("Doe,\tJane",),
        keywords=("pain\rrelief",),
        notes=("first\nsecond",),
    )
    lines = ris_text([record]).splitlines()
    assert all(line[:2].isalnum() and line[2:6] == "  - " for line in lines)
    assert "TI  - Title with odd characters and a line separator" in lines
    assert "AU  - Doe, Jane" in lines
    assert "KW  - pain relief" in lines
    assert "N1  - first second" in lines


def test_other_whitespace_inside_text_is_written_as_it_is():
    record = make_ris_record(title="Doses of 10\u2009mg and\u00a0more")
    assert "TI  - Doses of 10\u2009mg and\u00a0more" in ris_text([record]).split("\n")
    assert read_back(make_ris_record(title="10\u2009mg"))[0].title == "10\u2009mg"


def test_empty_fields_write_no_tags():
    record = make_ris_record(
        title="Only a title", authors=("", "  "), keywords=("",), notes=("",), year=None
    )
    assert ris_text([record]) == "TY  - GEN\nTI  - Only a title\nER  - \n"
    [back] = read_back(record)
    assert (back.authors, back.keywords, back.year, back.pmid) == ([], [], None, "")


def test_a_title_starting_with_an_equals_sign_is_kept_as_written():
    record = make_ris_record(title='=HYPERLINK("http://evil") and +1 -2 @SUM(A1)')
    assert read_back(record)[0].title == record.title


@pytest.mark.parametrize(
    ("pages", "start", "end"),
    [
        ("12-19", "12", "19"),
        ("S12-S19", "S12", "S19"),
        ("e0123456", "e0123456", ""),
        ("12-12", "12-12", ""),
        ("12-", "12-", ""),
        ("1234-1240-1245", "1234", "1240-1245"),
    ],
)
def test_page_ranges_are_split_into_start_and_end_pages_that_join_back(pages, start, end):
    record = make_ris_record(title="Pages", pages=pages)
    lines = ris_text([record]).splitlines()
    assert f"SP  - {start}" in lines
    assert (f"EP  - {end}" in lines) == bool(end)
    assert read_back(record)[0].pages == pages


def test_a_pmid_is_written_as_an_nlm_accession_number_and_a_pmcid_in_c2_as_endnote_does():
    record = make_ris_record(title="Ids", pmid="123", pmcid="PMC45")
    lines = ris_text([record]).splitlines()
    assert [line for line in lines if line[:2] in ("AN", "DP", "C2")] == [
        "AN  - 123",
        "DP  - NLM",
        "C2  - PMC45",
    ]
    assert (read_back(record)[0].pmid, read_back(record)[0].pmcid) == ("123", "PMC45")


def test_records_are_separated_by_a_blank_line_and_each_ends_with_er():
    text = ris_text([make_ris_record(title="One"), make_ris_record(title="Two")])
    assert text == "TY  - GEN\nTI  - One\nER  - \n\nTY  - GEN\nTI  - Two\nER  - \n"


def test_write_ris_streams_a_generator_into_a_text_stream_and_returns_the_count():
    records = (make_ris_record(title=f"Record {n}", year=2000 + n) for n in range(25))
    stream = io.StringIO()
    assert write_ris(records, stream) == 25
    back = parse(stream.getvalue().encode("utf-8"), filename="x.ris").records
    assert [(record.title, record.year) for record in back] == [
        (f"Record {n}", 2000 + n) for n in range(25)
    ]
    assert write_ris([], io.StringIO()) == 0
    assert ris_text([]) == ""


# --- the shared corpus ---------------------------------------------------------------------


def ris_record_from(record: ParsedRecord) -> RisRecord:
    """What the Django side does from a Record, done here from what the importer read."""
    notes: tuple[str, ...] = ()
    if record.label is not None:  # ASReview keeps its labels in N1 notes
        notes = ("ASReview_relevant",) if record.label else ("ASReview_irrelevant",)
    fields = {field.name for field in dataclasses.fields(RisRecord)} - {
        "notes",
        "label",
        "record_id",
        "study_id",
        "source_type",
    }
    raw = record.raw if isinstance(record.raw, dict) else {}
    return RisRecord(
        **{name: getattr(record, name) for name in fields},
        notes=notes,
        source_type=str(raw.get("type_of_reference") or ""),
    )


def corpus_ris_files() -> list[tuple[str, int]]:
    with corpus_path("import", "expected.csv").open(encoding="utf-8", newline="") as handle:
        return [
            (row["path"], int(row["records"]))
            for row in csv.DictReader(handle)
            if row["path"].startswith("ris/")
        ]


def comparable(record: ParsedRecord) -> dict:
    """The normalised fields, with each keyword stripped of whitespace. The importer keeps a
    no-break space at the start of a keyword split from a ";" list (normalise.keywords strips
    only " ;,."), while every RIS reader, ours included, strips it from a tag line."""
    values = normalised(record)
    values["keywords"] = [keyword.strip() for keyword in record.keywords]
    return values


def test_every_record_of_every_ris_file_in_the_shared_corpus_survives_a_round_trip():
    files = corpus_ris_files()
    assert len(files) > 80
    checked = 0
    differences = []
    for path, _ in files:
        data = corpus_path("import", path).read_bytes()
        first = parse(data, filename=path.rsplit("/", 1)[-1], lenient=True).records
        exported = ris_text(ris_record_from(record) for record in first)
        again = parse(exported.encode("utf-8"), filename="x.ris", lenient=True).records
        assert len(again) == len(first), path
        for number, (before, after) in enumerate(zip(first, again, strict=True), 1):
            checked += 1
            if comparable(before) != comparable(after):
                differences.append(f"{path} record {number}")
    assert checked > 1_800
    assert differences == []


def test_pubmed_ids_of_a_real_pubmed_export_survive_the_round_trip():
    data = corpus_path("import", "ris", "cff___baseline_pubmed.ris").read_bytes()
    first = parse(data, filename="cff___baseline_pubmed.ris").records
    assert sum(bool(record.pmid) for record in first) > len(first) / 2
    again = read_back(*(ris_record_from(record) for record in first))
    assert [normalised(record) for record in again] == [normalised(record) for record in first]


@pytest.mark.parametrize(
    ("source", "written"),
    [("BLOG", "BLOG"), ("ELEC", "ELEC"), ("ICOMM", "ICOMM"), ("WEB", "ELEC"), ("", "ELEC")],
)
def test_a_web_page_keeps_the_ris_type_it_was_imported_with(source, written):
    record = make_ris_record(type="webpage", title="Can PRP help?", journal="", source_type=source)

    text = ris_text([record])

    assert text.startswith(f"TY  - {written}\n")
    assert read_back(record)[0].type == "webpage"


def test_a_source_type_of_another_kind_of_work_gives_way_to_the_records_type():
    """A lead corrected the record: it is a journal article, whatever the file said."""
    record = make_ris_record(type="journal-article", title="An article", source_type="BLOG")

    assert ris_text([record]).startswith("TY  - JOUR\n")


def test_the_study_id_is_written_in_u1_so_reports_of_one_study_travel_together():
    text = ris_text([make_ris_record(title="A report", study_id="S12")])

    assert "U1  - Study S12\n" in text
