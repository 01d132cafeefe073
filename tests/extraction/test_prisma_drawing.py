"""The PRISMA 2020 flow diagram (Page et al., BMJ 2021;372:n71): numbers, layout, formats."""

import re
import threading
from collections import Counter
from html import unescape

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from extraction.prisma import PrismaCounts, as_rows, build_figure, draw

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

REVIEW = PrismaCounts(
    databases=(("PubMed", 120), ("Embase", 80), ("Cochrane CENTRAL", 45)),
    registers=(("ClinicalTrials.gov", 6),),
    other_sources=(("Websites", 1), ("Citation searching", 7)),
    duplicates_removed=60,
    automation_removed=0,
    other_removed=2,
    screened=189,
    excluded_screening=150,
    sought=39,
    not_retrieved=2,
    assessed=37,
    excluded_reasons=(("Wrong population", 10), ("Wrong outcome", 7), ("Not randomised", 5)),
    other_sought=8,
    other_not_retrieved=1,
    other_assessed=7,
    other_excluded_reasons=(("Wrong design", 4),),
    included_studies=14,
    included_reports=18,
)

MANY_REASONS = PrismaCounts(
    databases=(("MEDLINE via Ovid", 1400), ("Embase via Elsevier", 1100)),
    screened=2000,
    excluded_screening=1880,
    sought=120,
    assessed=118,
    not_retrieved=2,
    excluded_reasons=tuple(
        (f"Reason {i}: a full-text exclusion explained at some length by the reviewers", i)
        for i in range(1, 13)
    )
    + (("https://example.org/a-very-long-address-without-any-space-to-break-it-at-all", 1),),
    included_studies=40,
    included_reports=43,
)


def svg_texts(svg: bytes) -> list[str]:
    return [unescape(text) for text in re.findall(r"<text[^>]*>([^<]*)</text>", svg.decode())]


def counts_shown(svg: bytes) -> Counter:
    """Every "(n = 12)" of the drawing, counted."""
    return Counter(
        int(number) for text in svg_texts(svg) for number in re.findall(r"\(n = (\d+)\)", text)
    )


def assert_text_stays_in_its_box(counts: PrismaCounts) -> None:
    figure = build_figure(counts)
    renderer = FigureCanvasAgg(figure).get_renderer()
    ax = figure.axes[0]
    boxes = {patch.get_gid(): patch for patch in ax.patches if patch.get_gid()}
    lines = [text for text in ax.texts if text.get_gid()]
    assert lines
    for text in lines:
        key = text.get_gid().rsplit("-line-", 1)[0]
        outer = boxes[f"{key}-box"].get_window_extent(renderer)
        inner = text.get_window_extent(renderer)
        assert outer.x0 <= inner.x0 and inner.x1 <= outer.x1, text.get_text()
        assert outer.y0 <= inner.y0 and inner.y1 <= outer.y1, text.get_text()
    page = figure.bbox
    for patch in ax.patches:
        extent = patch.get_window_extent(renderer)
        assert page.x0 <= extent.x0 and extent.x1 <= page.x1 + 0.5


def test_every_number_of_the_table_appears_in_the_svg_and_nothing_else():
    svg = draw(REVIEW, fmt="svg")

    assert counts_shown(svg) == Counter(number for _, _, number in as_rows(REVIEW))


def test_the_table_lists_the_boxes_in_reading_order():
    rows = as_rows(REVIEW)

    assert rows[:3] == [
        ("Records identified", "Databases", 245),
        ("Records identified", "PubMed", 120),
        ("Records identified", "Embase", 80),
    ]
    assert ("Reports excluded", "Reports excluded", 22) in rows
    assert ("Reports excluded", "Wrong outcome", 7) in rows
    assert ("Other methods: records identified", "Citation searching", 7) in rows
    assert ("Other methods: reports excluded", "Wrong design", 4) in rows
    assert rows[-2:] == [
        ("Included", "Studies included in review", 14),
        ("Included", "Reports of included studies", 18),
    ]


def test_the_svg_keeps_the_template_wording_as_text():
    texts = svg_texts(draw(REVIEW))

    for wording in (
        "Identification of studies via databases and registers",
        "Identification of studies via other methods",
        "Identification",
        "Screening",
        "Included",
        "Records identified from:",
        "Records screened (n = 189)",
        "Records excluded (n = 150)",
        "Reports not retrieved (n = 2)",
        "Wrong population (n = 10)",
        "Studies included in review (n = 14)",
    ):
        assert wording in texts


def test_the_png_is_a_png():
    assert draw(REVIEW, fmt="png").startswith(PNG_SIGNATURE)


def test_an_unknown_image_format_is_refused():
    with pytest.raises(ValueError, match='"svg" or "png"'):
        draw(REVIEW, fmt="pdf")


def test_an_empty_review_is_drawn_with_zeros():
    empty = PrismaCounts()

    svg = draw(empty)

    assert draw(empty, fmt="png").startswith(PNG_SIGNATURE)
    assert set(counts_shown(svg)) == {0}
    assert counts_shown(svg) == Counter(number for _, _, number in as_rows(empty))
    assert "Identification of studies via other methods" not in svg_texts(svg)


def test_a_dozen_long_exclusion_reasons_fit_inside_a_box_that_grows():
    one_reason = PrismaCounts(excluded_reasons=(("Wrong population", 3),))

    def excluded_box_height(counts):
        figure = build_figure(counts)
        box = next(p for p in figure.axes[0].patches if p.get_gid() == "reports_excluded-box")
        return box.get_height()

    assert excluded_box_height(MANY_REASONS) > 6 * excluded_box_height(one_reason)
    assert_text_stays_in_its_box(MANY_REASONS)
    assert counts_shown(draw(MANY_REASONS)) == Counter(n for _, _, n in as_rows(MANY_REASONS))


def test_every_text_of_the_full_diagram_stays_inside_its_box():
    assert_text_stays_in_its_box(REVIEW)
    assert_text_stays_in_its_box(PrismaCounts())


def test_a_review_without_other_methods_is_drawn_without_their_column():
    """PRISMA 2020 has a separate template for reviews of databases and registers only; a
    column of zeros would report searches that were never done."""
    databases_only = PrismaCounts(databases=(("PubMed", 30),), screened=30, included_studies=2)

    texts = svg_texts(draw(databases_only))
    narrow = build_figure(databases_only).get_figwidth()
    wide = build_figure(REVIEW).get_figwidth()

    assert "Identification of studies via other methods" not in texts
    assert not any(box.startswith("Other methods") for box, _, _ in as_rows(databases_only))
    assert narrow < wide * 0.6


def test_an_other_source_that_found_nothing_keeps_the_column():
    searched = PrismaCounts(databases=(("PubMed", 30),), other_sources=(("Websites", 0),))

    texts = svg_texts(draw(searched))

    assert "Identification of studies via other methods" in texts
    assert "Websites (n = 0)" in texts
    assert ("Other methods: reports sought for retrieval", "Reports sought for retrieval", 0) in (
        as_rows(searched)
    )


def test_other_methods_counts_without_named_sources_say_so():
    unnamed = PrismaCounts(other_sought=3, other_assessed=3, included_studies=1)

    texts = svg_texts(draw(unnamed))

    assert "Identification of studies via other methods" in texts
    assert "(no sources listed)" in texts


def test_each_database_and_register_is_listed_with_the_totals():
    texts = svg_texts(draw(REVIEW))

    assert "Databases (n = 245)" in texts
    assert "Cochrane CENTRAL (n = 45)" in texts
    assert "Registers (n = 6)" in texts
    assert "ClinicalTrials.gov (n = 6)" in texts


def test_names_are_printed_literally_even_with_dollar_signs_and_ampersands():
    odd = PrismaCounts(excluded_reasons=(("Costs in $ & < 1 month $x$", 2),))

    assert "Costs in $ & < 1 month $x$ (n = 2)" in svg_texts(draw(odd))


def test_mappings_and_lists_of_counts_are_stored_as_tuples():
    counts = PrismaCounts(databases={"PubMed": 3, "Embase": 4}, excluded_reasons=[("Wrong", 1)])

    assert counts.databases == (("PubMed", 3), ("Embase", 4))
    assert counts.excluded_reasons == (("Wrong", 1),)
    assert hash(counts) == hash(
        PrismaCounts(databases=(("PubMed", 3), ("Embase", 4)), excluded_reasons=(("Wrong", 1),))
    )


def test_totals_add_up_the_named_counts():
    assert REVIEW.identified_databases == 245
    assert REVIEW.identified_registers == 6
    assert REVIEW.identified_other == 8
    assert REVIEW.removed_before_screening == 62
    assert REVIEW.excluded_full_text == 22
    assert REVIEW.other_excluded_full_text == 4
    assert REVIEW.has_other_methods


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"screened": -1}, "screened must not be negative; -1 given"),
        ({"assessed": 2.5}, "assessed must be a whole number; 2.5 given"),
        ({"included_studies": True}, "included_studies must be a whole number"),
        ({"excluded_reasons": (("Wrong design", -2),)}, "excluded_reasons: 'Wrong design'"),
    ],
)
def test_impossible_counts_are_refused(fields, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        PrismaCounts(**fields)


def test_diagrams_drawn_in_parallel_threads_all_keep_their_text():
    outputs: list[bytes] = []

    def render() -> None:
        outputs.append(draw(REVIEW))

    threads = [threading.Thread(target=render) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(outputs) == 6
    assert all("Records screened (n = 189)" in svg_texts(svg) for svg in outputs)


UNDER_WAY = PrismaCounts(
    databases=(("PubMed / MEDLINE", 300), ("Embase", 15)),
    other_sources=(("Website", 2),),
    duplicates_removed=5,
    awaiting_screening=235,
    not_screened_after_stopping=10,
    screening_stop="Callaghan & Mueller-Hansen (2020) hypergeometric stopping test; "
    "stopped 2026-11-30",
    screened=65,
    excluded_screening=58,
    sought=7,
    not_retrieved=1,
    awaiting_assessment=2,
    assessed=4,
    excluded_reasons=(("Wrong study design", 1),),
    reports_included=3,
    other_screened=2,
    other_excluded_screening=1,
    other_sought=1,
    other_not_retrieved=1,
    updated=True,
    previous_studies=6,
    previous_reports=9,
    new_studies=2,
    new_reports=3,
    included_studies=8,
    included_reports=12,
)


def drawn_box_texts(counts: PrismaCounts) -> dict[str, str]:
    """Each drawn box's text, its wrapped lines joined, by the box's key."""
    lines: dict[str, list[str]] = {}
    for text in build_figure(counts).axes[0].texts:
        if text.get_gid() and "-line-" in text.get_gid():
            lines.setdefault(text.get_gid().rsplit("-line-", 1)[0], []).append(text.get_text())
    return {key: " ".join(parts) for key, parts in lines.items()}


@pytest.mark.parametrize(
    ("box", "wording"),
    [
        ("removed", "Duplicate records removed (n = 5)"),
        ("ta_pending", "Records awaiting screening (n = 235)"),
        ("ta_pending", "Records not screened after stopping (n = 10)"),
        ("ta_pending", "hypergeometric stopping test; stopped 2026-11-30"),
        ("screened", "Records screened (n = 65)"),
        ("excluded", "Records excluded (n = 58)"),
        ("sought", "Reports sought for retrieval (n = 7)"),
        ("not_retrieved", "Reports not retrieved (n = 1)"),
        ("ft_pending", "Reports awaiting assessment (n = 2)"),
        ("assessed", "Reports assessed for eligibility (n = 4)"),
        ("reports_excluded", "Wrong study design (n = 1)"),
        ("other_identified", "Website (n = 2)"),
        ("other_screened", "Records screened (n = 2)"),
        ("other_excluded", "Records excluded (n = 1)"),
        ("other_sought", "Reports sought for retrieval (n = 1)"),
        ("other_not_retrieved", "Reports not retrieved (n = 1)"),
        ("other_assessed", "Reports assessed for eligibility (n = 0)"),
        ("previous", "Studies included in previous version of review (n = 6)"),
        ("previous", "Reports of studies included in previous version of review (n = 9)"),
        ("included", "New studies included in review (n = 2)"),
        ("included", "Reports of new included studies (n = 3)"),
        ("total", "Total studies included in review (n = 8)"),
        ("total", "Reports of total included studies (n = 12)"),
    ],
)
def test_each_number_of_a_review_under_way_is_drawn_in_its_box(box, wording):
    assert wording in drawn_box_texts(UNDER_WAY)[box]


def test_a_review_under_way_balances_and_every_number_is_in_the_svg():
    assert UNDER_WAY.imbalances() == []
    svg = draw(UNDER_WAY)

    assert counts_shown(svg) == Counter(number for _, _, number in as_rows(UNDER_WAY))
    assert_text_stays_in_its_box(UNDER_WAY)
    assert "Identification of new studies via databases and registers" in svg_texts(svg)
    assert "Previous studies" in svg_texts(svg)


def test_boxes_of_records_not_yet_screened_appear_only_while_there_are_some():
    finished = PrismaCounts(databases=(("PubMed", 10),), screened=10, excluded_screening=10)

    boxes = drawn_box_texts(finished)

    assert "ta_pending" not in boxes and "ft_pending" not in boxes
    assert not any("awaiting" in label for _, label, _ in as_rows(finished))
    assert "ta_pending" in drawn_box_texts(PrismaCounts(databases=(("PubMed", 10),),
                                                        awaiting_screening=10))  # fmt: skip


def test_records_screened_counts_only_records_with_a_final_decision_so_boxes_balance():
    """The seen bug: "Records screened 315" while 65 of 315 were screened."""
    wrong = PrismaCounts(
        databases=(("PubMed", 315),), screened=315, excluded_screening=15, sought=5
    )

    assert "Databases and registers: records screened: 315 in, 20 out" in wrong.imbalances()
    assert any("records identified" in problem for problem in UNDER_WAY.imbalances()) is False
