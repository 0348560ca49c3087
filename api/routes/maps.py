"""Web maps (HTML pages built with Folium) for the caller, and the map pages' own assets.

Each map is built for the caller by ``workflow.maps``: signed-in maps carry the bearer
token's role and jurisdiction, the ``/maps/public/...`` maps are the same for everyone and
never show cameras, incidents or blind spots. Pages load scripts and styles from this app
only (``/static/vendor`` from the npm packages installed at setup, ``/static/maps``), which
their Content-Security-Policy enforces; only the basemap tiles come from elsewhere.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import FileResponse, HTMLResponse

from geo.errors import NotFound
from maps import assets
from workflow import maps as service
from workflow.access import ANONYMOUS

from ..deps import SessionDep, SignedInActor

router = APIRouter(prefix="/maps", tags=["網頁地圖"])
static_router = APIRouter(prefix="/static", tags=["網頁地圖"], include_in_schema=False)

HTML_RESPONSES = {
    200: {"content": {"text/html": {}}, "description": "地圖網頁（HTML）"},
    401: {"description": "未登入"},
    404: {"description": "不存在或不在您的轄區"},
}


def _options(request: Request) -> service.MapOptions:
    return service.MapOptions(basemap=assets.Basemap.from_settings(), assets=assets.SERVED)


def _page(body: str, options: service.MapOptions, *, public: bool) -> HTMLResponse:
    headers = {
        "Content-Security-Policy": assets.content_security_policy(options.basemap),
        # Internal maps hold police information: never kept by shared caches or the browser.
        "Cache-Control": "public, max-age=300" if public else "private, no-store",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }
    return HTMLResponse(body, headers=headers)


@router.get("/city", summary="全市涵蓋概況地圖（市府與警察局層級）", responses=HTML_RESPONSES)
def city(request: Request, session: SessionDep, actor: SignedInActor) -> HTMLResponse:
    options = _options(request)
    return _page(service.html(service.city_map_for(session, actor, options)), options, public=False)


@router.get(
    "/district/{district}",
    summary="行政區社區治安地圖（依角色與轄區）",
    responses=HTML_RESPONSES,
)
def district(
    request: Request,
    session: SessionDep,
    actor: SignedInActor,
    district: Annotated[
        str, Path(description="行政區代碼（TOWNCODE）或名稱，如 65000010 或 板橋區")
    ],
) -> HTMLResponse:
    options = _options(request)
    m = service.district_map_for(session, actor, district, options)
    return _page(service.html(m), options, public=False)


@router.get(
    "/community/{community_id}",
    summary="社區安全檢測地圖（可列印）",
    responses=HTML_RESPONSES,
)
def community(
    request: Request, session: SessionDep, actor: SignedInActor, community_id: int
) -> HTMLResponse:
    options = _options(request)
    m = service.community_map_for(session, actor, community_id, options)
    return _page(service.html(m), options, public=False)


@router.get(
    "/community/{community_id}/cctv",
    summary="社區監視器規劃圖（含最佳化建議點）",
    responses={**HTML_RESPONSES, 403: {"description": "角色不能查看監視器"}},
)
def community_cctv(
    request: Request, session: SessionDep, actor: SignedInActor, community_id: int
) -> HTMLResponse:
    options = _options(request)
    m = service.cctv_map_for(session, actor, community_id, options)
    return _page(service.html(m), options, public=False)


@router.get(
    "/public/district/{district}",
    summary="行政區公開地圖（不含監視器、案件與治安死角）",
    responses={200: HTML_RESPONSES[200], 404: HTML_RESPONSES[404]},
)
def public_district(
    request: Request,
    session: SessionDep,
    district: Annotated[str, Path(description="行政區代碼（TOWNCODE）或名稱")],
) -> HTMLResponse:
    options = _options(request)
    m = service.district_map_for(session, ANONYMOUS, district, options, public=True)
    return _page(service.html(m), options, public=True)


@router.get(
    "/public/community/{community_id}",
    summary="社區公開安全地圖（受補助社區）",
    responses={200: HTML_RESPONSES[200], 404: HTML_RESPONSES[404]},
)
def public_community(request: Request, session: SessionDep, community_id: int) -> HTMLResponse:
    options = _options(request)
    m = service.community_map_for(session, ANONYMOUS, community_id, options, public=True)
    # Residents looking at their community's map can report a concern from it (issue #7, 6).
    link = (
        f'<a href="/public/report?community={community_id}" id="report-link" style="position:'
        "fixed;left:10px;bottom:24px;z-index:1000;background:#0b5394;color:#fff;padding:"
        '.6rem 1rem;border-radius:6px;font-size:1rem;text-decoration:none">回報治安疑慮</a>'
    )
    return _page(service.html(m).replace("</body>", link + "</body>", 1), options, public=True)


# --------------------------------------------------------------------------- assets
def _file(path, name: str) -> FileResponse:
    if path is None or not path.is_file():
        raise NotFound(detail=f"static {name} not served")
    media = assets.MEDIA_TYPES.get(path.suffix, "application/octet-stream")
    return FileResponse(path, media_type=media, headers={"Cache-Control": "public, max-age=86400"})


@static_router.get("/vendor/{name:path}")
def vendor_file(name: str) -> FileResponse:
    """Leaflet and plugins from node_modules/: only the files listed in maps.assets."""
    return _file(assets.vendor_path(name), name)


@static_router.get("/maps/{name}")
def map_file(name: str) -> FileResponse:
    return _file(assets.app_path(name), name)
