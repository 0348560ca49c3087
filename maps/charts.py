"""Small monthly charts as inline SVG, drawn on the server: no chart library, nothing from a
CDN, and a page that shows its figures without running a script.

The drawing is sized in viewBox units for a phone-wide column (360 units) and scales with
its container, so labels stay legible from a 390 px phone to a desktop grid.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT = 360, 200
LEFT, RIGHT, TOP, BOTTOM = 34, 10, 12, 34
FONT = 11

# Which series go into which chart (keys of ``workflow.trends.monthly``), and their colours.
DASHBOARD_CHARTS = (
    ("hazards", "問題點：通報與改善", (("hazards_reported", "#d95f02"), ("hazards_fixed", "#1b9e77"))),
    ("cameras", "監視器裝設（支）", (("cameras_installed", "#0b5394"),)),
    ("incidents", "案件數（彙總）", (("incidents", "#7570b3"),)),
    ("blind_spots", "治安死角數（當月最新分析）", (("blind_spots", "#b3261e"),)),
    ("applications", "申請案送件數", (("applications", "#0b5394"),)),
)  # fmt: skip


def nice_ceiling(value: float) -> int:
    """The smallest 1, 2 or 5 × 10^k at or above ``value`` (at least 1): the y-axis top."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return int(step * power)
    return int(10 * power)  # pragma: no cover - the loop always returns


def month_label(month: dt.date) -> str:
    return f"{month.month}月"


def line_chart(
    months: Sequence[dt.date],
    lines: Sequence[tuple[str, Sequence[int | None], str]],
    *,
    title: str,
) -> Markup:
    """An SVG line chart of monthly values: ``lines`` are (label, values, colour); a None value
    (no data that month) breaks its line instead of drawing a zero."""
    n = len(months)
    # Counts: at least 0–4 on the axis so small numbers get whole-number gridlines.
    highest = max((v for _, vals, _ in lines for v in vals if v is not None), default=0)
    top = max(4, nice_ceiling(highest))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return LEFT + (plot_w / 2 if n == 1 else plot_w * i / (n - 1))

    def y(v: float) -> float:
        return TOP + plot_h * (1 - v / top)

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg" '
        f'font-size="{FONT}" font-family="sans-serif">',
        f"<title>{escape(title)}</title>",
    ]
    for k in range(5):  # gridlines at 0, ¼, ½, ¾ and the top
        v = top * k / 4
        yy = y(v)
        label = f"{v:g}" if v == int(v) else ""
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{yy:.1f}" y2="{yy:.1f}" '
            f'stroke="#d5dbe2" stroke-width="1"/>'
        )
        if label:
            parts.append(
                f'<text x="{LEFT - 4}" y="{yy + 4:.1f}" text-anchor="end" fill="#5b6775">{label}</text>'
            )
    every = 1 if n <= 6 else 2
    for i, month in enumerate(months):
        if (n - 1 - i) % every:
            continue  # label the latest month and every other one back from it
        parts.append(
            f'<text x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 15}" text-anchor="middle" '
            f'fill="#5b6775">{month_label(month)}</text>'
        )
        if i == 0 or month.month == 1 or (i == n - 1 and n == 1):
            parts.append(
                f'<text x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 28}" text-anchor="middle" '
                f'fill="#5b6775">{month.year - 1911}年</text>'
            )
    for label, values, colour in lines:
        run: list[str] = []
        segments: list[list[str]] = []
        for i, v in enumerate(values):
            if v is None:
                if run:
                    segments.append(run)
                run = []
                continue
            run.append(f"{x(i):.1f},{y(v):.1f}")
        if run:
            segments.append(run)
        for seg in segments:
            if len(seg) > 1:
                parts.append(
                    f'<polyline points="{" ".join(seg)}" fill="none" stroke="{colour}" '
                    'stroke-width="2" stroke-linejoin="round"/>'
                )
        for i, v in enumerate(values):
            if v is None:
                continue
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}">'
                f"<title>{escape(label)} {months[i].year - 1911}年{months[i].month}月：{v}</title>"
                "</circle>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def dashboard_charts(trends: Mapping) -> list[dict]:
    """The dashboard's charts from ``workflow.trends.monthly``'s answer: per chart its title,
    SVG, legend and the table of values (the same figures for screen readers and printing)."""
    months = trends["months"]
    series = trends["series"]
    out = []
    for key, title, members in DASHBOARD_CHARTS:
        lines = [(series[k].label, series[k].values, colour) for k, colour in members]
        out.append(
            {
                "key": key,
                "title": title,
                "svg": line_chart(months, lines, title=title),
                "legend": [{"label": label, "colour": colour} for label, _, colour in lines],
                "rows": [
                    {
                        "month": f"{m.year - 1911}年{m.month}月",
                        "values": [vals[i] for _, vals, _ in lines],
                    }
                    for i, m in enumerate(months)
                ],
            }
        )
    return out
