"""A review with something behind every address: records, batches in each state, a duplicate
group, screening at both stages (awaiting, in conflict, with a PDF), and studies at every
step of extraction up to a meta-analysis, so that each URL can be requested for real."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from extraction import export_jobs, services as extraction
from extraction.models import ExportJob, Extraction, Study, Template
from reviewmgr import services as core, studies as study_links
from reviewmgr.models import DuplicateGroup, ImportBatch, Membership, Record, Review, User
from screening import services as screening
from screening.models import RecordScreening, Stage
from tests.conftest import add_member, make_user

TA, FT = Stage.TITLE_ABSTRACT, Stage.FULL_TEXT
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
TITLES = [
    "Perineural PRP in diabetic neuropathy",
    "IL-6 after chronic constriction injury in rats",
    "PRP for knee osteoarthritis",
    "Epidural PRP for sciatica",
    "Statins and stroke",
    "Hand hygiene in intensive care",
]


def ris(titles: list[str], doi_prefix: str = "10.1000/sec") -> bytes:
    return "".join(
        f"TY  - JOUR\nTI  - {title}\nAU  - Rossi, Anna\nPY  - 2021\nDO  - {doi_prefix}{i}\n"
        f"JO  - Pain\nAB  - About {title}.\nER  - \n\n"
        for i, title in enumerate(titles)
    ).encode()


def include_at_full_text(review: Review, title: str) -> Record:
    record = core.import_records(
        review=review,
        data=ris([title], f"10.2000/{len(title)}-"),
        file_name="study.ris",
        find_duplicates=False,
    )[0].records.get()
    RecordScreening.objects.create(
        review=review,
        record=record,
        stage=FT,
        status=RecordScreening.Status.RESOLVED,
        outcome="include",
        decision_count=2,
    )
    return record


# IL-6 in serum on day 14 for PRP and control: (n, mean, sd); two studies pool into a forest.
ARMS = [((12, 20.0, 5.0), (12, 30.0, 6.0)), ((8, 15.0, 4.0), (8, 24.0, 5.0))]


def fill_extraction(row: Extraction, arms, country: str = "Italy") -> None:
    """Every required answer of the built-in form and one outcome table of two groups, stored
    as the form stores them (written directly: answering field by field is slow)."""
    values = {
        "study.design": "animal",
        "study.subject": "animal",
        "study.country": country,
        "population.condition": "diabetic_neuropathy",
        "animal.species": "rat",
        "animal.strain": "Wistar",
        "animal.sex": "male",
        "prp.platelet_concentration": 1100.0,
        "prp.platelet_baseline": 250.0,
        "prp.wbc_concentration": 0.5,
        "prp.wbc_baseline": 6.0,
        "prp.activation": "calcium",
        "cytokines.measurements": [
            {
                "analyte": "il6",
                "compartment": "serum",
                "time_point": "day 14",
                "unit": "pg/mL",
                "group": role,
                "group_role": role,
                "n": n,
                "mean": mean,
                "sd": sd,
            }
            for role, (n, mean, sd) in zip(("intervention", "comparator"), arms, strict=True)
        ],
    }
    Extraction.objects.filter(pk=row.pk).update(values=values)


@dataclass
class World:
    review: Review
    lead: User
    reviewer: User
    second_reviewer: User
    extractor: User
    outsider: User
    newcomer: User
    record: Record  # awaiting its first decision at title/abstract
    conflict: Record  # reviewer and second_reviewer disagree at title/abstract
    ft_awaiting: Record  # at full text, nobody has decided
    ft_conflict: Record  # at full text, in conflict, with a PDF
    batch: ImportBatch  # imported
    failed_batch: ImportBatch
    mapping_batch: ImportBatch
    group: DuplicateGroup
    template: Template  # the review's own extraction form
    reconciled: Study  # final consensus
    in_consensus: Study  # consensus begun, the extractors disagree on the country
    both_complete: Study  # two complete extractions, no consensus yet
    started: Study  # the extractor's own extraction, filled but not complete
    untouched: Study  # nobody extracts it yet
    own_extraction: Extraction
    consensus: Extraction  # of `in_consensus`
    export: ExportJob  # built, ready to download
    failed_export: ExportJob


@pytest.fixture
def world(review, lead, reviewer, second_reviewer, outsider) -> World:
    extractor = make_user("extractor")
    add_member(review, extractor, Membership.Role.EXTRACTOR)
    ext1, ext2 = make_user("ext1"), make_user("ext2")
    for person in (ext1, ext2):
        add_member(review, person, Membership.Role.EXTRACTOR)
    newcomer = make_user("newcomer")

    batch, ids = core.import_records(
        review=review,
        data=ris(TITLES),
        file_name="pubmed.ris",
        provenance=core.Provenance(source=ImportBatch.Source.PUBMED),
        find_duplicates=False,
    )
    records = list(Record.objects.filter(pk__in=ids).order_by("pk"))
    failed = core.queue_import(
        review=review,
        data=b"TY  - JOUR\nTI  - Fine\nER  - \n\nTI  - A record without its first line\nER  - \n",
        file_name="broken.ris",
        user=lead,
        provenance=core.Provenance(),
        format="ris",
    )
    core.run_import_batch(batch=failed)
    failed.refresh_from_db()
    mapping = core.queue_import(
        review=review,
        data=b"Paper name;Writers\nPRP for sciatica;Doe J\n",
        file_name="sheet.csv",
        user=lead,
        provenance=core.Provenance(),
        format="csv",
        hold=True,
    )
    group = DuplicateGroup.objects.create(review=review, score=0.8, reasons=["same title"])
    Record.objects.filter(pk__in=[records[4].pk, records[5].pk]).update(duplicate_group=group)

    screening.sync_screening_rows(review=review)
    record, conflict, ft_awaiting, ft_conflict, lead_decided = records[:5]
    study_links.link_report(record=conflict, to=record, user=lead)  # two reports of one study
    screening.record_decision(record=lead_decided, user=lead, stage=TA, verdict="include")
    for person in (reviewer, second_reviewer):
        for advancing in (ft_awaiting, ft_conflict):
            screening.record_decision(record=advancing, user=person, stage=TA, verdict="include")
    screening.record_decision(record=conflict, user=reviewer, stage=TA, verdict="include")
    screening.record_decision(
        record=conflict,
        user=second_reviewer,
        stage=TA,
        verdict="exclude",
        reason="Wrong study design",
    )
    # the reviewer's latest title/abstract decision is theirs alone, so they may still undo it
    # (a decision locks once another reviewer has decided the record)
    screening.record_decision(record=records[5], user=reviewer, stage=TA, verdict="maybe")
    screening.record_decision(record=ft_conflict, user=reviewer, stage=FT, verdict="include")
    screening.record_decision(
        record=ft_conflict,
        user=second_reviewer,
        stage=FT,
        verdict="exclude",
        reason="Wrong intervention",
    )
    from django.core.files.uploadedfile import SimpleUploadedFile

    screening.save_full_text(
        record=ft_conflict, user=reviewer, upload=SimpleUploadedFile("paper.pdf", PDF)
    )

    template = extraction.create_template(
        review=review,
        name="Our form",
        user=lead,
        copy_of=Template.objects.get(review=None, key=extraction.BUILTIN_KEY),
    )
    study_records = [
        include_at_full_text(review, title)
        for title in (
            "PRP lowers IL-6 in rats",
            "PRP and IL-6 in mice",
            "Perineural PRP in diabetic rats",
            "Intrathecal PRP in rats",
            "Platelet lysate in rats",
            "Leukocyte-poor PRP in rats",
        )
    ]
    extraction.sync_studies(review=review)
    studies = [Study.objects.get(record=r) for r in study_records]
    reconciled, second_reconciled, in_consensus, both_complete, started, untouched = studies
    for index, study in enumerate([reconciled, second_reconciled, in_consensus, both_complete]):
        for person in (ext1, ext2):
            row = extraction.start_extraction(study=study, user=person)
            fill_extraction(row, ARMS[index % 2], country=person.username)
            extraction.mark_complete(extraction=row)
        if study is not both_complete:
            consensus = extraction.start_consensus(study=study, user=lead)
            if study is not in_consensus:
                extraction.take_value(
                    consensus=consensus,
                    source=study.extractions.get(extractor=ext1),
                    path="study.country",
                    user=lead,
                )
                extraction.finalise_consensus(consensus=consensus, user=lead)
    own = extraction.start_extraction(study=started, user=extractor)
    fill_extraction(own, ARMS[0])
    own.refresh_from_db()
    export = export_jobs.run_export(
        export_jobs.start_export(review=review, kind=ExportJob.Kind.CSV, user=lead)
    )
    failed_export = ExportJob.objects.create(
        review=review, kind=ExportJob.Kind.BACKUP, status=ExportJob.Status.FAILED, created_by=lead
    )
    return World(
        review=review,
        lead=lead,
        reviewer=reviewer,
        second_reviewer=second_reviewer,
        extractor=extractor,
        outsider=outsider,
        newcomer=newcomer,
        record=record,
        conflict=conflict,
        ft_awaiting=ft_awaiting,
        ft_conflict=ft_conflict,
        batch=batch,
        failed_batch=failed,
        mapping_batch=mapping,
        group=group,
        template=template,
        reconciled=reconciled,
        in_consensus=in_consensus,
        both_complete=both_complete,
        started=started,
        untouched=untouched,
        own_extraction=own,
        consensus=in_consensus.extractions.get(kind=Extraction.Kind.CONSENSUS),
        export=export,
        failed_export=failed_export,
    )
