"""OGC API – Features (Part 1: Core, GeoJSON) at /ogc, for QGIS, GDAL's OAPIF driver and the
like, plus Mapbox Vector Tiles of the same collections at /tiles.

Anonymous callers see only the public collections; camera positions, raw incidents and
blind spots are never among them.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from geo.errors import InvalidInput
from geo.layers import ListQuery
from geo.queries import Page
from geo.tiles import MAX_ZOOM
from workflow import catalogue

from ..deps import ActorDep, BearerToken, SessionDep, read_actor, read_only_session
from .boundaries import GEOJSON, parse_bbox

router = APIRouter(prefix="/ogc", tags=["OGC API – Features"])
tiles_router = APIRouter(prefix="/tiles", tags=["向量圖磚"])

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
]
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
MAX_LIMIT = 10_000


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _collection_json(request: Request, c: catalogue.Collection) -> dict:
    base = _base(request)
    extent: dict = {"spatial": {"bbox": [list(catalogue.CITY_BBOX)], "crs": CRS84}}
    if c.temporal:
        extent["temporal"] = {"interval": [[None, None]]}
    return {
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "itemType": "feature",
        "crs": [CRS84],
        "extent": extent,
        "links": [
            {
                "rel": "self",
                "type": "application/json",
                "title": c.title,
                "href": f"{base}/ogc/collections/{c.id}",
            },
            {
                "rel": "items",
                "type": GEOJSON,
                "title": c.title,
                "href": f"{base}/ogc/collections/{c.id}/items",
            },
        ],
    }


@router.get("", summary="OGC API 首頁（landing page）")
def landing(request: Request) -> JSONResponse:
    base = _base(request)
    return JSONResponse(
        {
            "title": "safemap 新北市社區治安營造 OGC API – Features",
            "description": "新北市行政界線、安全檢測地圖與治安圖層（依使用者權限提供）。",
            "links": [
                {"rel": "self", "type": "application/json", "title": "本頁", "href": f"{base}/ogc"},
                {
                    "rel": "service-desc",
                    "type": "application/vnd.oai.openapi+json;version=3.0",
                    "title": "OpenAPI",
                    "href": f"{base}/openapi.json",
                },
                {
                    "rel": "service-doc",
                    "type": "text/html",
                    "title": "API 文件",
                    "href": f"{base}/docs",
                },
                {
                    "rel": "conformance",
                    "type": "application/json",
                    "title": "符合類別",
                    "href": f"{base}/ogc/conformance",
                },
                {
                    "rel": "data",
                    "type": "application/json",
                    "title": "圖層",
                    "href": f"{base}/ogc/collections",
                },
            ],
        }
    )


@router.get("/conformance", summary="符合類別（conformance）")
def conformance() -> JSONResponse:
    return JSONResponse({"conformsTo": CONFORMANCE})


@router.get("/collections", summary="您可讀取的圖層")
def collections(request: Request, actor: ActorDep) -> JSONResponse:
    base = _base(request)
    return JSONResponse(
        {
            "links": [
                {"rel": "self", "type": "application/json", "href": f"{base}/ogc/collections"}
            ],
            "collections": [_collection_json(request, c) for c in catalogue.visible(actor)],
        }
    )


@router.get("/collections/{collection_id}", summary="單一圖層")
def collection(request: Request, collection_id: str, actor: ActorDep) -> JSONResponse:
    return JSONResponse(_collection_json(request, catalogue.collection(actor, collection_id)))


def _datetime(value: str | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    """OGC ``datetime``: an instant, or an interval ``start/end`` with ``..`` for open ends."""
    if not value:
        return None, None

    def parse(part: str) -> dt.datetime | None:
        if part in ("", ".."):
            return None
        try:
            parsed = dt.datetime.fromisoformat(part.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(
                "datetime 格式不正確，請用 RFC 3339，例如 2026-01-01T00:00:00Z/..", detail=value
            ) from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)

    if "/" in value:
        start, end = value.split("/", 1)
        return parse(start), parse(end)
    instant = parse(value)
    return instant, instant


@router.get(
    "/collections/{collection_id}/items",
    summary="圖層的圖徵（GeoJSON）",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}},
)
async def items(
    request: Request,
    collection_id: str,
    bearer: BearerToken,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    bbox: Annotated[str | None, Query(description="minLon,minLat,maxLon,maxLat（CRS84）")] = None,
    datetime: Annotated[str | None, Query(description="RFC 3339 時間或區間")] = None,
) -> Response:
    start, end = _datetime(datetime)
    q = ListQuery(bbox=parse_bbox(bbox), date_from=start, date_to=end, limit=limit, offset=offset)

    # GIS clients page through large layers: the whole read (who the caller is, then the
    # page) runs in one worker thread on one autocommit connection, not one thread hop and
    # one round trip per dependency.
    def read() -> Page:
        with read_only_session(request) as session:
            return catalogue.items(session, read_actor(request, session, bearer), collection_id, q)

    page = await run_in_threadpool(read)
    base = f"{_base(request)}/ogc/collections/{collection_id}/items"
    params = {k: v for k, v in {"bbox": bbox, "datetime": datetime}.items() if v}

    def href(off: int) -> str:
        return f"{base}?{urlencode({**params, 'limit': limit, 'offset': off})}"

    links = [{"rel": "self", "type": GEOJSON, "href": href(offset)}]
    more = page.returned == limit if page.matched is None else offset + page.returned < page.matched
    if more:
        links.append({"rel": "next", "type": GEOJSON, "href": href(offset + limit)})
    if offset > 0:
        links.append({"rel": "prev", "type": GEOJSON, "href": href(max(0, offset - limit))})
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return Response(page.with_members(timeStamp=stamp, links=links), media_type=GEOJSON)


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    summary="單一圖徵",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}},
)
def item(
    request: Request, collection_id: str, feature_id: int, session: SessionDep, actor: ActorDep
) -> JSONResponse:
    feature = catalogue.item(session, actor, collection_id, feature_id)
    base = _base(request)
    feature["links"] = [
        {
            "rel": "self",
            "type": GEOJSON,
            "href": f"{base}/ogc/collections/{collection_id}/items/{feature_id}",
        },
        {
            "rel": "collection",
            "type": "application/json",
            "href": f"{base}/ogc/collections/{collection_id}",
        },
    ]
    return JSONResponse(feature, media_type=GEOJSON)


@tiles_router.get(
    "/{collection_id}/{z}/{x}/{y}.mvt",
    summary="向量圖磚（Mapbox Vector Tile）",
    response_class=Response,
    responses={200: {"content": {"application/vnd.mapbox-vector-tile": {}}}},
)
def tile(
    collection_id: str,
    session: SessionDep,
    actor: ActorDep,
    z: Annotated[int, Path(ge=0, le=MAX_ZOOM)],
    x: Annotated[int, Path(ge=0)],
    y: Annotated[int, Path(ge=0)],
) -> Response:
    if x >= 2**z or y >= 2**z:
        raise InvalidInput("圖磚座標超出此縮放層級的範圍。", detail=f"{z}/{x}/{y}")
    data = catalogue.tile(session, actor, collection_id, z, x, y)
    # Public tiles may be cached by proxies; scoped ones only by the caller's browser.
    cache = "public, max-age=300" if actor.anonymous else "private, max-age=60"
    return Response(
        data, media_type="application/vnd.mapbox-vector-tile", headers={"Cache-Control": cache}
    )
