"""Which pairs are worth scoring, never all pairs: records sharing a block key (an identifier,
title pieces, first author and year, volume and first page), filtered by title similarity."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection

from rapidfuzz import process
from rapidfuzz.distance import Indel, Prefix

from reviewmgr.dedup.keys import _Prepared
from reviewmgr.dedup.records import MAX_BLOCK_SIZE, MIN_INFORMATIVE_TITLE, TITLE_FILTER

# ------------------------------------------------------------------------ blocking


# The kinds of block key, and the Record column that keeps each one once a duplicate search
# has seen the record (indexed): a later import then looks up only the records that share a
# key with its own, instead of reading the whole review back.
KEY_COLUMNS = {
    "doi": "key_doi",
    "pmid": "key_pmid",
    "pmcid": "key_pmcid",
    "start": "key_title_start",
    "end": "key_title_end",
    "middle": "key_title_middle",
    "author": "key_author_year",
    "page": "key_volume_page",
}
KEY_LENGTH = 255  # the columns' width; longer values (a very long surname) are cut


def _key_values(record: _Prepared) -> dict[str, str]:
    """The record's block keys by kind (only the kinds it has)."""
    values = {}
    if record.doi:
        values["doi"] = record.doi
    if record.pmid:
        values["pmid"] = record.pmid
    if record.pmcid:
        values["pmcid"] = record.pmcid
    if len(record.title_key) >= 12:
        values["start"] = record.title_key[:22]
        values["end"] = record.title_key[-22:]
        middle = len(record.title_key) // 2
        values["middle"] = record.title_key[middle - 8 : middle + 8]
    if record.surnames and record.year:
        values["author"] = f"{record.surnames[0]}:{record.year}"
    if record.volume and record.page:
        values["page"] = f"{record.volume}:{record.page}"
    return {kind: value[:KEY_LENGTH] for kind, value in values.items()}


def key_columns(record: _Prepared) -> dict[str, str]:
    """The values of the Record's key columns ("" for a kind the record lacks)."""
    values = _key_values(record)
    return {column: values.get(kind, "") for kind, column in KEY_COLUMNS.items()}


def _block_keys(record: _Prepared) -> list[str]:
    return [f"{kind}:{value}" for kind, value in _key_values(record).items()]


_ID_KEYS = ("doi:", "pmid:", "pmcid:", "page:")
# Keys that only back up the title start: dropped when a block is too large to mean much.
_LOOSE_KEYS = ("end:", "middle:", "author:")
LOOSE_KINDS = tuple(key.rstrip(":") for key in _LOOSE_KEYS)


def _candidate_pairs(
    prepared: list[_Prepared], new: set[int] | None, oversized: Collection[str] = ()
) -> set[tuple[int, int]]:
    """Index pairs worth scoring, never all pairs.

    Records sharing an identifier or a volume and first page are all candidates. In the
    title and author blocks only pairs whose titles are similar (or one a truncation of
    the other) are kept; that filter runs in rapidfuzz's C code over the whole block. A
    block larger than MAX_BLOCK_SIZE is sorted by title and compared in overlapping
    windows (or, for the backup keys, dropped), so the cost stays near-linear. `oversized`
    names backup keys known to be too large in the whole review when only part of it was
    loaded: they are dropped as they would be with every record at hand.
    """
    blocks: dict[str, list[int]] = defaultdict(list)
    for index, record in enumerate(prepared):
        for key in _block_keys(record):
            blocks[key].append(index)

    pairs: set[tuple[int, int]] = set()
    for key, members in blocks.items():
        if len(members) < 2 or key in oversized:
            continue
        if len(members) > MAX_BLOCK_SIZE:
            if key.startswith(_LOOSE_KEYS):
                continue  # a stock phrase ("...a randomised controlled trial"): no signal
            members = sorted(members, key=lambda m: prepared[m].title_key)
            step = MAX_BLOCK_SIZE // 2
            windows = [members[i : i + MAX_BLOCK_SIZE] for i in range(0, len(members) - step, step)]
        else:
            windows = [members]
        for window in windows:
            queries = window if new is None else [m for m in window if prepared[m].id in new]
            if not queries:
                continue
            if key.startswith(_ID_KEYS):
                found = [(q, c) for q in queries for c in window]
            else:
                # Below 0.85 a title earns nothing: such a pair can only reach the review
                # level with the same first author and year, which is the author block.
                cutoff = TITLE_FILTER if key.startswith("author:") else 0.85
                found = _similar_titles(prepared, queries, window, cutoff, key.startswith("start:"))
            for x, y in found:
                if x != y:
                    pairs.add((x, y) if x < y else (y, x))
    return pairs


def _similar_titles(
    prepared: list[_Prepared],
    queries: list[int],
    choices: list[int],
    cutoff: float,
    truncation: bool,
) -> list[tuple[int, int]]:
    query_titles = [prepared[q].title_key for q in queries]
    choice_titles = [prepared[c].title_key for c in choices]
    matrix = process.cdist(
        query_titles,
        choice_titles,
        scorer=Indel.normalized_similarity,
        score_cutoff=cutoff,
        workers=1,
    )
    rows, cols = matrix.nonzero()
    found = [(queries[r], choices[c]) for r, c in zip(rows.tolist(), cols.tolist(), strict=True)]
    if truncation:  # a title that lost its subtitle: a long shared start
        matrix = process.cdist(
            query_titles,
            choice_titles,
            scorer=Prefix.similarity,
            score_cutoff=MIN_INFORMATIVE_TITLE,
            workers=1,
        )
        rows, cols = matrix.nonzero()
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            a, b = prepared[queries[r]], prepared[choices[c]]
            short, long = sorted((a.title, b.title), key=len)
            if long.startswith(short):
                found.append((queries[r], choices[c]))
    return found
