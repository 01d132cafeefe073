"""Two extractors fill the cytokine and PRP form blind, the lead reconciles; templates are
versioned without losing answers; risk of bias follows each tool's algorithm."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from extraction import field_agreement, services
from extraction.models import Extraction, Study, Template
from reviewmgr.models import AuditEvent, Membership
from screening.models import RecordScreening
from tests.conftest import add_member, answer, include_at_full_text, make_record, make_user


def autosave(client, review, extraction, name, value, unit=None):
    data = {name: value}
    if unit is not None:
        data[name + "#unit"] = unit
    return client.post(
        reverse("extraction:save", args=[review.slug, extraction.pk]),
        data,
        headers={"HX-Request": "true", "HX-Trigger-Name": name},
    )


ANIMAL_STUDY = {
    "study.design": "animal",
    "study.subject": "animal",
    "animal.species": "rat",
    "animal.strain": "Sprague-Dawley",
    "animal.sex": "male",
}


def test_the_builtin_cytokine_and_prp_form_is_there_for_every_review(review):
    template = Template.objects.get(review=None, key=services.BUILTIN_KEY)

    assert template.name == "Cytokines and PRP in neuropathic pain"
    assert template.current.number == 1
    assert services.config_for(review).template == template
    services.ensure_builtin_templates()
    assert template.versions.count() == 1  # loading again adds no version


def test_records_included_at_full_text_become_studies(review):
    record = include_at_full_text(review)
    make_record(review, "Excluded at title and abstract")

    assert services.sync_studies(review=review) == 1
    assert list(Study.objects.values_list("record_id", flat=True)) == [record.pk]


def test_the_overview_writes_only_when_the_included_records_changed(client, review, lead):
    """Viewing the studies must not take the database's write lock each time."""
    first = include_at_full_text(review)
    client.force_login(lead)
    overview = reverse("extraction:overview", args=[review.slug])
    assert client.get(overview).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get(overview).status_code == 200
    writes = ("INSERT", "UPDATE", "DELETE", "SAVEPOINT", "BEGIN")
    assert [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(writes)] == []
    second = include_at_full_text(review, "PRP for sciatica")
    RecordScreening.objects.filter(record=first).update(outcome="exclude")
    page = client.get(overview).content.decode()
    assert "PRP for sciatica" in page
    assert list(Study.objects.values_list("record_id", flat=True)) == [second.pk]


def test_the_overview_costs_as_many_queries_for_six_studies_as_for_two(
    client, review, lead, extractors
):
    """The main extraction page, with agreement between extractors, must not query once
    per study (templates, records' reviews)."""
    client.force_login(lead)
    overview = reverse("extraction:overview", args=[review.slug])

    def add_studies(count):
        for n in range(count):
            include_at_full_text(review, f"PRP study {review.records.count() + n}")
        services.sync_studies(review=review)
        for study in Study.objects.filter(review=review, extractions__isnull=True):
            for person in extractors:
                services.start_extraction(study=study, user=person)
        Extraction.objects.filter(study__review=review).update(complete=True, values=ANIMAL_STUDY)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            page = client.get(overview)
        assert "Agreement between extractors" in page.content.decode()
        return len(captured)

    add_studies(2)
    two = queries()
    add_studies(4)
    assert queries() == two


def test_an_answer_saves_as_it_is_typed_and_a_bad_one_says_what_is_wrong(
    client, review, study, extractors
):
    first, _ = extractors
    extraction = services.start_extraction(study=study, user=first)
    client.force_login(first)

    response = autosave(client, review, extraction, "study.sample_size", "24")
    assert "Saved" in response.text
    response = autosave(client, review, extraction, "study.sample_size", "24.5")

    assert "Enter a whole number" in response.text
    extraction.refresh_from_db()
    assert extraction.values["study.sample_size"] == 24  # the good value was kept
    assert extraction.edits.filter(path="study.sample_size").count() == 1


def test_table_cells_save_row_by_row_and_sd_must_be_positive(client, review, study, extractors):
    first, _ = extractors
    extraction = services.start_extraction(study=study, user=first)
    services.add_row(extraction=extraction, path="cytokines.measurements", user=first)
    client.force_login(first)

    autosave(client, review, extraction, "cytokines.measurements|0|analyte", "il6")
    response = autosave(client, review, extraction, "cytokines.measurements|0|sd", "-1")

    assert "greater than 0" in response.text
    extraction.refresh_from_db()
    assert extraction.values["cytokines.measurements"] == [{"analyte": "il6"}]


def test_the_form_page_shows_every_section_to_its_extractor(client, review, study, extractors):
    first, _ = extractors
    extraction = services.start_extraction(study=study, user=first)
    client.force_login(first)

    page = client.get(reverse("extraction:extract", args=[review.slug, extraction.pk])).text

    for heading in ("Study", "PRP", "Cytokine", "Pain", "Adverse", "Risk of bias"):
        assert heading in page


def test_extraction_is_blind_to_the_other_extractor(client, review, study, extractors):
    first, second = extractors
    theirs = services.start_extraction(study=study, user=first)
    client.force_login(second)

    page = client.get(reverse("extraction:extract", args=[review.slug, theirs.pk]))
    saved = autosave(client, review, theirs, "study.sample_size", "99")

    assert page.status_code == 404
    assert saved.status_code == 404
    theirs.refresh_from_db()
    assert "study.sample_size" not in theirs.values
    # and the comparison stays closed to extractors unless the lead allows it
    assert (
        client.get(reverse("extraction:compare", args=[review.slug, study.pk])).status_code == 403
    )


def test_complete_is_refused_until_animal_essentials_are_filled(review, study, extractors):
    first, _ = extractors
    extraction = services.start_extraction(study=study, user=first)
    answer(extraction, first, {"study.design": "animal", "study.subject": "animal"})

    with pytest.raises(ValidationError) as refused:
        services.mark_complete(extraction=extraction)

    text = " ".join(refused.value.messages)
    assert "Strain" in text and "Sex" in text
    answer(extraction, first, ANIMAL_STUDY)
    assert services.mark_complete(extraction=extraction).complete


def test_a_third_extractor_is_turned_away(review, study, extractors):
    for user in extractors:
        services.start_extraction(study=study, user=user)
    third = make_user("extractor3")
    add_member(review, third, Membership.Role.EXTRACTOR)

    with pytest.raises(ValidationError, match="Two extractors"):
        services.start_extraction(study=study, user=third)


def complete_pair(study, extractors, second_values=None):
    first, second = extractors
    a = services.start_extraction(study=study, user=first)
    b = services.start_extraction(study=study, user=second)
    answer(a, first, {**ANIMAL_STUDY, "study.sample_size": "24"})
    answer(b, second, {**ANIMAL_STUDY, "study.sample_size": "20", **(second_values or {})})
    services.mark_complete(extraction=a)
    services.mark_complete(extraction=b)
    return a, b


def test_the_lead_sees_disagreements_and_builds_the_consensus(
    client, review, lead, study, extractors
):
    a, b = complete_pair(study, extractors)
    study.refresh_from_db()
    assert study.status == Study.Status.COMPLETE
    client.force_login(lead)
    url = reverse("extraction:compare", args=[review.slug, study.pk])

    page = client.get(url).text
    assert "<strong>1</strong> disagreement " in page
    assert 'class="disagree"' in page

    client.post(reverse("extraction:start_consensus", args=[review.slug, study.pk]))
    consensus = study.extractions.get(kind=Extraction.Kind.CONSENSUS)
    assert consensus.values["animal.strain"] == "Sprague-Dawley"  # agreed answers copied
    assert "study.sample_size" not in consensus.values  # the disagreement is left to choose

    take = reverse("extraction:take", args=[review.slug, study.pk])
    assert client.post(take, {"source": "abc", "path": "study.sample_size"}).status_code == 404
    client.post(take, {"source": b.pk, "path": "study.sample_size"})
    consensus.refresh_from_db()
    assert consensus.values["study.sample_size"] == 20

    client.post(reverse("extraction:complete", args=[review.slug, consensus.pk]))
    study.refresh_from_db()
    assert study.status == Study.Status.FINAL
    with pytest.raises(ValidationError, match="final"):
        services.save_value(extraction=consensus, path="study.sample_size", raw="21", user=lead)


def test_extractors_may_reconcile_when_the_lead_allows_it(client, review, study, extractors):
    complete_pair(study, extractors)
    client.force_login(extractors[0])
    url = reverse("extraction:compare", args=[review.slug, study.pk])
    assert client.get(url).status_code == 403

    config = services.config_for(review)
    config.extractors_may_reconcile = True
    config.save()

    assert client.get(url).status_code == 200


def test_agreement_per_field_with_kappa_for_categorical_fields(review, extractors):
    for n in range(3):
        include_at_full_text(review, f"Study {n}")
    services.sync_studies(review=review)
    for n, study in enumerate(Study.objects.filter(review=review)):
        design = "cohort" if n == 2 else "animal"
        complete_pair(study, extractors, {"study.design": design, "study.subject": "animal"})

    rows = {row["key"]: row for row in field_agreement.field_agreement(review)}

    assert rows["study.design"]["n"] == 3
    assert rows["study.design"]["percent"] == pytest.approx(200 / 3)
    assert "kappa" in rows["study.design"]
    assert rows["study.sample_size"]["percent"] == 0
    assert "kappa" not in rows["study.sample_size"]


def test_risk_of_bias_uses_the_tool_for_the_design_and_its_overall_rule(review, study, extractors):
    first, _ = extractors
    extraction = services.start_extraction(study=study, user=first)
    answer(extraction, first, {"study.design": "rct"})
    tool = services.tool_for(extraction)
    assert tool.key == "rob2"

    all_low = {d.key: "low" for d in tool.domains}
    assessment = services.save_risk_of_bias(
        extraction=extraction, tool="rob2", judgements=all_low, quotes={}, user=first
    )
    assert assessment.overall == "low"
    one_high = {**all_low, tool.domains[2].key: "high"}
    quote = {tool.domains[2].key: "40% lost to follow-up"}
    assessment = services.save_risk_of_bias(
        extraction=extraction, tool="rob2", judgements=one_high, quotes=quote, user=first
    )
    assert assessment.overall == "high"
    assert assessment.quotes == quote

    with pytest.raises(ValidationError):
        services.save_risk_of_bias(
            extraction=extraction, tool="rob2", judgements={"d1": "awful"}, quotes={}, user=first
        )


def test_animal_studies_are_judged_with_syrcle(review, study, extractors):
    first, _ = extractors
    extraction = services.start_extraction(study=study, user=first)
    answer(extraction, first, {"study.design": "animal"})

    assert services.tool_for(extraction).key == "syrcle"


def test_a_case_series_is_appraised_on_its_form_page(client, review, study, extractors):
    """Case series (common in the PRP literature) get their own appraisal on the form."""
    first, _ = extractors
    extraction = services.start_extraction(study=study, user=first)
    answer(extraction, first, {"study.design": "case_series"})
    client.force_login(first)
    page = client.get(reverse("extraction:extract", args=[review.slug, extraction.pk]))
    text = page.content.decode()
    assert "Case series appraisal (Murad et al.)" in text
    assert "Causality: other explanations" in text
    tool = services.tool_for(extraction)
    answers = {d.key: "low" for d in tool.domains} | {"alternative_causes": "high"}
    assessment = services.save_risk_of_bias(
        extraction=extraction, tool="case_series", judgements=answers, quotes={}, user=first
    )
    assert assessment.overall == "high"


def test_a_new_template_version_keeps_every_answer_and_says_what_changed(
    client, review, lead, study, extractors
):
    builtin = Template.objects.get(review=None)
    own = services.create_template(review=review, name="Our form", user=lead, copy_of=builtin)
    config = services.config_for(review)
    config.template = own
    config.save()
    first, _ = extractors
    extraction = services.start_extraction(study=study, user=first)
    answer(extraction, first, {"study.sample_size": "24", "study.country": "Italy"})

    definition = own.current.definition
    for section in definition["sections"]:
        section["fields"] = [f for f in section["fields"] if f["key"] != "country"]
        for field in section["fields"]:
            if field["key"] == "sample_size":
                field["type"] = "decimal"
    version = services.publish_template_version(template=own, definition=definition, user=lead)

    extraction.refresh_from_db()
    assert extraction.template_version == version
    assert extraction.values["study.sample_size"] == 24.0
    assert extraction.retired_values["study.country"] == "Italy"
    kinds = {(c["path"], c["kind"]) for c in version.changes}
    assert ("study.country", "removed") in kinds
    assert ("study.sample_size", "changed") in kinds
    client.force_login(first)
    page = client.get(reverse("extraction:extract", args=[review.slug, extraction.pk])).text
    assert "The form changed in version 2" in page
    assert "Italy" in page


def test_the_lead_adds_a_field_in_the_builder_and_a_bad_definition_is_explained(
    client, review, lead
):
    own = services.create_template(review=review, name="Our form", user=lead)
    client.force_login(lead)
    url = reverse("extraction:template", args=[review.slug, own.pk])

    client.post(
        url,
        {
            "action": "add",
            "add-section": "Study",
            "add-label": "Route",
            "add-type": "single_choice",
            "add-choices": "Perineural\nEpidural",
            "add-required": "on",
        },
    )
    field = services.schema.load_template(own.current.definition).field("study.route")
    assert field.required and [v for v, _ in field.choices] == ["perineural", "epidural"]
    assert own.current.number == 2

    response = client.post(url, {"action": "json", "json-definition": '{"key": "x", "sections": ['})
    assert "Line 1" in response.text
    response = client.post(
        url,
        {
            "action": "json",
            "json-definition": '{"key": "x", "name": "X", "sections": [{"key": "s", '
            '"title": "S", "fields": [{"key": "a", "label": "A", "type": "decimel"}]}]}',
        },
    )
    assert "decimel" in response.text
    assert own.current.number == 2


def test_a_study_keeps_its_form_when_the_lead_chooses_another_template(
    client, review, lead, study, extractors
):
    """Both extractors and the consensus of a study fill one form; another template chosen
    meanwhile applies to the studies nobody has begun, and the lead is told so."""
    first, second = extractors
    builtin = services.config_for(review).template
    started = services.start_extraction(study=study, user=first)
    own = services.create_template(review=review, name="Our form", user=lead, copy_of=builtin)
    client.force_login(lead)
    response = client.post(
        reverse("extraction:settings", args=[review.slug]), {"template": own.pk}, follow=True
    )
    assert "the 1 study already begun keep “Cytokines and PRP in neuropathic pain”" in (
        response.content.decode()
    )
    assert services.config_for(review).template == own
    (event,) = review.audit_events.filter(action=AuditEvent.Action.EXTRACTION_SETTINGS)
    assert (event.actor, event.before, event.after) == (
        lead,
        {"template": str(builtin)},
        {"template": str(own)},
    )

    partner = services.start_extraction(study=study, user=second)
    assert partner.template_version == started.template_version
    for extraction in (started, partner):
        extraction.values = {"study.design": "animal", "study.subject": "animal"}
        extraction.complete = True
        extraction.save()
    consensus = services.start_consensus(study=study, user=lead)
    assert consensus.template_version.template == builtin

    record = include_at_full_text(review, "PRP after spinal cord injury")
    services.sync_studies(review=review)
    later = services.start_extraction(study=Study.objects.get(record=record), user=first)
    assert later.template_version.template == own


def test_builtin_templates_cannot_be_edited(review, lead):
    builtin = Template.objects.get(review=None)
    with pytest.raises(ValidationError, match="built-in"):
        services.publish_template_version(
            template=builtin, definition=builtin.current.definition, user=lead
        )


def test_extraction_pages_keep_outsiders_and_other_roles_out(
    client, review, study, outsider, reviewer, extractors
):
    client.force_login(outsider)
    assert client.get(reverse("extraction:overview", args=[review.slug])).status_code == 404
    client.force_login(reviewer)
    assert client.get(reverse("extraction:overview", args=[review.slug])).status_code == 200
    response = client.post(reverse("extraction:start", args=[review.slug, study.pk]))
    assert response.status_code == 403
    own = services.create_template(review=review, name="Ours", user=reviewer)
    response = client.post(
        reverse("extraction:template", args=[review.slug, own.pk]), {"action": "json"}
    )
    assert response.status_code == 403


def test_odd_row_posts_get_a_message_and_change_nothing(client, review, study, extractors):
    """Row numbers that are not numbers, and fields that are not tables, are refused with a
    message; a plain answer is never treated as a list of rows."""
    first, _ = extractors
    extraction = services.start_extraction(study=study, user=first)
    answer(extraction, first, {"study.country": "Spain", "study.sample_size": "24"})
    client.force_login(first)
    rows = reverse("extraction:rows", args=[review.slug, extraction.pk])
    for data in (
        {"path": "study.country", "delete": "0"},
        {"path": "study.sample_size", "delete": "0"},
        {"path": "cytokines.measurements", "delete": "²"},
        {"path": "cytokines.measurements", "delete": "9" * 5000},
        {"path": "no.such_table"},
    ):
        response = client.post(rows, data, follow=True)
        assert response.status_code == 200, data
        assert list(response.context["messages"]), data
    save = reverse("extraction:save", args=[review.slug, extraction.pk])
    name = "cytokines.measurements|²|mean"
    response = client.post(
        save, {name: "3"}, headers={"HX-Request": "true", "HX-Trigger-Name": name}
    )
    assert response.status_code < 500
    extraction.refresh_from_db()
    assert extraction.values["study.country"] == "Spain"
    assert extraction.values["study.sample_size"] == 24


def test_taking_an_unknown_column_or_an_odd_row_is_refused(client, review, lead, study, extractors):
    a, _ = complete_pair(study, extractors)
    services.add_row(extraction=a, path="cytokines.measurements", user=a.extractor)
    consensus = services.start_consensus(study=study, user=lead)
    before = dict(consensus.values)
    client.force_login(lead)
    take = reverse("extraction:take", args=[review.slug, study.pk])
    for data in (
        {"source": a.pk, "path": "cytokines.measurements", "row": "0", "column": "nonexistent"},
        {"source": a.pk, "path": "cytokines.measurements", "row": "²", "column": "mean"},
        {"source": "²", "path": "study.country"},
    ):
        response = client.post(take, data, follow=True)
        assert response.status_code in (200, 404), data
    consensus.refresh_from_db()
    assert consensus.values == before
    assert not consensus.edits.filter(column="nonexistent").exists()


def test_clearing_a_risk_of_bias_judgement_takes_back_complete(study, extractors):
    first, _ = extractors
    extraction = services.start_extraction(study=study, user=first)
    answer(extraction, first, ANIMAL_STUDY)
    judged = {d.key: "low" for d in services.tool_for(extraction).domains}
    services.save_risk_of_bias(
        extraction=extraction, tool="syrcle", judgements=judged, quotes={}, user=first
    )
    services.mark_complete(extraction=extraction)
    services.save_risk_of_bias(
        extraction=extraction,
        tool="syrcle",
        judgements={**judged, "random_housing": ""},
        quotes={},
        user=first,
    )
    extraction.refresh_from_db()
    assert not extraction.complete
    with pytest.raises(ValidationError, match="Random housing"):
        services.mark_complete(extraction=extraction)


def test_a_reopened_consensus_moves_to_the_current_form(review, lead, study, extractors):
    builtin = services.config_for(review).template
    own = services.create_template(review=review, name="Our form", user=lead, copy_of=builtin)
    config = services.config_for(review)
    config.template = own
    config.save()
    complete_pair(study, extractors)
    consensus = services.start_consensus(study=study, user=lead)
    services.take_value(
        consensus=consensus,
        source=study.extractions.get(extractor=extractors[0]),
        path="study.sample_size",
        user=lead,
    )
    services.finalise_consensus(consensus=consensus, user=lead)
    definition = own.current.definition
    study_section = next(s for s in definition["sections"] if s["key"] == "study")
    study_section["fields"].append({"key": "setting", "label": "Setting", "type": "short_text"})
    services.publish_template_version(template=own, definition=definition, user=lead)
    consensus.refresh_from_db()
    assert consensus.template_version.number == 1  # final: left as it was

    services.reopen_consensus(consensus=consensus, user=lead)
    consensus.refresh_from_db()
    assert consensus.template_version == own.current
    assert consensus.values["study.sample_size"] == 24
    services.save_value(extraction=consensus, path="study.setting", raw="Clinic", user=lead)


def test_an_extractor_whose_role_was_removed_can_no_longer_edit(client, review, study, extractors):
    first, _ = extractors
    extraction = services.start_extraction(study=study, user=first)
    Membership.objects.filter(review=review, user=first).update(
        is_extractor=False, is_reviewer=True
    )
    client.force_login(first)
    response = autosave(client, review, extraction, "study.country", "Spain")
    assert response.status_code == 403
    extraction.refresh_from_db()
    assert "study.country" not in extraction.values


def test_a_failed_field_keeps_the_json_editor_filled(client, review, lead):
    own = services.create_template(review=review, name="Ours", user=lead)
    client.force_login(lead)
    url = reverse("extraction:template", args=[review.slug, own.pk])
    page = client.post(url, {"action": "add", "add-label": ""}).content.decode()
    assert "This field is required." in page
    assert "&quot;name&quot;: &quot;Ours&quot;" in page  # the JSON editor keeps the definition
