"""Screening's answers to the core's events (imports and merges)."""

from screening import services


def on_records_imported(sender, *, review, record_ids, **kwargs) -> None:
    services.sync_screening_rows(review=review)


def on_duplicates_merged(sender, *, review, merges, **kwargs) -> None:
    services.carry_decisions_to_primary(review=review, merges=merges)


def on_duplicates_unmerged(sender, *, group, record_ids, **kwargs) -> None:
    services.restore_records(record_ids=record_ids)
