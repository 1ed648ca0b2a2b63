"""Chart geometry for server-rendered SVG: pure functions from numbers to coordinates, so a
template draws the chart with no script and every figure is also in the markup as text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 640
HEIGHT = 220
LEFT = 60  # room for the y-axis labels
BOTTOM = 28  # room for the x-axis labels
TOP = 10


@dataclass(frozen=True, slots=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int
    text: str  # what the bar says in words: "Spring live: 12 orders"


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    ticks: list[Tick]
    bars: list[Bar]
    points: str  # SVG polyline points, for line charts
    x_labels: list[tuple[float, str]]
    baseline: float


def nice_max(value: int) -> int:
    """The axis top: four steps of 1, 2 or 5 times a power of ten, at least the value."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if 4 * step * factor >= value:
                return 4 * step * factor
        step *= 10


def compact(value: int) -> str:
    """A short axis label: 950, 1.5k, 24k, 2M."""
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if value >= size:
            text = f"{value / size:.1f}".removesuffix(".0")
            return text + suffix
    return str(value)


def _ticks(top: int, plot_h: float) -> list[Tick]:
    return [
        Tick(y=round(TOP + plot_h - plot_h * i / 4, 1), label=compact(top * i // 4))
        for i in range(5)
    ]


def line_chart(values: Sequence[tuple[str, int]], *, every: int = 0) -> Chart:
    """A line over time, e.g. concurrent viewers per minute. `every` labels every n-th point."""
    plot_w = WIDTH - LEFT - 8
    plot_h = HEIGHT - TOP - BOTTOM
    top = nice_max(max((v for _, v in values), default=0))
    n = len(values)
    step = plot_w / (n - 1) if n > 1 else 0.0
    coords = [
        (round(LEFT + i * step, 1), round(TOP + plot_h - plot_h * v / top, 1))
        for i, (_, v) in enumerate(values)
    ]
    every = every or max(1, n // 6)
    labels = [(coords[i][0], values[i][0]) for i in range(0, n, every)]
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        ticks=_ticks(top, plot_h),
        bars=[],
        points=" ".join(f"{x},{y}" for x, y in coords),
        x_labels=labels,
        baseline=TOP + plot_h,
    )


def bar_chart(values: Sequence[tuple[str, int]], *, unit: str = "", fmt: str = "{:,}") -> Chart:
    """Vertical bars, one per label, e.g. GMV per show or the steps of the funnel."""
    plot_w = WIDTH - LEFT - 8
    plot_h = HEIGHT - TOP - BOTTOM
    top = nice_max(max((v for _, v in values), default=0))
    n = max(1, len(values))
    slot = plot_w / n
    width = round(min(90.0, max(2.0, slot * 0.7)), 1)
    bars = []
    for i, (label, value) in enumerate(values):
        h = round(plot_h * value / top, 1)
        bars.append(
            Bar(
                x=round(LEFT + i * slot + (slot - width) / 2, 1),
                y=round(TOP + plot_h - h, 1),
                width=width,
                height=h,
                label=label,
                value=value,
                text=f"{label}: {fmt.format(value)}{unit}",
            )
        )
    every = max(1, len(values) // 8)
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        ticks=_ticks(top, plot_h),
        bars=bars,
        points="",
        x_labels=[(b.x + b.width / 2, b.label) for b in bars[::every]],
        baseline=TOP + plot_h,
    )
