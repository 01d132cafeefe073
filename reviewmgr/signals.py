"""Events of the core that higher apps (screening, extraction) act on without the core knowing them.

records_imported(review, record_ids): a batch was stored.
duplicates_merged(review, merges): each (primary_id, copy_ids) now stands behind its primary.
duplicates_unmerged(group, record_ids): a merge was undone; each record stands alone again.
known_relevant_changed(review): a lead marked or unmarked records as known relevant.
"""

from django.dispatch import Signal

records_imported = Signal()
duplicates_merged = Signal()
duplicates_unmerged = Signal()
known_relevant_changed = Signal()
