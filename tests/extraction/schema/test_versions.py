"""A template's versions: the changes between two, in words, and which answers carry over."""

from __future__ import annotations

import copy
from typing import Any

from extraction.schema import (
    Change,
    diff_templates,
    load_template,
    values_retained,
)
from tests.extraction.schema.conftest import DEFINITION, edited, field_def

# --- Versions --------------------------------------------------------------------------------


def test_an_unchanged_template_has_no_differences(template):
    assert diff_templates(template, load_template(copy.deepcopy(DEFINITION))) == []


def test_diff_lists_each_change_to_a_field_in_words(template):
    def change(d: dict[str, Any]) -> None:
        size = field_def(d, "study.sample_size")
        size.update(type="decimal", label="Total sample size", required=True, min=2)
        activation = field_def(d, "prp.activation")
        activation["choices"] = [["calcium", "Calcium chloride"], ["thrombin", "Thrombin"]]
        field_def(d, "study.funding")["help"] = "As stated."

    new = load_template(edited(change))
    assert diff_templates(template, new) == [
        Change("study.sample_size", "changed", "type integer -> decimal"),
        Change("study.sample_size", "changed", "label 'Sample size' -> 'Total sample size'"),
        Change("study.sample_size", "changed", "now required"),
        Change("study.sample_size", "changed", "min 1 -> 2"),
        Change("study.funding", "changed", "help text changed"),
        Change("prp.activation", "changed", "choices added: Thrombin"),
        Change("prp.activation", "changed", "choices removed: None"),
        Change(
            "prp.activation", "changed", "choice 'calcium' label 'Calcium' -> 'Calcium chloride'"
        ),
    ]


def test_diff_lists_added_and_removed_fields_sections_and_columns(template):
    def change(d: dict[str, Any]) -> None:
        d["sections"][0]["fields"] = [
            f for f in d["sections"][0]["fields"] if f["key"] != "blinded"
        ]
        table = field_def(d, "cytokines.measurements")
        table["columns"] = [c for c in table["columns"] if c["key"] != "tissue"]
        table["columns"].append({"key": "se", "label": "SE", "type": "decimal"})
        field_def(d, "cytokines.measurements.sd")["positive"] = False
        d["sections"].append(
            {
                "key": "notes",
                "title": "Notes",
                "fields": [{"key": "notes", "label": "Notes", "type": "long_text"}],
            }
        )

    assert diff_templates(template, load_template(edited(change))) == [
        Change("study.blinded", "removed", "'Blinded' (yes_no_unclear)"),
        Change("cytokines.measurements.tissue", "removed", "'Tissue' (short_text)"),
        Change("cytokines.measurements.sd", "changed", "no longer must be greater than 0"),
        Change("cytokines.measurements.se", "added", "'SE' (decimal)"),
        Change("notes", "added", "section 'Notes'"),
        Change("notes.notes", "added", "'Notes' (long_text)"),
    ]


def test_diff_describes_units_and_conditions(template):
    def change(d: dict[str, Any]) -> None:
        field_def(d, "prp.volume")["units"] = ["mL", "L"]
        field_def(d, "prp.spin1_force")["unit"] = "×g"
        field_def(d, "study.strain")["required_when"] = {
            "field": "study.subject",
            "in": ["animal", "human"],
        }
        field_def(d, "study.funding")["required_when"] = {
            "field": "study.design",
            "equals": "rct",
        }

    details = [change.detail for change in diff_templates(template, load_template(edited(change)))]
    assert details == [
        "required when study.subject is 'animal' -> study.subject is 'animal' or 'human'",
        "now required when study.design is 'rct'",
        "unit 'g' -> '×g'",
        "units added: L",
        "units removed: µL",
    ]


def test_values_of_an_unchanged_template_are_all_kept(template):
    values = {
        "study.design": "rct",
        "study.sample_size": 40,
        "study.countries": ["it", "us"],
        "prp.volume": {"value": 2.5, "unit": "mL"},
        "cytokines.measurements": [{"analyte": "il6", "n": 10}],
        "study.strain": None,
    }
    kept, set_aside = values_retained(template, template, values)
    assert kept == {key: value for key, value in values.items() if value is not None}
    assert set_aside == {}


def test_a_type_change_keeps_values_that_still_fit_and_sets_aside_the_rest(template):
    def change(d: dict[str, Any]) -> None:
        field_def(d, "study.sample_size")["type"] = "decimal"
        field_def(d, "prp.spin1_force").update(type="integer", min=0)
        field_def(d, "study.design").update(type="short_text")
        del field_def(d, "study.design")["choices"]

    new = load_template(edited(change))
    kept, set_aside = values_retained(
        template,
        new,
        {"study.sample_size": 40, "prp.spin1_force": 1500.5, "study.design": "rct"},
    )
    assert kept == {"study.sample_size": 40.0, "study.design": "rct"}
    assert set_aside == {"prp.spin1_force": 1500.5}


def test_a_choice_turned_into_text_keeps_its_label(template):
    def change(d: dict[str, Any]) -> None:
        countries = field_def(d, "study.countries")
        countries["type"] = "short_text"
        del countries["choices"]

    kept, _ = values_retained(
        template, load_template(edited(change)), {"study.countries": ["it", "jp"]}
    )
    assert kept == {"study.countries": "Italy, Japan"}


def test_values_of_a_removed_field_are_set_aside_not_lost(template):
    def change(d: dict[str, Any]) -> None:
        d["sections"][0]["fields"] = [f for f in d["sections"][0]["fields"] if f["key"] != "start"]

    kept, set_aside = values_retained(
        template, load_template(edited(change)), {"study.start": "2019", "study.design": "rct"}
    )
    assert kept == {"study.design": "rct"}
    assert set_aside == {"study.start": "2019"}


def test_a_renamed_choice_value_with_the_same_label_keeps_the_answer(template):
    def change(d: dict[str, Any]) -> None:
        field_def(d, "study.design")["choices"] = [
            ["randomised_trial", "Randomised controlled trial"],
            ["cohort", "Cohort study"],
        ]

    new = load_template(edited(change))
    kept, set_aside = values_retained(template, new, {"study.design": "rct"})
    assert kept == {"study.design": "randomised_trial"}
    assert set_aside == {}
    kept, set_aside = values_retained(template, new, {"study.design": "animal"})
    assert (kept, set_aside) == ({}, {"study.design": "animal"})


def test_a_single_choice_becoming_multiple_keeps_the_answer_as_a_list(template):
    definition = edited(lambda d: field_def(d, "study.design").update(type="multiple_choice"))
    kept, _ = values_retained(template, load_template(definition), {"study.design": "cohort"})
    assert kept == {"study.design": ["cohort"]}


def test_a_number_whose_fixed_unit_changed_is_set_aside_for_a_person_to_check(template):
    definition = edited(lambda d: field_def(d, "prp.spin1_force").update(unit="rpm"))
    kept, set_aside = values_retained(
        template, load_template(definition), {"prp.spin1_force": 1500.0}
    )
    assert (kept, set_aside) == ({}, {"prp.spin1_force": 1500.0})


def test_a_fixed_unit_becoming_a_unit_list_keeps_the_number_in_that_unit(template):
    def change(d: dict[str, Any]) -> None:
        force = field_def(d, "prp.spin1_force")
        del force["unit"]
        force["units"] = ["g", "rpm"]

    kept, _ = values_retained(template, load_template(edited(change)), {"prp.spin1_force": 1500.0})
    assert kept == {"prp.spin1_force": {"value": 1500.0, "unit": "g"}}


def test_table_cells_that_no_longer_fit_are_set_aside_row_by_row(template):
    def change(d: dict[str, Any]) -> None:
        table = field_def(d, "cytokines.measurements")
        table["columns"] = [c for c in table["columns"] if c["key"] != "mean"]
        field_def(d, "cytokines.measurements.analyte")["choices"] = [
            ["il6", "IL-6"],
            ["other", "Other"],
        ]

    rows = [
        {"analyte": "il6", "n": 10, "mean": 12.3},
        {"analyte": "tnfa", "n": 8},
    ]
    kept, set_aside = values_retained(
        template, load_template(edited(change)), {"cytokines.measurements": rows}
    )
    assert kept == {"cytokines.measurements": [{"analyte": "il6", "n": 10}, {"n": 8}]}
    assert set_aside == {"cytokines.measurements": [{"mean": 12.3}, {"analyte": "tnfa"}]}
