from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "screening"

    def ready(self) -> None:
        from reviewmgr import signals
        from screening import receivers

        signals.records_imported.connect(receivers.on_records_imported)
        signals.duplicates_merged.connect(receivers.on_duplicates_merged)
        signals.duplicates_unmerged.connect(receivers.on_duplicates_unmerged)
        signals.known_relevant_changed.connect(receivers.on_known_relevant_changed)
        signals.batch_version_changed.connect(receivers.on_batch_version_changed)
