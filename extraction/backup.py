"""A whole review as one JSON document, and back: records, batches, duplicates, decisions
and their histories, resolutions, stopping decisions, templates, extractions and their
edits, risk of bias, and members by username.

Rows are written with their original ids; restoring inserts them in dependency order and
maps every reference to the new ids, so a backup restores into any instance (or beside
the original under a new slug). Timestamps are kept as they were. Uploaded files (import
files, PDFs) are referred to by name only: back up the media directory with them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction

from extraction.models import (
    Extraction,
    ExtractionConfig,
    ExtractionEdit,
    RiskOfBias,
    Study,
    Template,
    TemplateVersion,
)
from reviewmgr.models import (
    DuplicateGroup,
    ImportBatch,
    Membership,
    Record,
    RecordCorrection,
    Review,
)
from screening.models import (
    Decision,
    FullText,
    Ranking,
    RecordScreening,
    Resolution,
    ScreeningConfig,
    ScreeningEvent,
    StoppingDecision,
)

FORMAT = "reviewmgr-review-backup"
VERSION = 1

# in restore order, each with the path from its rows to the review
MODELS: list[tuple[type[models.Model], str]] = [
    (Membership, "review"),
    (ImportBatch, "review"),
    (DuplicateGroup, "review"),
    (Record, "review"),
    (RecordCorrection, "record__review"),
    (ScreeningConfig, "review"),
    (RecordScreening, "review"),
    (Decision, "record__review"),
    (Resolution, "record__review"),
    (ScreeningEvent, "record__review"),
    (FullText, "record__review"),
    (Ranking, "review"),
    (StoppingDecision, "review"),
    (Template, "review"),
    (TemplateVersion, "template__review"),
    (ExtractionConfig, "review"),
    (Study, "review"),
    (Extraction, "study__review"),
    (ExtractionEdit, "extraction__study__review"),
    (RiskOfBias, "extraction__study__review"),
]
CHUNK = 2000


class BackupError(ValueError):
    pass


def _label(model) -> str:
    return model._meta.label_lower


def _json(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if hasattr(value, "name") and not isinstance(value, str):  # a FieldFile
        return value.name or ""
    return value


def _rows(model, path: str, review: Review) -> Iterator[dict]:
    fields = [f for f in model._meta.concrete_fields]
    user_fields = {
        f.attname for f in fields if f.is_relation and f.related_model is get_user_model()
    }
    users = dict(get_user_model().objects.values_list("pk", "username"))
    for obj in model.objects.filter(**{path: review}).order_by("pk").iterator(chunk_size=CHUNK):
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


def backup_review(review: Review) -> dict:
    """The review and everything in it, as JSON-ready data. Reads every row of the review."""
    data = {
        "format": FORMAT,
        "version": VERSION,
        "review": {
            f.attname: _json(f.value_from_object(review))
            for f in Review._meta.concrete_fields
            if not f.primary_key
        },
        "builtin_template_versions": {},
        "tables": {},
    }
    builtin = _builtin_versions()
    used_builtin = set()
    for model, path in MODELS:
        rows = list(_rows(model, path, review))
        for row in rows:
            if model is not TemplateVersion and row.get("template_version_id") in builtin:
                used_builtin.add(row["template_version_id"])
        data["tables"][_label(model)] = rows
    config = ExtractionConfig.objects.filter(review=review).first()
    builtin_templates = {t.pk: t.key for t in Template.objects.filter(review__isnull=True)}
    data["builtin_templates"] = {
        str(pk): key
        for pk, key in builtin_templates.items()
        if config is not None and config.template_id == pk
    }
    data["builtin_template_versions"] = {str(pk): builtin[pk] for pk in sorted(used_builtin)}
    return data


def counts(review: Review) -> dict[str, int]:
    """Rows per table of a review: what a restore must reproduce exactly."""
    return {_label(model): model.objects.filter(**{path: review}).count() for model, path in MODELS}


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
    for model, _ in MODELS:
        rows = data["tables"].get(_label(model), [])
        ids[_label(model)] = {}
        _insert(model, rows, review, ids, user_id, deferred, builtin_versions, builtin_templates)
    for model, attname, new_pk, old_target in deferred:
        target_model = model._meta.get_field(attname.removesuffix("_id")).related_model
        new_target = ids[_label(target_model)].get(old_target)
        model.objects.filter(pk=new_pk).update(**{attname: new_target})
    return review


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
