"""Agreement between the two extractors of each study, field by field, across a review.

For every field the two answers are compared on every study where both extractions are
complete; categorical fields also get Cohen's kappa (screening's agreement statistics).
Table cells are compared row by row (rows paired by the table's key) and pooled per column,
which is labelled "Table › Column".
"""

from __future__ import annotations

from collections import defaultdict

from extraction import rob, schema
from extraction.models import Extraction, Study
from reviewmgr.models import Review
from screening.agreement import agreement


def _pairs(review: Review):
    studies = Study.objects.filter(review=review).prefetch_related(
        "extractions__risks", "extractions__template_version"
    )
    for study in studies:
        pair = [
            e
            for e in study.extractions.all()
            if e.kind == Extraction.Kind.INDEPENDENT and e.complete
        ]
        if len(pair) == 2 and pair[0].template_version_id == pair[1].template_version_id:
            yield study, sorted(pair, key=lambda e: e.extractor_id)


def field_agreement(review: Review) -> list[dict]:
    """One row per field (or table column, or risk-of-bias domain) answered in at least one
    complete pair: label, pairs compared, percent agreement, kappa where categorical."""
    compared: dict[str, dict] = {}
    answers: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
    templates: dict[int, schema.Template] = {}
    for _, (first, second) in _pairs(review):
        version = first.template_version
        template = schema.load_once(templates, version.pk, version.definition)
        for item in schema.compare_values(template, first.values, second.values):
            if item.a is None and item.b is None:
                continue
            key = f"{item.path}.{item.column}" if item.column else item.path
            field = template.field(key)
            label = (
                f"{template.field(item.path).label} › {item.label}" if item.column else item.label
            )
            entry = compared.setdefault(
                key, {"label": label, "categorical": schema.is_categorical(field), "agree": 0}
            )
            entry["agree"] += item.agree
            a, b = answers[key]
            a.append(_hashable(item.a))
            b.append(_hashable(item.b))
        _risk_answers(first, second, compared, answers)
    rows = []
    for key, entry in compared.items():
        a, b = answers[key]
        n = len(a)
        row = {"key": key, "label": entry["label"], "n": n, "percent": 100 * entry["agree"] / n}
        if entry["categorical"] and n >= 2:
            categories = sorted({v for v in a + b}, key=str)
            result = agreement(a, b, categories=categories)
            row["kappa"] = result.kappa
        rows.append(row)
    return rows


def _risk_answers(first, second, compared, answers) -> None:
    theirs = {(r.tool, r.result): r for r in second.risks.all()}
    for mine in first.risks.all():
        other = theirs.get((mine.tool, mine.result))
        if other is None:
            continue
        tool = rob.TOOLS[mine.tool]
        for domain in tool.domains:
            a, b = mine.judgements.get(domain.key), other.judgements.get(domain.key)
            if a is None and b is None:
                continue
            key = f"rob.{tool.key}.{domain.key}"
            entry = compared.setdefault(
                key, {"label": f"{tool.name}: {domain.label}", "categorical": True, "agree": 0}
            )
            entry["agree"] += a == b
            answers[key][0].append(a or "")
            answers[key][1].append(b or "")


def _hashable(value):
    if isinstance(value, list):
        return tuple(sorted(map(str, value)))
    if isinstance(value, dict):
        return tuple(sorted(value.items()))
    return "" if value is None else value
