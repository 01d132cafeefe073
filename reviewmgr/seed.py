"""The demo review, loaded from seeds/ by `manage.py load_seed_review` and `make run`."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from reviewmgr import services
from reviewmgr.models import ImportBatch, Membership, Review

SEED_DIR = Path(settings.BASE_DIR) / "seeds" / "prp-cytokines-neuropathic-pain"
DEMO_PASSWORD_FILE = Path(settings.VAR_DIR) / "demo_password"


@dataclass
class SeedOutcome:
    review: Review
    created: bool
    batches_loaded: int
    demo_password: str | None = None


def demo_password() -> str:
    """From DEMO_PASSWORD, else the one generated on the first run (kept in var/, never in code)."""
    if os.environ.get("DEMO_PASSWORD"):
        return os.environ["DEMO_PASSWORD"]
    if DEMO_PASSWORD_FILE.exists():
        return DEMO_PASSWORD_FILE.read_text().strip()
    password = secrets.token_urlsafe(9)
    DEMO_PASSWORD_FILE.parent.mkdir(parents=True, exist_ok=True)
    DEMO_PASSWORD_FILE.write_text(password)
    DEMO_PASSWORD_FILE.chmod(0o600)
    return password


def _ensure_demo_users(review: Review, members: dict[str, list[str]], password: str) -> None:
    User = get_user_model()
    for username, roles in members.items():
        user, _ = User.objects.get_or_create(username=username)
        user.set_password(password)
        user.save()
        flags = {f"is_{role}": role in roles for role in Membership.Role.values}
        Membership.objects.update_or_create(review=review, user=user, defaults=flags)


@transaction.atomic
def load_seed_review(*, with_demo_users: bool = False, seed_dir: Path = SEED_DIR) -> SeedOutcome:
    """Create the seed review and its first records once; running it again changes nothing.

    A seed batch is recognised by its file's checksum, so an edited seed file loads as new.
    """
    spec = json.loads((seed_dir / "review.json").read_text(encoding="utf-8"))
    review = Review.objects.filter(slug=spec["slug"]).first()
    created = review is None
    if created:
        review = Review.objects.create(
            **{
                key: spec[key]
                for key in (
                    "title",
                    "slug",
                    "question",
                    "inclusion_criteria",
                    "exclusion_criteria",
                    "inclusion_keywords",
                    "exclusion_keywords",
                )
            }
        )
    password = None
    if with_demo_users:
        password = demo_password()
        _ensure_demo_users(review, spec["demo_members"], password)
    loaded = 0
    for entry in spec["batches"]:
        data = (seed_dir / entry["file"]).read_bytes()
        if review.batches.filter(sha256=services.sha256_of(data)).exists():
            continue
        provenance = services.Provenance(
            source=ImportBatch.Source(entry["source"]),
            source_detail=entry.get("source_detail", ""),
        )
        _, record_ids = services.import_records(
            review=review, data=data, file_name=entry["file"], provenance=provenance
        )
        if entry.get("known_relevant"):
            services.mark_known_relevant(review=review, record_ids=record_ids)
        loaded += 1
    return SeedOutcome(
        review=review, created=created, batches_loaded=loaded, demo_password=password
    )
