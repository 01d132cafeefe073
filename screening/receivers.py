"""Screening's answers to the core's events (imports, merges, known relevant records)."""

from screening import prioritisation, services


def on_records_imported(sender, *, review, record_ids, **kwargs) -> None:
    services.sync_screening_rows(review=review)
    prioritisation.request_ranking(review, force=True)


def on_duplicates_merged(sender, *, review, merges, **kwargs) -> None:
    services.carry_decisions_to_primary(review=review, merges=merges)
    prioritisation.request_ranking(review, force=True)


def on_duplicates_unmerged(sender, *, group, record_ids, **kwargs) -> None:
    services.restore_records(record_ids=record_ids)
    prioritisation.request_ranking(group.review, force=True)


def on_known_relevant_changed(sender, *, review, **kwargs) -> None:
    prioritisation.request_ranking(review, force=True)


def on_batch_version_changed(sender, *, batch, **kwargs) -> None:
    services.follow_batch_version(batch=batch)
    prioritisation.request_ranking(batch.review, force=True)
