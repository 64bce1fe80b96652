"""Geometry of the dashboard's 48-hour chart (R-DASH-2), drawn as inline SVG
by templates/dashboard_chart.html: three bars per hour (incoming, accepted,
not accepted), each a link to the calls behind it. No script, no CDN."""

from __future__ import annotations

from dataclasses import dataclass

from ..i18n import N_, format_number, format_pattern, gettext

WIDTH, HEIGHT = 960, 280
LEFT, RIGHT, BOTTOM, TOP = 48, 8, 34, 22
SERIES = (("incoming", N_("Incoming"), "#1f6fb2"), ("accepted", N_("Accepted"), "#2e8540"),
          ("not_accepted", N_("Not accepted"), "#c0392b"))
LABEL_HALF_WIDTH = 24
"""Half the width of the widest hour label ("Mon 06" at 11 px): labels are
kept this far inside the plot so none is cut off at either end."""
TOPS = (4, 8, 12, 20, 40, 60, 80, 100, 200, 400, 800, 1000, 2000, 4000, 10000, 20000, 40000, 100000)
"""Axis maxima: each splits into four whole-number steps."""


@dataclass(frozen=True)
class Rect:
    """One bar."""

    x: float
    y: float
    w: float
    h: float
    color: str
    href: str
    title: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    rects: list[Rect]
    labels: list[tuple[float, str]]
    """(x, text) under the axis, centred on x (every 6 hours)."""
    ticks: list[float]
    """x of every hour's tick mark on the axis."""
    values: list[tuple[float, float, int]]
    """(x, y, count) written above each hour that had incoming calls."""
    grid: list[tuple[float, str]]
    """(y, label) of horizontal grid lines: their y-axis values as the locale writes them."""
    base_y: float
    left: int
    right: int
    top: int
    series: tuple
    empty: bool
    """No calls in the window: the plot says so instead of drawing a flat line."""


def _nice_max(value: int) -> int:
    for top in TOPS:
        if value <= top:
            return top
    return -(-value // 4) * 4


def build(bars) -> Chart:
    """``bars``: services.calls.dashboard.Bar list, oldest first."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - BOTTOM - TOP
    top = _nice_max(max([b.incoming for b in bars] + [1]))
    slot = plot_w / max(len(bars), 1)
    bar_w = max(1.0, (slot - 2) / 3)
    base_y = TOP + plot_h
    rects, labels, ticks, values = [], [], [], []
    for i, bar in enumerate(bars):
        x0 = LEFT + i * slot + 1
        centre = LEFT + (i + 0.5) * slot
        when = format_pattern(bar.start, "EEE HH:00")
        for j, (key, label, color) in enumerate(SERIES):
            value = getattr(bar, key)
            h = plot_h * value / top
            rects.append(Rect(round(x0 + j * bar_w, 2), round(base_y - h, 2), round(bar_w, 2), round(h, 2), color,
                              bar.links.get(key, ""), gettext("%(when)s: %(series)s %(count)s", when=when,
                                                              series=gettext(label), count=format_number(value))))
        ticks.append(round(LEFT + i * slot, 2))
        if bar.incoming:
            values.append((round(centre, 2), round(base_y - plot_h * bar.incoming / top - 4, 2), bar.incoming))
        if bar.start.hour % 6 == 0:
            x = min(max(LEFT + i * slot, LEFT + LABEL_HALF_WIDTH), WIDTH - RIGHT - LABEL_HALF_WIDTH)
            labels.append((round(x, 2), format_pattern(bar.start, "HH:00" if bar.start.hour else "EEE d")))
    grid = [(round(base_y - plot_h * k / 4, 2), format_number(top * k // 4)) for k in range(5)]
    series = tuple((key, gettext(label), color) for key, label, color in SERIES)
    return Chart(WIDTH, HEIGHT, rects, labels, ticks, values, grid, base_y, LEFT, RIGHT, TOP, series,
                 empty=not any(b.incoming for b in bars))
