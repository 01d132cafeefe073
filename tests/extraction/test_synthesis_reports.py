"""The meta-analyses as the lead reads them: the right groups compared (the sham trap), species
kept apart, every number's origin in the workbook, the lead's settings, and no stored value,
however wrong, making a report answer 500."""

from __future__ import annotations

import io
import math
import zipfile

import openpyxl
import pytest
from django.urls import reverse
from django.utils.text import slugify

from extraction import exports, reporting, schema, services, synthesis
from extraction.models import Extraction, ExtractionConfig, Study
from reviewmgr.models import AuditEvent, Membership
from tests.conftest import add_member, make_record, make_user

IL6 = "cytokines.measurements"


def il6(group, n, mean, sd, **days):
    return {
        "analyte": "il6",
        "compartment": "serum",
        "assay": "elisa",
        "unit": "pg/mL",
        "group": group,
        "n": n,
        "mean": mean,
        "sd": sd,
        "source": "Figure 3",
        **days,
    }


def groups(*rows):
    return [{"label": label, "role": role, "n": n} for label, role, n in rows]


CCI = {
    "study.design": "animal",
    "study.subject": "animal",
    "animal.species": "rat",
    "animal.strain": "Sprague-Dawley",
    "animal.sex": "male",
    "animal.model": "cci",
    "prp.injections": 1,
    "arms.groups": groups(
        ("Sham", "sham", 8), ("CCI + saline", "vehicle", 8), ("CCI + PRP", "prp", 8)
    ),
    "arms.comparisons": [{"treatment": "CCI + PRP", "control": "CCI + saline"}],
    IL6: [
        il6("Sham", 8, 20.0, 4.0, days_since_injury=14.0),
        il6("CCI + saline", 8, 45.0, 8.0, days_since_injury=14.0),
        il6("CCI + PRP", 8, 25.0, 6.0, days_since_injury=14.0),
        il6("CCI + saline", 8, 40.0, 8.0, days_since_injury=7.0),
        il6("CCI + PRP", 8, 30.0, 6.0, days_since_injury=7.0),
    ],
}
SNI = {
    "study.design": "animal",
    "study.subject": "animal",
    "animal.species": "rat",
    "animal.model": "sni",
    "arms.groups": groups(("SNI + vehicle", "vehicle", 10), ("SNI + PRP", "prp", 10)),
    "arms.comparisons": [{"treatment": "SNI + PRP", "control": "SNI + vehicle"}],
    IL6: [
        il6("SNI + vehicle", 10, 50.0, 10.0, days_since_injury=13.0),
        # SE instead of SD: converted, and the workbook says so
        {**il6("SNI + PRP", 10, 38.0, None, days_since_injury=13.0), "se": 3.0},
    ],
}
RCT = {
    "study.design": "rct",
    "study.subject": "human",
    "population.condition": "entrapment",
    "arms.groups": groups(("PRP", "prp", 30), ("Saline", "vehicle", 30)),
    "arms.comparisons": [{"treatment": "PRP", "control": "Saline"}],
    IL6: [
        il6("PRP", 30, 3.0, 1.0, time_point_days=180.0),
        il6("Saline", 30, 4.0, 1.2, time_point_days=180.0),
    ],
    "safety.events": [
        {
            "outcome": "adverse_events",
            "group": "PRP",
            "events": 3,
            "n": 30,
            "time_point_days": 180.0,
        },
        {
            "outcome": "adverse_events",
            "group": "Saline",
            "events": 2,
            "n": 30,
            "time_point_days": 180.0,
        },
    ],
}
WINDOWS = [
    {"label": "Day 14", "centre": 14, "half_width": 3, "basis": "injury"},
    {"label": "6 months", "centre": 180, "half_width": 30, "basis": "prp"},
]


def clean(values):
    """What the consensus would hold after the form cleaned it (SD None dropped)."""
    out = dict(values)
    for path in (IL6,):
        out[path] = [{k: v for k, v in row.items() if v is not None} for row in values[path]]
    return out


def add_study(review, author, year, values, version):
    record = make_record(review, f"{author} study", year=year, authors=[f"{author}, A."])
    study = Study.objects.create(review=review, record=record, status=Study.Status.FINAL)
    return Extraction.objects.create(
        study=study,
        kind=Extraction.Kind.CONSENSUS,
        template_version=version,
        values=clean(values),
        final=True,
    )


@pytest.fixture
def three_studies(review):
    services.config_for(review)
    config = ExtractionConfig.objects.get(review=review)
    config.estimator = "DL"  # the estimator every synthesis module offers
    config.time_windows = WINDOWS
    config.save()
    version = config.template.current
    return {
        "review": review,
        "cci": add_study(review, "Rossi", 2021, CCI, version),
        "sni": add_study(review, "Bianchi", 2022, SNI, version),
        "rct": add_study(review, "Chen", 2023, RCT, version),
    }


def hedges(n1, m1, s1, n2, m2, s2):
    df = n1 + n2 - 2
    d = (m1 - m2) / math.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / df)
    return (1 - 3 / (4 * df - 1)) * d


def rat_day_14(review):
    return next(
        a
        for a in reporting.analyses(review)
        if a.key.species == "Rat" and a.key.window.label == "Day 14" and a.key.outcome == "IL-6"
    )


def workbook(client, review, **query):
    response = client.get(reverse("extraction:workbook", args=[review.slug]), query)
    assert response.status_code == 200
    return openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))


def sheet_rows(sheet):
    head = [c.value for c in sheet[1]]
    return [
        dict(zip(head, (c.value for c in row), strict=True)) for row in sheet.iter_rows(min_row=2)
    ]


def test_the_cci_il6_day_14_comparison_is_prp_against_cci_saline_and_the_workbook_says_so(
    client, three_studies, lead
):
    review = three_studies["review"]
    analysis = rat_day_14(review)
    rossi = next(e for e in analysis.analysis.entries if e.study == "Rossi 2021")
    assert rossi.comparison == "CCI + PRP vs CCI + saline"
    effect = analysis.effects[rossi.label]
    g, _ = synthesis.hedges_g(synthesis.Arm(8, 25.0, 6.0), synthesis.Arm(8, 45.0, 8.0))
    assert effect.g == pytest.approx(g)
    assert g == pytest.approx(hedges(8, 25.0, 6.0, 8, 45.0, 8.0), abs=1e-3)
    assert effect.g < 0  # with Sham as the control it would have been positive
    assert analysis.result.pooled < 0

    client.force_login(lead)
    rows = sheet_rows(workbook(client, review)["Meta-analyses"])
    rossi_rows = [r for r in rows if r["Study"] == "Rossi 2021" and "Day 14" in r["Time window"]]
    (row,) = rossi_rows
    assert row["Groups compared"] == "CCI + PRP vs CCI + saline"
    assert (row["Treatment group"], row["Treatment n"], row["Treatment mean or events"]) == (
        "CCI + PRP",
        8,
        25.0,
    )
    assert (row["Control group"], row["Control n"], row["Control SD"]) == ("CCI + saline", 8, 8.0)
    assert row["Treatment figures from"] == "reported; Figure 3"
    assert row["Effect (g, RR or OR)"] == pytest.approx(effect.g)
    assert not any(r["Control group"] == "Sham" for r in rows)


def test_the_three_study_example_keeps_rats_and_people_apart_and_pools_the_rats(
    client, three_studies, reviewer
):
    review = three_studies["review"]
    analyses = reporting.analyses(review)
    il6 = [a for a in analyses if a.key.outcome == "IL-6" and a.key.kind == "continuous"]
    assert sorted((a.key.species, a.key.window.title, a.analysis.k) for a in il6) == [
        ("Human", "6 months: day 180 ± 30 since PRP", 1),
        ("Rat", "Day 14: day 14 ± 3 since injury", 2),
    ]
    rats = rat_day_14(review)
    expected = synthesis.meta_analyse(
        [
            synthesis.StudyComparison(
                "a", synthesis.Arm(8, 25.0, 6.0), synthesis.Arm(8, 45.0, 8.0)
            ),
            synthesis.StudyComparison(
                "b",
                synthesis.Arm(10, 38.0, 3.0 * math.sqrt(10)),
                synthesis.Arm(10, 50.0, 10.0),
            ),
        ],
        outcome="IL-6",
        method="DL",
    )
    assert rats.result.pooled == pytest.approx(expected.pooled)
    assert rats.result.tau2 == pytest.approx(expected.tau2)
    human = next(a for a in il6 if a.key.species == "Human")
    assert "needs at least two studies" in human.error
    reasons = {d.study: d.reason for d in human.analysis.decisions if not d.included}
    assert "species are never pooled together" in reasons["Rossi 2021"]

    client.force_login(reviewer)
    page = client.get(reverse("extraction:reports", args=[review.slug])).text
    assert "IL-6 in serum, rat, Day 14: day 14 ± 3 since injury" in page
    assert "IL-6 in serum, human, 6 months: day 180 ± 30 since PRP" in page
    assert f"Pooled g = {rats.result.pooled:.2f}" in page
    assert "SD from SE" in page  # the converted SD says where it came from
    forest = client.get(reverse("extraction:forest", args=[review.slug, rats.slug, "svg"]))
    assert forest.status_code == 200 and b"Rossi 2021" in forest.content


def test_the_workbook_meta_analyses_say_whose_data_they_are(client, three_studies, lead):
    review = three_studies["review"]
    person = make_user("ext1")
    add_member(review, person, Membership.Role.EXTRACTOR)
    Extraction.objects.create(
        study=three_studies["cci"].study,
        kind=Extraction.Kind.INDEPENDENT,
        extractor=person,
        template_version=three_studies["cci"].template_version,
        values=clean(CCI),
    )
    client.force_login(lead)
    consensus = workbook(client, review)["Meta-analyses"]
    assert consensus.cell(row=2, column=1).value == "Consensus data (final consensus extractions)"
    theirs = workbook(client, review, extractor="ext1")["Meta-analyses"]
    assert theirs.cell(row=2, column=1).value == "Data of extractor ext1, not the consensus"
    studies = {r["Study"] for r in sheet_rows(theirs)} - {None}
    assert studies == {"Rossi 2021"}
    page = client.get(reverse("extraction:reports", args=[review.slug]), {"extractor": "ext1"})
    assert "use <strong>ext1</strong>'s extractions, not the consensus" in page.text


BAD_VALUES = [1e200, -1e200, 1e-300, "∞", "-inf", "NaN", float("nan"), float("inf")]


def storable(value):
    """Neither database's JSON holds a bare NaN or infinity (both refuse the row); old data
    can only hold them as text, e.g. "nan" or "inf"."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


@pytest.mark.parametrize("bad", BAD_VALUES, ids=str)
def test_no_stored_value_makes_a_report_page_export_or_picture_answer_500(
    client, three_studies, lead, bad
):
    review = three_studies["review"]
    bad = storable(bad)
    for name in ("cci", "sni"):
        extraction = three_studies[name]
        values = dict(extraction.values)
        rows = [dict(row) for row in values[IL6]]
        if name == "cci":  # the sham row and day 7: day 14 stays poolable
            rows[0]["sd"] = bad
            rows[3]["mean"] = bad
            rows[4]["n"] = bad
        else:
            rows.append({**rows[0], "mean": bad, "sd": bad, "days_since_injury": bad})
        values[IL6] = rows
        values["prp.platelet_concentration"] = bad
        values["prp.injection_volume"] = bad
        values["arms.groups"] = [*values["arms.groups"], {"label": "Odd", "role": "prp", "n": bad}]
        Extraction.objects.filter(pk=extraction.pk).update(values=values)
    rct = three_studies["rct"]
    events = [dict(row) for row in rct.values["safety.events"]]
    events[0]["events"] = bad
    human = [dict(row) for row in rct.values[IL6]]
    human[0]["sd"] = bad
    Extraction.objects.filter(pk=rct.pk).update(
        values={**rct.values, "safety.events": events, IL6: human}
    )

    client.force_login(lead)
    page = client.get(reverse("extraction:reports", args=[review.slug]))
    assert page.status_code == 200
    assert "not a usable number" in page.text  # the trial's IL-6, out and saying why
    assert "Rows no analysis can use" in page.text and "no time in days" in page.text
    for name in ("workbook", "csv"):
        response = client.get(reverse(f"extraction:{name}", args=[review.slug]))
        assert response.status_code == 200
        b"".join(response.streaming_content)
    drawn = 0
    for item in reporting.analyses(review):
        for fmt in ("svg", "png"):
            url = reverse("extraction:forest", args=[review.slug, item.slug, fmt])
            status = client.get(url).status_code
            assert status in (200, 404)
            drawn += status == 200
    assert drawn == 2  # the rats' day 14, in SVG and PNG
    assert rat_day_14(review).analysis.k == 2
    for name in reporting.time_courses(reporting.analyses(review)):
        for fmt in ("svg", "png"):
            url = reverse("extraction:time_course", args=[review.slug, slugify(name), fmt])
            assert client.get(url).status_code in (200, 404)


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("1e200", "absurd"),
        ("1e-300", "absurd"),
        ("∞", "not_a_number"),
        ("-inf", "not_a_number"),
        ("NaN", "not_a_number"),
        ("5e12", "absurd"),
    ],
)
def test_absurd_or_non_finite_numbers_are_refused_on_the_field_with_a_message(typed, code):
    column = schema.load_template(
        schema.builtin_definitions()["cytokines-prp-neuropathic-pain"]
    ).field("cytokines.measurements.sd")
    with pytest.raises(schema.ValueProblem) as problem:
        schema.clean_value(column, typed)
    assert problem.value.code == code
    assert schema.clean_value(column, "0.000004") == 4e-6


def test_implausible_figures_are_warned_on_save_and_shown_in_the_comparison(client, review, lead):
    person = make_user("ext1")
    add_member(review, person, Membership.Role.EXTRACTOR)
    record = make_record(review, "PRP in rats", year=2021)
    study = Study.objects.create(review=review, record=record)
    version = services.config_for(review).template.current
    extraction = Extraction.objects.create(
        study=study, extractor=person, template_version=version, values={}
    )
    services.add_row(extraction=extraction, path=IL6, user=person)
    client.force_login(person)
    save = reverse("extraction:save", args=[review.slug, extraction.pk])
    for column, value in (("mean", "3.1"), ("sd", "5000")):
        name = f"{IL6}|0|{column}"
        response = client.post(
            save, {name: value}, headers={"HX-Request": "true", "HX-Trigger-Name": name}
        )
    assert "Saved" in response.text
    assert "Check: The SD (5000) is more than 10 times the mean (3.1)" in response.text
    for column, value in (
        ("ci_lower", "9"),
        ("ci_upper", "2"),
        ("q1", "7"),
        ("q3", "1"),
        ("n", "2000000"),
    ):
        services.save_value(
            extraction=extraction, path=IL6, row=0, column=column, raw=value, user=person
        )
    form = client.get(reverse("extraction:extract", args=[review.slug, extraction.pk])).text
    assert "Figures to check" in form
    assert "lower bound is above its upper bound (9 &gt; 2)" in form
    assert "Q1 is above Q3 (7 &gt; 1)" in form
    assert "n = 2000000 is more than a million" in form

    other = make_user("ext2")
    add_member(review, other, Membership.Role.EXTRACTOR)
    Extraction.objects.create(study=study, extractor=other, template_version=version, values={})
    client.force_login(lead)
    page = client.get(reverse("extraction:compare", args=[review.slug, study.pk])).text
    assert "Figures to check" in page and "<strong>ext1</strong>: Cytokine" in page


def test_the_form_proposes_the_comparison_and_never_sham(client, review):
    person = make_user("ext1")
    add_member(review, person, Membership.Role.EXTRACTOR)
    study = Study.objects.create(review=review, record=make_record(review, "CCI rats"))
    version = services.config_for(review).template.current
    extraction = Extraction.objects.create(
        study=study,
        extractor=person,
        template_version=version,
        values={"arms.groups": CCI["arms.groups"]},
    )
    client.force_login(person)
    rows = reverse("extraction:rows", args=[review.slug, extraction.pk])
    response = client.post(rows, {"path": "arms.comparisons", "propose": "1"}, follow=True)
    assert "Proposed 1 comparison: CCI + PRP vs CCI + saline" in response.text
    extraction.refresh_from_db()
    assert extraction.values["arms.comparisons"] == [
        {"treatment": "CCI + PRP", "control": "CCI + saline"}
    ]
    client.post(rows, {"path": "arms.comparisons", "propose": "1"})
    extraction.refresh_from_db()
    assert len(extraction.values["arms.comparisons"]) == 1  # not proposed twice


def test_the_lead_sets_the_estimator_and_windows_and_others_may_not(
    client, review, lead, reviewer, outsider
):
    url = reverse("extraction:synthesis_settings", args=[review.slug])
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    client.force_login(reviewer)
    assert client.get(url).status_code == 403
    client.force_login(lead)
    assert ExtractionConfig._meta.get_field("estimator").default == "REML"
    page = client.get(url)
    assert page.status_code == 200 and "Restricted maximum likelihood (REML)" in page.text
    bad = client.post(
        url,
        {
            "estimator": "PM",
            "multi_arm": "split",
            "binary_measure": "OR",
            "binary_pooling": "IV",
            "windows": "Day 14: 14 ± 3 since injury\nsoon-ish",
        },
    )
    assert bad.status_code == 200 and "Line 2 (&#x27;soon-ish&#x27;)" in bad.text
    assert ExtractionConfig.objects.get(review=review).estimator == "REML"
    client.post(
        url,
        {
            "estimator": "PM",
            "multi_arm": "combine",
            "binary_measure": "OR",
            "binary_pooling": "IV",
            "windows": "Day 14: 14 ± 3 since injury\n180 ± 30 since PRP",
        },
    )
    config = ExtractionConfig.objects.get(review=review)
    assert (config.estimator, config.multi_arm, config.binary_measure) == ("PM", "combine", "OR")
    assert config.time_windows == [
        {"label": "Day 14", "centre": 14.0, "half_width": 3.0, "basis": "injury"},
        {"label": "", "centre": 180.0, "half_width": 30.0, "basis": "prp"},
    ]
    assert "Day 14: 14 ± 3 since injury" in client.get(url).text
    (event,) = review.audit_events.filter(action=AuditEvent.Action.SYNTHESIS_SETTINGS)
    assert event.actor == lead
    assert event.before == {
        "estimator": "REML",
        "multi_arm": ExtractionConfig._meta.get_field("multi_arm").default,
        "binary_measure": ExtractionConfig._meta.get_field("binary_measure").default,
        "binary_pooling": ExtractionConfig._meta.get_field("binary_pooling").default,
        "time_windows": [],
    }
    assert event.after["time_windows"] == config.time_windows


def test_the_lead_chooses_how_one_analysis_handles_a_shared_control(client, review, lead, reviewer):
    url = reverse("extraction:multi_arm", args=[review.slug])
    client.force_login(reviewer)
    assert client.post(url, {"analysis": "x", "multi_arm": "combine"}).status_code == 403
    client.force_login(lead)
    client.post(url, {"analysis": "continuous-il-6", "multi_arm": "combine"})
    assert ExtractionConfig.objects.get(review=review).multi_arm_by_analysis == {
        "continuous-il-6": "combine"
    }
    response = client.post(url, {"analysis": "continuous-il-6", "multi_arm": "both"}, follow=True)
    assert "Choose split, combine or the review" in response.text
    client.post(url, {"analysis": "continuous-il-6", "multi_arm": "default"})
    assert ExtractionConfig.objects.get(review=review).multi_arm_by_analysis == {}


def test_the_mibo_score_counts_a_single_injections_interval_and_not_a_typed_not_reported():
    base = {"prp.injections": 1, "prp.system": "Not reported", "prp.final_volume": 4.0}
    score = exports.mibo_score(base)
    assert "injection_interval" not in score.missing
    assert "preparation_system" in score.missing
    assert "prp_volume" not in score.missing
    assert "injection_interval" in exports.mibo_score({"prp.injections": 3}).missing


def test_study_level_headers_carry_their_units(client, three_studies, lead):
    client.force_login(lead)
    book = workbook(client, three_studies["review"])
    prp = [c.value for c in book["PRP protocols"][1]]
    for header in (
        "Whole blood drawn (mL)",
        "First spin, force (g)",
        "First spin, time (min)",
        "Platelet concentration (×10³/µL)",
    ):
        assert header in prp
    assert "Age, mean (years)" in [c.value for c in book["Characteristics"][1]]


def test_adverse_events_pool_as_a_risk_ratio_when_two_trials_report_them(three_studies):
    review = three_studies["review"]
    version = three_studies["rct"].template_version
    add_study(review, "Dubois", 2024, RCT, version)
    (harms,) = [a for a in reporting.analyses(review) if a.key.kind == "dichotomous"]
    assert harms.analysis.k == 2 and harms.result is not None
    assert harms.result.measure == "RR"


def test_the_time_course_picture_draws_il6_by_day_with_people_and_rats_apart(
    client, three_studies, reviewer
):
    review = three_studies["review"]
    courses = reporting.time_courses(reporting.analyses(review))
    panels = {series.panel for series in courses["IL-6"]}
    assert panels == {"Human (days since PRP)", "Rat (days since injury)"}
    client.force_login(reviewer)
    for fmt, start in (("svg", b"<?xml"), ("png", b"\x89PNG")):
        url = reverse("extraction:time_course", args=[review.slug, "il-6", fmt])
        response = client.get(url)
        assert response.status_code == 200 and response.content.startswith(start)


def test_old_nan_in_a_csv_zip_is_written_without_breaking(client, three_studies, lead):
    client.force_login(lead)
    response = client.get(reverse("extraction:csv", args=[three_studies["review"].slug]))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    text = archive.read("meta-analyses.csv").decode("utf-8-sig")
    assert "CCI + PRP vs CCI + saline" in text


def test_a_typed_1e200_is_refused_on_its_field_and_the_stored_value_kept(client, review):
    person = make_user("ext1")
    add_member(review, person, Membership.Role.EXTRACTOR)
    study = Study.objects.create(review=review, record=make_record(review, "PRP in rats"))
    version = services.config_for(review).template.current
    extraction = Extraction.objects.create(
        study=study, extractor=person, template_version=version, values={IL6: [{"sd": 4.0}]}
    )
    client.force_login(person)
    name = f"{IL6}|0|sd"
    response = client.post(
        reverse("extraction:save", args=[review.slug, extraction.pk]),
        {name: "1e200"},
        headers={"HX-Request": "true", "HX-Trigger-Name": name},
    )
    assert "1e+200 is not a plausible value" in response.text
    extraction.refresh_from_db()
    assert extraction.values[IL6] == [{"sd": 4.0}]


def test_a_changed_value_is_pooled_at_once_whatever_was_computed_before(three_studies):
    review = three_studies["review"]
    before = rat_day_14(review).result.pooled
    assert rat_day_14(review).result.pooled == before  # asked again: the same answer
    cci = three_studies["cci"]
    rows = [dict(row) for row in cci.values[IL6]]
    rows[2]["mean"] = 44.0  # PRP now barely differs from saline
    Extraction.objects.filter(pk=cci.pk).update(values={**cci.values, IL6: rows})
    assert rat_day_14(review).result.pooled > before


def test_the_reports_page_states_the_estimator_and_measure_the_lead_chose(client, three_studies):
    review = three_studies["review"]
    client.force_login(review.memberships.get(is_lead=True).user)
    page = client.get(reverse("extraction:reports", args=[review.slug])).text
    assert "τ² by DerSimonian-Laird" in page
    assert "dichotomous outcomes as the risk ratio, pooled by Mantel-Haenszel" in page
