"""What the lead hands on: the workbook, CSV, RIS, the JSON backup, the PRISMA 2020 diagram
and the meta-analyses, each checked against counts computed here from the database."""

import copy
import csv
import io
import json
import re
import zipfile
from types import SimpleNamespace

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from extraction import backup, exports, reporting, rob, schema, services
from extraction.models import Extraction, RiskOfBias, Study
from reviewmgr import services as core
from reviewmgr.importers import parse
from reviewmgr.models import ImportBatch, Membership, Record
from screening import services as screening
from screening.models import Decision, RecordScreening, Stage
from tests.conftest import add_member, make_user

TA, FT = Stage.TITLE_ABSTRACT, Stage.FULL_TEXT
TITLES = [
    "Perineural PRP in diabetic neuropathy: a randomised trial",
    "PRP lowers IL-6 after chronic constriction injury",
    "Cohort of epidural PRP for sciatica",
    "Statins and stroke",
    "Exercise after myocardial infarction",
    "Hand hygiene in intensive care",
]
FORMULA = '=HYPERLINK("http://evil.example","click")'


def ris(titles, doi_prefix="10.1000/t"):
    return "".join(
        f"TY  - JOUR\nTI  - {t}\nAU  - Rossi, Anna\nPY  - 2021\nDO  - {doi_prefix}{i}\n"
        f"JO  - Pain\nAB  - About {t}.\nER  - \n\n"
        for i, t in enumerate(titles)
    ).encode()


def decide_both(record, stage, verdict, reason, reviewers):
    for person in reviewers:
        screening.record_decision(
            record=record, user=person, stage=stage, verdict=verdict, reason=reason
        )


ARMS = {
    # study title -> (PRP n, mean, sd), (saline n, mean, sd) for IL-6 in serum on day 14
    TITLES[0]: ((12, 20.0, 5.0), (12, 30.0, 6.0)),
    TITLES[1]: ((8, 15.0, 4.0), (8, 24.0, 5.0)),
}


def extract(extraction, user, title):
    treated, control = ARMS[title]
    values = {
        "study.design": "rct" if "randomised" in title else "animal",
        "study.subject": "human" if "randomised" in title else "animal",
        "study.country": FORMULA,
        "population.condition": "diabetic_neuropathy",
        "animal.species": "rat",
        "animal.strain": "Wistar",
        "animal.sex": "male",
        "prp.platelet_concentration": "1100",
        "prp.platelet_baseline": "250",
        "prp.wbc_concentration": "0.5",
        "prp.wbc_baseline": "6",
        "prp.activation": "calcium",
    }
    for path, raw in values.items():
        services.save_value(extraction=extraction, path=path, raw=raw, user=user)
    table = "cytokines.measurements"
    for role, (n, mean, sd) in (("intervention", treated), ("comparator", control)):
        row = services.add_row(extraction=extraction, path=table, user=user)
        cells = {
            "analyte": "il6",
            "compartment": "serum",
            "time_point": "day 14",
            "unit": "pg/mL",
            "group": role,
            "group_role": role,
            "n": str(n),
            "mean": str(mean),
            "sd": str(sd),
        }
        for column, raw in cells.items():
            services.save_value(
                extraction=extraction, path=table, row=row, column=column, raw=raw, user=user
            )


@pytest.fixture
def reported(review, lead, reviewer, second_reviewer):
    """Six database records and one website record, screened in two stages, two studies
    extracted twice and reconciled."""
    core.import_records(
        review=review,
        data=ris(TITLES),
        file_name="pubmed.ris",
        provenance=core.Provenance(source=ImportBatch.Source.PUBMED),
    )
    # one copy of the first record from a second database: removed as a duplicate
    core.import_records(
        review=review,
        data=ris(TITLES[:1]),
        file_name="embase.ris",
        provenance=core.Provenance(source=ImportBatch.Source.EMBASE),
    )
    core.import_records(
        review=review,
        data=ris(["Can PRP help back pain? (clinic blog)"], "10.9/blog"),
        file_name="blog.ris",
        provenance=core.Provenance(source=ImportBatch.Source.WEBSITE),
    )
    pair = [reviewer, second_reviewer]
    unique = Record.objects.for_review(review).primaries()
    for record in unique:
        relevant = record.title in TITLES[:3] or "blog" in record.title
        decide_both(record, TA, "include" if relevant else "exclude", "", pair)
    by_title = {r.title: r for r in unique}
    screening.save_full_text(
        record=by_title["Can PRP help back pain? (clinic blog)"], user=lead, not_retrieved=True
    )
    decide_both(by_title[TITLES[0]], FT, "include", "", pair)
    decide_both(by_title[TITLES[1]], FT, "include", "", pair)
    decide_both(by_title[TITLES[2]], FT, "exclude", "Wrong study design", pair)

    services.sync_studies(review=review)
    extractors = [make_user("ext1"), make_user("ext2")]
    for person in extractors:
        add_member(review, person, Membership.Role.EXTRACTOR)
    for study in Study.objects.filter(review=review):
        for person in extractors:
            extraction = services.start_extraction(study=study, user=person)
            extract(extraction, person, study.record.title)
            services.mark_complete(extraction=extraction)
        consensus = services.start_consensus(study=study, user=lead)
        services.finalise_consensus(consensus=consensus, user=lead)
    return review


def test_prisma_numbers_equal_counts_taken_from_the_database(reported):
    counts = reporting.prisma_counts(reported)

    records = Record.objects.filter(review=reported)
    website = records.filter(batch__source="website")
    assert dict(counts.databases) == {
        "PubMed / MEDLINE": records.filter(batch__source="pubmed").count(),
        "Embase": records.filter(batch__source="embase").count(),
    }
    assert dict(counts.other_sources) == {"Website": website.count()}
    assert counts.duplicates_removed == records.filter(duplicate_of__isnull=False).count() == 1
    assert counts.screened == 6
    excluded_ta = {
        r
        for r in Decision.objects.filter(stage=TA, verdict="exclude").values_list(
            "record_id", flat=True
        )
    }
    assert counts.excluded_screening == len(excluded_ta) == 3
    assert counts.sought == 3 and counts.not_retrieved == 0 and counts.assessed == 3
    assert dict(counts.excluded_reasons) == {"Wrong study design": 1}
    assert (counts.other_sought, counts.other_not_retrieved, counts.other_assessed) == (1, 1, 0)
    included = RecordScreening.objects.filter(stage=FT, outcome="include").count()
    assert counts.included_studies == included == 2


def test_the_prisma_diagram_shows_every_count_and_downloads_as_svg_and_png(client, reported, lead):
    client.force_login(lead)  # while screening is blind, PRISMA counts are the leads'

    page = client.get(reverse("extraction:reports", args=[reported.slug])).text
    assert "Wrong study design" in page  # in the diagram's table and its text alternative

    svg = client.get(reverse("extraction:prisma", args=[reported.slug, "svg"]))
    png = client.get(reverse("extraction:prisma", args=[reported.slug, "png"]), {"download": "1"})
    assert svg["Content-Type"] == "image/svg+xml" and b"Wrong study design" in svg.content
    for number in (b"(n = 6)", b"(n = 1)", b"(n = 3)", b"(n = 2)"):
        assert number in svg.content
    assert "attachment" in png["Content-Disposition"]
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_older_rows_are_read_by_their_roles_but_a_human_trial_and_a_rat_study_are_not_pooled(
    client, reported, reviewer
):
    """The fixture's rows come from the form before groups and comparisons existed (a group
    label and a role on each row, time as 'day 14'): they are still read, PRP against the
    comparator, but people and rats go into separate analyses and nothing is pooled."""
    analyses = reporting.analyses(reported)
    assert [(a.key.outcome, a.key.compartment, a.key.species) for a in analyses] == [
        ("IL-6", "Serum", "Human"),
        ("IL-6", "Serum", "Rat"),
    ]
    for item in analyses:
        (entry,) = item.analysis.entries
        assert entry.comparison == "intervention vs comparator"
        assert item.key.window.title == "day 14 since PRP"
        assert "older form" in entry.note and "'day 14'" in entry.note
        assert item.result is None and "at least two studies" in item.error
        out = [d for d in item.analysis.decisions if not d.included]
        assert len(out) == 1 and "species are never pooled together" in out[0].reason

    client.force_login(reviewer)
    page = client.get(reverse("extraction:reports", args=[reported.slug])).text
    assert "IL-6 in serum, human, day 14 since PRP" in page
    assert "Not pooled: needs at least two studies" in page
    assert "These analyses use the final consensus extractions" in page


def test_the_workbook_holds_every_sheet_with_numbers_as_numbers_and_formulas_as_text(
    client, reported, lead
):
    client.force_login(lead)
    response = client.get(reverse("extraction:workbook", args=[reported.slug]))
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))

    assert book.sheetnames[:2] == ["Characteristics", "PRP protocols"]
    for name in (
        "Cytokine outcomes",
        "Risk of bias",
        "Excluded at full text",
        "Screening log",
        "PRISMA counts",
        "Meta-analyses",
    ):
        assert name in book.sheetnames
    sheet = book["Characteristics"]
    header = [c.value for c in sheet[1]]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref
    assert sheet.max_row == 3  # two final studies
    country = sheet.cell(row=2, column=header.index("Country") + 1)
    assert country.value == FORMULA and country.data_type == "s"
    cytokines = book["Cytokine outcomes"]
    head = [c.value for c in cytokines[1]]
    assert cytokines.max_row == 1 + 4  # study x group rows in long format
    n_cell = cytokines.cell(row=2, column=head.index("n") + 1)
    assert isinstance(n_cell.value, int)
    prp = book["PRP protocols"]
    prp_head = [c.value for c in prp[1]]
    assert prp.cell(row=2, column=prp_head.index("PAW code (computed; DeLong 2012)") + 1).value
    log = book["Screening log"]
    assert log.max_row - 1 == Decision.objects.filter(record__review=reported).count()
    excluded = book["Excluded at full text"]
    reason = [c.value for c in excluded[1]].index("Reason") + 1
    assert excluded.cell(row=2, column=reason).value == "Wrong study design"
    # every row of every sheet about studies or records names its study
    for sheet in book.worksheets:
        header = [c.value for c in sheet[1]]
        if sheet.title not in ("PRISMA counts", "Meta-analyses"):
            assert header[0] == "Study ID", sheet.title
            assert all(re.fullmatch(r"S\d+", row[0].value) for row in sheet.iter_rows(min_row=2))


def test_the_workbook_is_built_whatever_the_extractors_entered(client, reported, lead):
    """Tools of different lengths side by side, a platelet count the classification refuses
    and an arm of one: the workbook still comes, each judgement in its colour, and what could
    not be computed says why."""
    first, second = (
        Extraction.objects.filter(study__review=reported, kind=Extraction.Kind.CONSENSUS)
        .select_related("study__record")
        .order_by("study__record__title")
    )
    RiskOfBias.objects.create(
        extraction=first,
        tool="rob2",
        result="IL-6, day 14",
        judgements={domain.key: "low" for domain in rob.ROB2.domains}
        | {"missing_outcome_data": "high"},
        overall="high",
    )
    RiskOfBias.objects.create(
        extraction=second,
        tool="syrcle",
        judgements={domain.key: "unclear" for domain in rob.SYRCLE.domains},
        overall="unclear",
    )
    values = dict(second.values) | {"prp.platelet_concentration": 0.0}
    rows = [dict(row) for row in values["cytokines.measurements"]]
    rows[0]["n"] = 1
    values["cytokines.measurements"] = rows
    Extraction.objects.filter(pk=second.pk).update(values=values)

    client.force_login(lead)
    response = client.get(reverse("extraction:workbook", args=[reported.slug]))
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))

    risks = book["Risk of bias"]
    head = [c.value for c in risks[1]]
    assert head.count(None) == 0 and "Domain 10 judgement" in head
    by_tool = {row[head.index("Tool")].value: row for row in risks.iter_rows(min_row=2)}
    rob2, syrcle = by_tool["RoB 2"], by_tool["SYRCLE's risk of bias tool"]
    third = head.index("Domain 3 judgement")
    assert rob2[third].value == "High risk" and rob2[third].fill.fgColor.rgb == "00FF7C80"
    assert rob2[head.index("Domain 1 judgement")].fill.fgColor.rgb == "00A9D08E"
    assert rob2[head.index("Domain 6")].value is None  # RoB 2 has five domains
    assert syrcle[head.index("Domain 10")].value == "Other sources of bias"

    prp = book["PRP protocols"]
    prp_head = [c.value for c in prp[1]]
    notes = [row[prp_head.index("Classification notes")].value for row in prp.iter_rows(min_row=2)]
    assert any(note and note.startswith("Not classified:") for note in notes)
    # nothing to pool, nothing broken: each analysis says why
    sheet = book["Meta-analyses"]
    head = [c.value for c in sheet[1]]
    assert sheet.cell(row=2, column=1).value == "Consensus data (final consensus extractions)"
    kinds = [row[head.index("Row")].value for row in sheet.iter_rows(min_row=3)]
    assert "pooled" not in kinds and kinds.count("not pooled") == 2
    notes = " ".join(str(row[head.index("Notes")].value) for row in sheet.iter_rows(min_row=3))
    assert "an arm of one has no spread" in notes


def test_a_reviewer_cannot_export_and_an_outsider_cannot_see_reports(
    client, reported, reviewer, outsider
):
    client.force_login(reviewer)
    for name in ("workbook", "csv", "ris", "backup"):
        assert client.get(reverse(f"extraction:{name}", args=[reported.slug])).status_code == 403
    client.force_login(outsider)
    assert client.get(reverse("extraction:reports", args=[reported.slug])).status_code == 404
    response = client.get(reverse("extraction:prisma", args=[reported.slug, "svg"]))
    assert response.status_code == 404


def test_csv_of_each_table_comes_as_a_zip(client, reported, lead):
    client.force_login(lead)
    response = client.get(reverse("extraction:csv", args=[reported.slug]))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))

    assert "characteristics.csv" in archive.namelist()
    rows = list(csv.reader(io.StringIO(archive.read("characteristics.csv").decode("utf-8-sig"))))
    country = rows[1][rows[0].index("Country")]
    assert country == "'" + FORMULA  # formula-looking text is defused in CSV


def test_ris_of_the_included_studies_reads_back_with_nothing_lost(client, reported, lead):
    client.force_login(lead)
    response = client.get(reverse("extraction:ris", args=[reported.slug]), {"records": "included"})

    assert response["Content-Type"] == "application/x-research-info-systems"
    assert response["Content-Disposition"].startswith("attachment")
    parsed = parse(b"".join(response.streaming_content), filename="included.ris").records
    included = Record.objects.filter(pk__in=Study.objects.values("record_id")).order_by("pk")
    assert [p.title for p in parsed] == [r.title for r in included]
    for p, r in zip(parsed, included, strict=True):
        assert (p.doi, p.year, p.authors, p.journal, p.abstract) == (
            r.doi,
            r.year,
            r.authors,
            r.journal,
            r.abstract,
        )


def test_a_backup_restores_with_every_count_identical(reported, tmp_path, capsys):
    path = tmp_path / "backup.json"
    call_command("export_review", reported.slug, "--json", str(path))

    call_command("restore_review", str(path), "--slug", "restored")

    restored = type(reported).objects.get(slug="restored")
    assert backup.counts(restored) == backup.counts(reported)
    original = reporting.prisma_counts(reported)
    assert reporting.prisma_counts(restored) == original
    finals = Extraction.objects.filter(study__review=restored, final=True)
    assert sorted(len(e.values) for e in finals) == sorted(
        len(e.values) for e in Extraction.objects.filter(study__review=reported, final=True)
    )
    # history keeps its original times
    first = Decision.objects.filter(record__review=reported).order_by("created_at").first()
    copy = Decision.objects.filter(record__review=restored).order_by("created_at").first()
    assert copy.created_at == first.created_at


def test_restore_refuses_a_taken_address_and_a_file_that_is_not_a_backup(reported, tmp_path):
    path = tmp_path / "backup.json"
    path.write_text(json.dumps(backup.backup_review(reported)))
    with pytest.raises(CommandError, match="already exists"):
        call_command("restore_review", str(path))
    path.write_text('{"hello": 1}')
    with pytest.raises(CommandError, match="not a reviewmgr review backup"):
        call_command("restore_review", str(path))
    damaged = backup.backup_review(reported)
    del damaged["review"]["title"]
    damaged["review"]["slug"] = "damaged"
    damaged["tables"]["reviewmgr.record"][0].pop("id")
    path.write_text(json.dumps(damaged))
    with pytest.raises(CommandError, match="damaged or incomplete"):
        call_command("restore_review", str(path))
    assert not type(reported).objects.filter(slug="damaged").exists()
    # a column this version does not know, and a timestamp that is not one
    for damage in (
        lambda d: d["review"].update(colour="blue"),
        lambda d: d["tables"]["reviewmgr.record"][0].update(created_at="yesterday"),
    ):
        damaged = backup.backup_review(reported)
        damaged["review"]["slug"] = "damaged"
        damage(damaged)
        path.write_text(json.dumps(damaged))
        with pytest.raises(CommandError, match="damaged or incomplete"):
            call_command("restore_review", str(path))
        assert not type(reported).objects.filter(slug="damaged").exists()


def test_export_review_writes_the_files_it_is_asked_for(reported, tmp_path, capsys):
    call_command(
        "export_review",
        reported.slug,
        "--xlsx",
        str(tmp_path / "e.xlsx"),
        "--csv",
        str(tmp_path / "csv"),
        "--ris",
        str(tmp_path / "i.ris"),
        "--prisma",
        str(tmp_path / "p.svg"),
    )

    assert openpyxl.load_workbook(tmp_path / "e.xlsx").sheetnames[0] == "Characteristics"
    assert (tmp_path / "csv" / "screening-log.csv").exists()
    assert len(parse((tmp_path / "i.ris").read_bytes(), filename="i.ris").records) == 2
    svg = (tmp_path / "p.svg").read_text()
    assert re.search(r"Records screened.*\(n = 6\)", svg, re.S)
    with pytest.raises(CommandError, match="No review"):
        call_command("export_review", "nope", "--xlsx", str(tmp_path / "x.xlsx"))


def test_a_table_column_added_in_a_later_form_version_is_exported():
    """Studies extracted on different versions of a form share one sheet per table; a
    column the later version added is there, empty for the studies that had no such column."""
    definition = schema.builtin_definitions()[services.BUILTIN_KEY]
    later = copy.deepcopy(definition)
    cytokines = next(s for s in later["sections"] if s["key"] == "cytokines")
    table = next(f for f in cytokines["fields"] if f["key"] == "measurements")
    table["columns"].append({"key": "kit_lot", "label": "Kit lot", "type": "short_text"})
    templates = {1: schema.load_template(definition), 2: schema.load_template(later)}
    record = SimpleNamespace(short_authors="Rossi", year=2021, title="A trial", doi="", pmid="")

    def extraction(row):
        study = SimpleNamespace(record=record, study_id="S1")
        return SimpleNamespace(study=study, values={"cytokines.measurements": [row]})

    old, new = extraction({"analyte": "il6"}), extraction({"analyte": "il6", "kit_lot": "L-0421"})
    sheet = next(
        s for s in exports.table_sheets([old, new], templates) if s.name == "Cytokine outcomes"
    )
    headers = [column.header for column in sheet.columns]
    assert [row[headers.index("Kit lot")] for row in sheet.rows] == [None, "L-0421"]
