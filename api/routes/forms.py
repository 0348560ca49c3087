"""The plan's forms (附件1–9), certificates and the year's printouts: printable HTML pages
(A4, zh-TW, ROC dates; no CDN, no web fonts) and XLSX exports of the same documents."""

from __future__ import annotations

import datetime as dt
import functools
import io
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from workflow import evaluation_service, forms
from workflow.roc import ntd, roc_date, roc_year

from ..deps import SessionDep, SignedInActor

router = APIRouter(tags=["年度作業：表單與名冊（附件1–9）"])
TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "forms"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Fmt = Literal["html", "xlsx"]


@functools.cache
def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["roc_date"] = roc_date
    env.filters["ntd"] = ntd
    return env


def _page(template: str, **context) -> HTMLResponse:
    html = _env().get_template(template).render(**context)
    return HTMLResponse(html, headers={"Cache-Control": "private, no-store"})


def _send(doc: forms.Document, fmt: Fmt) -> Response:
    if fmt == "html":
        return _page("document.html", doc=doc)
    name = quote(f"{doc.filename}.xlsx")
    return StreamingResponse(
        io.BytesIO(forms.xlsx(doc)),
        media_type=XLSX,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{name}",
            "Cache-Control": "private, no-store",
        },
    )


@router.get(
    "/applications/{application_id}/form.{fmt}",
    summary="附件1 申請表（列印頁或 XLSX）",
    response_class=Response,
)
def form1(application_id: int, fmt: Fmt, session: SessionDep, actor: SignedInActor) -> Response:
    return _send(forms.form1(session, actor, application_id), fmt)


@router.get(
    "/program-years/{year}/forms/{code}.{fmt}",
    summary="附件2–9（列印頁或 XLSX）：名冊、推動小組、輔導團隊、顧問、分工表、獎勵基準表",
    response_class=Response,
)
def year_form(
    year: int,
    code: Literal["2", "3", "4", "5", "6", "7", "8", "9"],
    fmt: Fmt,
    session: SessionDep,
    actor: SignedInActor,
) -> Response:
    return _send(forms.year_form(session, actor, year, code), fmt)


@router.get(
    "/program-years/{year}/printouts/{name}.{fmt}",
    summary="評鑑成績、獎勵核算、管考進度（列印頁或 XLSX）",
    response_class=Response,
)
def printout(
    year: int,
    name: Literal["results", "rewards", "progress"],
    fmt: Fmt,
    session: SessionDep,
    actor: SignedInActor,
    as_of: dt.date | None = None,
) -> Response:
    if name == "results":
        doc = forms.results_doc(session, actor, year)
    elif name == "rewards":
        doc = forms.rewards_doc(session, actor, year)
    else:
        doc = forms.progress_doc(session, actor, year, as_of)
    return _send(doc, fmt)


@router.get(
    "/program-years/{year}/evaluation/certificates.html",
    summary="認證證書（列印頁，每張一頁）",
    response_class=HTMLResponse,
)
def certificates(year: int, session: SessionDep, actor: SignedInActor) -> HTMLResponse:
    items = evaluation_service.certificates(session, actor, year)
    return _page("certificate.html", items=items, roc_year=roc_year(year))


@router.get(
    "/program-years/{year}/evaluation/certificates/{community_id}.html",
    summary="單一社區認證證書（列印頁）",
    response_class=HTMLResponse,
)
def certificate(
    year: int, community_id: int, session: SessionDep, actor: SignedInActor
) -> HTMLResponse:
    items = evaluation_service.certificates(session, actor, year, community_id)
    return _page("certificate.html", items=items, roc_year=roc_year(year))
