"""The analysis data for R: a zip with each meta-analysis as a CSV metafor reads, an index of
the product's results and `reproduce.R`, which R runs to the same numbers.

The review: Rossi 2021 (PRP against CCI + saline, with a sham group that must not be the
control), Moreau 2023 (two PRP doses sharing one saline group), Bianchi 2022 (SD from SE), and
three trials in people (IL-6 and adverse events, one with a zero cell, one without any event).
Under CI a missing Rscript or metafor fails the R test; elsewhere it is skipped, as in
test_synthesis_metafor.py.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import zipfile
from collections import Counter

import pytest
from django.urls import reverse

from extraction import export_jobs, r_export, reporting, services, synthesis
from extraction.models import ExportJob
from reviewmgr.models import Membership
from tests.conftest import add_member, make_user
from tests.extraction.test_synthesis_metafor import TOLERANCE, _missing
from tests.extraction.test_synthesis_reports import (
    CCI,
    IL6,
    RCT,
    SNI,
    WINDOWS,
    add_study,
    groups,
    il6,
)

DOSES = {
    "study.design": "animal",
    "study.subject": "animal",
    "animal.species": "rat",
    "animal.model": "cci",
    "arms.groups": [
        {**row, "protocol": dose}
        for row, dose in zip(
            groups(
                ("CCI + saline", "vehicle", 12),
                ("Low-dose PRP", "prp", 8),
                ("High-dose PRP", "prp", 8),
            ),
            ("saline 50 µL", "PRP 50 µL", "PRP 200 µL"),
            strict=True,
        )
    ],
    "prp.leukocytes": "poor",
    "arms.comparisons": [
        {"treatment": "Low-dose PRP", "control": "CCI + saline"},
        {"treatment": "High-dose PRP", "control": "CCI + saline"},
    ],
    IL6: [
        il6("CCI + saline", 12, 52.0, 9.5, days_since_injury=14.0),
        il6("Low-dose PRP", 8, 47.5, 8.8, days_since_injury=14.0),
        il6("High-dose PRP", 8, 33.0, 7.1, days_since_injury=14.0),
    ],
}


def trial(n: int, prp: tuple, saline: tuple, harms: tuple) -> dict:
    """A two-arm trial in people: IL-6 (mean, SD) and adverse events per arm at 6 months."""
    events = [
        {"outcome": "adverse_events", "group": group, "events": e, "n": n, "time_point_days": 180.0}
        for group, e in zip(("PRP", "Saline"), harms, strict=True)
    ]
    return {
        **RCT,
        "arms.groups": groups(("PRP", "prp", n), ("Saline", "vehicle", n)),
        IL6: [
            il6("PRP", n, *prp, time_point_days=180.0),
            il6("Saline", n, *saline, time_point_days=180.0),
        ],
        "safety.events": events,
    }


@pytest.fixture
def r_review(review, lead):
    """Three rat studies at day 14 and three trials at 6 months, pooled by the review's
    windows."""
    config = services.config_for(review)
    services.update_settings(review=review, user=lead, time_windows=WINDOWS)
    version = config.template.current
    add_study(review, "Rossi", 2021, CCI, version)
    add_study(review, "Bianchi", 2022, SNI, version)
    add_study(review, "Moreau", 2023, DOSES, version)
    add_study(review, "Chen", 2023, RCT, version)
    add_study(review, "Dubois", 2024, trial(40, (2.1, 0.9), (3.9, 1.1), (0, 6)), version)
    add_study(review, "Evans", 2024, trial(20, (3.5, 1.2), (3.6, 1.3), (0, 0)), version)
    return review


def r_zip(client, review, **query) -> zipfile.ZipFile:
    response = client.get(reverse("extraction:r", args=[review.slug]), query)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def read_csv(archive: zipfile.ZipFile, name: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8-sig"))))


def rat_day_14(review) -> reporting.Pooled:
    return next(
        a
        for a in reporting.analyses(review)
        if a.key.species == "Rat" and a.key.window.label == "Day 14"
    )


def test_the_zip_holds_the_index_the_script_a_readme_and_a_table_per_analysis(
    client, r_review, lead
):
    client.force_login(lead)
    archive = r_zip(client, r_review)

    pooled = reporting.analyses(r_review)
    tables = {r_export.file_for(item) for item in pooled}
    assert set(archive.namelist()) == {"analyses.csv", "reproduce.R", "README.txt"} | tables
    index = read_csv(archive, "analyses.csv")
    assert [row["id"] for row in index] == [item.slug for item in pooled]
    assert {row["file"] for row in index} == tables
    readme = archive.read("README.txt").decode()
    assert "Rscript reproduce.R" in readme and "n2i_shared" in readme
    assert all(item.key.title in readme for item in pooled)


def test_each_row_carries_the_arms_the_product_compared_with_the_shared_control_split(
    client, r_review, lead
):
    client.force_login(lead)
    archive = r_zip(client, r_review)
    analysis = rat_day_14(r_review)

    rows = read_csv(archive, r_export.file_for(analysis))
    by_study = Counter(row["study"] for row in rows)
    assert by_study == {"Rossi 2021": 1, "Bianchi 2022": 1, "Moreau 2023": 2}
    (rossi,) = [row for row in rows if row["study"] == "Rossi 2021"]
    assert (rossi["treatment"], rossi["control"]) == ("CCI + PRP", "CCI + saline")
    assert rossi["comparison"] == "CCI + PRP vs CCI + saline"
    figures = {name: rossi[name] for name in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")}
    assert figures == {
        "m1i": "25.0",
        "sd1i": "6.0",
        "n1i": "8",
        "m2i": "45.0",
        "sd2i": "8.0",
        "n2i": "8",
    }
    moreau = [row for row in rows if row["study"] == "Moreau 2023"]
    assert [row["treatment"] for row in moreau] == ["Low-dose PRP", "High-dose PRP"]
    assert {(row["control"], row["n2i"], row["n2i_shared"], row["m2i"]) for row in moreau} == {
        ("CCI + saline", "6", "12", "52.0")
    }
    assert all(row["species"] == "Rat" and row["days_since"] == "injury" for row in rows)
    # each study's moderators come from its own data: the model, the treated group's dose
    assert [(row["prp_dose"], row["prp_leukocytes"]) for row in moreau] == [
        ("PRP 50 µL", "Leukocyte-poor (LP-PRP)"),
        ("PRP 200 µL", "Leukocyte-poor (LP-PRP)"),
    ]
    assert {row["model_or_condition"] for row in rows} >= {moreau[0]["model_or_condition"]}
    assert "constriction" in moreau[0]["model_or_condition"].lower()
    assert {row["treatment_day"] for row in rows} == {"14.0", "13.0"}
    assert rossi["product_yi"] == repr(analysis.effects[f"Rossi 2021 ({rossi['comparison']})"].g)
    # the sham group of Rossi 2021 is nobody's control, in any table
    for name in archive.namelist():
        if name.endswith(".csv") and name != "analyses.csv":
            assert all(row["control"] != "Sham" for row in read_csv(archive, name))
    (line,) = [row for row in read_csv(archive, "analyses.csv") if row["id"] == analysis.slug]
    assert (line["measure"], line["method"], line["shared_control"]) == ("SMD", "REML", "split")
    assert (line["k_studies"], line["k_comparisons"]) == ("3", "4")
    assert float(line["estimate"]) == analysis.result.pooled


def test_arms_the_lead_chose_to_combine_come_as_one_group_against_the_whole_control(
    client, r_review, lead
):
    slug = rat_day_14(r_review).slug
    services.set_multi_arm_choice(review=r_review, analysis=slug, choice="combine")
    client.force_login(lead)

    rows = read_csv(r_zip(client, r_review), f"{slug}.csv")

    (moreau,) = [row for row in rows if row["study"] == "Moreau 2023"]
    assert moreau["treatment"] == "Low-dose PRP + High-dose PRP"
    assert moreau["comparison"] == "Low-dose PRP + High-dose PRP vs CCI + saline"
    both = synthesis.combine_arms(synthesis.Arm(8, 47.5, 8.8), synthesis.Arm(8, 33.0, 7.1))
    assert (moreau["n1i"], float(moreau["m1i"]), float(moreau["sd1i"])) == (
        "16",
        both.mean,
        both.sd,
    )
    assert (moreau["n2i"], moreau["n2i_shared"]) == ("12", "")


def test_events_and_totals_are_given_for_each_arm_of_a_dichotomous_analysis(client, r_review, lead):
    client.force_login(lead)
    archive = r_zip(client, r_review)
    (harms,) = [a for a in reporting.analyses(r_review) if a.key.kind == "dichotomous"]

    rows = read_csv(archive, r_export.file_for(harms))

    assert [(r["study"], r["ai"], r["n1i"], r["ci"], r["n2i"]) for r in rows] == [
        ("Chen 2023", "3", "30", "2", "30"),
        ("Dubois 2024", "0", "40", "6", "40"),
        ("Evans 2024", "0", "20", "0", "20"),
    ]
    assert rows[2]["product_yi"] == ""  # no events in either arm: not pooled, as in metafor
    (line,) = [row for row in read_csv(archive, "analyses.csv") if row["id"] == harms.slug]
    assert (line["measure"], line["method"], line["k_comparisons"]) == ("RR", "MH", "2")
    assert "Evans 2024" in line["note"]


# --- R gives the same numbers ----------------------------------------------------------------

# (estimator, ratio, pooling of counts, shared controls): every estimator, both ratios, both
# ways to pool counts and both ways to handle the shared control, in four runs of R.
SETTINGS = [
    ("REML", "RR", "MH", "split"),
    ("DL", "OR", "MH", "combine"),
    ("PM", "RR", "IV", "combine"),
    ("REML", "OR", "IV", "split"),
]
QUANTITIES = ("estimate", "ci_low", "ci_high", "tau2", "i2")
# Per run of R: how many numbers matched and the largest difference, printed with -s.
COMPARED: dict[str, tuple[int, float]] = {}


def run_reproduce_r(review, folder) -> tuple[str, list[dict]]:
    """Unzip the export into `folder`, run its script there, return its output and results."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        _missing("Rscript is not installed")
    handle = io.BytesIO()
    export_jobs.build(review, ExportJob.Kind.R, handle)
    zipfile.ZipFile(handle).extractall(folder)
    run = subprocess.run(  # noqa: S603 - the exported script, run by the Rscript on PATH
        [rscript, "reproduce.R", "--results"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode and "no package called" in run.stderr:
        _missing("the R package metafor is not installed")
    assert run.returncode == 0, run.stderr
    with (folder / "r_results.csv").open() as results:
        return run.stdout, list(csv.DictReader(results))


def product_numbers(item: reporting.Pooled) -> dict[str, float | None]:
    result = item.result
    return {
        "estimate": result.display(result.pooled),
        "ci_low": result.display(result.ci_low),
        "ci_high": result.display(result.ci_high),
        "tau2": result.tau2,
        "i2": result.i2,
    }


def number(text: str) -> float | None:
    return None if text == "NA" else float(text)


def assert_r_matches_the_product(run: str, pooled: dict, results: list[dict]) -> None:
    """Every number R wrote equals the product's to 4 decimals, and analyses.csv gave R the
    product's number; a fixed-effect Mantel-Haenszel model has no τ² on either side."""
    assert {row["id"] for row in results} == set(pooled)
    assert Counter(row["quantity"] for row in results) == dict.fromkeys(QUANTITIES, len(pooled))
    count, largest = 0, 0.0
    for row in results:
        item = pooled[row["id"]]
        ours = product_numbers(item)[row["quantity"]]
        r, shown = number(row["r"]), number(row["product"])
        if ours is None:
            assert (r, shown, row["quantity"], item.result.method) == (
                None,
                None,
                "tau2",
                "Mantel-Haenszel",
            )
            continue
        assert r == pytest.approx(ours, abs=TOLERANCE), (item.key.title, row["quantity"])
        assert shown == pytest.approx(ours, rel=1e-12), (item.key.title, row["quantity"])
        count, largest = count + 1, max(largest, abs(r - ours))
    COMPARED[run] = (count, largest)


@pytest.mark.parametrize(("estimator", "measure", "pooling", "multi_arm"), SETTINGS)
def test_reproduce_r_gives_every_pooled_estimate_ci_and_tau2_of_the_product(
    r_review, lead, tmp_path, estimator, measure, pooling, multi_arm
):
    services.update_settings(
        review=r_review,
        user=lead,
        estimator=estimator,
        binary_measure=measure,
        binary_pooling=pooling,
        multi_arm=multi_arm,
    )
    pooled = {item.slug: item for item in reporting.analyses(r_review) if item.result}
    assert len(pooled) == 3  # rats at day 14, people at 6 months: IL-6 and adverse events

    output, results = run_reproduce_r(r_review, tmp_path)

    assert_r_matches_the_product(f"{estimator} {measure} {pooling} {multi_arm}", pooled, results)
    assert all(item.key.title in output for item in pooled.values())
    comparisons = 4 if multi_arm == "split" else 3  # Moreau's two doses, or one combined arm
    assert f"SMD by {estimator}, {comparisons} comparisons" in output


def test_reproduce_r_passes_over_the_analyses_the_product_could_not_pool(r_review, lead, tmp_path):
    services.update_settings(review=r_review, user=lead, time_windows=[])  # each exact day
    analyses = reporting.analyses(r_review)
    pooled = {item.slug: item for item in analyses if item.result}
    assert pooled and len(pooled) < len(analyses)

    output, results = run_reproduce_r(r_review, tmp_path)

    not_pooled = output.count("not pooled by the product: Not pooled: needs at least two studies")
    assert not_pooled == len(analyses) - len(pooled)
    assert_r_matches_the_product("exact days, defaults", pooled, results)


@pytest.fixture(scope="module", autouse=True)
def report_comparisons():
    yield
    if COMPARED:
        print("\nnumbers R matched to 4 decimals per run (count, largest difference):")
        for run, (count, largest) in COMPARED.items():
            print(f"  {run:24} {count:3} {largest:.1e}")


# --- Who may download it ---------------------------------------------------------------------


def test_an_outsider_finds_no_r_export_and_a_member_without_the_lead_role_is_refused(
    client, r_review, reviewer, outsider
):
    extractor = make_user("extractor1")
    add_member(r_review, extractor, Membership.Role.EXTRACTOR)
    url = reverse("extraction:r", args=[r_review.slug])
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    for member in (reviewer, extractor):
        client.force_login(member)
        assert client.get(url).status_code == 403


def test_the_reports_page_offers_the_r_export_directly_and_in_the_background(
    client, r_review, lead, django_capture_on_commit_callbacks
):
    client.force_login(lead)
    page = client.get(reverse("extraction:reports", args=[r_review.slug])).text
    assert reverse("extraction:r", args=[r_review.slug]) in page
    assert '<option value="r">Analysis data for R (metafor, zip)</option>' in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("extraction:export_start", args=[r_review.slug]), {"kind": "r"}
        )
    job = r_review.export_jobs.get()
    assert response.url == job.get_absolute_url()
    assert (job.status, job.file_name) == (ExportJob.Status.DONE, "pain-review-analyses-r.zip")
    with job.file.open("rb") as stored:
        assert "reproduce.R" in zipfile.ZipFile(stored).namelist()


def test_one_extractors_data_come_under_their_name(client, r_review, lead):
    extractor = make_user("extractor1")
    add_member(r_review, extractor, Membership.Role.EXTRACTOR)
    client.force_login(lead)

    response = client.get(
        reverse("extraction:r", args=[r_review.slug]), {"extractor": "extractor1"}
    )

    assert response["Content-Disposition"].endswith('-analyses-r-extractor1.zip"')
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    readme = archive.read("README.txt").decode()
    assert "the data of extractor extractor1, not the consensus" in readme
    assert archive.read("analyses.csv").decode("utf-8-sig").splitlines()[1:] == []
