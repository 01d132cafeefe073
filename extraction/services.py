"""Writes of extraction: templates and their versions, studies, values as they are typed,
completion, consensus and risk of bias. Views, commands and the seed loader call these."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import Truncator

from extraction import pooling, rob, rowmatch, schema
from extraction.models import (
    Extraction,
    ExtractionConfig,
    ExtractionEdit,
    RiskOfBias,
    Study,
    Template,
    TemplateVersion,
)
from reviewmgr import audit, studies
from reviewmgr.models import Record, Review, User
from screening.models import RecordScreening, Stage, Verdict

BUILTIN_KEY = "cytokines-prp-neuropathic-pain"
EXTRACTORS_PER_STUDY = 2
DESIGN_PATH = "study.design"


# Templates ----------------------------------------------------------------------------------


@transaction.atomic
def ensure_builtin_templates() -> list[Template]:
    """Load the shipped templates; a changed file becomes a new version (safe to rerun)."""
    loaded = []
    for key, definition in schema.builtin_definitions().items():
        template_def = schema.load_template(definition)
        template, _ = Template.objects.get_or_create(
            review=None,
            key=key,
            defaults={"name": template_def.name, "description": template_def.description},
        )
        current = template.current
        if current is None or current.definition != definition:
            _new_version(template, definition, None)
        loaded.append(template)
    return loaded


def _new_version(template: Template, definition: Mapping, user: User) -> TemplateVersion:
    current = template.current
    new = schema.load_template(definition)
    changes = []
    if current is not None:
        old = schema.load_template(current.definition)
        changes = [
            {"path": c.path, "kind": c.kind, "detail": c.detail}
            for c in schema.diff_templates(old, new)
        ]
    version = TemplateVersion.objects.create(
        template=template,
        number=(current.number + 1) if current else 1,
        definition=new.to_dict(),
        changes=changes,
        created_by=user,
    )
    if current is not None:
        _upgrade_extractions(current, version)
    return version


def _upgrade_extractions(old: TemplateVersion, new: TemplateVersion) -> None:
    """Move unfinished extractions to the new version, keeping every value already entered:
    what the new version cannot hold is kept aside in `retired_values`, never dropped."""
    old_template = schema.load_template(old.definition)
    new_template = schema.load_template(new.definition)
    for extraction in Extraction.objects.select_for_update().filter(
        template_version=old, final=False
    ):
        _carry_over(extraction, old_template, new, new_template)


def _carry_over(
    extraction: Extraction,
    old_template: schema.Template,
    new: TemplateVersion,
    new_template: schema.Template,
) -> None:
    kept, retired = schema.values_retained(old_template, new_template, extraction.values)
    extraction.values = kept
    extraction.retired_values = {**extraction.retired_values, **retired}
    extraction.template_version = new
    extraction.save(update_fields=["values", "retired_values", "template_version"])


@transaction.atomic
def create_template(
    *, review: Review, name: str, user: User, copy_of: Template | None = None
) -> Template:
    """A review's own template: empty, or a copy of another (e.g. the built-in one)."""
    base_key = schema.key_from(name, limit=80).replace("_", "-")
    key, n = base_key, 1
    while Template.objects.filter(review=review, key=key).exists():
        n += 1
        key = f"{base_key}-{n}"
    if copy_of is not None:
        definition = {**copy_of.current.definition, "key": key, "name": name}
    else:
        definition = {
            "key": key,
            "name": name,
            "sections": [{"key": "study", "title": "Study", "fields": []}],
        }
    template = Template.objects.create(review=review, key=key, name=name, created_by=user)
    version = _new_version(template, definition, user)
    copied = f" from “{copy_of.name}”" if copy_of is not None else ""
    audit.log(
        review=review,
        actor=user,
        action=audit.Action.TEMPLATE_CREATED,
        target=_template_target(template),
        after={
            "name": name,
            "key": key,
            "copy_of": copy_of.name if copy_of else None,
            "version": version.number,
        },
        summary=f"{audit.name_of(user)} created the extraction template “{name}”{copied}.",
    )
    return template


def _template_target(template: Template) -> audit.Target:
    return audit.Target(f"Template “{template.name}”", "template", template.pk)


@transaction.atomic
def publish_template_version(
    *, template: Template, definition: Mapping, user: User
) -> TemplateVersion:
    """A new version from an edited definition; raises ValidationError listing every problem.
    Unfinished extractions move to it and keep their values."""
    if template.is_builtin:
        raise ValidationError(
            "A built-in template cannot be edited; make a copy for this review.", code="builtin"
        )
    try:
        schema.load_template(definition)
    except schema.TemplateError as error:
        raise ValidationError(error.problems, code="bad_template") from None
    # two leads publishing at once take turns, so that version numbers stay unique
    Template.objects.select_for_update().filter(pk=template.pk).first()
    current = template.current
    if current is not None and schema.load_template(current.definition) == schema.load_template(
        definition
    ):
        raise ValidationError("Nothing changed since the current version.", code="unchanged")
    version = _new_version(template, definition, user)
    template.draft = None
    template.name = version.definition["name"]
    template.save(update_fields=["draft", "name"])
    changed = len(version.changes)
    audit.log(
        review=template.review,
        actor=user,
        action=audit.Action.TEMPLATE_VERSION,
        target=_template_target(template),
        before={"version": current.number if current else None},
        after={"version": version.number, "changes": version.changes},
        summary=f"{audit.name_of(user)} published version {version.number} of the template "
        f"“{template.name}” ({changed} change{'s' if changed != 1 else ''}).",
    )
    return version


def config_for(review: Review) -> ExtractionConfig:
    config, created = ExtractionConfig.objects.get_or_create(review=review)
    if config.template_id is None:
        builtin = Template.objects.filter(review=None, key=BUILTIN_KEY).first()
        if builtin is None:
            builtin = next((t for t in ensure_builtin_templates() if t.key == BUILTIN_KEY), None)
        if builtin is not None:
            config.template = builtin
            config.save(update_fields=["template"])
    return config


# What a lead may set on the review's ExtractionConfig, and the audit action each set is
# logged under: who may build a consensus and which form new studies get, and how the
# meta-analyses pool.
EXTRACTION_SETTINGS = frozenset({"template", "extractors_may_reconcile"})
SYNTHESIS_SETTINGS = frozenset(
    {"estimator", "multi_arm", "binary_measure", "binary_pooling", "time_windows"}
)


def _logged(value: Any) -> Any:
    """A setting's value as the audit log keeps it (a template by its name)."""
    return (
        value if isinstance(value, (str, int, float, bool, list, dict, type(None))) else str(value)
    )


@transaction.atomic
def update_settings(*, review: Review, user: User, **fields) -> ExtractionConfig:
    """Change the review's extraction or synthesis settings; what changed is logged."""
    config = ExtractionConfig.objects.select_for_update().get(pk=config_for(review).pk)
    before, after = audit.apply_settings(
        config,
        fields,
        EXTRACTION_SETTINGS | SYNTHESIS_SETTINGS,
        what="extraction",
        logged=_logged,
    )
    if after:
        config.save(update_fields=list(after))
        synthesis = set(after) <= SYNTHESIS_SETTINGS
        what = "synthesis" if synthesis else "extraction"
        audit.log(
            review=review,
            actor=user,
            action=audit.Action.SYNTHESIS_SETTINGS
            if synthesis
            else audit.Action.EXTRACTION_SETTINGS,
            target=audit.Target(f"{what.capitalize()} settings", "extractionconfig", config.pk),
            before=before,
            after=after,
            summary=f"{audit.name_of(user)} changed the {what} settings: "
            f"{', '.join(name.replace('_', ' ') for name in after)}.",
        )
    return config


def templates_for(review: Review):
    """Templates a review may use: its own and the built-in ones."""
    return Template.objects.filter(Q(review=review) | Q(review__isnull=True))


# Studies ------------------------------------------------------------------------------------


def included_records(review: Review):
    """Reports included at full text (by agreement or a lead's resolution) and not marked as
    not retrieved, and the reports of the studies a previous version of the review included."""
    at_full_text = Record.objects.filter(
        review=review,
        screenings__stage=Stage.FULL_TEXT,
        screenings__status=RecordScreening.Status.RESOLVED,
        screenings__outcome=Verdict.INCLUDE,
    ).exclude(full_text__not_retrieved=True)
    previous = Record.objects.for_review(review).primaries().previous_version()
    return Record.objects.filter(Q(pk__in=at_full_text.values("pk")) | Q(pk__in=previous))


def sync_studies(*, review: Review) -> int:
    """A study for every included study, named by its first report (`reviewmgr.studies`):
    its reports share it. A study nobody has begun goes away if none of its reports is
    included any more. Returns the studies created.

    Called on every view of the extraction overview, so it only reads when nothing changed:
    a write (and on SQLite, the database's one write lock) is taken only for a change."""
    keys = studies.study_keys(review)
    included = {keys.get(pk, pk) for pk in included_records(review).values_list("pk", flat=True)}
    existing = set(Study.objects.filter(review=review).values_list("record_id", flat=True))
    new, gone = included - existing, existing - included
    if not new and not gone:
        return 0
    with transaction.atomic():
        Study.objects.bulk_create(
            [Study(review=review, record_id=pk) for pk in sorted(new)], ignore_conflicts=True
        )
        Study.objects.filter(review=review, record_id__in=gone, extractions__isnull=True).delete()
    return len(new)


def refuse_linking_an_extracted_study(*, record: Record) -> None:
    """A record whose own study was extracted cannot become another study's report: its
    extractions would be orphaned. Unlinking keeps them (see `follow_first_report`)."""
    study = Study.objects.filter(record=record, extractions__isnull=False).first()
    if study is not None:
        raise ValidationError(
            f"Record {record.pk} is a study with extractions of its own; link the other "
            f"record to it instead (a study's reports share one extraction).",
            code="extracted",
        )


def follow_first_report(*, old_id: int, new_id: int) -> None:
    """The study's first report was unlinked: the study, with its extractions, is now named
    by its next report; the unlinked record becomes a study of its own if it is included."""
    if not Study.objects.filter(record_id=new_id).exists():
        Study.objects.filter(record_id=old_id).update(record_id=new_id)


def _current_version(review: Review) -> TemplateVersion:
    config = config_for(review)
    if config.template is None or config.template.current is None:
        raise ValidationError("Choose an extraction template first.", code="no_template")
    return config.template.current


def _version_for(study: Study) -> TemplateVersion:
    """The form a study is extracted on. A study keeps the template of its first extraction
    (at that template's newest version), so that both extractors and the consensus fill the
    same form even if the lead chooses another template meanwhile; that choice applies to
    the studies nobody has begun."""
    first = study.extractions.select_related("template_version__template").order_by("pk").first()
    if first is not None:
        return first.template_version.template.current
    return _current_version(study.review)


@transaction.atomic
def start_extraction(*, study: Study, user: User) -> Extraction:
    """The extractor's own copy of the form for this study (made once, then reused)."""
    # locked first, so that a double click cannot make the same extractor's copy twice
    Study.objects.select_for_update().filter(pk=study.pk).first()
    existing = study.extractions.filter(kind=Extraction.Kind.INDEPENDENT, extractor=user)
    if (found := existing.first()) is not None:
        return found
    taken = study.extractions.filter(kind=Extraction.Kind.INDEPENDENT).count()
    if taken >= EXTRACTORS_PER_STUDY:
        raise ValidationError(
            "Two extractors are already extracting this study.", code="enough_extractors"
        )
    extraction = Extraction.objects.create(
        study=study, extractor=user, template_version=_version_for(study)
    )
    _refresh_status(study)
    return extraction


def _refresh_status(study: Study) -> None:
    extractions = list(study.extractions.all())
    independent = [e for e in extractions if e.kind == Extraction.Kind.INDEPENDENT]
    consensus = next((e for e in extractions if e.kind == Extraction.Kind.CONSENSUS), None)
    if consensus is not None:
        status = Study.Status.FINAL if consensus.final else Study.Status.IN_CONSENSUS
    elif len(independent) >= EXTRACTORS_PER_STUDY and all(e.complete for e in independent):
        status = Study.Status.COMPLETE
    elif any(e.values for e in independent):
        status = Study.Status.IN_PROGRESS
    else:
        status = Study.Status.NOT_STARTED
    if status != study.status:
        study.status = status
        study.save(update_fields=["status"])


def _log_extraction(
    extraction: Extraction, *, user: User, action: str, before=None, after=None, did: str
) -> None:
    """Log a change to one extraction; `did` says what the user did, "{where}" naming it.

    Costs one query for the study, its record and its review (two for an independent
    extraction, whose extractor is named).
    """
    study = Study.objects.select_related("review", "record").get(pk=extraction.study_id)
    if extraction.extractor_id:
        whose = f"{extraction.extractor.get_username()}'s extraction"
    else:
        whose = "the consensus"
    title = Truncator(study.record.title or "(no title)").chars(50)
    audit.log(
        review=study.review,
        actor=user,
        action=action,
        target=audit.Target(f"Study {study.pk}: {title} ({whose})", "extraction", extraction.pk),
        before=before,
        after=after,
        summary=f"{audit.name_of(user)} " + did.replace("{where}", f"{whose} of study {study.pk}"),
    )


def _value_key(path: str, row: int | None = None, column: str = "") -> str:
    """'outcomes[2].mean' for a table cell (rows counted from 1), the path otherwise."""
    if row is None:
        return path
    return f"{path}[{row + 1}]" + (f".{column}" if column else "")


def template_of(extraction: Extraction) -> schema.Template:
    return schema.load_template(extraction.template_version.definition)


def _check_editable(extraction: Extraction) -> None:
    if extraction.final:
        raise ValidationError(
            "This consensus is final; a lead must reopen it to change it.", code="final"
        )


@transaction.atomic
def save_value(
    *,
    extraction: Extraction,
    path: str,
    raw: Any,
    user: User,
    row: int | None = None,
    column: str = "",
) -> Any:
    """Clean and store one answer (or one table cell) as it is typed; every change is kept
    in the edit history. Raises schema.ValueProblem with a message for the extractor."""
    extraction = Extraction.objects.select_for_update().get(pk=extraction.pk)
    _check_editable(extraction)
    template = template_of(extraction)
    try:
        field = template.field(path)
    except KeyError:
        raise ValidationError(f"The form has no field '{path}'.", code="no_field") from None
    values = dict(extraction.values)
    if field.type == "table":
        rows = [dict(r) for r in values.get(path) or []]
        if row is None or not 0 <= row < len(rows):
            raise ValidationError(f"Row {row} does not exist in {field.label}.", code="no_row")
        try:
            cell_field = field.column(column)
        except KeyError:
            raise ValidationError(
                f"{field.label} has no column '{column}'.", code="no_column"
            ) from None
        value = schema.clean_value(cell_field, raw)
        before = rows[row].get(column)
        if value is None:
            rows[row].pop(column, None)
        else:
            rows[row][column] = value
        values[path] = rows
    else:
        value = schema.clean_value(field, raw)
        before = values.get(path)
        if value is None:
            values.pop(path, None)
        else:
            values[path] = value
    if before == value:
        return value
    extraction.values = values
    extraction.save(update_fields=["values", "updated_at"])
    ExtractionEdit.objects.create(
        extraction=extraction,
        path=path,
        row=row,
        column=column,
        before=before,
        after=value,
        by=user,
    )
    key = _value_key(path, row, column)
    _log_extraction(
        extraction,
        user=user,
        action=audit.Action.VALUE_EDITED,
        before={key: before},
        after={key: value},
        did=f"changed {key} in {{where}}.",
    )
    _after_edit(extraction, template)
    return value


def _after_edit(extraction: Extraction, template: schema.Template | None = None) -> None:
    """An edit that leaves something unanswered takes back "complete"."""
    if extraction.complete and _completion_problems(extraction, template):
        extraction.complete = False
        extraction.completed_at = None
        extraction.save(update_fields=["complete", "completed_at"])
    _refresh_status(extraction.study)


def _check_table(extraction: Extraction, path: str) -> schema.Field:
    try:
        field = template_of(extraction).field(path)
    except KeyError:
        raise ValidationError(f"The form has no field '{path}'.", code="no_field") from None
    if field.type != "table":
        raise ValidationError(f"{field.label} is not a table.", code="not_table")
    return field


@transaction.atomic
def add_row(*, extraction: Extraction, path: str, user: User) -> int:
    extraction = Extraction.objects.select_for_update().get(pk=extraction.pk)
    _check_editable(extraction)
    _check_table(extraction, path)
    rows = list(extraction.values.get(path) or [])
    rows.append({})
    extraction.values = {**extraction.values, path: rows}
    extraction.save(update_fields=["values", "updated_at"])
    ExtractionEdit.objects.create(
        extraction=extraction, path=path, row=len(rows) - 1, after={}, by=user
    )
    key = _value_key(path, len(rows) - 1)
    _log_extraction(
        extraction,
        user=user,
        action=audit.Action.VALUE_EDITED,
        before={key: None},
        after={key: {}},
        did=f"added row {len(rows)} to {path} in {{where}}.",
    )
    _refresh_status(extraction.study)
    return len(rows) - 1


@transaction.atomic
def delete_row(*, extraction: Extraction, path: str, row: int, user: User) -> None:
    extraction = Extraction.objects.select_for_update().get(pk=extraction.pk)
    _check_editable(extraction)
    _check_table(extraction, path)
    rows = list(extraction.values.get(path) or [])
    if not 0 <= row < len(rows):
        raise ValidationError(f"Row {row + 1} does not exist.", code="no_row")
    removed = rows.pop(row)
    values = dict(extraction.values)
    if rows:
        values[path] = rows
    else:
        values.pop(path, None)
    extraction.values = values
    extraction.save(update_fields=["values", "updated_at"])
    ExtractionEdit.objects.create(
        extraction=extraction, path=path, row=row, before=removed, by=user
    )
    key = _value_key(path, row)
    _log_extraction(
        extraction,
        user=user,
        action=audit.Action.VALUE_EDITED,
        before={key: removed},
        after={key: None},
        did=f"deleted row {row + 1} of {path} in {{where}}.",
    )
    _after_edit(extraction, template_of(extraction))


@transaction.atomic
def mark_complete(*, extraction: Extraction) -> Extraction:
    """Refused, with every missing answer named, until the required fields are filled."""
    extraction = Extraction.objects.select_for_update().get(pk=extraction.pk)
    _check_completable(extraction)
    extraction.complete = True
    extraction.completed_at = timezone.now()
    extraction.save(update_fields=["complete", "completed_at"])
    _refresh_status(extraction.study)
    return extraction


def _completion_problems(extraction: Extraction, template: schema.Template | None = None) -> list:
    """What must still be answered before the extraction can be complete: required answers
    and every domain of each risk-of-bias assessment begun."""
    template = template or template_of(extraction)
    return [*schema.missing_required(template, extraction.values), *_rob_problems(extraction)]


def _check_completable(extraction: Extraction) -> None:
    if problems := _completion_problems(extraction):
        raise ValidationError(
            [p if isinstance(p, str) else p.message for p in problems], code="incomplete"
        )


def _rob_problems(extraction: Extraction) -> list[str]:
    problems = []
    for assessment in extraction.risks.all():
        tool = rob.TOOLS[assessment.tool]
        missing = [d.label for d in tool.domains if d.key not in assessment.judgements]
        if missing:
            name = f"{tool.name}{f' ({assessment.result})' if assessment.result else ''}"
            problems.append(f"{name}: judge {', '.join(missing)}.")
    return problems


# Consensus ----------------------------------------------------------------------------------


def independent_pair(study: Study) -> list[Extraction]:
    return list(
        study.extractions.filter(kind=Extraction.Kind.INDEPENDENT)
        .select_related("extractor", "template_version")
        .order_by("extractor__username")
    )


def may_reconcile(study: Study, user: User, membership) -> bool:
    if membership.is_lead:
        return True
    config = config_for(study.review)
    return config.extractors_may_reconcile and any(
        e.extractor_id == user.pk for e in independent_pair(study)
    )


@transaction.atomic
def start_consensus(*, study: Study, user: User) -> Extraction:
    """The consensus copy, starting with every answer the two extractors agree on; the
    disagreements are left for the person reconciling to choose or type."""
    study = Study.objects.select_for_update().get(pk=study.pk)
    if (existing := study.extractions.filter(kind=Extraction.Kind.CONSENSUS).first()) is not None:
        return existing
    pair = independent_pair(study)
    if len(pair) < EXTRACTORS_PER_STUDY or not all(e.complete for e in pair):
        raise ValidationError(
            "Both extractors must mark their extraction complete first.", code="not_complete"
        )
    version = _version_for(study)
    template = schema.load_template(version.definition)
    first, second = ({**e.values} for e in pair)
    values = _agreed_values(template, first, second)
    consensus = Extraction.objects.create(
        study=study, kind=Extraction.Kind.CONSENSUS, template_version=version, values=values
    )
    for edit_path, after in values.items():
        ExtractionEdit.objects.create(
            extraction=consensus, path=edit_path, after=after, by=user, column="(agreed)"
        )
    _log_extraction(
        consensus,
        user=user,
        action=audit.Action.CONSENSUS_STARTED,
        after={"agreed": sorted(values)},
        did=f"started {{where}} with the {len(values)} answers both extractors agree on.",
    )
    _copy_agreed_risks(pair, consensus)
    _refresh_status(study)
    return consensus


def _agreed_values(template: schema.Template, a: Mapping, b: Mapping) -> dict:
    values: dict[str, Any] = {}
    for field in template.fields():
        if field.type == "table":
            rows = _agreed_rows(field, a.get(field.path) or [], b.get(field.path) or [])
            if rows:
                values[field.path] = rows
        elif a.get(field.path) is not None and schema.values_agree(
            field, a.get(field.path), b.get(field.path)
        ):
            values[field.path] = a[field.path]
    return values


def _agreed_rows(field: schema.Field, rows_a: list, rows_b: list) -> list[dict]:
    """A consensus row for each row pair, holding the cells both agree on. Rows are paired by
    the table's key: a pair keeps its key cells (the same, but for case or spacing), and a row
    only one extractor entered is left out, to be taken whole from the comparison. A table
    without a key pairs rows by position, and every position gets a row."""
    rows = []
    for pair in schema.pair_rows(field, rows_a, rows_b):
        if field.row_key and (pair.a is None or pair.b is None):
            continue
        row_a = rows_a[pair.a] if pair.a is not None else {}
        row_b = rows_b[pair.b] if pair.b is not None else {}
        rows.append(
            {
                c.key: row_a[c.key]
                for c in field.columns
                if row_a.get(c.key) is not None
                and (
                    c.key in field.row_key
                    or schema.values_agree(c, row_a.get(c.key), row_b.get(c.key))
                )
            }
        )
    return rows


def _consensus_row(consensus: Extraction, field: schema.Field, source: Extraction, row: int):
    """Where in the consensus table the source's row `row` goes: the consensus row paired with
    it (the source's row is paired with the other extractor's by key, and that pair with the
    consensus rows by key), or None when the consensus has no such row yet. A table without a
    key uses the same position."""
    if not field.row_key:
        return row
    pair = independent_pair(consensus.study)
    if source.pk not in {e.pk for e in pair} or len(pair) != 2:
        return None
    rows_a, rows_b = (rowmatch.as_rows(e.values.get(field.path)) for e in pair)
    pairs = schema.pair_rows(field, rows_a, rows_b)
    from_a = source.pk == pair[0].pk
    place = next((i for i, p in enumerate(pairs) if (p.a if from_a else p.b) == row), None)
    if place is None:
        return None
    reference = [rows_a[p.a] if p.a is not None else rows_b[p.b] for p in pairs]
    agreed = rowmatch.as_rows(consensus.values.get(field.path))
    return next((m.b for m in schema.pair_rows(field, reference, agreed) if m.a == place), None)


def _copy_agreed_risks(pair: list[Extraction], consensus: Extraction) -> None:
    first = {(r.tool, r.result): r for r in pair[0].risks.all()}
    for other in pair[1].risks.all():
        mine = first.get((other.tool, other.result))
        if mine is None:
            continue
        agreed = {d: j for d, j in mine.judgements.items() if other.judgements.get(d) == j}
        tool = rob.TOOLS[other.tool]
        RiskOfBias.objects.create(
            extraction=consensus,
            tool=other.tool,
            result=other.result,
            judgements=agreed,
            quotes={d: mine.quotes.get(d, "") for d in agreed},
            overall=tool.overall(agreed) or "",
        )


@transaction.atomic
def take_value(
    *,
    consensus: Extraction,
    source: Extraction,
    path: str,
    user: User,
    row: int | None = None,
    column: str = "",
) -> Any:
    """Copy one answer (or cell) from an extractor's version into the consensus."""
    if consensus.kind != Extraction.Kind.CONSENSUS or source.study_id != consensus.study_id:
        raise ValidationError("Values are taken from this study's extractions only.", code="bad")
    consensus = Extraction.objects.select_for_update().get(pk=consensus.pk)
    _check_editable(consensus)
    field = template_of(consensus).field(path)
    values = dict(consensus.values)
    if field.type == "table":
        source_rows = rowmatch.as_rows(source.values.get(path))
        if row is None or not 0 <= row < len(source_rows):
            raise ValidationError("That row does not exist.", code="no_row")
        if column and column not in {c.key for c in field.columns}:
            raise ValidationError(f"{field.label} has no column '{column}'.", code="no_column")
        rows = [dict(r) for r in values.get(path) or []]
        taken = source_rows[row]
        target = _consensus_row(consensus, field, source, row)
        if target is None:  # a row the consensus lacks: it starts with the row's key
            rows.append({k: taken[k] for k in field.row_key if k in taken})
            target = len(rows) - 1
        while len(rows) <= target:
            rows.append({})
        row = target
        if column:
            before, after = rows[row].get(column), taken.get(column)
            if after is None:
                rows[row].pop(column, None)
            else:
                rows[row][column] = after
        else:
            before, after = rows[row], dict(taken)
            rows[row] = after
        values[path] = rows
    else:
        before, after = values.get(path), source.values.get(path)
        if after is None:
            values.pop(path, None)
        else:
            values[path] = after
    consensus.values = values
    consensus.save(update_fields=["values", "updated_at"])
    ExtractionEdit.objects.create(
        extraction=consensus, path=path, row=row, column=column, before=before, after=after, by=user
    )
    key = _value_key(path, row, column)
    source_name = audit.name_of(source.extractor) if source.extractor_id else "the consensus"
    _log_extraction(
        consensus,
        user=user,
        action=audit.Action.CONSENSUS_TAKEN,
        before={key: before},
        after={key: after},
        did=f"took {key} from {source_name}'s extraction into {{where}}.",
    )
    return after


@transaction.atomic
def finalise_consensus(*, consensus: Extraction, user: User) -> Extraction:
    consensus = Extraction.objects.select_for_update().get(pk=consensus.pk)
    _check_completable(consensus)
    was_final = consensus.final
    consensus.final = consensus.complete = True
    consensus.completed_at = timezone.now()
    consensus.save(update_fields=["final", "complete", "completed_at"])
    if not was_final:
        _log_extraction(
            consensus,
            user=user,
            action=audit.Action.CONSENSUS_FINALISED,
            before={"final": False},
            after={"final": True},
            did="finalised {where}; exports now use it.",
        )
    _refresh_status(consensus.study)
    return consensus


@transaction.atomic
def reopen_consensus(*, consensus: Extraction, user: User) -> Extraction:
    consensus = Extraction.objects.select_for_update().get(pk=consensus.pk)
    was_final = consensus.final
    consensus.final = False
    consensus.save(update_fields=["final"])
    # a final consensus stays on its version when the form changes; reopened, it moves to
    # the current one, so that fields added meanwhile can be filled
    current = consensus.template_version.template.current
    if current is not None and current.pk != consensus.template_version_id:
        _carry_over(
            consensus,
            template_of(consensus),
            current,
            schema.load_template(current.definition),
        )
    if was_final:
        _log_extraction(
            consensus,
            user=user,
            action=audit.Action.CONSENSUS_REOPENED,
            before={"final": True},
            after={"final": False},
            did="reopened {where} for changes.",
        )
    _refresh_status(consensus.study)
    return consensus


# Risk of bias -------------------------------------------------------------------------------


@transaction.atomic
def save_risk_of_bias(
    *,
    extraction: Extraction,
    tool: str,
    judgements: Mapping[str, str],
    quotes: Mapping[str, str],
    user: User,
    result: str = "",
) -> RiskOfBias:
    """Store judgements (those given so far) and quotes; the overall judgement follows the
    tool's algorithm once every domain is judged."""
    extraction = Extraction.objects.select_for_update().get(pk=extraction.pk)
    _check_editable(extraction)
    if tool not in rob.TOOLS:
        raise ValidationError(f"'{tool}' is not a risk-of-bias tool.", code="bad_tool")
    chosen = rob.TOOLS[tool]
    judgements = {k: v for k, v in judgements.items() if v}
    try:
        rob.validate(chosen, judgements)
    except rob.JudgementError as error:
        raise ValidationError(str(error), code="bad_judgement") from None
    domains = {d.key for d in chosen.domains}
    quotes = {k: v.strip() for k, v in quotes.items() if k in domains and v and v.strip()}
    earlier = RiskOfBias.objects.filter(
        extraction=extraction, tool=tool, result=result.strip()[:200]
    ).first()
    assessment, _ = RiskOfBias.objects.update_or_create(
        extraction=extraction,
        tool=tool,
        result=result.strip()[:200],
        defaults={
            "judgements": judgements,
            "quotes": quotes,
            "overall": chosen.overall(judgements) or "",
        },
    )
    ExtractionEdit.objects.create(
        extraction=extraction,
        path=f"risk_of_bias.{tool}",
        column=result[:100],
        after={"judgements": judgements, "quotes": quotes},
        by=user,
    )
    about = f" ({assessment.result})" if assessment.result else ""
    _log_extraction(
        extraction,
        user=user,
        action=audit.Action.RISK_OF_BIAS,
        before=_rob_values(earlier) if earlier else None,
        after=_rob_values(assessment),
        did=f"saved the {chosen.name} risk of bias{about} in {{where}}: overall "
        f"{chosen.judgement_labels.get(assessment.overall, 'not yet judged')}.",
    )
    _after_edit(extraction)
    return assessment


def _rob_values(assessment: RiskOfBias) -> dict:
    """Judgements and quotes side by side, so that the log shows the domains that changed."""
    values = {"tool": assessment.tool, "result": assessment.result}
    for domain, judgement in assessment.judgements.items():
        values[domain] = judgement
    for domain, quote in assessment.quotes.items():
        values[f"{domain} quote"] = quote
    values["overall"] = assessment.overall
    return values


def tool_for(extraction: Extraction) -> rob.Tool | None:
    """The risk-of-bias tool that fits the design entered in the extraction, if any."""
    design = extraction.values.get(DESIGN_PATH)
    if not design:
        return None
    try:
        return rob.tool_for_design(design)
    except (KeyError, ValueError):
        return None


# Synthesis choices --------------------------------------------------------------------------


@transaction.atomic
def set_multi_arm_choice(*, review: Review, analysis: str, choice: str) -> ExtractionConfig:
    """How one analysis handles arms that share a control: "split", "combine", or "default"
    to follow the review's setting again."""
    if choice not in ("split", "combine", "default"):
        raise ValidationError("Choose split, combine or the review's default.", code="bad_choice")
    if not analysis or len(analysis) > 500:
        raise ValidationError("No such analysis.", code="no_analysis")
    config = ExtractionConfig.objects.select_for_update().get(pk=config_for(review).pk)
    chosen = dict(config.multi_arm_by_analysis or {})
    if choice == "default":
        chosen.pop(analysis, None)
    else:
        chosen[analysis] = choice
    config.multi_arm_by_analysis = chosen
    config.save(update_fields=["multi_arm_by_analysis"])
    return config


@transaction.atomic
def add_proposed_comparisons(*, extraction: Extraction, user: User) -> list[tuple[str, str]]:
    """Append the comparisons the form proposes (PRP against the injured vehicle control,
    never sham or naive) that the extraction does not list yet; returns those added. The
    extractor confirms by keeping them, and may change or delete any."""
    extraction = Extraction.objects.select_for_update().get(pk=extraction.pk)
    _check_editable(extraction)
    _check_table(extraction, pooling.COMPARISONS)
    groups, from_table = pooling.study_groups(extraction.values)
    if not from_table:
        raise ValidationError(
            "Enter the study's groups and their roles first; the proposal is made from them.",
            code="no_groups",
        )
    listed = {
        (
            pooling.normalised_label(row.get("treatment")),
            pooling.normalised_label(row.get("control")),
        )
        for row in extraction.values.get(pooling.COMPARISONS) or []
        if isinstance(row, dict)
    }
    added = []
    for treatment, control in pooling.propose_comparisons(groups.values()):
        if (pooling.normalised_label(treatment), pooling.normalised_label(control)) in listed:
            continue
        row = add_row(extraction=extraction, path=pooling.COMPARISONS, user=user)
        for column, raw in (("treatment", treatment), ("control", control)):
            save_value(
                extraction=extraction,
                path=pooling.COMPARISONS,
                row=row,
                column=column,
                raw=raw,
                user=user,
            )
        added.append((treatment, control))
    return added
