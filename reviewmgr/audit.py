"""The review's audit log: who changed what, when, and the values before and after.

Services call `log` inside their own transaction, so an event is committed with its change
and rolled back with it; a refused change (a ValidationError before anything is written)
leaves no event. Events are never changed or deleted afterwards (see `AuditEvent`).

Changes that touch many records at once are logged as one event that counts them (e.g. the
automatic merges after an import), so that the log stays readable for a lead.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.text import Truncator

from reviewmgr.models import AuditEvent, Record, Review

Action = AuditEvent.Action

MAX_LISTED_IDS = 200
"""Ids kept in one event (e.g. records marked at once); the event still counts them all."""


@dataclass(frozen=True)
class Target:
    """What an event is about: a label for people, and a type and id for linking."""

    label: str
    type: str = ""
    id: int | None = None


def record_label(record: Record) -> str:
    return f"Record {record.pk}: {Truncator(record.title or '(no title)').chars(60)}"


def target_of(obj: models.Model | Target) -> Target:
    if isinstance(obj, Target):
        return obj
    if isinstance(obj, Record):
        return Target(record_label(obj), "record", obj.pk)
    return Target(str(obj), obj._meta.model_name, obj.pk)


class _Encoder(DjangoJSONEncoder):
    """Dates and datetimes as ISO text, Decimals as exact text, sets as sorted lists and model
    instances as their primary key."""

    def default(self, o: Any) -> Any:
        if isinstance(o, set | frozenset):
            return sorted(o, key=str)
        if isinstance(o, models.Model):
            return o.pk
        return super().default(o)


def jsonable(value: Any) -> Any:
    """`value` as plain JSON data, so that what is stored is what the caller holds."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=_Encoder))


def log(
    *,
    review: Review,
    actor,
    action: str,
    target: models.Model | Target | None = None,
    before: Any = None,
    after: Any = None,
    summary: str = "",
) -> AuditEvent:
    """Write one event. `actor` None means the product itself did it (shown as 'reviewmgr').

    Call it inside the transaction that makes the change. One INSERT.
    """
    if action not in Action.values:
        raise ValueError(f"Unknown audit action {action!r}.")
    about = target_of(target) if target is not None else Target("")
    person = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        review=review,
        actor=person,
        actor_name=person.get_username() if person else "",
        action=action,
        target=Truncator(about.label).chars(300),
        target_type=about.type,
        target_id=about.id,
        before=jsonable(before),
        after=jsonable(after),
        summary=summary,
    )


def name_of(user) -> str:
    """A person in a summary sentence."""
    return user.get_username() if getattr(user, "is_authenticated", False) else "reviewmgr"


# Reading the log --------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One changed value; `key` is empty when the event's before and after are not objects."""

    key: str
    before: Any
    after: Any


def changes(before: Any, after: Any) -> list[Change]:
    """What differs between an event's before and after: the changed keys only."""
    if isinstance(before, Mapping) or isinstance(after, Mapping):
        old = before if isinstance(before, Mapping) else {}
        new = after if isinstance(after, Mapping) else {}
        keys = list(old) + [key for key in new if key not in old]
        return [
            Change(key, old.get(key), new.get(key)) for key in keys if old.get(key) != new.get(key)
        ]
    if before == after:
        return []
    return [Change("", before, after)]


def shown(value: Any) -> str:
    """A stored value as short text: '—' for nothing, lists joined, other data as JSON."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list) and all(isinstance(item, str | int | float) for item in value):
        return ", ".join(str(item) for item in value) or "—"
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def apply_settings(
    row: models.Model,
    fields: Mapping[str, Any],
    allowed: Collection[str],
    *,
    what: str,
    code: str = "unknown",
    logged: Callable[[Any], Any] = lambda value: value,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Set the settings `fields` on `row` and return what changed, before and after (each value
    as `logged` gives it), for the event that records the change. `row` is the stored row, read
    for update, not a bound ModelForm's instance, which the form has already changed in memory.
    Names that are not among `allowed` are refused, and nothing is set."""
    unknown = set(fields) - set(allowed)
    if unknown:
        raise ValidationError(
            f"These are not {what} settings: {', '.join(sorted(unknown))}.", code=code
        )
    before, after = {}, {}
    for name, value in fields.items():
        if getattr(row, name) != value:
            before[name], after[name] = logged(getattr(row, name)), logged(value)
            setattr(row, name, value)
    return before, after
