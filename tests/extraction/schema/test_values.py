"""What extractors enter: cleaning each answer and table row, and what a template still
requires."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from extraction.schema import (
    Problem,
    ValueProblem,
    clean_row,
    clean_value,
    load_template,
    missing_required,
)
from tests.extraction.schema.conftest import edited, field_def

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
