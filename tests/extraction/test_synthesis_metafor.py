"""Every number of the synthesis checked against R's metafor, to 4 decimals.

One Rscript process per test session computes metafor's answers for metafor's own example
data (``dat.normand1999``: stroke units, continuous; ``dat.bcg``: BCG vaccine trials, counts)
and for two small examples of our own: a three-study cytokine analysis in which one study's
two PRP doses share a saline control (split as the Cochrane Handbook advises), and a safety
outcome with zero cells and a study without any events. Under CI a missing Rscript or
metafor fails these tests; elsewhere they are skipped.
"""

import csv
import os
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from extraction.synthesis import (
    Arm,
    BinaryArm,
    BinaryComparison,
    StudyComparison,
    combine_arms,
    hedges_g,
    meta_analyse,
    meta_analyse_binary,
    split_shared_control,
)

DECIMALS = 4
TOLERANCE = 0.5 * 10**-DECIMALS

# IL-6 in the injured rat sciatic nerve at day 14 (pg/mL): "Rat CCI 2021" gave two PRP doses
# against one CCI + saline group of 10.
CCI_LOW, CCI_HIGH, CCI_SALINE = Arm(8, 42.1, 9.3), Arm(8, 35.6, 8.1), Arm(10, 61.4, 12.7)
CYTOKINE_SPLIT = (
    StudyComparison("Rat CCI 2021, low dose", CCI_LOW, split_shared_control(CCI_SALINE, 2)),
    StudyComparison("Rat CCI 2021, high dose", CCI_HIGH, split_shared_control(CCI_SALINE, 2)),
    StudyComparison("Rat SNI 2022", Arm(9, 48.0, 11.2), Arm(9, 57.5, 10.4)),
    StudyComparison("Rat crush 2024", Arm(12, 30.2, 7.5), Arm(11, 44.9, 9.8)),
)
CYTOKINE_COMBINED = (
    StudyComparison("Rat CCI 2021", combine_arms(CCI_LOW, CCI_HIGH), CCI_SALINE),
    *CYTOKINE_SPLIT[2:],
)
# Adverse events after injection: events / n, PRP then control. Trial C has none at all.
SAFETY = (
    BinaryComparison("Trial A", BinaryArm(2, 30), BinaryArm(5, 31)),
    BinaryComparison("Trial B", BinaryArm(0, 25), BinaryArm(3, 24)),
    BinaryComparison("Trial C", BinaryArm(0, 15), BinaryArm(0, 15)),
    BinaryComparison("Trial D", BinaryArm(4, 40), BinaryArm(6, 38)),
)
METHODS = ("REML", "DL", "PM")

R_SCRIPT = r"""
suppressMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
folder <- args[1]
out <- list()
# metafor finds the Paule-Mandel tau2 with uniroot(tol = 1.2e-4), which moves I2 in the 5th
# significant digit; asked for a tighter root it agrees with ours to 1e-9.
tight <- list(tol = 1e-12)
put <- function(key, values) out[[key]] <<- data.frame(key = key, i = seq_along(values),
                                                        value = as.numeric(values))
fit <- function(prefix, res, keep = TRUE) {
  put(paste0(prefix, "/pooled"), res$beta); put(paste0(prefix, "/se"), res$se)
  put(paste0(prefix, "/ci_low"), res$ci.lb); put(paste0(prefix, "/ci_high"), res$ci.ub)
  put(paste0(prefix, "/z"), res$zval); put(paste0(prefix, "/p"), res$pval)
  put(paste0(prefix, "/q"), res$QE); put(paste0(prefix, "/q_p"), res$QEp)
  put(paste0(prefix, "/i2"), res$I2); put(paste0(prefix, "/h2"), res$H2)
  put(paste0(prefix, "/weights"), weights(res)[keep])
  if (!is.null(res$tau2) && !inherits(res, "rma.mh")) {
    put(paste0(prefix, "/tau2"), res$tau2)
    pr <- predict(res)
    put(paste0(prefix, "/pi_low"), pr$pi.lb); put(paste0(prefix, "/pi_high"), pr$pi.ub)
  }
}
smd <- function(name, d) {
  write.csv(d, file.path(folder, paste0(name, ".csv")), row.names = FALSE)
  es <- escalc("SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
               data = d)
  put(paste0(name, "/yi"), es$yi); put(paste0(name, "/vi"), es$vi)
  for (m in c("REML", "DL", "PM"))
    fit(paste0(name, "/", m), rma(yi, vi, data = es, method = m, control = tight))
}
binary <- function(name, d) {
  write.csv(d, file.path(folder, paste0(name, ".csv")), row.names = FALSE)
  for (measure in c("RR", "OR")) {
    es <- escalc(measure, ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = d, drop00 = TRUE)
    put(paste0(name, "/", measure, "/yi"), es$yi[!is.na(es$yi)])
    put(paste0(name, "/", measure, "/vi"), es$vi[!is.na(es$vi)])
    fit(paste0(name, "/", measure, "/MH"),
        rma.mh(ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = d, measure = measure),
        keep = !is.na(es$yi))  # a study without events has weight 0 in rma.mh
    for (m in c("REML", "DL", "PM"))
      fit(paste0(name, "/", measure, "/", m),
          rma(ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = d, measure = measure,
              method = m, drop00 = TRUE, control = tight))
  }
}
smd("normand1999", dat.normand1999)
bcg <- dat.bcg
binary("bcg", data.frame(label = paste(bcg$author, bcg$year), ai = bcg$tpos,
                         n1i = bcg$tpos + bcg$tneg, ci = bcg$cpos, n2i = bcg$cpos + bcg$cneg))
smd("cytokine_split", read.csv(file.path(folder, "cytokine_split_in.csv")))
smd("cytokine_combined", read.csv(file.path(folder, "cytokine_combined_in.csv")))
binary("safety", read.csv(file.path(folder, "safety_in.csv")))
write.csv(do.call(rbind, out), file.path(folder, "metafor.csv"), row.names = FALSE)
"""


def _write_smd(path: Path, comparisons) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["label", "n1i", "m1i", "sd1i", "n2i", "m2i", "sd2i"])
        for c in comparisons:
            t, k = c.treatment, c.control
            writer.writerow([c.label, t.n, repr(t.mean), repr(t.sd), k.n, repr(k.mean), repr(k.sd)])


def _write_binary(path: Path, comparisons) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["label", "ai", "n1i", "ci", "n2i"])
        for c in comparisons:
            writer.writerow(
                [c.label, c.treatment.events, c.treatment.n, c.control.events, c.control.n]
            )


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what}; CI needs it (apt-get install r-base-core r-cran-metafor)")
    pytest.skip(what)


@pytest.fixture(scope="session")
def metafor(tmp_path_factory):
    """metafor's answers, as {"dataset/analysis/quantity": [values]}, and its input tables."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        _missing("Rscript is not installed")
    folder = tmp_path_factory.mktemp("metafor")
    _write_smd(folder / "cytokine_split_in.csv", CYTOKINE_SPLIT)
    _write_smd(folder / "cytokine_combined_in.csv", CYTOKINE_COMBINED)
    _write_binary(folder / "safety_in.csv", SAFETY)
    script = folder / "compare.R"
    script.write_text(R_SCRIPT)
    # One R process for the whole module: starting R and loading metafor takes ~1 s.
    run = subprocess.run(  # noqa: S603 - our own script, run by the Rscript on PATH
        [rscript, str(script), str(folder)], capture_output=True, text=True, check=False
    )
    if run.returncode and "no package called" in run.stderr:
        _missing("the R package metafor is not installed")
    assert run.returncode == 0, run.stderr
    values: dict[str, list[float]] = defaultdict(list)
    with (folder / "metafor.csv").open() as handle:
        for row in csv.DictReader(handle):
            values[row["key"]].append(float(row["value"]))
    return {"values": dict(values), "folder": folder}


def read_smd(folder: Path, name: str) -> list[StudyComparison]:
    with (folder / f"{name}.csv").open() as handle:
        return [
            StudyComparison(
                row.get("label") or row.get("source") or row["study"],
                Arm(int(row["n1i"]), float(row["m1i"]), float(row["sd1i"])),
                Arm(int(row["n2i"]), float(row["m2i"]), float(row["sd2i"])),
            )
            for row in csv.DictReader(handle)
        ]


def read_binary(folder: Path, name: str) -> list[BinaryComparison]:
    with (folder / f"{name}.csv").open() as handle:
        return [
            BinaryComparison(
                row["label"],
                BinaryArm(int(row["ai"]), int(row["n1i"])),
                BinaryArm(int(row["ci"]), int(row["n2i"])),
            )
            for row in csv.DictReader(handle)
        ]


def ours(result) -> dict[str, list[float]]:
    values = {
        "pooled": [result.pooled],
        "se": [result.se],
        "ci_low": [result.ci_low],
        "ci_high": [result.ci_high],
        "z": [result.z],
        "p": [result.p],
        "q": [result.q],
        "q_p": [result.q_p],
        "i2": [result.i2],
        "h2": [result.h2],
        "weights": [s.weight for s in result.studies],
    }
    if result.tau2 is not None:
        values |= {"tau2": [result.tau2], "pi_low": [result.pi_low], "pi_high": [result.pi_high]}
    return values


# The largest absolute difference per quantity over every comparison, printed at the end
# of the session with -s so that the report can quote it.
DIFFERENCES: dict[str, float] = defaultdict(float)


def tally(quantity: str, mine: list[float], expected: list[float]) -> None:
    difference = max(abs(a - b) for a, b in zip(mine, expected, strict=True))
    DIFFERENCES[quantity] = max(DIFFERENCES[quantity], difference)


def assert_matches(metafor_values: dict, prefix: str, result) -> None:
    mine = ours(result)
    expected_keys = {
        key.rsplit("/", 1)[1] for key in metafor_values if key.startswith(prefix + "/")
    }
    assert expected_keys == set(mine), prefix
    for quantity, values in mine.items():
        expected = metafor_values[f"{prefix}/{quantity}"]
        assert values == pytest.approx(expected, abs=TOLERANCE), f"{prefix}/{quantity}"
        tally(quantity, values, expected)


@pytest.fixture(scope="module", autouse=True)
def report_differences():
    yield
    if DIFFERENCES:
        print("\nlargest absolute difference from metafor per quantity:")
        for quantity, difference in sorted(DIFFERENCES.items()):
            print(f"  {quantity:8} {difference:.2e}")


SMD_DATASETS = ("normand1999", "cytokine_split", "cytokine_combined")


@pytest.mark.parametrize("dataset", SMD_DATASETS)
def test_hedges_g_and_its_variance_match_escalc(metafor, dataset):
    comparisons = read_smd(metafor["folder"], dataset)

    effects = [hedges_g(c.treatment, c.control) for c in comparisons]

    values = metafor["values"]
    for quantity, mine in (("yi", [g for g, _ in effects]), ("vi", [v for _, v in effects])):
        assert mine == pytest.approx(values[f"{dataset}/{quantity}"], abs=TOLERANCE)
        tally(quantity, mine, values[f"{dataset}/{quantity}"])


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dataset", SMD_DATASETS)
def test_random_effects_of_hedges_g_match_rma(metafor, dataset, method):
    comparisons = read_smd(metafor["folder"], dataset)

    result = meta_analyse(comparisons, outcome=dataset, method=method)

    assert_matches(metafor["values"], f"{dataset}/{method}", result)


@pytest.mark.parametrize("measure", ["RR", "OR"])
@pytest.mark.parametrize("dataset", ["bcg", "safety"])
def test_mantel_haenszel_matches_rma_mh(metafor, dataset, measure):
    comparisons = read_binary(metafor["folder"], dataset)

    result = meta_analyse_binary(comparisons, outcome=dataset, measure=measure, pooling="MH")

    assert_matches(metafor["values"], f"{dataset}/{measure}/MH", result)
    values = metafor["values"]
    for quantity, mine in (
        ("yi", [s.estimate for s in result.studies]),
        ("vi", [s.variance for s in result.studies]),
    ):
        expected = values[f"{dataset}/{measure}/{quantity}"]
        assert mine == pytest.approx(expected, abs=TOLERANCE)
        tally(quantity, mine, expected)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("measure", ["RR", "OR"])
@pytest.mark.parametrize("dataset", ["bcg", "safety"])
def test_inverse_variance_random_effects_of_ratios_match_rma(metafor, dataset, measure, method):
    comparisons = read_binary(metafor["folder"], dataset)

    result = meta_analyse_binary(
        comparisons, outcome=dataset, measure=measure, pooling="IV", method=method
    )

    assert_matches(metafor["values"], f"{dataset}/{measure}/{method}", result)


def test_the_cytokine_example_splits_the_shared_saline_group_between_the_two_doses():
    """The CCI study's saline group of 10 appears twice with 5 each: nobody counted twice."""
    shares = [c.control for c in CYTOKINE_SPLIT[:2]]

    assert [arm.n for arm in shares] == [5, 5]
    assert all(arm.mean == CCI_SALINE.mean and arm.sd == CCI_SALINE.sd for arm in shares)


def test_the_cytokine_example_shows_prp_lowering_il6_whichever_way_the_arms_are_handled(metafor):
    split = meta_analyse(list(CYTOKINE_SPLIT), outcome="IL-6")
    combined = meta_analyse(list(CYTOKINE_COMBINED), outcome="IL-6")

    assert split.k == 4 and combined.k == 3
    assert split.ci_high < 0 and combined.ci_high < 0


def test_the_safety_example_drops_the_trial_without_events_and_says_so(metafor):
    result = meta_analyse_binary(list(SAFETY), outcome="Adverse events", measure="RR")

    assert [s.label for s in result.studies] == ["Trial A", "Trial B", "Trial D"]
    assert any("Trial C" in note and "no events" in note for note in result.notes)
    assert any("Trial B" in note and "0.5" in note for note in result.notes)
