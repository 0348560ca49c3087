"""The CCTV plan map of a community: existing and installed cameras, proposed and approved
ones, and the sites the placement optimiser suggests, ranked, each with its marginal gain
(the demand weight it covers that the cameras before it do not).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import folium
import geopandas as gpd
import pandas as pd

from . import layers, style
from .assets import SERVED, AssetLinks, Basemap
from .base import DataLayer, Page, bounds_of, feature_collection, finish, new_map
from .layers import Links
from .style import Legend, Swatch


@dataclass
class CctvPlanData:
    """Inputs of the CCTV plan map (EPSG:4326).

    ``suggestions`` has ``rank``, ``marginal_gain``, ``cumulative_share`` (share of the
    total demand weight covered once this site is added), ``bearing`` and a ``sector``
    GeoSeries; ``demand`` are the weighted points the optimiser covered (``weight``,
    ``label``). ``summary`` holds ``total_weight``, ``existing_weight``, ``covered_weight``,
    ``method`` and ``basis`` (what the demand was made of).
    """

    id: int
    name: str
    district_name: str
    community: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    cameras: gpd.GeoDataFrame
    suggestions: gpd.GeoDataFrame | None = None
    demand: gpd.GeoDataFrame | None = None
    summary: dict = field(default_factory=dict)
    audience: str = "內部使用：監視器位置屬警察機關資料"


def _pct(v: float | None) -> str:
    return "—" if v is None or pd.isna(v) else f"{v * 100:.1f}%"


def plan_panel(data: CctvPlanData) -> str:
    e = html.escape
    s = data.summary
    cams = data.cameras
    counts = cams["status"].value_counts() if len(cams) else pd.Series(dtype=int)
    operating = int(sum(counts.get(x, 0) for x in style.CAMERA_OPERATING))
    planned = int(sum(counts.get(x, 0) for x in style.CAMERA_PLANNED))
    total = s.get("total_weight") or 0
    tiles = [
        (str(operating), "既有／已裝設"),
        (str(planned), "建議設置／已核准"),
        (_pct(s.get("existing_weight", 0) / total if total else None), "目前涵蓋需求比例"),
        (_pct(s.get("covered_weight", 0) / total if total else None), "加上建議點後"),
    ]
    kpis = "".join(
        f'<div class="sm-kpi"><div class="v">{e(v)}</div><div class="k">{e(k)}</div></div>'
        for v, k in tiles
    )
    rows = []
    if data.suggestions is not None:
        for r in data.suggestions.itertuples():
            rows.append(
                f"<tr><td>第 {r.rank} 處</td><td>{r.marginal_gain:,.1f}</td>"
                f"<td>{_pct(r.cumulative_share)}</td><td>{r.bearing:.0f}°</td></tr>"
            )
    head = "".join(f"<th>{h}</th>" for h in ("建議點", "邊際效益", "累計涵蓋", "方向"))
    notes = [
        f"需求：{s.get('basis', '')}",
        "邊際效益：該點新增涵蓋、前面各點與既有監視器尚未涵蓋的需求權重。",
        f"求解：{s.get('method', '')}（最大涵蓋選址）；建議點須經現地勘查與分局審查。",
    ]
    note_html = "".join(f"<li>{e(n)}</li>" for n in notes)
    table = (
        f'<table class="sm-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
        if rows
        else "<p>沒有可建議的新設置點（需求已被涵蓋或沒有需求點）。</p>"
    )
    return (
        f'<h2>{e(data.name)} 監視器規劃</h2><div class="sm-kpis">{kpis}</div>'
        f'<h3>最佳化建議設置點</h3>{table}<ul class="sm-notes">{note_html}</ul>'
    )


def build(
    data: CctvPlanData,
    *,
    basemap: Basemap,
    assets: AssetLinks = SERVED,
    links: Links = Links(),
) -> folium.Map:
    """The CCTV plan map as a folium Map."""
    page = Page(
        title=f"{data.name} 監視器規劃圖",
        subtitle=f"新北市社區治安營造・{data.district_name}",
        audience=data.audience,
        internal=True,
        panel_html=plan_panel(data),
        printable=True,
    )
    ctx = new_map(page, bounds_of(data.community), basemap=basemap, assets=assets)
    layers.add_villages(ctx, data.villages, label_zoom=14)
    base = style.BOUNDARY["community"]
    ctx.add(
        DataLayer(
            feature_collection(data.community, ["name"]),
            "社區範圍",
            {"style": {"base": {**base, "weight": 3, "fillOpacity": 0.03}}, "interactive": False},
        ),
        Legend("社區範圍", [Swatch("社區範圍", base["fillColor"], "fill", base["color"])]),
    )
    if data.demand is not None:
        name = "需求點（問題點）"
        ctx.add(
            DataLayer(
                feature_collection(data.demand, ["weight", "label"]),
                layers.count_name(name, data.demand),
                {
                    "style": {
                        "base": {
                            "radius": 3,
                            "color": "#52606d",
                            "weight": 0.5,
                            "fillColor": "#9aa5b1",
                            "fillOpacity": 0.8,
                        }
                    },
                    "tooltip": "label",
                    "canvas": True,
                },
            ),
            Legend(name, [Swatch("需求點（大小不代表權重）", "#9aa5b1", "point")]),
        )
    layers.add_cameras(ctx, data.cameras, links)
    if data.suggestions is not None:
        add_suggestions(ctx, data.suggestions)
    return finish(ctx)


def add_suggestions(ctx, sug: gpd.GeoDataFrame) -> None:
    name = "最佳化建議設置點"
    colour = style.SUGGESTED_COLOUR
    points = sug.copy()
    points["k"] = "pt"
    sectors = gpd.GeoDataFrame(
        sug.drop(columns="geometry").assign(k="pg"), geometry=sug["sector"].values, crs=sug.crs
    ).drop(columns="sector")
    both = gpd.GeoDataFrame(
        pd.concat([sectors, points.drop(columns="sector")], ignore_index=True),
        geometry="geometry",
        crs=sug.crs,
    )
    both["share"] = both["cumulative_share"]
    ctx.add(
        DataLayer(
            feature_collection(both, ["rank", "marginal_gain", "share", "bearing", "k"]),
            layers.count_name(name, sug),
            {
                "style": {
                    "by": "k",
                    "map": {
                        "pg": {
                            "color": colour,
                            "weight": 2,
                            "dashArray": "2 4",
                            "fillColor": colour,
                            "fillOpacity": 0.18,
                        },
                        "pt": {"color": colour, "fillColor": colour},
                    },
                },
                "label": "rank",
                "popup": {
                    "heading": "最佳化建議設置點",
                    "fields": [
                        ["rank", "建議順序", "int"],
                        ["marginal_gain", "邊際效益（需求權重）", "num1"],
                        ["share", "累計涵蓋比例", "pct"],
                        ["bearing", "建議方向", "deg"],
                    ],
                },
            },
        ),
        Legend(
            name,
            [
                Swatch("建議點（數字為順序）", colour, "num"),
                Swatch("建議可視範圍", colour, "sector", dashed=True),
            ],
        ),
    )
