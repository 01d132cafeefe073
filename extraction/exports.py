"""The review's evidence tables: each sheet a generator of rows, one writer for XLSX and CSV.

Consensus data by default (final consensus extractions); one extractor's on request. Any
template's fields export: each section's plain fields become columns of the study sheets,
and each table field becomes a long-format sheet, one row per entered row.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from extraction import conversions, pooling, prisma, reporting, rob, schema
from extraction.models import Extraction, RiskOfBias
from reviewmgr import studies
from reviewmgr.models import Review
from reviewmgr.spreadsheets import Column, Sheet, write_csv, write_xlsx
from screening.models import Decision, RecordScreening, Resolution, Stage

STUDY_COLUMNS = [
    Column("Study ID", width=9),
    Column("Study", width=28),
    Column("Year", kind="integer", width=7),
    Column("Title", width=50, wrap=True),
    Column("DOI", kind="doi", width=24),
    Column("PMID", kind="pmid", width=11),
]
PRP_SECTION = "prp"
CHUNK = 2000


def _study_cells(record, study_id: str) -> list:
    """The study's ID ("S" and its first report's record number: the same on every sheet,
    in the CSV and in the RIS) and the citation of the report the row is about."""
    return [study_id, record.short_authors, record.year, record.title, record.doi, record.pmid]


def _reports_by_study(review: Review | int) -> dict[int, list[int]]:
    """First report id -> the record ids of the study's other reports. One query."""
    found: dict[int, list[int]] = {}
    for report, first in studies.study_keys(review).items():
        found.setdefault(first, []).append(report)
    return {first: sorted(reports) for first, reports in found.items()}


def _templates(extractions: list[Extraction]) -> dict[int, schema.Template]:
    templates: dict[int, schema.Template] = {}
    for e in extractions:
        schema.load_once(templates, e.template_version_id, e.template_version.definition)
    return templates


def _union_fields(templates, *, sections=None, exclude_sections=()) -> list[schema.Field]:
    """Plain (non-table) fields across the template versions in use, in form order."""
    seen: dict[str, schema.Field] = {}
    for template in templates:
        for section in template.sections:
            if sections is not None and section.key not in sections:
                continue
            if section.key in exclude_sections:
                continue
            for field in section.fields:
                if field.type != "table":
                    seen.setdefault(field.path, field)
    return list(seen.values())


def _cell(field: schema.Field, value):
    """Numbers stay numbers; everything else is the readable text."""
    if value is None:
        return None
    if field.type in ("integer", "decimal") and not isinstance(value, dict):
        return value
    if field.type == "decimal" and isinstance(value, dict):
        return value.get("value")
    return schema.display_value(field, value)


def _field_columns(fields: list[schema.Field]) -> list[Column]:
    columns = []
    for field in fields:
        kind = "number" if field.type in ("integer", "decimal") else "text"
        columns.append(Column(field.heading, kind=kind, wrap=field.type == "long_text"))
        if field.type == "decimal" and field.units:
            columns.append(Column(f"{field.label} unit"))
    return columns


def _field_cells(fields, values: dict) -> list:
    cells = []
    for field in fields:
        value = values.get(field.path)
        cells.append(_cell(field, value))
        if field.type == "decimal" and field.units:
            cells.append(value.get("unit") if isinstance(value, dict) else None)
    return cells


def characteristics_sheet(extractions, templates) -> Sheet:
    fields = _union_fields(templates.values(), exclude_sections={PRP_SECTION})

    def rows() -> Iterator[list]:
        further = _reports_by_study(extractions[0].study.review_id) if extractions else {}
        for e in extractions:
            reports = [e.study.record_id, *further.get(e.study.record_id, [])]
            yield (
                _study_cells(e.study.record, e.study.study_id)
                + ["; ".join(str(pk) for pk in reports)]
                + _field_cells(fields, e.values)
            )

    columns = STUDY_COLUMNS + [Column("Reports (record IDs)", width=16)]
    return Sheet("Characteristics", columns + _field_columns(fields), rows())


def _number(values: dict, path: str):
    value = values.get(path)
    return value.get("value") if isinstance(value, dict) else value


def prp_classification(values: dict) -> conversions.PrpClass:
    """PAW, leukocyte content and Dohan Ehrenfest family from the entered counts."""

    def per_ul(path):  # entered as 10^3 per µL
        number = _number(values, path)
        return number * 1000 if number is not None else None

    activation = values.get("prp.activation")
    if activation in ("calcium_and_thrombin",):
        activation = "other"
    if activation == "not_reported":
        activation = None
    leukocytes = values.get("prp.leukocytes")
    return conversions.classify_prp(
        platelets_per_ul=per_ul("prp.platelet_concentration"),
        baseline_platelets_per_ul=per_ul("prp.platelet_baseline"),
        wbc_per_ul=per_ul("prp.wbc_concentration"),
        baseline_wbc_per_ul=per_ul("prp.wbc_baseline"),
        neutrophils_per_ul=per_ul("prp.neutrophil_concentration"),
        baseline_neutrophils_per_ul=per_ul("prp.neutrophil_baseline"),
        activation=activation,
        leukocyte_content=leukocytes if leukocytes in ("rich", "poor") else None,
        is_fibrin=values.get("prp.product_form") == "fibrin_gel",
        fold_over_baseline=_number(values, "prp.platelet_fold"),
    )


# MIBO item -> the built-in form's field(s) that report it
MIBO_FIELDS = {
    "whole_blood_volume": ("prp.blood_volume",),
    "anticoagulant": ("prp.anticoagulant",),
    "preparation_system": ("prp.system",),
    "spin_count": ("prp.spins",),
    "spin_force": ("prp.spin1_force",),
    "spin_time": ("prp.spin1_time",),
    "prp_volume": ("prp.final_volume",),
    "whole_blood_platelets": ("prp.platelet_baseline",),
    "prp_platelets": ("prp.platelet_concentration",),
    "red_cells": ("prp.red_cells",),
    "white_cells": ("prp.wbc_concentration",),
    "white_cell_differential": ("prp.neutrophil_concentration",),
    "activation": ("prp.activation",),
    "injection_volume": ("prp.injection_volume",),
    "injection_count": ("prp.injections",),
    "injection_interval": ("prp.injection_interval",),
    "delivery_route": ("prp.route",),
    "image_guidance": ("prp.guidance",),
    "post_injection_protocol": ("prp.post_injection",),
}


NOT_REPORTED_TEXT = {"not reported", "nr", "n/r", "not stated", "unclear", "unknown"}


def _reported(value) -> bool:
    """Whether a stored answer reports something: a chosen "Not reported", or the words typed
    into a text field, are not a report."""
    if value in (None, "not_reported", ["not_reported"]):
        return False
    if isinstance(value, str):
        words = value.strip().rstrip(".").casefold()
        return bool(words) and words not in NOT_REPORTED_TEXT
    return True


def mibo_score(values: dict) -> conversions.Completeness:
    reported = {}
    for key, _ in conversions.MIBO_PRP_ITEMS:
        paths = MIBO_FIELDS.get(key, ())
        reported[key] = any(_reported(values.get(p)) for p in paths)
    # a single injection has no interval to report; it is not missing
    if values.get("prp.injections") == 1 and not reported["injection_interval"]:
        reported["injection_interval"] = True
    return conversions.mibo_completeness(reported)


def prp_sheet(extractions, templates) -> Sheet | None:
    fields = _union_fields(templates.values(), sections={PRP_SECTION})
    if not fields:
        return None

    def rows() -> Iterator[list]:
        for e in extractions:
            try:
                kind = prp_classification(e.values)
            except conversions.ConversionError as error:
                kind = conversions.PrpClass(None, None, None, (f"Not classified: {error}",))
            score = mibo_score(e.values)
            yield (
                _study_cells(e.study.record, e.study.study_id)
                + _field_cells(fields, e.values)
                + [
                    kind.paw,
                    kind.leukocytes,
                    kind.dohan_family,
                    "; ".join(kind.notes),
                    score.percent,
                    "; ".join(score.missing_labels),
                ]
            )

    computed = [
        Column("PAW code (computed; DeLong 2012)", width=16),
        Column("Leukocytes (computed)", width=14),
        Column("Dohan Ehrenfest family (computed; 2009)", width=14),
        Column("Classification notes", wrap=True, width=30),
        Column("MIBO-derived completeness %", kind="number", width=12),
        Column("MIBO-derived items missing", wrap=True, width=40),
    ]
    return Sheet("PRP protocols", STUDY_COLUMNS + _field_columns(fields) + computed, rows())


TABLE_SHEET_NAMES = {
    "cytokines.measurements": "Cytokine outcomes",
    "outcomes.results": "Pain outcomes",
}


def table_sheets(extractions, templates) -> list[Sheet]:
    """One long-format sheet per table field: study x row (e.g. analyte x compartment x time
    point x group), with SD and mean as used for synthesis and how they were obtained."""
    tables: dict[str, schema.Field] = {}
    table_columns: dict[str, dict[str, schema.Field]] = {}
    for template in templates.values():
        for field in template.fields():
            if field.type == "table":
                tables.setdefault(field.path, field)
                # columns across the versions in use: one added in a later version is kept
                for column in field.columns:
                    table_columns.setdefault(field.path, {}).setdefault(column.key, column)
    sheets = []
    for path, table in tables.items():
        columns = list(table_columns[path].values())
        has_numbers = {"n", "mean"} <= {c.key for c in columns}

        def rows(path=path, columns=columns, has_numbers=has_numbers) -> Iterator[list]:
            for e in extractions:
                for index, row in enumerate(e.values.get(path) or [], 1):
                    cells = _study_cells(e.study.record, e.study.study_id) + [index]
                    cells += [_cell(c, row.get(c.key)) for c in columns]
                    if has_numbers:
                        _, mean, sd, method = pooling.continuous_figures(row)
                        if method.startswith("not "):
                            cells += [None, None, method]
                        else:
                            converted = method not in ("", "reported") and sd is not None
                            cells += [
                                mean,
                                sd,
                                method if converted else ("reported" if sd else ""),
                            ]
                    yield cells

        sheet_columns = STUDY_COLUMNS + [Column("Row", kind="integer", width=5)]
        sheet_columns += [
            Column(c.label, kind="number" if c.type in ("integer", "decimal") else "text")
            for c in columns
        ]
        if has_numbers:
            sheet_columns += [
                Column("Mean used", kind="number"),
                Column("SD used", kind="number"),
                Column("SD source (conversion method)", wrap=True, width=36),
            ]
        sheets.append(Sheet(TABLE_SHEET_NAMES.get(path, table.label), sheet_columns, rows()))
    return sheets


def risk_of_bias_sheet(extractions) -> Sheet:
    by_extraction = {e.pk: e for e in extractions}
    width = max(len(t.domains) for t in rob.TOOLS.values())

    def rows() -> Iterator[list]:
        risks = RiskOfBias.objects.filter(extraction_id__in=by_extraction).order_by(
            "extraction__study__record__year", "extraction_id", "tool", "result"
        )
        for risk in risks:
            tool = rob.TOOLS[risk.tool]
            study = by_extraction[risk.extraction_id].study
            cells = [*_study_cells(study.record, study.study_id)[:3], tool.name, risk.result]
            cells.append(tool.label(risk.overall) if risk.overall else None)
            for domain in tool.domains:
                judgement = risk.judgements.get(domain.key)
                cells += [
                    domain.label,
                    tool.label(judgement) if judgement else None,
                    risk.quotes.get(domain.key),
                ]
            # tools have from 6 to 10 domains; the shorter ones leave the last columns empty
            cells += [None, None, None] * (width - len(tool.domains))
            yield cells

    columns = [*STUDY_COLUMNS[:3], Column("Tool", width=12), Column("Result")]
    columns.append(Column("Overall (tool's algorithm)", kind="judgement", width=16))
    for n in range(1, width + 1):
        columns += [
            Column(f"Domain {n}", width=26, wrap=True),
            Column(f"Domain {n} judgement", kind="judgement", width=14),
            Column(f"Domain {n} quote", wrap=True, width=30),
        ]
    return Sheet("Risk of bias", columns, rows())


def excluded_sheet(review: Review) -> Sheet:
    reasons = reporting.full_text_reasons(review)
    keys = studies.study_keys(review)

    def rows() -> Iterator[list]:
        records = review.records.filter(pk__in=reasons).order_by("pk")
        for record in records.iterator(chunk_size=CHUNK):
            study_id = studies.study_id(keys.get(record.pk, record.pk))
            yield _study_cells(record, study_id) + [reasons[record.pk]]

    return Sheet("Excluded at full text", STUDY_COLUMNS + [Column("Reason", width=30)], rows())


def screening_log_sheet(review: Review) -> Sheet:
    """Every decision and every resolution, oldest first."""
    keys = studies.study_keys(review)

    def rows() -> Iterator[list]:
        sources = ((Decision, "reviewer", "decision"), (Resolution, "resolved_by", "resolution"))
        for model, person, kind in sources:
            entries = (
                model.objects.filter(record__review=review)
                .order_by("created_at", "pk")
                .values_list(
                    "record_id",
                    "record__title",
                    "stage",
                    f"{person}__username",
                    "verdict",
                    "reason",
                    "note",
                    "created_at",
                )
            )
            for record_id, title, stage, who, verdict, reason, note, at in entries.iterator(
                chunk_size=CHUNK
            ):
                stage_label = Stage(stage).label
                at = at.replace(tzinfo=None)
                study_id = studies.study_id(keys.get(record_id, record_id))
                cells = [study_id, record_id, title, stage_label, kind, who, verdict, reason]
                yield [*cells, note, at]

    columns = [
        Column("Study ID", width=9),
        Column("Record", kind="integer", width=9),
        Column("Title", width=50),
        Column("Stage", width=18),
        Column("Kind", width=10),
        Column("By", width=14),
        Column("Verdict", width=9),
        Column("Reason", width=24),
        Column("Note", width=30),
        Column("Time (UTC)", kind="date", width=19),
    ]
    return Sheet("Screening log", columns, rows())


def prisma_sheet(review: Review) -> Sheet:
    counts = reporting.prisma_counts(review)
    return Sheet(
        "PRISMA counts",
        [Column("Box", width=36), Column("Item", width=40), Column("n", kind="integer", width=8)],
        iter([list(row) for row in prisma.as_rows(counts)]),
    )


def synthesis_sheet(review: Review, *, extractor=None) -> Sheet:
    """Per analysis: its key, every study's groups with n, mean, SD (or events/n) and where
    each number came from, g (or the log ratio) with SE and weight, then the pooled line with
    CI, prediction interval, τ², I², Q, its p and the estimator. A first line says whose data
    these are."""
    settings = reporting.synthesis_settings(review)

    def rows() -> Iterator[list]:
        whose = (
            f"Data of extractor {extractor.username}, not the consensus"
            if extractor is not None
            else "Consensus data (final consensus extractions)"
        )
        yield [whose] + [None] * (len(columns) - 1)
        for item in reporting.analyses(review, extractor=extractor):
            yield from _analysis_rows(item, settings)

    columns = [
        Column("Analysis", width=40, wrap=True),
        Column("Outcome", width=18),
        Column("Compartment", width=16),
        Column("Species", width=10),
        Column("Assay class", width=18),
        Column("Values", width=14),
        Column("Direction", width=14),
        Column("Comparison", width=30),
        Column("Time window", width=24),
        Column("Row", width=10),
        Column("Study", width=24),
        Column("Groups compared", width=30, wrap=True),
        Column("Treatment group", width=18),
        Column("Treatment n", kind="number"),
        Column("Treatment mean or events", kind="number"),
        Column("Treatment SD", kind="number"),
        Column("Treatment figures from", width=30, wrap=True),
        Column("Control group", width=18),
        Column("Control n", kind="number"),
        Column("Control mean or events", kind="number"),
        Column("Control SD", kind="number"),
        Column("Control figures from", width=30, wrap=True),
        Column("Day", kind="number"),
        Column("Effect (g, RR or OR)", kind="number"),
        Column("SE (of g, or of log RR/OR)", kind="number"),
        Column("Weight %", kind="number"),
        Column("k", kind="integer"),
        Column("Pooled (g, RR or OR)", kind="number"),
        Column("95% CI low", kind="number"),
        Column("95% CI high", kind="number"),
        Column("95% PI low", kind="number"),
        Column("95% PI high", kind="number"),
        Column("tau²", kind="number"),
        Column("I² %", kind="number"),
        Column("Q", kind="number"),
        Column("Q df", kind="integer"),
        Column("Q p", kind="number"),
        Column("Model", width=30),
        Column("Notes", width=50, wrap=True),
    ]
    return Sheet("Meta-analyses", columns, rows())


def _arm_cells(arm, kind: str) -> list:
    if kind == "continuous":
        how = arm.how + (f"; {arm.source}" if arm.source else "")
        if arm.n_reported:
            how += f"; n {arm.n_reported} split"
        return [arm.group, arm.n, arm.mean, arm.sd, how]
    how = arm.source + (f"; {arm.events_reported}/{arm.n_reported} split" if arm.n_reported else "")
    return [arm.group, arm.n, arm.events, None, how]


def key_cells(key) -> list:
    """What an analysis pools, as cells: outcome, compartment, species, assay class, values,
    direction, comparison and time window (the workbook's and the R tables' columns)."""
    return [
        key.outcome,
        key.compartment,
        key.species,
        key.assay_class,
        key.values,
        key.direction,
        key.contrast,
        key.window.title,
    ]


def _analysis_rows(item: reporting.Pooled, settings: reporting.Settings) -> Iterator[list]:
    key = item.key
    head = [key.title, *key_cells(key)]
    display = reporting.result_value(item.result, "display") or (lambda value: value)
    for entry, effect in item.rows:
        effect_cells = [None, None, None]
        if effect is not None:
            se = reporting.result_value(effect, "se")
            if se is None and reporting.result_value(effect, "variance") is not None:
                se = effect.variance**0.5
            effect_cells = [display(effect.g), se, effect.weight]
        yield (
            head
            + ["study", entry.study, entry.comparison]
            + _arm_cells(entry.treatment, key.kind)
            + _arm_cells(entry.control, key.kind)
            + [entry.treatment.days, *effect_cells]
            + [None] * 12
            + [entry.note]
        )
    result = item.result
    notes = [*item.analysis.notes]
    notes += [f"{d.study}: out: {d.reason}" for d in item.analysis.decisions if not d.included]
    if result is None:
        yield (
            head
            + ["not pooled"]
            + [None] * 16
            + [item.analysis.k]
            + [None] * 11
            + ["; ".join([item.error, *notes])]
        )
        return
    value = reporting.result_value
    model = value(result, "model") or value(result, "method") or settings.estimator
    notes += list(value(result, "notes") or ())
    yield (
        head
        + ["pooled"]
        + [None] * 16
        + [
            item.analysis.k,
            display(result.pooled),
            display(result.ci_low),
            display(result.ci_high),
            display(value(result, "pi_low")),
            display(value(result, "pi_high")),
            result.tau2,
            result.i2,
            result.q,
            result.q_df,
            result.q_p,
            str(model),
            "; ".join(notes),
        ]
    )


def review_sheets(review: Review, *, extractor=None) -> list[Sheet]:
    """Every sheet of the workbook, in order. Generators: nothing is read until written."""
    extractions = list(reporting.final_extractions(review, extractor=extractor))
    templates = _templates(extractions)
    sheets = [characteristics_sheet(extractions, templates)]
    if (prp := prp_sheet(extractions, templates)) is not None:
        sheets.append(prp)
    sheets += table_sheets(extractions, templates)
    sheets += [
        risk_of_bias_sheet(extractions),
        excluded_sheet(review),
        screening_log_sheet(review),
        prisma_sheet(review),
        synthesis_sheet(review, extractor=extractor),
    ]
    return sheets


def export_workbook(review: Review, target, *, extractor=None) -> None:
    write_xlsx(review_sheets(review, extractor=extractor), target)


def export_csv(review: Review, directory: Path, *, extractor=None) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for sheet in review_sheets(review, extractor=extractor):
        path = directory / f"{schema_slug(sheet.name)}.csv"
        write_csv(sheet, path)
        written.append(path)
    return written


def schema_slug(name: str) -> str:
    return "".join(c.lower() if c.isalnum() else "-" for c in name).strip("-")


def included_record_ids(review: Review, stage: str = Stage.FULL_TEXT) -> list[int]:
    return list(
        RecordScreening.objects.filter(
            review=review, stage=stage, status=RecordScreening.Status.RESOLVED, outcome="include"
        )
        .order_by("record_id")
        .values_list("record_id", flat=True)
    )
