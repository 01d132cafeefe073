"""What the schema tests share: a definition that uses every field type, the template loaded
from it, and helpers to change it. Without a database, as the schema has none."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from extraction.schema import (
    TemplateError,
    load_template,
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
