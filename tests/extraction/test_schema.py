"""Extraction templates and values, without a database: loading, cleaning, completeness,
versions and comparison."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest

from extraction.schema import (
    FIELD_TYPES,
    Change,
    Condition,
    Field,
    Problem,
    TemplateError,
    ValueProblem,
    clean_row,
    clean_value,
    compare_values,
    diff_templates,
    display_value,
    is_categorical,
    load_template,
    missing_required,
    values_agree,
    values_retained,
)

DEFINITION: dict[str, Any] = {
    "key": "small-form",
    "name": "Small form",
    "description": "A few fields of every type.",
    "sections": [
        {
            "key": "study",
            "title": "Study",
            "help": "About the study.",
            "fields": [
                {
                    "key": "design",
                    "label": "Design",
                    "type": "single_choice",
                    "required": True,
                    "choices": [
                        ["rct", "Randomised controlled trial"],
                        ["cohort", "Cohort study"],
                        ["animal", "Animal experiment"],
                    ],
                },
                {
                    "key": "subject",
                    "label": "Subject",
                    "type": "single_choice",
                    "choices": [["human", "Humans"], ["animal", "Animals"]],
                },
                {"key": "sample_size", "label": "Sample size", "type": "integer", "min": 1},
                {
                    "key": "strain",
                    "label": "Strain",
                    "type": "short_text",
                    "help": "e.g. Sprague-Dawley",
                    "required_when": {"field": "study.subject", "equals": "animal"},
                },
                {
                    "key": "countries",
                    "label": "Countries",
                    "type": "multiple_choice",
                    "choices": [["it", "Italy"], ["us", "United States"], ["jp", "Japan"]],
                },
                {"key": "start", "label": "Start", "type": "date"},
                {"key": "blinded", "label": "Blinded", "type": "yes_no_unclear"},
                {"key": "funding", "label": "Funding", "type": "long_text"},
            ],
        },
        {
            "key": "prp",
            "title": "PRP",
            "fields": [
                {
                    "key": "spin1_force",
                    "label": "First spin",
                    "type": "decimal",
                    "unit": "g",
                    "min": 0,
                },
                {"key": "volume", "label": "Volume", "type": "decimal", "units": ["mL", "µL"]},
                {
                    "key": "female_percent",
                    "label": "Women",
                    "type": "decimal",
                    "unit": "%",
                    "min": 0,
                    "max": 100,
                },
                {
                    "key": "activation",
                    "label": "Activation",
                    "type": "single_choice",
                    "choices": [["none", "None"], ["calcium", "Calcium"]],
                },
                {
                    "key": "activation_details",
                    "label": "Activation details",
                    "type": "short_text",
                    "required_when": {"field": "prp.activation", "in": ["calcium"]},
                },
                {
                    "key": "route",
                    "label": "Route",
                    "type": "multiple_choice",
                    "choices": [["perineural", "Perineural"], ["other", "Other"]],
                },
                {
                    "key": "route_other",
                    "label": "Other route",
                    "type": "short_text",
                    "required_when": {"field": "prp.route", "equals": "other"},
                },
            ],
        },
        {
            "key": "cytokines",
            "title": "Cytokines",
            "fields": [
                {
                    "key": "measurements",
                    "label": "Measurements",
                    "type": "table",
                    "required": True,
                    "columns": [
                        {
                            "key": "analyte",
                            "label": "Analyte",
                            "type": "single_choice",
                            "required": True,
                            "choices": [["il6", "IL-6"], ["tnfa", "TNF-α"], ["other", "Other"]],
                        },
                        {
                            "key": "analyte_other",
                            "label": "Other analyte",
                            "type": "short_text",
                            "required_when": {"field": "analyte", "equals": "other"},
                        },
                        {"key": "n", "label": "n", "type": "integer", "positive": True},
                        {"key": "mean", "label": "Mean", "type": "decimal"},
                        {"key": "sd", "label": "SD", "type": "decimal", "positive": True},
                        {
                            "key": "tissue",
                            "label": "Tissue",
                            "type": "short_text",
                            "required_when": {"field": "study.subject", "equals": "animal"},
                        },
                    ],
                }
            ],
        },
    ],
}


@pytest.fixture
def template():
    return load_template(DEFINITION)


def edited(change) -> dict[str, Any]:
    """A deep copy of DEFINITION after `change(definition)`, for version and error tests."""
    definition = copy.deepcopy(DEFINITION)
    change(definition)
    return definition


def field_def(definition: dict[str, Any], path: str) -> dict[str, Any]:
    section_key, *keys = path.split(".")
    section = next(s for s in definition["sections"] if s["key"] == section_key)
    found = next(f for f in section["fields"] if f["key"] == keys[0])
    if len(keys) == 2:
        found = next(c for c in found["columns"] if c["key"] == keys[1])
    return found


def load_problems(definition: Any) -> list[str]:
    with pytest.raises(TemplateError) as caught:
        load_template(definition)
    return caught.value.problems


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


# --- Cleaning values -------------------------------------------------------------------------


def problem_of(field, raw) -> ValueProblem:
    with pytest.raises(ValueProblem) as caught:
        clean_value(field, raw)
    return caught.value


@pytest.mark.parametrize("raw", [None, "", "   "])
@pytest.mark.parametrize(
    "path",
    [
        "study.design",
        "study.sample_size",
        "study.strain",
        "study.countries",
        "study.start",
        "study.blinded",
        "study.funding",
        "prp.spin1_force",
    ],
)
def test_an_empty_answer_is_stored_as_none(template, path, raw):
    assert clean_value(template.field(path), raw) is None


def test_short_text_is_one_line_without_surrounding_spaces(template):
    strain = template.field("study.strain")
    assert clean_value(strain, "  Sprague-\nDawley   rats ") == "Sprague- Dawley rats"


def test_short_text_longer_than_500_characters_is_refused(template):
    problem = problem_of(template.field("study.strain"), "x" * 501)
    assert problem.code == "too_long"
    assert problem.message == "Strain is 501 characters long; shorten it to 500 at most."


def test_long_text_keeps_its_line_breaks_whatever_the_browser_sends(template):
    funding = template.field("study.funding")
    assert clean_value(funding, " Grant A\r\nGrant B\n") == "Grant A\nGrant B"


def test_text_restored_from_json_may_arrive_as_a_number(template):
    assert clean_value(template.field("study.strain"), 40) == "40"
    assert problem_of(template.field("study.strain"), ["a"]).code == "not_text"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("40", 40), (" 7 ", 7), ("+3", 3), ("1e3", 1000), ("10.0", 10), (12, 12), (12.0, 12)],
)
def test_an_integer_accepts_whole_numbers_however_written(template, raw, expected):
    value = clean_value(template.field("study.sample_size"), raw)
    assert value == expected
    assert type(value) is int


@pytest.mark.parametrize(
    ("raw", "code", "message"),
    [
        ("1.5", "not_whole", "Enter a whole number, not '1.5'."),
        (2.5, "not_whole", "Enter a whole number, not '2.5'."),
        ("forty", "not_a_number", "Enter a whole number, not 'forty'."),
        ("1e999", "not_a_number", "Enter a whole number, not '1e999'."),
        (True, "not_a_number", "Enter a whole number, not 'True'."),
        ("0", "below_min", "Sample size must be at least 1."),
    ],
)
def test_an_integer_refuses_what_is_not_a_whole_number_in_range(template, raw, code, message):
    problem = problem_of(template.field("study.sample_size"), raw)
    assert (problem.code, problem.message) == (code, message)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1500", 1500.0), (" 2.5 ", 2.5), ("1e3", 1000.0), (".5", 0.5), ("0", 0.0), (3, 3.0)],
)
def test_a_decimal_with_a_fixed_unit_is_stored_as_a_plain_float(template, raw, expected):
    value = clean_value(template.field("prp.spin1_force"), raw)
    assert value == expected
    assert type(value) is float


@pytest.mark.parametrize(
    ("raw", "code", "message"),
    [
        (
            "1,5",
            "not_a_number",
            "Enter a number with a point for decimals and no thousands separator, not '1,5'.",
        ),
        (
            "1,500",
            "not_a_number",
            "Enter a number with a point for decimals and no thousands separator, not '1,500'.",
        ),
        ("about 3", "not_a_number", "Enter a number, not 'about 3'."),
        ("nan", "not_a_number", "Enter a number, not 'nan'."),
        ("1e999", "not_a_number", "Enter a finite number."),
        ("-1", "below_min", "First spin must be at least 0."),
    ],
)
def test_a_decimal_refuses_what_is_not_a_plain_number(template, raw, code, message):
    problem = problem_of(template.field("prp.spin1_force"), raw)
    assert (problem.code, problem.message) == (code, message)


def test_a_decimal_above_its_maximum_is_refused(template):
    problem = problem_of(template.field("prp.female_percent"), "100.5")
    assert (problem.code, problem.message) == ("above_max", "Women must be at most 100.")


def test_a_positive_column_refuses_zero_naming_the_column(template):
    problem = problem_of(template.field("cytokines.measurements.sd"), "0")
    assert (problem.code, problem.message) == ("not_positive", "SD must be greater than 0.")


def test_a_decimal_with_a_fixed_unit_accepts_a_mapping_in_that_unit_only(template):
    force = template.field("prp.spin1_force")
    assert clean_value(force, {"value": "1500", "unit": "g"}) == 1500.0
    problem = problem_of(force, {"value": "1500", "unit": "rpm"})
    assert (problem.code, problem.message) == (
        "unknown_unit",
        "First spin is recorded in g, not 'rpm'.",
    )


def test_a_decimal_with_units_stores_the_value_and_the_chosen_unit(template):
    volume = template.field("prp.volume")
    assert clean_value(volume, {"value": " 2.5", "unit": "mL"}) == {"value": 2.5, "unit": "mL"}
    assert clean_value(volume, {"value": 3, "unit": "µL"}) == {"value": 3.0, "unit": "µL"}


def test_the_greek_mu_is_read_as_the_micro_sign_the_template_offers(template):
    volume = template.field("prp.volume")
    assert clean_value(volume, {"value": "3", "unit": "\u03bcL"}) == {
        "value": 3.0,
        "unit": "\u00b5L",
    }


def test_a_decimal_with_units_needs_one_of_its_units(template):
    volume = template.field("prp.volume")
    assert (problem_of(volume, {"value": "2.5", "unit": ""}).message) == "Choose a unit for Volume."
    assert problem_of(volume, "2.5").code == "unit_missing"
    problem = problem_of(volume, {"value": "2.5", "unit": "L"})
    assert (problem.code, problem.message) == (
        "unknown_unit",
        "'L' is not a unit offered for Volume (choose mL, µL).",
    )


def test_a_unit_without_a_number_is_empty(template):
    assert clean_value(template.field("prp.volume"), {"value": "", "unit": "mL"}) is None


def test_a_single_choice_takes_one_of_its_values(template):
    design = template.field("study.design")
    assert clean_value(design, " rct ") == "rct"
    problem = problem_of(design, "RCT")
    assert (problem.code, problem.message) == (
        "unknown_choice",
        "'RCT' is not one of the choices for Design.",
    )


def test_a_multiple_choice_is_stored_in_template_order_without_repeats(template):
    countries = template.field("study.countries")
    assert clean_value(countries, ["jp", "it", "jp", ""]) == ["it", "jp"]
    assert clean_value(countries, "us") == ["us"]
    assert clean_value(countries, []) is None
    problem = problem_of(countries, ["it", "fr", "de"])
    assert (problem.code, problem.message) == (
        "unknown_choice",
        "'de', 'fr' are not choices for Countries.",
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("yes", "yes"), ("No", "no"), ("unclear", "unclear"), (True, "yes"), (False, "no")],
)
def test_yes_no_unclear_takes_its_three_answers(template, raw, expected):
    assert clean_value(template.field("study.blinded"), raw) == expected


def test_yes_no_unclear_refuses_anything_else(template):
    assert problem_of(template.field("study.blinded"), "maybe").code == "unknown_choice"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2019-03-14", "2019-03-14"),
        ("2019-3-4", "2019-03-04"),
        (" 2019-03 ", "2019-03"),
        ("2019", "2019"),
        (2019, "2019"),
        (dt.date(2019, 3, 14), "2019-03-14"),
    ],
)
def test_a_date_may_be_a_day_a_month_or_a_year(template, raw, expected):
    assert clean_value(template.field("study.start"), raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("14/03/2019", "Enter Start as yyyy-mm-dd, yyyy-mm or yyyy, not '14/03/2019'."),
        ("March 2019", "Enter Start as yyyy-mm-dd, yyyy-mm or yyyy, not 'March 2019'."),
        ("2019-02-30", "'2019-02-30' is not a real date."),
        ("2019-13", "'2019-13' is not a real date."),
        ("0999", "'0999' is not a real date."),
    ],
)
def test_a_date_that_is_not_iso_or_not_real_is_refused(template, raw, message):
    problem = problem_of(template.field("study.start"), raw)
    assert (problem.code, problem.message) == ("bad_date", message)


def test_a_whole_table_is_cleaned_row_by_row_keeping_blank_rows(template):
    table = template.field("cytokines.measurements")
    raw = [{"analyte": "il6", "n": "10", "mean": "12.3", "sd": ""}, {}]
    assert clean_value(table, raw) == [{"analyte": "il6", "n": 10, "mean": 12.3}, {}]
    assert clean_value(table, []) is None


def test_a_bad_cell_in_a_table_is_reported_with_its_row(template):
    table = template.field("cytokines.measurements")
    problem = problem_of(table, [{"analyte": "il6"}, {"analyte": "il6", "sd": "-2"}])
    assert (problem.code, problem.message) == ("not_positive", "Row 2: SD must be greater than 0.")
    assert problem_of(table, {"analyte": "il6"}).code == "bad_table"


RAW_ANSWERS = [
    ("study.design", "cohort"),
    ("study.sample_size", "40"),
    ("study.strain", " Wistar  rats "),
    ("study.countries", ["us", "it"]),
    ("study.start", "2019-3"),
    ("study.blinded", "Unclear"),
    ("study.funding", "None\r\ndeclared"),
    ("prp.spin1_force", "1e3"),
    ("prp.volume", {"value": "2.5", "unit": "mL"}),
    ("cytokines.measurements", [{"analyte": "tnfa", "n": "8", "sd": "1.25"}]),
]


@pytest.mark.parametrize(("path", "raw"), RAW_ANSWERS)
def test_a_stored_value_cleans_to_itself_so_restores_are_lossless(template, path, raw):
    field = template.field(path)
    stored = clean_value(field, raw)
    assert clean_value(field, stored) == stored


# --- Rows ------------------------------------------------------------------------------------


def test_clean_row_keeps_valid_cells_and_reports_bad_ones_by_column(template):
    table = template.field("cytokines.measurements")
    row, problems = clean_row(
        table,
        {"analyte": "il6", "n": "1.5", "mean": "12.3", "sd": "0", "tissue": "", "csrf": "x"},
    )
    assert row == {"analyte": "il6", "mean": 12.3}
    assert set(problems) == {"n", "sd"}
    assert problems["n"].message == "Enter a whole number, not '1.5'."
    assert problems["sd"].code == "not_positive"


def test_clean_row_leaves_required_cells_to_the_completeness_check(template):
    row, problems = clean_row(template.field("cytokines.measurements"), {"mean": "3"})
    assert (row, problems) == ({"mean": 3.0}, {})


def test_clean_row_is_only_for_tables(template):
    with pytest.raises(ValueError, match="not a table"):
        clean_row(template.field("study.design"), {})


# --- Completeness ----------------------------------------------------------------------------

COMPLETE_HUMAN_STUDY = {
    "study.design": "rct",
    "study.subject": "human",
    "cytokines.measurements": [{"analyte": "il6", "n": 10, "mean": 12.3, "sd": 2.0}],
}


def test_a_complete_extraction_has_nothing_missing(template):
    assert missing_required(template, COMPLETE_HUMAN_STUDY) == []


def test_required_fields_and_a_required_table_without_rows_are_missing(template):
    assert missing_required(template, {"study.design": "", "cytokines.measurements": [{}]}) == [
        Problem("study.design", None, None, "Design is required."),
        Problem("cytokines.measurements", None, None, "Add at least one row to Measurements."),
        Problem(
            "cytokines.measurements",
            0,
            "analyte",
            "Measurements, row 1: Analyte is required.",
        ),
    ]


def test_a_conditional_field_is_required_only_when_its_condition_holds(template):
    animal = {**COMPLETE_HUMAN_STUDY, "study.subject": "animal"}
    assert missing_required(template, COMPLETE_HUMAN_STUDY) == []
    missing = missing_required(template, animal)
    assert (
        Problem("study.strain", None, None, "Strain is required when Subject is Animals.")
        in missing
    )
    assert missing_required(template, {**animal, "study.strain": "Wistar"}) == [
        Problem(
            "cytokines.measurements",
            0,
            "tissue",
            "Measurements, row 1: Tissue is required when Subject is Animals.",
        )
    ]


def test_a_condition_with_in_and_one_on_a_multiple_choice_are_both_checked(template):
    values = {
        **COMPLETE_HUMAN_STUDY,
        "prp.activation": "calcium",
        "prp.route": ["perineural", "other"],
    }
    assert [problem.message for problem in missing_required(template, values)] == [
        "Activation details is required when Activation is Calcium.",
        "Other route is required when Route includes Other.",
    ]


def test_a_column_condition_looks_at_the_same_row_only(template):
    values = {
        **COMPLETE_HUMAN_STUDY,
        "cytokines.measurements": [
            {"analyte": "il6"},
            {"analyte": "other"},
            {"analyte": "other", "analyte_other": "IL-33"},
        ],
    }
    assert missing_required(template, values) == [
        Problem(
            "cytokines.measurements",
            1,
            "analyte_other",
            "Measurements, row 2: Other analyte is required when Analyte is Other.",
        )
    ]


def test_a_conditionally_required_table_asks_for_a_row():
    def change(d: dict[str, Any]) -> None:
        table = field_def(d, "cytokines.measurements")
        del table["required"]
        table["required_when"] = {"field": "study.subject", "equals": "animal"}

    template = load_template(edited(change))
    values = {"study.design": "rct", "study.subject": "animal", "study.strain": "Wistar"}
    assert [problem.message for problem in missing_required(template, values)] == [
        "Add at least one row to Measurements: it is required when Subject is Animals."
    ]
    assert missing_required(template, {**values, "study.subject": "human"}) == []


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


# --- Comparison ------------------------------------------------------------------------------


def comparisons_by_place(template, a, b):
    return {(item.path, item.row, item.column): item for item in compare_values(template, a, b)}


def test_every_top_level_field_is_compared_and_both_empty_agree(template):
    items = compare_values(template, {"study.design": "rct"}, {"study.design": "cohort"})
    assert [item.path for item in items] == [
        field.path for field in template.fields() if field.type != "table"
    ]
    first = items[0]
    assert (first.label, first.a, first.b, first.agree) == ("Design", "rct", "cohort", False)
    assert all(item.agree for item in items[1:])


def test_an_answer_against_an_empty_one_disagrees(template):
    items = comparisons_by_place(template, {"study.strain": "Wistar"}, {})
    assert not items[("study.strain", None, None)].agree


def test_tables_are_compared_cell_by_cell_with_rows_aligned_by_index(template):
    a = {"cytokines.measurements": [{"analyte": "il6", "n": 10}, {"analyte": "tnfa"}]}
    b = {"cytokines.measurements": [{"analyte": "il6", "n": 12}]}
    items = comparisons_by_place(template, a, b)
    assert items[("cytokines.measurements", 0, "analyte")].agree
    n = items[("cytokines.measurements", 0, "n")]
    assert (n.label, n.a, n.b, n.agree) == ("n", 10, 12, False)
    missing_row = items[("cytokines.measurements", 1, "analyte")]
    assert (missing_row.a, missing_row.b, missing_row.agree) == ("tnfa", None, False)
    assert items[("cytokines.measurements", 1, "sd")].agree
    assert ("cytokines.measurements", 2, "analyte") not in items


def test_multiple_choices_agree_whatever_their_order(template):
    items = comparisons_by_place(
        template, {"study.countries": ["it", "us"]}, {"study.countries": ["us", "it"]}
    )
    assert items[("study.countries", None, None)].agree


def test_numbers_agree_within_a_relative_tolerance_only(template):
    force = template.field("prp.spin1_force")
    assert values_agree(force, 0.1 + 0.2, 0.3)
    assert values_agree(force, 1500, 1500.0)
    assert not values_agree(force, 1500.0, 1500.01)
    volume = template.field("prp.volume")
    assert values_agree(volume, {"value": 2.5, "unit": "mL"}, {"value": 2.5, "unit": "mL"})
    assert not values_agree(volume, {"value": 2.5, "unit": "mL"}, {"value": 2.5, "unit": "µL"})


def test_text_agrees_regardless_of_spacing_but_not_of_case(template):
    funding = template.field("study.funding")
    assert values_agree(funding, "Grant A\nGrant B", "Grant A  Grant B ")
    assert not values_agree(funding, "grant a", "Grant A")


# --- Display ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "text"),
    [
        ("study.design", "rct", "Randomised controlled trial"),
        ("study.design", "withdrawn_choice", "withdrawn_choice"),
        ("study.countries", ["it", "us"], "Italy, United States"),
        ("study.blinded", "unclear", "Unclear"),
        ("study.sample_size", 40, "40"),
        ("prp.spin1_force", 1500.0, "1500 g"),
        ("prp.volume", {"value": 2.5, "unit": "mL"}, "2.5 mL"),
        ("prp.female_percent", 62.5, "62.5%"),
        ("study.start", "2019-03", "2019-03"),
        ("cytokines.measurements", [{}, {}], "2 rows"),
        ("cytokines.measurements", [{}], "1 row"),
        ("study.design", None, ""),
        ("prp.volume", {"value": None, "unit": "mL"}, ""),
    ],
)
def test_display_value_shows_what_a_person_would_write(template, path, value, text):
    assert display_value(template.field(path), value) == text


def test_choice_fields_are_categorical_and_others_are_not(template):
    categorical = {field.path for field in template.fields() if is_categorical(field)}
    assert categorical == {
        "study.design",
        "study.subject",
        "study.countries",
        "study.blinded",
        "prp.activation",
        "prp.route",
    }


def test_yes_no_unclear_offers_its_fixed_choices(template):
    blinded = template.field("study.blinded")
    assert blinded.choices == ()
    assert [value for value, _ in blinded.options] == ["yes", "no", "unclear"]
    assert blinded.choice_label("no") == "No"
