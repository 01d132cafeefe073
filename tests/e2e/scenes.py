"""A review with something on every page, built through the services (not the browser), for
the tests that look at pages rather than walk the journey: accessibility and the README's
forest plot."""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from extraction import services as extraction
from extraction.models import Extraction, Study, Template
from reviewmgr import services as core
from reviewmgr.models import DuplicateGroup, ImportBatch, Review, User
from reviewmgr.seed import load_seed_review
from screening import services as screening
from screening.models import Stage

TA, FT = Stage.TITLE_ABSTRACT, Stage.FULL_TEXT

# title, first author, year, journal, pages; the first three reach full text
STUDIES = [
    ("Perineural PRP in painful diabetic neuropathy: a randomised trial", "Moreau, Claire", 2021,
     "Pain", "101-109"),
    ("PRP lowers IL-6 and TNF after chronic constriction injury in rats", "Tanaka, Hiro", 2022,
     "J Neuroinflammation", "55-63"),
    ("Epidural PRP for sciatica: a prospective cohort", "Okafor, Ngozi", 2020,
     "Pain Physician", "E1-E9"),
    ("Platelet-rich plasma for knee osteoarthritis", "Lindqvist, Eva", 2019,
     "Arthroscopy", "12-20"),
    ("Cosmetic uses of PRP in alopecia", "Rossi, Marco", 2018, "Dermatol Surg", "3-8"),
    ("Growth factors released by activated PRP: in vitro profile", "Silva, Ana", 2023,
     "Platelets", "200-211"),
]  # fmt: skip
# IL-6 in serum on day 14: (PRP n, mean, SD), (saline n, mean, SD)
ARMS = {
    STUDIES[0][0]: ((12, 20.0, 5.0), (12, 30.0, 6.0)),
    STUDIES[1][0]: ((8, 15.0, 4.0), (8, 24.0, 5.0)),
}


def ris(rows, *, with_doi: bool = True, pages_shift: int = 0) -> bytes:
    text = ""
    for index, (title, author, year, journal, pages) in enumerate(rows):
        first, _, last = pages.partition("-")
        if pages_shift and first.isdigit():
            pages = f"{int(first) + pages_shift}-{int(last) + pages_shift}"
        text += (
            f"TY  - JOUR\nTI  - {title}\nAU  - {author}\nPY  - {year}\nJO  - {journal}\n"
            f"VL  - 12\nSP  - {pages}\n"
            f"AB  - {title}. Platelet-rich plasma (PRP) was compared with saline; "
            "cytokines (IL-6, TNF) and pain scores were measured.\n"
        )
        if with_doi:
            text += f"DO  - 10.1000/prp.{index}\n"
        text += "ER  - \n\n"
    return text.encode()


def tiny_pdf() -> bytes:
    """A one-page PDF, drawn by matplotlib: small, valid, and made here."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(3, 2))
    figure.text(0.1, 0.5, "Full text of the trial", fontsize=12)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="pdf")
    return buffer.getvalue()


@dataclass
class Scene:
    review: Review
    pending_group: DuplicateGroup
    conflict_record_id: int
    pdf_record_id: int
    batch_id: int
    study: Study
    extraction: Extraction
    consensus: Extraction
    own_template: Template

    def url(self, name: str, *args) -> str:
        return reverse(name, args=[self.review.slug, *args])


def _decide(record, stage: str, verdicts: dict[User, str], reason: str = "") -> None:
    for person, verdict in verdicts.items():
        screening.record_decision(
            record=record,
            user=person,
            stage=stage,
            verdict=verdict,
            reason=reason if verdict == "exclude" else "",
        )


def _extract(extraction_row: Extraction, user: User, title: str) -> None:
    values = {
        "study.design": "rct" if "randomised" in title else "animal",
        "study.subject": "human" if "randomised" in title else "animal",
        "study.country": "France",
        "study.sample_size": "24",
        "population.condition": "diabetic_neuropathy",
        "animal.species": "rat",
        "animal.strain": "Wistar",
        "animal.sex": "male",
    }
    for path, raw in values.items():
        extraction.save_value(extraction=extraction_row, path=path, raw=raw, user=user)
    trial = "randomised" in title
    control_label = "Saline" if trial else "CCI + saline"
    treated_label = "PRP" if trial else "CCI + PRP"
    groups = [(treated_label, "prp"), (control_label, "vehicle")]
    if not trial:
        groups.append(("Sham", "sham"))
    for label, role in groups:
        row = extraction.add_row(extraction=extraction_row, path="arms.groups", user=user)
        for column, raw in (("label", label), ("role", role), ("n", "12")):
            extraction.save_value(
                extraction=extraction_row,
                path="arms.groups",
                row=row,
                column=column,
                raw=raw,
                user=user,
            )
    extraction.add_proposed_comparisons(extraction=extraction_row, user=user)
    table = "cytokines.measurements"
    treated, control = ARMS[title]
    days = "time_point_days" if trial else "days_since_injury"
    for label, (n, mean, sd) in ((treated_label, treated), (control_label, control)):
        row = extraction.add_row(extraction=extraction_row, path=table, user=user)
        cells = {
            "analyte": "il6",
            "compartment": "serum",
            "assay": "elisa",
            "time_point": "day 14",
            days: "14",
            "unit": "pg/mL",
            "group": label,
            "n": str(n),
            "mean": str(mean),
            "sd": str(sd),
        }
        for column, raw in cells.items():
            extraction.save_value(
                extraction=extraction_row, path=table, row=row, column=column, raw=raw, user=user
            )


def build_scene() -> Scene:
    """The seed review (users lead, reviewer1, reviewer2) grown to: six trials from PubMed, a
    near copy of the first from Embase waiting as a duplicate group, title/abstract screening
    with one conflict and two records still to screen, full text with a PDF, and two studies
    extracted twice and reconciled: a trial in people and a rat study, which the reports page
    keeps apart."""
    review = load_seed_review(with_demo_users=True).review
    lead, first, second = (
        User.objects.get(username=name) for name in ("lead", "reviewer1", "reviewer2")
    )
    batch, ids = core.import_records(
        review=review,
        data=ris(STUDIES),
        file_name="pubmed-prp.ris",
        provenance=core.Provenance(source=ImportBatch.Source.PUBMED, search_string="PRP[tiab]"),
    )
    core.import_records(
        review=review,
        data=ris(STUDIES[:1], with_doi=False, pages_shift=1000),
        file_name="embase-prp.ris",
        provenance=core.Provenance(source=ImportBatch.Source.EMBASE),
    )
    pending_group = review.duplicate_groups.get(status=DuplicateGroup.Status.PENDING)
    records = {r.title: r for r in review.records.filter(pk__in=ids)}
    pair = {first: "include", second: "include"}
    for title, *_ in STUDIES[:3]:
        _decide(records[title], TA, pair)
    conflict = records[STUDIES[3][0]]
    _decide(conflict, TA, {first: "include", second: "exclude"}, "Wrong population")
    for title, *_ in STUDIES[4:]:
        _decide(records[title], TA, {first: "exclude", second: "exclude"}, "Wrong population")

    pdf_record = records[STUDIES[0][0]]
    screening.save_full_text(
        record=pdf_record,
        user=first,
        upload=SimpleUploadedFile("trial.pdf", tiny_pdf(), content_type="application/pdf"),
    )
    _decide(records[STUDIES[0][0]], FT, pair)
    _decide(records[STUDIES[1][0]], FT, pair)
    _decide(records[STUDIES[2][0]], FT, {first: "exclude", second: "exclude"}, "Wrong study design")

    extraction.sync_studies(review=review)
    for study in Study.objects.filter(review=review).select_related("record"):
        for person in (first, second):
            own = extraction.start_extraction(study=study, user=person)
            _extract(own, person, study.record.title)
            extraction.mark_complete(extraction=own)
        consensus = extraction.start_consensus(study=study, user=lead)
        extraction.finalise_consensus(consensus=consensus, user=lead)
    study = Study.objects.get(review=review, record=records[STUDIES[0][0]])
    builtin = extraction.config_for(review).template
    own = extraction.create_template(
        review=review, name="PRP trials (our copy)", user=lead, copy_of=builtin
    )
    return Scene(
        review=review,
        pending_group=pending_group,
        conflict_record_id=conflict.pk,
        pdf_record_id=pdf_record.pk,
        batch_id=batch.pk,
        study=study,
        extraction=study.extractions.get(kind=Extraction.Kind.INDEPENDENT, extractor=first),
        consensus=study.extractions.get(kind=Extraction.Kind.CONSENSUS),
        own_template=own,
    )
