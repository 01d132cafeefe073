"""What the lead reports: PRISMA 2020 counts from the live database, and the outcome data
the synthesis pools. Reads only; every stage is visible from here.

The PRISMA boxes are counted in `extraction.prisma_counting` (imported here under the names
callers use).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache

from extraction import pooling, schema, synthesis
from extraction.models import Extraction, ExtractionConfig
from extraction.prisma_counting import NO_REASON, full_text_reasons, prisma_counts
from reviewmgr.models import Review

__all__ = ["NO_REASON", "full_text_reasons", "prisma_counts"]


# Outcome data for the synthesis ------------------------------------------------------------


def final_extractions(review: Review, *, extractor=None):
    """Consensus extractions that are final, or one extractor's, by study."""
    rows = Extraction.objects.filter(study__review=review).select_related(
        "study__record", "template_version", "extractor"
    )
    if extractor is None:
        rows = rows.filter(kind=Extraction.Kind.CONSENSUS, final=True)
    else:
        rows = rows.filter(kind=Extraction.Kind.INDEPENDENT, extractor=extractor)
    return rows.order_by("study__record__year", "study__record_id")


def study_label(record) -> str:
    label = record.short_authors or f"Record {record.pk}"
    return f"{label} {record.year}" if record.year else label


def synthesis_choices(review: Review) -> pooling.Choices:
    """The lead's windows and shared-control choices, as the pooling module takes them."""
    config = ExtractionConfig.objects.filter(review=review).first()
    if config is None:
        return pooling.Choices()
    return pooling.Choices(
        windows=tuple(windows_from(config.time_windows)),
        multi_arm=config.multi_arm,
        multi_arm_by_analysis={
            k: v for k, v in (config.multi_arm_by_analysis or {}).items() if v in MULTI_ARM
        },
    )


MULTI_ARM = ("split", "combine")


def windows_from(stored) -> list[pooling.Window]:
    """The windows stored on the review's settings; entries that do not parse are skipped
    (the settings form never stores them)."""
    windows = []
    for item in stored if isinstance(stored, list) else []:
        try:
            centre, half = float(item["centre"]), float(item.get("half_width") or 0)
        except (KeyError, TypeError, ValueError):
            continue
        basis = item.get("basis") if item.get("basis") in ("injury", "prp") else "injury"
        if math.isfinite(centre) and math.isfinite(half) and half >= 0:
            windows.append(
                pooling.Window(centre, half, basis, str(item.get("label") or "").strip())
            )
    return windows


@dataclass(frozen=True, slots=True)
class Settings:
    estimator: str = "REML"
    binary_measure: str = "RR"
    binary_pooling: str = "MH"

    @property
    def described(self) -> str:
        """The lead's choices as a report states them."""
        estimator = ExtractionConfig.Estimator(self.estimator).label
        measure = ExtractionConfig.BinaryMeasure(self.binary_measure).label.lower()
        pooling_name = ExtractionConfig.BinaryPooling(self.binary_pooling).label
        return (
            f"continuous outcomes as Hedges' g in a random-effects model, τ² by {estimator}; "
            f"dichotomous outcomes as the {measure}, pooled by {pooling_name}"
        )


def synthesis_settings(review: Review) -> Settings:
    config = ExtractionConfig.objects.filter(review=review).first()
    if config is None:
        return Settings()
    return Settings(config.estimator, config.binary_measure, config.binary_pooling)


@dataclass(slots=True)
class Pooled:
    """One analysis as reported: what went in, what came out, or why nothing could."""

    analysis: pooling.Analysis
    result: Any = None  # synthesis.MetaAnalysis
    error: str = ""
    effects: dict[str, Any] = field(default_factory=dict)  # entry label -> StudyEffect

    @property
    def key(self) -> pooling.Key:
        return self.analysis.key

    @property
    def slug(self) -> str:
        return self.analysis.key.slug

    @property
    def rows(self) -> list[tuple[pooling.Entry, Any]]:
        return [(entry, self.effects.get(entry.label)) for entry in self.analysis.entries]


def study_inputs(review: Review, *, extractor=None) -> list[pooling.StudyData]:
    """Each study's data, labelled as in a reference list: two "Rossi 2021" become
    "Rossi 2021a" and "Rossi 2021b"."""
    templates: dict[int, schema.Template] = {}
    found = []
    for extraction in final_extractions(review, extractor=extractor):
        version = extraction.template_version
        template = schema.load_once(templates, version.pk, version.definition)
        values = extraction.values if isinstance(extraction.values, dict) else {}
        found.append((study_label(extraction.study.record), template, values))
    counts = Counter(label for label, _, _ in found)
    seen: Counter = Counter()
    studies = []
    for label, template, values in found:
        if counts[label] > 1:
            seen[label] += 1
            label = f"{label}{_letters(seen[label])}"
        studies.append(pooling.StudyData(label, template, values))
    return studies


def _letters(number: int) -> str:
    text = ""
    while number:
        number, rest = divmod(number - 1, 26)
        text = chr(ord("a") + rest) + text
    return text


ANALYSES_CACHE_SECONDS = 600
ANALYSES_CACHE_VERSION = 1  # raise when the selection or pooling rules change


def analyses(review: Review, *, extractor=None) -> list[Pooled]:
    """Every analysis of the review with its result: the consensus (final consensus
    extractions), or one extractor's data when `extractor` is given.

    Reads every extraction of the review. Selecting and pooling take about 0.6 s for 200
    studies of 96 rows each (96 analyses), and the Reports page asks again for each forest
    plot, so the result is cached under a digest of everything it depends on (the values,
    their templates and the lead's settings): a changed value is a new key, never a stale
    answer."""
    settings = synthesis_settings(review)
    choices = synthesis_choices(review)
    studies = study_inputs(review, extractor=extractor)
    key = f"synthesis-v{ANALYSES_CACHE_VERSION}:{review.pk}:{_digest(studies, settings, choices)}"
    found = cache.get(key)
    if found is None:
        found = [pool(analysis, settings) for analysis in pooling.build_analyses(studies, choices)]
        cache.set(key, found, ANALYSES_CACHE_SECONDS)
    return found


def _digest(studies: list[pooling.StudyData], settings: Settings, choices: pooling.Choices) -> str:
    text = hashlib.sha256()
    templates: dict[int, str] = {}
    for study in studies:
        if id(study.template) not in templates:
            templates[id(study.template)] = json.dumps(study.template.to_dict(), sort_keys=True)
        text.update(templates[id(study.template)].encode())
        text.update(study.label.encode())
        text.update(json.dumps(study.values, sort_keys=True, default=str).encode())
    text.update(repr((settings, choices.windows, choices.multi_arm)).encode())
    text.update(json.dumps(dict(choices.multi_arm_by_analysis), sort_keys=True).encode())
    return text.hexdigest()


def pool(analysis: pooling.Analysis, settings: Settings) -> Pooled:
    """Pool one analysis; every problem, whatever the numbers, becomes `error`, never raised."""
    pooled = Pooled(analysis)
    if analysis.k < 2:
        pooled.error = (
            "Not pooled: needs at least two studies"
            f" ({analysis.k} stud{'y' if analysis.k == 1 else 'ies'} in this analysis)."
        )
        return pooled
    key = analysis.key
    try:
        if key.kind == "continuous":
            comparisons = [
                synthesis.StudyComparison(
                    label=entry.label,
                    treatment=synthesis.Arm(
                        entry.treatment.n, entry.treatment.mean, entry.treatment.sd
                    ),
                    control=synthesis.Arm(entry.control.n, entry.control.mean, entry.control.sd),
                )
                for entry in analysis.entries
            ]
            result = synthesis.meta_analyse(
                comparisons,
                outcome=key.title,
                method=settings.estimator,
                higher_is_better=key.higher_is_better,
            )
        else:
            pool_binary = synthesis.meta_analyse_binary
            comparisons = [
                synthesis.BinaryComparison(
                    label=entry.label,
                    treatment=synthesis.BinaryArm(entry.treatment.events, entry.treatment.n),
                    control=synthesis.BinaryArm(entry.control.events, entry.control.n),
                )
                for entry in analysis.entries
            ]
            result = pool_binary(
                comparisons,
                outcome=key.title,
                measure=settings.binary_measure,
                pooling=settings.binary_pooling,
                method=settings.estimator,
                higher_is_better=key.higher_is_better,
            )
    except (ArithmeticError, ValueError) as error:  # SynthesisError is a ValueError
        pooled.error = f"Not pooled: {error}"
        return pooled
    pooled.result = result
    pooled.effects = {effect.label: effect for effect in result.studies}
    return pooled


def result_value(result, name: str, default=None):
    """A figure of a meta-analysis result that older synthesis code may not compute."""
    return getattr(result, name, default)


def time_courses(pooled: list[Pooled]) -> dict[str, list[Any]]:
    """Per analyte, the series the time-course picture draws: one line per compartment (and
    assay class), human and each animal species in their own panel, PRP against its control.
    A point is the pooled g of a window, or the single study's g where only one study has it."""
    series: dict[str, dict[tuple, list]] = defaultdict(lambda: defaultdict(list))
    for item in pooled:
        key = item.key
        if key.kind != "continuous" or key.table != "cytokines.measurements":
            continue
        if not key.contrast.startswith("PRP vs ") or key.contrast.endswith(
            ("Sham", "Naive or healthy")
        ):
            continue
        point = _time_point(item)
        if point is None:
            continue
        since = "days since injury" if key.window.basis == "injury" else "days since PRP"
        panel = f"{key.species} ({since})"
        label = key.compartment or "Unspecified"
        if key.assay_class != "concentration":
            label += f" ({key.assay_class})"
        if key.values != "final values":
            label += f", {key.values}"
        series[key.outcome][(panel, label)].append(point)
    found: dict[str, list[Any]] = {}
    for outcome, lines in series.items():
        found[outcome] = [
            synthesis.TimeSeries(
                label=label, panel=panel, points=tuple(sorted(points, key=lambda p: p.days))
            )
            for (panel, label), points in sorted(lines.items())
        ]
    return found


def _time_point(item: Pooled):
    days = item.key.window.centre
    if item.result is not None:
        return synthesis.TimePoint(
            days=days,
            estimate=item.result.pooled,
            ci_low=item.result.ci_low,
            ci_high=item.result.ci_high,
            k=item.analysis.k,
        )
    if len(item.analysis.entries) != 1:
        return None
    entry = item.analysis.entries[0]
    try:
        g, variance = synthesis.hedges_g(
            synthesis.Arm(entry.treatment.n, entry.treatment.mean, entry.treatment.sd),
            synthesis.Arm(entry.control.n, entry.control.mean, entry.control.sd),
        )
    except (ArithmeticError, ValueError, AttributeError):
        return None
    se = math.sqrt(variance)
    if not (math.isfinite(g) and math.isfinite(se)):
        return None
    return synthesis.TimePoint(
        days=days, estimate=g, ci_low=g - 1.959964 * se, ci_high=g + 1.959964 * se, k=1
    )
