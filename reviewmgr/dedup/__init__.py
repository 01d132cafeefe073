"""Duplicate detection for bibliographic records, free of Django.

Searches of several databases overlap heavily, and a review must screen each study
once. This package decides which records describe the same work:

1. Identifiers first: a shared DOI, PMID or PMCID (normalised) is strong evidence, and
   two different DOIs or PMIDs are strong evidence against.
2. Then fuzzy evidence: normalised title, year, first author, journal (abbreviations
   such as "J Clin Oncol" are recognised), volume and first page.
3. Hard cases stay apart whatever the similarity: errata, retractions, replies and
   comments against the article they concern, a protocol against its review, "Part I"
   against "Part II", and titles whose numbers differ ("type 1" vs "type 2").

Candidate pairs come from blocking (shared identifier, title start, title end,
first author + year, volume + first page), so the cost grows near-linearly with the
number of records. Pairs form groups by complete linkage: a record joins a group only
if it matches every record already in it, so A~B and B~C never put A and C together
when A and C must stay apart. A group's score is its weakest pair; it merges
automatically only when that weakest pair reaches the automatic threshold.

The steps live in their own modules: `records` (the engine's input, output and thresholds),
`keys` (what of a record is compared, normalised and prepared), `journals`, `scoring`,
`blocking` and `grouping`. The names callers use are handed on here.
"""

from reviewmgr.dedup.blocking import (
    KEY_COLUMNS as KEY_COLUMNS,
    KEY_LENGTH as KEY_LENGTH,
    LOOSE_KINDS as LOOSE_KINDS,
    key_columns as key_columns,
)
from reviewmgr.dedup.grouping import (
    find_duplicates as find_duplicates,
    find_duplicates_prepared as find_duplicates_prepared,
    prepare as prepare,
)
from reviewmgr.dedup.journals import (
    journal_relation as journal_relation,
    journals_compatible as journals_compatible,
)
from reviewmgr.dedup.keys import (
    author_surname as author_surname,
    from_stored as from_stored,
    normalise_title as normalise_title,
    stored as stored,
    strip_annotations as strip_annotations,
)
from reviewmgr.dedup.records import (
    AUTO_THRESHOLD as AUTO_THRESHOLD,
    MAX_BLOCK_SIZE as MAX_BLOCK_SIZE,
    MAX_GROUP_SIZE as MAX_GROUP_SIZE,
    MIN_INFORMATIVE_TITLE as MIN_INFORMATIVE_TITLE,
    REVIEW_FLOOR as REVIEW_FLOOR,
    REVIEW_THRESHOLD as REVIEW_THRESHOLD,
    TITLE_FILTER as TITLE_FILTER,
    CandidateGroup as CandidateGroup,
    DedupRecord as DedupRecord,
)
from reviewmgr.dedup.scoring import (
    pair_score as pair_score,
)
