"""The built-in "Cytokines and PRP in neuropathic pain" template, checked without a database."""

from __future__ import annotations

import json

import pytest

from extraction.schema import (
    BUILTIN_TEMPLATES_DIR,
    builtin_definitions,
    clean_row,
    clean_value,
    load_template,
    missing_required,
)

PATH = BUILTIN_TEMPLATES_DIR / "cytokines_prp_neuropathic_pain.json"
DEFINITION = json.loads(PATH.read_text(encoding="utf-8"))
TEMPLATE = load_template(DEFINITION)

SUMMARY_COLUMNS = [
    "time_point",
    "days_since_injury",
    "time_point_days",
    "unit",
    "group",
    "group_role",
    "n",
    "mean",
    "sd",
    "se",
    "ci_lower",
    "ci_upper",
    "median",
    "q1",
    "q3",
    "minimum",
    "maximum",
    "source",
]

COMPLETE_HUMAN_STUDY = {
    "study.design": "rct",
    "study.subject": "human",
    "population.condition": "radiculopathy",
}
COMPLETE_ANIMAL_STUDY = {
    "study.design": "animal",
    "study.subject": "animal",
    "animal.species": "rat",
    "animal.strain": "Sprague-Dawley",
    "animal.sex": "male",
}


def test_the_template_loads_and_gives_back_its_file_unchanged():
    assert TEMPLATE.name == "Cytokines and PRP in neuropathic pain"
    assert TEMPLATE.to_dict() == DEFINITION


def test_the_file_name_matches_the_template_key():
    assert TEMPLATE.key == "cytokines-prp-neuropathic-pain"
    assert PATH.stem == TEMPLATE.key.replace("-", "_")
    assert builtin_definitions()[TEMPLATE.key] == DEFINITION


def test_the_sections_follow_the_order_of_a_paper():
    assert [section.key for section in TEMPLATE.sections] == [
        "study",
        "population",
        "animal",
        "prp",
        "arms",
        "cytokines",
        "outcomes",
        "safety",
        "notes",
    ]


@pytest.mark.parametrize(
    ("path", "values"),
    [
        (
            "study.design",
            {"rct", "non_randomised_trial", "cohort", "case_series", "animal", "in_vitro"},
        ),
        ("study.subject", {"human", "animal", "in_vitro"}),
        (
            "population.condition",
            {
                "diabetic_neuropathy",
                "postherpetic_neuralgia",
                "entrapment",
                "radiculopathy",
                "low_back_pain",
                "degenerative_disc_disease",
                "facet_joint_pain",
                "trigeminal",
                "other",
            },
        ),
        ("animal.species", {"rat", "mouse", "other"}),
        ("animal.sex", {"male", "female", "both"}),
        (
            "animal.model",
            {
                "cci",
                "sni",
                "snl",
                "psnl",
                "stz_diabetes",
                "chemotherapy",
                "nerve_crush",
                "disc_herniation",
                "other",
            },
        ),
        ("prp.leukocytes", {"rich", "poor", "not_reported"}),
        (
            "prp.activation",
            {"none", "calcium", "thrombin", "calcium_and_thrombin", "other", "not_reported"},
        ),
        ("prp.product_form", {"liquid", "fibrin_gel"}),
        (
            "prp.route",
            {
                "perineural",
                "epidural",
                "intradiscal",
                "facet",
                "intra_articular",
                "subcutaneous",
                "intrathecal",
                "intramuscular",
                "other",
            },
        ),
        (
            "prp.guidance",
            {"ultrasound", "fluoroscopy", "ct", "landmark", "none", "not_reported"},
        ),
        ("prp.comparator", {"saline", "steroid", "anaesthetic", "sham", "no_treatment", "other"}),
        (
            "cytokines.measurements.analyte",
            {
                "il1b",
                "il6",
                "tnfa",
                "il10",
                "il4",
                "il17",
                "ifng",
                "tgfb1",
                "ccl2",
                "pdgf",
                "pdgf_aa",
                "pdgf_ab",
                "pdgf_bb",
                "vegf",
                "igf1",
                "bdnf",
                "ngf",
                "il8",
                "il18",
                "il33",
                "gdnf",
                "nt3",
                "substance_p",
                "cgrp",
                "other",
            },
        ),
        (
            "cytokines.measurements.compartment",
            {
                "serum",
                "plasma",
                "csf",
                "drg",
                "dorsal_horn",
                "sciatic_nerve",
                "spinal_cord",
                "brain",
                "skin",
                "disc",
                "prp",
                "other",
            },
        ),
        (
            "cytokines.measurements.assay",
            {"elisa", "multiplex", "qpcr", "western_blot", "ihc", "flow_cytometry", "other"},
        ),
        (
            "cytokines.measurements.group_role",
            {"intervention", "comparator", "sham", "baseline", "naive", "other"},
        ),
        (
            "outcomes.results.measure",
            {
                "vas",
                "nrs",
                "odi",
                "von_frey",
                "thermal_latency",
                "cold",
                "dn4",
                "npsi",
                "bctq_sss",
                "bctq_fss",
                "ncv",
                "nerve_latency",
                "sfi",
                "other",
            },
        ),
        (
            "arms.groups.role",
            {
                "prp",
                "vehicle",
                "untreated",
                "sham",
                "naive",
                "anti_cytokine",
                "growth_factor",
                "active_other",
            },
        ),
        (
            "arms.groups.agent",
            {"anti_tnf", "anti_il6", "anti_il1", "gf_ngf", "gf_bdnf", "gf_gdnf", "gf_igf1"},
        ),
        (
            "safety.events.outcome",
            {"responders", "adverse_events", "serious_adverse_events"},
        ),
        ("outcomes.results.direction", {"lower_better", "higher_better"}),
        ("cytokines.measurements.direction", {"lower_better", "higher_better"}),
        ("cytokines.measurements.value_type", {"final", "change"}),
        ("outcomes.results.log_scale", {"natural", "log"}),
        ("prp.source", {"autologous", "allogeneic", "human_into_animal", "not_reported"}),
    ],
)
def test_choice_fields_offer_the_values_the_review_needs(path, values):
    offered = {value for value, _ in TEMPLATE.field(path).choices}
    assert values <= offered


@pytest.mark.parametrize(
    ("path", "value", "label"),
    [
        ("study.design", "rct", "Randomised controlled trial"),
        ("study.design", "animal", "Animal experiment"),
        ("animal.model", "cci", "Chronic constriction injury (CCI)"),
        ("cytokines.measurements.analyte", "il1b", "IL-1β"),
        ("cytokines.measurements.analyte", "tnfa", "TNF-α"),
        ("cytokines.measurements.analyte", "ifng", "IFN-γ"),
        ("cytokines.measurements.analyte", "tgfb1", "TGF-β1"),
        ("cytokines.measurements.analyte", "ccl2", "CCL2 (MCP-1)"),
        ("cytokines.measurements.compartment", "drg", "Dorsal root ganglion"),
        ("cytokines.measurements.compartment", "dorsal_horn", "Spinal dorsal horn"),
        ("cytokines.measurements.compartment", "disc", "Intervertebral disc"),
        ("cytokines.measurements.compartment", "prp", "PRP itself"),
        ("cytokines.measurements.assay", "ihc", "Immunohistochemistry"),
        ("cytokines.measurements.group_role", "intervention", "PRP"),
        ("cytokines.measurements.group_role", "naive", "Naive/healthy"),
        ("outcomes.results.measure", "von_frey", "von Frey threshold"),
        ("outcomes.results.measure", "thermal_latency", "Thermal withdrawal latency"),
    ],
)
def test_choices_read_as_a_researcher_writes_them(path, value, label):
    assert TEMPLATE.field(path).choice_label(value) == label


def test_a_complete_human_study_has_nothing_missing():
    assert missing_required(TEMPLATE, COMPLETE_HUMAN_STUDY) == []


def test_a_complete_animal_study_has_nothing_missing():
    assert missing_required(TEMPLATE, COMPLETE_ANIMAL_STUDY) == []


def test_species_strain_and_sex_are_required_when_the_subjects_are_animals():
    values = {"study.design": "animal", "study.subject": "animal"}
    missing = {problem.path: problem.message for problem in missing_required(TEMPLATE, values)}
    assert missing == {
        "animal.species": "Species is required when Subject is Animals.",
        "animal.strain": "Strain is required when Subject is Animals.",
        "animal.sex": "Sex is required when Subject is Animals.",
    }


@pytest.mark.parametrize("subject", ["human", "in_vitro"])
def test_animal_fields_are_not_required_for_other_subjects(subject):
    values = {**COMPLETE_HUMAN_STUDY, "study.subject": subject}
    assert not any(
        problem.path.startswith("animal.") for problem in missing_required(TEMPLATE, values)
    )


def test_design_and_subject_are_always_required():
    assert [problem.path for problem in missing_required(TEMPLATE, {})] == [
        "study.design",
        "study.subject",
    ]


@pytest.mark.parametrize(
    ("values", "path"),
    [
        ({"study.design": "other"}, "study.design_other"),
        ({"population.condition": "other"}, "population.condition_other"),
        ({"prp.activation": "other"}, "prp.activation_other"),
        ({"prp.route": ["epidural", "other"]}, "prp.route_other"),
    ],
)
def test_choosing_other_asks_what_it_was(values, path):
    missing = missing_required(TEMPLATE, {**COMPLETE_HUMAN_STUDY, **values})
    assert [problem.path for problem in missing] == [path]


def test_an_other_analyte_must_be_named_in_its_own_row():
    rows = [
        {"analyte": "il6", "compartment": "serum", "unit": "pg/mL", "group": "PRP"},
        {"analyte": "other", "compartment": "serum", "unit": "pg/mL", "group": "Saline"},
    ]
    missing = missing_required(TEMPLATE, {**COMPLETE_HUMAN_STUDY, "cytokines.measurements": rows})
    assert [(problem.row, problem.column) for problem in missing] == [(1, "analyte_other")]


def test_a_measurement_row_needs_what_makes_it_usable():
    values = {**COMPLETE_HUMAN_STUDY, "cytokines.measurements": [{"mean": 12.3}]}
    assert [problem.column for problem in missing_required(TEMPLATE, values)] == [
        "analyte",
        "compartment",
        "unit",
        "group",
    ]


@pytest.mark.parametrize("table", ["cytokines.measurements", "outcomes.results"])
def test_both_outcome_tables_end_with_the_same_summary_statistics(table):
    keys = [column.key for column in TEMPLATE.field(table).columns]
    assert keys[-len(SUMMARY_COLUMNS) :] == SUMMARY_COLUMNS


@pytest.mark.parametrize(
    ("path", "type_"),
    [
        ("cytokines.measurements", "table"),
        ("cytokines.measurements.analyte", "single_choice"),
        ("cytokines.measurements.analyte_other", "short_text"),
        ("cytokines.measurements.compartment", "single_choice"),
        ("cytokines.measurements.assay", "single_choice"),
        ("cytokines.measurements.time_point", "short_text"),
        ("cytokines.measurements.time_point_days", "decimal"),
        ("cytokines.measurements.unit", "short_text"),
        ("cytokines.measurements.group", "short_text"),
        ("cytokines.measurements.group_role", "single_choice"),
        ("cytokines.measurements.n", "integer"),
        ("cytokines.measurements.mean", "decimal"),
        ("cytokines.measurements.sd", "decimal"),
        ("cytokines.measurements.se", "decimal"),
        ("cytokines.measurements.median", "decimal"),
        ("cytokines.measurements.q1", "decimal"),
        ("cytokines.measurements.q3", "decimal"),
        ("cytokines.measurements.minimum", "decimal"),
        ("cytokines.measurements.maximum", "decimal"),
        ("cytokines.measurements.source", "short_text"),
        ("outcomes.results", "table"),
        ("outcomes.results.measure", "single_choice"),
        ("outcomes.results.measure_other", "short_text"),
        ("outcomes.results.direction", "single_choice"),
        ("outcomes.results.n", "integer"),
        ("outcomes.results.sd", "decimal"),
    ],
)
def test_table_columns_have_the_types_synthesis_expects(path, type_):
    assert TEMPLATE.field(path).type == type_


@pytest.mark.parametrize(
    ("path", "type_", "unit"),
    [
        ("study.sample_size", "integer", ""),
        ("study.funding", "long_text", ""),
        ("study.conflicts_of_interest", "long_text", ""),
        ("animal.shared_control", "yes_no_unclear", ""),
        ("animal.animals_per_group", "integer", ""),
        ("prp.blood_volume", "decimal", "mL"),
        ("prp.spins", "integer", ""),
        ("prp.spin1_force", "decimal", "g"),
        ("prp.spin1_time", "decimal", "min"),
        ("prp.spin2_force", "decimal", "g"),
        ("prp.spin2_time", "decimal", "min"),
        ("prp.platelet_concentration", "decimal", "×10³/µL"),
        ("prp.platelet_baseline", "decimal", "×10³/µL"),
        ("prp.platelet_fold", "decimal", ""),
        ("prp.wbc_concentration", "decimal", "×10³/µL"),
        ("prp.wbc_baseline", "decimal", "×10³/µL"),
        ("prp.neutrophil_concentration", "decimal", "×10³/µL"),
        ("prp.neutrophil_baseline", "decimal", "×10³/µL"),
        ("prp.injection_volume", "decimal", "mL"),
        ("prp.injections", "integer", ""),
        ("prp.injection_interval", "short_text", ""),
        ("prp.route", "multiple_choice", ""),
        ("prp.guidance", "multiple_choice", ""),
        ("prp.comparator", "multiple_choice", ""),
        ("prp.comparator_details", "long_text", ""),
        ("prp.post_injection", "long_text", ""),
        ("safety.adverse_events", "long_text", ""),
        ("safety.serious_adverse_events", "yes_no_unclear", ""),
        ("notes.notes", "long_text", ""),
    ],
)
def test_prp_and_study_fields_have_their_types_and_units(path, type_, unit):
    field = TEMPLATE.field(path)
    assert (field.type, field.unit) == (type_, unit)


def test_counts_and_spreads_refuse_impossible_numbers():
    table = TEMPLATE.field("cytokines.measurements")
    row, problems = clean_row(table, {"n": "0", "sd": "-1.2", "se": "0", "mean": "-3"})
    assert row == {"mean": -3.0}
    assert {column: problem.code for column, problem in problems.items()} == {
        "n": "below_min",
        "sd": "not_positive",
        "se": "not_positive",
    }
    assert problems["sd"].message == "SD must be greater than 0."


def test_the_sd_column_says_what_to_do_when_only_se_or_a_ci_is_reported():
    help_text = TEMPLATE.field("cytokines.measurements.sd").help
    assert "SE" in help_text
    assert "CI" in help_text
    assert "converted" in help_text


def test_fields_that_need_explaining_carry_help():
    for path in [
        "study.subject",
        "study.country",
        "prp.spin1_force",
        "prp.product_form",
        "animal.experimental_unit",
        "animal.shared_control",
        "cytokines.measurements.source",
        "cytokines.measurements.time_point_days",
        "outcomes.results.direction",
    ]:
        assert TEMPLATE.field(path).help, path


def test_a_realistic_animal_extraction_cleans_without_problems():
    raw = {
        "study.design": "animal",
        "study.subject": "animal",
        "study.sample_size": "40",
        "animal.species": "rat",
        "animal.strain": "Sprague-Dawley",
        "animal.sex": "male",
        "animal.model": "cci",
        "animal.shared_control": "no",
        "prp.spins": "2",
        "prp.spin1_force": "300",
        "prp.platelet_concentration": "1250.5",
        "prp.route": ["perineural"],
    }
    values = {path: clean_value(TEMPLATE.field(path), value) for path, value in raw.items()}
    assert missing_required(TEMPLATE, values) == []
    row, problems = clean_row(
        TEMPLATE.field("cytokines.measurements"),
        {
            "analyte": "tnfa",
            "compartment": "drg",
            "assay": "elisa",
            "time_point": "day 14",
            "time_point_days": "14",
            "unit": "pg/mg protein",
            "group": "CCI + PRP",
            "group_role": "intervention",
            "n": "8",
            "mean": "35.2",
            "se": "4.1",
            "source": "Figure 3 (digitised)",
        },
    )
    assert problems == {}
    assert row["time_point_days"] == 14.0
    assert row["n"] == 8
