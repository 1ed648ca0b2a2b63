"""Chart geometry: axes end on round numbers, bars and points land inside the plot."""

from __future__ import annotations

from vitrine.analytics.charts import HEIGHT, WIDTH, bar_chart, compact, line_chart, nice_max
from vitrine.analytics.report import viewers_over_time


def test_the_axis_top_is_four_round_steps_above_the_highest_value() -> None:
    assert [nice_max(v) for v in (0, 1, 3, 5, 9, 41, 1_234)] == [4, 4, 4, 8, 20, 80, 2_000]


def test_a_bar_chart_has_one_bar_per_value_scaled_to_the_top() -> None:
    chart = bar_chart([("Viewed", 3), ("Clicked", 2), ("Ordered", 1)])

    assert [b.value for b in chart.bars] == [3, 2, 1]
    assert [t.label for t in chart.ticks] == ["0", "1", "2", "3", "4"]
    tallest = chart.bars[0]
    assert tallest.y + tallest.height == chart.baseline
    assert all(b.x >= 0 and b.x + b.width <= WIDTH for b in chart.bars)
    assert chart.bars[1].text == "Clicked: 2"


def test_a_line_chart_puts_every_point_inside_the_plot() -> None:
    chart = line_chart([("18:00", 0), ("18:01", 4), ("18:02", 2)])

    points = [tuple(map(float, p.split(","))) for p in chart.points.split()]
    assert len(points) == 3
    assert all(0 <= x <= WIDTH and 0 <= y <= HEIGHT for x, y in points)
    assert points[0][1] == chart.baseline


def test_quiet_minutes_carry_the_audience_over() -> None:
    points = viewers_over_time([(100, 2, 0, 2), (103, 0, 1, 0), (104, 1, 0, 2)])

    assert [(p.minute, p.viewers) for p in points] == [
        (100, 2),
        (101, 2),
        (102, 2),
        (103, 2),
        (104, 2),
    ]


def test_axis_labels_stay_short() -> None:
    assert [compact(v) for v in (0, 950, 1_000, 1_500, 24_000, 2_000_000)] == [
        "0",
        "950",
        "1k",
        "1.5k",
        "24k",
        "2M",
    ]
