"""Extraction pages: the studies, each extractor's form (saved field by field), the
comparison and consensus, risk of bias, and the template builder."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from extraction import comparison, field_agreement, rob, rowmatch, schema, services
from extraction.forms import AddFieldForm, ExtractionSettingsForm, NewTemplateForm, TemplateJsonForm
from extraction.models import Extraction, Study, Template
from extraction.templatetags.extraction_tags import dom_id
from reviewmgr.forms import posted_number
from reviewmgr.models import Membership, Review
from reviewmgr.permissions import get_review_for_user

UNIT_SUFFIX = "#unit"
STICKY_COLUMNS = 6  # app.css places this many key columns of a table


def _study_or_404(review: Review, pk: int) -> Study:
    return get_object_or_404(Study.objects.filter(review=review).select_related("record"), pk=pk)


def _extraction_for(request: HttpRequest, review: Review, pk: int) -> Extraction:
    """An extraction the user may edit: their own, or the consensus if they may reconcile.
    Someone else's independent extraction is not found (blind extraction)."""
    extraction = get_object_or_404(
        Extraction.objects.filter(study__review=review).select_related("study", "template_version"),
        pk=pk,
    )
    if extraction.kind == Extraction.Kind.INDEPENDENT:
        if extraction.extractor_id != request.user.pk:
            raise Http404("No such extraction.")
        if not review.membership.has_role(Membership.Role.EXTRACTOR):
            raise PermissionDenied("You are no longer an extractor in this review.")
    elif not services.may_reconcile(extraction.study, request.user, review.membership):
        raise PermissionDenied("Only the lead builds the consensus in this review.")
    return extraction


def overview(request: HttpRequest, slug: str) -> HttpResponse:
    review = get_review_for_user(request, slug)
    services.sync_studies(review=review)
    config = services.config_for(review)
    studies = list(
        Study.objects.filter(review=review)
        .select_related("record__review")  # the record's link names its review
        .prefetch_related("extractions__extractor")
    )
    for study in studies:
        study.mine = next(
            (e for e in study.extractions.all() if e.extractor_id == request.user.pk), None
        )
        study.extractor_count = sum(
            1 for e in study.extractions.all() if e.kind == Extraction.Kind.INDEPENDENT
        )
    settings_form = ExtractionSettingsForm(instance=config, review=review)
    context = {
        "review": review,
        "config": config,
        "studies": studies,
        "settings_form": settings_form,
        "agreement": field_agreement.field_agreement(review),
        "nav": "extraction",
    }
    return render(request, "extraction/overview.html", context)


@require_POST
def settings_view(request: HttpRequest, slug: str) -> HttpResponse:
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    config = services.config_for(review)
    before = config.template
    form = ExtractionSettingsForm(request.POST, instance=config, review=review)
    if form.is_valid():
        config = services.update_settings(review=review, user=request.user, **form.cleaned_data)
        begun = Study.objects.filter(review=review, extractions__isnull=False).distinct().count()
        if before is not None and config.template != before and begun:
            messages.success(
                request,
                f"Extraction settings saved. Studies not yet begun will use “{config.template}”; "
                f"the {begun} stud{'y' if begun == 1 else 'ies'} already begun keep "
                f"“{before}”, so that both extractors and the consensus share one form.",
            )
        else:
            messages.success(request, "Extraction settings saved.")
    else:
        messages.error(request, "; ".join(e for errors in form.errors.values() for e in errors))
    return redirect("extraction:overview", review.slug)


@require_POST
def start(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    review = get_review_for_user(request, slug, role=Membership.Role.EXTRACTOR)
    study = _study_or_404(review, pk)
    try:
        extraction = services.start_extraction(study=study, user=request.user)
    except ValidationError as error:
        messages.error(request, error.messages[0])
        return redirect("extraction:overview", review.slug)
    return redirect("extraction:extract", review.slug, extraction.pk)


def _form_context(review: Review, extraction: Extraction) -> dict:
    template = services.template_of(extraction)
    tool = services.tool_for(extraction)
    risks = list(extraction.risks.all())
    return {
        "review": review,
        "extraction": extraction,
        "study": extraction.study,
        "template": template,
        "save_url": reverse("extraction:save", args=[review.slug, extraction.pk]),
        "sections": _sections(template, extraction.values),
        "tool": tool,
        "tool_domains": _rob_rows(tool, risks),
        "risks": risks,
        "problems": schema.missing_required(template, extraction.values),
        "figure_warnings": figure_warnings(template, extraction.values),
        "changes": extraction.template_version.changes,
        "nav": "extraction",
    }


def figure_warnings(template: schema.Template, values: dict) -> list[str]:
    """Implausible figures in the tables, located as a person reads them ("Groups, row 2")."""
    found = []
    for path, row, warning in schema.table_warnings(template, values):
        found.append(f"{template.field(path).label}, row {row + 1}: {warning.message}")
    return found


def _sections(template: schema.Template, values: dict) -> list[dict]:
    """Sections with each field's stored value, ready for the form partials."""
    sections = []
    for section in template.sections:
        fields = []
        for field in section.fields:
            if field.type == "table":
                fields.append(_table_item(field, values.get(field.path)))
                continue
            condition = field.required_when
            fields.append(
                {
                    "field": field,
                    "value": values.get(field.path),
                    "name": field.path,
                    # a conditional field is marked required only while its condition holds
                    "required_now": field.required
                    or (condition is not None and condition.holds(values.get(condition.field))),
                    "condition_values": json.dumps([str(v) for v in condition.values])
                    if condition
                    else "",
                }
            )
        sections.append({"section": section, "fields": fields})
    return sections


def _table_item(field: schema.Field, value, new_row: int | None = None) -> dict:
    """A table with its key columns first: they stay in view (sticky) while the extractor
    scrolls across twenty columns of numbers. A table without a key keeps its first column."""
    keyed = [field.column(key) for key in field.row_key] or list(field.columns[:1])
    columns = keyed + [c for c in field.columns if c not in keyed]
    sticky = {c.key: index for index, c in enumerate(keyed) if index < STICKY_COLUMNS}
    return {
        "field": field,
        "value": value,
        "name": field.path,
        "shared_keys": _shared_keys(field, value),
        "columns": [{"field": c, "sticky": sticky.get(c.key)} for c in columns],
        "rows": [
            {
                "index": index,
                "new": index == new_row,
                "cells": [
                    {
                        "field": column,
                        "sticky": sticky.get(column.key),
                        "value": (row or {}).get(column.key),
                        "name": f"{field.path}|{index}|{column.key}",
                        # a cell has no <label>: its column header is not one
                        "label": f"{column.label}, row {index + 1}",
                    }
                    for column in columns
                ],
            }
            for index, row in enumerate(value or [])
        ],
    }


def _shared_keys(field: schema.Field, value) -> list[str]:
    """Rows of one extraction whose key cells are the same (a cell left empty in both counts
    as the same; rows with no key cell filled are left alone): the comparison can only tell
    them apart by their other cells, so the extractor is told while typing."""
    if not field.row_key or not isinstance(value, list):
        return []
    groups: dict[tuple, list[int]] = {}
    for index, row in enumerate(value):
        key = rowmatch.key_of(row if isinstance(row, dict) else {}, field.row_key)
        if any(part is not None for part in key):
            groups.setdefault(key, []).append(index + 1)
    names = [_in_a_sentence(field.column(key).label) for key in field.row_key]
    what = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
    return [
        f"Rows {', '.join(map(str, rows[:-1]))} and {rows[-1]} have the same {what}. If they "
        "are different results, tell them apart in one of these columns; otherwise remove one."
        for rows in groups.values()
        if len(rows) > 1
    ]


def _in_a_sentence(label: str) -> str:
    """A column's label inside a sentence: 'Days since PRP' reads 'days since PRP'."""
    return label[:1].lower() + label[1:] if not label.split()[0].isupper() else label


def _rob_rows(tool: rob.Tool | None, risks) -> list[dict]:
    if tool is None:
        return []
    saved = next((r for r in risks if r.tool == tool.key and not r.result), None)
    return [
        {
            "domain": domain,
            "judgement": (saved.judgements if saved else {}).get(domain.key, ""),
            "quote": (saved.quotes if saved else {}).get(domain.key, ""),
        }
        for domain in tool.domains
    ]


def extract(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    review = get_review_for_user(request, slug)
    extraction = _extraction_for(request, review, pk)
    return render(request, "extraction/extract.html", _form_context(review, extraction))


def _raw_value(request: HttpRequest, template: schema.Template, name: str):
    """What the browser posted for the input `name`, shaped as schema.clean_value takes it."""
    path, _, rest = name.partition("|")
    row, column = None, ""
    if rest:
        row_text, _, column = rest.partition("|")
        row = posted_number(row_text)
    field = template.field(path)
    target = field.column(column) if field.type == "table" else field
    if target.type == "multiple_choice":
        raw = request.POST.getlist(name)
    elif target.units:
        raw = {
            "value": request.POST.get(name, ""),
            "unit": request.POST.get(name + UNIT_SUFFIX, ""),
        }
    else:
        raw = request.POST.get(name, "")
    return path, row, column, raw, target


@require_POST
def save(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Autosave of one input (htmx sends the input's name as HX-Trigger-Name), or every
    input of a section when the browser submits the form without JavaScript."""
    review = get_review_for_user(request, slug)
    extraction = _extraction_for(request, review, pk)
    template = services.template_of(extraction)
    trigger = request.headers.get("HX-Trigger-Name", "")
    names = [trigger.removesuffix(UNIT_SUFFIX)] if trigger else _posted_names(request)
    errors, warnings = [], []
    kept = ""
    for name in names:
        try:
            path, row, column, raw, target = _raw_value(request, template, name)
            services.save_value(
                extraction=extraction, path=path, raw=raw, user=request.user, row=row, column=column
            )
            if row is not None:
                warnings += _row_warnings(extraction, path, row)
        except KeyError:
            errors.append(f"The form has no field '{name}'.")
        except (schema.ValueProblem, ValidationError) as error:
            message = getattr(error, "message", None) or "; ".join(error.messages)
            errors.append(message if trigger else f"{target.label}: {message}")
            kept = _stored_text(extraction, target, path, row, column)
    if request.htmx:
        extraction.refresh_from_db(fields=["values"])
        context = {
            "errors": errors,
            "warnings": warnings,
            "kept": kept,
            "name": trigger,
            "problems": schema.missing_required(template, extraction.values),
            "table": _key_warning(template, extraction.values, trigger),
        }
        return render(request, "extraction/_saved.html", context)
    if errors:
        for message in errors:
            messages.error(request, message)
    else:
        messages.success(request, "Saved.")
    for message in dict.fromkeys(warnings):
        messages.warning(request, message)
    return redirect(reverse("extraction:extract", args=[review.slug, extraction.pk]))


def _key_warning(template: schema.Template, values: dict, name: str) -> dict | None:
    """The table whose shared-key warning a save of the cell `name` may change, if any."""
    path, _, rest = name.partition("|")
    column = rest.partition("|")[2]
    try:
        field = template.field(path)
    except KeyError:
        return None
    if field.type != "table" or column not in field.row_key:
        return None
    return {"field": field, "shared_keys": _shared_keys(field, values.get(path))}


def _stored_text(extraction: Extraction, target: schema.Field, path: str, row, column) -> str:
    """What is still stored for an input whose new value was refused, as the form shows it."""
    value = extraction.values.get(path)
    if row is not None:
        rows = value if isinstance(value, list) else []
        cells = rows[row] if row is not None and 0 <= row < len(rows) else {}
        value = cells.get(column) if isinstance(cells, dict) else None
    return schema.display_value(target, value)


def _row_warnings(extraction: Extraction, path: str, row: int) -> list[str]:
    extraction.refresh_from_db(fields=["values"])
    rows = extraction.values.get(path) or []
    if not 0 <= row < len(rows) or not isinstance(rows[row], dict):
        return []
    return [warning.message for warning in schema.implausible(rows[row])]


def _posted_names(request: HttpRequest) -> list[str]:
    names = []
    for key in request.POST:
        if key in {"csrfmiddlewaretoken", "fields"} or key.endswith(UNIT_SUFFIX):
            continue
        names.append(key)
    # unticked checkboxes send nothing: the form lists every field it shows
    for key in request.POST.getlist("fields"):
        if key not in names:
            names.append(key)
    return names


@require_POST
def rows(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Add a row to a table or remove one. With htmx the table alone is sent back (and the
    list of what is still missing); without JavaScript the whole form is shown again."""
    review = get_review_for_user(request, slug)
    extraction = _extraction_for(request, review, pk)
    path = request.POST.get("path", "")
    error, added = "", None
    try:
        if "propose" in request.POST:
            proposed = services.add_proposed_comparisons(extraction=extraction, user=request.user)
            messages.success(
                request,
                f"Proposed {len(proposed)} comparison{'' if len(proposed) == 1 else 's'}: "
                + ("; ".join(f"{t} vs {c}" for t, c in proposed) or "all were listed already")
                + ". Check them against the paper.",
            )
        elif "delete" in request.POST:
            row = posted_number(request.POST["delete"])
            if row is None:
                raise ValidationError("Choose a row to delete.", code="no_row")
            services.delete_row(extraction=extraction, path=path, row=row, user=request.user)
        else:
            added = services.add_row(extraction=extraction, path=path, user=request.user)
    except (KeyError, ValidationError) as problem:
        error = getattr(problem, "messages", [str(problem)])[0]
    template = services.template_of(extraction)
    try:
        field = template.field(path)
    except KeyError:
        field = None
    if request.htmx and field is not None and field.type == "table":
        extraction.refresh_from_db(fields=["values"])
        context = {
            "review": review,
            "extraction": extraction,
            "save_url": reverse("extraction:save", args=[review.slug, extraction.pk]),
            "problems": schema.missing_required(template, extraction.values),
            "item": _table_item(field, extraction.values.get(path), new_row=added),
            "row_error": error,
        }
        return render(request, "extraction/_table.html", context)
    if error:
        messages.error(request, error)
    anchor = "#" + dom_id(path)
    return redirect(reverse("extraction:extract", args=[review.slug, extraction.pk]) + anchor)


@require_POST
def complete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    review = get_review_for_user(request, slug)
    extraction = _extraction_for(request, review, pk)
    try:
        if extraction.kind == Extraction.Kind.CONSENSUS:
            services.finalise_consensus(consensus=extraction, user=request.user)
            messages.success(request, "Consensus is final; exports use it.")
        else:
            services.mark_complete(extraction=extraction)
            messages.success(request, "Extraction marked complete.")
    except ValidationError as error:
        messages.error(request, "Not yet complete: " + " ".join(error.messages))
        return redirect("extraction:extract", review.slug, extraction.pk)
    return redirect("extraction:overview", review.slug)


@require_POST
def risk_of_bias(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    review = get_review_for_user(request, slug)
    extraction = _extraction_for(request, review, pk)
    tool_key = request.POST.get("tool", "")
    tool = rob.TOOLS.get(tool_key)
    if tool is None:
        messages.error(request, "Choose the study design first; it decides the tool.")
    else:
        try:
            services.save_risk_of_bias(
                extraction=extraction,
                tool=tool_key,
                judgements={
                    d.key: request.POST.get(f"judgement_{d.key}", "") for d in tool.domains
                },
                quotes={d.key: request.POST.get(f"quote_{d.key}", "") for d in tool.domains},
                user=request.user,
            )
            messages.success(request, f"{tool.name} saved.")
        except ValidationError as error:
            messages.error(request, error.messages[0])
    return redirect(reverse("extraction:extract", args=[review.slug, extraction.pk]) + "#rob")


# Comparison and consensus -------------------------------------------------------------------


COMPARE_FILTERS = ("disagreements", "all")


def compare(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    review = get_review_for_user(request, slug)
    study = _study_or_404(review, pk)
    if not services.may_reconcile(study, request.user, review.membership):
        raise PermissionDenied("Only the lead compares the extractions in this review.")
    pair = services.independent_pair(study)
    both_complete = len(pair) == 2 and all(e.complete for e in pair)
    if not both_complete and not review.membership.is_lead:
        raise PermissionDenied("The comparison opens once both extractions are complete.")
    consensus = study.extractions.filter(kind=Extraction.Kind.CONSENSUS).first()
    version = pair[0].template_version if pair else None
    rows = comparison.comparison_rows(pair, consensus) if len(pair) == 2 else []
    disagreements = [r for r in rows if not r["item"].agree]
    show = request.GET.get("show", "")
    if show not in COMPARE_FILTERS:
        show = "disagreements" if disagreements else "all"
    shown = (
        disagreements
        if show == "disagreements"
        else disagreements + [r for r in rows if r["item"].agree]
    )
    context = {
        "review": review,
        "study": study,
        "pair": pair,
        "rows": shown,
        "show": show,
        "disagreements": len(disagreements),
        "total": len(rows),
        "both_empty": sum(1 for r in rows if r["item"].a is None and r["item"].b is None),
        "consensus": consensus,
        "both_complete": both_complete,
        "risk_rows": comparison.risk_comparison(pair, consensus),
        "figure_warnings": [
            (e.extractor.username if e.extractor else "Consensus", message)
            for e in [*pair, *([consensus] if consensus else [])]
            for message in figure_warnings(schema.load_template(version.definition), e.values)
        ]
        if version is not None
        else [],
        "nav": "extraction",
    }
    return render(request, "extraction/compare.html", context)


@require_POST
def start_consensus(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    review = get_review_for_user(request, slug)
    study = _study_or_404(review, pk)
    if not services.may_reconcile(study, request.user, review.membership):
        raise PermissionDenied("Only the lead builds the consensus in this review.")
    try:
        services.start_consensus(study=study, user=request.user)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    return redirect("extraction:compare", review.slug, study.pk)


@require_POST
def take(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Take one answer from one extractor into the consensus."""
    review = get_review_for_user(request, slug)
    study = _study_or_404(review, pk)
    consensus = study.extractions.filter(kind=Extraction.Kind.CONSENSUS).first()
    if consensus is None:
        raise Http404("Start the consensus first.")
    consensus = _extraction_for(request, review, consensus.pk)
    source_id = posted_number(request.POST.get("source", ""))
    if source_id is None:
        raise Http404("No such extraction.")
    source = get_object_or_404(
        study.extractions.filter(kind=Extraction.Kind.INDEPENDENT), pk=source_id
    )
    try:
        services.take_value(
            consensus=consensus,
            source=source,
            path=request.POST.get("path", ""),
            row=posted_number(request.POST.get("row", "")),
            column=request.POST.get("column", ""),
            user=request.user,
        )
    except (KeyError, ValidationError) as error:
        messages.error(request, getattr(error, "messages", [str(error)])[0])
    show = request.POST.get("show", "")
    query = f"?show={show}" if show in COMPARE_FILTERS else ""
    return redirect(
        reverse("extraction:compare", args=[review.slug, study.pk]) + query + "#comparison"
    )


@require_POST
def reopen(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    study = _study_or_404(review, pk)
    consensus = get_object_or_404(study.extractions.filter(kind=Extraction.Kind.CONSENSUS))
    services.reopen_consensus(consensus=consensus, user=request.user)
    messages.success(request, "Consensus reopened for changes.")
    return redirect("extraction:compare", review.slug, study.pk)


# Templates ----------------------------------------------------------------------------------


def _template_or_404(review: Review, pk: int) -> Template:
    return get_object_or_404(services.templates_for(review), pk=pk)


def template_list(request: HttpRequest, slug: str) -> HttpResponse:
    review = get_review_for_user(request, slug)
    templates = services.templates_for(review).prefetch_related("versions")
    context = {
        "review": review,
        "templates": templates,
        "form": NewTemplateForm(review=review),
        "nav": "extraction",
    }
    return render(request, "extraction/template_list.html", context)


@require_POST
def template_create(request: HttpRequest, slug: str) -> HttpResponse:
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    form = NewTemplateForm(request.POST, review=review)
    if not form.is_valid():
        messages.error(request, "; ".join(e for errors in form.errors.values() for e in errors))
        return redirect("extraction:templates", review.slug)
    template = services.create_template(
        review=review,
        name=form.cleaned_data["name"],
        user=request.user,
        copy_of=form.cleaned_data["copy_of"],
    )
    return redirect("extraction:template", review.slug, template.pk)


@require_http_methods(["GET", "POST"])
def template_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """The builder: add fields with a form, or edit the whole definition as JSON; either
    way a change is published as a new version and unfinished extractions move to it."""
    review = get_review_for_user(request, slug)
    template = _template_or_404(review, pk)
    current = template.current
    definition = current.definition if current else {}
    editable = review.membership.is_lead and not template.is_builtin
    action = request.POST.get("action")
    add_form = AddFieldForm(
        request.POST if action == "add" else None, definition=definition, prefix="add"
    )
    json_form = TemplateJsonForm(
        request.POST if request.method == "POST" and action != "add" else None,
        initial={"definition": json.dumps(definition, indent=2, ensure_ascii=False)},
        prefix="json",
    )
    if request.method == "POST":
        if not editable:
            raise PermissionDenied("Only a lead can edit this review's own templates.")
        form = add_form if action == "add" else json_form
        if form.is_valid():
            try:
                version = services.publish_template_version(
                    template=template, definition=form.cleaned_data["definition"], user=request.user
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, f"Published version {version.number}.")
                return redirect("extraction:template", review.slug, template.pk)
    context = {
        "review": review,
        "template": template,
        "loaded": schema.load_template(definition) if definition else None,
        "versions": template.versions.order_by("-number"),
        "editable": editable,
        "add_form": add_form,
        "json_form": json_form,
        "nav": "extraction",
    }
    return render(request, "extraction/template_detail.html", context)
