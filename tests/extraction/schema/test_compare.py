"""Two extractions compared, and values shown as a person would write them."""

from __future__ import annotations

import pytest

from extraction.schema import (
    compare_values,
    display_value,
    is_categorical,
    values_agree,
)

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
