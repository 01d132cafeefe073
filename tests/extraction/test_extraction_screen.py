"""The extraction screen as extractors and the lead use it: rows paired by their key in the
comparison and the consensus, disagreements first, labels people can read, and a form that
answers each autosave, rejected or not, with what changed on the page."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from extraction import field_agreement, services
from reviewmgr.models import AuditEvent
from tests.conftest import make_study

TABLE = "cytokines.measurements"
ANIMAL_STUDY = {
    "study.design": "animal",
    "study.subject": "animal",
    "animal.species": "rat",
    "animal.strain": "Sprague-Dawley",
    "animal.sex": "male",
    "study.sample_size": "24",
}


@pytest.fixture
def study(review):
    return make_study(review, "PRP lowers IL-6 after CCI in rats")


def row(group, analyte, mean, *, day=14, compartment="drg", sd=4.0):
    return {
        "group": group,
        "analyte": analyte,
        "compartment": compartment,
        "time_point_days": str(day),
        "unit": "pg/mg",
        "group_role": "intervention" if group == "PRP" else "comparator",
        "n": "8",
        "mean": str(mean),
        "sd": str(sd),
    }


PRP_IL6 = row("PRP", "il6", 21.5)
SALINE_IL6 = row("CCI + saline", "il6", 48.1)
PRP_TNF = row("PRP", "tnfa", 11.0)
SALINE_TNF = row("CCI + saline", "tnfa", 30.2)


def extract(study, user, rows, values=ANIMAL_STUDY):
    extraction = services.start_extraction(study=study, user=user)
    for path, raw in values.items():
        services.save_value(extraction=extraction, path=path, raw=raw, user=user)
    for cells in rows:
        index = services.add_row(extraction=extraction, path=TABLE, user=user)
        for column, raw in cells.items():
            services.save_value(
                extraction=extraction, path=TABLE, raw=raw, user=user, row=index, column=column
            )
    return services.mark_complete(extraction=extraction)


def compare_page(client, review, study, show=""):
    url = reverse("extraction:compare", args=[review.slug, study.pk])
    return client.get(url + (f"?show={show}" if show else "")).text


# --- Rows paired by key ----------------------------------------------------------------------


def test_the_same_rows_in_another_order_are_no_disagreement(
    client, review, lead, study, extractors
):
    first, second = extractors
    extract(study, first, [PRP_IL6, SALINE_IL6, PRP_TNF, SALINE_TNF])
    extract(study, second, [SALINE_TNF, PRP_TNF, SALINE_IL6, PRP_IL6])
    client.force_login(lead)

    page = compare_page(client, review, study)

    assert "<strong>0</strong> disagreements" in page
    assert '<tr class="disagree">' not in page


def test_the_consensus_keeps_every_agreed_row_whatever_the_order(review, lead, study, extractors):
    first, second = extractors
    extract(study, first, [PRP_IL6, SALINE_IL6])
    extract(study, second, [SALINE_IL6, {**PRP_IL6, "mean": "22.5"}])

    consensus = services.start_consensus(study=study, user=lead)

    rows = consensus.values[TABLE]
    assert [(r["group"], r.get("mean")) for r in rows] == [("PRP", None), ("CCI + saline", 48.1)]


def test_taking_a_cell_fills_the_consensus_row_with_the_same_key(
    client, review, lead, study, extractors
):
    first, second = extractors
    extract(study, first, [PRP_IL6, SALINE_IL6])
    b = extract(study, second, [SALINE_IL6, {**PRP_IL6, "mean": "22.5"}])
    consensus = services.start_consensus(study=study, user=lead)
    client.force_login(lead)

    page = compare_page(client, review, study)
    # one disagreement (PRP's IL-6 mean); its second extractor's row is their second row
    assert "<strong>1</strong> disagreement " in page
    assert "Cytokine and growth-factor measurements › Mean" in page
    assert re.search(r'name="row" value="1"><input type="hidden" name="column" value="mean"', page)
    take = reverse("extraction:take", args=[review.slug, study.pk])
    client.post(take, {"source": b.pk, "path": TABLE, "row": "1", "column": "mean"})

    consensus.refresh_from_db()
    prp = next(r for r in consensus.values[TABLE] if r["group"] == "PRP")
    assert prp["mean"] == 22.5
    assert len(consensus.values[TABLE]) == 2
    assert ">22.5<" in compare_page(client, review, study, show="all")


def test_a_row_only_one_extractor_entered_can_be_taken_whole(
    client, review, lead, study, extractors
):
    first, second = extractors
    a = extract(study, first, [PRP_IL6, SALINE_IL6, PRP_TNF])
    extract(study, second, [SALINE_IL6, PRP_IL6])
    consensus = services.start_consensus(study=study, user=lead)
    assert len(consensus.values[TABLE]) == 2  # the unmatched row waits to be chosen
    client.force_login(lead)

    page = compare_page(client, review, study)
    assert "only extractor1 has this row" in page
    assert "PRP, TNF-α, Dorsal root ganglion, 14" in page or "PRP, TNF" in page
    take = reverse("extraction:take", args=[review.slug, study.pk])
    client.post(take, {"source": a.pk, "path": TABLE, "row": "2"})

    consensus.refresh_from_db()
    rows = consensus.values[TABLE]
    assert len(rows) == 3
    assert rows[2]["analyte"] == "tnfa" and rows[2]["mean"] == 11.0
    assert "only extractor1 has this row" in compare_page(client, review, study)


# --- What the comparison lists ---------------------------------------------------------------


def test_the_comparison_lists_disagreements_only_until_asked_for_all(
    client, review, lead, study, extractors
):
    first, second = extractors
    extract(study, first, [PRP_IL6])
    extract(
        study, second, [{**PRP_IL6, "sd": "5"}], values={**ANIMAL_STUDY, "study.sample_size": "20"}
    )
    client.force_login(lead)

    only = compare_page(client, review, study)
    everything = compare_page(client, review, study, show="all")

    assert only.count('<tr class="disagree">') == 2
    assert 'class="agree"' not in only
    total = everything.count('<tr class="agree">') + everything.count('<tr class="disagree">')
    assert re.search(r"Disagreements only \(2\)", only)
    assert re.search(rf"All answers \({total}, \d+ empty in both\)", only)
    # disagreements come first in the full list too
    first_agree = everything.index('<tr class="agree">')
    assert everything.rindex('<tr class="disagree">') < first_agree


def test_agreement_labels_a_table_column_with_its_table(review, study, extractors):
    first, second = extractors
    extract(study, first, [PRP_IL6])
    extract(study, second, [PRP_IL6])

    labels = {r["key"]: r["label"] for r in field_agreement.field_agreement(review)}

    assert labels[f"{TABLE}.mean"] == "Cytokine and growth-factor measurements › Mean"
    assert labels["study.design"] == "Design"


# --- Risk of bias ----------------------------------------------------------------------------


def test_the_overall_risk_of_bias_reads_some_concerns(client, review, study, extractors):
    first, _ = extractors
    extraction = services.start_extraction(study=study, user=first)
    services.save_value(extraction=extraction, path="study.design", raw="rct", user=first)
    extraction.refresh_from_db()
    tool = services.tool_for(extraction)
    judgements = {d.key: "low" for d in tool.domains}
    judgements[tool.domains[0].key] = "some_concerns"
    services.save_risk_of_bias(
        extraction=extraction, tool="rob2", judgements=judgements, quotes={}, user=first
    )
    client.force_login(first)

    page = client.get(reverse("extraction:extract", args=[review.slug, extraction.pk])).text

    assert "Overall (RoB 2): <strong" in page
    assert ">Some concerns</strong>" in page
    assert "someconcerns" not in page
    logged = AuditEvent.objects.filter(review=review).latest("pk").summary
    assert logged.endswith("overall Some concerns.")


def test_the_comparison_shows_each_extractors_overall_judgement(
    client, review, lead, study, extractors
):
    for person, worst in zip(extractors, ("some_concerns", "high"), strict=True):
        extraction = services.start_extraction(study=study, user=person)
        services.save_value(extraction=extraction, path="study.design", raw="rct", user=person)
        extraction.refresh_from_db()
        tool = services.tool_for(extraction)
        judgements = {d.key: "low" for d in tool.domains}
        judgements[tool.domains[0].key] = worst
        services.save_risk_of_bias(
            extraction=extraction, tool="rob2", judgements=judgements, quotes={}, user=person
        )
    client.force_login(lead)

    page = compare_page(client, review, study, show="all")

    overall = re.search(r"Overall judgement.*?</tr>", page, re.S).group(0)
    assert "<td>Some concerns</td><td>High risk</td>" in overall.replace("\n", "")


# --- The form answers each autosave with what changed -----------------------------------------


def autosave(client, review, extraction, name, value):
    return client.post(
        reverse("extraction:save", args=[review.slug, extraction.pk]),
        {name: value},
        headers={"HX-Request": "true", "HX-Trigger-Name": name},
    )


def test_each_autosave_sends_the_updated_list_of_what_is_still_missing(
    client, review, study, extractors
):
    first, _ = extractors
    extraction = services.start_extraction(study=study, user=first)
    client.force_login(first)
    page = client.get(reverse("extraction:extract", args=[review.slug, extraction.pk])).text
    assert "Design is required." in page

    answer = autosave(client, review, extraction, "study.design", "animal").text

    assert '<span class="saved">Saved</span>' in answer
    missing = answer[answer.index('<div id="still-missing" hx-swap-oob="true">') :]
    assert "Design is required." not in missing
    assert "Subject is required." in missing


def test_a_refused_value_says_the_saved_answer_is_kept(client, review, study, extractors):
    first, _ = extractors
    extraction = services.start_extraction(study=study, user=first)
    services.save_value(extraction=extraction, path="study.sample_size", raw="24", user=first)
    client.force_login(first)

    answer = autosave(client, review, extraction, "study.sample_size", "47,1").text

    assert "data-rejected" in answer
    assert "Not saved: the saved answer is still “24”." in answer
    extraction.refresh_from_db()
    assert extraction.values["study.sample_size"] == 24


def test_adding_a_row_with_htmx_sends_back_the_table_alone(client, review, study, extractors):
    first, _ = extractors
    extraction = services.start_extraction(study=study, user=first)
    client.force_login(first)
    url = reverse("extraction:rows", args=[review.slug, extraction.pk])

    answer = client.post(url, {"path": TABLE}, headers={"HX-Request": "true"})

    assert answer.status_code == 200
    text = answer.text
    assert text.lstrip().startswith('<div class="table-field" id="f-cytokines-measurements">')
    assert "<html" not in text and "Risk of bias" not in text
    assert "<tr data-new-row>" in text
    assert 'name="cytokines.measurements|0|mean"' in text
    assert 'id="still-missing" hx-swap-oob="true"' in text
    assert "Cytokine and growth-factor measurements, row 1: Analyte is required." in text
    # without JavaScript the form page is shown again, at the table
    plain = client.post(url, {"path": TABLE})
    assert plain.status_code == 302 and plain.url.endswith("#f-cytokines-measurements")
    extraction.refresh_from_db()
    assert len(extraction.values[TABLE]) == 2


def test_a_refused_row_change_is_said_inside_the_table(client, review, study, extractors):
    first, _ = extractors
    extraction = services.start_extraction(study=study, user=first)
    client.force_login(first)
    url = reverse("extraction:rows", args=[review.slug, extraction.pk])

    answer = client.post(url, {"path": TABLE, "delete": "4"}, headers={"HX-Request": "true"})

    assert 'role="alert">Row 5 does not exist.' in answer.text


def test_the_key_columns_come_first_and_stay_in_view(client, review, study, extractors):
    first, _ = extractors
    extraction = services.start_extraction(study=study, user=first)
    services.add_row(extraction=extraction, path=TABLE, user=first)
    client.force_login(first)

    page = client.get(reverse("extraction:extract", args=[review.slug, extraction.pk])).text

    table = page[page.index('id="f-cytokines-measurements"') :]
    names = re.findall(r'name="cytokines\.measurements\|0\|(\w+)"', table)
    key = ["group", "analyte", "compartment", "assay", "days_since_injury", "time_point_days"]
    assert names[:6] == key
    # the key cells are marked to stay in view; the day columns are the narrow, numeric ones
    sticky = r'<td class="sticky-col sticky-key( sticky-num)?">\s*(?:<span class="with-unit">)?'
    sticky += r'<(?:input|select) id="f-cytokines-measurements-0-([\w-]+)"'
    cells = re.findall(sticky, table)
    assert [(cell, bool(numeric)) for numeric, cell in cells] == [
        ("group", False),
        ("analyte", False),
        ("compartment", False),
        ("assay", False),
        ("days-since-injury", True),
        ("time-point-days", True),
    ]


def test_a_conditional_star_shows_only_while_its_condition_holds(client, review, study, extractors):
    first, _ = extractors
    extraction = services.start_extraction(study=study, user=first)
    client.force_login(first)
    url = reverse("extraction:extract", args=[review.slug, extraction.pk])

    def strain_star():
        page = client.get(url).text
        label = re.search(r'<label for="f-animal-strain".*?</label>', page, re.S).group(0)
        return label

    assert 'data-required-when="study.subject"' in strain_star()
    assert " hidden>*</span>" in strain_star()
    services.save_value(extraction=extraction, path="study.subject", raw="animal", user=first)
    assert " hidden>" not in strain_star()
    assert 'id="f-animal-strain" name="animal.strain"' in client.get(url).text
    assert re.search(r'id="f-animal-strain"[^>]*aria-required="true"', client.get(url).text)


def test_two_rows_with_the_same_key_are_pointed_out_while_typing(client, review, study, extractors):
    first, _ = extractors
    extraction = extract(study, first, [PRP_IL6, SALINE_IL6])
    services.add_row(extraction=extraction, path=TABLE, user=first)
    for column, raw in PRP_IL6.items():
        if column != "group":
            services.save_value(
                extraction=extraction, path=TABLE, raw=raw, user=first, row=2, column=column
            )
    client.force_login(first)
    page = client.get(reverse("extraction:extract", args=[review.slug, extraction.pk])).text
    assert "have the same group" not in page

    answer = autosave(client, review, extraction, f"{TABLE}|2|group", "PRP").text

    warning = 'id="f-cytokines-measurements-keys" class="key-warnings" hx-swap-oob="true">'
    assert warning in answer
    same = "group, analyte, compartment, assay, days since injury and days since PRP"
    assert f"Rows 1 and 3 have the same {same}" in answer
    page = client.get(reverse("extraction:extract", args=[review.slug, extraction.pk])).text
    assert "Rows 1 and 3 have the same group" in page
