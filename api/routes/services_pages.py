"""HTML pages of the plan's other services: lists and details for each, the printable written
request to the fire bureau, and the 「e話」 as a printable page and as e-mail-ready HTML.

Pages read through the same services (and so the same access rules and audit) as the API;
they are zh-TW, dates in the ROC calendar, with their CSS inline - no CDN, no web fonts.
The forms that act on these pages are in ``services_form_pages``; both are registered by
``pages`` below, the forms first so that ``/services/x/new`` is not read as a record id.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from geo.enums import Role
from geo.enums_services import (
    ChecklistItem,
    ChecklistRating,
    ConsultationReason,
    DisasterTopic,
    PromotionOccasion,
    PromotionTopic,
    ProtectionKind,
)
from workflow import bulletins, consultations, disaster, promotion, protection, watch_teams
from workflow.access import Actor
from workflow.layers import hazard_categories
from workflow.roc import roc_date, roc_month, roc_year
from workflow.services_access import (
    COMMUNITY_BULLETIN_EDITORS,
    CONSULTATION_FILERS,
    CONSULTATION_OFFICERS,
    DISTRICT_BULLETIN_EDITORS,
    PROTECTION_FILERS,
    PROTECTION_READER,
)

from ..deps import CSRF_COOKIE, ActorDep, SessionDep, SignedInActor
from .pages import csrf_token

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
LOCAL = ZoneInfo("Asia/Taipei")
WEEKDAYS = "一二三四五六日"

_pages = APIRouter(prefix="/services", tags=["服務頁面"], include_in_schema=False)


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


def _count(value) -> str:
    """A figure that may be suppressed (``None``, see ``consultations.SMALL_COUNT``)."""
    return f"<{consultations.SMALL_COUNT}" if value is None else str(value)


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
        count=_count,
    )
    t.env.globals.update(
        checklist_items=list(ChecklistItem),
        checklist_ratings=ChecklistRating.labels(),
        consultation_reasons=list(ConsultationReason),
        disaster_topics=list(DisasterTopic),
        promotion_topics=list(PromotionTopic),
        promotion_occasions=list(PromotionOccasion),
        protection_kinds=list(ProtectionKind),
        weekday_names=WEEKDAYS,
        options=lambda members: [(m.value, m.label) for m in members],
        hazard_categories=lambda: [(k, c["label"]) for k, c in hazard_categories().items()],
        roc_year=roc_year,
    )
    return t


class Typed:
    """What the person typed, for the template to put back: ``get`` one value, ``has`` a
    checked box or selected option of a multi-valued field."""

    def __init__(self, data: dict[str, list[str]] | None = None):
        self.data = data or {}

    @classmethod
    def of(cls, **values: Any) -> Typed:
        def as_list(v):
            if v is None:
                return []
            if isinstance(v, list | tuple):
                return [str(x) for x in v]
            if isinstance(v, bool):
                return ["on"] if v else []
            return [v.isoformat() if hasattr(v, "isoformat") else str(v)]

        return cls({k: as_list(v) for k, v in values.items()})

    def get(self, key: str, default: str = "") -> str:
        values = self.data.get(key)
        return values[0] if values else default

    def has(self, key: str, value: str = "on") -> bool:
        return str(value) in self.data.get(key, [])

    def __contains__(self, key: str) -> bool:
        return key in self.data


def can(actor: Actor) -> dict[str, bool]:
    """Which forms the actor's role may use (the rules are in ``workflow.services_access`` and
    the services; the pages only hide forms a role could not submit anyway)."""
    role = actor.role
    return {
        "file_consultation": role in CONSULTATION_FILERS,
        "officer": role in CONSULTATION_OFFICERS,
        "file_disaster": role in disaster.FILERS,
        "fire": role is Role.fire_bureau,
        "file_protection": role in PROTECTION_FILERS,
        "protection_reader": role is PROTECTION_READER,
        "promotion": role in promotion.WRITERS,
        "bulletin": role in COMMUNITY_BULLETIN_EDITORS | DISTRICT_BULLETIN_EDITORS,
        "watch": role in watch_teams.WRITERS,
    }


def render(
    request: Request, name: str, actor: Actor, status_code: int = 200, **context
) -> HTMLResponse:
    """A services page; signed-in pages carry the CSRF token their forms echo."""
    token = csrf_token(request)
    context.setdefault("values", Typed())
    context.setdefault("field_errors", {})
    response = templates().TemplateResponse(
        request,
        f"services/{name}",
        {
            "actor": actor,
            "role_label": actor.role.label if actor.role else "訪客",
            "csrf": token,
            "can": can(actor),
            **context,
        },
        status_code=status_code,
    )
    if actor.anonymous:
        response.headers["Cache-Control"] = "public, max-age=300"
    else:
        # Signed-in pages carry jurisdiction-bound data: never in a shared cache.
        response.headers["Cache-Control"] = "private, no-store"
        if request.cookies.get(CSRF_COOKIE) != token:
            response.set_cookie(
                CSRF_COOKIE,
                token,
                httponly=False,
                samesite="lax",
                secure=request.url.scheme == "https",
            )
    return response


# Kept for the modules that imported the old name.
_render = render


def _year(year: int | None) -> int:
    return year or dt.date.today().year


def listing(
    request: Request,
    actor: Actor,
    template: str,
    *,
    year: int | None = None,
    **parts: Callable[[], Any],
) -> HTMLResponse:
    """A service's list page: each part (the page of records, the year's figures, reminders)
    is read through its service and handed to the template under its name."""
    return render(request, template, actor, year=year, **{k: read() for k, read in parts.items()})


# --------------------------------------------------------------------------- index
@_pages.get("", response_class=HTMLResponse)
def index(request: Request, actor: ActorDep) -> HTMLResponse:
    links = [("/services/bulletins", "社區警政治安「e話」")]
    if not actor.anonymous:
        if actor.role in CONSULTATION_FILERS:
            links.append(("/services/consultations", "防竊達人（防竊諮詢）"))
        links += [
            ("/services/consultations/figures", "防竊諮詢統計（村里）"),
            ("/services/disaster-requests", "防災宣導申請"),
            ("/services/promotion-events", "犯罪預防宣導"),
            ("/services/watch-teams", "守望相助隊"),
        ]
        if actor.role is PROTECTION_READER or actor.role in PROTECTION_FILERS:
            links.append(("/services/protection", "婦幼安全保護通報與關懷訪視"))
    return render(request, "index.html", actor, links=links)


# --------------------------------------------------------------------------- 防竊達人
@_pages.get("/consultations", response_class=HTMLResponse)
def consultation_list(
    request: Request,
    session: SessionDep,
    actor: SignedInActor,
    status: str | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    if actor.role not in CONSULTATION_OFFICERS and actor.role in CONSULTATION_FILERS:
        # A community organisation follows the requests it filed, as receipts only.
        return listing(
            request,
            actor,
            "consultations.html",
            filed=lambda: consultations.list_filed_by_me(session, actor),
        )
    return listing(
        request,
        actor,
        "consultations.html",
        page=lambda: consultations.list_consultations(session, actor, status=status, offset=offset),
        reminders=lambda: consultations.reminders(session, actor),
    )


@_pages.get("/consultations/figures", response_class=HTMLResponse)
def consultation_figures(
    request: Request, session: SessionDep, actor: SignedInActor, year: int | None = None
) -> HTMLResponse:
    return listing(
        request,
        actor,
        "consultation_figures.html",
        figures=lambda: consultations.figures(session, actor, year=_year(year)),
    )


@_pages.get("/consultations/{consultation_id}", response_class=HTMLResponse)
def consultation_detail(
    consultation_id: int, request: Request, session: SessionDep, actor: ActorDep
) -> HTMLResponse:
    item = consultations.get(session, actor, consultation_id)
    return render(request, "consultation.html", actor, item=item)


# --------------------------------------------------------------------------- 消防局
@_pages.get("/disaster-requests", response_class=HTMLResponse)
def disaster_list(
    request: Request,
    session: SessionDep,
    actor: SignedInActor,
    status: str | None = None,
    year: int | None = None,
) -> HTMLResponse:
    return listing(
        request,
        actor,
        "disaster_requests.html",
        page=lambda: disaster.list_requests(session, actor, status=status, year=year),
        figures=lambda: disaster.figures(session, actor, year=_year(year)),
    )


@_pages.get("/disaster-requests/blank-form", response_class=HTMLResponse)
def disaster_blank_form(request: Request, actor: ActorDep) -> HTMLResponse:
    """The written request (書面申請) to print and fill in by hand."""
    return render(request, "disaster_form.html", actor, item=None, today=dt.date.today())


@_pages.get("/disaster-requests/{request_id}", response_class=HTMLResponse)
def disaster_detail(
    request_id: int, request: Request, session: SessionDep, actor: ActorDep
) -> HTMLResponse:
    item = disaster.get(session, actor, request_id)
    return render(request, "disaster_request.html", actor, item=item)


@_pages.get("/disaster-requests/{request_id}/form", response_class=HTMLResponse)
def disaster_form(
    request_id: int, request: Request, session: SessionDep, actor: ActorDep
) -> HTMLResponse:
    item = disaster.form_context(session, actor, request_id)
    return render(request, "disaster_form.html", actor, item=item, today=dt.date.today())


# --------------------------------------------------------------------------- 社會局
@_pages.get("/protection", response_class=HTMLResponse)
def protection_list(
    request: Request, session: SessionDep, actor: ActorDep, status: str | None = None
) -> HTMLResponse:
    return listing(
        request,
        actor,
        "protection.html",
        referrals=lambda: protection.list_referrals(session, actor, status=status, via="page"),
        visits=lambda: protection.list_care_visits(session, actor, status=status, via="page"),
        is_reader=lambda: actor.role is PROTECTION_READER,
    )


@_pages.get("/protection/referrals/{referral_id}", response_class=HTMLResponse)
def referral_detail(
    referral_id: int, request: Request, session: SessionDep, actor: ActorDep
) -> HTMLResponse:
    item = protection.get_referral(session, actor, referral_id, via="page")
    return render(request, "referral.html", actor, item=item)


@_pages.get("/protection/care-visits/{visit_id}", response_class=HTMLResponse)
def care_visit_detail(
    visit_id: int, request: Request, session: SessionDep, actor: ActorDep
) -> HTMLResponse:
    item = protection.get_care_visit(session, actor, visit_id, via="page")
    return render(request, "care_visit.html", actor, item=item)


# --------------------------------------------------------------------------- 宣導
@_pages.get("/promotion-events", response_class=HTMLResponse)
def promotion_list(
    request: Request, session: SessionDep, actor: SignedInActor, year: int | None = None
) -> HTMLResponse:
    y = _year(year)
    return listing(
        request,
        actor,
        "promotion_events.html",
        year=y,
        page=lambda: promotion.list_events(session, actor, year=y),
        figures=lambda: promotion.figures(session, actor, year=y),
    )


@_pages.get("/promotion-events/{event_id}", response_class=HTMLResponse)
def promotion_detail(
    event_id: int, request: Request, session: SessionDep, actor: ActorDep
) -> HTMLResponse:
    item = promotion.get(session, actor, event_id)
    return render(request, "promotion_event.html", actor, item=item)


# --------------------------------------------------------------------------- 「e話」
@_pages.get("/bulletins", response_class=HTMLResponse)
def bulletin_archive(
    request: Request, session: SessionDep, actor: ActorDep, year: int | None = None
) -> HTMLResponse:
    return listing(
        request,
        actor,
        "bulletins.html",
        page=lambda: bulletins.list_issues(session, actor, year=year, limit=500),
    )


@_pages.get("/bulletins/{issue_id}", response_class=HTMLResponse)
def bulletin_print(
    issue_id: int, request: Request, session: SessionDep, actor: ActorDep
) -> HTMLResponse:
    issue = bulletins.get(session, actor, issue_id)
    return render(request, "bulletin.html", actor, issue=issue)


@_pages.get("/bulletins/{issue_id}/email", response_class=HTMLResponse)
def bulletin_email(
    issue_id: int, request: Request, session: SessionDep, actor: ActorDep
) -> HTMLResponse:
    """The same issue as e-mail-ready HTML: tables and inline styles only."""
    issue = bulletins.get(session, actor, issue_id)
    return render(request, "bulletin_email.html", actor, issue=issue)


# --------------------------------------------------------------------------- 守望相助隊
@_pages.get("/watch-teams", response_class=HTMLResponse)
def watch_team_list(
    request: Request, session: SessionDep, actor: SignedInActor, year: int | None = None
) -> HTMLResponse:
    y = _year(year)
    return listing(
        request,
        actor,
        "watch_teams.html",
        year=y,
        figures=lambda: watch_teams.figures(session, actor, year=y),
    )


@_pages.get("/watch-teams/{team_id}", response_class=HTMLResponse)
def watch_team_detail(
    team_id: int, request: Request, session: SessionDep, actor: ActorDep
) -> HTMLResponse:
    team = watch_teams.team_detail(session, actor, team_id)
    return render(request, "watch_team.html", actor, team=team)


@_pages.get("/patrol-logs/{log_id}", response_class=HTMLResponse)
def patrol_log_detail(
    log_id: int, request: Request, session: SessionDep, actor: ActorDep
) -> HTMLResponse:
    log = watch_teams.get_patrol_log(session, actor, log_id)
    return render(request, "patrol_log.html", actor, log=log)


def _router() -> APIRouter:
    from .services_form_pages import forms

    router = APIRouter(include_in_schema=False)
    router.include_router(forms)
    router.include_router(_pages)
    return router


pages = _router()
