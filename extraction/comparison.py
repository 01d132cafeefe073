"""The comparison page's rows: every field and table cell of two extractions with the consensus
answer beside it, and their risk-of-bias judgements domain by domain."""

from __future__ import annotations

from extraction import rob, rowmatch, schema
from extraction.models import Extraction


def comparison_rows(pair: list[Extraction], consensus: Extraction | None) -> list[dict]:
    """Every field and table cell of the two extractions, with the consensus answer beside it;
    table rows are paired by their key, and so is the consensus row shown beside them."""
    template = schema.load_template(pair[0].template_version.definition)
    first, second = pair[0].values, pair[1].values
    agreed = consensus.values if consensus else {}
    consensus_rows = _consensus_rows_by_place(template, first, second, agreed)
    rows = []
    for item in schema.compare_values(template, first, second):
        field = template.field(item.path)
        target = field.column(item.column) if item.column else field
        if item.row is None:
            agreed_value = agreed.get(item.path)
        else:
            index = consensus_rows[item.path][item.row]
            cells = (agreed.get(item.path) or [])[index] if index is not None else {}
            agreed_value = cells.get(item.column) if isinstance(cells, dict) else None
        rows.append(
            {
                "item": item,
                "label": f"{field.label} › {item.label}" if item.column else item.label,
                "a": schema.display_value(target, item.a),
                "b": schema.display_value(target, item.b),
                "consensus": schema.display_value(target, agreed_value),
            }
        )
    # a row pair's first differing cell carries what concerns the whole row (take it whole,
    # its key is shared); it is the one shown first under either filter
    seen = set()
    for row in rows:
        item = row["item"]
        row["lead_cell"] = (
            item.row is not None and not item.agree and (item.path, item.row) not in seen
        )
        if row["lead_cell"]:
            seen.add((item.path, item.row))
    return rows


def _consensus_rows_by_place(
    template: schema.Template, first: dict, second: dict, agreed: dict
) -> dict[str, list[int | None]]:
    """For each table, the consensus row paired with each row pair of the comparison."""
    found = {}
    for field in template.fields():
        if field.type != "table":
            continue
        rows_a = rowmatch.as_rows(first.get(field.path))
        rows_b = rowmatch.as_rows(second.get(field.path))
        pairs = schema.pair_rows(field, rows_a, rows_b)
        reference = [rows_a[p.a] if p.a is not None else rows_b[p.b] for p in pairs]
        consensus_rows = rowmatch.as_rows(agreed.get(field.path))
        places: list[int | None] = [None] * len(pairs)
        for match in schema.pair_rows(field, reference, consensus_rows):
            if match.a is not None:
                places[match.a] = match.b
        found[field.path] = places
    return found


def risk_comparison(pair: list[Extraction], consensus: Extraction | None) -> list[dict]:
    if len(pair) != 2:
        return []
    by_tool = [{(r.tool, r.result): r for r in e.risks.all()} for e in pair]
    agreed = {(r.tool, r.result): r for r in consensus.risks.all()} if consensus else {}
    rows = []
    for key in sorted(by_tool[0].keys() | by_tool[1].keys()):
        tool = rob.TOOLS[key[0]]
        first, second = by_tool[0].get(key), by_tool[1].get(key)
        for domain in tool.domains:
            a = first.judgements.get(domain.key, "") if first else ""
            b = second.judgements.get(domain.key, "") if second else ""
            c = agreed[key].judgements.get(domain.key, "") if key in agreed else ""
            rows.append(
                {
                    "tool": tool,
                    "domain": domain,
                    "a": tool.label(a) if a else "",
                    "b": tool.label(b) if b else "",
                    "consensus": tool.label(c) if c else "",
                    "agree": a == b,
                }
            )
        a = first.overall if first else ""
        b = second.overall if second else ""
        c = agreed[key].overall if key in agreed else ""
        rows.append(
            {
                "tool": tool,
                "domain": {"label": "Overall judgement"},
                "a": tool.judgement_labels.get(a, a),
                "b": tool.judgement_labels.get(b, b),
                "consensus": tool.judgement_labels.get(c, c),
                "agree": a == b,
            }
        )
    return rows
