"""Analysis data for R: every meta-analysis of a review as a table R's metafor reads, an index
with the product's results, and a script that runs them again, in one zip.

The rows are the arms the product pooled, after a shared control was split or arms were
combined (`extraction.pooling.shared`), so R pools the same numbers and gives the same answer;
`tests/extraction/test_r_export.py` runs the script and compares. The columns beside the
numbers are what the analysis itself knows (its key, each arm's day and where its figures came
from): nothing is looked up elsewhere.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import BinaryIO

from extraction import exports, reporting
from extraction.schema.compare import display_value
from reviewmgr.models import Review
from reviewmgr.spreadsheets import Column, Sheet, write_csv

INDEX = "analyses.csv"
SCRIPT = "reproduce.R"
README = "README.txt"
RESULTS = "r_results.csv"  # written by the script when run with --results

# metafor's names for the numbers it reads
CONTINUOUS_COLUMNS = ["m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i", "n2i_shared"]
DICHOTOMOUS_COLUMNS = ["ai", "n1i", "ci", "n2i", "ci_shared", "n2i_shared"]
MODERATOR_COLUMNS = [
    "outcome",
    "compartment",
    "species",
    "assay_class",
    "values",
    "direction",
    "contrast",
    "time_window",
    "days_since",
    "treatment_day",
    "control_day",
]
# What each study's consensus data says of it and of its treated group (see `StudyFacts`).
STUDY_COLUMNS = [
    "model_or_condition",
    "prp_dose",
    "prp_agent",
    "prp_leukocytes",
    "prp_paw",
    "prp_dohan_ehrenfest",
    "injection_volume",
    "injections",
    "route",
]


class StudyFacts:
    """The moderators a reader of a PRP review asks for, read from each study's extraction:
    the animal model (or the patients' condition), the treated group's dose or protocol and
    agent, and the preparation's class (leukocyte content, PAW, Dohan Ehrenfest family), volume,
    number of injections and route, each as the form's labels show them."""

    def __init__(self, studies) -> None:
        self.studies = {study.label: study for study in studies}

    def cells(self, study_label: str, group: str) -> list:
        study = self.studies.get(study_label)
        if study is None:
            return [""] * len(STUDY_COLUMNS)
        values, shown = study.values, self._shown(study)
        animal = values.get("study.subject") == "animal"
        model = shown("animal.model") if animal else shown("population.condition")
        if model == "Other":
            model = shown("animal.model_other" if animal else "population.condition_other")
        row = self._group(values, group)
        prp = exports.prp_classification(values)
        return [
            model,
            str(row.get("protocol") or ""),
            self._column_label(study, "arms.groups", "agent", row.get("agent")),
            shown("prp.leukocytes"),
            prp.paw or "",
            prp.dohan_family or "",
            shown("prp.injection_volume"),
            shown("prp.injections"),
            shown("prp.route"),
        ]

    @staticmethod
    def _shown(study):
        def shown(path: str) -> str:
            try:
                field = study.template.field(path)
            except KeyError:
                return ""
            return display_value(field, study.values.get(path))

        return shown

    @staticmethod
    def _group(values, label: str) -> dict:
        rows = values.get("arms.groups")
        for row in rows if isinstance(rows, list) else []:
            if isinstance(row, dict) and str(row.get("label", "")).strip() == label.strip():
                return row
        return {}

    @staticmethod
    def _column_label(study, table: str, column: str, value) -> str:
        try:
            field = study.template.field(table).column(column)
        except KeyError:
            return ""
        return display_value(field, value)


def write_r_export(review: Review, handle: BinaryIO, *, extractor=None) -> None:
    """The zip, written into the binary file `handle`. Reads and pools every analysis of the
    review (see `reporting.analyses` for the cost; its cache usually answers)."""
    settings = reporting.synthesis_settings(review)
    pooled = reporting.analyses(review, extractor=extractor)
    facts = StudyFacts(reporting.study_inputs(review, extractor=extractor))
    with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
        _write_sheet(archive, INDEX, index_sheet(pooled, settings))
        for item in pooled:
            _write_sheet(archive, file_for(item), analysis_sheet(item, facts))
        archive.writestr(SCRIPT, R_SCRIPT)
        archive.writestr(README, readme(review, pooled, settings, extractor=extractor))


def _write_sheet(archive: zipfile.ZipFile, name: str, sheet: Sheet) -> None:
    with archive.open(name, "w") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        write_csv(sheet, text)
        text.flush()
        text.detach()  # the archive closes its own member


def file_for(item: reporting.Pooled) -> str:
    return f"{item.slug}.csv"


# --- One analysis: a row per comparison pooled ------------------------------------------------


def analysis_sheet(item: reporting.Pooled, facts: StudyFacts | None = None) -> Sheet:
    """One row per comparison the product pooled: the analysis, the study, the two groups,
    their figures under metafor's names, the product's own effect for the row, and the key
    and days as moderators."""
    continuous = item.key.kind == "continuous"
    figures = CONTINUOUS_COLUMNS if continuous else DICHOTOMOUS_COLUMNS
    headers = [
        "analysis_id",
        "analysis_title",
        "study",
        "comparison",
        "treatment",
        "control",
        *figures,
        "product_yi",
        "product_vi",
        *MODERATOR_COLUMNS,
        *STUDY_COLUMNS,
        "treatment_figures_from",
        "control_figures_from",
        "note",
    ]
    numeric = {*figures, "product_yi", "product_vi", "treatment_day", "control_day"}
    columns = [Column(h, kind="number" if h in numeric else "text") for h in headers]
    return Sheet(item.slug, columns, _analysis_rows(item, facts or StudyFacts([])))


def _analysis_rows(item: reporting.Pooled, facts: StudyFacts) -> Iterator[list]:
    key = item.key
    moderators = [*exports.key_cells(key), key.window.basis]
    for entry, effect in item.rows:
        t, c = entry.treatment, entry.control
        if key.kind == "continuous":
            figures = [t.mean, t.sd, t.n, c.mean, c.sd, c.n, c.n_reported]
        else:
            figures = [t.events, t.n, c.events, c.n, c.events_reported, c.n_reported]
        product = [effect.estimate, effect.variance] if effect is not None else [None, None]
        yield [
            item.slug,
            key.title,
            entry.study,
            entry.comparison,
            t.group,
            c.group,
            *figures,
            *product,
            *moderators,
            t.days,
            c.days,
            *facts.cells(entry.study, t.group),
            _figures_from(t),
            _figures_from(c),
            entry.note,
        ]


def _figures_from(arm) -> str:
    """How the arm's figures were obtained and where in the paper, as the workbook says it."""
    parts = [getattr(arm, "how", ""), arm.source]
    return "; ".join(part for part in parts if part)


# --- The index: the product's answer for each analysis ----------------------------------------

INDEX_COLUMNS = [
    Column("id"),
    Column("file"),
    Column("title"),
    Column("outcome"),
    Column("compartment"),
    Column("species"),
    Column("contrast"),
    Column("time_window"),
    Column("data"),
    Column("measure"),
    Column("method"),
    Column("model"),
    Column("shared_control"),
    Column("k_studies", kind="integer"),
    Column("k_comparisons", kind="integer"),
    Column("estimate", kind="number"),
    Column("ci_low", kind="number"),
    Column("ci_high", kind="number"),
    Column("tau2", kind="number"),
    Column("i2", kind="number"),
    Column("note"),
]


def index_sheet(pooled: list[reporting.Pooled], settings: reporting.Settings) -> Sheet:
    """A line per analysis. `measure` and `method` are the switches the R script reads:
    SMD, RR or OR; REML, DL, PM, or MH for Mantel-Haenszel. Estimates and bounds are on the
    reader's scale (g, or the ratio); τ² of a ratio stays on the log scale, as metafor gives
    it; an analysis the product did not pool has no estimate and says why."""

    def rows() -> Iterator[list]:
        for item in pooled:
            key, result = item.key, item.result
            measure, method = _measure_and_method(key.kind, settings)
            numbers = [None] * 5
            note = item.error
            if result is not None:
                numbers = [
                    result.display(result.pooled),
                    result.display(result.ci_low),
                    result.display(result.ci_high),
                    result.tau2,
                    result.i2,
                ]
                note = " ".join([*item.analysis.notes, *result.notes])  # sentences
            yield [
                item.slug,
                file_for(item),
                key.title,
                key.outcome,
                key.compartment,
                key.species,
                key.contrast,
                key.window.title,
                key.kind,
                measure,
                method,
                result.model if result is not None else "",
                item.analysis.multi_arm,
                item.analysis.k,
                result.k if result is not None else None,
                *numbers,
                note,
            ]

    return Sheet("analyses", INDEX_COLUMNS, rows())


def _measure_and_method(kind: str, settings: reporting.Settings) -> tuple[str, str]:
    if kind == "continuous":
        return "SMD", settings.estimator
    method = "MH" if settings.binary_pooling == "MH" else settings.estimator
    return settings.binary_measure, method


# --- The README and the script ----------------------------------------------------------------


def readme(
    review: Review, pooled: list[reporting.Pooled], settings: reporting.Settings, *, extractor=None
) -> str:
    whose = (
        f"the data of extractor {extractor.username}, not the consensus"
        if extractor is not None
        else "the consensus data (final consensus extractions)"
    )
    files = "\n".join(
        f"  {file_for(item)}\n      {item.key.title}"
        + ("" if item.result is not None else " (not pooled)")
        for item in pooled
    )
    return README_TEXT.format(
        title=review.title,
        whose=whose,
        settings=settings.described,
        count=len(pooled),
        files=files or "  (none: no analysis has data yet)",
    )


README_TEXT = """\
Analysis data for R: {title}

The {count} meta-analyses of this review, on {whose}, ready for R's metafor package.
The product pooled {settings}.

Files
  analyses.csv
      One line per analysis: its id and file, title, outcome, species, comparison and time
      window, the effect measure (SMD = Hedges' g, RR, OR), the method (REML, DL, PM, or MH
      for Mantel-Haenszel), how shared controls were handled, k, and the product's pooled
      estimate with its 95% CI, tau^2 and I^2. Ratios are given as ratios; tau^2 of a ratio
      is on the log scale, as metafor reports it.
  <id>.csv (one per analysis)
      One row per comparison the product pooled: the study, the groups compared (treatment
      and control), and the figures under metafor's names: m1i, sd1i, n1i, m2i, sd2i, n2i
      for continuous outcomes, ai, n1i, ci, n2i (events and totals) for dichotomous ones.
      The treatment group is group 1. A control shared by several arms is already split
      (n2i_shared is its whole n) or the arms already combined into one group, as the product
      pooled them. product_yi and product_vi are the product's effect for the row (log ratio
      for RR and OR) and its variance. The other columns (outcome, compartment, species,
      assay class, values, direction, contrast, time window, days) can serve as moderators.
  reproduce.R
      Runs each analysis with escalc() and rma() (or rma.mh()) with the product's settings
      and prints R's pooled estimate, CI, tau^2 and I^2 beside the product's.
  README.txt
      This file.

Run, in the unzipped folder (R with metafor: install.packages("metafor")):
  Rscript reproduce.R
  Rscript reproduce.R --results   (also writes R's numbers to r_results.csv)

The analyses:
{files}
"""


R_SCRIPT = r"""# Re-runs every meta-analysis of this export with metafor and prints R's pooled
# estimate beside the product's (analyses.csv). Run it in the unzipped folder:
#
#   Rscript reproduce.R              # prints the comparison
#   Rscript reproduce.R --results    # also writes it to r_results.csv
#
# The product's settings: Hedges' g is escalc("SMD") with its default vtype "LS"; random
# effects are rma() with the estimator in the "method" column and z-tests (no Knapp-Hartung);
# counts are "RR" or "OR", pooled by rma.mh() with its defaults, or by rma() on escalc's log
# ratios (0.5 added to the cells of a study with a zero cell, a study without events in
# either group dropped). Ratios are printed as ratios; tau2 of a ratio is on the log scale.

suppressPackageStartupMessages(library(metafor))

read <- function(file) {
  read.csv(file, fileEncoding = "UTF-8-BOM", na.strings = "", stringsAsFactors = FALSE)
}

# metafor finds the Paule-Mandel tau2 with uniroot(tol = 1.2e-4), which moves I2 in its fifth
# significant digit; the product finds the root to machine precision. REML and DL ignore it.
tight <- list(tol = 1e-12)

fit <- function(a, d) {
  if (a$measure == "SMD") {
    es <- escalc("SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
                 data = d)
    return(rma(yi, vi, data = es, method = a$method, control = tight))
  }
  if (a$method == "MH") {
    return(rma.mh(ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = d, measure = a$measure))
  }
  es <- escalc(a$measure, ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = d, drop00 = TRUE)
  rma(yi, vi, data = es[!is.na(es$yi), ], method = a$method, control = tight)
}

quantities <- c("estimate", "ci_low", "ci_high", "tau2", "i2")
index <- read("analyses.csv")
found <- list()
for (i in seq_len(nrow(index))) {
  a <- index[i, ]
  cat("\n", a$title, "\n", sep = "")
  if (is.na(a$estimate)) {
    cat("  not pooled by the product: ", a$note, "\n", sep = "")
    next
  }
  res <- fit(a, read(a$file))
  scale <- if (a$measure == "SMD") identity else exp
  r <- c(scale(res$beta[1]), scale(res$ci.lb), scale(res$ci.ub),
         if (inherits(res, "rma.mh")) NA else res$tau2, res$I2)
  product <- as.numeric(a[quantities])
  cat(sprintf("  %s by %s, %d comparisons\n", a$measure, a$method, res$k))
  print(data.frame(R = round(r, 4), product = round(product, 4), row.names = quantities))
  found[[length(found) + 1]] <- data.frame(id = a$id, quantity = quantities, r = r,
                                           product = product)
}

if ("--results" %in% commandArgs(trailingOnly = TRUE)) {
  empty <- data.frame(id = character(), quantity = character(), r = numeric(),
                      product = numeric())
  write.csv(do.call(rbind, c(list(empty), found)), "r_results.csv", row.names = FALSE)
}
"""
