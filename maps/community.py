"""The community safety map (安全檢測地圖 / 社區治安地圖), printable for the community safety
meeting: the community's boundary and villages, its hazards numbered and listed beside the
map, fixed ones, and (for signed-in callers who may see them) patrol blocks, patrol routes,
walk audits, meeting places and cameras.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import folium
import geopandas as gpd

from geo.enums import HazardStatus

from . import layers, style
from .assets import SERVED, AssetLinks, Basemap
from .base import DataLayer, Page, bounds_of, feature_collection, finish, new_map
from .layers import Links
from .style import Legend, Swatch


@dataclass
class CommunityMapData:
    """The GeoDataFrames of one community map (EPSG:4326); None: not for this caller."""

    id: int
    name: str
    organisation: str
    district_name: str
    community: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    hazards: gpd.GeoDataFrame
    blocks: gpd.GeoDataFrame | None = None
    routes: gpd.GeoDataFrame | None = None
    audits: gpd.GeoDataFrame | None = None
    meetings: gpd.GeoDataFrame | None = None
    cameras: gpd.GeoDataFrame | None = None
    incident_grid: gpd.GeoDataFrame | None = None
    incident_cell_m: float = 200.0
    incident_min_count: int = 3
    incident_period: str = ""
    public: bool = False
    audience: str = "公開版"


def hazard_list(hazards: gpd.GeoDataFrame) -> str:
    """The numbered list of open and assigned hazards that goes beside the printed map (the
    numbers match the map's markers)."""
    e = html.escape
    cats = style.hazard_categories()
    active = hazards[hazards["status"].isin([HazardStatus.open, HazardStatus.assigned])]
    fixed = int((hazards["status"] == HazardStatus.fixed).sum())
    rows = []
    for no, r in enumerate(active.itertuples(), start=1):
        cat = cats.get(r.category, {"label": r.category, "color": "#666"})
        text = r.title or r.description
        rows.append(
            f'<tr><td><span class="sm-sw num" style="background:{e(cat["color"])}">{no}</span></td>'
            f'<td style="text-align:left">{e(cat["label"])}</td>'
            f'<td style="text-align:left;white-space:normal">{e(text)}</td>'
            f"<td>{r.severity}</td><td>{e(HazardStatus(r.status).label)}</td></tr>"
        )
    head = "".join(f"<th>{h}</th>" for h in ("編號", "類別", "問題說明", "嚴重", "狀態"))
    return (
        '<div class="sm-kpis">'
        f'<div class="sm-kpi"><div class="v">{len(active)}</div><div class="k">待處理／已分派問題點</div></div>'
        f'<div class="sm-kpi"><div class="v">{fixed}</div><div class="k">已改善問題點</div></div>'
        "</div>"
        "<h3>問題點清單（編號與地圖相同）</h3>"
        f'<table class="sm-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def build(
    data: CommunityMapData,
    *,
    basemap: Basemap,
    assets: AssetLinks = SERVED,
    links: Links = Links(),
) -> folium.Map:
    """The community safety map as a folium Map (with a print button and A4 print layout)."""
    e = html.escape
    panel = (
        f"<h2>{e(data.name)}</h2>"
        f'<div class="sm-notes" style="padding:0">{e(data.organisation)}・{e(data.district_name)}</div>'
        + hazard_list(data.hazards)
    )
    page = Page(
        title=f"{data.name} 安全檢測地圖",
        subtitle=f"新北市社區治安營造・{data.district_name}",
        audience=data.audience,
        internal=not data.public,
        panel_html=panel,
        printable=True,
    )
    ctx = new_map(page, bounds_of(data.community), basemap=basemap, assets=assets)
    layers.add_villages(ctx, data.villages, label_zoom=14)
    base = style.BOUNDARY["community"]
    ctx.add(
        DataLayer(
            feature_collection(data.community, ["name"]),
            "社區範圍",
            {"style": {"base": {**base, "weight": 3.5, "fillOpacity": 0.04}}, "interactive": False},
        ),
        Legend("社區範圍", [Swatch("社區範圍", base["fillColor"], "fill", base["color"])]),
    )
    if data.blocks is not None:
        layers.add_blocks(ctx, data.blocks, links)
    if data.audits is not None:
        layers.add_audits(ctx, data.audits, links)
    if data.cameras is not None:
        layers.add_cameras(ctx, data.cameras, links)
    if data.incident_grid is not None:
        layers.add_incident_heat(
            ctx,
            data.incident_grid,
            cell_m=data.incident_cell_m,
            min_count=data.incident_min_count,
            period=data.incident_period,
        )
    if data.routes is not None:
        layers.add_routes(ctx, data.routes, links)
    if data.meetings is not None:
        layers.add_meetings(ctx, data.meetings, links)
    layers.add_hazards(ctx, data.hazards, links, numbered=True)
    return finish(ctx)
