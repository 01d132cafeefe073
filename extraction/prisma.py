"""The PRISMA 2020 flow diagram, drawn from a review's counts.

Pure code: give it a ``PrismaCounts`` and it returns the diagram as SVG or PNG bytes, or as
rows for an accessible table. Nothing here touches the database; a service gathers the counts.

The layout follows the PRISMA 2020 flow diagram template "for new systematic reviews which
included searches of databases, registers and other sources" (Page MJ, McKenzie JE, Bossuyt
PM, et al. The PRISMA 2020 statement: an updated guideline for reporting systematic reviews.
BMJ 2021;372:n71, figure 1; templates at https://www.prisma-statement.org): phase labels on
the left (Identification, Screening, Included), a column for databases and registers, a
column for other methods, and a box to the right of each step for what left the flow there.
As the template's footnote recommends, records are reported per database and register.
An updated review is drawn after the template for updated reviews: a "Previous studies"
column, new and total included studies.

Both columns are drawn with a screening step, as the product screens records found by
other methods like any others. While screening is under way, a box to the right of the
arrow holds the records not yet screened (awaiting screening, or not screened after the
team stopped by its stopping rule, with the rule and date), and likewise the reports not
yet assessed, so that every box balances; those boxes are left out when empty.

A review that used no other methods (no other sources listed and no other-methods counts) is
drawn without the right-hand column: that is PRISMA's separate template for reviews that
searched databases and registers only, and a column of zeros would claim searches that never
happened. Listing a source with zero records keeps the column: the search was done.

Every box grows with its text: lines are measured with the font that draws them and wrapped
to the box, so a dozen exclusion reasons with long names still fit. Counts are printed as
"(n = 12)", without thousands separators, so they can be searched for in the SVG.

The drawing saves through extraction.figures, as the forest and time-course plots do.
matplotlib is loaded by the first drawing, not with the module: the counts and the table need
none of it, and it costs half a second and 50 MB.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from matplotlib.figure import Figure

from extraction.figures import PNG_DPI, figure_bytes, text_width

Pairs = tuple[tuple[str, int], ...]

# --- Counts ------------------------------------------------------------------------------


def _as_pairs(value: Iterable[tuple[str, int]] | Mapping[str, int]) -> Pairs:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple((str(name), count) for name, count in items)


@dataclass(frozen=True, slots=True)
class PrismaCounts:
    """Every number of the PRISMA 2020 flow diagram.

    Named counts (sources, exclusion reasons) are ``(name, count)`` pairs in display order; a
    mapping or list is accepted and stored as a tuple. Counts must be whole and not negative.
    The arithmetic between boxes is not enforced here (a diagram shows what the review
    reports); ``imbalances`` lists every box whose records do not add up.

    Fields named ``other_...`` are the other-methods column's. While screening is under way,
    records nobody has finished screening are "awaiting"; records left unscreened when the
    team stopped by its stopping rule are "not screened after stopping" (``screening_stop``
    says which rule and when). An updated review (``updated``) adds the previous version's
    studies and reports, and ``included_*`` are then the totals.
    """

    databases: Pairs = ()  # records identified per database, e.g. (("PubMed", 120),)
    registers: Pairs = ()  # per register, e.g. (("ClinicalTrials.gov", 6),)
    other_sources: Pairs = ()  # websites, organisations, citation searching...
    duplicates_removed: int = 0
    automation_removed: int = 0  # marked as ineligible by automation tools
    other_removed: int = 0  # removed before screening for other reasons
    awaiting_screening: int = 0
    not_screened_after_stopping: int = 0
    screened: int = 0  # records screened on title and abstract
    excluded_screening: int = 0
    sought: int = 0  # reports sought for retrieval
    not_retrieved: int = 0
    awaiting_assessment: int = 0
    not_assessed_after_stopping: int = 0
    assessed: int = 0  # reports assessed for eligibility in full text
    excluded_reasons: Pairs = ()  # full-text exclusions: (reason, count)
    reports_included: int = 0  # this column's reports that were included
    other_duplicates_removed: int = 0
    other_removed_other_reasons: int = 0
    other_awaiting_screening: int = 0
    other_not_screened_after_stopping: int = 0
    other_screened: int = 0
    other_excluded_screening: int = 0
    other_sought: int = 0
    other_not_retrieved: int = 0
    other_awaiting_assessment: int = 0
    other_not_assessed_after_stopping: int = 0
    other_assessed: int = 0
    other_excluded_reasons: Pairs = ()
    other_reports_included: int = 0
    screening_stop: str = ""  # e.g. "stopping rule X, 2026-11-30"
    assessment_stop: str = ""
    updated: bool = False  # PRISMA 2020's template for updated reviews
    previous_studies: int = 0
    previous_reports: int = 0
    new_studies: int = 0
    new_reports: int = 0
    included_studies: int = 0
    included_reports: int = 0

    def __post_init__(self) -> None:
        for name in _PAIR_FIELDS:
            object.__setattr__(self, name, _as_pairs(getattr(self, name)))
            for label, count in getattr(self, name):
                _check_count(f"{name}: {label!r}", count)
        for name in _INT_FIELDS:
            _check_count(name, getattr(self, name))

    @property
    def identified_databases(self) -> int:
        return sum(count for _, count in self.databases)

    @property
    def identified_registers(self) -> int:
        return sum(count for _, count in self.registers)

    @property
    def identified_other(self) -> int:
        return sum(count for _, count in self.other_sources)

    @property
    def removed_before_screening(self) -> int:
        return self.duplicates_removed + self.automation_removed + self.other_removed

    @property
    def other_removed_before_screening(self) -> int:
        return self.other_duplicates_removed + self.other_removed_other_reasons

    @property
    def excluded_full_text(self) -> int:
        return sum(count for _, count in self.excluded_reasons)

    @property
    def other_excluded_full_text(self) -> int:
        return sum(count for _, count in self.other_excluded_reasons)

    @property
    def has_other_methods(self) -> bool:
        """Whether the review used other methods, and so the diagram has their column."""
        return bool(self.other_sources or self.other_excluded_reasons) or any(
            getattr(self, name) for name in _INT_FIELDS if name.startswith("other_")
        )

    def imbalances(self) -> list[str]:
        """Every box whose records do not add up (in = out + next), as sentences; empty
        when the diagram balances. Named counts are checked through their totals."""
        found = []

        def check(what: str, into: int, *parts: int) -> None:
            if into != sum(parts):
                found.append(f"{what}: {into} in, {sum(parts)} out")

        for prefix, identified, removed, reasons in (
            ("", self.identified_databases + self.identified_registers,
             self.removed_before_screening, self.excluded_full_text),
            ("other_", self.identified_other, self.other_removed_before_screening,
             self.other_excluded_full_text),
        ):  # fmt: skip
            get = lambda name, p=prefix: getattr(self, p + name)  # noqa: E731
            column = "Other methods" if prefix else "Databases and registers"
            check(
                f"{column}: records identified",
                identified,
                removed,
                get("awaiting_screening"),
                get("not_screened_after_stopping"),
                get("screened"),
            )
            check(
                f"{column}: records screened",
                get("screened"),
                get("excluded_screening"),
                get("sought"),
            )
            check(
                f"{column}: reports sought",
                get("sought"),
                get("not_retrieved"),
                get("awaiting_assessment"),
                get("not_assessed_after_stopping"),
                get("assessed"),
            )
            check(
                f"{column}: reports assessed",
                get("assessed"),
                reasons,
                self.reports_included if not prefix else self.other_reports_included,
            )
        new_reports = self.reports_included + self.other_reports_included
        check("Reports of new included studies", self.new_reports, new_reports)
        check("Reports of included studies", self.included_reports,
              self.previous_reports + self.new_reports)  # fmt: skip
        check("Studies included", self.included_studies,
              self.previous_studies + self.new_studies)  # fmt: skip
        return found


_PAIR_FIELDS = (
    "databases",
    "registers",
    "other_sources",
    "excluded_reasons",
    "other_excluded_reasons",
)
_OTHER_FIELDS = ("screening_stop", "assessment_stop", "updated")
_INT_FIELDS = tuple(
    name
    for name in PrismaCounts.__dataclass_fields__
    if name not in _PAIR_FIELDS and name not in _OTHER_FIELDS
)


PAIR_FIELDS = _PAIR_FIELDS
TEXT_FIELDS = ("screening_stop", "assessment_stop")
TOTALS = (
    "identified_databases",
    "identified_registers",
    "identified_other",
    "removed_before_screening",
    "other_removed_before_screening",
    "excluded_full_text",
    "other_excluded_full_text",
)


def counts_as_dict(counts: PrismaCounts) -> dict:
    """Every number of the diagram as plain data (JSON): named counts as lists of
    {"name", "count"}, the boxes' totals, and the boxes that do not add up."""
    data: dict = {}
    for name in PrismaCounts.__dataclass_fields__:
        value = getattr(counts, name)
        if name in _PAIR_FIELDS:
            value = [{"name": label, "count": count} for label, count in value]
        data[name] = value
    for name in TOTALS:
        data[name] = getattr(counts, name)
    data["imbalances"] = counts.imbalances()
    return data


def _check_count(name: str, count: object) -> None:
    if isinstance(count, bool) or not isinstance(count, int):
        raise ValueError(f"{name} must be a whole number; {count!r} given")
    if count < 0:
        raise ValueError(f"{name} must not be negative; {count} given")


def _pending_rows(box: str, counts: PrismaCounts, prefix: str, stage: str) -> list:
    """The boxes of records (or reports) not yet screened, when there are any."""
    awaiting = getattr(counts, f"{prefix}awaiting_{stage}")
    stopped = getattr(counts, f"{prefix}not_{'screened' if stage == 'screening' else 'assessed'}"
                      "_after_stopping")  # fmt: skip
    stop = counts.screening_stop if stage == "screening" else counts.assessment_stop
    rows = []
    if awaiting:
        label = "Records awaiting screening" if stage == "screening" else (
            "Reports awaiting assessment")  # fmt: skip
        rows.append((box, label, awaiting))
    if stopped:
        label = "Records not screened after stopping" if stage == "screening" else (
            "Reports not assessed after stopping")  # fmt: skip
        rows.append((box, f"{label}{f' ({stop})' if stop else ''}", stopped))
    return rows


def as_rows(counts: PrismaCounts) -> list[tuple[str, str, int]]:
    """Every number the diagram shows as (box, label, number), in reading order.

    For the table that accompanies the figure (the figure alone is not accessible) and for
    checking a diagram against the review's records.
    """
    rows = []
    if counts.updated:
        rows += [
            ("Previous studies", "Studies included in previous version of review",
             counts.previous_studies),
            ("Previous studies", "Reports of studies included in previous version of review",
             counts.previous_reports),
        ]  # fmt: skip
    rows += [("Records identified", "Databases", counts.identified_databases)]
    rows += [("Records identified", name, n) for name, n in counts.databases]
    rows.append(("Records identified", "Registers", counts.identified_registers))
    rows += [("Records identified", name, n) for name, n in counts.registers]
    removed = "Records removed before screening"
    rows += [
        (removed, "Duplicate records removed", counts.duplicates_removed),
        (removed, "Records marked as ineligible by automation tools", counts.automation_removed),
        (removed, "Records removed for other reasons", counts.other_removed),
    ]
    rows += _pending_rows("Records not yet screened", counts, "", "screening")
    rows += [
        ("Records screened", "Records screened", counts.screened),
        ("Records excluded", "Records excluded", counts.excluded_screening),
        ("Reports sought for retrieval", "Reports sought for retrieval", counts.sought),
        ("Reports not retrieved", "Reports not retrieved", counts.not_retrieved),
    ]
    rows += _pending_rows("Reports not yet assessed", counts, "", "assessment")
    rows += [
        ("Reports assessed for eligibility", "Reports assessed for eligibility", counts.assessed),
        ("Reports excluded", "Reports excluded", counts.excluded_full_text),
    ]
    rows += [("Reports excluded", reason, n) for reason, n in counts.excluded_reasons]
    if counts.has_other_methods:
        other = "Other methods: "
        rows += [(f"{other}records identified", name, n) for name, n in counts.other_sources]
        rows += [
            (f"{other}records removed before screening", "Duplicate records removed",
             counts.other_duplicates_removed),
            (f"{other}records removed before screening", "Records removed for other reasons",
             counts.other_removed_other_reasons),
        ]  # fmt: skip
        rows += _pending_rows(f"{other}records not yet screened", counts, "other_", "screening")
        rows += [
            (f"{other}records screened", "Records screened", counts.other_screened),
            (f"{other}records excluded", "Records excluded", counts.other_excluded_screening),
            (f"{other}reports sought for retrieval", "Reports sought for retrieval",
             counts.other_sought),
            (f"{other}reports not retrieved", "Reports not retrieved",
             counts.other_not_retrieved),
        ]  # fmt: skip
        rows += _pending_rows(f"{other}reports not yet assessed", counts, "other_", "assessment")
        rows += [
            (f"{other}reports assessed for eligibility", "Reports assessed for eligibility",
             counts.other_assessed),
            (f"{other}reports excluded", "Reports excluded", counts.other_excluded_full_text),
        ]  # fmt: skip
        rows += [
            (f"{other}reports excluded", reason, n) for reason, n in counts.other_excluded_reasons
        ]
    if counts.updated:
        rows += [
            ("Included", "New studies included in review", counts.new_studies),
            ("Included", "Reports of new included studies", counts.new_reports),
            ("Included", "Total studies included in review", counts.included_studies),
            ("Included", "Reports of total included studies", counts.included_reports),
        ]
    else:
        rows += [
            ("Included", "Studies included in review", counts.included_studies),
            ("Included", "Reports of included studies", counts.included_reports),
        ]
    return rows


# --- Drawing -----------------------------------------------------------------------------

FONT_SIZE = 8.5
LINE_HEIGHT = FONT_SIZE * 1.25 / 72  # inches
PAD_X = 0.1
PAD_Y = 0.08
INDENT = 0.16  # per list level, inches
MARGIN = 0.15
PHASE_WIDTH = 0.32
PHASE_GAP = 0.2
ARROW_GAP = 0.45  # between a step and the box of what left the flow there
COLUMN_GAP = 0.5  # between the databases-and-registers and the other-methods columns
ROW_GAP = 0.35
# Browsers may draw SVG text in a slightly wider font than the one measured here.
WIDTH_SLACK = 0.92
# Column widths in inches: the steps and, to their right, what left the flow at each step.
WIDTHS = {
    "previous": 2.3,
    "main": 2.7,
    "exclusion": 2.8,
    "other": 2.5,
    "other_exclusion": 2.6,
}

HEADER_COLOUR = "#f2c94c"  # the template's yellow for databases and registers
OTHER_HEADER_COLOUR = "#d9d9d9"  # and its grey for other methods
PREVIOUS_HEADER_COLOUR = "#e8e8e8"  # and the updated review's lighter grey for previous studies
PHASE_COLOUR = "#a9cbea"  # and its light blue for the phase labels
LINE_WIDTH = 0.8

# Rows of the diagram, top to bottom, and the boxes in each. Absent boxes are skipped and a
# row with none takes no room: the boxes of records not yet screened ("ta_pending") or
# reports not yet assessed ("ft_pending") appear only while some are, and "previous" and
# "total" only in an updated review.
_ROWS: tuple[tuple[str, ...], ...] = (
    ("previous", "identified", "removed", "other_identified", "other_removed"),
    ("ta_pending", "other_ta_pending"),
    ("screened", "excluded", "other_screened", "other_excluded"),
    ("sought", "not_retrieved", "other_sought", "other_not_retrieved"),
    ("ft_pending", "other_ft_pending"),
    ("assessed", "reports_excluded", "other_assessed", "other_reports_excluded"),
    ("included",),
    ("total",),
)
# Phase label, first and last row it spans.
_PHASES = (("Identification", 0, 0), ("Screening", 1, 5), ("Included", 6, 7))
# Arrows down a column, and sideways to what left the flow.
_FLOW = (
    ("identified", "screened"),
    ("screened", "sought"),
    ("sought", "assessed"),
    ("assessed", "included"),
    ("included", "total"),
    ("other_identified", "other_screened"),
    ("other_screened", "other_sought"),
    ("other_sought", "other_assessed"),
)
_SIDEWAYS = (
    ("identified", "removed"),
    ("screened", "excluded"),
    ("sought", "not_retrieved"),
    ("assessed", "reports_excluded"),
    ("other_identified", "other_removed"),
    ("other_screened", "other_excluded"),
    ("other_sought", "other_not_retrieved"),
    ("other_assessed", "other_reports_excluded"),
)
# Boxes of what has not left the flow yet, fed by the arrow down their column.
_PENDING = (
    ("ta_pending", "screened"),
    ("ft_pending", "assessed"),
    ("other_ta_pending", "other_screened"),
    ("other_ft_pending", "other_assessed"),
)


def _n(count: int) -> str:
    return f"(n = {count})"


@dataclass(slots=True)
class _Line:
    text: str
    level: int = 0  # list indentation


@dataclass(slots=True)
class _Box:
    key: str
    column: str  # a key of WIDTHS
    lines: list[_Line]
    centred: bool = False
    x: float = 0.0
    top: float = 0.0
    wrapped: list[_Line] = field(default_factory=list)

    @property
    def width(self) -> float:
        return WIDTHS[self.column]

    @property
    def height(self) -> float:
        return 2 * PAD_Y + len(self.wrapped) * LINE_HEIGHT

    @property
    def bottom(self) -> float:
        return self.top + self.height

    @property
    def middle(self) -> float:
        return self.top + self.height / 2

    @property
    def centre_x(self) -> float:
        return self.x + self.width / 2


_COUNT = re.compile(r"\(n = \d+\)")


def _wrap(line: _Line, width: float) -> list[_Line]:
    """Greedy word wrap by measured width; "(n = 12)" never splits; continuations hang."""
    words = _COUNT.sub(lambda match: match.group().replace(" ", "\0"), line.text).split(" ")
    wrapped: list[_Line] = []
    current = ""
    for word in words:
        level = line.level + (1 if wrapped else 0)
        candidate = f"{current} {word}" if current else word
        if not current or _fits(candidate.replace("\0", " "), width, level):
            current = candidate
            continue
        wrapped.append(_Line(current, level))
        current = word
    wrapped.append(_Line(current, line.level + (1 if wrapped else 0)))
    return [
        piece
        for part in wrapped
        for piece in _break_long_word(_Line(part.text.replace("\0", " "), part.level), width)
    ]


def _fits(text: str, width: float, level: int) -> bool:
    available = (width - 2 * PAD_X - level * INDENT) * WIDTH_SLACK
    return text_width(text, size=FONT_SIZE) <= available


def _break_long_word(line: _Line, width: float) -> list[_Line]:
    """Cut a word too long for the box (a URL, say) at the last character that fits."""
    text, pieces = line.text, []
    while len(text) > 1 and not _fits(text, width, line.level):
        cut = len(text) - 1
        while cut > 1 and not _fits(text[:cut], width, line.level):
            cut -= 1
        pieces.append(_Line(text[:cut], line.level))
        text = text[cut:]
    return [*pieces, _Line(text, line.level)]


def _sources(counts: PrismaCounts) -> list[_Line]:
    lines = [_Line("Records identified from:")]
    for heading, pairs, total in (
        ("Databases", counts.databases, counts.identified_databases),
        ("Registers", counts.registers, counts.identified_registers),
    ):
        lines.append(_Line(f"{heading} {_n(total)}", 1))
        lines += [_Line(f"{name} {_n(n)}", 2) for name, n in pairs]
    return lines


def _other_sources(counts: PrismaCounts) -> list[_Line]:
    sources = [_Line(f"{name} {_n(n)}", 1) for name, n in counts.other_sources]
    return [_Line("Records identified from:"), *(sources or [_Line("(no sources listed)", 1)])]


def _reasons(total: int, reasons: Pairs) -> list[_Line]:
    if not reasons:
        return [_Line(f"Reports excluded {_n(total)}")]
    return [
        _Line(f"Reports excluded {_n(total)}:"),
        *(_Line(f"{reason} {_n(n)}", 1) for reason, n in reasons),
    ]


def _one_line(text: str) -> list[_Line]:
    return [_Line(text)]


def _pending(counts: PrismaCounts, prefix: str, stage: str) -> list[_Line]:
    lines = []
    for _, label, n in _pending_rows("", counts, prefix, stage):
        name, _, stop = label.partition(" (")
        lines.append(_Line(f"{name} {_n(n)}"))
        if stop:
            lines.append(_Line(stop.removesuffix(")"), 1))
    return lines


def _boxes(counts: PrismaCounts) -> dict[str, _Box]:
    removed = [
        _Line("Records removed before screening:"),
        _Line(f"Duplicate records removed {_n(counts.duplicates_removed)}", 1),
        _Line(
            f"Records marked as ineligible by automation tools {_n(counts.automation_removed)}",
            1,
        ),
        _Line(f"Records removed for other reasons {_n(counts.other_removed)}", 1),
    ]
    if counts.updated:
        included = [
            _Line(f"New studies included in review {_n(counts.new_studies)}"),
            _Line(f"Reports of new included studies {_n(counts.new_reports)}"),
        ]
    else:
        included = [
            _Line(f"Studies included in review {_n(counts.included_studies)}"),
            _Line(f"Reports of included studies {_n(counts.included_reports)}"),
        ]
    boxes = [
        _Box("identified", "main", _sources(counts)),
        _Box("removed", "exclusion", removed),
        _Box("screened", "main", _one_line(f"Records screened {_n(counts.screened)}"), True),
        _Box(
            "excluded",
            "exclusion",
            _one_line(f"Records excluded {_n(counts.excluded_screening)}"),
            True,
        ),
        _Box(
            "sought", "main", _one_line(f"Reports sought for retrieval {_n(counts.sought)}"), True
        ),
        _Box(
            "not_retrieved",
            "exclusion",
            _one_line(f"Reports not retrieved {_n(counts.not_retrieved)}"),
            True,
        ),
        _Box(
            "assessed",
            "main",
            _one_line(f"Reports assessed for eligibility {_n(counts.assessed)}"),
            True,
        ),
        _Box(
            "reports_excluded",
            "exclusion",
            _reasons(counts.excluded_full_text, counts.excluded_reasons),
            centred=not counts.excluded_reasons,
        ),
        _Box("included", "main", included, True),
    ]
    for key, prefix, stage, column in (
        ("ta_pending", "", "screening", "exclusion"),
        ("ft_pending", "", "assessment", "exclusion"),
        ("other_ta_pending", "other_", "screening", "other_exclusion"),
        ("other_ft_pending", "other_", "assessment", "other_exclusion"),
    ):
        lines = _pending(counts, prefix, stage)
        if lines and (counts.has_other_methods or not prefix):
            boxes.append(_Box(key, column, lines))
    if counts.updated:
        previous = [
            _Line(f"Studies included in previous version of review {_n(counts.previous_studies)}"),
            _Line(
                "Reports of studies included in previous version of review "
                f"{_n(counts.previous_reports)}"
            ),
        ]
        total = [
            _Line(f"Total studies included in review {_n(counts.included_studies)}"),
            _Line(f"Reports of total included studies {_n(counts.included_reports)}"),
        ]
        boxes += [_Box("previous", "previous", previous), _Box("total", "main", total, True)]
    if counts.has_other_methods:
        other_removed = [
            _Line("Records removed before screening:"),
            _Line(f"Duplicate records removed {_n(counts.other_duplicates_removed)}", 1),
            _Line(f"Records removed for other reasons {_n(counts.other_removed_other_reasons)}", 1),
        ]
        boxes += [
            _Box("other_identified", "other", _other_sources(counts)),
            _Box("other_removed", "other_exclusion", other_removed),
            _Box(
                "other_screened",
                "other",
                _one_line(f"Records screened {_n(counts.other_screened)}"),
                True,
            ),
            _Box(
                "other_excluded",
                "other_exclusion",
                _one_line(f"Records excluded {_n(counts.other_excluded_screening)}"),
                True,
            ),
            _Box(
                "other_sought",
                "other",
                _one_line(f"Reports sought for retrieval {_n(counts.other_sought)}"),
                True,
            ),
            _Box(
                "other_not_retrieved",
                "other_exclusion",
                _one_line(f"Reports not retrieved {_n(counts.other_not_retrieved)}"),
                True,
            ),
            _Box(
                "other_assessed",
                "other",
                _one_line(f"Reports assessed for eligibility {_n(counts.other_assessed)}"),
                True,
            ),
            _Box(
                "other_reports_excluded",
                "other_exclusion",
                _reasons(counts.other_excluded_full_text, counts.other_excluded_reasons),
                centred=not counts.other_excluded_reasons,
            ),
        ]
    for box in boxes:
        box.wrapped = [piece for line in box.lines for piece in _wrap(line, box.width)]
    return {box.key: box for box in boxes}


def build_figure(counts: PrismaCounts) -> Figure:
    """The flow diagram as a matplotlib ``Figure`` sized to its content.

    The axes span the whole figure with inches as data units (y grows downwards), so every
    box is placed and sized in inches. Every box and each of its lines carries a ``gid``
    ("screened-box", "screened-line-0", ...; also the headers and phase labels), which
    becomes an ``id`` attribute in the SVG and lets tests check that text stays inside.
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

    boxes = _boxes(counts)
    other = counts.has_other_methods

    left = MARGIN + PHASE_WIDTH + PHASE_GAP
    column_x = {"previous": left}
    column_x["main"] = left + (WIDTHS["previous"] + COLUMN_GAP if counts.updated else 0.0)
    column_x["exclusion"] = column_x["main"] + WIDTHS["main"] + ARROW_GAP
    column_x["other"] = column_x["exclusion"] + WIDTHS["exclusion"] + COLUMN_GAP
    column_x["other_exclusion"] = column_x["other"] + WIDTHS["other"] + ARROW_GAP
    last_column = "other_exclusion" if other else "exclusion"
    width = column_x[last_column] + WIDTHS[last_column] + MARGIN
    for box in boxes.values():
        box.x = column_x[box.column]

    headers = []
    if counts.updated:
        headers.append(
            ("previous_header", "Previous studies", column_x["previous"], WIDTHS["previous"],
             PREVIOUS_HEADER_COLOUR)
        )  # fmt: skip
    headers.append(
        (
            "header",
            "Identification of new studies via databases and registers"
            if counts.updated
            else "Identification of studies via databases and registers",
            column_x["main"],
            column_x["exclusion"] + WIDTHS["exclusion"] - column_x["main"],
            HEADER_COLOUR,
        )
    )
    if other:
        headers.append(
            (
                "other_header",
                "Identification of new studies via other methods"
                if counts.updated
                else "Identification of studies via other methods",
                column_x["other"],
                column_x["other_exclusion"] + WIDTHS["other_exclusion"] - column_x["other"],
                OTHER_HEADER_COLOUR,
            )
        )
    header_lines = {key: _wrap(_Line(text), span) for key, text, _, span, _ in headers}
    header_height = 2 * PAD_Y + LINE_HEIGHT * max(len(lines) for lines in header_lines.values())

    # A row is as tall as its tallest box (a row without boxes takes no room), and the rows
    # of a phase are together at least as tall as the phase's label written upwards.
    row_heights = [
        max((boxes[key].height for key in row if key in boxes), default=0.0) for row in _ROWS
    ]
    present = [height > 0 for height in row_heights]

    def phase_rows(first: int, last: int) -> list[int]:
        return [i for i in range(first, last + 1) if present[i]]

    for label, first, last in _PHASES:
        rows = phase_rows(first, last)
        needed = text_width(label, size=FONT_SIZE + 1, bold=True) + 2 * PAD_Y
        spanned = sum(row_heights[i] for i in rows) + ROW_GAP * (len(rows) - 1)
        row_heights[rows[-1]] += max(0.0, needed - spanned)
    row_tops = []
    y = MARGIN + header_height + ROW_GAP
    for row_height, shown in zip(row_heights, present, strict=True):
        row_tops.append(y)
        if shown:
            y += row_height + ROW_GAP
    footer_y = y
    height = footer_y + 0.25
    for row, top, row_height in zip(_ROWS, row_tops, row_heights, strict=True):
        for key in row:
            if key in boxes:
                boxes[key].top = top + (row_height - boxes[key].height) / 2

    figure = Figure(figsize=(width, height), dpi=PNG_DPI)
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.axis("off")

    def rounded(x: float, top: float, w: float, h: float, colour: str, gid: str) -> None:
        ax.add_patch(
            FancyBboxPatch(
                (x, top),
                w,
                h,
                boxstyle="round,pad=0,rounding_size=0.06",
                facecolor=colour,
                edgecolor="black",
                linewidth=LINE_WIDTH,
                gid=gid,
            )
        )

    for key, _, x, span, colour in headers:
        rounded(x, MARGIN, span, header_height, colour, f"{key}-box")
        for i, line in enumerate(header_lines[key]):
            ax.text(
                x + span / 2,
                MARGIN + PAD_Y + (i + 0.5) * LINE_HEIGHT,
                line.text,
                ha="center",
                va="center",
                fontsize=FONT_SIZE,
                fontweight="bold",
                gid=f"{key}-line-{i}",
            )

    for label, first, last in _PHASES:
        rows = phase_rows(first, last)
        top, bottom = row_tops[rows[0]], row_tops[rows[-1]] + row_heights[rows[-1]]
        key = f"phase-{label.lower()}"
        rounded(MARGIN, top, PHASE_WIDTH, bottom - top, PHASE_COLOUR, f"{key}-box")
        ax.text(
            MARGIN + PHASE_WIDTH / 2,
            (top + bottom) / 2,
            label,
            rotation=90,
            ha="center",
            va="center",
            fontsize=FONT_SIZE + 1,
            fontweight="bold",
            gid=f"{key}-line-0",
        )

    for box in boxes.values():
        ax.add_patch(
            Rectangle(
                (box.x, box.top),
                box.width,
                box.height,
                facecolor="white",
                edgecolor="black",
                linewidth=LINE_WIDTH,
                gid=f"{box.key}-box",
            )
        )
        for i, line in enumerate(box.wrapped):
            ax.text(
                box.centre_x if box.centred else box.x + PAD_X + line.level * INDENT,
                box.top + PAD_Y + (i + 0.5) * LINE_HEIGHT,
                line.text,
                ha="center" if box.centred else "left",
                va="center",
                fontsize=FONT_SIZE,
                parse_math=False,
                gid=f"{box.key}-line-{i}",
            )

    def arrow(start: tuple[float, float], end: tuple[float, float]) -> None:
        ax.add_patch(
            FancyArrowPatch(
                start,
                end,
                arrowstyle="-|>",
                mutation_scale=10,
                color="black",
                linewidth=LINE_WIDTH,
                shrinkA=0,
                shrinkB=0,
            )
        )

    for upper, lower in _FLOW:
        if upper in boxes and lower in boxes:
            arrow(
                (boxes[upper].centre_x, boxes[upper].bottom),
                (boxes[lower].centre_x, boxes[lower].top),
            )
    for step, removed in _SIDEWAYS:
        if step in boxes:
            arrow(
                (boxes[step].x + boxes[step].width, boxes[step].middle),
                (boxes[removed].x, boxes[step].middle),
            )
    for pending, below in _PENDING:
        if pending in boxes:
            # what has not reached the next step yet leaves the arrow down its column
            y = boxes[pending].middle
            arrow((boxes[below].centre_x, y), (boxes[pending].x, y))
    if counts.updated:
        # The previous version's studies join the new ones in the total: down, then right.
        source, total = boxes["previous"], boxes["total"]
        ax.plot(
            [source.centre_x, source.centre_x],
            [source.bottom, total.middle],
            color="black",
            linewidth=LINE_WIDTH,
        )
        arrow((source.centre_x, total.middle), (total.x, total.middle))
    if other:
        # Reports found by other methods join the included studies: down, then left.
        source, included = boxes["other_assessed"], boxes["included"]
        ax.plot(
            [source.centre_x, source.centre_x],
            [source.bottom, included.middle],
            color="black",
            linewidth=LINE_WIDTH,
        )
        arrow((source.centre_x, included.middle), (included.x + included.width, included.middle))

    ax.text(
        MARGIN,
        footer_y + 0.05,
        "Flow diagram after the PRISMA 2020 template"
        + (" for updated reviews" if counts.updated else "")
        + " (Page et al., BMJ 2021;372:n71).",
        ha="left",
        va="center",
        fontsize=FONT_SIZE - 1.5,
        color="#555555",
    )
    return figure


def draw(counts: PrismaCounts, *, fmt: Literal["svg", "png"] = "svg") -> bytes:
    """The PRISMA 2020 flow diagram as SVG (text kept as text) or PNG bytes.

    One figure is built and saved in the requested format. Drawing takes 0.1-0.4 s (PNG and
    long reason lists cost most), so cache the bytes if a page shows the diagram often.
    """
    return figure_bytes(build_figure(counts), fmt)
