"""Table rows are compared by what they are (their key), not by where they were entered."""

from __future__ import annotations

import copy

import pytest

from extraction import rowmatch
from extraction.schema import (
    TemplateError,
    builtin_definitions,
    compare_values,
    diff_templates,
    load_template,
)

TABLE = {
    "key": "measurements",
    "label": "Measurements",
    "type": "table",
    "row_key": ["group", "analyte", "day"],
    "columns": [
        {"key": "group", "label": "Group", "type": "short_text"},
        {
            "key": "analyte",
            "label": "Analyte",
            "type": "single_choice",
            "choices": [["il6", "IL-6"], ["tnfa", "TNF-α"], ["other", "Other"]],
        },
        {"key": "analyte_other", "label": "Other analyte", "type": "short_text"},
        {"key": "day", "label": "Day", "type": "decimal"},
        {"key": "n", "label": "n", "type": "integer"},
        {"key": "mean", "label": "Mean", "type": "decimal"},
    ],
}


def definition(table=TABLE):
    return {
        "key": "keyed",
        "name": "Keyed form",
        "sections": [{"key": "cyto", "title": "Cytokines", "fields": [copy.deepcopy(table)]}],
    }


@pytest.fixture
def template():
    return load_template(definition())


def cells(template, a_rows, b_rows):
    return compare_values(template, {"cyto.measurements": a_rows}, {"cyto.measurements": b_rows})


PRP_IL6 = {"group": "PRP", "analyte": "il6", "day": 14, "n": 8, "mean": 21.5}
SALINE_IL6 = {"group": "CCI + saline", "analyte": "il6", "day": 14, "n": 8, "mean": 48.1}
PRP_TNF = {"group": "PRP", "analyte": "tnfa", "day": 14, "n": 8, "mean": 11.0}


def test_the_same_rows_entered_in_another_order_agree_everywhere(template):
    items = cells(template, [PRP_IL6, SALINE_IL6, PRP_TNF], [PRP_TNF, PRP_IL6, SALINE_IL6])
    assert [item for item in items if not item.agree] == []
    means = {(i.row_a, i.row_b): i.a for i in items if i.column == "mean"}
    assert means == {(0, 1): 21.5, (1, 2): 48.1, (2, 0): 11.0}


def test_keys_ignore_case_spacing_and_14_against_14_0(template):
    other = {**PRP_IL6, "group": " prp ", "day": 14.0}
    items = cells(template, [PRP_IL6], [other])
    assert {i.row_a for i in items} == {0} and {i.row_b for i in items} == {0}
    assert [i.column for i in items if not i.agree] == ["group"]  # shown, still one row


def test_a_row_only_one_extractor_entered_is_shown_as_theirs_alone(template):
    items = cells(template, [PRP_IL6, SALINE_IL6], [SALINE_IL6, PRP_TNF])
    only_a = {i.row_key for i in items if i.only_in == "a"}
    only_b = {i.row_key for i in items if i.only_in == "b"}
    assert only_a == {"PRP, IL-6, 14"}
    assert only_b == {"PRP, TNF-α, 14"}
    paired = [i for i in items if not i.only_in]
    assert all(i.agree for i in paired)
    assert {i.row_key for i in paired} == {"CCI + saline, IL-6, 14"}


def test_rows_sharing_a_key_pair_with_the_row_most_like_them(template):
    il33 = {"group": "PRP", "analyte": "other", "analyte_other": "IL-33", "day": 7, "mean": 3.0}
    gdnf = {"group": "PRP", "analyte": "other", "analyte_other": "GDNF", "day": 7, "mean": 9.0}
    items = cells(template, [il33, gdnf], [gdnf, il33])
    assert all(item.agree for item in items)
    assert all(item.shared_key for item in items)
    assert {(i.row_a, i.row_b) for i in items} == {(0, 1), (1, 0)}


def test_a_table_without_a_key_still_pairs_rows_by_position():
    table = {k: v for k, v in TABLE.items() if k != "row_key"}
    template = load_template(definition(table))
    items = cells(template, [PRP_IL6, SALINE_IL6], [SALINE_IL6, PRP_IL6])
    assert {(i.row_a, i.row_b) for i in items} == {(0, 0), (1, 1)}
    assert any(not i.agree for i in items)


def test_every_row_of_both_sides_is_in_exactly_one_pair():
    rows_a = [{"k": "x"}, {"k": "y"}, {"k": "x"}, {"k": None}]
    rows_b = [{"k": "y"}, {"k": "z"}, {"k": "x"}]
    pairs = rowmatch.match_rows(rows_a, rows_b, ["k"], similarity=lambda a, b: 0)
    assert sorted(p.a for p in pairs if p.a is not None) == [0, 1, 2, 3]
    assert sorted(p.b for p in pairs if p.b is not None) == [0, 1, 2]
    assert [(p.a, p.b) for p in pairs] == [(0, 2), (2, None), (1, 0), (3, None), (None, 1)]


def test_row_key_must_name_columns_of_its_table():
    table = {**TABLE, "row_key": ["group", "timepoint", "group"]}
    with pytest.raises(TemplateError) as error:
        load_template(definition(table))
    text = "\n".join(error.value.problems)
    assert "row_key names 'timepoint', which is not a column of this table" in text
    assert "row_key lists a column more than once" in text


@pytest.mark.parametrize("row_key", [[], "group", [1]])
def test_row_key_must_be_a_list_of_column_keys(row_key):
    with pytest.raises(TemplateError, match="row_key must be a non-empty list of column keys"):
        load_template(definition({**TABLE, "row_key": row_key}))


def test_row_key_belongs_to_tables_only():
    field = {"key": "design", "label": "Design", "type": "short_text", "row_key": ["design"]}
    with pytest.raises(TemplateError, match="'row_key' does not apply to a short_text field"):
        load_template(definition(field))


def test_row_key_survives_a_round_trip_and_a_change_is_listed(template):
    assert load_template(template.to_dict()) == template
    assert template.to_dict()["sections"][0]["fields"][0]["row_key"] == ["group", "analyte", "day"]
    unkeyed = load_template(definition({k: v for k, v in TABLE.items() if k != "row_key"}))
    assert [c.detail for c in diff_templates(unkeyed, template)] == [
        "rows matched by group, analyte, day"
    ]


def test_the_builtin_tables_are_keyed_by_group_analyte_or_measure_and_time():
    (builtin,) = builtin_definitions().values()
    tables = {f.path: f for f in load_template(builtin).fields() if f.type == "table"}
    assert tables and all(table.row_key for table in tables.values())
    assert {"group", "analyte", "compartment"} <= set(tables["cytokines.measurements"].row_key)
