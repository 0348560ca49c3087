"""The web application's pages for each role, under ``/app/...``.

Pages are server-rendered shells: the route checks who may open the page, reads what the page
shows through the same service functions as the JSON API (so jurisdiction scoping is the one
in ``workflow.access``), and small scripts in ``api/static/web-*.js`` call the JSON API for
the interactive parts (drawing on the map, moving an application). A signed-out visitor is
sent to the sign-in page; a role the page is not for gets a 403 page; a record outside the
caller's jurisdiction is a 404 page, as in the API.
"""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from geo.enums import ApplicationStatus, HazardStatus, Role, TimeOfDay
from geo.enums_workflow import WorkItem
from geo.errors import PermissionDenied
from geo.models import Community, District, ProgramYear, User
from maps.assets import Basemap
from workflow import applications as apps
from workflow import files as app_files
from workflow import home
from workflow.access import Actor, community_filter
from workflow.layers import hazard_categories

from ..deps import OptionalUser, SessionDep
from .pages import render

router = APIRouter(include_in_schema=False)

# Who opens which page (PROGRAM.md's roles); the API checks every action again.
MAP_ROLES = (Role.community, Role.station, Role.precinct, Role.district_office, Role.city_police)
REVIEW_ROLES = (Role.precinct, Role.station, Role.district_office)
CITY_ROLES = (Role.city_police, Role.admin)
DASHBOARD_ROLES = (Role.leader, Role.city_police, Role.admin)
# Roles that may draw on the safety map (communities their own, police their jurisdiction).
MAP_EDITORS = (Role.community, Role.station, Role.precinct)


class _SignIn(Exception):
    """Not signed in: the page answers with a redirect to the sign-in form."""


def _gate(request: Request, user: User | None, roles: tuple[Role, ...]) -> User:
    if user is None:
        raise _SignIn
    if user.role not in roles and user.role is not Role.admin:
        raise PermissionDenied(
            "這個頁面不屬於您的角色可使用的功能。", detail=f"{user.role} opens {request.url.path}"
        )
    return user


def _page(request: Request, user: User | None, roles: tuple[Role, ...], build) -> Response:
    """Gate the page, then render what ``build(user, actor)`` returns (template, context)."""
    try:
        checked = _gate(request, user, roles)
    except _SignIn:
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    template, context = build(checked, Actor.from_user(checked))
    return render(request, template, {"user": checked, **context})


def _basemap() -> dict:
    b = Basemap.from_settings()
    return {"url": b.url, "attribution": b.attribution, "max_zoom": b.max_zoom}


def _json(value) -> str:
    # Embedded in <script type="application/json">: "</" must not close the element.
    return json.dumps(value, ensure_ascii=False, default=str).replace("</", "<\\/")


def _communities(session, actor: Actor) -> list[dict]:
    rows = session.execute(
        select(Community.id, Community.name, District.name)
        .join(District, District.id == Community.district_id)
        .where(community_filter(actor))
        .order_by(District.code, Community.name)
    ).all()
    return [{"id": r[0], "name": r[1], "district": r[2]} for r in rows]


def _open_year(session) -> ProgramYear | None:
    """The newest program year, whatever its window (the API checks the window on submit)."""
    year = home.current_year(session)
    return session.get(ProgramYear, year) if year is not None else None


def _window_open(program: ProgramYear | None) -> bool:
    if program is None:
        return False
    today = dt.date.today()
    opens, closes = program.application_opens, program.application_closes
    return (opens is None or opens <= today) and (closes is None or today <= closes)


# --------------------------------------------------------------------------- safety map
@router.get("/app/map", response_class=HTMLResponse)
def safety_map(request: Request, session: SessionDep, user: OptionalUser) -> Response:
    def build(u: User, actor: Actor):
        communities = _communities(session, actor)
        cfg = {
            "communities": communities,
            "categories": [
                {"code": c["code"], "label": c["label"], "color": c.get("color", "#b2182b")}
                for c in hazard_categories().values()
            ],
            "statuses": HazardStatus.labels(),
            "times": TimeOfDay.labels(),
            "can_edit": u.role in MAP_EDITORS,
            "basemap": _basemap(),
        }
        return "pages/map_editor.html", {
            "title": "社區安全檢測地圖",
            "communities": communities,
            "cfg": _json(cfg),
            "can_edit": cfg["can_edit"],
        }

    return _page(request, user, MAP_ROLES, build)


# --------------------------------------------------------------------------- applications
@router.get("/app/applications", response_class=HTMLResponse)
def applications(request: Request, session: SessionDep, user: OptionalUser) -> Response:
    if user is not None and user.role in REVIEW_ROLES:
        return RedirectResponse("/app/review", status_code=303)
    if user is not None and user.role in CITY_ROLES:
        return RedirectResponse("/app/approvals", status_code=303)

    def build(u: User, actor: Actor):
        items = apps.list_applications(session, actor)["items"]
        program = _open_year(session)
        has_current = program is not None and any(i["year"] == program.year for i in items)
        return "pages/applications.html", {
            "title": "年度申請",
            "items": items,
            "program": program,
            "can_apply": _window_open(program) and not has_current,
        }

    return _page(request, user, (Role.community,), build)


def _wizard_cfg(session, program: ProgramYear, application: dict | None) -> str:
    return _json(
        {
            "year": program.year,
            "work_items": WorkItem.labels(),
            "application": application,
            "communities": None,
            "basemap": _basemap(),
        }
    )


@router.get("/app/applications/new", response_class=HTMLResponse)
def application_new(request: Request, session: SessionDep, user: OptionalUser) -> Response:
    def build(u: User, actor: Actor):
        program = _open_year(session)
        if program is None or not _window_open(program):
            return "pages/applications.html", {
                "title": "年度申請",
                "items": apps.list_applications(session, actor)["items"],
                "program": program,
                "can_apply": False,
                "error": "目前不在受理申請期間。",
            }
        return "pages/application_wizard.html", {
            "title": "新增年度申請",
            "program": program,
            "cfg": _wizard_cfg(session, program, None),
            "work_items": WorkItem.labels(),
        }

    return _page(request, user, (Role.community,), build)


@router.get("/app/applications/{application_id}/edit", response_class=HTMLResponse)
def application_edit(
    request: Request, application_id: int, session: SessionDep, user: OptionalUser
) -> Response:
    def build(u: User, actor: Actor):
        data = apps.application_json(session, actor, application_id)
        program = session.get(ProgramYear, data["year"])
        return "pages/application_wizard.html", {
            "title": "編輯申請表",
            "program": program,
            "cfg": _wizard_cfg(session, program, data),
            "work_items": WorkItem.labels(),
        }

    return _page(request, user, (Role.community,), build)


@router.get("/app/applications/{application_id}", response_class=HTMLResponse)
def application_detail(
    request: Request, application_id: int, session: SessionDep, user: OptionalUser
) -> Response:
    def build(u: User, actor: Actor):
        data = apps.application_json(session, actor, application_id)
        editable = u.role is Role.community and data["status"] in ("draft", "returned")
        return "pages/application.html", {
            "title": f"申請案：{data['community']['name']}",
            "a": data,
            "files": app_files.list_files(session, actor, application_id),
            "editable": editable,
            "cfg": _json({"application": data, "basemap": _basemap()}),
            "back": {
                Role.community: "/app/applications",
                Role.city_police: "/app/approvals",
                Role.admin: "/app/approvals",
            }.get(u.role, "/app/review"),
        }

    return _page(
        request, user, (Role.community, *REVIEW_ROLES, *CITY_ROLES, Role.counselling), build
    )


@router.get("/app/review", response_class=HTMLResponse)
def review(
    request: Request, session: SessionDep, user: OptionalUser, year: int | None = None
) -> Response:
    def build(u: User, actor: Actor):
        chosen = year or home.current_year(session)
        items = apps.list_applications(session, actor, year=chosen)["items"] if chosen else []
        waiting = [i for i in items if i["status"] == ApplicationStatus.submitted.value]
        others = [i for i in items if i["status"] != ApplicationStatus.submitted.value]
        return "pages/review.html", {
            "title": "申請案初審",
            "year": chosen,
            "waiting": waiting,
            "others": others,
        }

    return _page(request, user, REVIEW_ROLES, build)


@router.get("/app/approvals", response_class=HTMLResponse)
def approvals(request: Request, session: SessionDep, user: OptionalUser) -> Response:
    def build(u: User, actor: Actor):
        program = _open_year(session)
        if program is None:
            return "pages/approvals.html", {"title": "複審核定", "program": None}
        year = apps.year_json(session, program)
        items = apps.list_applications(session, actor, year=program.year)["items"]
        advice = apps.selection_advice(session, actor, program.year)
        by_id = {a["application_id"]: a for a in advice.get("items", [])}
        forwarded = [
            {**i, "advice": by_id.get(i["id"])}
            for i in items
            if i["status"] == ApplicationStatus.forwarded.value
        ]
        decided = [
            i
            for i in items
            if i["status"] in ("approved", "not_selected", "in_progress", "completed")
        ]
        return "pages/approvals.html", {
            "title": "複審核定",
            "program": program,
            "year": year,
            "forwarded": forwarded,
            "decided": decided,
            "advice": advice,
        }

    return _page(request, user, CITY_ROLES, build)


# --------------------------------------------------------------------------- leaders, police
@router.get("/app/dashboard", response_class=HTMLResponse)
def dashboard(
    request: Request, session: SessionDep, user: OptionalUser, district: str | None = None
) -> Response:
    from geo.errors import NotFound
    from maps.charts import dashboard_charts
    from workflow import trends

    def build(u: User, actor: Actor):
        program = _open_year(session)
        year = apps.year_json(session, program) if program is not None else None
        districts = session.execute(select(District.name).order_by(District.code)).scalars().all()
        # Monthly trends, city-wide or for the chosen district (issue #7, item 5).
        error = None
        try:
            monthly = trends.monthly(session, actor, district=district or None)
        except NotFound as exc:
            error, monthly = exc.message, trends.monthly(session, actor)
        return "pages/dashboard.html", {
            "title": "全市涵蓋情形",
            "year": year,
            "districts": districts,
            "cfg": _json({"year": program.year if program else None}),
            "trend_district": monthly["district"],
            "trend_charts": dashboard_charts(monthly),
            "error": error,
        }

    return _page(request, user, DASHBOARD_ROLES, build)


@router.get("/app/analysis", response_class=HTMLResponse)
def analysis(request: Request, session: SessionDep, user: OptionalUser) -> Response:
    def build(u: User, actor: Actor):
        communities = _communities(session, actor)
        return "pages/analysis.html", {
            "title": "治安死角與監視器規劃",
            "communities": communities,
            "cfg": _json(
                {
                    "communities": communities,
                    "basemap": _basemap(),
                    "can_plan": u.role in (Role.precinct, Role.city_police, Role.admin),
                }
            ),
        }

    return _page(request, user, (Role.precinct, Role.station, Role.city_police, Role.leader), build)
