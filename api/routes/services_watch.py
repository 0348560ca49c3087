"""Watch teams (守望相助隊, plan 陸、一、(二)): teams, members, shifts, patrol logs over HTTP."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import JSONResponse

from workflow import watch_teams as service

from ..deps import ActorDep, SessionDep, SignedInActor
from .boundaries import GEOJSON
from .layers import etag, parse_if_match
from .services_schemas import (
    MemberCreate,
    MemberPublic,
    MemberUpdate,
    ObservationToHazard,
    PatrolLogCreate,
    PatrolLogPublic,
    ShiftCreate,
    ShiftPublic,
    WatchTeamCreate,
    WatchTeamDetail,
    WatchTeamPublic,
    WatchTeamUpdate,
)

router = APIRouter(tags=["守望相助隊"])


def _team(session, actor, team_id: int, status: int = 200) -> JSONResponse:
    data = service.team_detail(session, actor, team_id)
    body = WatchTeamDetail(**data).model_dump(mode="json")
    return JSONResponse(body, status_code=status, headers={"ETag": etag(data["version"])})


def _geojson(value):
    return None if value is None else value.model_dump(exclude_none=True)


@router.post(
    "/watch-teams", summary="成立守望相助隊", status_code=201, response_model=WatchTeamDetail
)
def create_team(body: WatchTeamCreate, session: SessionDep, actor: ActorDep) -> JSONResponse:
    team = service.create_team(session, actor, body.model_dump())
    return _team(session, actor, team.id, 201)


@router.get(
    "/watch-teams", summary="守望相助隊（依角色與轄區）", response_model=list[WatchTeamPublic]
)
def list_teams(
    session: SessionDep,
    actor: ActorDep,
    community_id: int | None = None,
    active: bool | None = None,
) -> list[dict]:
    return service.list_teams(session, actor, community_id=community_id, active=active)


@router.get("/watch-teams/figures", summary="年度守望相助隊統計（評鑑用）")
def figures(session: SessionDep, actor: SignedInActor, year: int) -> dict:
    return service.figures(session, actor, year=year)


@router.get(
    "/watch-teams/{team_id}",
    summary="單一隊伍（隊員、班表、近期巡守）",
    response_model=WatchTeamDetail,
)
def get_team(team_id: int, session: SessionDep, actor: ActorDep) -> JSONResponse:
    return _team(session, actor, team_id)


@router.patch(
    "/watch-teams/{team_id}", summary="修改隊伍資料（需 If-Match）", response_model=WatchTeamDetail
)
def update_team(
    team_id: int,
    body: WatchTeamUpdate,
    session: SessionDep,
    actor: ActorDep,
    if_match: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    service.update_team(
        session, actor, team_id, parse_if_match(if_match), body.model_dump(exclude_unset=True)
    )
    return _team(session, actor, team_id)


@router.post(
    "/watch-teams/{team_id}/members",
    summary="新增隊員",
    status_code=201,
    response_model=MemberPublic,
)
def add_member(team_id: int, body: MemberCreate, session: SessionDep, actor: ActorDep) -> dict:
    return service.add_member(session, actor, team_id, body.model_dump(exclude_none=True))


@router.patch(
    "/watch-teams/{team_id}/members/{member_id}", summary="修改隊員", response_model=MemberPublic
)
def update_member(
    team_id: int, member_id: int, body: MemberUpdate, session: SessionDep, actor: ActorDep
) -> dict:
    return service.update_member(
        session, actor, team_id, member_id, body.model_dump(exclude_unset=True)
    )


@router.delete("/watch-teams/{team_id}/members/{member_id}", summary="刪除隊員", status_code=204)
def remove_member(team_id: int, member_id: int, session: SessionDep, actor: ActorDep) -> Response:
    service.remove_member(session, actor, team_id, member_id)
    return Response(status_code=204)


@router.post(
    "/watch-teams/{team_id}/shifts",
    summary="新增巡守班表",
    status_code=201,
    response_model=ShiftPublic,
)
def add_shift(team_id: int, body: ShiftCreate, session: SessionDep, actor: ActorDep) -> dict:
    return service.add_shift(session, actor, team_id, body.model_dump())


@router.delete("/watch-teams/{team_id}/shifts/{shift_id}", summary="刪除巡守班表", status_code=204)
def remove_shift(team_id: int, shift_id: int, session: SessionDep, actor: ActorDep) -> Response:
    service.remove_shift(session, actor, team_id, shift_id)
    return Response(status_code=204)


@router.post(
    "/watch-teams/{team_id}/patrol-logs",
    summary="登錄巡守紀錄（時間、人員、路徑、發現事項）",
    status_code=201,
    response_model=PatrolLogPublic,
)
def add_patrol_log(
    team_id: int, body: PatrolLogCreate, session: SessionDep, actor: ActorDep
) -> dict:
    data = body.model_dump()
    data["track"] = _geojson(body.track)
    data["observations"] = [
        {**o.model_dump(), "location": _geojson(o.location)} for o in body.observations
    ]
    return service.add_patrol_log(session, actor, team_id, data)


@router.get(
    "/watch-teams/{team_id}/patrol-logs",
    summary="巡守紀錄清單",
    response_model=list[PatrolLogPublic],
)
def patrol_logs(
    team_id: int,
    session: SessionDep,
    actor: ActorDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict]:
    return service.list_patrol_logs(session, actor, team_id, limit=limit, offset=offset)


@router.get(
    "/patrol-logs/{log_id}", summary="單筆巡守紀錄（含發現事項）", response_model=PatrolLogPublic
)
def patrol_log(log_id: int, session: SessionDep, actor: ActorDep) -> dict:
    return service.get_patrol_log(session, actor, log_id)


@router.post(
    "/patrol-observations/{observation_id}/hazard",
    summary="將巡守發現事項登錄為安全檢測地圖問題點",
    status_code=201,
    response_class=Response,
    responses={201: {"content": {GEOJSON: {}}}},
)
def observation_to_hazard(
    observation_id: int, body: ObservationToHazard, session: SessionDep, actor: ActorDep
) -> JSONResponse:
    overrides = body.model_dump(exclude_none=True)
    if body.geometry is not None:
        overrides["geometry"] = _geojson(body.geometry)
    hazard = service.promote_observation(session, actor, observation_id, overrides)
    return JSONResponse(
        hazard,
        status_code=201,
        media_type=GEOJSON,
        headers={
            "Location": f"/api/hazards/{hazard['id']}",
            "ETag": etag(hazard["properties"]["version"]),
        },
    )
