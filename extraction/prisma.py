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

A review that used no other methods (no other sources listed and no other-methods counts) is
drawn without the right-hand column: that is PRISMA's separate template for reviews that
searched databases and registers only, and a column of zeros would claim searches that never
happened. Listing a source with zero records keeps the column: the search was done.

Every box grows with its text: lines are measured with the font that draws them and wrapped
to the box, so a dozen exclusion reasons with long names still fit. Counts are printed as
"(n = 12)", without thousands separators, so they can be searched for in the SVG.

The module also holds the two helpers that the forest plot shares (``figure_bytes`` and
``text_width``): SVG output needs a process-wide matplotlib setting, and one lock must guard
every figure that changes it.
"""

import io
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import matplotlib
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle
from matplotlib.textpath import TextToPath

Pairs = tuple[tuple[str, int], ...]

# --- Figure helpers shared with the forest plot ------------------------------------------

PNG_DPI = 150  # figures are built at the resolution they are saved at, so tests measure that
_SAVE_LOCK = threading.Lock()
_TEXT_TO_PATH = TextToPath()


def figure_bytes(figure: Figure, fmt: Literal["svg", "png"]) -> bytes:
    """Save a figure as SVG or PNG bytes; SVG keeps its text as ``<text>`` elements.

    Text as text stays searchable, selectable and readable by screen readers. matplotlib
    reads that choice (``svg.fonttype``) from its global settings, so the change is made in
    ``rc_context`` under a lock: two threads of a web server must not restore each other's
    settings halfway through a save. A fixed hash salt and no date make the SVG byte-stable.
    """
    if fmt not in ("svg", "png"):
        raise ValueError(f'format must be "svg" or "png"; "{fmt}" given')
    buffer = io.BytesIO()
    settings = {"svg.fonttype": "none", "svg.hashsalt": "reviewmgr"}
    metadata = {"Date": None} if fmt == "svg" else {"Software": None}
    with _SAVE_LOCK, matplotlib.rc_context(settings):
        figure.savefig(buffer, format=fmt, dpi="figure", metadata=metadata)
    return buffer.getvalue()


def text_width(text: str, *, size: float, bold: bool = False) -> float:
    """Width in inches of one line of text in matplotlib's default font, without a figure."""
    font = FontProperties(size=size, weight="bold" if bold else "normal")
    width, _, _ = _TEXT_TO_PATH.get_text_width_height_descent(text, font, ismath=False)
    return width / 72


# --- Counts ------------------------------------------------------------------------------


def _as_pairs(value: Iterable[tuple[str, int]] | Mapping[str, int]) -> Pairs:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple((str(name), count) for name, count in items)


_PAIR_FIELDS = (
    "databases",
    "registers",
    "other_sources",
    "excluded_reasons",
    "other_excluded_reasons",
)


@dataclass(frozen=True, slots=True)
class PrismaCounts:
    """Every number of the PRISMA 2020 flow diagram.

    Named counts (sources, exclusion reasons) are ``(name, count)`` pairs in display order; a
    mapping or list is accepted and stored as a tuple. Counts must be whole and not negative.
    The arithmetic between boxes is not enforced: a diagram shows what the review reports.
    """

    databases: Pairs = ()  # records identified per database, e.g. (("PubMed", 120),)
    registers: Pairs = ()  # per register, e.g. (("ClinicalTrials.gov", 6),)
    other_sources: Pairs = ()  # websites, organisations, citation searching...
    duplicates_removed: int = 0
    automation_removed: int = 0  # marked as ineligible by automation tools
    other_removed: int = 0  # removed before screening for other reasons
    screened: int = 0  # records screened on title and abstract
    excluded_screening: int = 0
    sought: int = 0  # reports sought for retrieval
    not_retrieved: int = 0
    assessed: int = 0  # reports assessed for eligibility in full text
    excluded_reasons: Pairs = ()  # full-text exclusions: (reason, count)
    other_sought: int = 0
    other_not_retrieved: int = 0
    other_assessed: int = 0
    other_excluded_reasons: Pairs = ()
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
    def excluded_full_text(self) -> int:
        return sum(count for _, count in self.excluded_reasons)

    @property
    def other_excluded_full_text(self) -> int:
        return sum(count for _, count in self.other_excluded_reasons)

    @property
    def has_other_methods(self) -> bool:
        """Whether the review used other methods, and so the diagram has their column."""
        return bool(self.other_sources or self.other_excluded_reasons) or any(
            (self.other_sought, self.other_not_retrieved, self.other_assessed)
        )


_INT_FIELDS = tuple(name for name in PrismaCounts.__dataclass_fields__ if name not in _PAIR_FIELDS)


def _check_count(name: str, count: object) -> None:
    if isinstance(count, bool) or not isinstance(count, int):
        raise ValueError(f"{name} must be a whole number; {count!r} given")
    if count < 0:
        raise ValueError(f"{name} must not be negative; {count} given")


def as_rows(counts: PrismaCounts) -> list[tuple[str, str, int]]:
    """Every number the diagram shows as (box, label, number), in reading order.

    For the table that accompanies the figure (the figure alone is not accessible) and for
    checking a diagram against the review's records.
    """
    rows = [("Records identified", "Databases", counts.identified_databases)]
    rows += [("Records identified", name, n) for name, n in counts.databases]
    rows.append(("Records identified", "Registers", counts.identified_registers))
    rows += [("Records identified", name, n) for name, n in counts.registers]
    removed = "Records removed before screening"
    rows += [
        (removed, "Duplicate records removed", counts.duplicates_removed),
        (removed, "Records marked as ineligible by automation tools", counts.automation_removed),
        (removed, "Records removed for other reasons", counts.other_removed),
        ("Records screened", "Records screened", counts.screened),
        ("Records excluded", "Records excluded", counts.excluded_screening),
        ("Reports sought for retrieval", "Reports sought for retrieval", counts.sought),
        ("Reports not retrieved", "Reports not retrieved", counts.not_retrieved),
        ("Reports assessed for eligibility", "Reports assessed for eligibility", counts.assessed),
        ("Reports excluded", "Reports excluded", counts.excluded_full_text),
    ]
    rows += [("Reports excluded", reason, n) for reason, n in counts.excluded_reasons]
    if counts.has_other_methods:
        rows += [("Other methods: records identified", name, n) for name, n in counts.other_sources]
        rows += [
            (
                "Other methods: reports sought for retrieval",
                "Reports sought for retrieval",
                counts.other_sought,
            ),
            (
                "Other methods: reports not retrieved",
                "Reports not retrieved",
                counts.other_not_retrieved,
            ),
            (
                "Other methods: reports assessed for eligibility",
                "Reports assessed for eligibility",
                counts.other_assessed,
            ),
            (
                "Other methods: reports excluded",
                "Reports excluded",
                counts.other_excluded_full_text,
            ),
        ]
        rows += [
            ("Other methods: reports excluded", reason, n)
            for reason, n in counts.other_excluded_reasons
        ]
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
WIDTHS = {"main": 2.7, "exclusion": 2.8, "other": 2.5, "other_exclusion": 2.6}

HEADER_COLOUR = "#f2c94c"  # the template's yellow for databases and registers
OTHER_HEADER_COLOUR = "#d9d9d9"  # and its grey for other methods
PHASE_COLOUR = "#a9cbea"  # and its light blue for the phase labels
LINE_WIDTH = 0.8

# Rows of the diagram, top to bottom, and the boxes in each (absent ones are skipped).
_ROWS: tuple[tuple[str, ...], ...] = (
    ("identified", "removed", "other_identified"),
    ("screened", "excluded"),
    ("sought", "not_retrieved", "other_sought", "other_not_retrieved"),
    ("assessed", "reports_excluded", "other_assessed", "other_reports_excluded"),
    ("included",),
)
# Phase label, first and last row it spans.
_PHASES = (("Identification", 0, 0), ("Screening", 1, 3), ("Included", 4, 4))
# Arrows down a column, and sideways to what left the flow.
_FLOW = (
    ("identified", "screened"),
    ("screened", "sought"),
    ("sought", "assessed"),
    ("assessed", "included"),
    ("other_identified", "other_sought"),
    ("other_sought", "other_assessed"),
)
_SIDEWAYS = (
    ("identified", "removed"),
    ("screened", "excluded"),
    ("sought", "not_retrieved"),
    ("assessed", "reports_excluded"),
    ("other_sought", "other_not_retrieved"),
    ("other_assessed", "other_reports_excluded"),
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
    if counts.has_other_methods:
        boxes += [
            _Box("other_identified", "other", _other_sources(counts)),
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
    boxes = _boxes(counts)
    other = counts.has_other_methods

    column_x = {"main": MARGIN + PHASE_WIDTH + PHASE_GAP}
    column_x["exclusion"] = column_x["main"] + WIDTHS["main"] + ARROW_GAP
    column_x["other"] = column_x["exclusion"] + WIDTHS["exclusion"] + COLUMN_GAP
    column_x["other_exclusion"] = column_x["other"] + WIDTHS["other"] + ARROW_GAP
    last_column = "other_exclusion" if other else "exclusion"
    width = column_x[last_column] + WIDTHS[last_column] + MARGIN
    for box in boxes.values():
        box.x = column_x[box.column]

    headers = [
        (
            "header",
            "Identification of studies via databases and registers",
            column_x["main"],
            column_x["exclusion"] + WIDTHS["exclusion"] - column_x["main"],
            HEADER_COLOUR,
        )
    ]
    if other:
        headers.append(
            (
                "other_header",
                "Identification of studies via other methods",
                column_x["other"],
                column_x["other_exclusion"] + WIDTHS["other_exclusion"] - column_x["other"],
                OTHER_HEADER_COLOUR,
            )
        )
    header_lines = {key: _wrap(_Line(text), span) for key, text, _, span, _ in headers}
    header_height = 2 * PAD_Y + LINE_HEIGHT * max(len(lines) for lines in header_lines.values())

    # A row is as tall as its tallest box, and the rows of a phase are together at least as
    # tall as the phase's label written upwards.
    row_heights = [max(boxes[key].height for key in row if key in boxes) for row in _ROWS]
    for label, first, last in _PHASES:
        needed = text_width(label, size=FONT_SIZE + 1, bold=True) + 2 * PAD_Y
        spanned = sum(row_heights[first : last + 1]) + ROW_GAP * (last - first)
        row_heights[last] += max(0.0, needed - spanned)
    row_tops = []
    y = MARGIN + header_height + ROW_GAP
    for row_height in row_heights:
        row_tops.append(y)
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
        top, bottom = row_tops[first], row_tops[last] + row_heights[last]
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
        if upper in boxes:
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
        "Flow diagram after the PRISMA 2020 template (Page et al., BMJ 2021;372:n71).",
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
