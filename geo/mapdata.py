"""The SQL side of the web maps: GeoDataFrames and figures for one map.

Every function takes the row filters the caller decided (``workflow.maps`` turns an actor into
them through ``workflow.access`` and ``workflow.layers``), so nothing here decides who sees
what. Geometries are simplified in EPSG:3826 metres for the zoom the map is shown at
(``ST_SimplifyPreserveTopology``), transformed to EPSG:4326 in PostGIS and rounded on output
to the decimals that matter at that zoom. The coverage figures are computed in SQL, one
statement per figure for all districts or all villages at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    Text,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.orm import Session

from .buildings import view_column
from .enums import ApplicationStatus, CameraStatus, HazardStatus
from .layers import LayerSpec
from .models import (
    STORAGE_SRID,
    WEB_SRID,
    Adopter,
    AnalysisRun,
    Application,
    BlindSpot,
    Camera,
    Community,
    District,
    Hazard,
    Incident,
    Organisation,
    PatrolBlock,
    PatrolRoute,
    Precinct,
    SafetyAudit,
    SafetyMeeting,
    StreetSegment,
    Village,
    block_adoptions,
    community_villages,
)
from .models_buildings import CameraView

# --------------------------------------------------------------------------- detail per zoom


@dataclass(frozen=True)
class Detail:
    """How fine the geometry of a map is: the simplification tolerance in EPSG:3826 metres
    and the decimals of the lon/lat it is served in.

    At zoom z a screen pixel is about ``156543 * cos(25°) / 2**z`` metres in New Taipei
    (≈ 70 m at zoom 11, ≈ 9 m at 14, ≈ 1 m at 17), so a tolerance of about a pixel at the
    deepest zoom the map is meant for cannot be seen; 5 decimals of a degree are ≈ 1.1 m
    and 6 are ≈ 0.11 m.
    """

    simplify_m: float
    decimals: int


# The city overview opens at zoom 10-11 and is read down to about 13 (villages).
CITY = Detail(simplify_m=25.0, decimals=5)
CITY_VILLAGES = Detail(simplify_m=8.0, decimals=5)
# District maps open at zoom 12-14 and are read down to street level (≈ 17).
DISTRICT = Detail(simplify_m=2.0, decimals=5)
# Community maps are printed for the safety meeting at street level (zoom 16-18).
COMMUNITY = Detail(simplify_m=0.5, decimals=6)
POINTS = Detail(simplify_m=0.0, decimals=5)

# A patrol block is high-risk from this risk score (0-1) up: the adopted share of such
# blocks is one of the city's coverage figures.
HIGH_RISK = 0.7
# Camera statuses whose cameras record today, so their sectors count as seeing the street.
OPERATING = (CameraStatus.existing, CameraStatus.installed)
# Application statuses of a community taking part in (subsidised by) the program that year.
PARTICIPATING = (ApplicationStatus.approved, ApplicationStatus.in_progress, ApplicationStatus.completed)  # fmt: skip

# Blind spots have no layer of the editing API; this spec lets ``workflow.layers.row_scope``
# narrow them like cameras (by precinct, by a station's beat).
BLIND_SPOTS = LayerSpec(
    name="blind_spots",
    model=BlindSpot,
    title="治安死角",
    geometry_types=("Point", "Polygon", "MultiPolygon", "LineString"),
    properties=("run_id", "rank", "risk", "reasons", "source_kind", "community_id", "district_id"),
    community_scoped=False,
)


@dataclass(frozen=True)
class Area:
    """Where a map looks: a district, a community, or (both None) the whole city."""

    district_id: int | None = None
    community_id: int | None = None

    def geom(self):
        """The area's EPSG:3826 geometry as a scalar subquery (None for the city)."""
        if self.community_id is not None:
            return select(Community.geom).where(Community.id == self.community_id).scalar_subquery()
        if self.district_id is not None:
            return select(District.geom).where(District.id == self.district_id).scalar_subquery()
        return None

    def spatial(self, geom_col) -> ColumnElement[bool]:
        """``geom_col`` lies in the area (index-assisted)."""
        area = self.geom()
        if area is None:
            return true()
        return and_(geom_col.op("&&")(area), func.ST_Intersects(geom_col, area))

    def by_community(self, community_col) -> ColumnElement[bool]:
        """Rows of a community-scoped layer whose community lies in the area."""
        if self.community_id is not None:
            return community_col == self.community_id
        if self.district_id is not None:
            return community_col.in_(
                select(Community.id).where(Community.district_id == self.district_id)
            )
        return true()


CITY_AREA = Area()


# --------------------------------------------------------------------------- frames
def _web(geom_col, detail: Detail):
    g = geom_col
    if detail.simplify_m:
        g = func.ST_SimplifyPreserveTopology(g, detail.simplify_m)
    return func.ST_AsBinary(func.ST_Transform(g, WEB_SRID))


def _round(geoms: np.ndarray, decimals: int) -> np.ndarray:
    """Coordinates rounded to ``decimals``; polygons stay valid (GEOS precision model)."""
    if len(geoms) == 0:
        return geoms
    grid = 10.0**-decimals
    kinds = shapely.get_type_id(geoms)
    points = kinds == 0
    out = geoms.copy()
    if points.any():
        out[points] = shapely.set_precision(geoms[points], grid, mode="pointwise")
    if (~points).any():
        out[~points] = shapely.set_precision(geoms[~points], grid)
    return out


def frame(session: Session, stmt: Select, detail: Detail, *, geoms: Sequence[str] = ("geom",)):
    """Run ``stmt`` (its geometry columns are WKB in EPSG:4326, see :func:`_web`) into a
    GeoDataFrame with the geometry rounded to ``detail.decimals``.

    The first of ``geoms`` becomes the active geometry; the others stay GeoSeries columns.
    Rows whose geometry PostGIS returned empty (a polygon simplified away) are kept with an
    empty geometry: a map skips them, a count still includes them.
    """
    result = session.execute(stmt)
    columns = list(result.keys())
    rows = result.all()
    df = pd.DataFrame(rows, columns=columns)
    series = {}
    for name in geoms:
        wkb = np.array([None if v is None else bytes(v) for v in df.pop(name)], dtype=object)
        shapes = shapely.from_wkb(wkb) if len(wkb) else np.array([], dtype=object)
        series[name] = gpd.GeoSeries(_round(shapes, detail.decimals), crs=WEB_SRID, index=df.index)
    first, *rest = geoms
    gdf = gpd.GeoDataFrame(df, geometry=series[first].rename("geometry"), crs=WEB_SRID)
    for name in rest:
        gdf[name] = series[name]
    return gdf


# --------------------------------------------------------------------------- boundaries
@dataclass(frozen=True)
class DistrictRef:
    id: int
    code: str
    name: str
    bounds: tuple[float, float, float, float]  # lon/lat: west, south, east, north


def find_district(session: Session, code_or_name: str) -> DistrictRef | None:
    """A current district by its TOWNCODE (65000010), TOWNID (F05) or name (板橋區 / 板橋)."""
    key = code_or_name.strip()
    names = {key, key if key.endswith("區") else f"{key}區"}
    row = session.execute(
        select(
            District.id,
            District.code,
            District.name,
            func.ST_XMin(func.ST_Transform(District.geom, WEB_SRID)),
            func.ST_YMin(func.ST_Transform(District.geom, WEB_SRID)),
            func.ST_XMax(func.ST_Transform(District.geom, WEB_SRID)),
            func.ST_YMax(func.ST_Transform(District.geom, WEB_SRID)),
        ).where(
            District.retired_at.is_(None),
            or_(District.code == key, District.town_id == key, District.name.in_(names)),
        )
    ).first()
    if row is None:
        return None
    return DistrictRef(row[0], row[1], row[2], (row[3], row[4], row[5], row[6]))


def district_refs(session: Session, where: ColumnElement[bool] | None = None) -> list[DistrictRef]:
    """Current districts (filtered by ``where``), in code order."""
    g = func.ST_Transform(District.geom, WEB_SRID)
    rows = session.execute(
        select(
            District.id,
            District.code,
            District.name,
            func.ST_XMin(g),
            func.ST_YMin(g),
            func.ST_XMax(g),
            func.ST_YMax(g),
        )
        .where(District.retired_at.is_(None), where if where is not None else true())
        .order_by(District.code)
    ).all()
    return [DistrictRef(r[0], r[1], r[2], (r[3], r[4], r[5], r[6])) for r in rows]


def districts(session: Session, detail: Detail, area: Area = CITY_AREA) -> gpd.GeoDataFrame:
    """Current districts: ``id``, ``code``, ``name``, ``name_en``."""
    stmt = (
        select(
            District.id,
            District.code,
            District.name,
            District.name_en,
            _web(District.geom, detail).label("geom"),
        )
        .where(District.retired_at.is_(None))
        .order_by(District.code)
    )
    if area.district_id is not None:
        stmt = stmt.where(District.id == area.district_id)
    elif area.community_id is not None:
        stmt = stmt.where(
            District.id.in_(select(Community.district_id).where(Community.id == area.community_id))
        )
    return frame(session, stmt, detail)


def villages(session: Session, detail: Detail, area: Area = CITY_AREA) -> gpd.GeoDataFrame:
    """Current villages of the area: ``id``, ``code``, ``name``, ``district_code``,
    ``district_name``."""
    stmt = (
        select(
            Village.id,
            Village.code,
            Village.name,
            District.code.label("district_code"),
            District.name.label("district_name"),
            _web(Village.geom, detail).label("geom"),
        )
        .join(District, District.id == Village.district_id)
        .where(Village.retired_at.is_(None))
        .order_by(Village.code)
    )
    if area.district_id is not None:
        stmt = stmt.where(Village.district_id == area.district_id)
    elif area.community_id is not None:
        stmt = stmt.where(
            Village.id.in_(
                select(community_villages.c.village_id).where(
                    community_villages.c.community_id == area.community_id
                )
            )
        )
    return frame(session, stmt, detail)


# --------------------------------------------------------------------------- communities
def _participating(year: int | None):
    """Whether the community (of the enclosing row) takes part in the program in ``year``."""
    where = [
        Application.community_id == Community.id,
        Application.status.in_(PARTICIPATING),
    ]
    if year is not None:
        where.append(Application.year == year)
    return exists(select(1).where(*where))


def communities(
    session: Session,
    scope: ColumnElement[bool],
    detail: Detail,
    area: Area = CITY_AREA,
    *,
    year: int | None = None,
    participating_only: bool = False,
) -> gpd.GeoDataFrame:
    """Communities in ``scope`` and the area: ``id``, ``name``, ``organisation``,
    ``district_name``, ``precinct``, ``villages`` (names, 、-joined), ``participating``."""
    village_names = (
        select(func.string_agg(Village.name, literal("、")))
        .join(community_villages, community_villages.c.village_id == Village.id)
        .where(community_villages.c.community_id == Community.id)
        .scalar_subquery()
    )
    taking_part = _participating(year)
    stmt = (
        select(
            Community.id,
            Community.name,
            Organisation.name.label("organisation"),
            District.name.label("district_name"),
            Precinct.name.label("precinct"),
            func.coalesce(village_names, "").label("villages"),
            taking_part.label("participating"),
            _web(Community.geom, detail).label("geom"),
        )
        .join(Organisation, Organisation.id == Community.organisation_id)
        .join(District, District.id == Community.district_id)
        .join(Precinct, Precinct.id == Community.precinct_id)
        .where(scope, area.by_community(Community.id))
        .order_by(Community.id)
    )
    if participating_only:
        stmt = stmt.where(taking_part)
    return frame(session, stmt, detail)


def community_ref(session: Session, community_id: int) -> dict | None:
    """Name, district and lon/lat bounds of one community (no access decided here)."""
    g = func.ST_Transform(Community.geom, WEB_SRID)
    row = session.execute(
        select(
            Community.id,
            Community.name,
            Community.district_id,
            District.name,
            Organisation.name,
            func.ST_XMin(g),
            func.ST_YMin(g),
            func.ST_XMax(g),
            func.ST_YMax(g),
        )
        .join(District, District.id == Community.district_id)
        .join(Organisation, Organisation.id == Community.organisation_id)
        .where(Community.id == community_id)
    ).first()
    if row is None:
        return None
    return {
        "id": row[0],
        "name": row[1],
        "district_id": row[2],
        "district_name": row[3],
        "organisation": row[4],
        "bounds": (row[5], row[6], row[7], row[8]),
    }


def participating(session: Session, community_id: int, year: int | None = None) -> bool:
    """Whether a community takes part in the program (in ``year``, or in any year)."""
    return bool(session.scalar(select(_participating(year)).where(Community.id == community_id)))


# --------------------------------------------------------------------------- layers
def _date_text(col):
    return func.to_char(col, "YYYY-MM-DD")


def hazards(
    session: Session,
    scope: ColumnElement[bool],
    detail: Detail,
    area: Area = CITY_AREA,
    *,
    statuses: Sequence[HazardStatus] = (
        HazardStatus.open,
        HazardStatus.assigned,
        HazardStatus.fixed,
    ),
    reported_before: dt.datetime | None = None,
) -> gpd.GeoDataFrame:
    """Safety-inspection map items: ``id``, ``community``, ``category``, ``title``,
    ``severity``, ``status``, ``time_of_day``, ``description``, ``agency``, ``reported_on``,
    ``fixed_on``."""
    stmt = (
        select(
            Hazard.id,
            Community.name.label("community"),
            Hazard.category,
            func.coalesce(Hazard.title, "").label("title"),
            Hazard.severity,
            cast(Hazard.status, Text).label("status"),
            cast(Hazard.time_of_day, Text).label("time_of_day"),
            Hazard.description,
            func.coalesce(Hazard.agency, "").label("agency"),
            _date_text(Hazard.reported_at).label("reported_on"),
            func.coalesce(_date_text(Hazard.fixed_at), "").label("fixed_on"),
            _web(Hazard.geom, detail).label("geom"),
        )
        .join(Community, Community.id == Hazard.community_id)
        .where(scope, area.by_community(Hazard.community_id), Hazard.status.in_(statuses))
        .order_by(Hazard.reported_at, Hazard.id)
    )
    if reported_before is not None:
        stmt = stmt.where(Hazard.reported_at < reported_before)
    return frame(session, stmt, detail)


def cameras(
    session: Session,
    scope: ColumnElement[bool],
    detail: Detail,
    area: Area = CITY_AREA,
    *,
    statuses: Sequence[CameraStatus] = tuple(
        s for s in CameraStatus if s is not CameraStatus.rejected
    ),
    sectors: bool = True,
) -> gpd.GeoDataFrame:
    """Cameras: ``id``, ``status``, ``owner``, ``name``, ``bearing_deg``, ``fov_deg``,
    ``range_m``, ``height_m``, ``installed_on``, ``community``; with ``sectors`` also a
    ``sector`` GeoSeries: the view polygon the database keeps, i.e. the sector less what
    buildings hide when footprints are loaded (``geo.buildings``), else the sector."""
    cols = [
        Camera.id,
        cast(Camera.status, Text).label("status"),
        cast(Camera.owner, Text).label("owner"),
        func.coalesce(Camera.name, "").label("name"),
        Camera.bearing_deg,
        Camera.fov_deg,
        Camera.range_m,
        Camera.height_m,
        func.coalesce(_date_text(Camera.installed_at), "").label("installed_on"),
        func.coalesce(Community.name, "").label("community"),
        _web(Camera.geom, POINTS).label("geom"),
    ]
    if sectors:
        cols.append(_web(view_column(), Detail(0.5, detail.decimals)).label("sector"))
    stmt = (
        select(*cols)
        .outerjoin(Community, Community.id == Camera.community_id)
        .where(scope, Camera.status.in_(statuses))
        .order_by(Camera.id)
    )
    if area.community_id is not None:
        stmt = stmt.where(or_(Camera.community_id == area.community_id, area.spatial(Camera.geom)))
    else:
        stmt = stmt.where(area.spatial(Camera.geom))
    return frame(session, stmt, POINTS, geoms=("geom", "sector") if sectors else ("geom",))


def camera_points(
    session: Session, scope: ColumnElement[bool], area: Area = CITY_AREA
) -> pd.DataFrame:
    """Camera positions only (``id``, ``status``, ``lon``, ``lat`` rounded to 5 decimals):
    the light form for city-wide point layers of tens of thousands of cameras."""
    g = func.ST_Transform(Camera.geom, WEB_SRID)
    stmt = (
        select(
            Camera.id,
            cast(Camera.status, Text).label("status"),
            func.round(cast(func.ST_X(g), _numeric()), 5).label("lon"),
            func.round(cast(func.ST_Y(g), _numeric()), 5).label("lat"),
        )
        .where(scope, area.spatial(Camera.geom), Camera.status != CameraStatus.rejected)
        .order_by(Camera.id)
    )
    result = session.execute(stmt)
    df = pd.DataFrame(result.all(), columns=list(result.keys()))
    for c in ("lon", "lat"):
        df[c] = df[c].astype(float)
    return df


def _numeric():
    from sqlalchemy import Numeric

    return Numeric()


def _camera_view():
    # A camera's view in a query that outer-joins camera_views to cameras: the kept view when
    # a building touches the sector, else the sector (migration 0012).
    return func.coalesce(CameraView.geom, Camera.sector)


def streets_loaded(session: Session, area: Area = CITY_AREA) -> bool:
    """Whether any street centreline lies in the area (coverage of streets needs them)."""
    found = select(1).select_from(StreetSegment).where(area.spatial(StreetSegment.geom))
    return bool(session.scalar(select(exists(found))))


def street_coverage(
    session: Session, camera_scope: ColumnElement[bool], detail: Detail, area: Area = CITY_AREA
) -> gpd.GeoDataFrame:
    """Street pieces seen by operating cameras in scope: ``street_id``, ``name``,
    ``seen_m`` (metres of the segment inside any camera's view: its sector less what buildings
    hide, as ``geo.coverage`` counts it). Empty without street data."""
    view = _camera_view()
    sectors = (
        select(
            StreetSegment.id.label("sid"),
            func.ST_Union(view).label("seen"),
        )
        .join(Camera, func.ST_Intersects(Camera.sector, StreetSegment.geom))
        .outerjoin(CameraView, CameraView.camera_id == Camera.id)
        .where(
            camera_scope,
            Camera.status.in_(OPERATING),
            area.spatial(StreetSegment.geom),
            func.ST_Intersects(view, StreetSegment.geom),
        )
        .group_by(StreetSegment.id)
        .cte("seen")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    piece = func.ST_Intersection(StreetSegment.geom, sectors.c.seen)
    stmt = (
        select(
            StreetSegment.id.label("street_id"),
            func.coalesce(StreetSegment.name, "").label("name"),
            func.round(cast(func.ST_Length(piece), _numeric()), 1).label("seen_m"),
            _web(piece, detail).label("geom"),
        )
        .join(sectors, sectors.c.sid == StreetSegment.id)
        .order_by(StreetSegment.id)
    )
    gdf = frame(session, stmt, detail)
    gdf["seen_m"] = gdf["seen_m"].astype(float)
    return gdf


def latest_blind_spot_run(session: Session) -> dict | None:
    """The newest analysis run that recorded blind spots: ``id``, ``kind``, ``created_at``."""
    row = session.execute(
        select(AnalysisRun.id, AnalysisRun.kind, AnalysisRun.created_at)
        .where(exists(select(1).where(BlindSpot.run_id == AnalysisRun.id)))
        .order_by(AnalysisRun.created_at.desc(), AnalysisRun.id.desc())
        .limit(1)
    ).first()
    return None if row is None else {"id": row[0], "kind": row[1], "created_at": row[2]}


def blind_spots(
    session: Session,
    scope: ColumnElement[bool],
    detail: Detail,
    area: Area = CITY_AREA,
    *,
    run_id: int | None = None,
) -> gpd.GeoDataFrame:
    """Blind spots of one run (the latest by default): ``id``, ``rank``, ``risk``,
    ``reasons`` (list of codes), ``source_kind``."""
    if run_id is None:
        run = latest_blind_spot_run(session)
        run_id = run["id"] if run else None
    stmt = (
        select(
            BlindSpot.id,
            BlindSpot.rank,
            BlindSpot.risk,
            BlindSpot.reasons,
            BlindSpot.source_kind,
            _web(BlindSpot.geom, detail).label("geom"),
        )
        .where(
            scope,
            BlindSpot.run_id == run_id if run_id is not None else false(),
            area.spatial(BlindSpot.geom),
        )
        .order_by(BlindSpot.rank)
    )
    return frame(session, stmt, detail)


def patrol_blocks(
    session: Session, scope: ColumnElement[bool], detail: Detail, area: Area = CITY_AREA
) -> gpd.GeoDataFrame:
    """Patrol blocks: ``id``, ``name``, ``risk``, ``community``, ``adopted`` (bool),
    ``adopters`` (names, 、-joined, empty when not adopted)."""
    adopters = (
        select(func.string_agg(Adopter.name, literal("、")))
        .join(block_adoptions, block_adoptions.c.adopter_id == Adopter.id)
        .where(block_adoptions.c.block_id == PatrolBlock.id)
        .scalar_subquery()
    )
    stmt = (
        select(
            PatrolBlock.id,
            PatrolBlock.name,
            PatrolBlock.risk,
            Community.name.label("community"),
            func.coalesce(adopters, "").label("adopters"),
            _web(PatrolBlock.geom, detail).label("geom"),
        )
        .join(Community, Community.id == PatrolBlock.community_id)
        .where(scope, area.by_community(PatrolBlock.community_id))
        .order_by(PatrolBlock.id)
    )
    gdf = frame(session, stmt, detail)
    gdf["adopted"] = gdf["adopters"].astype(bool)
    return gdf


def patrol_routes(
    session: Session, scope: ColumnElement[bool], detail: Detail, area: Area = CITY_AREA
) -> gpd.GeoDataFrame:
    """Watch-team patrol routes: ``id``, ``team_name``, ``name``, ``community``,
    ``schedule`` (dict)."""
    stmt = (
        select(
            PatrolRoute.id,
            PatrolRoute.team_name,
            func.coalesce(PatrolRoute.name, "").label("name"),
            Community.name.label("community"),
            PatrolRoute.schedule,
            _web(PatrolRoute.geom, detail).label("geom"),
        )
        .join(Community, Community.id == PatrolRoute.community_id)
        .where(scope, area.by_community(PatrolRoute.community_id))
        .order_by(PatrolRoute.id)
    )
    return frame(session, stmt, detail)


def safety_audits(
    session: Session, scope: ColumnElement[bool], detail: Detail, area: Area = CITY_AREA
) -> gpd.GeoDataFrame:
    """Walk audits: ``id``, ``place_name``, ``period``, ``audited_on``, ``score`` (1-10)."""
    stmt = (
        select(
            SafetyAudit.id,
            SafetyAudit.place_name,
            cast(SafetyAudit.period, Text).label("period"),
            _date_text(SafetyAudit.audited_on).label("audited_on"),
            cast(SafetyAudit.score, Float).label("score"),
            _web(SafetyAudit.geom, detail).label("geom"),
        )
        .where(scope, area.by_community(SafetyAudit.community_id))
        .order_by(SafetyAudit.audited_on, SafetyAudit.id)
    )
    return frame(session, stmt, detail)


def safety_meetings(
    session: Session, scope: ColumnElement[bool], area: Area = CITY_AREA
) -> gpd.GeoDataFrame:
    """Safety meetings with a place: ``id``, ``held_on``, ``place``, ``attendees``."""
    stmt = (
        select(
            SafetyMeeting.id,
            _date_text(SafetyMeeting.held_on).label("held_on"),
            SafetyMeeting.place,
            SafetyMeeting.attendees,
            _web(SafetyMeeting.geom, POINTS).label("geom"),
        )
        .where(
            scope,
            area.by_community(SafetyMeeting.community_id),
            SafetyMeeting.geom.is_not(None),
        )
        .order_by(SafetyMeeting.held_on)
    )
    return frame(session, stmt, POINTS)


@dataclass(frozen=True)
class GridSpec:
    """How incidents are generalised before they reach a map: counts on a square grid of
    ``cell_m`` metres (EPSG:3826, aligned to the origin so every map uses the same cells),
    cells with fewer than ``min_count`` incidents left out."""

    cell_m: float = 200.0
    min_count: int = 3

    def __post_init__(self):
        if self.cell_m < 100:
            raise ValueError("incident cells smaller than 100 m could point at an address")
        if self.min_count < 2:
            raise ValueError("a cell of one incident is that incident")


def incident_grid(
    session: Session,
    scope: ColumnElement[bool],
    area: Area = CITY_AREA,
    *,
    grid: GridSpec = GridSpec(),
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> gpd.GeoDataFrame:
    """Incidents counted per grid cell: ``i``, ``j``, ``count``, ``lon``, ``lat`` (cell
    centre) and the cell square as geometry. Raw incident positions never leave SQL."""
    cell = grid.cell_m
    i = func.floor(func.ST_X(Incident.geom) / cell).label("i")
    j = func.floor(func.ST_Y(Incident.geom) / cell).label("j")
    where = [scope, area.spatial(Incident.geom)]
    if since is not None:
        where.append(Incident.occurred_at >= since)
    if until is not None:
        where.append(Incident.occurred_at < until)
    counts = (
        select(i, j, func.count().label("n"))
        .where(*where)
        .group_by(i, j)
        .having(func.count() >= grid.min_count)
        .subquery()
    )
    square = func.ST_MakeEnvelope(
        counts.c.i * cell,
        counts.c.j * cell,
        (counts.c.i + 1) * cell,
        (counts.c.j + 1) * cell,
        STORAGE_SRID,
    )
    centre = func.ST_Transform(func.ST_Centroid(square), WEB_SRID)
    stmt = select(
        cast(counts.c.i, _int()).label("i"),
        cast(counts.c.j, _int()).label("j"),
        counts.c.n.label("count"),
        func.round(cast(func.ST_X(centre), _numeric()), 5).label("lon"),
        func.round(cast(func.ST_Y(centre), _numeric()), 5).label("lat"),
        _web(square, POINTS).label("geom"),
    ).order_by(counts.c.i, counts.c.j)
    gdf = frame(session, stmt, POINTS)
    for c in ("lon", "lat"):
        gdf[c] = gdf[c].astype(float)
    return gdf


def _int():
    from sqlalchemy import Integer

    return Integer()


# --------------------------------------------------------------------------- figures
@dataclass
class CoverageFigures:
    """The coverage figures of every district (or every village of the area).

    ``table`` has one row per unit with ``code``, ``name``, ``district_name``,
    ``street_km``, ``street_seen_km``, ``street_seen_share`` (NaN where no street network
    is loaded), ``communities`` (taking part in ``year``), ``blind_spots`` (of the latest
    blind-spot run), ``high_risk_blocks``, ``high_risk_adopted``, ``high_risk_adopted_share``
    (NaN without high-risk blocks), ``subsidy`` (NT$ approved in ``year``, districts only),
    ``cameras``, ``cameras_planned`` and ``hazards_open``.
    """

    level: str
    year: int | None
    table: pd.DataFrame
    streets_loaded: bool
    blind_spot_run: dict | None
    high_risk: float = HIGH_RISK
    notes: list[str] = field(default_factory=list)

    def totals(self) -> dict:
        """City (or area) totals of the same figures."""
        t = self.table
        street_km = float(t["street_km"].sum())
        seen_km = float(t["street_seen_km"].sum())
        hr = int(t["high_risk_blocks"].sum())
        hra = int(t["high_risk_adopted"].sum())
        return {
            "street_km": street_km,
            "street_seen_km": seen_km,
            "street_seen_share": (seen_km / street_km) if street_km else float("nan"),
            "communities": int(t["communities"].sum()),
            "blind_spots": int(t["blind_spots"].sum()),
            "high_risk_blocks": hr,
            "high_risk_adopted": hra,
            "high_risk_adopted_share": (hra / hr) if hr else float("nan"),
            "subsidy": int(t["subsidy"].sum()) if "subsidy" in t else 0,
            "cameras": int(t["cameras"].sum()),
            "cameras_planned": int(t["cameras_planned"].sum()),
            "hazards_open": int(t["hazards_open"].sum()),
        }


def _unit_select(level: str, area: Area):
    """(unit table, key column, code, name, where) for districts or villages."""
    if level == "district":
        where = [District.retired_at.is_(None)]
        if area.district_id is not None:
            where.append(District.id == area.district_id)
        return District, District.id, District.code, District.name, where
    where = [Village.retired_at.is_(None)]
    if area.district_id is not None:
        where.append(Village.district_id == area.district_id)
    return Village, Village.id, Village.code, Village.name, where


def coverage_figures(
    session: Session,
    *,
    level: str = "district",
    camera_scope: ColumnElement[bool] = true(),
    blind_spot_scope: ColumnElement[bool] = true(),
    community_scope: ColumnElement[bool] = true(),
    block_scope: ColumnElement[bool] = true(),
    hazard_scope: ColumnElement[bool] = true(),
    year: int | None = None,
    high_risk: float = HIGH_RISK,
    area: Area = CITY_AREA,
) -> CoverageFigures:
    """Coverage figures per district (``level="district"``) or per village, in SQL.

    Street length seen by cameras is the length of each street segment inside the union of
    the views of operating cameras that touch it (sectors less what buildings hide, as in
    ``geo.coverage``); a segment belongs to the village its midpoint lies in (and to its
    ``district_id``, else to the district its midpoint lies in). Blocks, blind spots,
    cameras and hazards belong to the unit their point-on-surface lies in. Without rows in
    ``street_segments`` the street figures are NaN and the notes say so: no figure is
    invented.
    """
    if level not in ("district", "village"):
        raise ValueError(f"level must be district or village, not {level!r}")
    _table, key, code, name, where = _unit_select(level, area)
    if level == "district":
        base = select(
            key.label("unit_id"),
            code.label("code"),
            name.label("name"),
            District.name.label("district_name"),
        ).where(*where)
        unit_geom = District.geom
    else:
        base = (
            select(
                key.label("unit_id"),
                code.label("code"),
                name.label("name"),
                District.name.label("district_name"),
            )
            .join(District, District.id == Village.district_id)
            .where(*where)
        )
        unit_geom = Village.geom
    units = pd.DataFrame(session.execute(base.order_by(code)).mappings().all())
    if units.empty:
        units = pd.DataFrame(columns=["unit_id", "code", "name", "district_name"])
    units = units.set_index("unit_id")

    def run(stmt, label):
        rows = session.execute(stmt).all()
        s = pd.Series({r[0]: r[1] for r in rows}, dtype=float)
        return s.reindex(units.index).fillna(0.0).rename(label)

    def count_points(from_table, point_geom, *extra_where, label):
        """Count rows of ``from_table`` whose point lies in each unit (one statement)."""
        stmt = (
            select(key.label("unit_id"), func.count().label(label))
            .select_from(from_table)
            .join(
                _table,
                and_(unit_geom.op("&&")(point_geom), func.ST_Intersects(unit_geom, point_geom)),
            )
            .where(*where, *extra_where)
            .group_by(key)
        )
        return run(stmt, label)

    out = units.copy()
    notes: list[str] = []
    # ---- streets
    loaded = streets_loaded(session, area)
    if loaded:
        mid = func.ST_LineInterpolatePoint(StreetSegment.geom, 0.5)
        view = _camera_view()
        seen_sub = (
            select(
                StreetSegment.id.label("sid"),
                func.ST_Length(func.ST_Intersection(StreetSegment.geom, func.ST_Union(view))).label(
                    "seen"
                ),
            )
            .join(Camera, func.ST_Intersects(Camera.sector, StreetSegment.geom))
            .outerjoin(CameraView, CameraView.camera_id == Camera.id)
            .where(
                camera_scope,
                Camera.status.in_(OPERATING),
                func.ST_Intersects(view, StreetSegment.geom),
            )
            .group_by(StreetSegment.id)
            # Materialised: inlined, the planner re-ran the sector union once per unit.
            .cte("seen")
            .prefix_with("MATERIALIZED", dialect="postgresql")
        )
        stmt = (
            select(
                key.label("unit_id"),
                (func.sum(StreetSegment.length_m) / 1000.0).label("street_km"),
                (func.coalesce(func.sum(seen_sub.c.seen), 0) / 1000.0).label("street_seen_km"),
            )
            .select_from(StreetSegment)
            .outerjoin(seen_sub, seen_sub.c.sid == StreetSegment.id)
            .join(_table, and_(unit_geom.op("&&")(mid), func.ST_Intersects(unit_geom, mid)))
            .where(*where)
            .group_by(key)
        )
        rows = session.execute(stmt).all()
        street = pd.DataFrame(rows, columns=["unit_id", "street_km", "street_seen_km"]).set_index(
            "unit_id"
        )
        street = street.reindex(out.index).astype(float).fillna(0.0)
        out["street_km"] = street["street_km"].round(3)
        out["street_seen_km"] = street["street_seen_km"].round(3)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = street["street_seen_km"] / street["street_km"].where(street["street_km"] > 0)
        out["street_seen_share"] = share.round(4)
    else:
        out["street_km"] = 0.0
        out["street_seen_km"] = 0.0
        out["street_seen_share"] = np.nan
        notes.append("尚未載入街道路網，無法計算監視器涵蓋街道比例。")

    # ---- communities taking part (a community counts in every village it covers)
    if level == "district":
        stmt = (
            select(Community.district_id, func.count(func.distinct(Community.id)))
            .where(community_scope, _participating(year))
            .group_by(Community.district_id)
        )
    else:
        stmt = (
            select(community_villages.c.village_id, func.count(func.distinct(Community.id)))
            .join(Community, Community.id == community_villages.c.community_id)
            .where(community_scope, _participating(year))
            .group_by(community_villages.c.village_id)
        )
    out["communities"] = run(stmt, "communities").astype(int)

    # ---- blind spots of the latest run
    bs_run = latest_blind_spot_run(session)
    if bs_run is None:
        out["blind_spots"] = 0
        notes.append("尚無治安死角分析結果。")
    else:
        p = func.ST_PointOnSurface(BlindSpot.geom)
        out["blind_spots"] = count_points(
            BlindSpot, p, blind_spot_scope, BlindSpot.run_id == bs_run["id"], label="blind_spots"
        ).astype(int)

    # ---- high-risk blocks and their adoption
    p = func.ST_PointOnSurface(PatrolBlock.geom)
    adopted = exists(select(1).where(block_adoptions.c.block_id == PatrolBlock.id))
    stmt = (
        select(
            key.label("unit_id"),
            func.count().label("hr"),
            func.count().filter(adopted).label("hra"),
        )
        .select_from(PatrolBlock)
        .join(_table, and_(unit_geom.op("&&")(p), func.ST_Intersects(unit_geom, p)))
        .where(*where, block_scope, PatrolBlock.risk >= high_risk)
        .group_by(key)
    )
    rows = session.execute(stmt).all()
    blocks = pd.DataFrame(rows, columns=["unit_id", "hr", "hra"]).set_index("unit_id")
    blocks = blocks.reindex(out.index).fillna(0).astype(int)
    out["high_risk_blocks"] = blocks["hr"]
    out["high_risk_adopted"] = blocks["hra"]
    out["high_risk_adopted_share"] = (blocks["hra"] / blocks["hr"].where(blocks["hr"] > 0)).round(4)

    # ---- subsidy per district (approved applications of the year)
    if level == "district":
        stmt = (
            select(Community.district_id, func.coalesce(func.sum(Application.budget_total), 0))
            .join(Community, Community.id == Application.community_id)
            .where(
                community_scope,
                Application.status.in_(PARTICIPATING),
                Application.year == year if year is not None else true(),
            )
            .group_by(Community.district_id)
        )
        out["subsidy"] = run(stmt, "subsidy").astype(int)

    # ---- cameras and open hazards (context for the figures panel)
    cam_point = Camera.geom
    out["cameras"] = count_points(
        Camera, cam_point, camera_scope, Camera.status.in_(OPERATING), label="cameras"
    ).astype(int)
    out["cameras_planned"] = count_points(
        Camera,
        cam_point,
        camera_scope,
        Camera.status.in_((CameraStatus.proposed, CameraStatus.approved)),
        label="cameras_planned",
    ).astype(int)
    hp = func.ST_PointOnSurface(Hazard.geom)
    out["hazards_open"] = count_points(
        Hazard,
        hp,
        hazard_scope,
        Hazard.status.in_((HazardStatus.open, HazardStatus.assigned)),
        label="hazards_open",
    ).astype(int)

    table = out.reset_index().rename(columns={"unit_id": "id"})
    return CoverageFigures(
        level=level,
        year=year,
        table=table,
        streets_loaded=loaded,
        blind_spot_run=bs_run,
        high_risk=high_risk,
        notes=notes,
    )


def latest_program_year(session: Session) -> int | None:
    """The newest program year that has started (or the newest one defined)."""
    from .models import ProgramYear

    today = dt.date.today()
    year = session.scalar(select(func.max(ProgramYear.year)).where(ProgramYear.year <= today.year))
    return year or session.scalar(select(func.max(ProgramYear.year)))


def month_bounds(month: str) -> tuple[dt.datetime, dt.datetime]:
    """``"2026-10"`` → the month's first instant and the next month's, in Taipei time."""
    try:
        y, m = (int(p) for p in month.split("-"))
        start = dt.datetime(y, m, 1, tzinfo=TAIPEI)
    except (ValueError, TypeError):
        raise ValueError(f"month must look like 2026-10, not {month!r}") from None
    end = dt.datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=TAIPEI)
    return start, end


TAIPEI = dt.timezone(dt.timedelta(hours=8), "Asia/Taipei")


def incident_counts(
    session: Session,
    scope: ColumnElement[bool],
    area: Area,
    since: dt.datetime,
    until: dt.datetime,
) -> int:
    """Number of incidents in scope and area in [since, until) (a count, never positions)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Incident)
            .where(
                scope,
                area.spatial(Incident.geom),
                Incident.occurred_at >= since,
                Incident.occurred_at < until,
            )
        )
        or 0
    )


def hazard_counts(
    session: Session,
    scope: ColumnElement[bool],
    area: Area,
    since: dt.datetime,
    until: dt.datetime,
) -> dict[str, int]:
    """Hazards reported and fixed in [since, until), and open at ``until``."""
    in_area = area.by_community(Hazard.community_id)
    row = session.execute(
        select(
            func.count().filter(Hazard.reported_at >= since, Hazard.reported_at < until),
            func.count().filter(Hazard.fixed_at >= since, Hazard.fixed_at < until),
            func.count().filter(
                Hazard.reported_at < until,
                case(
                    (Hazard.status.in_((HazardStatus.open, HazardStatus.assigned)), true()),
                    else_=and_(Hazard.status == HazardStatus.fixed, Hazard.fixed_at >= until),
                ),
            ),
        ).where(scope, in_area)
    ).one()
    return {"reported": int(row[0]), "fixed": int(row[1]), "open": int(row[2])}


# --------------------------------------------------------------------------- CCTV planning
def planning_points(
    session: Session,
    hazard_scope: ColumnElement[bool],
    incident_scope: ColumnElement[bool] | None,
    community_id: int,
    *,
    since: dt.datetime | None = None,
) -> tuple[np.ndarray, np.ndarray, gpd.GeoDataFrame]:
    """Demand for camera placement in a community, in EPSG:3826 metres: open and assigned
    hazards weighted by severity and, when ``incident_scope`` is given, incidents (weight 1).

    Returns ``(xy, weights, hazard_points)``; ``hazard_points`` (EPSG:4326) are the only
    demand points that may be drawn: incident positions stay in this process.
    """
    area = Area(community_id=community_id)
    p = func.ST_PointOnSurface(Hazard.geom)
    h = session.execute(
        select(
            func.ST_X(p),
            func.ST_Y(p),
            Hazard.severity,
            Hazard.category,
            func.coalesce(Hazard.title, Hazard.description),
            _web(p, POINTS),
        ).where(
            hazard_scope,
            Hazard.community_id == community_id,
            Hazard.status.in_((HazardStatus.open, HazardStatus.assigned)),
        )
    ).all()
    xy = [(r[0], r[1]) for r in h]
    w = [float(r[2]) for r in h]
    shapes = shapely.from_wkb(np.array([bytes(r[5]) for r in h], dtype=object)) if h else []
    hazard_points = gpd.GeoDataFrame(
        {"weight": w, "label": [f"問題點（嚴重程度 {r[2]}）：{r[4] or ''}" for r in h]},
        geometry=gpd.GeoSeries(_round(np.asarray(shapes, dtype=object), 5), crs=WEB_SRID),
        crs=WEB_SRID,
    )
    if incident_scope is not None:
        where = [incident_scope, area.spatial(Incident.geom)]
        if since is not None:
            where.append(Incident.occurred_at >= since)
        rows = session.execute(
            select(func.ST_X(Incident.geom), func.ST_Y(Incident.geom)).where(*where)
        ).all()
        xy += [(r[0], r[1]) for r in rows]
        w += [1.0] * len(rows)
    return np.asarray(xy, dtype=float).reshape(-1, 2), np.asarray(w, dtype=float), hazard_points


def candidate_sites(session: Session, community_id: int, spacing_m: float = 30.0) -> np.ndarray:
    """Candidate camera sites: centres of a ``spacing_m`` grid inside the community, or the
    vertices of its street centrelines when a street network is loaded (EPSG:3826)."""
    area = Area(community_id=community_id)
    if streets_loaded(session, area):
        pts = (
            select(func.ST_DumpPoints(StreetSegment.geom).geom.label("g"))
            .where(area.spatial(StreetSegment.geom))
            .subquery()
        )
        rows = session.execute(select(func.ST_X(pts.c.g), func.ST_Y(pts.c.g)).distinct()).all()
        if rows:
            return np.asarray(rows, dtype=float)
    geom = area.geom()
    grid = select(func.ST_SquareGrid(spacing_m, geom).table_valued("geom").alias("g")).subquery()
    c = func.ST_Centroid(grid.c.geom)
    rows = session.execute(
        select(func.ST_X(c), func.ST_Y(c)).where(func.ST_Intersects(c, geom))
    ).all()
    return np.asarray(rows, dtype=float).reshape(-1, 2)


def camera_positions(
    session: Session,
    scope: ColumnElement[bool],
    community_id: int,
    statuses: Sequence[CameraStatus],
) -> pd.DataFrame:
    """EPSG:3826 ``x``, ``y``, ``bearing_deg``, ``fov_deg``, ``range_m`` of the cameras of a
    community (its own, or standing inside it)."""
    area = Area(community_id=community_id)
    result = session.execute(
        select(
            func.ST_X(Camera.geom).label("x"),
            func.ST_Y(Camera.geom).label("y"),
            Camera.bearing_deg,
            Camera.fov_deg,
            Camera.range_m,
        ).where(
            scope,
            Camera.status.in_(statuses),
            or_(Camera.community_id == community_id, area.spatial(Camera.geom)),
        )
    )
    return pd.DataFrame(result.all(), columns=list(result.keys()))


def sectors(
    session: Session, xy: np.ndarray, bearings: Sequence[float], fov: float, range_m: float
) -> np.ndarray:
    """View sectors (EPSG:4326, rounded to 6 decimals) of cameras that do not exist yet, by the
    database's own ``safemap_camera_sector`` so they match stored cameras exactly."""
    if len(xy) == 0:
        return np.array([], dtype=object)
    stmt = text(
        "SELECT ST_AsBinary(ST_Transform(safemap_camera_sector("
        "ST_SetSRID(ST_MakePoint(t.x, t.y), :srid), t.b, :fov, :range), :web)) "
        "FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[]), CAST(:bs AS float8[])) "
        "WITH ORDINALITY AS t(x, y, b, n) ORDER BY t.n"
    )
    rows = session.execute(
        stmt,
        {
            "srid": STORAGE_SRID,
            "web": WEB_SRID,
            "fov": float(fov),
            "range": float(range_m),
            "xs": [float(v) for v in xy[:, 0]],
            "ys": [float(v) for v in xy[:, 1]],
            "bs": [float(b) for b in bearings],
        },
    ).scalars()
    out = [shapely.from_wkb(bytes(w)) for w in rows]
    return _round(np.asarray(out, dtype=object), 6)
