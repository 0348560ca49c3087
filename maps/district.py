"""The district map: one of New Taipei's 29 districts with everything the caller may see.

Layers (each only when the caller may read it; ``None`` leaves it out entirely): village
boundaries and names, the district outline, communities, hazards by category and the fixed
ones, cameras with their view sectors (operating solid, planned dashed), the street length
they see, blind spots, adopted and unadopted patrol blocks, patrol routes and incidents as
a heat layer of grid-cell counts. A layer control, a legend per visible layer, zh-TW popups
with a link to the record, fitted to the district.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import folium
import geopandas as gpd

from . import layers
from .assets import SERVED, AssetLinks, Basemap
from .base import Page, bounds_of, finish, new_map
from .layers import Links
from .style import format_value


@dataclass
class DistrictMapData:
    """The GeoDataFrames of one district map (EPSG:4326); None: not for this caller."""

    code: str
    name: str
    district: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame | None = None
    hazards: gpd.GeoDataFrame | None = None
    cameras: gpd.GeoDataFrame | None = None
    street_coverage: gpd.GeoDataFrame | None = None
    streets_loaded: bool = False
    blind_spots: gpd.GeoDataFrame | None = None
    blind_spot_run: str | None = None
    blocks: gpd.GeoDataFrame | None = None
    routes: gpd.GeoDataFrame | None = None
    incident_grid: gpd.GeoDataFrame | None = None
    incident_cell_m: float = 200.0
    incident_min_count: int = 3
    incident_period: str = ""
    figures: dict | None = None
    public: bool = False
    audience: str = "公開版"
    subtitle: str = ""
    notes: list[str] = field(default_factory=list)


FIGURE_ROWS = (
    ("communities", "受補助社區", "int"),
    ("cameras", "既有／已裝設監視器", "int"),
    ("cameras_planned", "規劃中監視器", "int"),
    ("street_seen_share", "監視器涵蓋街道比例", "pct"),
    ("hazards_open", "待處理問題點", "int"),
    ("blind_spots", "治安死角", "int"),
    ("high_risk_adopted_share", "高風險區塊認養率", "pct"),
    ("subsidy", "本年度核定補助", "ntd"),
)


def figures_panel(title: str, figures: dict, notes: list[str]) -> str:
    """Key figures as tiles (used by the district and the briefing maps)."""
    e = html.escape
    tiles = []
    for key, label, kind in FIGURE_ROWS:
        if key not in figures:
            continue
        value = figures[key]
        text = format_value(value, kind)
        if key == "street_seen_share" and not figures.get("streets_loaded", True):
            text = "未載入路網"
        tiles.append(
            f'<div class="sm-kpi"><div class="v">{e(text)}</div><div class="k">{e(label)}</div></div>'
        )
    note_html = "".join(f"<li>{e(n)}</li>" for n in notes)
    return f'<h2>{e(title)}</h2><div class="sm-kpis">{"".join(tiles)}</div>' + (
        f'<ul class="sm-notes">{note_html}</ul>' if note_html else ""
    )


def build(
    data: DistrictMapData,
    *,
    basemap: Basemap,
    assets: AssetLinks = SERVED,
    links: Links = Links(),
) -> folium.Map:
    """The district map as a folium Map."""
    panel = None
    if data.figures is not None:
        panel = figures_panel(f"{data.name} 重點數據", data.figures, data.notes)
    page = Page(
        title=f"新北市{data.name} 社區治安地圖",
        subtitle=data.subtitle,
        audience=data.audience,
        internal=not data.public,
        panel_html=panel,
    )
    ctx = new_map(page, bounds_of(data.district), basemap=basemap, assets=assets)
    layers.add_villages(ctx, data.villages)
    layers.add_district_outline(ctx, data.district)
    if data.communities is not None:
        layers.add_communities(ctx, data.communities, links)
    if data.blocks is not None:
        layers.add_blocks(ctx, data.blocks, links)
    if data.cameras is not None:
        layers.add_street_coverage(ctx, data.street_coverage, data.streets_loaded)
        layers.add_cameras(ctx, data.cameras, links)
    if data.blind_spots is not None:
        layers.add_blind_spots(ctx, data.blind_spots, data.blind_spot_run)
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
    if data.hazards is not None:
        layers.add_hazards(ctx, data.hazards, links)
    return finish(ctx)
