"""Server-rendered pages: sign-in, each person's home page, the public landing page.

Browsers sign in with a form and keep the same signed token as API clients, in an HttpOnly
cookie; every form carries a CSRF token (double-submit: a cookie and a hidden field).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from geo.errors import NotFound, PermissionDenied
from geo.models import Community, District, User
from workflow import home
from workflow.access import Actor
from workflow.auth import AuthenticationFailed, authenticate, issue_token

from ..deps import CSRF_COOKIE, SESSION_COOKIE, OptionalUser, SessionDep, SettingsDep, _csrf_ok

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parents[1] / "templates"))
STATIC = Path(__file__).resolve().parents[1] / "static"

router = APIRouter(include_in_schema=False)


def csrf_token(request: Request) -> str:
    return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)


def render(request: Request, template: str, context: dict, status_code: int = 200) -> HTMLResponse:
    token = csrf_token(request)
    context = {"request": request, "csrf": token, "field_errors": {}, **context}
    response = TEMPLATES.TemplateResponse(request, template, context, status_code=status_code)
    if request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(
            CSRF_COOKIE, token, httponly=False, samesite="lax", secure=request.url.scheme == "https"
        )
    return response


async def check_form_csrf(request: Request) -> None:
    """Pages' POSTs must echo the CSRF cookie in the form's ``csrf`` field."""
    form = await request.form()
    if not _csrf_ok(request, str(form.get("csrf") or "")):
        raise PermissionDenied(
            "表單已過期或來源不明，請重新整理頁面後再送出。", detail="page csrf mismatch"
        )


CsrfChecked = Depends(check_form_csrf)


def _safe_next(value: str | None) -> str:
    # Only paths of this site: never redirect a signed-in user to another host.
    if not value or not value.startswith("/") or value.startswith("//"):
        return "/app"
    return value


@router.get("/static/app/{name}")
def static_file(name: str) -> FileResponse:
    path = (STATIC / name).resolve()
    if path.parent != STATIC.resolve() or not path.is_file():
        raise NotFound(detail=f"static {name}")
    return FileResponse(path, headers={"Cache-Control": "public, max-age=3600"})


@router.get("/", response_class=HTMLResponse)
def landing(request: Request, session: SessionDep, user: OptionalUser) -> Response:
    rows = session.execute(
        select(Community.id, Community.name, District.name)
        .join(District, District.id == Community.district_id)
        .order_by(District.code, Community.name)
    ).all()
    communities = [{"id": r[0], "name": r[1], "district": r[2]} for r in rows]
    return render(
        request, "pages/landing.html", {"title": "首頁", "user": user, "communities": communities}
    )


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, user: OptionalUser, next: str | None = None) -> Response:
    if user is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(
        request, "pages/login.html", {"title": "登入", "user": None, "next": _safe_next(next)}
    )


@router.post("/login", response_class=HTMLResponse, dependencies=[CsrfChecked])
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/app",
) -> Response:
    field_errors = {}
    if not username.strip():
        field_errors["username"] = "請輸入帳號。"
    if not password:
        field_errors["password"] = "請輸入密碼。"
    context = {"title": "登入", "user": None, "username": username, "next": _safe_next(next)}
    if field_errors:
        return render(
            request, "pages/login.html", {**context, "field_errors": field_errors}, status_code=400
        )
    try:
        user = authenticate(session, username.strip(), password)
    except AuthenticationFailed as exc:
        return render(
            request, "pages/login.html", {**context, "error": exc.message}, status_code=401
        )
    minutes = settings.auth.token_minutes
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        issue_token(user, settings.auth.secret_key or "", minutes),
        max_age=minutes * 60,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout", dependencies=[CsrfChecked])
def logout() -> Response:
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _require_page_user(request: Request, user: User | None) -> User | Response:
    if user is None:
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    return user


LINKS = {
    "community": [
        ("社區安全檢測地圖", "/app/map"),
        ("年度申請", "/app/applications"),
        ("婦幼安全檢測（步行稽核）", "/app/audits"),
        ("監視器建議設置", "/app/cameras"),
        ("治安區塊與認養", "/app/blocks"),
        ("巡守路線", "/app/routes"),
        ("每月管考月報", "/app/reports"),
        ("經費核銷", "/app/claims"),
        ("匯出與匯入社區地圖", "/app/export"),
        ("民眾回報處理", "/app/triage"),
    ],
    "precinct": [
        ("轄區安全檢測地圖", "/app/map"),
        ("申請案初審", "/app/review"),
        ("治安死角與監視器規劃", "/app/analysis"),
        ("監視器設置規劃", "/app/planning"),
        ("治安死角清單", "/app/blindspots"),
        ("評鑑推薦", "/app/nominations"),
        ("民眾回報處理", "/app/triage"),
    ],
    "station": [
        ("轄區地圖", "/app/map"),
        ("申請案", "/app/review"),
        ("治安死角", "/app/analysis"),
        ("監視器設置規劃", "/app/planning"),
        ("治安死角清單", "/app/blindspots"),
        ("民眾回報處理", "/app/triage"),
    ],
    "district_office": [("轄區地圖", "/app/map"), ("申請案", "/app/review")],
    "city_police": [
        ("複審核定與名額", "/app/approvals"),
        ("全市涵蓋情形", "/app/dashboard"),
        ("全市分析", "/app/analysis"),
        ("全市監視器規劃", "/app/planning"),
        ("全市治安死角清單", "/app/blindspots"),
        ("民眾回報處理", "/app/triage"),
        ("評鑑、排名與獎項", "/app/evaluation"),
        ("敘獎", "/app/rewards"),
        ("匯出資料", "/app/exports"),
        ("API 文件", "/docs"),
    ],
    "leader": [("全市涵蓋情形", "/app/dashboard")],
    "counselling": [("評鑑評分表", "/app/evaluation")],
}
# The plan's other services (issue #8), each role the ones it uses; added to the lists above.
_SERVICES = {
    "community": [("防竊諮詢申請", "/services/consultations"), ("防災宣導申請", "/services/disaster-requests"),
                  ("婦幼保護通報與關懷訪視", "/services/protection"), ("守望相助隊", "/services/watch-teams"),
                  ("犯罪預防宣導", "/services/promotion-events"), ("社區治安「e話」", "/services/bulletins")],
    "station": [("防竊達人", "/services/consultations"), ("犯罪預防宣導", "/services/promotion-events"),
                ("守望相助隊", "/services/watch-teams"), ("社區治安「e話」", "/services/bulletins")],
    "precinct": [("防竊達人", "/services/consultations"), ("犯罪預防宣導", "/services/promotion-events"),
                 ("社區治安「e話」", "/services/bulletins")],
    "district_office": [("區治安「e話」", "/services/bulletins"), ("婦幼保護通報", "/services/protection")],
    "city_police": [("防竊諮詢統計", "/services/consultations/figures"), ("社區治安服務", "/services")],
    "fire_bureau": [("防災宣導申請案件", "/services/disaster-requests")],
    "social_affairs": [("婦幼保護通報與關懷訪視", "/services/protection")],
    "counselling": [("社區治安服務統計", "/services")],
    "leader": [("社區治安服務統計", "/services")],
}  # fmt: skip
for _role, _links in _SERVICES.items():
    LINKS.setdefault(_role, []).extend(_links)


@router.get("/app", response_class=HTMLResponse)
def app_home(request: Request, session: SessionDep, user: OptionalUser) -> Response:
    checked = _require_page_user(request, user)
    if isinstance(checked, Response):
        return checked
    actor = Actor.from_user(checked)
    links = [{"label": label, "href": href} for label, href in LINKS.get(checked.role.value, [])]
    links.append({"label": "OGC 圖層服務（QGIS）", "href": "/ogc"})
    scope = (
        checked.precinct.name
        if checked.precinct
        else (checked.district.name if checked.district else None)
    )
    if checked.organisation:
        scope = checked.organisation.name
    return render(
        request,
        "pages/home.html",
        {
            "title": "首頁",
            "user": checked,
            "items": home.waiting(session, actor),
            "links": links,
            "scope_label": scope,
        },
    )
