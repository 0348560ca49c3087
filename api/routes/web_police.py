"""The precinct's pages (issue #7, item 3): CCTV planning, the blind-spot list and the
nomination for the year's evaluation.

Planning and blind spots are shells whose scripts call the analysis and layer APIs
(``/api/analysis/placement``, ``/api/analysis/blind-spots``, ``/api/cameras``); the route reads
what the page first shows through the same service functions, so a precinct sees only its
own jurisdiction's runs (``workflow.analysis``). Nomination is a plain form posting to
``/app/nominations``: the rules are ``workflow.evaluation_service.nominate``'s, its zh-TW
errors are shown on the page with what was typed kept.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select, text

from geo.blindspots import REASONS
from geo.enums import Role
from geo.errors import SafemapError
from geo.models import District, ProgramYear, User
from workflow import analysis, home, monitoring, trends
from workflow import evaluation_service as evaluation
from workflow.access import Actor
from workflow.applications import year_settings
from workflow.roc import roc_year

from ..deps import OptionalUser, SessionDep
from ..errors import status_for
from .pages import CsrfChecked, render
from .web import _basemap, _communities, _gate, _json, _page, _SignIn

router = APIRouter(include_in_schema=False)

# Police pages (PROGRAM.md: precincts plan and nominate for their own jurisdiction; the
# station helps in its beat; the bureau plans city-wide). The APIs check every action again.
PLANNERS = (Role.precinct, Role.station, Role.city_police)
NOMINATORS = (Role.precinct,)
SOURCES = {"hotspot_cell": "熱點網格", "hazard": "待處理問題點"}
SITE_KINDS = {"intersection": "路口", "along_street": "沿街", "proposal": "既有建議位置"}


def _outline(session, area_wkb: bytes | None) -> dict | None:
    """The jurisdiction's outline for the map (lon/lat GeoJSON, simplified to 5 m)."""
    if area_wkb is None:
        return None
    raw = session.scalar(
        select(
            func.ST_AsGeoJSON(
                func.ST_Transform(
                    func.ST_SimplifyPreserveTopology(func.ST_GeomFromWKB(area_wkb, 3826), 5), 4326
                ),
                6,
            )
        )
    )
    return json.loads(raw) if raw else None


def _districts_in(session, area_wkb: bytes | None) -> list[dict]:
    """Districts the area really overlaps (more than a hectare: a touching edge is a neighbour)."""
    if area_wkb is None:
        rows = session.execute(
            select(District.code, District.name)
            .where(District.retired_at.is_(None))
            .order_by(District.code)
        ).all()
    else:
        rows = session.execute(
            text(
                "SELECT code, name FROM districts, (SELECT ST_GeomFromWKB(:a, 3826) g) j "
                "WHERE retired_at IS NULL AND geom && j.g "
                "AND ST_Area(ST_Intersection(geom, j.g)) > 10000 ORDER BY code"
            ),
            {"a": area_wkb},
        ).all()
    return [{"code": r[0], "name": r[1]} for r in rows]


def _scope_label(u: User) -> str:
    if u.precinct is not None:
        return u.precinct.name
    return "全市"


# --------------------------------------------------------------------------- planning
@router.get("/app/planning", response_class=HTMLResponse)
def planning(request: Request, session: SessionDep, user: OptionalUser) -> Response:
    def build(u: User, actor: Actor):
        scope = analysis.resolve_scope(session, actor)
        districts = _districts_in(session, scope.area_wkb)
        communities = _communities(session, actor)
        # Accepting or turning down a site writes a camera of the precinct: only accounts
        # that belong to one (the bureau plans city-wide and reads, the precinct decides).
        can_decide = actor.precinct_id is not None and u.role in (Role.precinct, Role.station)
        cfg = {
            "basemap": _basemap(),
            "outline": _outline(session, scope.area_wkb),
            "can_decide": can_decide,
            "site_kinds": SITE_KINDS,
        }
        return "pages/planning.html", {
            "title": "監視器設置規劃",
            "scope_label": _scope_label(u),
            "districts": districts,
            "communities": communities,
            "can_decide": can_decide,
            "cfg": _json(cfg),
        }

    return _page(request, user, PLANNERS, build)


# --------------------------------------------------------------------------- blind spots
def _latest_own(runs: list[dict], actor: Actor) -> dict | None:
    """The newest run over the whole jurisdiction, else the newest the actor may read."""
    own = ("city", None) if actor.city_wide else ("precinct", actor.precinct_id)
    for r in runs:
        if (r["scope_kind"], r["scope_id"]) == own:
            return r
    return runs[0] if runs else None


@router.get("/app/blindspots", response_class=HTMLResponse)
def blindspots(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    reason: str | None = None,
    source: str | None = None,
) -> Response:
    def build(u: User, actor: Actor):
        runs = analysis.list_runs(session, actor, "blind_spots")
        latest = _latest_own(runs, actor)
        features, change, previous = [], None, None
        if latest is not None:
            collection = json.loads(analysis.run_features(session, actor, latest["id"]))
            features = collection.get("features") or []
            run = analysis.get_run(session, actor, latest["id"])
            prev = trends.previous_run(session, actor, run)
            if prev is not None:
                previous = analysis.run_json(prev)
                change = trends.blind_spot_change(session, actor, run.id, prev.id)
        total = len(features)
        chosen_reason = reason if reason in REASONS else None
        chosen_source = source if source in SOURCES else None
        if chosen_reason:
            features = [f for f in features if chosen_reason in f["properties"]["reasons"]]
        if chosen_source:
            features = [f for f in features if f["properties"]["source_kind"] == chosen_source]
        names = {c["id"]: c["name"] for c in _communities(session, actor)}
        rows = [
            {
                "id": f["id"],
                "rank": f["properties"]["rank"],
                "risk": round(float(f["properties"]["risk"] or 0), 1),
                "source": SOURCES.get(
                    f["properties"]["source_kind"], f["properties"]["source_kind"]
                ),
                "source_kind": f["properties"]["source_kind"],
                "reasons": [REASONS.get(r, r) for r in f["properties"]["reasons"]],
                "reason_codes": f["properties"]["reasons"],
                "community": names.get(f["properties"].get("community_id")),
            }
            for f in features
        ]
        return "pages/blindspots.html", {
            "title": "治安死角清單",
            "scope_label": _scope_label(u),
            "run": latest,
            "previous": previous,
            "change": change,
            "rows": rows,
            "total": total,
            "reasons": REASONS,
            "sources": SOURCES,
            "reason": chosen_reason,
            "source": chosen_source,
            "can_run": u.role in (Role.precinct, Role.station, Role.city_police, Role.admin),
            "cfg": _json(
                {
                    "basemap": _basemap(),
                    "features": {"type": "FeatureCollection", "features": features},
                    "reasons": REASONS,
                    "sources": SOURCES,
                }
            ),
        }

    return _page(request, user, PLANNERS, build)


# --------------------------------------------------------------------------- nominations
def _nomination_context(session, actor: Actor, year: int | None) -> dict:
    program = session.get(ProgramYear, year) if year is not None else None
    if program is None:
        return {"title": "評鑑推薦", "program": None, "eligible": [], "nominations": []}
    settings = year_settings(program)
    nominations = evaluation.list_nominations(session, actor, program.year)
    nominated = {n["community_id"] for n in nominations}
    progress = monitoring.progress(session, actor, program.year)["communities"]
    eligible = [{**c, "nominated": c["community_id"] in nominated} for c in progress]
    mine = [n for n in nominations if n["precinct_id"] == actor.precinct_id]
    return {
        "title": "評鑑推薦",
        "program": program,
        "roc": roc_year(program.year),
        "limit": settings.nominations_per_precinct,
        "threshold": settings.evaluation_threshold,
        "eligible": eligible,
        "nominations": mine,
        "left": max(settings.nominations_per_precinct - len(mine), 0),
    }


@router.get("/app/nominations", response_class=HTMLResponse)
def nominations(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    year: int | None = None,
    done: str | None = None,
) -> Response:
    def build(u: User, actor: Actor):
        context = _nomination_context(session, actor, year or home.current_year(session))
        notice = {"nominated": "已送出推薦。", "withdrawn": "已撤回推薦。"}.get(done or "")
        return "pages/nominations.html", {**context, "notice": notice, "form": {}}

    return _page(request, user, NOMINATORS, build)


def _gated(request: Request, user: User | None, roles) -> User | Response:
    try:
        return _gate(request, user, roles)
    except _SignIn:
        return RedirectResponse(f"/login?next={quote('/app/nominations')}", status_code=303)


@router.post("/app/nominations", response_class=HTMLResponse, dependencies=[CsrfChecked])
def nominate(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    year: Annotated[int, Form()],
    application_id: Annotated[str, Form()] = "",
    preliminary_score: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    checked = _gated(request, user, NOMINATORS)
    if isinstance(checked, Response):
        return checked
    actor = Actor.from_user(checked)
    form = {
        "application_id": application_id,
        "preliminary_score": preliminary_score,
        "reason": reason,
    }
    field_errors: dict[str, str] = {}
    app_id = int(application_id) if application_id.strip().isdigit() else None
    if app_id is None:
        field_errors["application_id"] = "請選擇要推薦的社區。"
    try:
        score = Decimal(preliminary_score.strip())
        if not (0 <= score <= 100) or score.as_tuple().exponent < -2:
            raise InvalidOperation
    except InvalidOperation:
        score = None
        field_errors["preliminary_score"] = "初選成績請填 0 到 100 分（最多兩位小數）。"
    if len(reason) > 4000:
        field_errors["reason"] = "推薦理由請在 4000 字以內。"
    status, error = 400, None
    if not field_errors:
        try:
            # A savepoint: a refused nomination leaves nothing behind in this request.
            with session.begin_nested():
                evaluation.nominate(
                    session,
                    actor,
                    year,
                    evaluation.NominationIn(
                        application_id=app_id, preliminary_score=score, reason=reason
                    ),
                )
        except SafemapError as exc:
            status, error = status_for(exc), exc.message
        else:
            return RedirectResponse(f"/app/nominations?year={year}&done=nominated", 303)
    context = _nomination_context(session, actor, year)
    return render(
        request,
        "pages/nominations.html",
        {
            **context,
            "user": checked,
            "form": form,
            "field_errors": field_errors,
            "error": error or "推薦資料有誤，請依欄位說明修正。",
        },
        status_code=status,
    )


@router.post(
    "/app/nominations/{nomination_id}/withdraw",
    response_class=HTMLResponse,
    dependencies=[CsrfChecked],
)
def withdraw(
    request: Request,
    nomination_id: int,
    session: SessionDep,
    user: OptionalUser,
    year: Annotated[int, Form()],
) -> Response:
    checked = _gated(request, user, NOMINATORS)
    if isinstance(checked, Response):
        return checked
    actor = Actor.from_user(checked)
    try:
        with session.begin_nested():
            evaluation.withdraw_nomination(session, actor, nomination_id)
    except SafemapError as exc:
        context = _nomination_context(session, actor, year)
        return render(
            request,
            "pages/nominations.html",
            {**context, "user": checked, "form": {}, "error": exc.message},
            status_code=status_for(exc),
        )
    return RedirectResponse(f"/app/nominations?year={year}&done=withdrawn", 303)
