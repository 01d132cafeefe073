"""Which groups each study compares and which studies go into which analysis, checked without
a database on the built-in form."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from extraction import pooling
from extraction.schema import BUILTIN_TEMPLATES_DIR, load_template

TEMPLATE = load_template(
    json.loads((BUILTIN_TEMPLATES_DIR / "cytokines_prp_neuropathic_pain.json").read_text("utf-8"))
)
IL6 = "cytokines.measurements"
ROOT = Path(__file__).resolve().parents[2]


def group(label, role, n=None, **extra):
    return {"label": label, "role": role, **({"n": n} if n else {}), **extra}


def il6(group_label, n, mean, sd, *, day=14.0, since="injury", **extra):
    row = {
        "analyte": "il6",
        "compartment": "serum",
        "assay": "elisa",
        "unit": "pg/mL",
        "group": group_label,
        "n": n,
        "mean": mean,
        "sd": sd,
    }
    if day is not None:
        row["days_since_injury" if since == "injury" else "time_point_days"] = day
    return row | extra


def rat_study(label, groups, comparisons, rows, species="rat"):
    values = {
        "study.design": "animal",
        "study.subject": "animal",
        "animal.species": species,
        "arms.groups": groups,
        "arms.comparisons": [{"treatment": t, "control": c} for t, c in comparisons],
        IL6: rows,
    }
    return pooling.StudyData(label, TEMPLATE, values)


CCI_GROUPS = [
    group("Sham", "sham", 8),
    group("CCI + saline", "vehicle", 8),
    group("CCI + PRP", "prp", 8),
]
CCI_ROWS = [
    il6("Sham", 8, 20.0, 4.0),
    il6("CCI + saline", 8, 45.0, 8.0),
    il6("CCI + PRP", 8, 25.0, 6.0),
]


def only(analyses, **wanted):
    found = [
        a for a in analyses if all(getattr(a.key, name) == value for name, value in wanted.items())
    ]
    assert len(found) == 1, [a.key.title for a in analyses]
    return found[0]


def test_the_form_proposes_prp_against_the_vehicle_control_and_never_against_sham_or_naive():
    groups, from_table = pooling.study_groups(
        {"arms.groups": [group("Naive", "naive"), *CCI_GROUPS]}
    )
    assert from_table
    assert pooling.propose_comparisons(groups.values()) == [("CCI + PRP", "CCI + saline")]


def test_without_a_vehicle_group_the_untreated_control_is_proposed_with_active_comparators():
    groups, _ = pooling.study_groups(
        {
            "arms.groups": [
                group("Sham", "sham"),
                group("CCI", "untreated"),
                group("CCI + PRP", "prp"),
                group("CCI + etanercept", "anti_cytokine", agent="anti_tnf"),
            ]
        }
    )
    assert pooling.propose_comparisons(groups.values()) == [
        ("CCI + PRP", "CCI"),
        ("CCI + PRP", "CCI + etanercept"),
        ("CCI + etanercept", "CCI"),
    ]


def test_the_sham_trap_compares_prp_with_the_injured_saline_group_not_with_sham():
    study = rat_study("Rossi 2021", CCI_GROUPS, [("CCI + PRP", "CCI + saline")], CCI_ROWS)
    (analysis,) = pooling.build_analyses([study], pooling.Choices())
    (entry,) = analysis.entries
    assert entry.comparison == "CCI + PRP vs CCI + saline"
    assert (entry.treatment.group, entry.control.group) == ("CCI + PRP", "CCI + saline")
    assert entry.control.mean == 45.0  # lower IL-6 with PRP: g will be negative
    assert analysis.key.contrast == "PRP vs Injured or diseased control"


def test_a_study_with_groups_but_no_confirmed_comparison_is_out_and_shows_the_proposal():
    study = rat_study("Rossi 2021", CCI_GROUPS, [], CCI_ROWS)
    other = rat_study("Bianchi 2022", CCI_GROUPS, [("CCI + PRP", "CCI + saline")], CCI_ROWS)
    (analysis,) = pooling.build_analyses([study, other], pooling.Choices())
    assert [e.study for e in analysis.entries] == ["Bianchi 2022"]
    (out,) = [d for d in analysis.decisions if not d.included]
    assert out.study == "Rossi 2021"
    assert "no comparison confirmed" in out.reason
    assert "CCI + PRP vs CCI + saline" in out.reason


def test_a_comparison_naming_an_unknown_group_says_so():
    study = rat_study("Rossi 2021", CCI_GROUPS, [("CCI + PRP", "Saline")], CCI_ROWS)
    comparisons, problems, _ = pooling.study_comparisons(study.values)
    assert comparisons == []
    assert problems == [
        "the comparison CCI + PRP vs Saline names 'Saline', which is not a group of this study"
    ]


def test_an_extractor_may_still_choose_sham_as_the_control_and_it_is_analysed_apart():
    study = rat_study(
        "Rossi 2021",
        CCI_GROUPS,
        [("CCI + PRP", "CCI + saline"), ("CCI + PRP", "Sham")],
        CCI_ROWS,
    )
    analyses = pooling.build_analyses([study], pooling.Choices())
    assert sorted(a.key.contrast for a in analyses) == [
        "PRP vs Injured or diseased control",
        "PRP vs Sham",
    ]


def test_rat_mouse_and_human_studies_never_share_an_analysis():
    rat = rat_study("Rat 2020", CCI_GROUPS, [("CCI + PRP", "CCI + saline")], CCI_ROWS)
    mouse = rat_study(
        "Mouse 2021", CCI_GROUPS, [("CCI + PRP", "CCI + saline")], CCI_ROWS, species="mouse"
    )
    human = pooling.StudyData(
        "Trial 2022",
        TEMPLATE,
        {
            "study.subject": "human",
            "arms.groups": [group("PRP", "prp", 30), group("Saline", "vehicle", 30)],
            "arms.comparisons": [{"treatment": "PRP", "control": "Saline"}],
            IL6: [
                il6("PRP", 30, 3.0, 1.0, day=180, since="prp"),
                il6("Saline", 30, 4.0, 1.2, day=180, since="prp"),
            ],
        },
    )
    analyses = pooling.build_analyses([rat, mouse, human], pooling.Choices())
    assert [(a.key.species, [e.study for e in a.entries]) for a in analyses] == [
        ("Human", ["Trial 2022"]),
        ("Mouse", ["Mouse 2021"]),
        ("Rat", ["Rat 2020"]),
    ]
    rat_analysis = only(analyses, species="Rat")
    reasons = {d.study: d.reason for d in rat_analysis.decisions if not d.included}
    assert "species are never pooled together" in reasons["Mouse 2021"]


def test_relative_expression_and_concentrations_are_pooled_apart():
    rows = [
        *CCI_ROWS,
        il6("CCI + saline", 8, 3.1, 0.5, assay="qpcr", unit="fold"),
        il6("CCI + PRP", 8, 1.4, 0.4, assay="qpcr", unit="fold"),
    ]
    study = rat_study("Rossi 2021", CCI_GROUPS, [("CCI + PRP", "CCI + saline")], rows)
    analyses = pooling.build_analyses([study], pooling.Choices())
    assert sorted(a.key.assay_class for a in analyses) == [
        "concentration",
        "relative mRNA expression",
    ]


def test_changes_from_baseline_and_log_values_are_not_pooled_with_final_values():
    rows = [il6(r["group"], 8, r["mean"], r["sd"], value_type="change") for r in CCI_ROWS]
    rows += [il6(r["group"], 8, 1.2, 0.1, log_scale="log") for r in CCI_ROWS]
    study = rat_study("Rossi 2021", CCI_GROUPS, [("CCI + PRP", "CCI + saline")], rows + CCI_ROWS)
    values = sorted(a.key.values for a in pooling.build_analyses([study], pooling.Choices()))
    assert values == ["change from baseline", "final values", "final values, log scale"]


def test_il10_and_growth_factors_count_higher_as_better_unless_the_row_says_otherwise():
    rows = [
        il6(r["group"], 8, r["mean"], r["sd"], analyte=analyte)
        for analyte in ("il10", "vegf", "tnfa")
        for r in CCI_ROWS
    ]
    rows += [
        il6(r["group"], 8, r["mean"], r["sd"], analyte="ngf", direction="higher_better")
        for r in CCI_ROWS
    ]
    study = rat_study("Rossi 2021", CCI_GROUPS, [("CCI + PRP", "CCI + saline")], rows)
    directions = {
        a.key.outcome: a.key.higher_is_better
        for a in pooling.build_analyses([study], pooling.Choices())
    }
    assert directions == {"IL-10": True, "VEGF": True, "TNF-α": False, "NGF": True}


def test_time_is_pooled_by_days_not_by_its_label():
    """'day 14' and '2 weeks' are the same time; a window of 14 ± 3 days also takes day 12."""

    def timed(label, **days):
        return [
            {k: v for k, v in il6(r["group"], 8, r["mean"], r["sd"], day=None).items()}
            | {"time_point": label}
            | days
            for r in CCI_ROWS
        ]

    a = rat_study("A 2020", CCI_GROUPS, [("CCI + PRP", "CCI + saline")], timed("day 14"))
    b = rat_study("B 2021", CCI_GROUPS, [("CCI + PRP", "CCI + saline")], timed("2 weeks"))
    c = rat_study(
        "C 2022",
        CCI_GROUPS,
        [("CCI + PRP", "CCI + saline")],
        timed("second week", days_since_injury=12.0),
    )
    exact = pooling.build_analyses([a, b, c], pooling.Choices())
    assert sorted((a.key.window.title, a.k) for a in exact) == [
        ("day 12 since injury", 1),
        ("day 14 since PRP", 2),
    ]
    windows = (
        pooling.Window(14, 3, "injury", "Day 14"),
        pooling.Window(14, 3, "prp", "Day 14"),
    )
    windowed = pooling.build_analyses([a, b, c], pooling.Choices(windows=windows))
    assert sorted((a.key.window.title, a.k) for a in windowed) == [
        ("Day 14: day 14 ± 3 since PRP", 2),
        ("Day 14: day 14 ± 3 since injury", 1),
    ]


def test_days_since_prp_are_worked_out_from_when_the_group_was_treated():
    groups = [
        group("CCI + saline", "vehicle", 8, treatment_day=7.0),
        group("CCI + PRP", "prp", 8, treatment_day=7.0),
    ]
    rows = [il6(r["group"], 8, r["mean"], r["sd"], day=21.0) for r in CCI_ROWS[1:]]
    study = rat_study("Rossi 2021", groups, [("CCI + PRP", "CCI + saline")], rows)
    choices = pooling.Choices(windows=(pooling.Window(14, 0, "prp"),))
    (analysis,) = pooling.build_analyses([study], choices)
    assert analysis.key.window.title == "day 14 since PRP"
    assert analysis.entries[0].treatment.days == 14.0


def test_two_prp_doses_sharing_one_control_split_its_n_or_are_combined_as_the_lead_chooses():
    groups = [
        group("SNI + vehicle", "vehicle", 10),
        group("SNI + PRP low", "prp", 10),
        group("SNI + PRP high", "prp", 10),
    ]
    rows = [
        il6("SNI + vehicle", 10, 50.0, 10.0),
        il6("SNI + PRP low", 10, 40.0, 9.0),
        il6("SNI + PRP high", 10, 30.0, 8.0),
    ]
    comparisons = [("SNI + PRP low", "SNI + vehicle"), ("SNI + PRP high", "SNI + vehicle")]
    study = rat_study("Bianchi 2022", groups, comparisons, rows)

    (split,) = pooling.build_analyses([study], pooling.Choices(multi_arm="split"))
    assert [(e.treatment.group, e.control.n, e.control.n_reported) for e in split.entries] == [
        ("SNI + PRP low", 5, 10),
        ("SNI + PRP high", 5, 10),
    ]
    assert "split 2 ways" in split.notes[0]

    slug = split.key.slug
    choices = pooling.Choices(multi_arm="split", multi_arm_by_analysis={slug: "combine"})
    (combined,) = pooling.build_analyses([study], choices)
    (entry,) = combined.entries
    assert entry.treatment.n == 20 and entry.control.n == 10
    assert entry.treatment.mean == pytest.approx(35.0)
    # Cochrane Handbook table 6.5.a: ((9·81 + 9·64) + 10·10/20·(40 - 30)²) / 19
    assert entry.treatment.sd == pytest.approx(math.sqrt((9 * 81 + 9 * 64 + 5 * 100) / 19))
    assert "combined" in combined.notes[0]


@pytest.mark.parametrize(
    "bad", [1e200, -1e200, 1e-300, float("nan"), float("inf"), "∞", "-inf", "NaN", True]
)
def test_numbers_no_measurement_gives_keep_a_study_out_with_a_reason_and_never_raise(bad):
    rows = [dict(row) for row in CCI_ROWS]
    rows[2]["sd"] = bad
    study = rat_study("Rossi 2021", CCI_GROUPS, [("CCI + PRP", "CCI + saline")], rows)
    (analysis,) = pooling.build_analyses([study], pooling.Choices())
    assert analysis.entries == []
    (decision,) = analysis.decisions
    assert not decision.included and "not a usable number" in decision.reason


def test_events_per_group_make_a_dichotomous_analysis_with_its_usual_direction():
    events = [
        {
            "outcome": "adverse_events",
            "group": "CCI + PRP",
            "events": 2,
            "n": 8,
            "days_since_injury": 14.0,
        },
        {
            "outcome": "adverse_events",
            "group": "CCI + saline",
            "events": 1,
            "n": 8,
            "days_since_injury": 14.0,
        },
        {
            "outcome": "responders",
            "group": "CCI + PRP",
            "events": 6,
            "n": 8,
            "days_since_injury": 14.0,
        },
        {
            "outcome": "responders",
            "group": "CCI + saline",
            "events": 9,
            "n": 8,
            "days_since_injury": 14.0,
        },
    ]
    study = rat_study("Rossi 2021", CCI_GROUPS, [("CCI + PRP", "CCI + saline")], [])
    study = pooling.StudyData(study.label, TEMPLATE, {**study.values, "safety.events": events})
    analyses = pooling.build_analyses([study], pooling.Choices())
    harms = only(analyses, outcome="Any adverse event")
    assert harms.key.kind == "dichotomous" and not harms.key.higher_is_better
    assert (harms.entries[0].treatment.events, harms.entries[0].treatment.n) == (2, 8)
    responders = only(analyses, outcome="Responders")
    assert responders.key.higher_is_better
    assert responders.entries == []
    assert "9 events in 8 cannot be right" in responders.decisions[0].reason


def test_an_older_forms_rows_are_read_by_their_group_roles():
    rows = [
        il6("PRP", 12, 20.0, 5.0, day=None, group_role="intervention", time_point="day 14"),
        il6("Sham", 12, 10.0, 5.0, day=None, group_role="sham", time_point="day 14"),
        il6("Saline", 12, 30.0, 6.0, day=None, group_role="comparator", time_point="day 14"),
    ]
    study = pooling.StudyData(
        "Old 2019", TEMPLATE, {"study.subject": "animal", "animal.species": "rat", IL6: rows}
    )
    (analysis,) = pooling.build_analyses([study], pooling.Choices())
    (entry,) = analysis.entries
    assert entry.comparison == "PRP vs Saline"
    assert "older form" in entry.note
    assert analysis.key.window.title == "day 14 since PRP"


@pytest.mark.parametrize(
    ("label", "days"),
    [
        ("day 14", 14),
        ("Day 3", 3),
        ("2 weeks", 14),
        ("week 4", 28),
        ("6 months", 180),
        ("baseline", 0),
        ("14d", 14),
        ("end of study", None),
        ("", None),
    ],
)
def test_days_are_read_from_an_older_forms_time_labels(label, days):
    assert pooling.days_from_label(label) == days


def test_the_pooling_package_and_the_form_schema_load_without_django_or_the_statistics():
    """Pure modules stay pure: the pooling rules run (and are tested) without a database, and
    the extraction form never pays for matplotlib or statsmodels."""
    code = (
        "import sys, extraction.pooling, extraction.schema, extraction.conversions; "
        "print(sorted(m for m in ('django', 'matplotlib', 'statsmodels') if m in sys.modules))"
    )
    result = subprocess.run(  # noqa: S603 (our own interpreter and code)
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout.strip() == "[]"


def test_patients_may_be_compared_with_healthy_controls_apart_from_any_prp_comparison():
    study = pooling.StudyData(
        "Cross 2020",
        TEMPLATE,
        {
            "study.subject": "human",
            "arms.groups": [group("Patients", "untreated", 40), group("Healthy", "naive", 40)],
            "arms.comparisons": [{"treatment": "Patients", "control": "Healthy"}],
            IL6: [
                il6("Patients", 40, 9.0, 3.0, day=0, since="prp"),
                il6("Healthy", 40, 4.0, 2.0, day=0, since="prp"),
            ],
        },
    )
    (analysis,) = pooling.build_analyses([study], pooling.Choices())
    assert analysis.key.contrast == "Injured or diseased control vs Naive or healthy"
    assert analysis.entries[0].comparison == "Patients vs Healthy"
