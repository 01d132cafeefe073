from django.apps import AppConfig
from django.db.models.signals import post_migrate


def on_report_linking(sender, *, record, **kwargs) -> None:
    from extraction.services import refuse_linking_an_extracted_study

    refuse_linking_an_extracted_study(record=record)


def on_first_report_changed(sender, *, old_id, new_id, **kwargs) -> None:
    from extraction.services import follow_first_report

    follow_first_report(old_id=old_id, new_id=new_id)


def on_worker_starting(sender, **kwargs) -> str:
    from extraction.export_jobs import fail_stale_exports

    exports = fail_stale_exports()
    return f"{exports} export(s)" if exports else ""


def load_builtin_templates(sender, **kwargs) -> None:
    from extraction.services import ensure_builtin_templates

    ensure_builtin_templates()


class ExtractionConfig(AppConfig):
    name = "extraction"

    def ready(self) -> None:
        from reviewmgr import signals

        post_migrate.connect(load_builtin_templates, sender=self)
        signals.report_linking.connect(on_report_linking)
        signals.first_report_changed.connect(on_first_report_changed)
        signals.worker_starting.connect(on_worker_starting)
