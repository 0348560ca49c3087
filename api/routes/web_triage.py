"""Triage of residents' reports: the page ``/app/triage`` and the JSON API
``/api/resident-reports`` (issue #7, item 6). Who sees which report is
``workflow.access.resident_report_filter``; the moves are ``workflow.resident_reports``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from geo.enums import Role
from geo.models import User
from workflow import resident_reports as rr
from workflow.access import Actor
from workflow.layers import hazard_categories

from ..deps import OptionalUser, SessionDep, SettingsDep, SignedInActor
from .reports_public import sender
from .web import _basemap, _communities, _json, _page

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/resident-reports", tags=["民眾回報"])

PAGE_ROLES = (Role.community, Role.station, Role.precinct, Role.city_police)


# --------------------------------------------------------------------------- page
@router.get("/app/triage", response_class=HTMLResponse)
def triage_page(request: Request, session: SessionDep, user: OptionalUser) -> Response:
    def build(u: User, actor: Actor):
        reports = rr.list_reports(session, actor)
        waiting = [r for r in reports if r["status"] == "new"]
        done = [r for r in reports if r["status"] != "new"]
        return "pages/triage.html", {
            "title": "民眾回報處理",
            "waiting": waiting,
            "done": done,
            "communities": _communities(session, actor),
            "radius": int(rr.DUPLICATE_RADIUS_M),
            "cfg": _json(
                {
                    "reports": reports,
                    "basemap": _basemap(),
                    "colors": {
                        c["code"]: c.get("color", "#b2182b") for c in hazard_categories().values()
                    },
                }
            ),
        }

    return _page(request, user, PAGE_ROLES, build)


# --------------------------------------------------------------------------- API
class ResidentReportCreate(BaseModel):
    """A resident's report. Values are checked by the service, which names each wrong field in
    zh-TW; ``website`` must stay empty (it is the form's hidden anti-spam field)."""

    lon: float | str | None = Field(None, description="經度（WGS84）")
    lat: float | str | None = Field(None, description="緯度（WGS84）")
    category: str = Field("", description="問題類別代碼（同安全檢測地圖）")
    time_of_day: str = Field("", description="day、night 或 both")
    description: str = ""
    place: str = Field("", description="地點說明（地標、巷弄，不必填地址）")
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""
    community_id: int | None = None
    website: str = ""


class ResidentReportCreated(BaseModel):
    id: int
    reference: str
    status: str
    status_label: str


class TriageAction(BaseModel):
    action: str = Field(description="accept（列為問題點）、merge（併入）或 dismiss（不予處理）")
    hazard_id: int | None = Field(None, description="merge：併入的問題點")
    reason: str | None = Field(None, description="dismiss：理由")
    severity: int | None = Field(None, description="accept：嚴重程度 1–5（預設 3）")
    title: str | None = Field(None, description="accept：問題點標題")
    community_id: int | None = Field(None, description="accept：列入的社區（預設為回報所在社區）")


@api_router.post("", status_code=201, response_model=ResidentReportCreated)
def create_report(
    body: ResidentReportCreate,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
) -> dict:
    """Anyone may report (no account); the same honeypot and hourly limit as the form."""
    return rr.submit(
        session,
        rr.ReportInput(**body.model_dump()),
        sender=sender(request),
        secret=settings.auth.secret_key or "",
    )


@api_router.get("")
def list_reports(
    session: SessionDep,
    actor: SignedInActor,
    status: Annotated[str | None, Query(description="new、accepted、merged、dismissed")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> dict[str, Any]:
    """Reports in the caller's jurisdiction, each with nearby duplicates (nearest first)."""
    items = rr.list_reports(session, actor, status=status, limit=limit)
    return {"items": items, "radius_m": rr.DUPLICATE_RADIUS_M}


@api_router.get("/{report_id}")
def get_report(report_id: int, session: SessionDep, actor: SignedInActor) -> dict:
    return rr.get_report(session, actor, report_id)


@api_router.get("/{report_id}/photo")
def get_photo(report_id: int, session: SessionDep, actor: SignedInActor) -> Response:
    data, kind, _name = rr.get_photo(session, actor, report_id)
    # A resident's photo may show faces and plates: never cached, never sniffed as anything else.
    headers = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}
    return Response(data, media_type=kind, headers=headers)


@api_router.post("/{report_id}/triage")
def triage(report_id: int, body: TriageAction, session: SessionDep, actor: SignedInActor) -> dict:
    """Accept (a new hazard), merge into a hazard, or dismiss with a reason: one transaction."""
    return rr.triage(
        session,
        actor,
        report_id,
        body.action,
        hazard_id=body.hazard_id,
        reason=body.reason,
        severity=body.severity,
        title=body.title,
        community_id=body.community_id,
    )
