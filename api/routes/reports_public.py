"""The residents' public form to report a safety concern (issue #7, item 6): anonymous,
zh-TW, made for a phone. The rules (honeypot, hourly limit, validation) are
``workflow.resident_reports``; this module only reads the form and renders the pages."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from geo.errors import InvalidInput
from workflow import resident_reports as rr

from ..deps import OptionalUser, SessionDep, SettingsDep
from .pages import CsrfChecked, render
from .web import _basemap, _json

router = APIRouter(include_in_schema=False)

REFERENCE = re.compile(r"^\d{2,3}-\d{5,}$")


def sender(request: Request) -> str:
    """The address the hourly limit counts by (the proxy in front, if any, must pass the
    client's own address on, e.g. ``uvicorn --proxy-headers``)."""
    return request.client.host if request.client else "unknown"


def _community(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _form(
    request: Request,
    session,
    user,
    community_id: int | None,
    values: dict,
    *,
    field_errors: dict | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    options = rr.form_options(session, community_id)
    community = options["community"]
    cfg = {
        "basemap": _basemap(),
        "center": community["center"] if community else None,
        "point": [values.get("lat"), values.get("lon")]
        if values.get("lat") and values.get("lon")
        else None,
    }
    return render(
        request,
        "pages/report_form.html",
        {
            "title": "回報治安疑慮",
            "user": user,
            "options": options,
            "community": community,
            "values": values,
            "field_errors": field_errors or {},
            "error": error,
            "cfg": _json(cfg),
            "limits": {
                "description_min": rr.DESCRIPTION_MIN,
                "description_max": rr.DESCRIPTION_MAX,
                "rate": rr.RATE_LIMIT,
            },
        },
        status_code=status_code,
    )


@router.get("/public/report", response_class=HTMLResponse)
def report_form(
    request: Request, session: SessionDep, user: OptionalUser, community: str | None = None
) -> Response:
    cid = _community(community)
    return _form(request, session, user, cid, {"community_id": cid})


@router.post("/public/report", response_class=HTMLResponse, dependencies=[CsrfChecked])
def report_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: OptionalUser,
    lon: Annotated[str, Form()] = "",
    lat: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "",
    time_of_day: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    place: Annotated[str, Form()] = "",
    contact_name: Annotated[str, Form()] = "",
    contact_phone: Annotated[str, Form()] = "",
    contact_email: Annotated[str, Form()] = "",
    community_id: Annotated[str, Form()] = "",
    website: Annotated[str, Form()] = "",
    photo: Annotated[UploadFile | None, File()] = None,
) -> Response:
    values = {
        "lon": lon, "lat": lat, "category": category, "time_of_day": time_of_day,
        "description": description, "place": place, "contact_name": contact_name,
        "contact_phone": contact_phone, "contact_email": contact_email,
        "community_id": _community(community_id),
    }  # fmt: skip
    data = photo.file.read(rr.MAX_PHOTO_BYTES + 1) if photo is not None and photo.filename else None
    try:
        result = rr.submit(
            session,
            rr.ReportInput(
                **values,
                website=website,
                photo=data or None,
                photo_name=photo.filename if photo is not None else None,
            ),
            sender=sender(request),
            secret=settings.auth.secret_key or "",
        )
    except rr.ReportInvalid as exc:
        return _form(
            request,
            session,
            user,
            values["community_id"],
            values,
            field_errors=exc.fields,
            error="回報還沒有送出：請修正標示的欄位。",
            status_code=400,
        )
    except (rr.RateLimited, InvalidInput) as exc:
        return _form(
            request,
            session,
            user,
            values["community_id"],
            values,
            error=exc.message,
            status_code=429 if isinstance(exc, rr.RateLimited) else 400,
        )
    return RedirectResponse(f"/public/report/thanks?ref={result['reference']}", status_code=303)


@router.get("/public/report/thanks", response_class=HTMLResponse)
def report_thanks(request: Request, user: OptionalUser, ref: str = "") -> Response:
    return render(
        request,
        "pages/report_thanks.html",
        {"title": "感謝您的回報", "user": user, "reference": ref if REFERENCE.match(ref) else None},
    )
