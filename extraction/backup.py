"""A whole review as one JSON document, and back: every table that belongs to the review
(records, batches, duplicates, decisions and their histories, full texts, stopping decisions,
studies and their reports, templates, extractions and their edits, risk of bias, the audit
log...), members and every other person by username.

Which tables: every model of the installed apps whose rows reach a review through their
foreign keys (`review_models`, found by walking the models' relations when first asked), so
a table another part of the product adds later is backed up and restored without a change
here, as long as its rows point (directly or through a parent) at the review. Left out:
users (referred to by username), `ExportJob` (downloads being built, not review data) and
the built-in templates (referred to by key and version number; they come with the product).

Rows are written with their original ids; restoring inserts them in dependency order and
maps every reference to the new ids (an audit event's target id too), so a backup restores
into any instance (or beside the original under a new slug). Timestamps are kept as they
were. Uploaded files (import files, PDFs) are referred to by name only: back up the media
directory with them.

`write_backup` streams: rows are read in chunks and written one by one, so a 100k-record
review never sits in memory. Restoring reads the document whole.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from functools import cache
from typing import Any, TextIO

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction

from extraction.models import ExportJob, ExtractionConfig, Template, TemplateVersion
from reviewmgr.models import Review

FORMAT = "reviewmgr-review-backup"
VERSION = 1
CHUNK = 2000
LEFT_OUT = {ExportJob}


class BackupError(ValueError):
    pass


def _label(model) -> str:
    return model._meta.label_lower


def _path_to_review(model, seen: frozenset = frozenset()) -> str | None:
    """The shortest lookup from a model's rows to their review ("record__review"), or None."""
    best = None
    for field in model._meta.concrete_fields:
        if not field.is_relation or not field.many_to_one and not field.one_to_one:
            continue
        target = field.related_model
        if target is Review:
            return field.name
        if target is model or target in seen or target is get_user_model():
            continue
        rest = _path_to_review(target, seen | {model})
        if rest is not None and (best is None or rest.count("__") + 1 < best.count("__")):
            best = f"{field.name}__{rest}"
    return best


@cache
def review_models() -> tuple[tuple[type[models.Model], str], ...]:
    """Every model whose rows belong to a review, with the lookup to it, in an order in
    which each row's required references are restored before it. Nullable references to a
    later table (a record's primary, a group's primary record) are set afterwards."""
    found = {}
    for model in apps.get_models():
        if model is Review or model in LEFT_OUT or model._meta.proxy:
            continue
        path = _path_to_review(model)
        if path is not None:
            found[model] = path
    ordered: list[type[models.Model]] = []
    pending = list(found)
    while pending:
        for model in pending:
            needs = {
                f.related_model
                for f in model._meta.concrete_fields
                if f.is_relation
                and not f.null
                and f.related_model in found
                and f.related_model is not model
            }
            if needs <= set(ordered):
                ordered.append(model)
                pending.remove(model)
                break
        else:  # a cycle of required references: cannot happen with the product's models
            raise RuntimeError(f"Cannot order {', '.join(_label(m) for m in pending)}.")
    return tuple((model, found[model]) for model in ordered)


def _json(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if hasattr(value, "name") and not isinstance(value, str):  # a FieldFile
        return value.name or ""
    return value


def _rows(model, path: str, review: Review, users: dict[int, str]) -> Iterator[dict]:
    fields = list(model._meta.concrete_fields)
    user_fields = {
        f.attname for f in fields if f.is_relation and f.related_model is get_user_model()
    }
    rows = model.objects.filter(**{path: review}).order_by("pk")
    for obj in rows.iterator(chunk_size=CHUNK):
        row = {}
        for field in fields:
            value = field.value_from_object(obj)
            if field.attname in user_fields:
                value = users.get(value)
            row[field.attname] = _json(value)
        yield row


def _builtin_versions() -> dict[int, list]:
    return {
        v.pk: [v.template.key, v.number]
        for v in TemplateVersion.objects.filter(template__review__isnull=True).select_related(
            "template"
        )
    }


def _header(review: Review) -> dict:
    config = ExtractionConfig.objects.filter(review=review).first()
    builtin = _builtin_versions()
    used = set()
    for model, path in review_models():
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model is TemplateVersion:
                used |= set(
                    model.objects.filter(**{path: review, f"{field.name}__in": list(builtin)})
                    .values_list(field.attname, flat=True)
                    .distinct()
                )
    builtin_templates = {t.pk: t.key for t in Template.objects.filter(review__isnull=True)}
    return {
        "format": FORMAT,
        "version": VERSION,
        "review": {
            f.attname: _json(
                f.value_from_object(review)
                if f.related_model is not get_user_model()
                else getattr(getattr(review, f.name), "username", None)
            )
            for f in Review._meta.concrete_fields
            if not f.primary_key
        },
        "builtin_templates": {
            str(pk): key
            for pk, key in builtin_templates.items()
            if config is not None and config.template_id == pk
        },
        "builtin_template_versions": {str(pk): builtin[pk] for pk in sorted(used)},
    }


def write_backup(review: Review, handle: TextIO) -> dict[str, int]:
    """Write the review as one JSON document into the text file `handle`, table by table and
    row by row (nothing is held but one chunk of rows); returns the rows per table."""
    users = dict(get_user_model().objects.values_list("pk", "username"))
    header = _header(review)
    handle.write(json.dumps(header, ensure_ascii=False)[:-1])
    handle.write(', "tables": {')
    written = {}
    for index, (model, path) in enumerate(review_models()):
        handle.write(("," if index else "") + f"\n{json.dumps(_label(model))}: [")
        count = 0
        for row in _rows(model, path, review, users):
            handle.write(("," if count else "") + "\n" + json.dumps(row, ensure_ascii=False))
            count += 1
        handle.write("]")
        written[_label(model)] = count
    handle.write("\n}}\n")
    return written


def backup_review(review: Review) -> dict:
    """The review as JSON-ready data in memory: for tests and small reviews. Files should be
    written with `write_backup`, which streams."""
    import io

    buffer = io.StringIO()
    write_backup(review, buffer)
    return json.loads(buffer.getvalue())


def counts(review: Review) -> dict[str, int]:
    """Rows per table of a review: what a restore must reproduce exactly."""
    return {
        _label(model): model.objects.filter(**{path: review}).count()
        for model, path in review_models()
    }


def restore_review(data: dict, *, slug: str | None = None) -> Review:
    """Create the review from a backup; raises BackupError (nothing written) when the
    document is not a backup, is damaged, or the slug is taken."""
    try:
        return _restore(data, slug)
    except (
        KeyError,
        TypeError,
        ValueError,
        AttributeError,
        StopIteration,  # a column this version does not have
        ValidationError,  # a value of the wrong form, e.g. a timestamp
        IntegrityError,  # a row pointing at one the backup does not hold
    ) as error:
        if isinstance(error, BackupError):
            raise
        raise BackupError(
            f"The backup is damaged or incomplete ({type(error).__name__}: "
            f"{error}); nothing was restored."
        ) from None


@transaction.atomic
def _restore(data: dict, slug: str | None) -> Review:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BackupError("This file is not a reviewmgr review backup.")
    if data.get("version") != VERSION:
        raise BackupError(f"Backup version {data.get('version')} cannot be read here.")
    fields = dict(data["review"])
    if slug:
        fields["slug"] = slug
    if Review.objects.filter(slug=fields["slug"]).exists():
        raise BackupError(
            f"A review with the address '{fields['slug']}' already exists; restore under "
            "another slug."
        )
    User = get_user_model()
    user_ids: dict[str, int] = {}

    def user_id(username):
        if username is None:
            return None
        if username not in user_ids:
            user, _ = User.objects.get_or_create(username=username)
            if not user.has_usable_password() and user.password == "":
                user.set_unusable_password()
                user.save(update_fields=["password"])
            user_ids[username] = user.pk
        return user_ids[username]

    review = Review(**{k: _value(Review, k, v, user_id) for k, v in fields.items()})
    review.save()
    ids: dict[str, dict[int, int]] = {}
    builtin_versions = _restore_builtin_map(data)
    builtin_templates = {
        int(pk): Template.objects.filter(review=None, key=key).values_list("pk", flat=True).first()
        for pk, key in data.get("builtin_templates", {}).items()
    }
    deferred: list[tuple[type[models.Model], str, int, int]] = []
    for model, _ in review_models():
        rows = data["tables"].get(_label(model), [])
        ids[_label(model)] = {}
        _insert(model, rows, review, ids, user_id, deferred, builtin_versions, builtin_templates)
    later: dict[tuple[type[models.Model], str], list[models.Model]] = {}
    for model, attname, new_pk, old_target in deferred:
        target_model = model._meta.get_field(attname.removesuffix("_id")).related_model
        row = model(pk=new_pk, **{attname: ids[_label(target_model)].get(old_target)})
        later.setdefault((model, attname), []).append(row)
    for (model, attname), rows in later.items():
        model.objects.bulk_update(rows, [attname], batch_size=CHUNK)
    _remap_audit_targets(review, ids)
    return review


def _remap_audit_targets(review: Review, ids: dict[str, dict[int, int]]) -> None:
    """An audit event names its target by type and id; point it at the restored row."""
    from reviewmgr.models import AuditEvent

    by_name = {label.split(".")[1]: mapping for label, mapping in ids.items()}
    events = []
    for event in AuditEvent.objects.filter(review=review, target_id__isnull=False).only(
        "pk", "target_type", "target_id"
    ):
        mapping = by_name.get(event.target_type)
        if mapping and event.target_id in mapping:
            event.target_id = mapping[event.target_id]
            events.append(event)
    AuditEvent.objects.bulk_update(events, ["target_id"], batch_size=CHUNK)


def _restore_builtin_map(data: dict) -> dict[int, int]:
    mapping = {}
    for old_pk, (key, number) in data.get("builtin_template_versions", {}).items():
        version = TemplateVersion.objects.filter(
            template__review=None, template__key=key, number=number
        ).first()
        if version is None:
            raise BackupError(f"The built-in form '{key}' version {number} is not installed here.")
        mapping[int(old_pk)] = version.pk
    return mapping


def _value(model, attname: str, value, user_id):
    field = next(f for f in model._meta.concrete_fields if f.attname == attname)
    if field.is_relation and field.related_model is get_user_model():
        return user_id(value)
    if isinstance(field, models.DateTimeField | models.DateField) and value is not None:
        return field.to_python(value)
    return value


def _insert(model, rows, review, ids, user_id, deferred, builtin_versions, builtin_templates):
    if not rows:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    timestamps = [
        f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    objects, olds, later = [], [], []
    for row in rows:
        values = {}
        pending = []
        for field in fields:
            value = row.get(field.attname)
            if field.is_relation and value is not None:
                target = field.related_model
                if target is get_user_model():
                    value = user_id(value)
                elif target is Review:
                    value = review.pk
                elif target is TemplateVersion and value in builtin_versions:
                    value = builtin_versions[value]
                elif target is Template and value in builtin_templates:
                    value = builtin_templates[value]
                elif value in ids.get(_label(target), {}):
                    value = ids[_label(target)][value]
                else:  # a row not restored yet (e.g. a record's primary): set afterwards
                    pending.append((field.attname, value))
                    value = None
            elif isinstance(field, models.DateTimeField | models.DateField) and value:
                value = field.to_python(value)
            values[field.attname] = value
        objects.append(model(**values))
        olds.append(row["id"])
        later.append(pending)
    created = model.objects.bulk_create(objects, batch_size=CHUNK)
    for old, obj, pending in zip(olds, created, later, strict=True):
        ids[_label(model)][old] = obj.pk
        for attname, target in pending:
            deferred.append((model, attname, obj.pk, target))
    if timestamps:
        # bulk_create stamped "now" on auto_now fields; put the original times back
        for obj, row in zip(created, rows, strict=True):
            for field in timestamps:
                setattr(obj, field.attname, field.to_python(row[field.attname]))
        model.objects.bulk_update(created, [f.name for f in timestamps], batch_size=CHUNK)
