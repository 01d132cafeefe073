from django.conf import settings
from django.db import models
from django.db.models import Q


class PersonalTokenQuerySet(models.QuerySet):
    def active(self) -> "PersonalTokenQuerySet":
        return self.filter(revoked_at__isnull=True)


class PersonalToken(models.Model):
    """A token a user makes for scripts. Only its SHA-256 is stored: the token itself is shown
    once, when it is made. A revoked token stays listed, and works no more."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What it is for, e.g. 'R analysis'.")
    prefix = models.CharField(max_length=12, help_text="The token's first characters, shown.")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = PersonalTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="api_personaltoken_name_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def active(self) -> bool:
        return self.revoked_at is None
