"""Import of layer files and export of a community's safety map."""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import JSONResponse, Response

from geo.errors import InvalidInput
from geo.validation import DEFAULT_LIMITS, check_payload_size
from workflow import transfer

from ..deps import ActorDep, SessionDep

router = APIRouter(tags=["匯入與匯出"])


@router.post(
    "/import/{kind}",
    summary="匯入圖層檔案（GeoJSON、KML/KMZ、Shapefile .zip、GeoPackage、CSV）",
    responses={
        413: {"description": "檔案太大"},
        422: {"description": "有資料列無法匯入，整批未儲存"},
    },
)
async def import_file(
    kind: str,
    session: SessionDep,
    actor: ActorDep,
    file: Annotated[UploadFile, File(description="圖層檔案")],
    community_id: Annotated[int | None, Form(description="匯入到哪個社區")] = None,
    mapping: Annotated[
        str | None, Form(description='類別對照 JSON，例如 {"路燈不亮": "poor_lighting"}')
    ] = None,
    default_category: Annotated[
        str | None, Form(description="無法對照時使用的類別，例如 other")
    ] = None,
    layer: Annotated[
        str | None, Form(description="只讀這個圖層（KML 資料夾、GeoPackage 表格）")
    ] = None,
    crs: Annotated[str | None, Form(description="檔案未宣告座標系統時指定，例如 EPSG:3826")] = None,
    dry_run: Annotated[bool, Form(description="只檢查不儲存")] = False,
) -> JSONResponse:
    data = await file.read(DEFAULT_LIMITS.max_bytes + 1)
    check_payload_size(len(data), DEFAULT_LIMITS)
    category_mapping = None
    if mapping:
        try:
            category_mapping = json.loads(mapping)
        except json.JSONDecodeError:
            category_mapping = None
        if not isinstance(category_mapping, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in category_mapping.items()
        ):
            raise InvalidInput(
                '類別對照（mapping）須為 JSON 物件，例如 {"路燈不亮": "poor_lighting"}。',
                detail="bad mapping",
            )
    result = transfer.import_layer(
        session,
        actor,
        kind,
        data,
        filename=file.filename,
        community_id=community_id,
        category_mapping=category_mapping,
        default_category=default_category,
        layer=layer,
        crs=crs,
        dry_run=dry_run,
    )
    return JSONResponse(result, status_code=200 if dry_run else 201)


@router.get(
    "/communities/{community_id}/export",
    summary="匯出社區安全檢測地圖（GeoPackage、KML、KMZ）",
    response_class=Response,
)
def export(
    community_id: int,
    session: SessionDep,
    actor: ActorDep,
    format: Annotated[
        str, Query(pattern="^(gpkg|kml|kmz)$", description="gpkg、kml 或 kmz")
    ] = "gpkg",
) -> Response:
    data, media_type, filename = transfer.export_community(session, actor, community_id, format)
    return Response(
        data,
        media_type=media_type,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"},
    )
