from django.apps import AppConfig
from django.db.models.signals import post_migrate


def load_builtin_templates(sender, **kwargs) -> None:
    from extraction.services import ensure_builtin_templates

    ensure_builtin_templates()


class ExtractionConfig(AppConfig):
    name = "extraction"

    def ready(self) -> None:
        post_migrate.connect(load_builtin_templates, sender=self)
