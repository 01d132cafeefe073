"""Events of the core that higher apps (screening, extraction) act on without the core knowing them.

records_imported(review, record_ids): a batch was stored.
duplicates_merged(review, merges): each (primary_id, copy_ids) now stands behind its primary.
duplicates_unmerged(group, record_ids): a merge was undone; each record stands alone again.
known_relevant_changed(review): a lead marked or unmarked records as known relevant.
report_linking(review, record, first_report): about to link; a receiver may refuse by
    raising ValidationError (e.g. extraction, when the record's own study was extracted).
first_report_changed(review, old_id, new_id): a study's first report was unlinked and the
    next report now names the study.
batch_version_changed(batch): a batch was marked as a new search or as the previous
    version's included studies (screening adds or drops its records' rows; it may refuse by
    raising ValidationError when records were screened already).
worker_starting(): a background worker is starting; each receiver marks failed the work of
    its app that a stopped worker left running and returns what it marked ("2 export(s)").
"""

from django.dispatch import Signal

records_imported = Signal()
duplicates_merged = Signal()
duplicates_unmerged = Signal()
known_relevant_changed = Signal()
report_linking = Signal()
first_report_changed = Signal()
batch_version_changed = Signal()
worker_starting = Signal()
