"""Personal API tokens: made, found and revoked. Only a token's SHA-256 is kept, so a stolen
database copy holds no usable token; the token itself is returned once, to be shown."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from api.models import PersonalToken
from reviewmgr.models import User

PREFIX = "rvm_"
NAME_NEEDED = "Give the token a name, e.g. what script it is for."
LAST_USED_EVERY = timedelta(minutes=1)
"""How stale `last_used_at` may get: a script's every request does not write a row."""


def digest_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def create_token(*, user: User, name: str) -> tuple[PersonalToken, str]:
    """A new token for `user`, and the token's text (shown once, never stored)."""
    name = " ".join(name.split())
    if not name:
        raise ValidationError(NAME_NEEDED, code="name")
    if len(name) > 100:
        raise ValidationError("A token's name has at most 100 characters.", code="name")
    text = PREFIX + secrets.token_urlsafe(32)
    token = PersonalToken.objects.create(
        user=user, name=name, prefix=text[: len(PREFIX) + 4], digest=digest_of(text)
    )
    return token, text


@transaction.atomic
def revoke_token(*, token: PersonalToken, user: User) -> PersonalToken:
    if token.user_id != user.pk:
        raise ValidationError("That token is not yours.", code="not_owner")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def user_for(text: str) -> User | None:
    """The active user whose active token this is, noting when it was used; else None."""
    if not text.startswith(PREFIX):
        return None
    found = (
        PersonalToken.objects.active()
        .select_related("user")
        .filter(digest=digest_of(text), user__is_active=True)
        .first()
    )
    if found is None:
        return None
    now = timezone.now()
    if found.last_used_at is None or now - found.last_used_at > LAST_USED_EVERY:
        PersonalToken.objects.filter(pk=found.pk).update(last_used_at=now)
    return found.user
