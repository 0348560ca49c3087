"""Evaluation (評鑑), staff rewards (獎勵) and the yearly rosters (附件3–8) as records."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from geo.enums_workflow import RosterKind
from workflow import evaluation_service as service
from workflow import rewards_service, rosters

from ..deps import SessionDep, SignedInActor
from .applications import IdempotencyKey, IfMatch, ok
from .layers import parse_if_match

router = APIRouter(tags=["年度作業：評鑑、獎勵與名冊"])
Y = "/program-years/{year}"


@router.post(f"{Y}/evaluation/nominations", summary="分局推薦（初選）", status_code=201)
def nominate(
    year: int,
    body: service.NominationIn,
    session: SessionDep,
    actor: SignedInActor,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    return ok(service.nominate(session, actor, year, body, idempotency_key=idempotency_key), 201)


@router.get(f"{Y}/evaluation/nominations", summary="推薦名單")
def nominations(year: int, session: SessionDep, actor: SignedInActor) -> JSONResponse:
    return ok(service.list_nominations(session, actor, year))


@router.delete("/nominations/{nomination_id}", summary="撤回推薦（公布前）", status_code=204)
def withdraw(nomination_id: int, session: SessionDep, actor: SignedInActor) -> Response:
    service.withdraw_nomination(session, actor, nomination_id)
    return Response(status_code=204)


@router.put("/nominations/{nomination_id}/sheet", summary="評審委員評分表（複評）")
def save_sheet(
    nomination_id: int, body: service.SheetIn, session: SessionDep, actor: SignedInActor
) -> JSONResponse:
    return ok(service.save_sheet(session, actor, nomination_id, body))


@router.get(f"{Y}/rubric", summary="年度評分表（項目、配分、須填評語）")
def rubric(year: int, session: SessionDep, actor: SignedInActor) -> JSONResponse:
    return ok(service.read_rubric(session, actor, year))


@router.put(f"{Y}/rubric", summary="修改年度評分表（市府；有評分表送出後不能修改）")
def update_rubric(
    year: int, body: service.RubricIn, session: SessionDep, actor: SignedInActor
) -> JSONResponse:
    return ok(service.update_rubric(session, actor, year, body))


@router.get(f"{Y}/evaluation/my-sheets", summary="我的評分表")
def my_sheets(year: int, session: SessionDep, actor: SignedInActor) -> JSONResponse:
    return ok(service.my_sheets(session, actor, year))


@router.get(f"{Y}/evaluation/results", summary="評鑑成績、名次、認證、獎項與評審校準")
def results(year: int, session: SessionDep, actor: SignedInActor) -> JSONResponse:
    return ok(service.results(session, actor, year))


@router.post(f"{Y}/evaluation/finalise", summary="公布評鑑結果（市府）")
def finalise(
    year: int, body: service.FinaliseIn, session: SessionDep, actor: SignedInActor
) -> JSONResponse:
    return ok(service.finalise(session, actor, year, body))


@router.put(f"{Y}/evaluation/awards/{{community_id}}", summary="核定獎勵金（層級範圍內）")
def set_award(
    year: int, community_id: int, body: service.AwardIn, session: SessionDep, actor: SignedInActor
) -> JSONResponse:
    return ok(service.set_award(session, actor, year, community_id, body))


@router.get(f"{Y}/evaluation/certificates", summary="認證證書資料")
def certificates(year: int, session: SessionDep, actor: SignedInActor) -> JSONResponse:
    return ok(service.certificates(session, actor, year))


@router.get(f"{Y}/rewards", summary="獎勵核算（計畫玖）")
def rewards(year: int, session: SessionDep, actor: SignedInActor) -> JSONResponse:
    return ok(rewards_service.compute(session, actor, year))


@router.post(f"{Y}/rewards/confirm", summary="確認年度敘獎表（市府；記入稽核紀錄）")
def confirm_rewards(year: int, session: SessionDep, actor: SignedInActor) -> JSONResponse:
    return ok(rewards_service.confirm(session, actor, year))


@router.put(f"{Y}/rewards/headcounts", summary="登錄單位職務人數（擇優半數等之計算）")
def headcount(
    year: int, body: rewards_service.HeadcountIn, session: SessionDep, actor: SignedInActor
) -> JSONResponse:
    return ok(rewards_service.set_headcount(session, actor, year, body))


# --------------------------------------------------------------------------- rosters
@router.get(f"{Y}/rosters", summary="名冊成員（聯合推動小組、專業輔導團隊、諮詢顧問）")
def members(
    year: int, session: SessionDep, actor: SignedInActor, roster: RosterKind | None = None
) -> JSONResponse:
    return ok(rosters.list_members(session, actor, year, roster))


@router.post(f"{Y}/rosters", summary="新增名冊成員（市府）", status_code=201)
def add_member(
    year: int, body: rosters.RosterMemberIn, session: SessionDep, actor: SignedInActor
) -> JSONResponse:
    return ok(rosters.add_member(session, actor, year, body), 201)


@router.put(f"{Y}/rosters/{{member_id}}", summary="修改名冊成員")
def update_member(
    year: int,
    member_id: int,
    body: rosters.RosterMemberIn,
    session: SessionDep,
    actor: SignedInActor,
    if_match: IfMatch = None,
) -> JSONResponse:
    out = rosters.update_member(
        session, actor, year, member_id, body, if_match=parse_if_match(if_match)
    )
    return ok(out, headers={"ETag": f'"{out["version"]}"'})


@router.delete(f"{Y}/rosters/{{member_id}}", summary="刪除名冊成員", status_code=204)
def delete_member(year: int, member_id: int, session: SessionDep, actor: SignedInActor) -> Response:
    rosters.delete_member(session, actor, year, member_id)
    return Response(status_code=204)


@router.get(f"{Y}/division-of-labour", summary="分工表（附件8）")
def division(year: int, session: SessionDep, actor: SignedInActor) -> JSONResponse:
    return ok(rosters.list_division(session, actor, year))


@router.post(f"{Y}/division-of-labour", summary="新增分工項目（市府）", status_code=201)
def add_row(
    year: int, body: rosters.DivisionRowIn, session: SessionDep, actor: SignedInActor
) -> JSONResponse:
    return ok(rosters.add_division_row(session, actor, year, body), 201)


@router.put(f"{Y}/division-of-labour/{{row_id}}", summary="修改分工項目")
def update_row(
    year: int, row_id: int, body: rosters.DivisionRowIn, session: SessionDep, actor: SignedInActor
) -> JSONResponse:
    return ok(rosters.update_division_row(session, actor, year, row_id, body))


@router.delete(f"{Y}/division-of-labour/{{row_id}}", summary="刪除分工項目", status_code=204)
def delete_row(year: int, row_id: int, session: SessionDep, actor: SignedInActor) -> Response:
    rosters.delete_division_row(session, actor, year, row_id)
    return Response(status_code=204)
