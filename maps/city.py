"""The city overview for leaders: the coverage figures as choropleths per district and per
village, with mapclassify class breaks, a legend per figure and the figures in a table
beside the map.

Each district's and each village's shapes are embedded once (``SharedData``) and every
figure's choropleth draws from them; only one choropleth shows at a time. Tens of
thousands of cameras go on one canvas as compact rows, not as GeoJSON features.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from geo.enums import CameraStatus

from . import style
from .assets import SERVED, AssetLinks, Basemap
from .base import (
    DataLayer,
    LabelLayer,
    Page,
    PointsLayer,
    SharedData,
    bounds_of,
    feature_collection,
    finish,
    label_points,
    new_map,
)
from .layers import Links
from .style import Legend, Swatch, format_value


@dataclass(frozen=True)
class Figure:
    """One coverage figure: its column, zh-TW name, number kind and palette."""

    key: str
    label: str
    kind: str
    palette: str
    levels: tuple[str, ...] = ("district", "village")


FIGURES = (
    Figure("street_seen_share", "監視器涵蓋街道比例", "pct", "blues"),
    Figure("communities", "受補助社區數", "int", "greens"),
    Figure("blind_spots", "治安死角數（最新分析）", "int", "reds"),
    Figure("high_risk_adopted_share", "高風險區塊認養率", "pct", "purples"),
    Figure("subsidy", "核定補助金額", "ntd", "oranges", ("district",)),
)


@dataclass
class CityMapData:
    """The city map's inputs: boundaries (EPSG:4326), figures per district and village
    (``geo.mapdata.CoverageFigures.table``), city totals, and camera points or None."""

    districts: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    district_figures: pd.DataFrame
    village_figures: pd.DataFrame
    totals: dict
    streets_loaded: bool
    year: int | None
    notes: list[str] = field(default_factory=list)
    cameras: pd.DataFrame | None = None
    audience: str = "內部使用"
    subtitle: str = ""


def _choropleth_data(shapes: gpd.GeoDataFrame, table: pd.DataFrame, level: str):
    """Shapes joined with their figures and the class of each figure (``c_<key>``)."""
    merged = shapes.merge(
        table.drop(columns=["name", "district_name"], errors="ignore"),
        on=["id", "code"],
        how="left",
    )
    classes: dict[str, style.Classes] = {}
    for f in FIGURES:
        if level not in f.levels or f.key not in merged:
            continue
        values = merged[f.key].astype(float)
        c = style.classify(values, palette=f.palette, kind=f.kind)
        classes[f.key] = c
        merged[f"c_{f.key}"] = c.yb
    return merged, classes


def _popup_fields(level: str) -> list[list]:
    rows = [["district_name", "行政區"]] if level == "village" else []
    for f in FIGURES:
        if level in f.levels:
            rows.append([f.key, f.label, f.kind])
    rows += [
        ["cameras", "既有／已裝設監視器", "int"],
        ["cameras_planned", "規劃中監視器", "int"],
        ["hazards_open", "待處理問題點", "int"],
        ["street_km", "街道長度", "km"],
    ]
    return rows


def figures_panel(data: CityMapData, district_bounds: dict[str, tuple]) -> str:
    """City totals as tiles and the figures of every district as a table."""
    e = html.escape
    t = data.totals
    coverage = format_value(t["street_seen_share"], "pct") if data.streets_loaded else "未載入路網"
    tiles = [
        (coverage, "監視器涵蓋街道比例"),
        (format_value(t["communities"], "int"), "受補助社區"),
        (format_value(t["blind_spots"], "int"), "治安死角（最新分析）"),
        (format_value(t["high_risk_adopted_share"], "pct"), "高風險區塊認養率"),
        (format_value(t["subsidy"], "ntd"), "核定補助總額"),
        (format_value(t["cameras"], "int"), "既有／已裝設監視器"),
    ]
    kpis = "".join(
        f'<div class="sm-kpi"><div class="v">{e(v)}</div><div class="k">{e(k)}</div></div>'
        for v, k in tiles
    )
    head = "".join(
        f"<th>{e(h)}</th>" for h in ("行政區", "涵蓋率", "社區", "死角", "認養率", "補助")
    )
    rows = []
    df = data.district_figures.sort_values("code")
    for r in df.itertuples():
        b = district_bounds.get(r.code)
        attr = f' data-bounds="{b[0]:.5f},{b[1]:.5f},{b[2]:.5f},{b[3]:.5f}"' if b else ""
        cov = format_value(r.street_seen_share, "pct") if r.street_km else "—"
        rows.append(
            f"<tr{attr}><td>{e(r.name)}</td><td>{e(cov)}</td>"
            f"<td>{r.communities}</td><td>{r.blind_spots}</td>"
            f"<td>{e(format_value(r.high_risk_adopted_share, 'pct'))}</td>"
            f"<td>{e(format_value(r.subsidy, 'int'))}</td></tr>"
        )
    foot = (
        f"<tr><td>全市</td><td>{e(coverage)}</td><td>{t['communities']}</td>"
        f"<td>{t['blind_spots']}</td><td>{e(format_value(t['high_risk_adopted_share'], 'pct'))}</td>"
        f"<td>{e(format_value(t['subsidy'], 'int'))}</td></tr>"
    )
    notes = [
        *data.notes,
        "涵蓋率：街道長度中落在既有／已裝設監視器可視範圍內的比例。",
        "認養率：風險分數 0.7 以上之治安區塊中已有認養單位的比例。",
        f"社區與補助：{data.year or '各'} 年度核定（含執行中、已結案）之申請案，補助單位新臺幣元。",
        "點選表格中的行政區可放大至該區。",
    ]
    note_html = "".join(f"<li>{e(n)}</li>" for n in notes)
    year = f"{data.year} 年度" if data.year else ""
    return (
        f"<h2>全市社區治安涵蓋概況 {e(year)}</h2>"
        f'<div class="sm-kpis">{kpis}</div>'
        f"<h3>各行政區數據</h3>"
        f'<table class="sm-table" id="sm-figures"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody><tfoot>{foot}</tfoot></table>"
        f'<ul class="sm-notes">{note_html}</ul>'
    )


CAMERA_CLASSES = (
    CameraStatus.existing,
    CameraStatus.installed,
    CameraStatus.approved,
    CameraStatus.proposed,
)


def build(
    data: CityMapData,
    *,
    basemap: Basemap,
    assets: AssetLinks = SERVED,
    links: Links = Links(),
) -> folium.Map:
    """The city overview map as a folium Map."""
    district_bounds = {}
    for code, geom in zip(data.districts["code"], data.districts.geometry, strict=True):
        if geom is not None and not geom.is_empty:
            district_bounds[code] = geom.bounds
    page = Page(
        title="新北市社區治安營造 涵蓋概況",
        subtitle=data.subtitle,
        audience=data.audience,
        internal=True,
        panel_html=figures_panel(data, district_bounds),
    )
    ctx = new_map(page, bounds_of(data.districts), basemap=basemap, assets=assets)
    m = ctx.map
    # Coverage leads when most districts have a street network; else the head count does.
    with_streets = int((data.district_figures["street_km"] > 0).sum())
    default = (
        "street_seen_share"
        if data.streets_loaded and with_streets * 2 >= len(data.district_figures)
        else "communities"
    )
    for level, shapes, table, title in (
        ("village", data.villages, data.village_figures, "各村里"),
        ("district", data.districts, data.district_figures, "各行政區"),
    ):
        merged, classes = _choropleth_data(shapes, table, level)
        props = ["id", "code", "name", *(["district_name"] if level == "village" else [])]
        props += [f.key for f in FIGURES if f.key in merged]
        props += [f"c_{k}" for k in classes]
        props += ["cameras", "cameras_planned", "hazards_open", "street_km"]
        shared = SharedData(feature_collection(merged, props))
        shared.add_to(m)
        if level == "village":
            outline = DataLayer(
                shared,
                "村里界",
                {
                    "style": {
                        "base": {"color": "#829ab1", "weight": 0.5, "opacity": 0.7, "fill": False}
                    },
                    "interactive": False,
                },
            )
            ctx.add(
                outline,
                Legend("村里界", [Swatch("村里界", style.BOUNDARY["village"]["color"], "dash")]),
            )
        for f in FIGURES:
            if f.key not in classes:
                continue
            c = classes[f.key]
            table_style = {str(i): {"fillColor": col} for i, col in enumerate(c.colours)}
            note = None
            if f.key == "street_seen_share" and not data.streets_loaded:
                note = "尚未載入街道路網，無法計算。"
            elif f.key == "street_seen_share":
                note = "灰色：該區尚未載入街道路網"
            layer = DataLayer(
                shared,
                f"{title}：{f.label}",
                {
                    "style": {
                        "base": {
                            "color": "#ffffff" if level == "district" else "#9fb3c8",
                            "weight": 1.2 if level == "district" else 0.4,
                            "fillColor": style.NO_DATA,
                            "fillOpacity": 0.78,
                        },
                        "by": f"c_{f.key}",
                        "map": table_style,
                    },
                    "tooltip": "name",
                    "popup": {"title": "name", "fields": _popup_fields(level)},
                },
                show=(level == "district" and f.key == default),
            )
            ctx.add(layer, style.choropleth_legend(f"{title}：{f.label}", c, note=note))
            ctx.exclusive.append(layer)
    outline = DataLayer(
        feature_collection(data.districts, ["name", "code"]),
        "行政區界",
        {"style": {"base": style.BOUNDARY["district"]}, "interactive": False},
    )
    ctx.add(
        outline,
        Legend("行政區界", [Swatch("行政區界", style.BOUNDARY["district"]["color"], "line")]),
    )
    ctx.add(LabelLayer(label_points(data.districts, "name"), "行政區名稱", "district"))
    if data.cameras is not None:
        index = {s.value: i for i, s in enumerate(CAMERA_CLASSES)}
        cams = data.cameras[data.cameras["status"].isin(index)]
        rows = np.column_stack(
            [
                cams["lat"].to_numpy(),
                cams["lon"].to_numpy(),
                cams["status"].map(index).to_numpy(),
                cams["id"].to_numpy(),
            ]
        ).tolist()
        rows = [[r[0], r[1], int(r[2]), int(r[3])] for r in rows]
        classes = {
            str(i): {"color": "#ffffff", "fillColor": style.CAMERA_STATUS_COLOURS[s]}
            for i, s in enumerate(CAMERA_CLASSES)
        }
        name = f"監視器位置（{len(rows):,}）"
        layer = PointsLayer(
            rows,
            name,
            {
                "classes": classes,
                "radius": 3,
                "popup": {
                    "heading": "監視器",
                    "fields": [
                        ["status", "狀態", {str(i): s.label for i, s in enumerate(CAMERA_CLASSES)}]
                    ],
                    "link": {"href": links.record("cameras"), "text": "檢視紀錄"},
                },
            },
            show=False,
        )
        ctx.add(
            layer,
            Legend(
                "監視器位置",
                [Swatch(s.label, style.CAMERA_STATUS_COLOURS[s], "point") for s in CAMERA_CLASSES],
                "放大至街區層級可檢視各行政區地圖的可視範圍扇形",
            ),
        )
    return finish(ctx)
