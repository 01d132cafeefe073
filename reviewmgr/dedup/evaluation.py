"""How well the duplicate search does against a labelled set: the shared corpus's sets (records
with the true duplicate clusters, as bib-dedupe and ASySD publish them) read into the engine's
records, and the counts their SOURCES.md defines (TP, FP, FN, TN, sensitivity, specificity,
precision). Used by the tests on the real corpus and by benches/dedup_bench.py."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from reviewmgr.dedup.records import DedupRecord

ENTRY_TYPES = {"article": "journal-article", "inproceedings": "conference-paper"}
SETS = (
    "asysd_diabetes",
    "bibdedupe_cytology_screening",
    "bibdedupe_haematology",
    "bibdedupe_respiratory",
    "bibdedupe_stroke",
    "bibdedupe_special_cases",
)

csv.field_size_limit(10_000_000)


@dataclass
class LabelledSet:
    name: str
    records: list[DedupRecord]
    clusters: list[set[int]]  # true duplicate clusters (size >= 2)


# ------------------------------------------------------------------------ loading

# ASySD writes authors as "Adeli K.Lewis G. F.": surname, initials with full stops, and
# the next surname glued on.
_ASYSD_AUTHOR = re.compile(r"\s*(.+?)\s+((?:[A-Z][a-z]?\.[\s-]*)+)(?=[A-Z]|$)")


def split_authors(value: str) -> tuple[str, ...]:
    """Author names from "Surname, A. and Other, B." or ASySD's "Surname A.Other B."."""
    value = (value or "").strip()
    if not value:
        return ()
    if " and " in value or "," in value:
        return tuple(name.strip() for name in value.split(" and ") if name.strip())
    found = _ASYSD_AUTHOR.findall(value)
    if found and sum(len(s) + len(i) for s, i in found) >= len(value.replace(" ", "")) * 0.8:
        return tuple(f"{surname}, {initials.strip()}" for surname, initials in found)
    return (value,)


def _year(value: str) -> int | None:
    match = re.search(r"\d{4}", value or "")
    return int(match.group(0)) if match else None


def id_number(value: str) -> int:
    return int(re.sub(r"\D", "", value))


def _read_csv(path: Path, encoding: str = "utf-8") -> list[dict[str, str]]:
    with path.open(encoding=encoding, newline="") as handle:
        return [{k: _clean(v) for k, v in row.items()} for row in csv.DictReader(handle)]


def _clean(value: str | None) -> str:
    """The cell's text; R's "NA" (ASySD's export) means empty."""
    value = (value or "").strip()
    return "" if value in {"NA", "N/A", "n/a"} else value


def _read_clusters(path: Path) -> list[set[int]]:
    return [
        {id_number(part) for part in row["merged_ids"].split(";")}
        for row in _read_csv(path)
        if row["merged_ids"]
    ]


def load_bibdedupe_set(corpus: Path, name: str) -> LabelledSet:
    folder = corpus / name
    records = []
    for row in _read_csv(folder / "records_pre_merged.csv"):
        entry_type = row.get("ENTRYTYPE", "")
        records.append(
            DedupRecord(
                id=id_number(row["ID"]),
                title=row.get("title", ""),
                authors=split_authors(row.get("author", "")),
                year=_year(row.get("year", "")),
                journal=row.get("journal", "") or row.get("booktitle", ""),
                volume=row.get("volume", ""),
                issue=row.get("number", "") or row.get("issue", ""),
                pages=row.get("pages", ""),
                doi=row.get("doi", ""),
                type=ENTRY_TYPES.get(entry_type, entry_type),
                abstract=row.get("abstract", ""),
            )
        )
    return LabelledSet(name, records, _read_clusters(folder / "merged_record_ids.csv"))


def load_asysd_diabetes(corpus: Path) -> LabelledSet:
    """The ASySD Diabetes set. Its `source` column says which record of each work is kept
    but not which work a duplicate belongs to, so clusters come from bib-dedupe's file
    (SOURCES.md: it agrees with `source` on 571 of 573 clusters)."""
    folder = corpus / "asysd_diabetes"
    records = [
        DedupRecord(
            id=int(row["record_id"]),
            title=row["title"],
            authors=split_authors(row["author"]),
            year=_year(row["year"]),
            journal=row["journal"],
            volume=row["volume"],
            issue=row["number"],
            pages=row["pages"],
            doi=row["doi"],
            abstract=row["abstract"],
        )
        for row in _read_csv(folder / "labelled_test_set.csv", encoding="cp1252")
    ]
    return LabelledSet(
        "asysd_diabetes", records, _read_clusters(folder / "merged_record_ids_from_bib-dedupe.csv")
    )


def load_set(corpus: Path, name: str) -> LabelledSet:
    """The labelled set `name` from the corpus folder `corpus` (../shared/corpus/dedup)."""
    if name == "asysd_diabetes":
        return load_asysd_diabetes(corpus)
    return load_bibdedupe_set(corpus, name)


# ------------------------------------------------------------------------ scoring


def evaluate(
    predicted: Iterable[Iterable[int]], all_ids: Iterable[int], clusters: list[set[int]]
) -> dict[str, float]:
    """TP/FP/FN/TN, sensitivity, specificity and precision as SOURCES.md defines them."""
    removed: set[int] = set()
    for group in predicted:
        ordered = sorted(group)
        removed.update(ordered[1:])
    in_cluster = set().union(*clusters) if clusters else set()
    tp = fp = fn = tn = 0
    for record_id in all_ids:
        if record_id not in in_cluster:
            if record_id in removed:
                fp += 1
            else:
                tn += 1
    for cluster in clusters:
        kept = len(cluster - removed)
        if kept == 0:
            fp += 1
            tp += len(cluster) - 1
        else:
            tn += 1
            fn += kept - 1
            tp += len(cluster) - kept
    return {
        "TP": tp,
        "FP": fp,
        "FN": fn,
        "TN": tn,
        "sensitivity": tp / (tp + fn) if tp + fn else 1.0,
        "specificity": tn / (tn + fp) if tn + fp else 1.0,
        "precision": tp / (tp + fp) if tp + fp else 1.0,
    }
