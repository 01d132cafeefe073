"""Loading a template definition: sections, fields and paths, and every problem of a definition
reported at once."""

from __future__ import annotations

from typing import Any

import pytest

from extraction.schema import (
    FIELD_TYPES,
    Condition,
    Field,
    load_template,
)
from tests.extraction.schema.conftest import DEFINITION, edited, field_def, load_problems

# --- Loading ---------------------------------------------------------------------------------


def test_a_definition_loads_into_sections_and_fields_addressed_by_path(template):
    assert [section.key for section in template.sections] == ["study", "prp", "cytokines"]
    assert [field.path for field in template.fields()][:3] == [
        "study.design",
        "study.subject",
        "study.sample_size",
    ]
    design = template.field("study.design")
    assert design.required
    assert design.choices[0] == ("rct", "Randomised controlled trial")
    assert template.field("study.strain").required_when == Condition(
        field="study.subject", equals="animal"
    )


def test_table_columns_are_addressed_by_section_table_and_column(template):
    sd = template.field("cytokines.measurements.sd")
    assert sd.path == "cytokines.measurements.sd"
    assert sd.positive
    assert template.field("cytokines.measurements").column("sd") is sd


def test_an_unknown_path_raises_key_error(template):
    with pytest.raises(KeyError):
        template.field("study.nothing")
    with pytest.raises(KeyError):
        template.field("study")


def test_fields_lists_top_level_fields_only_so_columns_come_with_their_table(template):
    paths = [field.path for field in template.fields()]
    assert "cytokines.measurements" in paths
    assert not any(path.count(".") > 1 for path in paths)


def test_to_dict_gives_back_the_definition_and_loads_to_an_equal_template(template):
    assert template.to_dict() == DEFINITION
    assert load_template(template.to_dict()) == template


def test_attributes_at_their_default_are_left_out_of_to_dict():
    definition = edited(lambda d: field_def(d, "study.funding").update(required=False, help=""))
    assert field_def(load_template(definition).to_dict(), "study.funding") == {
        "key": "funding",
        "label": "Funding",
        "type": "long_text",
    }


def test_a_column_heading_names_its_unit_once():
    dose = Field(key="dose", label="Dose", type="decimal", path="prp.dose", unit="mL")
    days = Field(key="t", label="Time point (days)", type="decimal", path="o.t", unit="days")
    plain = Field(key="n", label="Notes", type="short_text", path="o.n")
    assert [dose.heading, days.heading, plain.heading] == [
        "Dose (mL)",
        "Time point (days)",
        "Notes",
    ]


def test_a_misspelt_type_is_reported_with_its_position_and_path():
    definition = edited(lambda d: field_def(d, "prp.volume").update(type="decimel"))
    assert load_problems(definition) == [
        "sections[1].fields[1] (prp.volume): type 'decimel' is not one of " + ", ".join(FIELD_TYPES)
    ]


def test_every_problem_in_a_definition_is_reported_at_once():
    def break_everything(d: dict[str, Any]) -> None:
        study = d["sections"][0]["fields"]
        study[7]["key"] = "strain"  # a second "strain"
        study[2]["min"] = 10
        study[2]["max"] = 5
        study[4]["choices"] = []
        study[5]["key"] = "Start Date"
        study[6]["colour"] = "red"
        prp = d["sections"][1]["fields"]
        prp[0]["units"] = ["g"]  # beside a fixed unit
        prp[3]["choices"] = [["none", "None"], ["none", "Nothing"]]
        prp[4]["required_when"] = {"field": "prp.nothing", "equals": "x"}
        table = d["sections"][2]["fields"][0]
        table["columns"].append({"key": "inner", "label": "Inner", "type": "table"})
        d["sections"].append({"key": "study", "title": "Again", "fields": []})

    problems = load_problems(edited(break_everything))
    expected = [
        "sections[0].fields[7] (study.strain): key 'strain' is used more than once in this section",
        "sections[0].fields[2] (study.sample_size): min 10 is greater than max 5",
        "sections[0].fields[4] (study.countries): choices must be a non-empty list",
        "sections[0].fields[5] (study.Start Date): key 'Start Date' must be lower-case",
        "sections[0].fields[6] (study.blinded): unknown attribute 'colour'",
        "sections[1].fields[0] (prp.spin1_force): give either a fixed 'unit' or a list of "
        "'units', not both",
        "sections[1].fields[3] (prp.activation): choice value 'none' appears more than once",
        "sections[1].fields[4] (prp.activation_details): required_when refers to "
        "'prp.nothing', which is not a field of this template",
        "sections[2].fields[0].columns[6] (cytokines.measurements.inner): a table cannot "
        "contain another table",
        "sections[3] (study): key 'study' is used more than once in this template",
    ]
    for start in expected:
        assert any(problem.startswith(start) for problem in problems), start
    assert len(problems) == len(expected)


def test_template_error_is_a_value_error_whose_message_lists_the_problems():
    definition = edited(lambda d: field_def(d, "prp.volume").update(type="decimel"))
    with pytest.raises(ValueError, match="The template has 1 problem:\nsections\\[1\\]"):
        load_template(definition)


@pytest.mark.parametrize(
    ("attribute", "value", "message"),
    [
        ("choices", [["a", "A"]], "'choices' does not apply to a integer field"),
        ("units", ["mL"], "'units' does not apply to a integer field"),
        ("min", 1.5, "min of an integer field must be a whole number"),
        ("positive", "yes", "positive must be true or false"),
        ("columns", [], "'columns' does not apply to a integer field"),
        ("label", "", "label is required"),
    ],
)
def test_attributes_that_do_not_fit_the_type_are_rejected(attribute, value, message):
    definition = edited(lambda d: field_def(d, "study.sample_size").update({attribute: value}))
    [problem] = load_problems(definition)
    assert problem.startswith(f"sections[0].fields[2] (study.sample_size): {message}")


def test_a_yes_no_unclear_field_keeps_its_fixed_choices():
    definition = edited(lambda d: field_def(d, "study.blinded").update(choices=[["y", "Y"]]))
    assert "has fixed choices" in load_problems(definition)[0]


def test_a_table_needs_columns():
    definition = edited(lambda d: field_def(d, "cytokines.measurements").update(columns=[]))
    assert load_problems(definition) == [
        "sections[2].fields[0] (cytokines.measurements): a table needs a non-empty list of columns"
    ]


def test_a_condition_must_name_a_value_the_target_field_offers():
    definition = edited(
        lambda d: field_def(d, "study.strain")["required_when"].update(equals="animals")
    )
    assert load_problems(definition) == [
        "sections[0].fields[3] (study.strain): required_when value 'animals' is not a choice "
        "of study.subject"
    ]


def test_a_condition_needs_exactly_one_of_equals_or_in():
    definition = edited(
        lambda d: field_def(d, "study.strain").update(
            required_when={"field": "study.subject", "equals": "animal", "in": ["human"]}
        )
    )
    assert "exactly one of 'equals' or 'in'" in load_problems(definition)[0]


def test_a_column_condition_may_name_a_sibling_column_by_its_bare_key(template):
    condition = template.field("cytokines.measurements.analyte_other").required_when
    assert condition == Condition(field="analyte", equals="other")
    assert condition.is_sibling


def test_a_column_condition_must_name_a_column_of_its_own_table():
    definition = edited(
        lambda d: field_def(d, "cytokines.measurements.analyte_other")["required_when"].update(
            field="analyt"
        )
    )
    assert load_problems(definition) == [
        "sections[2].fields[0].columns[1] (cytokines.measurements.analyte_other): "
        "required_when refers to 'analyt', which is not a column of this table"
    ]


def test_a_top_level_condition_cannot_use_a_bare_key_or_look_into_a_table():
    def change(d: dict[str, Any]) -> None:
        field_def(d, "study.strain")["required_when"]["field"] = "subject"
        field_def(d, "prp.route_other")["required_when"] = {
            "field": "cytokines.measurements.analyte",
            "equals": "other",
        }

    problems = load_problems(edited(change))
    assert "must be a 'section.field' path" in problems[0]
    assert "refers to the table column 'cytokines.measurements.analyte'" in problems[1]


def test_a_field_cannot_depend_on_itself():
    definition = edited(
        lambda d: field_def(d, "study.strain")["required_when"].update(field="study.strain")
    )
    assert load_problems(definition) == [
        "sections[0].fields[3] (study.strain): required_when cannot refer to the field itself"
    ]


@pytest.mark.parametrize("definition", [None, [], "a template"])
def test_a_definition_that_is_not_an_object_is_rejected(definition):
    assert load_problems(definition) == [
        "definition: expected an object with key, name and sections"
    ]


def test_a_template_needs_a_key_a_name_and_sections():
    problems = load_problems({"key": "Bad Key", "name": "", "sections": []})
    assert problems == [
        "definition: key 'Bad Key' must be lower-case letters, digits, '-' and '_'",
        "definition: name is required",
        "definition: sections must be a list with at least one section",
    ]
