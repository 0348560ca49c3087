"""The community organisation's pages beyond the map editor and the application wizard:
walk audits, camera proposals, patrol blocks and adopters, patrol routes, monthly reports,
expense claims and the map's export / import (issue #7, item 2).

Each page reads what it lists through the same service functions as the JSON API, so the
jurisdiction is the one ``workflow.access`` decides; the page's script writes through the
JSON API (which checks everything again) and reloads the page on success. Police roles open
the layer pages for the communities of their jurisdiction, as the layer rules let them edit
those records; monthly reports and expense claims are filed by the community alone.
"""

from __future__ import annotations

import datetime as dt
import json

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from geo.enums import CameraStatus, OrganisationKind, Role, TimeOfDay
from geo.enums_workflow import ClaimStatus, Progress, WorkItem
from geo.layer_io import LAYER_TITLES
from geo.layers import ListQuery
from geo.models import AUDIT_PARAMETERS, ProgramYear, User
from workflow import applications as apps
from workflow import claims as claim_service
from workflow import extras, monitoring
from workflow import layers as layer_service
from workflow.access import Actor
from workflow.layers import AUDIT_LABELS, hazard_categories
from workflow.roc import roc_month, roc_year

from ..deps import OptionalUser, SessionDep
from .web import MAP_EDITORS, _basemap, _communities, _json, _page

router = APIRouter(include_in_schema=False)

# The layer pages: the community and the police who may edit its layers (workflow.layers).
LAYER_ROLES = MAP_EDITORS
# Reports and claims are filed by the community (workflow.monitoring / workflow.claims).
FILING_ROLES = (Role.community,)

# What each score of a walk-audit parameter means, read out to the volunteers on the walk.
AUDIT_GUIDE: dict[str, tuple[str, str, str, str]] = {
    "lighting": ("沒有照明，一片漆黑", "照明不足，僅局部有光", "大致明亮，少數暗處", "明亮均勻，看得清來人面孔"),
    "openness": ("高牆或轉角完全擋住視線", "多處遮蔽，看不到前方", "大致開闊，少數遮蔽", "開闊，看得清四周"),
    "visibility": ("四周沒有住家或店面看得到這裡", "少數窗戶朝向這裡", "有住家或店面看得到", "四周住戶、店家都看得到"),
    "people": ("幾乎沒有人經過", "偶爾有人經過", "經常有人經過", "人來人往"),
    "security": ("沒有保全、巡守或監視器", "偶爾有巡邏", "有監視器或定期巡守", "有保全、員警或巡守隊常駐"),
    "walk_path": ("沒有人行道，路面危險", "路面不平或被占用", "大致好走", "人行道平整、無障礙"),
    "transport": ("附近沒有公車或捷運", "站牌遠或班次少", "步行可到，班次尚可", "站牌近、班次多"),
    "gender_usage": ("幾乎只有男性使用", "女性與孩童很少", "男女都有", "女性、孩童、長者都常使用"),
    "feeling": ("非常不安全", "有些不安", "大致安心", "非常安心"),
}  # fmt: skip
AUDIT_PERIODS = {"day": TimeOfDay.day.label, "night": TimeOfDay.night.label}
ADOPTER_KINDS = {k: OrganisationKind(k).label for k in ("agency", "school", "company", "ngo")}
WEEKDAYS = {1: "一", 2: "二", 3: "三", 4: "四", 5: "五", 6: "六", 7: "日"}
IMPORT_KINDS = ("hazards", "safety_audits", "patrol_routes", "patrol_blocks", "safety_meetings")


def _chosen(communities: list[dict], wanted: int | None) -> dict | None:
    """The community asked for in ``?community=`` if the caller may see it, else the first."""
    return next(
        (c for c in communities if c["id"] == wanted), communities[0] if communities else None
    )


def _features(session, actor: Actor, layer: str, community_id: int, *, extras_: bool = False):
    q = ListQuery(community_id=community_id, limit=1000, extras=extras_)
    return json.loads(layer_service.list_features(session, actor, layer, q))


def _layer_page(title: str, template: str, communities: list[dict], community: dict | None, **kw):
    cfg = {"community": community, "basemap": _basemap(), **kw.pop("cfg", {})}
    return template, {
        "title": title,
        "communities": communities,
        "community": community,
        "cfg": _json(cfg),
        **kw,
    }


# --------------------------------------------------------------------------- walk audits
@router.get("/app/audits", response_class=HTMLResponse)
def audits(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    community: int | None = None,
    compare: int | None = None,
    reaudit: int | None = None,
    saved: int | None = None,
) -> Response:
    def build(u: User, actor: Actor):
        communities = _communities(session, actor)
        chosen = _chosen(communities, community)
        features = _features(session, actor, "safety_audits", chosen["id"]) if chosen else None
        rows = sorted(
            (features or {"features": []})["features"],
            key=lambda f: (f["properties"]["audited_on"], f["id"]),
            reverse=True,
        )
        by_id = {f["id"]: f for f in rows}
        comparison = None
        if compare is not None and compare in by_id:
            comparison = extras.compare_audits(session, actor, compare)
        base = by_id.get(reaudit) if reaudit is not None else None
        return _layer_page(
            "婦幼安全檢測（步行稽核）",
            "pages/community_audits.html",
            communities,
            chosen,
            rows=rows,
            parameters=[(p, AUDIT_LABELS[p], AUDIT_GUIDE[p]) for p in AUDIT_PARAMETERS],
            periods=AUDIT_PERIODS,
            comparison=comparison,
            base=base,
            saved=by_id.get(saved) if saved is not None else None,
            today=dt.date.today().isoformat(),
            cfg={
                "features": features,
                "labels": AUDIT_LABELS,
                "parameters": list(AUDIT_PARAMETERS),
                "reaudit": base,
            },
        )

    return _page(request, user, LAYER_ROLES, build)


# --------------------------------------------------------------------------- cameras
@router.get("/app/cameras", response_class=HTMLResponse)
def cameras(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    community: int | None = None,
    saved: int | None = None,
) -> Response:
    def build(u: User, actor: Actor):
        communities = _communities(session, actor)
        chosen = _chosen(communities, community)
        features = (
            _features(session, actor, "cameras", chosen["id"], extras_=True) if chosen else None
        )
        return _layer_page(
            "監視器建議設置",
            "pages/community_cameras.html",
            communities,
            chosen,
            rows=(features or {"features": []})["features"],
            statuses=CameraStatus.labels(),
            saved=saved,
            cfg={"features": features, "statuses": CameraStatus.labels()},
        )

    return _page(request, user, LAYER_ROLES, build)


# --------------------------------------------------------------------------- blocks, adopters
@router.get("/app/blocks", response_class=HTMLResponse)
def blocks(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    community: int | None = None,
    saved: str | None = None,
) -> Response:
    def build(u: User, actor: Actor):
        communities = _communities(session, actor)
        chosen = _chosen(communities, community)
        block_fc = _features(session, actor, "patrol_blocks", chosen["id"]) if chosen else None
        adopter_fc = _features(session, actor, "adopters", chosen["id"]) if chosen else None
        adopters_ = (adopter_fc or {"features": []})["features"]
        names = {a["id"]: a["properties"]["name"] for a in adopters_}
        rows = []
        # A community has a few dozen blocks at most: one small read per block keeps the
        # adoption rules in workflow.extras.
        for f in (block_fc or {"features": []})["features"]:
            adopted = extras.block_adopters(session, actor, f["id"])
            f["properties"]["adopters"] = [a["id"] for a in adopted]
            rows.append({"feature": f, "adopters": adopted})
        return _layer_page(
            "治安區塊與認養單位",
            "pages/community_blocks.html",
            communities,
            chosen,
            rows=rows,
            adopters=adopters_,
            adopter_names=names,
            kinds=ADOPTER_KINDS,
            saved=saved,
            cfg={"blocks": block_fc, "adopters": adopter_fc, "kinds": ADOPTER_KINDS},
        )

    return _page(request, user, LAYER_ROLES, build)


# --------------------------------------------------------------------------- patrol routes
def schedule_label(schedule: dict | None) -> str:
    s = schedule or {}
    days = "、".join(WEEKDAYS.get(d, str(d)) for d in s.get("days") or [])
    when = f"{s.get('start', '')}–{s.get('end', '')}" if s.get("start") or s.get("end") else ""
    return " ".join(x for x in (f"每週{days}" if days else "", when) if x) or "未設定"


@router.get("/app/routes", response_class=HTMLResponse)
def routes(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    community: int | None = None,
    saved: int | None = None,
) -> Response:
    def build(u: User, actor: Actor):
        communities = _communities(session, actor)
        chosen = _chosen(communities, community)
        features = _features(session, actor, "patrol_routes", chosen["id"]) if chosen else None
        rows = [
            {"feature": f, "schedule": schedule_label(f["properties"].get("schedule"))}
            for f in (features or {"features": []})["features"]
        ]
        return _layer_page(
            "巡守路線",
            "pages/community_routes.html",
            communities,
            chosen,
            rows=rows,
            weekdays=WEEKDAYS,
            saved=saved,
            cfg={"features": features},
        )

    return _page(request, user, LAYER_ROLES, build)


# --------------------------------------------------------------------------- monthly reports
def _years(session, actor: Actor, wanted: int | None) -> tuple[list[dict], int]:
    """The community's applications and the year shown: ``wanted``, else this calendar
    year if it applied, else its newest year."""
    items = apps.list_applications(session, actor)["items"]
    years = sorted({i["year"] for i in items}, reverse=True)
    this_year = dt.date.today().year
    if wanted in years:
        year = wanted
    elif this_year in years or not years:
        year = this_year
    else:
        year = years[0]
    return items, year


def _month_schedule(session, actor: Actor, application: dict, today: dt.date) -> dict:
    """Each month of the application's period: filed, late, due or not yet begun."""
    data = monitoring.list_reports(session, actor, application["id"])
    program = session.get(ProgramYear, application["year"])
    report_day = apps.year_settings(program).monthly_report_day if program else 10
    filed = {r["month"]: r for r in data["items"]}
    months = []
    month = data["period"]["start"]
    while month <= data["period"]["end"]:
        due = monitoring.due_date(month, report_day)
        report = filed.get(month)
        if report is not None:
            state, label = ("late", "逾期填報") if report["late"] else ("filed", "已填報")
        elif month > today.replace(day=1):
            state, label = "future", "尚未開始"
        elif due >= today:
            state, label = "due", f"待填報（{due.month} 月 {due.day} 日前）"
        else:
            state, label = "overdue", "逾期未填報"
        months.append(
            {
                "month": month.isoformat(),
                "label": roc_month(month),
                "due": due,
                "state": state,
                "state_label": label,
                "report": report,
            }
        )
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return {"period": data["period"], "months": months}


@router.get("/app/reports", response_class=HTMLResponse)
def reports(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    year: int | None = None,
    saved: str | None = None,
) -> Response:
    def build(u: User, actor: Actor):
        items, chosen = _years(session, actor, year)
        today = dt.date.today()
        blocks_ = []
        for item in (i for i in items if i["year"] == chosen):
            detail = apps.application_json(session, actor, item["id"])
            reporting = item["status"] in {s.value for s in monitoring.REPORTING}
            schedule = (
                _month_schedule(session, actor, item, today)
                if reporting or item["status"] == "completed"
                else None
            )
            planned = [(w["item"], w["label"]) for w in detail["work_items"]] or [
                (k, v) for k, v in WorkItem.labels().items()
            ]
            open_months = [
                m for m in (schedule or {"months": []})["months"] if m["state"] != "future"
            ]
            blocks_.append(
                {
                    "application": item,
                    "schedule": schedule,
                    "reporting": reporting,
                    "planned": planned,
                    "open_months": open_months,
                    "next_month": next(
                        (m["month"] for m in open_months if m["state"] in ("due", "overdue")),
                        open_months[-1]["month"] if open_months else None,
                    ),
                }
            )
        return "pages/community_reports.html", {
            "title": "每月執行情形（管考月報）",
            "year": chosen,
            "roc_year": roc_year(chosen),
            "years": sorted({i["year"] for i in items} | {chosen}, reverse=True),
            "blocks": blocks_,
            "progress": Progress.labels(),
            "saved": saved,
            "cfg": _json({"progress": Progress.labels()}),
        }

    return _page(request, user, FILING_ROLES, build)


# --------------------------------------------------------------------------- expense claims
@router.get("/app/claims", response_class=HTMLResponse)
def claims(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    year: int | None = None,
    saved: int | None = None,
) -> Response:
    def build(u: User, actor: Actor):
        items, chosen = _years(session, actor, year)
        all_claims = claim_service.list_claims(session, actor, year=chosen)
        blocks_ = []
        for item in (i for i in items if i["year"] == chosen):
            mine = [
                claim_service.read_claim(session, actor, c["id"])
                for c in all_claims
                if c["application_id"] == item["id"]
            ]
            # What counts against the subsidy: claims sent on (drafts are still being written).
            claimed = sum(c["total"] for c in mine if c["status"] != ClaimStatus.draft.value)
            drafts = sum(c["total"] for c in mine if c["status"] == ClaimStatus.draft.value)
            subsidised = item["status"] in {"approved", "in_progress", "completed"}
            blocks_.append(
                {
                    "application": item,
                    "claims": mine,
                    "subsidised": subsidised,
                    "can_claim": item["status"] in {s.value for s in claim_service.CLAIMING},
                    "budget": item["budget_total"] if subsidised else 0,
                    "claimed": claimed,
                    "drafts": drafts,
                    "remaining": (item["budget_total"] - claimed) if subsidised else 0,
                    "clawed_back": sum(c["clawed_back"] for c in mine),
                }
            )
        return "pages/community_claims.html", {
            "title": "經費核銷",
            "year": chosen,
            "roc_year": roc_year(chosen),
            "years": sorted({i["year"] for i in items} | {chosen}, reverse=True),
            "blocks": blocks_,
            "work_items": WorkItem.labels(),
            "saved": saved,
            "cfg": _json({"work_items": WorkItem.labels()}),
        }

    return _page(request, user, FILING_ROLES, build)


# --------------------------------------------------------------------------- export, import
@router.get("/app/export", response_class=HTMLResponse)
def export(
    request: Request, session: SessionDep, user: OptionalUser, community: int | None = None
) -> Response:
    def build(u: User, actor: Actor):
        communities = _communities(session, actor)
        chosen = _chosen(communities, community)
        categories = {c["code"]: c["label"] for c in hazard_categories().values()}
        kinds = {k: LAYER_TITLES.get(k, k) for k in IMPORT_KINDS}
        return "pages/community_export.html", {
            "title": "匯出與匯入社區地圖",
            "communities": communities,
            "community": chosen,
            "categories": categories,
            "kinds": kinds,
            "cfg": _json({"categories": categories, "kinds": kinds}),
        }

    return _page(request, user, LAYER_ROLES, build)
