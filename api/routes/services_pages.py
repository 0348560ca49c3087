"""HTML pages of the plan's other services: lists and details for each, the printable written
request to the fire bureau, and the 「e話」 as a printable page and as e-mail-ready HTML.

Pages read through the same services (and so the same access rules and audit) as the API;
they are zh-TW, dates in the ROC calendar, with their CSS inline - no CDN, no web fonts.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from geo.enums import Role
from geo.enums_services import (
    ChecklistItem,
    ChecklistRating,
    DisasterTopic,
    PromotionTopic,
)
from workflow import bulletins, consultations, disaster, promotion, protection, watch_teams
from workflow.access import Actor
from workflow.roc import roc_date, roc_month, roc_year
from workflow.services_access import CONSULTATION_OFFICERS, PROTECTION_FILERS, PROTECTION_READER

from ..deps import ActorDep, SessionDep, SignedInActor

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
LOCAL = ZoneInfo("Asia/Taipei")
WEEKDAYS = "一二三四五六日"

pages = APIRouter(prefix="/services", tags=["服務頁面"], include_in_schema=False)


def _as_date(value):
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value


def _roc_datetime(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    local = value.astimezone(LOCAL)
    return f"{roc_date(local)} {local:%H:%M}"


def _hhmm(value: dt.time | None) -> str:
    return "" if value is None else value.strftime("%H:%M")


def _weekdays(days: list[int]) -> str:
    return "、".join(f"週{WEEKDAYS[d - 1]}" for d in days)


@functools.cache
def templates() -> Jinja2Templates:
    """The template environment, built on first use (not at import)."""
    t = Jinja2Templates(directory=str(TEMPLATES))
    t.env.filters.update(
        roc=lambda v: roc_date(_as_date(v)),
        roc_month=lambda v: roc_month(_as_date(v)),
        roc_datetime=_roc_datetime,
        hhmm=_hhmm,
        weekdays=_weekdays,
    )
    t.env.globals.update(
        checklist_items=list(ChecklistItem),
        checklist_ratings=ChecklistRating.labels(),
        disaster_topics=list(DisasterTopic),
        promotion_topics=list(PromotionTopic),
        roc_year=roc_year,
    )
    return t


def _render(request: Request, name: str, actor: Actor, **context) -> HTMLResponse:
    response = templates().TemplateResponse(
        request,
        f"services/{name}",
        {"actor": actor, "role_label": actor.role.label if actor.role else "訪客", **context},
    )
    if actor.anonymous:
        response.headers["Cache-Control"] = "public, max-age=300"
    else:
        # Signed-in pages carry jurisdiction-bound data: never in a shared cache.
        response.headers["Cache-Control"] = "private, no-store"
    return response


def _year(year: int | None) -> int:
    return year or dt.date.today().year


# --------------------------------------------------------------------------- index
@pages.get("", response_class=HTMLResponse)
def index(request: Request, actor: ActorDep) -> HTMLResponse:
    links = [("/services/bulletins", "社區警政治安「e話」")]
    if not actor.anonymous:
        if actor.role in CONSULTATION_OFFICERS:
            links.append(("/services/consultations", "防竊達人（防竊諮詢）"))
        links += [
            ("/services/consultations/figures", "防竊諮詢統計（村里）"),
            ("/services/disaster-requests", "防災宣導申請"),
            ("/services/promotion-events", "犯罪預防宣導"),
            ("/services/watch-teams", "守望相助隊"),
        ]
        if actor.role is PROTECTION_READER or actor.role in PROTECTION_FILERS:
            links.append(("/services/protection", "婦幼安全保護通報與關懷訪視"))
    return _render(request, "index.html", actor, links=links)


# --------------------------------------------------------------------------- 防竊達人
@pages.get("/consultations", response_class=HTMLResponse)
def consultation_list(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    status: str | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    page = consultations.list_consultations(session, actor, status=status, offset=offset)
    due = consultations.reminders(session, actor)
    return _render(request, "consultations.html", actor, page=page, reminders=due)


@pages.get("/consultations/figures", response_class=HTMLResponse)
def consultation_figures(
    request: Request, session: SessionDep, actor: SignedInActor, year: int | None = None
) -> HTMLResponse:
    data = consultations.figures(session, actor, year=_year(year))
    return _render(request, "consultation_figures.html", actor, figures=data)


@pages.get("/consultations/{consultation_id}", response_class=HTMLResponse)
def consultation_detail(
    consultation_id: int, request: Request, session: SessionDep, actor: ActorDep
) -> HTMLResponse:
    item = consultations.get(session, actor, consultation_id)
    return _render(request, "consultation.html", actor, item=item)


# --------------------------------------------------------------------------- 消防局
@pages.get("/disaster-requests", response_class=HTMLResponse)
def disaster_list(
    request: Request,
    session: SessionDep,
    actor: SignedInActor,
    status: str | None = None,
    year: int | None = None,
) -> HTMLResponse:
    page = disaster.list_requests(session, actor, status=status, year=year)
    data = disaster.figures(session, actor, year=_year(year))
    return _render(request, "disaster_requests.html", actor, page=page, figures=data)


@pages.get("/disaster-requests/blank-form", response_class=HTMLResponse)
def disaster_blank_form(request: Request, actor: ActorDep) -> HTMLResponse:
    """The written request (書面申請) to print and fill in by hand."""
    return _render(request, "disaster_form.html", actor, item=None, today=dt.date.today())


@pages.get("/disaster-requests/{request_id}", response_class=HTMLResponse)
def disaster_detail(
    request_id: int, request: Request, session: SessionDep, actor: ActorDep
) -> HTMLResponse:
    item = disaster.get(session, actor, request_id)
    return _render(request, "disaster_request.html", actor, item=item)


@pages.get("/disaster-requests/{request_id}/form", response_class=HTMLResponse)
def disaster_form(
    request_id: int, request: Request, session: SessionDep, actor: ActorDep
) -> HTMLResponse:
    item = disaster.form_context(session, actor, request_id)
    return _render(request, "disaster_form.html", actor, item=item, today=dt.date.today())


# --------------------------------------------------------------------------- 社會局
@pages.get("/protection", response_class=HTMLResponse)
def protection_list(
    request: Request, session: SessionDep, actor: ActorDep, status: str | None = None
) -> HTMLResponse:
    referrals = protection.list_referrals(session, actor, status=status, via="page")
    visits = protection.list_care_visits(session, actor, status=status, via="page")
    return _render(
        request,
        "protection.html",
        actor,
        referrals=referrals,
        visits=visits,
        is_reader=actor.role is Role.social_affairs,
    )


@pages.get("/protection/referrals/{referral_id}", response_class=HTMLResponse)
def referral_detail(
    referral_id: int, request: Request, session: SessionDep, actor: ActorDep
) -> HTMLResponse:
    item = protection.get_referral(session, actor, referral_id, via="page")
    return _render(request, "referral.html", actor, item=item)


@pages.get("/protection/care-visits/{visit_id}", response_class=HTMLResponse)
def care_visit_detail(
    visit_id: int, request: Request, session: SessionDep, actor: ActorDep
) -> HTMLResponse:
    item = protection.get_care_visit(session, actor, visit_id, via="page")
    return _render(request, "care_visit.html", actor, item=item)


# --------------------------------------------------------------------------- 宣導
@pages.get("/promotion-events", response_class=HTMLResponse)
def promotion_list(
    request: Request, session: SessionDep, actor: SignedInActor, year: int | None = None
) -> HTMLResponse:
    y = _year(year)
    page = promotion.list_events(session, actor, year=y)
    data = promotion.figures(session, actor, year=y)
    return _render(request, "promotion_events.html", actor, page=page, figures=data, year=y)


@pages.get("/promotion-events/{event_id}", response_class=HTMLResponse)
def promotion_detail(
    event_id: int, request: Request, session: SessionDep, actor: ActorDep
) -> HTMLResponse:
    item = promotion.get(session, actor, event_id)
    return _render(request, "promotion_event.html", actor, item=item)


# --------------------------------------------------------------------------- 「e話」
@pages.get("/bulletins", response_class=HTMLResponse)
def bulletin_archive(
    request: Request, session: SessionDep, actor: ActorDep, year: int | None = None
) -> HTMLResponse:
    page = bulletins.list_issues(session, actor, year=year, limit=500)
    return _render(request, "bulletins.html", actor, page=page)


@pages.get("/bulletins/{issue_id}", response_class=HTMLResponse)
def bulletin_print(
    issue_id: int, request: Request, session: SessionDep, actor: ActorDep
) -> HTMLResponse:
    issue = bulletins.get(session, actor, issue_id)
    return _render(request, "bulletin.html", actor, issue=issue)


@pages.get("/bulletins/{issue_id}/email", response_class=HTMLResponse)
def bulletin_email(
    issue_id: int, request: Request, session: SessionDep, actor: ActorDep
) -> HTMLResponse:
    """The same issue as e-mail-ready HTML: tables and inline styles only."""
    issue = bulletins.get(session, actor, issue_id)
    return _render(request, "bulletin_email.html", actor, issue=issue)


# --------------------------------------------------------------------------- 守望相助隊
@pages.get("/watch-teams", response_class=HTMLResponse)
def watch_team_list(
    request: Request, session: SessionDep, actor: SignedInActor, year: int | None = None
) -> HTMLResponse:
    y = _year(year)
    data = watch_teams.figures(session, actor, year=y)
    return _render(request, "watch_teams.html", actor, figures=data, year=y)


@pages.get("/watch-teams/{team_id}", response_class=HTMLResponse)
def watch_team_detail(
    team_id: int, request: Request, session: SessionDep, actor: ActorDep
) -> HTMLResponse:
    team = watch_teams.team_detail(session, actor, team_id)
    return _render(request, "watch_team.html", actor, team=team)
