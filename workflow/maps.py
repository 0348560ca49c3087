"""Web maps built for a caller: who sees which layer of which map.

Row filters come from ``workflow.access`` and ``workflow.layers`` (``read_scope`` /
``row_scope``); a layer the caller may not read is left out of the map entirely, not drawn
empty. The rules particular to maps:

- Public maps (anonymous callers, or ``public=True``) are built for ``ANONYMOUS``: boundaries,
  the communities on the program's roster, hazards and their fixes; never cameras, incidents,
  blind spots or protection referrals (referrals are on no map at all).
- Incidents reach a map only as counts on a grid of at least 100 m with small counts left
  out (``geo.mapdata.GridSpec``), and only for police and city leaders.
- Blind spots are police information: their readers are ``READERS["blind_spots"]`` when the
  layer rules name them, else the readers of incidents.
- A district map opens for callers whose jurisdiction touches the district (a precinct sees
  its own part of a district it shares); others get "not found", as for records.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, exists, select, true
from sqlalchemy.orm import Session

from geo import mapdata as md
from geo.enums import CameraStatus, HazardStatus, Role
from geo.errors import NotFound, PermissionDenied
from geo.layers import INCIDENTS, LAYERS
from geo.models import Community, Village
from maps import cctv as cctv_map
from maps import city as city_map
from maps import community as community_map
from maps import district as district_map
from maps.assets import SERVED, AssetLinks, Basemap
from maps.base import render
from maps.layers import Links

from .access import (
    ANONYMOUS,
    Actor,
    community_filter,
    get_community,
    require_signed_in,
    village_in_jurisdiction,
)
from .layers import READERS, row_scope, scope_or_none

log = logging.getLogger(__name__)

# Incidents as aggregated counts: the police and the city's leaders (PROGRAM.md).
INCIDENT_GRID_READERS = frozenset({*READERS["incidents"], Role.leader})
BLIND_SPOT_READERS = READERS.get("blind_spots") or READERS["incidents"]
INCIDENT_WINDOW = dt.timedelta(days=365)
PUBLIC_AUDIENCE = "公開版：不含監視器、案件與治安死角位置"
INTERNAL_AUDIENCE = "內部使用：含警察機關資料，請勿外流"


@dataclass(frozen=True)
class MapOptions:
    """How a map is built (not who sees what): basemap, asset links, record links, the
    program year of the figures, the incident grid and period."""

    basemap: Basemap = field(default_factory=Basemap.from_settings)
    assets: AssetLinks = SERVED
    link_base: str = ""
    year: int | None = None
    grid: md.GridSpec = field(default_factory=md.GridSpec)
    incidents_since: dt.datetime | None = None
    incidents_until: dt.datetime | None = None
    incident_period: str | None = None


# --------------------------------------------------------------------------- scopes
def _layer(actor: Actor, name: str) -> ColumnElement[bool] | None:
    return scope_or_none(LAYERS[name], actor)


def _or_all(scope: ColumnElement[bool] | None) -> ColumnElement[bool]:
    """A scope, or every row (for aggregate figures over a layer the caller cannot list)."""
    return true() if scope is None else scope


def _incident_grid_scope(actor: Actor) -> ColumnElement[bool] | None:
    if actor.anonymous or actor.role not in INCIDENT_GRID_READERS:
        return None
    return row_scope(INCIDENTS, actor)


def _blind_spot_scope(actor: Actor) -> ColumnElement[bool] | None:
    if actor.anonymous or actor.role not in BLIND_SPOT_READERS:
        return None
    return row_scope(md.BLIND_SPOTS, actor)


def _community_scope(actor: Actor) -> tuple[ColumnElement[bool], bool]:
    """(row filter, roster only): the public sees the communities on the program's roster."""
    if actor.anonymous:
        return true(), True
    return community_filter(actor), False


def _audience(actor: Actor) -> str:
    if actor.anonymous:
        return PUBLIC_AUDIENCE
    role = actor.role.label if actor.role else ""
    return f"{INTERNAL_AUDIENCE}（{role}）"


def _period(options: MapOptions) -> tuple[dt.datetime, dt.datetime | None, str]:
    until = options.incidents_until
    since = options.incidents_since or ((until or dt.datetime.now(md.TAIPEI)) - INCIDENT_WINDOW)
    label = options.incident_period or ("近 12 個月" if options.incidents_since is None else "")
    return since, until, label


def _year(session: Session, options: MapOptions) -> int | None:
    return options.year if options.year is not None else md.latest_program_year(session)


def _links(actor: Actor, options: MapOptions) -> Links:
    return Links(base=options.link_base, public=actor.anonymous)


# --------------------------------------------------------------------------- districts
def find_district(session: Session, actor: Actor, code_or_name: str) -> md.DistrictRef:
    """The district if the caller may open its map; otherwise NotFound."""
    ref = md.find_district(session, code_or_name)
    if ref is None or not _district_visible(session, actor, ref):
        raise NotFound(
            "找不到此行政區，或不在您的轄區。", detail=f"district {code_or_name!r} out of scope"
        )
    return ref


def _district_visible(session: Session, actor: Actor, ref: md.DistrictRef) -> bool:
    if actor.anonymous or actor.city_wide:
        return True
    if actor.role is Role.district_office:
        return actor.district_id == ref.id
    villages = select(1).where(
        Village.district_id == ref.id, village_in_jurisdiction(actor, Village.id)
    )
    communities = select(1).where(Community.district_id == ref.id, community_filter(actor))
    return bool(session.scalar(select(exists(villages) | exists(communities))))


def visible_districts(session: Session, actor: Actor) -> list[md.DistrictRef]:
    return [d for d in md.district_refs(session) if _district_visible(session, actor, d)]


def district_data(
    session: Session, actor: Actor, ref: md.DistrictRef, options: MapOptions
) -> district_map.DistrictMapData:
    """Everything the caller may see on the map of district ``ref``."""
    area = md.Area(district_id=ref.id)
    detail = md.DISTRICT
    year = _year(session, options)
    community_scope, roster = _community_scope(actor)
    hazard_scope = _layer(actor, "hazards")
    camera_scope = _layer(actor, "cameras")
    block_scope = _layer(actor, "patrol_blocks")
    route_scope = _layer(actor, "patrol_routes")
    blind_scope = _blind_spot_scope(actor)
    grid_scope = _incident_grid_scope(actor)
    since, until, period = _period(options)
    statuses = (HazardStatus.open, HazardStatus.assigned, HazardStatus.fixed)
    data = district_map.DistrictMapData(
        code=ref.code,
        name=ref.name,
        district=md.districts(session, md.Detail(5.0, 5), area),
        villages=md.villages(session, detail, area),
        communities=md.communities(
            session, community_scope, detail, area, year=year, participating_only=roster
        ),
        hazards=None
        if hazard_scope is None
        else md.hazards(session, hazard_scope, detail, area, statuses=statuses),
        public=actor.anonymous,
        audience=_audience(actor),
        subtitle=f"{year} 年度" if year else "",
    )
    if camera_scope is not None:
        data.cameras = md.cameras(session, camera_scope, detail, area)
        data.streets_loaded = md.streets_loaded(session, area)
        if data.streets_loaded:
            data.street_coverage = md.street_coverage(session, camera_scope, detail, area)
    if blind_scope is not None:
        run = md.latest_blind_spot_run(session)
        data.blind_spots = md.blind_spots(
            session, blind_scope, detail, area, run_id=run["id"] if run else None
        )
        if run:
            data.blind_spot_run = f"第 {run['id']} 次（{run['created_at']:%Y-%m-%d}）"
    if block_scope is not None:
        data.blocks = md.patrol_blocks(session, block_scope, detail, area)
    if route_scope is not None:
        data.routes = md.patrol_routes(session, route_scope, detail, area)
    if grid_scope is not None:
        data.incident_grid = md.incident_grid(
            session, grid_scope, area, grid=options.grid, since=since, until=until
        )
        data.incident_cell_m = options.grid.cell_m
        data.incident_min_count = options.grid.min_count
        data.incident_period = period
    data.figures, data.notes = _district_figures(session, actor, ref, data, year)
    return data


def _district_figures(
    session: Session,
    actor: Actor,
    ref: md.DistrictRef,
    data: district_map.DistrictMapData,
    year: int | None,
) -> tuple[dict, list[str]]:
    """The district's key figures, each only from rows the caller may read."""
    if actor.anonymous:
        hz = data.hazards if data.hazards is not None else gpd.GeoDataFrame()
        counts = hz["status"].value_counts() if len(hz) else pd.Series(dtype=int)
        return {
            "communities": len(data.communities) if data.communities is not None else 0,
            "hazards_open": int(
                counts.get(HazardStatus.open, 0) + counts.get(HazardStatus.assigned, 0)
            ),
        }, []
    camera_scope = _layer(actor, "cameras")
    blind_scope = _blind_spot_scope(actor)
    block_scope = _layer(actor, "patrol_blocks")
    figures = md.coverage_figures(
        session,
        level="district",
        area=md.Area(district_id=ref.id),
        year=year,
        camera_scope=camera_scope if camera_scope is not None else true(),
        blind_spot_scope=blind_scope if blind_scope is not None else true(),
        community_scope=community_filter(actor),
        block_scope=block_scope if block_scope is not None else true(),
        hazard_scope=_or_all(_layer(actor, "hazards")),
    )
    totals = figures.totals()
    totals["streets_loaded"] = figures.streets_loaded
    # Figures built from layers the caller may not read are left out, not shown as zero.
    if camera_scope is None:
        for key in ("cameras", "cameras_planned", "street_seen_share"):
            totals.pop(key, None)
    if blind_scope is None:
        totals.pop("blind_spots", None)
    if block_scope is None:
        totals.pop("high_risk_adopted_share", None)
    if not actor.city_wide and actor.role not in (Role.precinct, Role.district_office):
        totals.pop("subsidy", None)
    return totals, figures.notes


def district_map_for(
    session: Session,
    actor: Actor,
    code_or_name: str,
    options: MapOptions | None = None,
    *,
    public: bool = False,
) -> folium.Map:
    """The district map for ``actor`` (``public``: the public version, whoever asks)."""
    options = options or MapOptions()
    if public:
        actor = ANONYMOUS
    else:
        require_signed_in(actor)
    ref = find_district(session, actor, code_or_name)
    data = district_data(session, actor, ref, options)
    return district_map.build(
        data, basemap=options.basemap, assets=options.assets, links=_links(actor, options)
    )


# --------------------------------------------------------------------------- city
def city_data(session: Session, actor: Actor, options: MapOptions) -> city_map.CityMapData:
    """Figures per district and village for the city overview: for city-wide roles only."""
    require_signed_in(actor)
    if not actor.city_wide:
        raise PermissionDenied(
            "全市概況地圖限市府與警察局層級使用。", detail=f"{actor.role} city map"
        )
    year = _year(session, options)
    # Aggregates over the whole city are what city-wide roles are for; positions stay out
    # unless the role may read the layer itself (the camera layer below).
    fd = md.coverage_figures(session, level="district", year=year)
    fv = md.coverage_figures(session, level="village", year=year)
    camera_scope = _layer(actor, "cameras")
    return city_map.CityMapData(
        districts=md.districts(session, md.CITY),
        villages=md.villages(session, md.CITY_VILLAGES),
        district_figures=fd.table,
        village_figures=fv.table,
        totals=fd.totals(),
        streets_loaded=fd.streets_loaded,
        year=year,
        notes=fd.notes,
        cameras=None if camera_scope is None else md.camera_points(session, camera_scope),
        audience=_audience(actor),
        subtitle=f"{year} 年度" if year else "",
    )


def city_map_for(session: Session, actor: Actor, options: MapOptions | None = None) -> folium.Map:
    options = options or MapOptions()
    data = city_data(session, actor, options)
    return city_map.build(
        data, basemap=options.basemap, assets=options.assets, links=_links(actor, options)
    )


# --------------------------------------------------------------------------- communities
def _public_community(session: Session, community_id: int) -> dict:
    ref = md.community_ref(session, community_id)
    if ref is None or not md.participating(session, community_id):
        raise NotFound(
            "找不到此社區的公開地圖。", detail=f"community {community_id} not on the roster"
        )
    return ref


def community_data(
    session: Session, actor: Actor, community_id: int, options: MapOptions
) -> community_map.CommunityMapData:
    if actor.anonymous:
        ref = _public_community(session, community_id)
    else:
        get_community(session, actor, community_id)
        ref = md.community_ref(session, community_id)
        assert ref is not None
    area = md.Area(community_id=community_id)
    detail = md.COMMUNITY
    scope = community_filter(actor) if not actor.anonymous else true()
    hazard_scope = _layer(actor, "hazards")
    data = community_map.CommunityMapData(
        id=community_id,
        name=ref["name"],
        organisation=ref["organisation"],
        district_name=ref["district_name"],
        community=md.communities(session, scope, detail, area),
        villages=md.villages(session, md.DISTRICT, area),
        hazards=md.hazards(session, hazard_scope, detail, area)
        if hazard_scope is not None
        else gpd.GeoDataFrame({"status": []}),
        public=actor.anonymous,
        audience=_audience(actor),
    )
    for attr, name, fn in (
        ("blocks", "patrol_blocks", md.patrol_blocks),
        ("routes", "patrol_routes", md.patrol_routes),
        ("audits", "safety_audits", md.safety_audits),
    ):
        s = _layer(actor, name)
        if s is not None:
            setattr(data, attr, fn(session, s, detail, area))
    s = _layer(actor, "safety_meetings")
    if s is not None:
        data.meetings = md.safety_meetings(session, s, area)
    s = _layer(actor, "cameras")
    if s is not None:
        data.cameras = md.cameras(session, s, detail, area)
    grid_scope = _incident_grid_scope(actor)
    if grid_scope is not None:
        since, until, period = _period(options)
        data.incident_grid = md.incident_grid(
            session, grid_scope, area, grid=options.grid, since=since, until=until
        )
        data.incident_cell_m = options.grid.cell_m
        data.incident_min_count = options.grid.min_count
        data.incident_period = period
    return data


def community_map_for(
    session: Session,
    actor: Actor,
    community_id: int,
    options: MapOptions | None = None,
    *,
    public: bool = False,
) -> folium.Map:
    """The community safety map; ``public``: the public version (roster communities only)."""
    options = options or MapOptions()
    if public:
        actor = ANONYMOUS
    else:
        require_signed_in(actor)
    data = community_data(session, actor, community_id, options)
    return community_map.build(
        data, basemap=options.basemap, assets=options.assets, links=_links(actor, options)
    )


# --------------------------------------------------------------------------- CCTV plan
SUGGESTIONS = 5
SUGGESTED_RANGE_M = 50.0
SUGGESTED_FOV = 90.0
SUGGESTED_BEARINGS = tuple(float(b) for b in range(0, 360, 45))


def cctv_data(
    session: Session, actor: Actor, community_id: int, options: MapOptions
) -> cctv_map.CctvPlanData:
    """Cameras of a community and the sites a greedy maximal-covering run suggests next.

    The demand is the community's open hazards (weight = severity) and, for callers who may
    read incidents, the last 12 months' incidents (weight 1); incident positions feed the
    optimiser only and are never drawn.
    """
    require_signed_in(actor)
    get_community(session, actor, community_id)
    camera_scope = _layer(actor, "cameras")
    if camera_scope is None:
        raise PermissionDenied("您的角色不能查看監視器規劃。", detail=f"{actor.role} cctv map")
    ref = md.community_ref(session, community_id)
    assert ref is not None
    area = md.Area(community_id=community_id)
    incident_scope = _layer(actor, "incidents")
    since, _, _ = _period(options)
    xy, weights, hazard_points = md.planning_points(
        session, _or_all(_layer(actor, "hazards")), incident_scope, community_id, since=since
    )
    basis = "待處理問題點（權重＝嚴重程度）"
    if incident_scope is not None:
        basis += "與近 12 個月案件（每件權重 1）"
    cameras = md.cameras(session, camera_scope, md.COMMUNITY, area)
    suggestions, summary = _suggest(session, camera_scope, community_id, xy, weights)
    summary["basis"] = basis
    return cctv_map.CctvPlanData(
        id=community_id,
        name=ref["name"],
        district_name=ref["district_name"],
        community=md.communities(session, true(), md.COMMUNITY, area),
        villages=md.villages(session, md.DISTRICT, area),
        cameras=cameras,
        suggestions=suggestions,
        demand=hazard_points,
        summary=summary,
    )


def _suggest(session, camera_scope, community_id, xy, weights):
    from geo.analysis.placement import CoveragePlanner

    summary = {"method": "貪婪演算法", "total_weight": float(weights.sum())}
    candidates = md.candidate_sites(session, community_id)
    if len(xy) == 0 or len(candidates) == 0:
        summary.update(existing_weight=0.0, covered_weight=0.0)
        return None, summary
    # Cameras recording or decided (approved) already see what they see.
    seen = md.camera_positions(
        session,
        camera_scope,
        community_id,
        (CameraStatus.existing, CameraStatus.installed, CameraStatus.approved),
    )
    existing = {}
    if len(seen):
        existing = {
            "existing_xy": seen[["x", "y"]].to_numpy(),
            "existing_radius": float(seen["range_m"].median()),
            "existing_bearings": seen["bearing_deg"].to_numpy(),
            "existing_fov": float(seen["fov_deg"].median()),
        }
    planner = CoveragePlanner.from_points(
        xy,
        weights,
        candidates,
        radius=SUGGESTED_RANGE_M,
        k=SUGGESTIONS,
        bearings=list(SUGGESTED_BEARINGS),
        fov=SUGGESTED_FOV,
        **existing,
    )
    planner.solve(method="greedy")
    summary.update(
        existing_weight=float(planner.existing_weight),
        covered_weight=float(planner.covered_weight),
    )
    chosen = planner.to_geodataframe()
    if len(chosen) == 0:
        return None, summary
    total = summary["total_weight"] or 1.0
    chosen["cumulative_share"] = (
        planner.existing_weight + np.cumsum(chosen["marginal_gain"])
    ) / total
    chosen_xy = np.column_stack([chosen.geometry.x, chosen.geometry.y])
    bearings = chosen["bearing"].to_numpy() if "bearing" in chosen else np.zeros(len(chosen))
    chosen["bearing"] = bearings
    sector_shapes = md.sectors(session, chosen_xy, bearings, SUGGESTED_FOV, SUGGESTED_RANGE_M)
    out = chosen.to_crs(4326)
    out["geometry"] = gpd.GeoSeries(out.geometry.values, crs=4326).set_precision(1e-6)
    out["sector"] = gpd.GeoSeries(sector_shapes, crs=4326, index=out.index)
    return out, summary


def cctv_map_for(
    session: Session, actor: Actor, community_id: int, options: MapOptions | None = None
) -> folium.Map:
    options = options or MapOptions()
    data = cctv_data(session, actor, community_id, options)
    return cctv_map.build(
        data, basemap=options.basemap, assets=options.assets, links=_links(actor, options)
    )


def html(m: folium.Map) -> str:
    """The page of a built map."""
    return render(m)


# --------------------------------------------------------------------------- monthly briefing
@dataclass
class Briefing:
    """A district's monthly briefing pack: the map page, its layers and the key figures."""

    code: str
    name: str
    month: str
    html: str
    layers: dict[str, gpd.GeoDataFrame]
    figures: pd.DataFrame


def monthly(
    session: Session, actor: Actor, district: str, month: str, options: MapOptions | None = None
) -> Briefing:
    """The briefing pack of ``district`` for ``month`` (``2026-10``), for ``actor``: the
    incidents of that month (as grid counts), hazards reported up to its end."""
    from dataclasses import replace

    from geo.errors import InvalidInput

    require_signed_in(actor)
    try:
        start, end = md.month_bounds(month)
    except ValueError:
        raise InvalidInput("月份格式應為 YYYY-MM，例如 2026-10。", detail=month) from None
    options = replace(
        options or MapOptions(),
        incidents_since=start,
        incidents_until=end,
        incident_period=f"{start:%Y 年 %m 月}",
    )
    ref = find_district(session, actor, district)
    data = district_data(session, actor, ref, options)
    if data.hazards is not None:
        reported = pd.to_datetime(data.hazards["reported_on"]).dt.date < end.date()
        data.hazards = data.hazards[reported]
    data.subtitle = f"{start:%Y 年 %m 月}月報"
    m = district_map.build(
        data, basemap=options.basemap, assets=options.assets, links=_links(actor, options)
    )
    area = md.Area(district_id=ref.id)
    rows: list[tuple[str, object, str]] = []
    for key, label, kind in district_map.FIGURE_ROWS:
        if key in (data.figures or {}):
            rows.append((label, data.figures[key], kind))
    hazard_scope = _layer(actor, "hazards")
    if hazard_scope is not None:
        h = md.hazard_counts(session, hazard_scope, area, start, end)
        rows += [
            ("本月新提報問題點", h["reported"], "int"),
            ("本月改善問題點", h["fixed"], "int"),
            ("月底待處理問題點", h["open"], "int"),
        ]
    grid_scope = _incident_grid_scope(actor)
    if grid_scope is not None:
        prev_start, _ = md.month_bounds(f"{(start - dt.timedelta(days=1)):%Y-%m}")
        now = md.incident_counts(session, grid_scope, area, start, end)
        before = md.incident_counts(session, grid_scope, area, prev_start, start)
        rows += [
            ("本月案件數", now, "int"),
            ("上月案件數", before, "int"),
            ("較上月增減", now - before, "int"),
        ]
    figures = pd.DataFrame(
        {
            "指標": [label for label, _, _ in rows],
            "數值": pd.Series([_plain(v) for _, v, _ in rows], dtype=object),
            "顯示": [_shown(v, kind) for _, v, kind in rows],
        }
    )
    layers = {
        "村里界": data.villages,
        "行政區界": data.district,
        "社區": data.communities,
        "安全檢測問題點": data.hazards,
        "監視器": data.cameras,
        "監視器涵蓋街道": data.street_coverage,
        "治安死角": data.blind_spots,
        "治安區塊": data.blocks,
        "巡守路線": data.routes,
        "案件網格": data.incident_grid,
    }
    return Briefing(
        code=ref.code,
        name=ref.name,
        month=month,
        html=render(m),
        layers={k: v for k, v in layers.items() if v is not None},
        figures=figures,
    )


def _plain(value):
    """Whole numbers as int, shares rounded, missing as None (for CSV and spreadsheets)."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return None
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return int(value)
    if isinstance(value, float | np.floating):
        return round(float(value), 4)
    return value


def _shown(value, kind: str) -> str:
    from maps.style import format_value

    return format_value(value, kind)


def write_layers(pack: Briefing, path) -> list[str]:
    """The pack's layers as one GeoPackage (EPSG:4326), one table per layer; camera view
    sectors as a layer of their own. Returns the layer names written."""
    import json

    if path.exists():
        path.unlink()
    written = []
    frames = dict(pack.layers)
    cams = frames.get("監視器")
    if cams is not None and "sector" in cams:
        frames["監視器"] = cams.drop(columns="sector")
        frames["監視器可視範圍"] = gpd.GeoDataFrame(
            cams.drop(columns=["geometry", "sector"]), geometry=cams["sector"].values, crs=cams.crs
        )
    for name, gdf in frames.items():
        if gdf is None or len(gdf) == 0:
            continue
        out = gdf.copy()
        for col in out.columns:
            if col == out.geometry.name:
                continue
            if out[col].map(lambda v: isinstance(v, list | dict)).any():
                out[col] = out[col].map(lambda v: json.dumps(v, ensure_ascii=False))
        out.to_file(path, layer=name, driver="GPKG")
        written.append(name)
    return written


def write_figures(pack: Briefing, folder) -> list:
    """The key figures as figures.csv (UTF-8 with BOM, for Excel), figures.xlsx (when
    openpyxl is installed) and figures.html. Returns the paths written."""
    import html as html_lib

    title = f"{pack.name} {pack.month} 社區治安重點數據"
    paths = []
    csv = folder / "figures.csv"
    pack.figures.to_csv(csv, index=False, encoding="utf-8-sig")
    paths.append(csv)
    try:
        import openpyxl  # noqa: F401 - optional: spreadsheets where it is installed
    except ImportError:
        log.warning("openpyxl is not installed: figures.xlsx skipped")
    else:
        xlsx = folder / "figures.xlsx"
        pack.figures.to_excel(xlsx, index=False, sheet_name=pack.month)
        paths.append(xlsx)
    rows = "".join(
        f"<tr><td>{html_lib.escape(str(r['指標']))}</td><td>{html_lib.escape(str(r['顯示']))}</td></tr>"
        for _, r in pack.figures.iterrows()
    )
    page = (
        '<!DOCTYPE html><html lang="zh-Hant-TW"><head><meta charset="utf-8">'
        f"<title>{html_lib.escape(title)}</title>"
        '<link rel="stylesheet" href="static/maps/safemap-maps.css"></head>'
        f'<body style="padding:24px;max-width:720px"><h1>{html_lib.escape(title)}</h1>'
        f'<table class="sm-table"><thead><tr><th>指標</th><th>數值</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></body></html>"
    )
    out = folder / "figures.html"
    out.write_text(page, encoding="utf-8")
    paths.append(out)
    return paths
