"""The time-course picture: the effect against days since injury, one line per compartment,
human and animal side by side."""

import re
from html import unescape

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex

from extraction.synthesis import TimePoint, TimeSeries, time_course_figure, time_course_plot
from extraction.synthesis.time_course import OKABE_ITO

P = TimePoint
SERIES = (
    TimeSeries("Serum", "Human", (P(90, -0.6, -1.2, 0.0, 3), P(30, -0.4, -0.9, 0.1, 2))),
    TimeSeries(
        "Sciatic nerve",
        "Animal",
        (P(3, -1.2, -2.0, -0.4, 3), P(7, -1.6, -2.5, -0.7, 4), P(14, -1.47, -2.75, -0.2, 5)),
    ),
    TimeSeries("Serum", "Animal", (P(7, -0.9, -1.6, -0.2, 2), P(14, -0.6, None, None, 1))),
)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def svg_texts(svg: bytes) -> list[str]:
    return [unescape(text) for text in re.findall(r"<text[^>]*>([^<]*)</text>", svg.decode())]


def test_the_svg_names_the_panels_the_series_and_the_studies_behind_each_point():
    texts = svg_texts(time_course_plot(SERIES, title="IL-6 after PRP"))

    assert "IL-6 after PRP" in texts
    assert {"Human", "Animal", "Serum", "Sciatic nerve"} <= set(texts)
    assert "Days since injury or onset" in texts
    assert "Effect (Hedges' g)" in texts
    assert {"1", "2", "3", "4", "5"} <= set(texts)  # k beside the points


def test_the_panels_sit_side_by_side_in_the_order_given_on_one_effect_scale():
    figure = time_course_figure(SERIES, title="IL-6")
    human, animal = figure.axes

    assert (human.get_title(loc="left"), animal.get_title(loc="left")) == ("Human", "Animal")
    assert human.get_position().x1 < animal.get_position().x0
    assert human.get_ylim() == animal.get_ylim()
    low, high = human.get_ylim()
    assert low < -2.75 and high > 0.1


def test_a_compartment_keeps_its_colour_in_every_panel_and_colours_are_colour_blind_safe():
    figure = time_course_figure(SERIES, title="IL-6")
    colours = {
        (axes.get_title(loc="left"), i): to_hex(line.get_color())
        for axes in figure.axes
        for i, line in enumerate(line for line in axes.get_lines() if line.get_marker() != "None")
    }

    assert colours[("Human", 0)] == colours[("Animal", 1)]  # Serum
    assert colours[("Animal", 0)] != colours[("Animal", 1)]
    assert set(colours.values()) <= {c.lower() for c in OKABE_ITO}


def test_points_are_joined_in_order_of_days_whatever_order_they_came_in():
    figure = time_course_figure(SERIES, title="IL-6")
    serum = next(line for line in figure.axes[0].get_lines() if line.get_marker() != "None")

    xs = list(serum.get_xdata())
    assert xs == sorted(xs)
    assert list(serum.get_ydata()) == [-0.4, -0.6]


def test_days_spanning_more_than_twenty_fold_use_a_log_axis_labelled_in_days():
    figure = time_course_figure(SERIES, title="IL-6")
    animal = figure.axes[1]

    assert animal.get_xscale() == "log"
    assert [t.get_text() for t in animal.get_xticklabels()] == ["3", "7", "14"]


def test_days_close_together_keep_a_linear_axis():
    series = [TimeSeries("Serum", "Animal", (P(7, -0.9, -1.6, -0.2, 2), P(14, -0.6, -1, 0, 1)))]

    assert time_course_figure(series, title="IL-6").axes[0].get_xscale() == "linear"


def test_the_png_is_a_png():
    assert time_course_plot(SERIES, title="IL-6", fmt="png").startswith(PNG_SIGNATURE)


@pytest.mark.parametrize("labels", [("Serum",), tuple(f"Compartment {i}" for i in range(9))])
def test_every_text_of_the_time_course_stays_inside_the_figure(labels):
    series = [
        TimeSeries(label, panel, (P(1, -0.3, -1, 0.4, 2), P(28, -0.8, -1.6, 0, 2)))
        for label in labels
        for panel in ("Human", "Animal")
    ]
    figure = time_course_figure(series, title="Interleukin-6 in every compartment reported")
    canvas = FigureCanvasAgg(figure)
    canvas.draw()  # places the legend
    renderer = canvas.get_renderer()
    width, height = figure.bbox.width, figure.bbox.height

    texts = [*figure.texts, *figure.legends[0].get_texts()]
    for axes in figure.axes:
        texts += [axes.title, axes._left_title, axes.xaxis.label, axes.yaxis.label]
        texts += [*axes.get_xticklabels(), *axes.get_yticklabels()]
    for text in texts:
        if text.get_text() and text.get_visible():
            box = text.get_window_extent(renderer)
            assert box.x0 >= 0 and box.x1 <= width, text
            assert box.y0 >= 0 and box.y1 <= height, text


def test_labels_are_printed_literally():
    series = [TimeSeries("$CSF$ & serum", "Animal", (P(7, -0.9, -1.6, -0.2, 2),))]

    assert "$CSF$ & serum" in svg_texts(time_course_plot(series, title="$IL$-6"))


def test_group_means_can_be_drawn_without_a_line_of_no_effect():
    means = [
        TimeSeries("PRP", "Animal", (P(7, 42.0, 35.0, 49.0, 3), P(14, 38.0, 31.0, 45.0, 3))),
        TimeSeries("CCI + saline", "Animal", (P(7, 61.0, 52.0, 70.0, 3), P(14, 58.0, 50, 66, 3))),
    ]

    figure = time_course_figure(means, title="IL-6", y_label="pg/mL", reference=None)
    with_line = time_course_figure(means, title="IL-6", y_label="pg/mL")

    horizontal = [line for line in figure.axes[0].get_lines() if line.get_marker() == "None"]
    assert horizontal == []
    assert figure.axes[0].get_ylim()[0] > 25  # the axis is not stretched down to zero
    assert with_line.axes[0].get_ylim()[0] < 0
