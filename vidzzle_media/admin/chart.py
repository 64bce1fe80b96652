"""Geometry of the dashboard's 48-hour chart (R-DASH-2), drawn as inline SVG
by templates/dashboard_chart.html: three bars per hour (incoming, accepted,
not accepted), each a link to the calls behind it. No script, no CDN."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT = 960, 260
LEFT, BOTTOM, TOP = 36, 28, 10
SERIES = (("incoming", "Incoming", "#1f6fb2"), ("accepted", "Accepted", "#2e8540"),
          ("not_accepted", "Not accepted", "#c0392b"))


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
    """(x, text) under the axis."""
    grid: list[tuple[float, int]]
    """(y, value) of horizontal grid lines."""
    base_y: float
    left: int
    series: tuple


def _nice_max(value: int) -> int:
    for step in (4, 8, 10, 20, 40, 50, 100, 200, 400, 500, 1000, 2000, 5000, 10000):
        if value <= step:
            return step
    return value


def build(bars) -> Chart:
    """``bars``: services.dashboard.Bar list, oldest first."""
    plot_w, plot_h = WIDTH - LEFT - 4, HEIGHT - BOTTOM - TOP
    top = _nice_max(max([b.incoming for b in bars] + [1]))
    slot = plot_w / max(len(bars), 1)
    bar_w = max(1.0, (slot - 2) / 3)
    base_y = TOP + plot_h
    rects, labels = [], []
    for i, bar in enumerate(bars):
        x0 = LEFT + i * slot + 1
        when = bar.start.strftime("%a %H:00")
        for j, (key, label, color) in enumerate(SERIES):
            value = getattr(bar, key)
            h = plot_h * value / top
            rects.append(Rect(round(x0 + j * bar_w, 2), round(base_y - h, 2), round(bar_w, 2), round(h, 2), color,
                              bar.links.get(key, ""), f"{when}: {value} {label.lower()}"))
        if bar.start.hour % 6 == 0:
            labels.append((round(x0, 2), bar.start.strftime("%H:00" if bar.start.hour else "%a %d")))
    grid = [(round(base_y - plot_h * k / 4, 2), top * k // 4) for k in range(5)]
    return Chart(WIDTH, HEIGHT, rects, labels, grid, base_y, LEFT, SERIES)
