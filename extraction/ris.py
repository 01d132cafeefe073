"""RIS of a review's records at any stage, through the one RIS writer."""

from __future__ import annotations

from typing import TextIO

from reviewmgr import studies
from reviewmgr.models import Record, Review
from reviewmgr.ris_export import RisRecord, write_ris
from screening.models import RecordScreening, Stage

SELECTIONS = {
    "included": "Included at full text",
    "full-text": "Reached full text (included at title and abstract)",
    "excluded-full-text": "Excluded at full text",
    "all": "All records (duplicates left out)",
}


def records_for(review: Review, selection: str):
    rows = Record.objects.for_review(review).primaries()
    if selection == "all":
        return rows.order_by("pk")
    stage = Stage.TITLE_ABSTRACT if selection == "full-text" else Stage.FULL_TEXT
    states = RecordScreening.objects.filter(review=review, stage=stage)
    if selection == "included":
        states = states.filter(status=RecordScreening.Status.RESOLVED, outcome="include")
    elif selection == "excluded-full-text":
        states = states.filter(status=RecordScreening.Status.RESOLVED, outcome="exclude")
    else:  # reached full text
        states = RecordScreening.objects.filter(review=review, stage=Stage.FULL_TEXT)
    return rows.filter(pk__in=states.values("record_id")).order_by("pk")


def source_type(record: Record) -> str:
    """The RIS type the record was imported with ("BLOG", "ELEC", ...), or for a web page
    from another format, BLOG when its source called it a blog."""
    raw = record.source_record if isinstance(record.source_record, dict) else {}
    code = raw.get("type_of_reference")
    if isinstance(code, str) and code.strip():
        return code.strip().upper()
    if record.type == Record.Type.WEBPAGE:
        said = " ".join(str(raw.get(key, "")) for key in ("ref-type", "ENTRYTYPE", "type", "PT"))
        return "BLOG" if "blog" in said.lower() else "ELEC"
    return ""


def ris_record(record: Record, note: str = "", study_id: str = "") -> RisRecord:
    return RisRecord(
        type=record.type,
        title=record.title,
        abstract=record.abstract,
        authors=record.authors or [],
        year=record.year,
        journal=record.journal,
        volume=record.volume,
        issue=record.issue,
        pages=record.pages,
        doi=record.doi,
        pmid=record.pmid,
        pmcid=record.pmcid,
        url=record.url,
        keywords=record.keywords or [],
        language=record.language,
        notes=(note,) if note else (),
        record_id=str(record.pk),
        study_id=study_id,
        source_type=source_type(record),
    )


def export_ris(review: Review, target: TextIO, selection: str = "included") -> int:
    if selection not in SELECTIONS:
        raise ValueError(f"'{selection}' is not one of {', '.join(SELECTIONS)}")
    note = f"reviewmgr: {SELECTIONS[selection].lower()}"
    keys = studies.study_keys(review)
    records = records_for(review, selection).iterator(chunk_size=2000)
    return write_ris(
        (ris_record(r, note, studies.study_id(keys.get(r.pk, r.pk))) for r in records), target
    )
