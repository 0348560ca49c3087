"""Colours, symbols, legends and class breaks of the web maps, defined once.

Status labels come from ``geo.enums`` (their ``.label``); the colours of those statuses are
defined here and nowhere else, so every map (and any page that wants them) draws a status
the same way. Hazard categories take label and colour from
``data/reference/hazard_categories.json``.
"""

from __future__ import annotations

import html
import json
import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache

import mapclassify
import numpy as np

from data import reference_text
from geo.enums import CameraOwner, CameraStatus, HazardStatus, TimeOfDay

# --------------------------------------------------------------------------- statuses
HAZARD_STATUS_COLOURS: dict[HazardStatus, str] = {
    HazardStatus.open: "#d7301f",
    HazardStatus.assigned: "#f28e2b",
    HazardStatus.fixed: "#1a9850",
    HazardStatus.dismissed: "#9aa5b1",
}
CAMERA_STATUS_COLOURS: dict[CameraStatus, str] = {
    CameraStatus.existing: "#1f5fa8",
    CameraStatus.installed: "#2b8cbe",
    CameraStatus.approved: "#7b3294",
    CameraStatus.proposed: "#e66101",
    CameraStatus.rejected: "#9aa5b1",
}
# Existing and installed cameras record today; approved and proposed ones are plans.
CAMERA_OPERATING = (CameraStatus.existing, CameraStatus.installed)
CAMERA_PLANNED = (CameraStatus.approved, CameraStatus.proposed)
SUGGESTED_COLOUR = "#00897b"

BOUNDARY = {
    "district": {"color": "#102a43", "weight": 3, "fill": False, "opacity": 0.9},
    "village": {"color": "#627d98", "weight": 1, "dashArray": "3 3", "fill": False, "opacity": 0.9},
    "community": {
        "color": "#0b4f8a",
        "weight": 2.5,
        "fillColor": "#4098d7",
        "fillOpacity": 0.08,
    },
}
BLOCK_ADOPTED = "#2f9e44"
BLOCK_UNADOPTED = "#c92a2a"
ROUTE_COLOUR = "#5f3dc4"
BLIND_SPOT_COLOUR = "#9c1d1d"
COVERED_STREET = "#0ca678"
INCIDENT_GRID = ("#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15")
HEAT_GRADIENT = {0.2: "#ffffb2", 0.4: "#fecc5c", 0.6: "#fd8d3c", 0.8: "#f03b20", 1.0: "#bd0026"}
AUDIT_SCORE = (
    (4.0, "#d73027", "4 分以下"),
    (7.0, "#fdae61", "4–7 分"),
    (10.1, "#1a9850", "7 分以上"),
)

REASON_LABELS = {
    "no_camera": "無監視器涵蓋",
    "not_adopted": "未有認養區塊",
    "not_patrolled": "無巡守路線",
}
OWNER_LABELS = CameraOwner.labels()
TIME_LABELS = TimeOfDay.labels()


@cache
def hazard_categories() -> dict[str, dict]:
    """Category code → {label, color} from the reference vocabulary."""
    data = json.loads(reference_text("hazard_categories.json"))
    return {c["code"]: {"label": c["label"], "color": c["color"]} for c in data["categories"]}


# --------------------------------------------------------------------------- legends
@dataclass(frozen=True)
class Swatch:
    """One legend row: a symbol (``fill``, ``line``, ``dash``, ``point``, ``sector``,
    ``heat``, ``num``) in a colour, and its label."""

    label: str
    colour: str = "#000"
    kind: str = "fill"
    outline: str | None = None
    dashed: bool = False


@dataclass
class Legend:
    """The legend of one layer: a title, rows and an optional note."""

    title: str
    rows: list[Swatch] = field(default_factory=list)
    note: str | None = None

    def html(self) -> str:
        e = html.escape
        out = [f'<div class="sm-legend-section" data-layer="{e(self.title)}">']
        out.append(f'<div class="sm-legend-title">{e(self.title)}</div>')
        for r in self.rows:
            style = _swatch_style(r)
            cls = f"sm-sw {r.kind}" + (" dashed" if r.dashed else "")
            out.append(
                f'<div class="sm-legend-row"><span class="{cls}" style="{style}"></span>'
                f"<span>{e(r.label)}</span></div>"
            )
        if self.note:
            out.append(f'<div class="sm-legend-note">{e(self.note)}</div>')
        out.append("</div>")
        return "".join(out)


def _swatch_style(r: Swatch) -> str:
    c = html.escape(r.colour)
    if r.kind in ("line", "dash"):
        return f"border-top-color:{c}"
    if r.kind == "heat":
        return ""
    outline = html.escape(r.outline) if r.outline else "rgba(0,0,0,.45)"
    return f"background:{c};border-color:{outline}"


# --------------------------------------------------------------------------- class breaks
# ColorBrewer sequential schemes, 5 classes (light to dark).
PALETTES = {
    "blues": ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"),
    "greens": ("#edf8e9", "#bae4b3", "#74c476", "#31a354", "#006d2c"),
    "reds": ("#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"),
    "purples": ("#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f"),
    "oranges": ("#feedde", "#fdbe85", "#fd8d3c", "#e6550d", "#a63603"),
}
NO_DATA = "#d9d9d9"


@dataclass
class Classes:
    """Class breaks of one figure: ``bins`` (upper bounds), the class of every value (-1 for
    missing), colours and legend labels."""

    bins: list[float]
    yb: np.ndarray
    colours: list[str]
    labels: list[str]
    scheme: str


def classify(
    values: Sequence[float], *, palette: str = "blues", k: int = 5, kind: str = "num"
) -> Classes:
    """Class breaks with mapclassify: Fisher-Jenks natural breaks when there are more
    distinct values than classes, else one class per distinct value. Missing values (NaN)
    get class -1 and the no-data colour."""
    y = np.asarray(values, dtype=float)
    ok = np.isfinite(y)
    yb = np.full(len(y), -1, dtype=int)
    colours_all = PALETTES[palette]
    distinct = np.unique(y[ok])
    if len(distinct) == 0:
        return Classes([], yb, [], [], "none")
    if len(distinct) > k:
        with warnings.catch_warnings():
            # mapclassify suggests numba for speed; a few thousand values need none.
            warnings.filterwarnings("ignore", message="Numba not installed")
            c = mapclassify.FisherJenks(y[ok], k=k)
        scheme = "FisherJenks"
    else:
        c = mapclassify.UserDefined(y[ok], bins=list(distinct))
        scheme = "UserDefined"
    bins = [float(b) for b in c.bins]
    yb[ok] = c.yb
    n = len(bins)
    # Spread the classes over the palette so two classes are not two near-white shades.
    idx = np.linspace(0, len(colours_all) - 1, n).round().astype(int) if n > 1 else [3]
    colours = [colours_all[i] for i in idx]
    lows = [float(distinct.min()), *bins[:-1]]
    labels = []
    for i, (lo, hi) in enumerate(zip(lows, bins, strict=True)):
        if scheme == "UserDefined" or lo == hi:
            labels.append(format_value(hi, kind))
        else:
            lo_text = format_value(lo, kind)
            labels.append(f"{lo_text if i == 0 else '> ' + lo_text} – {format_value(hi, kind)}")
    return Classes(bins, yb, colours, labels, scheme)


def format_value(v: float | None, kind: str = "num") -> str:
    """A figure as people read it: 12.5%, 1,234, NT$ 557,000, or — when missing."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    if kind == "pct":
        return f"{v * 100:.1f}%"
    if kind == "ntd":
        return f"NT$ {v:,.0f}"
    if kind == "int":
        return f"{v:,.0f}"
    if kind == "km":
        return f"{v:,.1f} 公里"
    return f"{v:,.2f}".rstrip("0").rstrip(".")


def choropleth_legend(title: str, classes: Classes, *, note: str | None = None) -> Legend:
    rows = [Swatch(lbl, col) for lbl, col in zip(classes.labels, classes.colours, strict=True)]
    if (classes.yb < 0).any():
        rows.append(Swatch("無資料", NO_DATA))
    return Legend(title, rows, note)


def camera_legend(title: str, statuses: Iterable[CameraStatus], *, planned: bool) -> Legend:
    rows = [Swatch(s.label, CAMERA_STATUS_COLOURS[s], "sector", dashed=planned) for s in statuses]
    return Legend(title, rows, "扇形為攝影機可視範圍（方向、視角、距離）")


def hazard_legend(title: str, categories: Iterable[str], *, fixed: bool = False) -> Legend:
    cats = hazard_categories()
    if fixed:
        return Legend(
            title,
            [Swatch(HazardStatus.fixed.label, HAZARD_STATUS_COLOURS[HazardStatus.fixed], "point")],
            "已完成改善的問題點（保留為紀錄）",
        )
    rows = [Swatch(cats[c]["label"], cats[c]["color"], "point") for c in categories if c in cats]
    return Legend(title, rows, "實心：待處理；白框：已分派權責機關")


def hazard_style_table() -> dict[str, dict]:
    """Style per category for :func:`SafeMap.geojson` (points, lines and areas)."""
    return {
        code: {"color": c["color"], "fillColor": c["color"]}
        for code, c in hazard_categories().items()
    }
