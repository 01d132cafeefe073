"""A scripted review played step by step: after every step each PRISMA 2020 box is counted
again here, with this test's own queries, and the diagram must show exactly those numbers,
with every box balanced (records in = records out + records going on)."""

import datetime as dt
import re
from collections import Counter
from html import unescape

import pytest
from django.core.exceptions import ValidationError
from django.db.models import F
from django.db.models.functions import Coalesce

from extraction import prisma, reporting
from reviewmgr import services as core, studies
from reviewmgr.models import ImportBatch, Record
from screening import services as screening
from screening.models import Decision, FullText, RecordScreening, Stage, StoppingDecision

TA, FT = Stage.TITLE_ABSTRACT, Stage.FULL_TEXT
RESOLVED = RecordScreening.Status.RESOLVED
OTHER = ImportBatch.OTHER_METHODS


def ris(rows, type_="JOUR"):
    """rows: (title, doi, abstract, authors)"""
    text = ""
    for title, doi, abstract, authors in rows:
        text += f"TY  - {type_}\nTI  - {title}\n"
        text += "".join(f"AU  - {a}\n" for a in authors)
        text += f"PY  - 2021\nDO  - {doi}\nAB  - {abstract}\nER  - \n\n"
    return text.encode()


def import_file(review, rows, source, name, type_="JOUR", **provenance):
    batch, _ = core.import_records(
        review=review,
        data=ris(rows, type_),
        file_name=name,
        provenance=core.Provenance(source=source, **provenance),
    )
    return batch


def by_title(review, title) -> Record:
    return Record.objects.get(review=review, title=title, duplicate_of__isnull=True)


def decide(review, title, stage, verdict, people, reason=""):
    record = by_title(review, title)
    for person in people:
        screening.record_decision(
            record=record, user=person, stage=stage, verdict=verdict, reason=reason
        )


# --- The boxes, counted here ---------------------------------------------------------------


def stopped(review, stage) -> bool:
    last = StoppingDecision.objects.filter(review=review, stage=stage).order_by("pk").last()
    return last is not None and last.kind == StoppingDecision.Kind.STOPPED


def study_count(records) -> int:
    keyed = records.annotate(key=Coalesce(F("report_link__first_report_id"), F("pk")))
    return keyed.values("key").distinct().count()


def column_boxes(review, other: bool) -> dict:
    new = Record.objects.filter(review=review, batch__status="done").exclude(
        batch__version_role="previous"
    )
    column = new.filter(batch__source__in=OTHER) if other else new.exclude(batch__source__in=OTHER)
    unique = column.filter(duplicate_of__isnull=True)
    ta = RecordScreening.objects.filter(stage=TA, record__in=unique)
    open_ta = ta.exclude(status=RESOLVED)
    stopped_ta = open_ta.filter(decision_count=0).count() if stopped(review, TA) else 0
    screened = ta.filter(status=RESOLVED)
    ft = RecordScreening.objects.filter(stage=FT, record__in=screened.values("record_id"))
    missing = ft.filter(record__full_text__not_retrieved=True)
    retrieved = ft.exclude(pk__in=missing.values("pk"))
    open_ft = retrieved.exclude(status=RESOLVED)
    stopped_ft = open_ft.filter(decision_count=0).count() if stopped(review, FT) else 0
    assessed = retrieved.filter(status=RESOLVED)
    excluded_ft = assessed.exclude(outcome="include")
    reasons = Counter()
    for record_id in excluded_ft.values_list("record_id", flat=True):
        given = Decision.objects.filter(record_id=record_id, stage=FT).values_list(
            "reason", flat=True
        )
        reasons[Counter(given).most_common(1)[0][0]] += 1
    return {
        "identified": column.count(),
        "duplicates": column.filter(duplicate_of__isnull=False).count(),
        "removed_other": unique.exclude(screenings__stage=TA).count(),
        "awaiting_screening": open_ta.count() - stopped_ta,
        "stopped_screening": stopped_ta,
        "screened": screened.count(),
        "excluded": screened.exclude(record__screenings__stage=FT).count(),
        "sought": ft.count(),
        "not_retrieved": missing.count(),
        "awaiting_assessment": open_ft.count() - stopped_ft,
        "stopped_assessment": stopped_ft,
        "assessed": assessed.count(),
        "reasons": dict(reasons),
        "included": assessed.filter(outcome="include").count(),
        "included_ids": list(
            assessed.filter(outcome="include").values_list("record_id", flat=True)
        ),
    }


def assert_balanced(box: dict) -> None:
    """In = out + next, for every step of a column (this test's own arithmetic)."""
    assert box["identified"] == (
        box["duplicates"]
        + box["removed_other"]
        + box["awaiting_screening"]
        + box["stopped_screening"]
        + box["screened"]
    )
    assert box["screened"] == box["excluded"] + box["sought"]
    assert box["sought"] == (
        box["not_retrieved"]
        + box["awaiting_assessment"]
        + box["stopped_assessment"]
        + box["assessed"]
    )
    assert box["assessed"] == sum(box["reasons"].values()) + box["included"]


def drawn_boxes(svg: bytes) -> dict[str, str]:
    """The text of each box of the SVG, its wrapped lines joined, by box ("screened", ...)."""
    boxes: dict[str, list[str]] = {}
    for key, text in re.findall(
        r'<g id="([\w-]+)-line-\d+">.*?<text[^>]*>([^<]*)</text>', svg.decode(), re.S
    ):
        boxes.setdefault(key, []).append(unescape(text))
    return {key: " ".join(lines) for key, lines in boxes.items()}


BOX_KEYS = {
    "records identified": ["identified"],
    "records removed before screening": ["removed"],
    "records not yet screened": ["ta_pending"],
    "records screened": ["screened"],
    "records excluded": ["excluded"],
    "reports sought for retrieval": ["sought"],
    "reports not retrieved": ["not_retrieved"],
    "reports not yet assessed": ["ft_pending"],
    "reports assessed for eligibility": ["assessed"],
    "reports excluded": ["reports_excluded"],
    "previous studies": ["previous"],
    "included": ["included", "total"],
}


def assert_each_number_is_drawn_in_its_box(counts) -> None:
    """Each row of the diagram's table is drawn, with its number, inside the box it names."""
    boxes = drawn_boxes(prisma.draw(counts))
    for box, label, number in prisma.as_rows(counts):
        other = box.startswith("Other methods: ")
        keys = BOX_KEYS[box.removeprefix("Other methods: ").lower()]
        texts = [boxes.get(("other_" if other else "") + key, "") for key in keys]
        name = label.split(" (")[0]
        if (box, label) == ("Records identified", "Databases") or label == "Registers":
            name = label
        assert any(f"{name} (n = {number})" in text for text in texts), (box, label, number)


def check(review) -> prisma.PrismaCounts:
    """The diagram's numbers equal the boxes counted here, and every box balances."""
    counts = reporting.prisma_counts(review)
    left, right = column_boxes(review, other=False), column_boxes(review, other=True)
    assert_balanced(left)
    assert_balanced(right)
    for prefix, box in (("", left), ("other_", right)):
        get = lambda name, p=prefix: getattr(counts, p + name)  # noqa: E731
        assert get("awaiting_screening") == box["awaiting_screening"]
        assert get("not_screened_after_stopping") == box["stopped_screening"]
        assert get("screened") == box["screened"]
        assert get("excluded_screening") == box["excluded"]
        assert get("sought") == box["sought"]
        assert get("not_retrieved") == box["not_retrieved"]
        assert get("awaiting_assessment") == box["awaiting_assessment"]
        assert get("not_assessed_after_stopping") == box["stopped_assessment"]
        assert get("assessed") == box["assessed"]
        assert dict(get("excluded_reasons")) == box["reasons"]
    assert counts.identified_databases + counts.identified_registers == left["identified"]
    assert counts.identified_other == right["identified"]
    assert counts.duplicates_removed == left["duplicates"]
    assert counts.other_removed == left["removed_other"]
    assert counts.other_duplicates_removed == right["duplicates"]
    assert counts.other_removed_other_reasons == right["removed_other"]
    # studies apart from reports, and the previous version's
    new_ids = left["included_ids"] + right["included_ids"]
    previous = Record.objects.filter(
        review=review, batch__version_role="previous", duplicate_of__isnull=True
    )
    new_records = Record.objects.filter(pk__in=new_ids)
    everything = Record.objects.filter(pk__in=new_ids + list(previous.values_list("pk", flat=True)))
    assert counts.new_reports == len(new_ids)
    assert counts.previous_reports == previous.count()
    assert counts.previous_studies == study_count(previous)
    assert counts.included_reports == len(new_ids) + previous.count()
    assert counts.included_studies == study_count(everything)
    if not counts.updated:
        assert counts.included_studies == study_count(new_records)
    assert counts.imbalances() == []
    # and the drawing shows each of these numbers, in its box
    assert_each_number_is_drawn_in_its_box(counts)
    return counts


# --- The script ----------------------------------------------------------------------------

PUBMED = [
    ("PRP for diabetic neuropathy: randomised trial", "10.1/a", "NCT01234567 trial.",
     ["Rossi, A", "Bianchi, B"]),
    ("Perineural PRP and IL-6 in sciatica", "10.1/b", "A cohort.", ["Ng, C"]),
    ("PRP injections for carpal tunnel", "10.1/c", "A trial.", ["Kaur, D"]),
    ("Statins and stroke", "10.1/d", "Off topic.", ["Lee, E"]),
    ("Hand hygiene in intensive care", "10.1/e", "Off topic.", ["Ito, F"]),
    ("Exercise after infarction", "10.1/f", "Off topic.", ["Mora, G"]),
]  # fmt: skip
EMBASE = [
    PUBMED[0],  # the same article again: a duplicate, merged on import
    ("PRP for diabetic neuropathy (conference abstract)", "10.2/a", "NCT01234567 interim.",
     ["Rossi, A", "Bianchi, B"]),
    ("PRP versus steroid for neuropathic pain", "10.2/b", "A trial.", ["Park, H"]),
    ("Vitamin D in winter", "10.2/c", "Off topic.", ["Silva, I"]),
]  # fmt: skip
WEBSITE = [
    ("Can PRP help relieve back pain? (clinic blog)", "10.9/blog", "A blog post.", []),
    ("PRP clinic price list", "10.9/price", "A web page.", []),
]
PREVIOUS = [
    ("PRP in rats after nerve injury (included in 2022)", "10.5/a", "An animal study.", ["Wu, J"]),
    ("Follow-up of PRP in rats (included in 2022)", "10.5/b", "Follow-up.", ["Wu, J"]),
]
UPDATE = [
    ("PRP and cytokines after nerve crush (2025)", "10.6/a", "New trial.", ["Osei, K"]),
    ("Yoga for back pain (2025)", "10.6/b", "Off topic.", ["Dahl, L"]),
]


@pytest.mark.django_db
def test_a_scripted_review_keeps_every_prisma_box_exact_at_every_step(
    review, lead, reviewer, second_reviewer
):
    pair = [reviewer, second_reviewer]
    import_file(review, PUBMED, ImportBatch.Source.PUBMED, "pubmed.ris")
    counts = check(review)
    assert counts.awaiting_screening == 6 and counts.screened == 0

    import_file(review, EMBASE, ImportBatch.Source.EMBASE, "embase.ris")
    import_file(review, WEBSITE, ImportBatch.Source.WEBSITE, "blog.ris", type_="BLOG")
    counts = check(review)
    assert counts.duplicates_removed == 1
    assert counts.awaiting_screening == 9 and counts.other_awaiting_screening == 2

    # title and abstract, partly: records screened are only those with a final decision
    for title in [PUBMED[0][0], PUBMED[1][0], PUBMED[2][0], EMBASE[1][0], EMBASE[2][0]]:
        decide(review, title, TA, "include", pair)
    decide(review, PUBMED[3][0], TA, "exclude", pair)
    decide(review, PUBMED[4][0], TA, "exclude", [reviewer])  # one of two decisions
    decide(review, WEBSITE[0][0], TA, "include", pair)
    decide(review, WEBSITE[1][0], TA, "exclude", pair)
    counts = check(review)
    assert (counts.screened, counts.awaiting_screening) == (6, 3)
    assert (counts.other_screened, counts.other_excluded_screening, counts.other_sought) == (
        2,
        1,
        1,
    )

    # the lead stops by the stopping rule: records nobody screened are left unscreened
    screening.stop_screening(review=review, stage=TA, user=lead, note="Rule met")
    counts = check(review)
    assert counts.not_screened_after_stopping == 2 and counts.awaiting_screening == 1
    assert "stopped" in counts.screening_stop
    decide(review, PUBMED[4][0], TA, "exclude", [second_reviewer])
    counts = check(review)
    assert (counts.awaiting_screening, counts.not_screened_after_stopping) == (0, 2)

    # full text: the blog is not retrieved, and counted there only
    screening.save_full_text(record=by_title(review, WEBSITE[0][0]), user=lead, not_retrieved=True)
    with pytest.raises(ValidationError, match="not retrieved"):
        decide(review, WEBSITE[0][0], FT, "exclude", pair, reason="Wrong population")
    decide(review, PUBMED[0][0], FT, "include", pair)
    decide(review, EMBASE[1][0], FT, "include", pair)
    decide(review, PUBMED[1][0], FT, "exclude", pair, reason="Wrong study design")
    decide(review, PUBMED[2][0], FT, "include", [reviewer])
    counts = check(review)
    assert (counts.other_sought, counts.other_not_retrieved, counts.other_assessed) == (1, 1, 0)
    assert counts.other_excluded_reasons == ()
    assert counts.awaiting_assessment == 2  # one with one decision, one with none
    assert (counts.included_studies, counts.included_reports) == (2, 2)

    # the conference abstract is a report of the trial: two reports, one study
    studies.link_report(
        record=by_title(review, EMBASE[1][0]), to=by_title(review, PUBMED[0][0]), user=lead
    )
    counts = check(review)
    assert (counts.included_studies, counts.included_reports) == (1, 2)

    decide(review, PUBMED[2][0], FT, "include", [second_reviewer])
    decide(review, EMBASE[2][0], FT, "exclude", pair, reason="Wrong outcomes")
    counts = check(review)
    assert (counts.assessed, counts.excluded_full_text) == (5, 2)
    assert (counts.included_studies, counts.included_reports) == (2, 3)

    # an update: the previous version's studies, and a new search after the stop
    previous = import_file(review, PREVIOUS, ImportBatch.Source.OTHER_DATABASE, "previous.ris")
    core.mark_batch_version(
        batch=previous, version_role="previous", search_date=dt.date(2022, 5, 1), user=lead
    )
    studies.link_report(
        record=by_title(review, PREVIOUS[1][0]), to=by_title(review, PREVIOUS[0][0]), user=lead
    )
    counts = check(review)
    assert counts.updated and (counts.previous_studies, counts.previous_reports) == (1, 2)
    assert (counts.included_studies, counts.included_reports) == (3, 5)
    assert not RecordScreening.objects.filter(record__batch=previous).exists()

    import_file(
        review, UPDATE, ImportBatch.Source.PUBMED, "update.ris", search_date=dt.date(2025, 6, 1)
    )
    counts = check(review)
    assert counts.not_screened_after_stopping == 4
    screening.resume_screening(review=review, stage=TA, user=lead)
    counts = check(review)
    assert (counts.not_screened_after_stopping, counts.awaiting_screening) == (0, 4)
    decide(review, UPDATE[0][0], TA, "include", pair)
    decide(review, UPDATE[1][0], TA, "exclude", pair)
    decide(review, UPDATE[0][0], FT, "include", pair)
    counts = check(review)
    assert (counts.new_studies, counts.new_reports) == (3, 4)
    assert (counts.included_studies, counts.included_reports) == (4, 6)
    assert FullText.objects.filter(not_retrieved=True).count() == 1
