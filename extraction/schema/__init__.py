"""Extraction templates: their definitions, the values extractors enter, and how both compare.

A template version stores its definition as JSON and each extraction stores its values as a
JSON dict keyed by field path. The form builder, the autosaving form, the comparison page,
the exports and the statistics all read those two documents, so what they mean is decided
once, here, in four modules: `definition`, `values`, `versions` and `compare`, whose names
this package hands on. Nothing in it knows about Django; it is tested without a database.

Paths: a field is "section_key.field_key"; a table column is "section_key.table_key.column_key",
and a table cell is addressed as (table path, row index, column key).

Stored values, as `clean_value` returns them and as `values` holds them:

- short_text, long_text: the text, stripped. Short text is one line (runs of whitespace,
  including line breaks pasted from a PDF, become one space); long text keeps its line breaks.
- integer: an int.
- decimal: a float. With a `units` list the extractor picks the unit, so the value is
  {"value": float, "unit": str}; with a fixed `unit`, or no unit, it is a plain float, because
  the unit belongs to the field and storing it in every value would only let them disagree.
- single_choice, yes_no_unclear: the choice value ("yes", "no" or "unclear" for the latter).
- multiple_choice: a list of choice values, in the template's order, without repeats.
- date: an ISO string, "yyyy-mm-dd", "yyyy-mm" or "yyyy". Papers often give only a month or a
  year ("recruited in March 2019"), and a made-up day would be false precision.
- table: a list of rows, each a dict of column key -> stored value of that cell. Rows are kept
  in order, even a blank one, so row numbers stay stable while two people edit.
- Empty is an absent key or None; `clean_value` never returns "", [] or {}.
"""

from extraction.schema.compare import (
    Comparison as Comparison,
    compare_values as compare_values,
    display_value as display_value,
    is_categorical as is_categorical,
    pair_rows as pair_rows,
    row_key_text as row_key_text,
    values_agree as values_agree,
)
from extraction.schema.definition import (
    BUILTIN_TEMPLATES_DIR as BUILTIN_TEMPLATES_DIR,
    CATEGORICAL_TYPES as CATEGORICAL_TYPES,
    CHOICE_TYPES as CHOICE_TYPES,
    FIELD_TYPES as FIELD_TYPES,
    KEY_PATTERN as KEY_PATTERN,
    LARGEST_NUMBER as LARGEST_NUMBER,
    NUMBER_TYPES as NUMBER_TYPES,
    RELATIVE_TOLERANCE as RELATIVE_TOLERANCE,
    SHORT_TEXT_MAX as SHORT_TEXT_MAX,
    SMALLEST_NUMBER as SMALLEST_NUMBER,
    TEMPLATE_KEY_PATTERN as TEMPLATE_KEY_PATTERN,
    TEXT_TYPES as TEXT_TYPES,
    YES_NO_UNCLEAR as YES_NO_UNCLEAR,
    Condition as Condition,
    Field as Field,
    Section as Section,
    Template as Template,
    TemplateError as TemplateError,
    builtin_definitions as builtin_definitions,
    key_from as key_from,
    load_once as load_once,
    load_template as load_template,
)
from extraction.schema.values import (
    IMPLAUSIBLE_N as IMPLAUSIBLE_N,
    SD_TO_MEAN as SD_TO_MEAN,
    FigureWarning as FigureWarning,
    Problem as Problem,
    ValueProblem as ValueProblem,
    clean_row as clean_row,
    clean_value as clean_value,
    implausible as implausible,
    missing_required as missing_required,
    table_warnings as table_warnings,
)
from extraction.schema.versions import (
    Change as Change,
    diff_templates as diff_templates,
    values_retained as values_retained,
)
